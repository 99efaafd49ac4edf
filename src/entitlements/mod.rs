//! `keysweep entitlements`: every long-lived, non-human credential the GitHub API shows for an
//! organisation or a repository (Actions, Dependabot and Codespaces secrets, fine-grained
//! tokens and their requests, SAML SSO authorisations, deploy keys, App installations, org
//! webhooks with a secret), cross-referenced with the pipelines of each repository's default
//! branch, with a verdict per credential and the remediation to apply.
//!
//! Flow: [`review`] runs each listing (one module per kind) through [`Client`]; a listing the
//! token may not read becomes a [`Listing`] saying which permission it needs, and the review
//! goes on. [`pipelines`] reads the workflows through the API and runs the `inventory`
//! analysis on them; [`verdict`] decides; [`render`] writes; [`apply`] remediates. No value is
//! ever read: the API never returns one.

pub mod apply;
pub mod apps;
pub mod deploy_keys;
pub mod hooks;
pub mod pipelines;
pub mod render;
pub mod secrets;
pub mod sso;
pub mod tokens;
pub mod track;
pub mod verdict;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::forge::{Client, ForgeError};
pub use verdict::{Verdict, VerdictKind};

#[derive(Debug, thiserror::Error)]
pub enum EntitlementError {
    #[error("`{0}`: not OWNER/REPO")]
    BadRepo(String),
    #[error("nothing to review: give --org ORG or --repo OWNER/REPO")]
    NoScope,
    #[error("org {org}: cannot list its repositories: {source}")]
    Org { org: String, source: ForgeError },
    #[error("{0}")]
    Forge(#[from] ForgeError),
}

/// What kind of credential a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ActionsSecret,
    EnvironmentSecret,
    OrgActionsSecret,
    DependabotSecret,
    OrgDependabotSecret,
    CodespacesSecret,
    OrgCodespacesSecret,
    FineGrainedToken,
    TokenRequest,
    SsoAuthorization,
    DeployKey,
    AppInstallation,
    OrgWebhook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ActionsSecret => "actions-secret",
            Kind::EnvironmentSecret => "environment-secret",
            Kind::OrgActionsSecret => "org-actions-secret",
            Kind::DependabotSecret => "dependabot-secret",
            Kind::OrgDependabotSecret => "org-dependabot-secret",
            Kind::CodespacesSecret => "codespaces-secret",
            Kind::OrgCodespacesSecret => "org-codespaces-secret",
            Kind::FineGrainedToken => "fine-grained-token",
            Kind::TokenRequest => "token-request",
            Kind::SsoAuthorization => "sso-authorization",
            Kind::DeployKey => "deploy-key",
            Kind::AppInstallation => "app-installation",
            Kind::OrgWebhook => "org-webhook",
        }
    }

    /// An Actions secret, which workflows read (`secrets.NAME`).
    pub fn is_actions_secret(self) -> bool {
        matches!(
            self,
            Kind::ActionsSecret | Kind::EnvironmentSecret | Kind::OrgActionsSecret
        )
    }
}

/// One workflow read of a secret, from the pipeline analysis of a default branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reader {
    pub repository: String,
    pub path: String,
    pub line: usize,
    /// The job's `environment:` (`*` when an expression picks it at run time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub consumer: String,
    /// `migratable-now`, `blocked` or `no-oidc-alternative`.
    pub status: &'static str,
    pub replacement: String,
}

/// One credential. Names, ids and metadata only: the API never returns a value.
#[derive(Debug, Clone, Serialize)]
pub struct Credential {
    pub kind: Kind,
    /// Secret name, token name, key title, App slug, webhook name and host.
    pub name: String,
    /// The API id remediation uses (deploy key, token grant, credential, installation, hook).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Who owns or created it (token owner, `added_by`, the App's account), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `o/r`, `o/r environment prod`, `org o (visibility all)`, the token's repositories.
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Org secrets: `all`, `private` or `selected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Org secrets with `selected` visibility: the repositories (`o/r`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub selected_repositories: Vec<String>,
    /// Tokens, installations: `permission -> read|write|admin`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub permissions: BTreeMap<String, String>,
    /// Deploy keys: may push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// Whether the API reports a last use for this kind at all.
    pub last_use_known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The kind has an expiry and this one has none.
    pub never_expires: bool,
    /// The workflows that read it (Actions secrets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<Reader>,
    pub verdicts: Vec<Verdict>,
    /// The listing it came from (`deploy keys of o/r`), for tracking across reviews.
    #[serde(skip)]
    pub listing: String,
    /// A fact it needs could not be read (an org secret's selected repositories): no verdict
    /// that depends on who can see it.
    #[serde(skip)]
    pub incomplete: bool,
}

impl Credential {
    pub fn new(kind: Kind, name: impl Into<String>, scope: impl Into<String>) -> Credential {
        Credential {
            kind,
            name: name.into(),
            id: None,
            owner: None,
            scope: scope.into(),
            repository: None,
            environment: None,
            visibility: None,
            selected_repositories: Vec::new(),
            permissions: BTreeMap::new(),
            write: None,
            created_at: None,
            updated_at: None,
            last_used: None,
            last_use_known: false,
            expires_at: None,
            never_expires: false,
            readers: Vec::new(),
            verdicts: Vec::new(),
            listing: String::new(),
            incomplete: false,
        }
    }

    /// The worst verdict, for grouping.
    pub fn worst(&self) -> Option<VerdictKind> {
        self.verdicts.iter().map(|v| v.kind).min()
    }
}

/// One listing request and whether the token could read it.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// `actions secrets of o/r`, `fine-grained tokens of org o`.
    pub what: String,
    /// The permission it needs, as GitHub names it (fine-grained token / App).
    pub needs: String,
    pub count: usize,
    /// `None`: read. Else the one line saying why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_visible: Option<String>,
}

/// Thresholds and scope.
#[derive(Debug, Clone)]
pub struct Options {
    pub org: Option<String>,
    pub repos: Vec<String>,
    /// `stale`: not updated for this long.
    pub max_age: SignedDuration,
    /// `unused`: no use for this long, where the last use is known.
    pub unused_for: SignedDuration,
    pub now: Timestamp,
}

/// The review: every credential, every listing's status, the pipelines read.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub repositories: Vec<String>,
    pub generated_at: String,
    pub max_age_days: i64,
    pub unused_for_days: i64,
    pub credentials: Vec<Credential>,
    pub listings: Vec<Listing>,
    /// Repositories whose workflows could not be read (with why): their secrets get no
    /// `dormant` verdict.
    pub pipelines_unread: BTreeMap<String, String>,
    /// `--repo`s that could not be read at all (with why): not reviewed.
    pub repositories_failed: BTreeMap<String, String>,
    /// Verdicts gone since the last review (with `--state`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<track::Resolved>,
    /// `o/r -> id`, for narrowing org secrets (not shown).
    #[serde(skip)]
    pub repo_ids: BTreeMap<String, u64>,
    /// Org repositories by visibility (`o/r -> public|private|internal`).
    #[serde(skip)]
    pub repo_visibility: BTreeMap<String, String>,
}

/// Collects listings: each one either adds its items or records why it is not visible.
pub struct Collector<'a> {
    pub client: &'a Client,
    pub credentials: Vec<Credential>,
    pub listings: Vec<Listing>,
}

impl Collector<'_> {
    /// Adds a credential of the last listing read.
    pub fn push(&mut self, mut c: Credential) {
        if let Some(l) = self.listings.last() {
            c.listing = l.what.clone();
        }
        self.credentials.push(c);
    }
}

/// Page size of list requests (GitHub's maximum). `KEYSWEEP_GITHUB_PER_PAGE` lowers it, for
/// tests of pagination.
pub(crate) fn per_page() -> u32 {
    std::env::var("KEYSWEEP_GITHUB_PER_PAGE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=100).contains(n))
        .unwrap_or(100)
}

/// `path` with `per_page` added.
pub(crate) fn paged(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}per_page={}", per_page())
}

impl Collector<'_> {
    /// Every item of a paginated listing, or `None` when the token may not read it (the
    /// listing is recorded as not visible). Other errors too are recorded, and the review
    /// goes on.
    pub async fn list(&mut self, what: String, needs: &str, path: &str) -> Option<Vec<Value>> {
        match self.client.get_all(&paged(path)).await {
            Ok(items) => {
                self.listings.push(Listing {
                    what,
                    needs: needs.to_string(),
                    count: items.len(),
                    not_visible: None,
                });
                Some(items)
            }
            Err(e) => {
                self.listings.push(Listing {
                    what,
                    needs: needs.to_string(),
                    count: 0,
                    not_visible: Some(not_visible(&e, needs)),
                });
                None
            }
        }
    }

    /// Sets the count of the last listing (when items were filtered after reading).
    pub fn recount(&mut self, n: usize) {
        if let Some(l) = self.listings.last_mut() {
            l.count = n;
        }
    }
}

/// The one line for a listing that could not be read.
pub fn not_visible(e: &ForgeError, needs: &str) -> String {
    match e {
        ForgeError::Forbidden { permission, .. } => format!(
            "not visible with this token (needs {})",
            permission.as_deref().unwrap_or(needs)
        ),
        ForgeError::NotFound { .. } => format!(
            "not visible with this token (needs {needs}), or the feature is not enabled here"
        ),
        ForgeError::Unauthorized { .. } => {
            "not visible: the token is invalid or expired".to_string()
        }
        e => format!("not read: {e}"),
    }
}

/// A time field of an API object, when set.
pub(crate) fn time(v: &Value, key: &str) -> Option<String> {
    v[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `login` of an API user object.
pub(crate) fn login(v: &Value) -> Option<String> {
    v["login"].as_str().map(str::to_string)
}

/// Runs the whole review: listings, pipelines, verdicts.
pub async fn review(client: &Client, opts: &Options) -> Result<Review, EntitlementError> {
    if opts.org.is_none() && opts.repos.is_empty() {
        return Err(EntitlementError::NoScope);
    }
    for r in &opts.repos {
        if crate::forge::split_repo(r).is_none() {
            return Err(EntitlementError::BadRepo(r.clone()));
        }
    }
    let mut c = Collector {
        client,
        credentials: Vec::new(),
        listings: Vec::new(),
    };
    let mut repos: Vec<String> = Vec::new();
    let mut repo_ids = BTreeMap::new();
    let mut repo_visibility = BTreeMap::new();
    let mut failed = BTreeMap::new();
    let mut add = |r: &Value, repos: &mut Vec<String>| {
        let Some(full) = r["full_name"].as_str() else {
            return;
        };
        if let Some(id) = r["id"].as_u64() {
            repo_ids.insert(full.to_string(), id);
        }
        let vis = r["visibility"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                if r["private"].as_bool() == Some(true) {
                    "private".into()
                } else {
                    "public".into()
                }
            });
        repo_visibility.insert(full.to_string(), vis);
        if !repos.iter().any(|x| x == full) {
            repos.push(full.to_string());
        }
    };
    if let Some(org) = &opts.org {
        // without its repositories there is no review of the org to speak of
        let listed = client
            .get_all(&paged(&format!("/orgs/{org}/repos")))
            .await
            .map_err(|source| EntitlementError::Org {
                org: org.clone(),
                source,
            })?;
        for r in listed
            .iter()
            .filter(|r| r["archived"].as_bool() != Some(true))
        {
            add(r, &mut repos);
        }
    }
    // one repository that cannot be read is named and skipped; the others are reviewed
    for slug in &opts.repos {
        if repos.contains(slug) {
            continue;
        }
        match client.get(&format!("/repos/{slug}")).await {
            Ok(r) => add(&r, &mut repos),
            Err(e) => {
                failed.insert(slug.clone(), e.to_string());
            }
        }
    }
    for repo in &repos {
        secrets::repository(&mut c, repo).await;
        deploy_keys::repository(&mut c, repo).await;
    }
    if let Some(org) = &opts.org {
        secrets::organization(&mut c, org).await;
        tokens::organization(&mut c, org).await;
        sso::organization(&mut c, org).await;
        apps::organization(&mut c, org).await;
        hooks::organization(&mut c, org).await;
    }
    let (reads, pipelines_unread) = pipelines::read_all(client, &repos).await;
    let mut review = Review {
        org: opts.org.clone(),
        repositories: repos,
        generated_at: opts.now.to_string(),
        max_age_days: opts.max_age.as_secs() / 86_400,
        unused_for_days: opts.unused_for.as_secs() / 86_400,
        credentials: c.credentials,
        listings: c.listings,
        pipelines_unread,
        repositories_failed: failed,
        resolved: Vec::new(),
        repo_ids,
        repo_visibility,
    };
    verdict::decide(&mut review, &reads, opts);
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_visible_names_the_permission_github_asks_for_else_ours() {
        let forbidden = |permission: Option<&str>| ForgeError::Forbidden {
            method: "GET".into(),
            path: "/orgs/o/hooks".into(),
            message: "Resource not accessible by integration".into(),
            permission: permission.map(str::to_string),
            workflow_files: false,
        };
        assert_eq!(
            not_visible(&forbidden(Some("organization_hooks=read")), "x=read"),
            "not visible with this token (needs organization_hooks=read)"
        );
        assert_eq!(
            not_visible(&forbidden(None), "organization_hooks=read"),
            "not visible with this token (needs organization_hooks=read)"
        );
        let missing = ForgeError::NotFound {
            method: "GET".into(),
            path: "/orgs/o/credential-authorizations".into(),
            message: "Not Found".into(),
        };
        assert!(not_visible(&missing, "read:org").contains("or the feature is not enabled here"));
        assert_eq!(paged("/a?x=1"), format!("/a?x=1&per_page={}", per_page()));
    }
}
