//! `keysweep rotate`: plan (and apply) the move of CI credentials to OIDC.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use keysweep::pipeline::analyze;
use keysweep::rotate::facts::{Facts, SubjectFormat};
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SubjectFormatArg {
    Legacy,
    Immutable,
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
    #[arg(long, value_name = "ID")]
    pub owner_id: Option<String>,
    #[arg(long, value_name = "ID")]
    pub repository_id: Option<String>,
    /// The `sub` format the repository's tokens carry.
    #[arg(long, value_enum)]
    pub subject_format: Option<SubjectFormatArg>,
    /// Trust this (wildcard) subject for runs whose ref is not one fixed branch or tag.
    #[arg(long, value_name = "SUB")]
    pub subject_pattern: Option<String>,
    /// Trust `workflow_dispatch`/`schedule` runs on this branch.
    #[arg(long, value_name = "BRANCH")]
    pub default_branch: Option<String>,
    #[arg(long, value_name = "ID")]
    pub aws_account_id: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub aws_role_name: Option<String>,
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    #[arg(long, value_name = "NUMBER")]
    pub gcp_project_number: Option<String>,
    #[arg(long, value_name = "POOL")]
    pub gcp_pool: Option<String>,
    #[arg(long, value_name = "PROVIDER")]
    pub gcp_provider: Option<String>,
    #[arg(long, value_name = "EMAIL")]
    pub gcp_service_account: Option<String>,
    #[arg(long, value_name = "ID")]
    pub azure_client_id: Option<String>,
    #[arg(long, value_name = "ID")]
    pub azure_tenant_id: Option<String>,
    #[arg(long, value_name = "ID")]
    pub azure_subscription_id: Option<String>,
    #[arg(long, value_name = "ROLE")]
    pub vault_role: Option<String>,
    #[arg(long, value_name = "AUD")]
    pub vault_audience: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub octo_sts_identity: Option<String>,
    /// GitLab CI: the instance URL (the `id_tokens` issuer), e.g. https://gitlab.com.
    #[arg(long, value_name = "URL")]
    pub gitlab_url: Option<String>,
    /// GitLab CI: the project path (group/project) of the `sub` claim.
    #[arg(long, value_name = "GROUP/PROJECT")]
    pub gitlab_project: Option<String>,
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
        Facts {
            repository: self.repo.first().cloned(),
            owner_id: self.owner_id.clone(),
            repository_id: self.repository_id.clone(),
            subject_format: self.subject_format.map(|f| match f {
                SubjectFormatArg::Legacy => SubjectFormat::Legacy,
                SubjectFormatArg::Immutable => SubjectFormat::Immutable,
            }),
            subject_prefix: None,
            subject_pattern: self.subject_pattern.clone(),
            default_branch: self.default_branch.clone(),
            aws_account_id: self.aws_account_id.clone(),
            aws_role_name: self.aws_role_name.clone(),
            aws_region: self.aws_region.clone(),
            gcp_project_number: self.gcp_project_number.clone(),
            gcp_pool: self.gcp_pool.clone(),
            gcp_provider: self.gcp_provider.clone(),
            gcp_service_account: self.gcp_service_account.clone(),
            azure_client_id: self.azure_client_id.clone(),
            azure_tenant_id: self.azure_tenant_id.clone(),
            azure_subscription_id: self.azure_subscription_id.clone(),
            vault_role: self.vault_role.clone(),
            vault_audience: self.vault_audience.clone(),
            octo_sts_identity: self.octo_sts_identity.clone(),
            gitlab_url: self.gitlab_url.clone(),
            gitlab_project: self.gitlab_project.clone(),
        }
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
