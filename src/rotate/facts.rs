//! The facts a rotation plan needs that the repository cannot tell: account ids, role names,
//! pools. They come from flags or from the `[rotate]` table of `.keysweep.toml`; flags win.
//! A missing fact is never guessed: the plan renders a named placeholder (`<AWS_ACCOUNT_ID>`)
//! and says which flag fills it.

use serde::{Deserialize, Serialize};

/// Which `sub` claim format the repository's OIDC tokens carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectFormat {
    /// `repo:OWNER/REPO:...`
    #[default]
    Legacy,
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID:...` (repositories created on or after 2026-07-15,
    /// or opted in).
    Immutable,
}

/// One table for every plain fact: its key (the [`Facts`] field, the `[rotate]` config key and,
/// dashed, the flag), the flag's value name, and what it is (the flag's help and the
/// placeholder's explanation). [`Facts`], [`FactFlags`], merging and lookup all come from it,
/// so a new fact is one line here.
macro_rules! fact_table {
    ($( $field:ident : $value:literal => $what:literal ),* $(,)?) => {
        /// The `[rotate]` table of `.keysweep.toml`. Same keys as the flags; unknown keys are
        /// errors.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Facts {
            /// `OWNER/REPO` (default: from the `origin` remote of the repository's git config).
            pub repository: Option<String>,
            pub subject_format: Option<SubjectFormat>,
            /// The repository's `sub` prefix as GitHub reports it (`sub_claim_prefix` of
            /// `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`); wins over the format.
            pub subject_prefix: Option<String>,
            $( #[doc = $what] pub $field: Option<String>, )*
        }

        /// The plain facts as command-line flags (`#[command(flatten)]` into a subcommand).
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct FactFlags {
            /// The `sub` format the repository's tokens carry.
            #[arg(long, value_enum)]
            pub subject_format: Option<SubjectFormat>,
            $( #[doc = $what] #[arg(long, value_name = $value)] pub $field: Option<String>, )*
        }

        /// (fact key, what it is)
        const DESCRIPTIONS: &[(&str, &str)] = &[
            ("repository", "the repository as OWNER/REPO"),
            $( (stringify!($field), $what), )*
        ];

        impl Facts {
            /// `self` overridden by every field `flags` sets.
            pub fn merged(mut self, flags: &Facts) -> Facts {
                if flags.repository.is_some() { self.repository = flags.repository.clone(); }
                if flags.subject_format.is_some() { self.subject_format = flags.subject_format; }
                if flags.subject_prefix.is_some() { self.subject_prefix = flags.subject_prefix.clone(); }
                $( if flags.$field.is_some() { self.$field = flags.$field.clone(); } )*
                self
            }

            fn field(&self, key: &str) -> Option<&String> {
                match key {
                    "repository" => self.repository.as_ref(),
                    $( stringify!($field) => self.$field.as_ref(), )*
                    _ => None,
                }
                .filter(|v| !v.trim().is_empty())
            }
        }

        impl FactFlags {
            /// The facts these flags give, for `repository` (which subcommands spell their own way).
            pub fn facts(&self, repository: Option<String>) -> Facts {
                Facts {
                    repository,
                    subject_format: self.subject_format,
                    subject_prefix: None,
                    $( $field: self.$field.clone(), )*
                }
            }
        }
    };
}

fact_table! {
    owner_id: "ID" => "the numeric id of the repository owner (needed by the immutable subject format)",
    repository_id: "ID" => "the numeric id of the repository (needed by the immutable subject format, preferred by GCP conditions)",
    subject_pattern: "SUB" => "the subject to trust for runs whose ref is not a fixed branch (tag patterns, releases); a wildcard only when asked for",
    default_branch: "BRANCH" => "the branch `workflow_dispatch` and `schedule` runs are trusted on",
    aws_account_id: "ID" => "the 12-digit AWS account id the role lives in",
    aws_role_name: "NAME" => "the IAM role the workflow assumes",
    aws_region: "REGION" => "the AWS region for configure-aws-credentials when the job sets none",
    gcp_project_number: "NUMBER" => "the numeric GCP project number of the workload identity pool",
    gcp_pool: "POOL" => "the workload identity pool id",
    gcp_provider: "PROVIDER" => "the workload identity pool provider id",
    gcp_service_account: "EMAIL" => "the service account email the workflow impersonates",
    azure_client_id: "ID" => "the client (application) id of the Entra app or managed identity",
    azure_tenant_id: "ID" => "the Entra tenant id",
    azure_subscription_id: "ID" => "the Azure subscription id",
    vault_role: "ROLE" => "the Vault JWT auth role",
    vault_audience: "AUD" => "the audience the Vault role's bound_audiences expects",
    octo_sts_identity: "NAME" => "the octo-sts trust policy (identity) name in the target repository",
    gitlab_url: "URL" => "the GitLab instance URL, the issuer of the CI job's id_tokens (https://gitlab.com for GitLab.com)",
    gitlab_project: "GROUP/PROJECT" => "the GitLab project path (group/project)",
}

impl Facts {
    pub fn subject_format(&self) -> SubjectFormat {
        self.subject_format.unwrap_or_default()
    }
}

/// A value the plan needs and does not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Placeholder {
    /// As rendered: `<AWS_ACCOUNT_ID>`.
    pub placeholder: String,
    pub flag: String,
    pub config_key: String,
    pub what: String,
}

/// The placeholder for a fact: `<AWS_ACCOUNT_ID>`, flag `--aws-account-id`.
pub fn placeholder(key: &str) -> Placeholder {
    Placeholder {
        placeholder: format!("<{}>", key.to_ascii_uppercase()),
        flag: format!("--{}", key.replace('_', "-")),
        config_key: format!("rotate.{key}"),
        what: DESCRIPTIONS
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, d)| d)
            .to_string(),
    }
}

/// Collects the placeholders used while rendering one plan.
#[derive(Debug, Default)]
pub struct Lookup<'a> {
    pub facts: Option<&'a Facts>,
    pub missing: Vec<Placeholder>,
}

impl<'a> Lookup<'a> {
    pub fn new(facts: &'a Facts) -> Self {
        Lookup {
            facts: Some(facts),
            missing: Vec::new(),
        }
    }

    /// The fact, or its placeholder (recorded as missing).
    pub fn get(&mut self, key: &str) -> String {
        if let Some(v) = self.facts.and_then(|f| f.field(key)) {
            return v.clone();
        }
        let p = placeholder(key);
        let text = p.placeholder.clone();
        if !self.missing.contains(&p) {
            self.missing.push(p);
        }
        text
    }

    pub fn has(&self, key: &str) -> bool {
        self.facts.and_then(|f| f.field(key)).is_some()
    }
}

/// True when `text` contains a rendered placeholder.
pub fn has_placeholder(text: &str) -> bool {
    DESCRIPTIONS
        .iter()
        .any(|(k, _)| text.contains(&format!("<{}>", k.to_ascii_uppercase())))
}

/// The `origin` remote's URL from `.git/config`.
fn origin_url(repo_root: &std::path::Path) -> Option<String> {
    let cfg = std::fs::read_to_string(repo_root.join(".git").join("config")).ok()?;
    let mut in_origin = false;
    for line in cfg.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_origin = t == "[remote \"origin\"]";
            continue;
        }
        if !in_origin {
            continue;
        }
        if let Some(url) = t.strip_prefix("url") {
            return Some(url.trim_start_matches([' ', '=']).trim().to_string());
        }
    }
    None
}

/// (host, path) of a remote URL: `https://[user@]host[:port]/path`, `ssh://...`, `git@host:path`.
fn split_remote(url: &str) -> Option<(String, String)> {
    let (host, path) = match url.split_once("://") {
        Some((_, rest)) => {
            let (auth_host, path) = rest.split_once('/')?;
            let host = auth_host.rsplit('@').next()?;
            (host.split(':').next()?.to_string(), path.to_string())
        }
        None => {
            let (auth_host, path) = url.split_once(':')?;
            (auth_host.rsplit('@').next()?.to_string(), path.to_string())
        }
    };
    let path = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string();
    (!host.is_empty() && path.contains('/')).then_some((host.to_ascii_lowercase(), path))
}

/// `OWNER/REPO` from the `origin` remote in `.git/config`, when it is a GitHub URL.
pub fn repository_from_git(repo_root: &std::path::Path) -> Option<String> {
    let (host, path) = split_remote(&origin_url(repo_root)?)?;
    if host != "github.com" {
        return None;
    }
    let mut parts = path.split('/');
    let (o, r) = (parts.next()?, parts.next()?);
    (!o.is_empty() && !r.is_empty()).then(|| format!("{o}/{r}"))
}

/// The GitLab instance URL and project path (`group/subgroup/project`) from the `origin`
/// remote, when its host names GitLab (`gitlab.com`, `gitlab.example.com`).
pub fn gitlab_from_git(repo_root: &std::path::Path) -> Option<(String, String)> {
    let (host, path) = split_remote(&origin_url(repo_root)?)?;
    host.split('.')
        .any(|l| l == "gitlab")
        .then(|| (format!("https://{host}"), path))
}

/// The remote's default branch, from the `origin/HEAD` ref a clone records.
pub fn default_branch_from_git(repo_root: &std::path::Path) -> Option<String> {
    let head = std::fs::read_to_string(repo_root.join(".git/refs/remotes/origin/HEAD")).ok()?;
    let b = head.trim().strip_prefix("ref: refs/remotes/origin/")?;
    (!b.is_empty()).then(|| b.to_string())
}

#[cfg(test)]
mod remote_tests {
    use super::split_remote;

    #[test]
    fn remotes() {
        for (url, host, path) in [
            ("https://github.com/o/r.git", "github.com", "o/r"),
            ("git@gitlab.com:g/sub/p.git", "gitlab.com", "g/sub/p"),
            (
                "ssh://git@gitlab.example.com:2222/g/p.git",
                "gitlab.example.com",
                "g/p",
            ),
            ("https://ci:tok@gitlab.com/g/p", "gitlab.com", "g/p"),
        ] {
            assert_eq!(split_remote(url), Some((host.into(), path.into())), "{url}");
        }
        assert_eq!(split_remote("/srv/git/repo"), None);
    }
}
