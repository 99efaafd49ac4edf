//! `keysweep baseline`: accept every current finding, so only new ones fail later scans.

use super::scan::{execute_all, prepare, ScanArgs};
use super::GlobalArgs;
use anyhow::Context;
use clap::Args;
use keysweep::suppress::baseline::DEFAULT_BASELINE_FILE;
use keysweep::suppress::Baseline;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Where to write the baseline.
    #[arg(long = "baseline-file", value_name = "FILE", default_value = DEFAULT_BASELINE_FILE)]
    pub file: PathBuf,
}

pub fn run(args: &BaselineArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let prepared = prepare(&args.scan, global)?;
    let result = execute_all(&args.scan, &prepared)?;
    let doc = Baseline::document(&result.findings, &result.ci.findings);
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&args.file, text)
        .with_context(|| format!("{}: cannot write baseline", args.file.display()))?;
    if !global.quiet {
        eprintln!(
            "keysweep: wrote {} with {} accepted finding{}",
            args.file.display(),
            doc.findings.len(),
            if doc.findings.len() == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}
