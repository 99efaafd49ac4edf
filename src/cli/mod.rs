//! The command line: clap definitions and one module per subcommand. No scanning logic here.

mod baseline;
#[cfg(feature = "github")]
mod entitlements;
mod inventory;
mod ledger;
#[cfg(feature = "github")]
mod open_pr;
pub mod output;
#[cfg(feature = "rotate")]
mod retire;
#[cfg(feature = "rotate")]
mod revoke;
#[cfg(feature = "rotate")]
mod rotate;
mod rules;
mod scan;
#[cfg(feature = "sweep")]
mod sweep;
#[cfg(feature = "rotate")]
mod trust;
#[cfg(feature = "rotate")]
mod trust_apply;
#[cfg(any(
    not(feature = "rotate"),
    not(feature = "sweep"),
    not(feature = "github")
))]
mod unavailable;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub use scan::ScanArgs;

#[derive(Debug, Parser)]
#[command(
    name = "keysweep",
    version,
    about = "Find long-lived secrets in code, git history and CI/CD pipelines"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no summary on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When to colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (or `-` for standard input) for secrets.
    Scan(ScanArgs),
    /// Write a baseline file accepting every current finding.
    Baseline(baseline::BaselineArgs),
    /// List every secret the CI pipelines use and whether it can move to OIDC.
    Inventory(inventory::InventoryArgs),
    /// Plan (and with --write apply) the move of CI credentials to short-lived OIDC credentials.
    #[cfg(feature = "rotate")]
    Rotate(Box<rotate::RotateArgs>),
    /// Not in this build (needs the `rotate` feature): cargo install keysweep --features full
    #[cfg(not(feature = "rotate"))]
    Rotate(unavailable::Args),
    /// List or check detection rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Check OIDC trust configuration (IAM, GCP, Azure, Vault, octo-sts).
    #[cfg(feature = "rotate")]
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Not in this build (needs the `rotate` feature): cargo install keysweep --features full
    #[cfg(not(feature = "rotate"))]
    Trust(unavailable::Args),
    /// Retire what a merged OIDC migration replaced: delete the old Actions secrets, deactivate
    /// then delete the old AWS access key (dry run unless --confirm; exit 3 while waiting).
    #[cfg(feature = "rotate")]
    Retire(Box<retire::RetireArgs>),
    /// Not in this build (needs the `rotate` feature): cargo install keysweep --features full
    #[cfg(not(feature = "rotate"))]
    Retire(unavailable::Args),
    /// Revoke leaked GitHub tokens a scan finds, through GitHub's credential revocation API
    /// (prints what it sends, redacted; sends only with --confirm).
    #[cfg(feature = "rotate")]
    Revoke(revoke::RevokeArgs),
    /// Not in this build (needs the `rotate` feature): cargo install keysweep --features full
    #[cfg(not(feature = "rotate"))]
    Revoke(unavailable::Args),
    /// Check the evidence ledger (`ledger verify FILE`): no line edited, removed or reordered.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Review every long-lived credential that can reach a GitHub org or repository (secrets,
    /// tokens, SSO authorisations, deploy keys, Apps, webhooks) against the pipelines that
    /// use them (read-only; --apply ACTION... --confirm remediates).
    #[cfg(feature = "github")]
    Entitlements(Box<entitlements::EntitlementsArgs>),
    /// Not in this build (needs the `github` feature): cargo install keysweep --features full
    #[cfg(not(feature = "github"))]
    Entitlements(unavailable::Args),
    /// Sweep many repositories: mirrors, only new objects, findings tracked over time.
    #[cfg(feature = "sweep")]
    Sweep(Box<sweep::SweepArgs>),
    /// Not in this build (needs the `sweep` feature): cargo install keysweep --features full
    #[cfg(not(feature = "sweep"))]
    Sweep(unavailable::Args),
}

/// Exit status: 0 nothing new found, 1 new findings, 2 error.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Some(n) = cli.global.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .ok();
    }
    match cli.command {
        Command::Scan(args) => scan::run(&args, &cli.global),
        Command::Baseline(args) => baseline::run(&args, &cli.global),
        Command::Inventory(args) => inventory::run(&args),
        #[cfg(feature = "rotate")]
        Command::Rotate(args) => rotate::run(&args),
        #[cfg(not(feature = "rotate"))]
        Command::Rotate(_) => Err(unavailable::error("rotate", "rotate")),
        Command::Rules(cmd) => rules::run(cmd),
        #[cfg(feature = "rotate")]
        Command::Trust(cmd) => trust::run(cmd, &cli.global),
        Command::Ledger(cmd) => ledger::run(cmd),
        #[cfg(feature = "rotate")]
        Command::Retire(args) => retire::run(&args),
        #[cfg(not(feature = "rotate"))]
        Command::Retire(_) => Err(unavailable::error("retire", "rotate")),
        #[cfg(feature = "rotate")]
        Command::Revoke(args) => revoke::run(&args),
        #[cfg(not(feature = "rotate"))]
        Command::Revoke(_) => Err(unavailable::error("revoke", "rotate")),
        #[cfg(not(feature = "rotate"))]
        Command::Trust(_) => Err(unavailable::error("trust", "rotate")),
        #[cfg(feature = "github")]
        Command::Entitlements(args) => entitlements::run(&args),
        #[cfg(not(feature = "github"))]
        Command::Entitlements(_) => Err(unavailable::error("entitlements", "github")),
        #[cfg(feature = "sweep")]
        Command::Sweep(args) => sweep::run(&args, &cli.global),
        #[cfg(not(feature = "sweep"))]
        Command::Sweep(_) => Err(unavailable::error("sweep", "sweep")),
    }
}

pub(crate) fn default_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}
