//! `trust apply --target aws`: make IAM hold the trust the rotation plan generated — GitHub's
//! OIDC provider with the `sts.amazonaws.com` audience, and the role the migrated workflows
//! assume with the plan's trust policy and the asked-for managed policies.
//!
//! Reading ([`observe`]) and changing ([`apply_step`]) are separate: the dry run and the real
//! run compute the same [`Step`]s, and a second run computes none.

use serde_json::Value;

use super::{arn_account, AwsError};
use crate::cloud::plan_file::PlannedRepo;
use crate::rotate::aws::AUDIENCE;

/// What the plan wants IAM to hold for one repository.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleTrust {
    /// `OWNER/REPO`.
    pub repository: String,
    pub account_id: String,
    pub role_name: String,
    /// `/` unless the role ARN has a path.
    pub role_path: String,
    /// `arn:aws:iam::ACCT:oidc-provider/token.actions.githubusercontent.com`.
    pub provider_arn: String,
    /// `https://token.actions.githubusercontent.com`.
    pub issuer_url: String,
    pub audience: String,
    /// The trust policy keysweep generated (`aws/trust-policy.json` of the plan).
    pub policy: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrustPlanError {
    #[error("{repo}: the plan still has placeholders: {list}; plan again with those flags")]
    Placeholders { repo: String, list: String },
    #[error("{repo}: the plan has no AWS trust policy (aws/trust-policy.json)")]
    NoPolicy { repo: String },
    #[error("{repo}: the plan's AWS trust policy is not valid: {why}")]
    BadPolicy { repo: String, why: String },
    #[error("{repo}: no `role-to-assume` role ARN in the plan's AWS edits")]
    NoRole { repo: String },
    #[error("{repo}: the plan's AWS edits assume several roles ({roles}); apply them one plan at a time")]
    SeveralRoles { repo: String, roles: String },
}

/// The AWS trust of one planned repository; `None` when it migrates nothing to `target`
/// (`aws`, or `gitlab-aws` whose policy trusts the GitLab instance).
pub fn from_plan(repo: &PlannedRepo, target: &str) -> Result<Option<RoleTrust>, TrustPlanError> {
    if !repo.has_target(target) {
        return Ok(None);
    }
    let name = repo.slug.clone();
    let art = repo
        .artifact(target, "trust-policy.json")
        .ok_or_else(|| TrustPlanError::NoPolicy { repo: name.clone() })?;
    let mut roles: Vec<String> = repo
        .edit_strings(target)
        .into_iter()
        .filter(|s| s.starts_with("arn:aws:iam::") && s.contains(":role/"))
        .collect();
    roles.dedup();
    let mut missing = repo.placeholders_in(&art.content);
    for r in &roles {
        missing.extend(repo.placeholders_in(r));
    }
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Err(TrustPlanError::Placeholders {
            repo: name,
            list: missing.join(", "),
        });
    }
    let bad = |why: &str| TrustPlanError::BadPolicy {
        repo: name.clone(),
        why: why.to_string(),
    };
    let policy: Value = serde_json::from_str(&art.content).map_err(|e| bad(&e.to_string()))?;
    let provider_arn = policy
        .pointer("/Statement/0/Principal/Federated")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no Statement[0].Principal.Federated"))?
        .to_string();
    let host = provider_arn
        .split_once(":oidc-provider/")
        .map(|(_, h)| h.to_string())
        .ok_or_else(|| bad("the principal is not an OIDC provider ARN"))?;
    let account_id = arn_account(&provider_arn)
        .ok_or_else(|| bad("the provider ARN has no account"))?
        .to_string();
    let role_arn = match roles.as_slice() {
        [] => return Err(TrustPlanError::NoRole { repo: name }),
        [one] => one.clone(),
        many => {
            return Err(TrustPlanError::SeveralRoles {
                repo: name,
                roles: many.join(", "),
            })
        }
    };
    let resource = role_arn.split_once(":role/").map_or("", |(_, r)| r);
    let (role_path, role_name) = match resource.rsplit_once('/') {
        Some((p, n)) => (format!("/{p}/"), n.to_string()),
        None => ("/".to_string(), resource.to_string()),
    };
    Ok(Some(RoleTrust {
        repository: name,
        account_id,
        role_name,
        role_path,
        provider_arn,
        issuer_url: format!("https://{host}"),
        audience: AUDIENCE.to_string(),
        policy,
    }))
}

/// One change `trust apply` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateProvider {
        url: String,
        audience: String,
    },
    AddAudience {
        provider_arn: String,
        audience: String,
    },
    CreateRole {
        name: String,
        path: String,
        policy: String,
    },
    /// The role exists with another trust policy; `diff` is current -> planned.
    UpdateTrust {
        name: String,
        policy: String,
        diff: String,
    },
    AttachPolicy {
        role: String,
        policy_arn: String,
    },
}

impl Step {
    /// The ledger's action name.
    pub fn action(&self) -> &'static str {
        match self {
            Step::CreateProvider { .. } => "oidc-provider-created",
            Step::AddAudience { .. } => "oidc-audience-added",
            Step::CreateRole { .. } => "role-created",
            Step::UpdateTrust { .. } => "role-trust-updated",
            Step::AttachPolicy { .. } => "role-policy-attached",
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Step::CreateProvider { url, audience } => {
                format!("create the IAM OIDC provider {url} with audience {audience}")
            }
            Step::AddAudience {
                provider_arn,
                audience,
            } => format!("add audience {audience} to {provider_arn}"),
            Step::CreateRole { name, .. } => {
                format!("create role {name} with the planned trust policy")
            }
            Step::UpdateTrust { name, .. } => {
                format!("replace the trust policy of role {name} (diff below)")
            }
            Step::AttachPolicy { role, policy_arn } => {
                format!("attach {policy_arn} to role {role}")
            }
        }
    }
}

/// What IAM holds now, reduced to the steps that would make it match `want`.
pub async fn observe(
    iam: &aws_sdk_iam::Client,
    want: &RoleTrust,
    policy_arns: &[String],
) -> Result<Vec<Step>, AwsError> {
    let mut steps = Vec::new();
    steps.extend(provider_steps(iam, want).await?);
    let role = match iam.get_role().role_name(&want.role_name).send().await {
        Ok(out) => out.role().cloned(),
        Err(e) => {
            let e = AwsError::from_sdk("GetRole", e);
            if e.code() != Some("NoSuchEntity") {
                return Err(e);
            }
            None
        }
    };
    let planned = pretty(&want.policy);
    let Some(role) = role else {
        steps.push(Step::CreateRole {
            name: want.role_name.clone(),
            path: want.role_path.clone(),
            policy: planned,
        });
        steps.extend(policy_arns.iter().map(|p| Step::AttachPolicy {
            role: want.role_name.clone(),
            policy_arn: p.clone(),
        }));
        return Ok(steps);
    };
    if arn_account(role.arn()) != Some(want.account_id.as_str()) {
        return Err(AwsError::Refused(format!(
            "the plan is for account {}, but role {} is in account {}: check the credentials",
            want.account_id,
            role.arn(),
            arn_account(role.arn()).unwrap_or("?")
        )));
    }
    let current = role
        .assume_role_policy_document()
        .map(decode_policy)
        .transpose()
        .map_err(|why| {
            AwsError::Refused(format!(
                "role {}: unreadable trust policy: {why}",
                want.role_name
            ))
        })?;
    if current.as_ref() != Some(&want.policy) {
        let before = current.as_ref().map(pretty).unwrap_or_default();
        steps.push(Step::UpdateTrust {
            name: want.role_name.clone(),
            diff: diff(&before, &planned),
            policy: planned,
        });
    }
    if !policy_arns.is_empty() {
        let attached = iam
            .list_attached_role_policies()
            .role_name(&want.role_name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| AwsError::from_sdk("ListAttachedRolePolicies", e))?;
        for p in policy_arns {
            if !attached.iter().any(|a| a.policy_arn() == Some(p.as_str())) {
                steps.push(Step::AttachPolicy {
                    role: want.role_name.clone(),
                    policy_arn: p.clone(),
                });
            }
        }
    }
    Ok(steps)
}

async fn provider_steps(
    iam: &aws_sdk_iam::Client,
    want: &RoleTrust,
) -> Result<Vec<Step>, AwsError> {
    let host = want.issuer_url.trim_start_matches("https://");
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ListOpenIDConnectProviders", e))?;
    let suffix = format!(":oidc-provider/{host}");
    let found = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|a| a.ends_with(&suffix))
        .map(str::to_string);
    let Some(arn) = found else {
        return Ok(vec![Step::CreateProvider {
            url: want.issuer_url.clone(),
            audience: want.audience.clone(),
        }]);
    };
    if arn != want.provider_arn {
        return Err(AwsError::Refused(format!(
            "the plan trusts {}, but these credentials reach {arn}: plan with --aws-account-id {}",
            want.provider_arn,
            arn_account(&arn).unwrap_or("?")
        )));
    }
    let p = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("GetOpenIDConnectProvider", e))?;
    if p.client_id_list().iter().any(|c| c == &want.audience) {
        return Ok(Vec::new());
    }
    Ok(vec![Step::AddAudience {
        provider_arn: arn,
        audience: want.audience.clone(),
    }])
}

/// Make one change; returns the ARN it concerns (the ledger's evidence).
pub async fn apply_step(iam: &aws_sdk_iam::Client, step: &Step) -> Result<String, AwsError> {
    match step {
        Step::CreateProvider { url, audience } => {
            let out = iam
                .create_open_id_connect_provider()
                .url(url)
                .client_id_list(audience)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateOpenIDConnectProvider", e))?;
            Ok(out
                .open_id_connect_provider_arn()
                .unwrap_or_default()
                .into())
        }
        Step::AddAudience {
            provider_arn,
            audience,
        } => {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(provider_arn)
                .client_id(audience)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("AddClientIDToOpenIDConnectProvider", e))?;
            Ok(provider_arn.clone())
        }
        Step::CreateRole { name, path, policy } => {
            let out = iam
                .create_role()
                .role_name(name)
                .path(path)
                .max_session_duration(3600)
                .assume_role_policy_document(policy)
                .description("Assumed by GitHub Actions through OIDC (created by keysweep)")
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("CreateRole", e))?;
            Ok(out.role().map(|r| r.arn().to_string()).unwrap_or_default())
        }
        Step::UpdateTrust { name, policy, .. } => {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(policy)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("UpdateAssumeRolePolicy", e))?;
            Ok(name.clone())
        }
        Step::AttachPolicy { role, policy_arn } => {
            iam.attach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("AttachRolePolicy", e))?;
            Ok(policy_arn.clone())
        }
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986).
pub fn decode_policy(doc: &str) -> Result<Value, String> {
    let text = if doc.trim_start().starts_with('{') {
        doc.to_string()
    } else {
        percent_encoding::percent_decode_str(doc)
            .decode_utf8()
            .map_err(|e| e.to_string())?
            .into_owned()
    };
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn diff(before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .header("current trust policy", "planned trust policy")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::plan_file::PlanFile;

    fn plan(policy: &str, role: &str, placeholders: &str) -> PlannedRepo {
        let text = format!(
            r#"{{"repositories":[{{"repository":".","slug":"o/r",
            "migrations":[{{"target":"aws","workflow":"w.yml","secrets":["AWS_ACCESS_KEY_ID"],
              "edits":[{{"op":"add-before","value":{{"with":{{"role-to-assume":{role}}}}}}},{{"op":"remove"}}]}}],
            "trust":[{{"target":"aws","file":"aws/trust-policy.json","format":"json","content":{policy}}}],
            "placeholders":[{placeholders}]}}]}}"#,
            policy = serde_json::to_string(policy).unwrap(),
            role = serde_json::to_string(role).unwrap(),
        );
        PlanFile::parse(&text).unwrap().repositories.remove(0)
    }

    fn policy(account: &str) -> String {
        crate::rotate::aws::trust_policy(
            &format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"),
            &["repo:o/r:ref:refs/heads/main".into()],
            false,
        )
        .to_string()
    }

    #[test]
    fn reads_role_provider_and_policy() {
        let r = plan(
            &policy("123456789012"),
            "arn:aws:iam::123456789012:role/ci/deploy",
            "",
        );
        let t = from_plan(&r, "aws").unwrap().unwrap();
        assert_eq!(t.role_name, "deploy");
        assert_eq!(t.role_path, "/ci/");
        assert_eq!(t.account_id, "123456789012");
        assert_eq!(t.issuer_url, "https://token.actions.githubusercontent.com");
        assert_eq!(
            t.policy,
            serde_json::from_str::<Value>(&policy("123456789012")).unwrap()
        );
        assert_eq!(from_plan(&r, "gcp").unwrap(), None);
    }

    #[test]
    fn placeholders_are_refused() {
        let r = plan(
            &policy("<AWS_ACCOUNT_ID>"),
            "arn:aws:iam::<AWS_ACCOUNT_ID>:role/<AWS_ROLE_NAME>",
            r#"{"placeholder":"<AWS_ACCOUNT_ID>","flag":"--aws-account-id"},{"placeholder":"<AWS_ROLE_NAME>","flag":"--aws-role-name"}"#,
        );
        let e = from_plan(&r, "aws").unwrap_err();
        assert_eq!(
            e.to_string(),
            "o/r: the plan still has placeholders: <AWS_ACCOUNT_ID> (--aws-account-id), <AWS_ROLE_NAME> (--aws-role-name); plan again with those flags"
        );
    }

    #[test]
    fn url_encoded_policy_decodes() {
        let p = policy("123456789012");
        let enc = percent_encoding::utf8_percent_encode(&p, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        assert_eq!(decode_policy(&enc).unwrap(), decode_policy(&p).unwrap());
        assert!(decode_policy("%7Bnot").is_err());
    }
}
