//! `keysweep trust lint [PATH]`: check the trust configuration a repository already has
//! (AWS role trust policies, GCP workload identity providers, Azure federated credentials,
//! Vault JWT roles, octo-sts policies) for the classic holes. `keysweep trust apply --plan
//! FILE`: create the trust a rotation plan generated (AWS through IAM; the rest printed).

use super::GlobalArgs;
use clap::{Args, Subcommand};
use keysweep::report::trust::{self as output, TrustFormat};
use keysweep::trust::Severity;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Check existing OIDC trust configuration for holes (exit 0 clean, 1 findings, 2 error
    /// or unreadable trust files).
    Lint(LintArgs),
    /// Create the trust a rotation plan needs: AWS through IAM (dry run unless --confirm);
    /// GCP, Azure, Vault, npm, crates.io, PyPI as the exact commands to run (not run).
    Apply(super::trust_apply::ApplyArgs),
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
    /// Skip paths matching this glob (relative to PATH; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also lint files that .gitignore / .ignore would hide.
    #[arg(long)]
    pub no_ignore: bool,
}

pub fn run(cmd: TrustCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    match cmd {
        TrustCommand::Lint(args) => lint(&args, global),
        TrustCommand::Apply(args) => super::trust_apply::run(&args),
    }
}

fn lint(args: &LintArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let walk = keysweep::trust::lint::Walk {
        config: keysweep::source::walk::WalkConfig {
            no_ignore: args.no_ignore,
        },
        exclude: (!args.exclude.is_empty())
            .then(|| keysweep::source::fs::build_globs(&args.exclude))
            .transpose()?,
    };
    let mut report = keysweep::trust::lint::lint_walk(&root, &walk)?;
    report.findings.retain(|f| f.severity >= args.min_severity);
    let color = super::output::use_color(global.color, args.output.as_deref());
    super::output::write_to(args.output.as_deref(), |w| {
        Ok(output::write(args.format, &report, color, w)?)
    })?;
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
