//! Subcommands a light build (no `rotate`, `sweep` or `github` feature, e.g. the pre-commit hook's) leaves out: they
//! stay in `--help` and answer with one line saying how to get them, instead of "unrecognized
//! subcommand".

use std::ffi::OsString;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ignored: this build cannot run the subcommand.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<OsString>,
}

pub fn error(subcommand: &str, feature: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`{subcommand}` is not in this build (built without the `{feature}` feature); \
         install the full build: cargo install keysweep --features full"
    )
}
