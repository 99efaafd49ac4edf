//! `keysweep trust lint [PATH]`: check the trust configuration a repository already has
//! (AWS role trust policies, GCP workload identity providers, Azure federated credentials,
//! Vault JWT roles, octo-sts policies) for the classic holes.

use super::{ColorChoice, GlobalArgs};
use clap::{Args, Subcommand};
use keysweep::report::trust::{self as output, TrustFormat};
use keysweep::trust::Severity;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Check existing OIDC trust configuration for holes (exit 0 clean, 1 findings, 2 error
    /// or unreadable trust files).
    Lint(LintArgs),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// A directory (walked, honouring .gitignore) or one file. Default: the current directory.
    pub path: Option<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = TrustFormat::Human)]
    pub format: TrustFormat,
    /// Report only findings of this severity or worse (the exit status follows).
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = Severity::Low)]
    pub min_severity: Severity,
    /// Write the report to a file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(cmd: TrustCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {
        TrustCommand::Lint(args) => lint(&args, global),
    }
}

fn lint(args: &LintArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut report = keysweep::trust::lint(&root)?;
    report.findings.retain(|f| f.severity >= args.min_severity);
    let color = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut buf = Vec::new();
    output::write(args.format, &report, color, &mut buf)?;
    match &args.output {
        Some(p) => std::fs::write(p, &buf)
            .map_err(|e| anyhow::anyhow!("{}: cannot write the report: {e}", p.display()))?,
        None => std::io::stdout().write_all(&buf)?,
    }
    if args.format != TrustFormat::Human && !global.quiet {
        for m in &report.malformed {
            eprintln!(
                "keysweep: warning: {}:{}:{}: not analysed: {}",
                m.path, m.line, m.column, m.reason
            );
        }
    }
    Ok(if !report.findings.is_empty() {
        1
    } else if !report.malformed.is_empty() {
        // Unreadable trust configuration is not a clean result.
        2
    } else {
        0
    })
}
