//! `keysweep ledger verify FILE`: check the evidence ledger's hash chain.

use clap::{Args, Subcommand};
use keysweep::ledger::Ledger;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check that no line of the ledger was edited, removed or reordered.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The ledger file (JSONL).
    pub file: PathBuf,
}

/// 0 when the chain is intact, 1 when it is broken, 2 when the file cannot be read.
pub fn run(cmd: LedgerCommand) -> anyhow::Result<i32> {
    match cmd {
        LedgerCommand::Verify(args) => match Ledger::new(&args.file).verify() {
            Ok(n) => {
                println!("{}: {n} entries, chain intact", args.file.display());
                Ok(0)
            }
            Err(e @ keysweep::ledger::LedgerError::Io { .. }) => Err(e.into()),
            Err(e) => {
                println!("{e}");
                Ok(1)
            }
        },
    }
}
