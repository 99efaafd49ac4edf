//! `--apply ACTION...`: the changes the verdicts call for, as API requests. Planned first
//! (printed by a dry run), sent one at a time with `--confirm`, each one appended to the
//! evidence ledger with its result.

use std::collections::BTreeMap;

use http::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::{Credential, Kind, Review};
use crate::forge::pr::remote::enc;
use crate::forge::{Client, ForgeError};
use crate::ledger::{Ledger, LedgerError, Record};

/// The remediations `--apply` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Delete Actions secrets (repository, environment, org) no workflow reads.
    DeleteDormantSecrets,
    /// Delete deploy keys unused for `--unused-for`.
    DeleteUnusedDeployKeys,
    /// Revoke the org access of fine-grained tokens that are unused or never expire.
    RevokeTokenAccess,
    /// Remove SAML SSO authorisations of credentials that are unused or never expire.
    RemoveSsoAuthorization,
    /// Narrow an org secret's visibility to the repositories that read it.
    NarrowOrgSecret,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::DeleteDormantSecrets => "delete-dormant-secrets",
            Action::DeleteUnusedDeployKeys => "delete-unused-deploy-keys",
            Action::RevokeTokenAccess => "revoke-token-access",
            Action::RemoveSsoAuthorization => "remove-sso-authorization",
            Action::NarrowOrgSecret => "narrow-org-secret",
        }
    }

    /// The permission the change needs (fine-grained token / App).
    pub fn needs(self) -> &'static str {
        match self {
            Action::DeleteDormantSecrets => {
                "secrets=write (repository), environments=write (environment), organization_secrets=write (org)"
            }
            Action::DeleteUnusedDeployKeys => "administration=write",
            Action::RevokeTokenAccess => "organization_personal_access_tokens=write",
            Action::RemoveSsoAuthorization => "an org owner's classic token with admin:org",
            Action::NarrowOrgSecret => "organization_secrets=write",
        }
    }
}

/// One request a remediation sends.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    /// `deploy-key deploy (o/r)`, for people.
    pub credential: String,
    #[serde(skip)]
    pub method: Method,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Ledger evidence: ids, the verdict's reason.
    pub evidence: BTreeMap<String, String>,
}

impl Change {
    pub fn request_line(&self) -> String {
        match &self.body {
            Some(b) => format!("{} {} {b}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// The reason of the first verdict that calls for `apply` on `c`.
fn has(c: &Credential, apply: Action) -> Option<String> {
    c.verdicts
        .iter()
        .find(|v| v.apply == Some(apply.as_str()))
        .map(|v| v.reason.clone())
}

fn change(a: Action, c: &Credential, method: Method, path: String, reason: String) -> Change {
    let mut evidence = BTreeMap::from([
        ("kind".to_string(), c.kind.as_str().to_string()),
        ("reason".to_string(), reason),
    ]);
    if let Some(id) = c.id {
        evidence.insert("id".into(), id.to_string());
    }
    if let Some(o) = &c.owner {
        evidence.insert("owner".into(), o.clone());
    }
    Change {
        action: a,
        credential: format!("{} {} ({})", c.kind.as_str(), c.name, c.scope),
        method,
        path,
        body: None,
        repository: c.repository.clone().unwrap_or_default(),
        secret: c.kind.is_actions_secret().then(|| c.name.clone()),
        evidence,
    }
}

/// The changes `actions` call for in `review`, in the review's order.
pub fn plan(review: &Review, actions: &[Action]) -> Vec<Change> {
    let org = review.org.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    for a in actions {
        for c in &review.credentials {
            let name = enc(&c.name);
            let repo = c.repository.as_deref().unwrap_or_default();
            let ch = match (a, c.kind) {
                (Action::DeleteDormantSecrets, k) if k.is_actions_secret() => {
                    let Some(reason) = has(c, *a) else {
                        continue;
                    };
                    let path = match k {
                        Kind::ActionsSecret => format!("/repos/{repo}/actions/secrets/{name}"),
                        Kind::EnvironmentSecret => format!(
                            "/repos/{repo}/environments/{}/secrets/{name}",
                            enc(c.environment.as_deref().unwrap_or_default())
                        ),
                        _ => format!("/orgs/{org}/actions/secrets/{name}"),
                    };
                    change(*a, c, Method::DELETE, path, reason)
                }
                (Action::DeleteUnusedDeployKeys, Kind::DeployKey) => {
                    let (Some(reason), Some(id)) = (has(c, *a), c.id) else {
                        continue;
                    };
                    change(
                        *a,
                        c,
                        Method::DELETE,
                        format!("/repos/{repo}/keys/{id}"),
                        reason,
                    )
                }
                (Action::RevokeTokenAccess, Kind::FineGrainedToken) => {
                    let (Some(reason), Some(id)) = (has(c, *a), c.id) else {
                        continue;
                    };
                    let mut ch = change(
                        *a,
                        c,
                        Method::POST,
                        format!("/orgs/{org}/personal-access-tokens/{id}"),
                        reason,
                    );
                    ch.body = Some(json!({"action": "revoke"}));
                    ch
                }
                (Action::RemoveSsoAuthorization, Kind::SsoAuthorization) => {
                    let (Some(reason), Some(id)) = (has(c, *a), c.id) else {
                        continue;
                    };
                    change(
                        *a,
                        c,
                        Method::DELETE,
                        format!("/orgs/{org}/credential-authorizations/{id}"),
                        reason,
                    )
                }
                (Action::NarrowOrgSecret, Kind::OrgActionsSecret) => {
                    let Some(reason) = has(c, *a) else {
                        continue;
                    };
                    let mut reading: Vec<&str> =
                        c.readers.iter().map(|r| r.repository.as_str()).collect();
                    reading.sort_unstable();
                    reading.dedup();
                    let ids: Option<Vec<u64>> = reading
                        .iter()
                        .map(|r| review.repo_ids.get(*r).copied())
                        .collect();
                    let Some(ids) = ids else { continue };
                    let mut ch = change(
                        *a,
                        c,
                        Method::PUT,
                        format!("/orgs/{org}/actions/secrets/{name}"),
                        reason,
                    );
                    // visibility and repositories only: without `encrypted_value` the value
                    // stays as it is
                    ch.body =
                        Some(json!({"visibility": "selected", "selected_repository_ids": ids}));
                    ch.evidence
                        .insert("repositories".into(), reading.join(", "));
                    ch
                }
                _ => continue,
            };
            out.push(ch);
        }
    }
    out
}

/// What became of one change.
#[derive(Debug)]
pub struct Outcome {
    pub change: Change,
    pub result: Result<u16, ForgeError>,
}

/// Sends each change, one at a time, and appends it to the ledger whatever its result. A
/// failed change does not stop the others; a ledger that cannot be written does.
pub async fn execute(
    client: &Client,
    ledger: &Ledger,
    actor: &str,
    changes: Vec<Change>,
) -> Result<Vec<Outcome>, LedgerError> {
    let mut out = Vec::new();
    for ch in changes {
        let result = client
            .request(ch.method.clone(), &ch.path, ch.body.as_ref())
            .await
            .map(|r| r.status);
        let mut evidence = ch.evidence.clone();
        evidence.insert("request".into(), format!("{} {}", ch.method, ch.path));
        if let Some(b) = &ch.body {
            evidence.insert("body".into(), b.to_string());
        }
        ledger.append(Record {
            actor: actor.to_string(),
            repository: ch.repository.clone(),
            secret: ch.secret.clone(),
            action: format!("entitlement-{}", ch.action.as_str()),
            result: match &result {
                Ok(_) => "ok".into(),
                Err(e) => e.to_string(),
            },
            evidence,
        })?;
        out.push(Outcome { change: ch, result });
    }
    Ok(out)
}
