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
    /// Where to write the baseline [default: the config's `baseline`, else
    /// `.keysweep-baseline.json`].
    #[arg(long = "baseline-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(args: &BaselineArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let prepared = prepare(&args.scan, global)?;
    // The file a later scan will read: an explicit flag, else the one the config names.
    let file = args
        .file
        .clone()
        .or_else(|| prepared.baseline_path.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINE_FILE));
    let result = execute_all(&args.scan, &prepared)?;
    let doc = Baseline::document(&result.findings, &result.ci.findings);
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&file, text)
        .with_context(|| format!("{}: cannot write baseline", file.display()))?;
    if !global.quiet {
        eprintln!(
            "keysweep: wrote {} with {} accepted finding{}",
            file.display(),
            doc.findings.len(),
            if doc.findings.len() == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}
