//! Where a subcommand's document goes (`--output FILE` or standard output) and whether it is
//! coloured: one helper for every subcommand, so `--color`, `NO_COLOR` and the file/terminal
//! rules mean the same everywhere.

use super::ColorChoice;
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Whether to colour a document written to `output` (`None`: standard output). `auto` colours
/// only a terminal, and never when `NO_COLOR` is set.
pub fn use_color(choice: ColorChoice, output: Option<&Path>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Writes a document to `output` (created or truncated) or, without one, to standard output,
/// buffered. Errors name the file.
pub fn write_to<F>(output: Option<&Path>, write: F) -> anyhow::Result<()>
where
    F: FnOnce(&mut dyn Write) -> anyhow::Result<()>,
{
    match output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("{}: cannot create report file", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            write(&mut w)?;
            w.flush()
                .with_context(|| format!("{}: cannot write report file", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            write(&mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}
