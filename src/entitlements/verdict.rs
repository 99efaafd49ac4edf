//! The verdicts, decided from the listings and the pipelines' reads by pure functions:
//! `over-broad`, `no-expiry`, `dormant`, `unused`, `stale`, `migratable` (worst first), each
//! with its reason and the recommended action (and the `--apply` action that does it).

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::pipelines::Reads;
use super::{Credential, Kind, Options, Reader, Review};

/// Declaration order is severity order: the worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
}

fn v(kind: VerdictKind, reason: String, action: String, apply: Option<&'static str>) -> Verdict {
    Verdict {
        kind,
        reason,
        action,
        apply,
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

/// Readers of `c`, or `None` when a repository that can see it was not read.
fn readers(c: &Credential, review: &Review, reads: &Reads) -> Option<Vec<Reader>> {
    let repos = match c.kind {
        Kind::ActionsSecret | Kind::EnvironmentSecret => vec![c.repository.clone()?],
        Kind::OrgActionsSecret => {
            // a repository or environment secret of the same name shadows the org's
            let shadowed: BTreeSet<&str> = review
                .credentials
                .iter()
                .filter(|o| {
                    matches!(o.kind, Kind::ActionsSecret | Kind::EnvironmentSecret)
                        && o.name == c.name
                })
                .filter_map(|o| o.repository.as_deref())
                .collect();
            visible_to(c, review)
                .into_iter()
                .filter(|r| !shadowed.contains(r.as_str()))
                .collect()
        }
        _ => return Some(Vec::new()),
    };
    let mut out = Vec::new();
    for r in repos {
        out.extend(reads.get(&r)?.get(&c.name).cloned().unwrap_or_default());
    }
    Some(out)
}

fn secret_verdicts(c: &mut Credential, review: &Review, reads: &Reads) {
    let Some(rs) = readers(c, review, reads) else {
        return;
    };
    c.readers = rs;
    if c.readers.is_empty() {
        let seen = match c.kind {
            Kind::OrgActionsSecret => format!(
                "no workflow on the default branch of the {} repositories that can see it reads it",
                visible_to(c, review).len()
            ),
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
                format!("narrow its visibility to the repositories that read it ({})", list.join(", ")),
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
    for c in &mut creds {
        decide_one(c, review, reads, opts);
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

fn decide_one(c: &mut Credential, review: &Review, reads: &Reads, opts: &Options) {
    let now = opts.now;
    if c.kind.is_actions_secret() {
        secret_verdicts(c, review, reads);
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
                Kind::SsoAuthorization => {
                    ("remove the SSO authorisation", Some("remove-sso-authorization"))
                }
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
                    Kind::OrgWebhook => "rotate the webhook secret (and the receiver's copy)".into(),
                    _ => "rotate it, or move its readers to OIDC".into(),
                },
                None,
            ));
        }
    }
}
