//! `keysweep inventory`: every secret the pipelines use, where, for what, and whether it can
//! move to OIDC now.

use clap::{Args, ValueEnum};
use keysweep::pipeline::{analyze, inventory};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InventoryFormat {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// A repository, or a directory of repositories. Default: the current directory.
    pub path: Option<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = InventoryFormat::Markdown)]
    pub format: InventoryFormat,
}

pub fn run(args: &InventoryArgs) -> anyhow::Result<i32> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        anyhow::bail!("{}: not a directory", root.display());
    }
    let report = analyze(&root);
    for d in &report.diagnostics {
        eprintln!("keysweep: warning: {}:{}: {}", d.path, d.line, d.message);
    }
    let inv = inventory(&report);
    super::output::write_to(None, |w| {
        match args.format {
            InventoryFormat::Markdown => write!(w, "{}", inv.to_markdown())?,
            InventoryFormat::Json => writeln!(w, "{}", inv.to_json())?,
        }
        Ok(())
    })?;
    Ok(0)
}
