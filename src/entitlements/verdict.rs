//! The verdicts, decided from the listings and the pipelines' reads by pure functions:
//! `over-broad`, `no-expiry`, `dormant`, `unused`, `stale`, `migratable` (worst first), each
//! with its reason and the recommended action (and the `--apply` action that does it).

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::pipelines::Reads;
use super::{Credential, Kind, Options, Reader, Review};

/// Declaration order is severity order: the worst first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// Write or admin scope beyond what its users need.
    OverBroad,
    /// A token that never expires.
    NoExpiry,
    /// An Actions secret no workflow reads.
    Dormant,
    /// No use for `--unused-for`, where the last use is known.
    Unused,
    /// Not updated (rotated) for `--max-age`.
    Stale,
    /// Read by a workflow a rotate target replaces with OIDC.
    Migratable,
}

impl VerdictKind {
    pub const ALL: [VerdictKind; 6] = [
        VerdictKind::OverBroad,
        VerdictKind::NoExpiry,
        VerdictKind::Dormant,
        VerdictKind::Unused,
        VerdictKind::Stale,
        VerdictKind::Migratable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::OverBroad => "over-broad",
            VerdictKind::NoExpiry => "no-expiry",
            VerdictKind::Dormant => "dormant",
            VerdictKind::Unused => "unused",
            VerdictKind::Stale => "stale",
            VerdictKind::Migratable => "migratable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub reason: String,
    /// What to do, in one line.
    pub action: String,
    /// The `--apply` action that does it, when keysweep can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<&'static str>,
    /// `new` or `open` when verdicts are tracked across reviews (`--state`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<super::track::Status>,
}

fn v(kind: VerdictKind, reason: String, action: String, apply: Option<&'static str>) -> Verdict {
    Verdict {
        kind,
        reason,
        action,
        apply,
        status: None,
    }
}

/// App/token permissions that can change code, settings or other credentials.
const SENSITIVE: &[&str] = &[
    "administration",
    "organization_administration",
    "secrets",
    "organization_secrets",
    "workflows",
    "members",
    "organization_personal_access_tokens",
];

/// The date part of an RFC 3339 time.
pub(crate) fn day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

fn older_than(t: Option<&str>, now: Timestamp, d: SignedDuration) -> Option<i64> {
    let ts: Timestamp = t?.parse().ok()?;
    let age = now.duration_since(ts);
    (age > d).then(|| age.as_secs() / 86_400)
}

/// The repositories an org secret is visible to.
fn visible_to(c: &Credential, review: &Review) -> Vec<String> {
    match c.visibility.as_deref() {
        Some("selected") => c.selected_repositories.clone(),
        Some("private") => review
            .repo_visibility
            .iter()
            .filter(|(_, vis)| vis.as_str() != "public")
            .map(|(r, _)| r.clone())
            .collect(),
        _ => review.repositories.clone(),
    }
}

/// Repositories where a repository secret named `name` shadows the org's.
fn shadowing<'a>(name: &str, all: &'a [Credential]) -> BTreeSet<&'a str> {
    all.iter()
        .filter(|o| o.kind == Kind::ActionsSecret && o.name == name)
        .filter_map(|o| o.repository.as_deref())
        .collect()
}

/// Whether an environment secret of `repo` named `name` exists for the environment `env`
/// (GitHub: an environment secret wins over repository and org secrets in that job).
fn env_secret(all: &[Credential], repo: &str, env: &str, name: &str) -> bool {
    all.iter().any(|o| {
        o.kind == Kind::EnvironmentSecret
            && o.name == name
            && o.repository.as_deref() == Some(repo)
            && o.environment.as_deref() == Some(env)
    })
}

/// Readers of `c`, or `None` when a repository that can see it was not read. A read in a job
/// whose environment has a secret of the same name reads that one; a job whose environment is
/// an expression (`*`) may read any.
fn readers(
    c: &Credential,
    all: &[Credential],
    review: &Review,
    reads: &Reads,
) -> Option<Vec<Reader>> {
    let repos = match c.kind {
        Kind::ActionsSecret | Kind::EnvironmentSecret => vec![c.repository.clone()?],
        Kind::OrgActionsSecret if c.incomplete => return None,
        Kind::OrgActionsSecret => {
            let shadowed = shadowing(&c.name, all);
            visible_to(c, review)
                .into_iter()
                .filter(|r| !shadowed.contains(r.as_str()))
                .collect()
        }
        _ => return Some(Vec::new()),
    };
    let mut out = Vec::new();
    for r in repos {
        let found = reads.get(&r)?.get(&c.name).cloned().unwrap_or_default();
        out.extend(
            found
                .into_iter()
                .filter(|x| match (c.kind, x.environment.as_deref()) {
                    (Kind::EnvironmentSecret, Some(e)) => {
                        e == "*" || Some(e) == c.environment.as_deref()
                    }
                    (Kind::EnvironmentSecret, None) => false,
                    (_, Some(e)) => e == "*" || !env_secret(all, &r, e, &c.name),
                    (_, None) => true,
                }),
        );
    }
    Some(out)
}

fn secret_verdicts(c: &mut Credential, all: &[Credential], review: &Review, reads: &Reads) {
    let Some(rs) = readers(c, all, review, reads) else {
        return;
    };
    c.readers = rs;
    if c.readers.is_empty() {
        let seen = match c.kind {
            Kind::OrgActionsSecret => {
                let shadowed: Vec<&str> = shadowing(&c.name, all).into_iter().collect();
                let n = visible_to(c, review).len();
                format!(
                    "no workflow on the default branch of the {n} repositor{} that can see it reads it{}",
                    if n == 1 { "y" } else { "ies" },
                    if shadowed.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (a repository secret of the same name wins in {})",
                            shadowed.join(", ")
                        )
                    }
                )
            }
            _ => "no workflow on the default branch reads it".to_string(),
        };
        c.verdicts.push(v(
            VerdictKind::Dormant,
            seen,
            "delete it, once nothing outside the workflows (a script, another system) uses it"
                .into(),
            Some("delete-dormant-secrets"),
        ));
        return;
    }
    if let Some(m) = c.readers.iter().find(|r| r.status == "migratable-now") {
        c.verdicts.push(v(
            VerdictKind::Migratable,
            format!(
                "read by {}:{} ({}); {}",
                m.path, m.line, m.consumer, m.replacement
            ),
            format!(
                "keysweep rotate --open-pr on {}, then keysweep retire --repo {} once it is merged",
                m.repository, m.repository
            ),
            None,
        ));
    }
    if c.kind == Kind::OrgActionsSecret && c.visibility.as_deref() != Some("selected") {
        let reading: BTreeSet<&str> = c.readers.iter().map(|r| r.repository.as_str()).collect();
        let visible = visible_to(c, review).len();
        if reading.len() < visible {
            let list: Vec<&str> = reading.into_iter().collect();
            c.verdicts.push(v(
                VerdictKind::OverBroad,
                format!(
                    "visible to {visible} repositories (visibility {}), read by {}: {}",
                    c.visibility.as_deref().unwrap_or("all"),
                    list.len(),
                    list.join(", ")
                ),
                format!(
                    "narrow its visibility to the repositories that read it ({})",
                    list.join(", ")
                ),
                Some("narrow-org-secret"),
            ));
        }
    }
}

/// A write deploy key whose repository's workflows use their SSH keys only to check out.
fn deploy_key_over_broad(c: &Credential, reads: &Reads) -> Option<Verdict> {
    if c.write != Some(true) {
        return None;
    }
    let repo = reads.get(c.repository.as_deref()?)?;
    let ssh: Vec<(&String, &Reader)> = repo
        .iter()
        .flat_map(|(name, rs)| rs.iter().map(move |r| (name, r)))
        .filter(|(name, r)| {
            r.consumer.contains("input `ssh-key`")
                || r.consumer.contains("ssh-private-key")
                || name.contains("DEPLOY_KEY")
                || name.contains("SSH")
        })
        .collect();
    let checkout = |r: &Reader| r.consumer.starts_with("actions/checkout@");
    if ssh.is_empty() || !ssh.iter().all(|(_, r)| checkout(r)) {
        return None;
    }
    let (name, r) = ssh[0];
    Some(v(
        VerdictKind::OverBroad,
        format!(
            "write access, but the workflows use their SSH key only to check out (a read): {name} at {}:{}",
            r.path, r.line
        ),
        "replace it with a read-only deploy key (or the job's GITHUB_TOKEN with contents: read)"
            .into(),
        None,
    ))
}

fn permission_over_broad(c: &Credential) -> Option<Verdict> {
    if !c.scope.contains("all repositories") {
        return None;
    }
    let strong: Vec<String> = c
        .permissions
        .iter()
        .filter(|(k, level)| {
            let base = k.rsplit('.').next().unwrap_or(k);
            SENSITIVE.contains(&base) && matches!(level.as_str(), "write" | "admin")
        })
        .map(|(k, l)| format!("{k}: {l}"))
        .collect();
    if strong.is_empty() {
        return None;
    }
    Some(v(
        VerdictKind::OverBroad,
        format!("{} on every repository of the org", strong.join(", ")),
        "limit it to the repositories that need it and drop the write permissions they do not use"
            .into(),
        None,
    ))
}

/// Every verdict of every credential, then the credentials sorted worst first.
pub fn decide(review: &mut Review, reads: &Reads, opts: &Options) {
    let mut creds = std::mem::take(&mut review.credentials);
    let all = creds.clone();
    for c in &mut creds {
        decide_one(c, &all, review, reads, opts);
        c.verdicts.sort_by_key(|x| x.kind);
    }
    creds.sort_by(|a, b| {
        (a.worst().is_none(), a.worst(), a.kind, &a.scope, &a.name).cmp(&(
            b.worst().is_none(),
            b.worst(),
            b.kind,
            &b.scope,
            &b.name,
        ))
    });
    review.credentials = creds;
}

fn decide_one(
    c: &mut Credential,
    all: &[Credential],
    review: &Review,
    reads: &Reads,
    opts: &Options,
) {
    let now = opts.now;
    if c.kind.is_actions_secret() {
        secret_verdicts(c, all, review, reads);
    }
    if c.kind == Kind::DeployKey {
        if let Some(x) = deploy_key_over_broad(c, reads) {
            c.verdicts.push(x);
        }
    }
    if matches!(c.kind, Kind::AppInstallation | Kind::FineGrainedToken) {
        if let Some(x) = permission_over_broad(c) {
            c.verdicts.push(x);
        }
    }
    if c.never_expires {
        let (action, apply) = match c.kind {
            Kind::FineGrainedToken => (
                "revoke its org access and ask the owner for a token with an expiry; set a maximum token lifetime in the org's settings",
                Some("revoke-token-access"),
            ),
            Kind::SsoAuthorization => (
                "remove the SSO authorisation; the owner re-authorises a token with an expiry",
                Some("remove-sso-authorization"),
            ),
            _ => ("deny the request unless the token gets an expiry", None),
        };
        c.verdicts.push(v(
            VerdictKind::NoExpiry,
            "the token never expires".into(),
            action.into(),
            apply,
        ));
    }
    if c.last_use_known {
        let unused = match &c.last_used {
            Some(t) => older_than(Some(t), now, opts.unused_for)
                .map(|d| format!("last used {} ({d} days ago)", day(t))),
            None => older_than(c.created_at.as_deref(), now, opts.unused_for).map(|d| {
                format!(
                    "never used since it was added {} ({d} days ago)",
                    day(c.created_at.as_deref().unwrap_or(""))
                )
            }),
        };
        if let Some(reason) = unused {
            let (action, apply) = match c.kind {
                Kind::DeployKey => ("delete the deploy key", Some("delete-unused-deploy-keys")),
                Kind::FineGrainedToken => ("revoke its org access", Some("revoke-token-access")),
                Kind::SsoAuthorization => (
                    "remove the SSO authorisation",
                    Some("remove-sso-authorization"),
                ),
                _ => ("deny the request", None),
            };
            if c.kind != Kind::TokenRequest {
                c.verdicts
                    .push(v(VerdictKind::Unused, reason, action.into(), apply));
            }
        }
    }
    let stale_field = match c.kind {
        Kind::DeployKey => c.created_at.as_deref(),
        k if k.is_actions_secret()
            || matches!(
                k,
                Kind::DependabotSecret
                    | Kind::OrgDependabotSecret
                    | Kind::CodespacesSecret
                    | Kind::OrgCodespacesSecret
                    | Kind::OrgWebhook
            ) =>
        {
            c.updated_at.as_deref().or(c.created_at.as_deref())
        }
        _ => None,
    };
    let dormant = c.verdicts.iter().any(|x| x.kind == VerdictKind::Dormant);
    if let (Some(t), false) = (stale_field, dormant) {
        if let Some(d) = older_than(Some(t), now, opts.max_age) {
            let what = if c.kind == Kind::DeployKey {
                "added"
            } else {
                "last updated"
            };
            c.verdicts.push(v(
                VerdictKind::Stale,
                format!("{what} {} ({d} days ago)", day(t)),
                match c.kind {
                    Kind::DeployKey => "replace it with a new key and delete this one".into(),
                    Kind::OrgWebhook => {
                        "rotate the webhook secret (and the receiver's copy)".into()
                    }
                    _ => "rotate it, or move its readers to OIDC".into(),
                },
                None,
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    pub(crate) fn opts() -> Options {
        Options {
            org: Some("o".into()),
            repos: Vec::new(),
            max_age: SignedDuration::from_hours(24 * 90),
            unused_for: SignedDuration::from_hours(24 * 90),
            now: "2026-12-02T00:00:00Z".parse().unwrap(),
        }
    }

    pub(crate) fn review(creds: Vec<Credential>, repos: &[(&str, &str)]) -> Review {
        Review {
            org: Some("o".into()),
            repositories: repos.iter().map(|(r, _)| r.to_string()).collect(),
            generated_at: "2026-12-02T00:00:00Z".into(),
            max_age_days: 90,
            unused_for_days: 90,
            credentials: creds,
            listings: Vec::new(),
            pipelines_unread: BTreeMap::new(),
            repositories_failed: BTreeMap::new(),
            resolved: Vec::new(),
            repo_ids: BTreeMap::new(),
            repo_visibility: repos
                .iter()
                .map(|(r, v)| (r.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn reader(repo: &str, consumer: &str) -> Reader {
        Reader {
            repository: repo.into(),
            path: ".github/workflows/ci.yml".into(),
            line: 9,
            environment: None,
            consumer: consumer.into(),
            status: "no-oidc-alternative",
            replacement: "long-lived".into(),
        }
    }

    fn secret(kind: Kind, name: &str, repo: Option<&str>) -> Credential {
        let mut c = Credential::new(kind, name, "s");
        c.repository = repo.map(str::to_string);
        c.updated_at = Some("2026-11-01T00:00:00Z".into());
        c
    }

    fn kinds(c: &Credential) -> Vec<VerdictKind> {
        c.verdicts.iter().map(|v| v.kind).collect()
    }

    fn find<'a>(r: &'a Review, kind: Kind, name: &str) -> &'a Credential {
        r.credentials
            .iter()
            .find(|c| c.kind == kind && c.name == name)
            .unwrap()
    }

    #[test]
    fn a_repository_secret_shadows_the_org_secret() {
        let mut org = secret(Kind::OrgActionsSecret, "TOKEN", None);
        org.visibility = Some("all".into());
        let mut r = review(
            vec![org, secret(Kind::ActionsSecret, "TOKEN", Some("o/a"))],
            &[("o/a", "public"), ("o/b", "public")],
        );
        let mut reads = Reads::new();
        reads.insert(
            "o/a".into(),
            BTreeMap::from([("TOKEN".to_string(), vec![reader("o/a", "script")])]),
        );
        reads.insert("o/b".into(), BTreeMap::new());
        decide(&mut r, &reads, &opts());
        let org = find(&r, Kind::OrgActionsSecret, "TOKEN");
        assert_eq!(kinds(org), vec![VerdictKind::Dormant]);
        assert!(org.verdicts[0].reason.contains("wins in o/a"), "{org:?}");
        assert_eq!(kinds(find(&r, Kind::ActionsSecret, "TOKEN")), vec![]);
    }

    #[test]
    fn environment_secrets_are_read_by_the_jobs_of_their_environment() {
        let mut prod = secret(Kind::EnvironmentSecret, "DB", Some("o/a"));
        prod.environment = Some("prod".into());
        let mut staging = secret(Kind::EnvironmentSecret, "DB", Some("o/a"));
        staging.environment = Some("staging".into());
        let mut r = review(
            vec![
                prod,
                staging,
                secret(Kind::ActionsSecret, "DB", Some("o/a")),
            ],
            &[("o/a", "public")],
        );
        let mut in_prod = reader("o/a", "script");
        in_prod.environment = Some("prod".into());
        let mut reads = Reads::new();
        reads.insert(
            "o/a".into(),
            BTreeMap::from([("DB".to_string(), vec![in_prod])]),
        );
        decide(&mut r, &reads, &opts());
        let env = |e: &str| {
            r.credentials
                .iter()
                .find(|c| c.environment.as_deref() == Some(e))
                .unwrap()
        };
        assert_eq!(kinds(env("prod")), vec![]);
        assert_eq!(kinds(env("staging")), vec![VerdictKind::Dormant]);
        // the only read is in prod, where prod's secret wins over the repository's
        assert_eq!(
            kinds(find(&r, Kind::ActionsSecret, "DB")),
            vec![VerdictKind::Dormant]
        );
    }

    #[test]
    fn an_org_secret_whose_repositories_are_unknown_gets_no_dormant_verdict() {
        let mut org = secret(Kind::OrgActionsSecret, "X", None);
        org.visibility = Some("selected".into());
        org.incomplete = true;
        let mut r = review(vec![org], &[("o/a", "public")]);
        let mut reads = Reads::new();
        reads.insert("o/a".into(), BTreeMap::new());
        decide(&mut r, &reads, &opts());
        assert_eq!(kinds(&r.credentials[0]), vec![]);
    }

    #[test]
    fn unread_pipelines_never_make_a_secret_dormant() {
        let mut r = review(
            vec![secret(Kind::ActionsSecret, "X", Some("o/a"))],
            &[("o/a", "public")],
        );
        decide(&mut r, &Reads::new(), &opts());
        assert_eq!(kinds(&r.credentials[0]), vec![]);
    }

    #[test]
    fn private_visibility_counts_private_and_internal_repositories() {
        let mut org = secret(Kind::OrgActionsSecret, "NPM", None);
        org.visibility = Some("private".into());
        let mut r = review(
            vec![org],
            &[("o/a", "private"), ("o/b", "internal"), ("o/c", "public")],
        );
        let mut reads = Reads::new();
        for repo in ["o/a", "o/b", "o/c"] {
            reads.insert(repo.into(), BTreeMap::new());
        }
        reads
            .get_mut("o/a")
            .unwrap()
            .insert("NPM".into(), vec![reader("o/a", "npm")]);
        decide(&mut r, &reads, &opts());
        let v = &r.credentials[0].verdicts;
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].reason,
            "visible to 2 repositories (visibility private), read by 1: o/a"
        );
    }

    #[test]
    fn keys_and_tokens() {
        let mut never = Credential::new(Kind::DeployKey, "k", "o/a, read-only");
        never.repository = Some("o/a".into());
        never.write = Some(false);
        never.last_use_known = true;
        never.created_at = Some("2026-01-01T00:00:00Z".into());
        let mut admin = Credential::new(Kind::FineGrainedToken, "t", "org o, all repositories");
        admin.permissions = BTreeMap::from([
            ("repository.administration".to_string(), "write".to_string()),
            ("repository.contents".to_string(), "read".to_string()),
        ]);
        admin.expires_at = Some("2027-01-01T00:00:00Z".into());
        admin.last_use_known = true;
        admin.last_used = Some("2026-11-30T00:00:00Z".into());
        let mut r = review(vec![never, admin], &[("o/a", "public")]);
        decide(&mut r, &Reads::new(), &opts());
        let k = find(&r, Kind::DeployKey, "k");
        // added 335 days before "now": unused, and stale (a key cannot be rotated in place)
        assert_eq!(kinds(k), vec![VerdictKind::Unused, VerdictKind::Stale]);
        assert!(k.verdicts[0]
            .reason
            .starts_with("never used since it was added 2026-01-01"));
        assert_eq!(k.verdicts[0].apply, Some("delete-unused-deploy-keys"));
        let t = find(&r, Kind::FineGrainedToken, "t");
        assert_eq!(kinds(t), vec![VerdictKind::OverBroad]);
        assert_eq!(
            t.verdicts[0].reason,
            "repository.administration: write on every repository of the org"
        );
        // sorted worst first
        assert_eq!(r.credentials[0].name, "t");
    }
}
