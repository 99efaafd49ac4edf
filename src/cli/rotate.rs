//! `keysweep rotate`: plan (and apply) the move of CI credentials to OIDC.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use keysweep::pipeline::analyze;
use keysweep::rotate::facts::{FactFlags, Facts};
use keysweep::rotate::{plan, write, Options};
use keysweep::suppress::config::DEFAULT_CONFIG_FILE;
use keysweep::suppress::Config;

/// `--target`'s help, from the rotate registry (the one list of target ids).
fn target_help() -> String {
    format!(
        "Only these targets: {} (`aws` includes `gitlab-aws`, and so on)",
        keysweep::rotate::registry::ids_joined()
    )
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RotateFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// A repository, or a directory of repositories. Default: the current directory.
    pub path: Option<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = RotateFormat::Text)]
    pub format: RotateFormat,
    /// Apply the plan: edit the workflows and write the trust configuration.
    #[arg(long)]
    pub write: bool,
    /// Where `--write` puts the trust configuration (default: `.keysweep/` in each repository).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Let `--write` write a plan that still has `<PLACEHOLDER>` values.
    #[arg(long)]
    pub allow_placeholders: bool,
    #[arg(long, value_delimiter = ',', value_name = "T,...", help = target_help())]
    pub target: Vec<String>,
    /// Config file (default: .keysweep.toml in PATH, if present); its `[rotate]` table holds
    /// the same facts as the flags below (flags win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The repository as OWNER/REPO (default: from the `origin` remote). With --open-pr:
    /// repeatable, one pull request per repository.
    #[arg(long = "repository", visible_alias = "repo", value_name = "OWNER/REPO")]
    pub repo: Vec<String>,
    #[command(flatten)]
    pub pr: PrArgs,
    #[command(flatten)]
    pub fact_flags: FactFlags,
}

/// `--open-pr` and its flags (the `github` feature).
#[derive(Debug, Args)]
pub struct PrArgs {
    /// Open (or update) the migration pull request on GitHub for each --repo, planned from
    /// the default branch head read through the API (or PATH, which must equal it).
    /// A dry run that shows what it would send unless --confirm.
    #[arg(long)]
    pub open_pr: bool,
    /// With --open-pr: a file of OWNER/REPO lines (`#` comments), added to the --repo list.
    #[arg(long, value_name = "FILE")]
    pub repos: Option<PathBuf>,
    /// The migration branch.
    #[arg(long, value_name = "NAME", default_value = "keysweep/oidc-migration")]
    pub branch: String,
    #[arg(long)]
    pub draft: bool,
    /// Label for a new pull request (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Reviewer (login) requested on a new pull request (repeatable).
    #[arg(long = "reviewer", value_name = "LOGIN")]
    pub reviewers: Vec<String>,
    /// Also commit the trust configuration under `.keysweep/`.
    #[arg(long)]
    pub write_trust_files: bool,
    /// Reopen the migration pull request if a person closed it unmerged.
    #[arg(long)]
    pub reopen: bool,
    /// Send the writes (without it, --open-pr only shows them).
    #[arg(long)]
    pub confirm: bool,
    /// GitHub API base (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
    /// The evidence ledger (default: $XDG_STATE_HOME/keysweep/ledger.jsonl, outside any
    /// repository).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

impl RotateArgs {
    pub fn facts(&self) -> Facts {
        self.fact_flags.facts(self.repo.first().cloned())
    }
}

pub fn run(args: &RotateArgs) -> anyhow::Result<i32> {
    if args.pr.open_pr {
        #[cfg(feature = "github")]
        return super::open_pr::run(args);
        #[cfg(not(feature = "github"))]
        anyhow::bail!(
            "--open-pr needs the `github` feature: cargo install keysweep --features full"
        );
    }
    if args.repo.len() > 1 {
        anyhow::bail!(
            "--repo is given {} times: only --open-pr takes several",
            args.repo.len()
        );
    }
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        anyhow::bail!("{}: not a directory", root.display());
    }
    let config = match &args.config {
        Some(p) => Some(Config::load(p)?),
        None => {
            let c = root.join(DEFAULT_CONFIG_FILE);
            c.is_file().then(|| Config::load(&c)).transpose()?
        }
    };
    let facts = config
        .and_then(|c| c.rotate)
        .unwrap_or_default()
        .merged(&args.facts());
    let report = analyze(&root);
    for d in &report.diagnostics {
        eprintln!("keysweep: warning: {}:{}: {}", d.path, d.line, d.message);
    }
    let opts = Options {
        targets: args.target.clone(),
        facts,
    };
    let p = plan(&root, &report, &opts)?;
    match args.format {
        RotateFormat::Text => print!("{}", p.to_text()),
        RotateFormat::Json => println!("{}", p.to_json()),
    }
    if args.write {
        let written =
            write(&p, args.out.as_deref(), args.allow_placeholders).context("rotate --write")?;
        for w in &written {
            eprintln!("keysweep: wrote {}", w.display());
        }
        if written.is_empty() {
            eprintln!("keysweep: nothing to write");
        }
    }
    Ok(0)
}
