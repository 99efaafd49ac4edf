//! The CLI edge: parse arguments, run, map the outcome to an exit status.

// The CLI edge: the one place that prints results. Its `pub` items are crate-private by
// construction (a binary), so `unreachable_pub` would only ask for `pub(crate)` spellings.
#[allow(clippy::print_stdout, unreachable_pub)]
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version are successes; usage errors are errors (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::run(parsed) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("keysweep: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
