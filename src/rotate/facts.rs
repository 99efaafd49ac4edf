//! The facts a rotation plan needs that the repository cannot tell: account ids, role names,
//! pools. They come from flags or from the `[rotate]` table of `.keysweep.toml`; flags win.
//! A missing fact is never guessed: the plan renders a named placeholder (`<AWS_ACCOUNT_ID>`)
//! and says which flag fills it.

use serde::{Deserialize, Serialize};

/// Which `sub` claim format the repository's OIDC tokens carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectFormat {
    /// `repo:OWNER/REPO:...`
    #[default]
    Legacy,
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID:...` (repositories created on or after 2026-07-15,
    /// or opted in).
    Immutable,
}

/// The `[rotate]` table of `.keysweep.toml`. Same keys as [`Facts`]; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// `OWNER/REPO` (default: from the `origin` remote of the repository's git config).
    pub repository: Option<String>,
    /// Numeric ids, needed by the immutable subject format and preferred by GCP conditions.
    pub owner_id: Option<String>,
    pub repository_id: Option<String>,
    pub subject_format: Option<SubjectFormat>,
    /// The repository's `sub` prefix as GitHub reports it (`sub_claim_prefix` of
    /// `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`); wins over the format.
    pub subject_prefix: Option<String>,
    /// A wildcard subject (`repo:o/r:ref:refs/tags/v*`), only when asked for explicitly.
    pub subject_pattern: Option<String>,
    /// The branch `workflow_dispatch` and `schedule` runs are trusted on.
    pub default_branch: Option<String>,
    pub aws_account_id: Option<String>,
    pub aws_role_name: Option<String>,
    /// Used when a new configure-aws-credentials step is inserted and the job sets no region.
    pub aws_region: Option<String>,
    pub gcp_project_number: Option<String>,
    pub gcp_pool: Option<String>,
    pub gcp_provider: Option<String>,
    pub gcp_service_account: Option<String>,
    pub azure_client_id: Option<String>,
    pub azure_tenant_id: Option<String>,
    pub azure_subscription_id: Option<String>,
    pub vault_role: Option<String>,
    pub vault_audience: Option<String>,
    pub octo_sts_identity: Option<String>,
    /// The GitLab instance (`https://gitlab.com`): the OIDC issuer of GitLab CI `id_tokens`.
    pub gitlab_url: Option<String>,
    /// The GitLab project path (`group/project`) in the `sub` claim.
    pub gitlab_project: Option<String>,
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

/// (field name in [`Facts`], what it is)
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("repository", "the repository as OWNER/REPO"),
    ("owner_id", "the numeric id of the repository owner"),
    ("repository_id", "the numeric id of the repository"),
    (
        "subject_pattern",
        "the subject to trust for runs whose ref is not a fixed branch (tag patterns, releases)",
    ),
    (
        "aws_account_id",
        "the 12-digit AWS account id the role lives in",
    ),
    ("aws_role_name", "the IAM role the workflow assumes"),
    ("aws_region", "the AWS region for configure-aws-credentials"),
    (
        "gcp_project_number",
        "the numeric GCP project number of the workload identity pool",
    ),
    ("gcp_pool", "the workload identity pool id"),
    ("gcp_provider", "the workload identity pool provider id"),
    (
        "gcp_service_account",
        "the service account email the workflow impersonates",
    ),
    (
        "azure_client_id",
        "the client (application) id of the Entra app or managed identity",
    ),
    ("azure_tenant_id", "the Entra tenant id"),
    ("azure_subscription_id", "the Azure subscription id"),
    ("vault_role", "the Vault JWT auth role"),
    (
        "vault_audience",
        "the audience the Vault role's bound_audiences expects",
    ),
    (
        "octo_sts_identity",
        "the octo-sts trust policy (identity) name in the target repository",
    ),
    (
        "gitlab_url",
        "the GitLab instance URL, the issuer of the CI job's id_tokens (https://gitlab.com for GitLab.com)",
    ),
    ("gitlab_project", "the GitLab project path (group/project)"),
];

impl Facts {
    /// `self` overridden by every field `flags` sets.
    pub fn merged(mut self, flags: &Facts) -> Facts {
        macro_rules! over {
            ($($f:ident),*) => { $( if flags.$f.is_some() { self.$f = flags.$f.clone(); } )* };
        }
        over!(
            repository,
            owner_id,
            repository_id,
            subject_format,
            subject_prefix,
            subject_pattern,
            default_branch,
            aws_account_id,
            aws_role_name,
            aws_region,
            gcp_project_number,
            gcp_pool,
            gcp_provider,
            gcp_service_account,
            azure_client_id,
            azure_tenant_id,
            azure_subscription_id,
            vault_role,
            vault_audience,
            octo_sts_identity,
            gitlab_url,
            gitlab_project
        );
        self
    }

    fn field(&self, key: &str) -> Option<&String> {
        match key {
            "repository" => self.repository.as_ref(),
            "owner_id" => self.owner_id.as_ref(),
            "repository_id" => self.repository_id.as_ref(),
            "subject_pattern" => self.subject_pattern.as_ref(),
            "default_branch" => self.default_branch.as_ref(),
            "aws_account_id" => self.aws_account_id.as_ref(),
            "aws_role_name" => self.aws_role_name.as_ref(),
            "aws_region" => self.aws_region.as_ref(),
            "gcp_project_number" => self.gcp_project_number.as_ref(),
            "gcp_pool" => self.gcp_pool.as_ref(),
            "gcp_provider" => self.gcp_provider.as_ref(),
            "gcp_service_account" => self.gcp_service_account.as_ref(),
            "azure_client_id" => self.azure_client_id.as_ref(),
            "azure_tenant_id" => self.azure_tenant_id.as_ref(),
            "azure_subscription_id" => self.azure_subscription_id.as_ref(),
            "vault_role" => self.vault_role.as_ref(),
            "vault_audience" => self.vault_audience.as_ref(),
            "octo_sts_identity" => self.octo_sts_identity.as_ref(),
            "gitlab_url" => self.gitlab_url.as_ref(),
            "gitlab_project" => self.gitlab_project.as_ref(),
            _ => None,
        }
        .filter(|v| !v.trim().is_empty())
    }

    pub fn subject_format(&self) -> SubjectFormat {
        self.subject_format.unwrap_or_default()
    }
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
