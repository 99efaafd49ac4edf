//! AWS: static IAM user keys -> `role-to-assume` through GitHub's OIDC provider.

use serde_json::json;
use yaml_serde::Value;

use super::edit::{
    first_reader, only_sites, pinned_noted, remove_bindings, replace_key, step_path, BINDINGS,
};
use super::facts::Lookup;
use super::rewrite::{k, map, s, EditOp};
use super::target::Target;
use super::target::{
    Site, SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan, Workflow,
};
use super::trust::{hcl_str, sh};
use super::trust::{header, GITHUB_ISSUER, GITHUB_ISSUER_HOST};
use crate::pipeline::PipelineFinding;

pub struct Aws;

const ACTION: &str = "aws-actions/configure-aws-credentials";
const KEY_INPUTS: &[&str] = &[
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
];
pub const AUDIENCE: &str = "sts.amazonaws.com";

pub fn role_arn(look: &mut Lookup) -> String {
    format!(
        "arn:aws:iam::{}:role/{}",
        look.get("aws_account_id"),
        look.get("aws_role_name")
    )
}

/// The role trust policy: web identity from GitHub's provider, exact audience, and the
/// subjects (exact with `StringEquals`; all with `StringLike` only when a pattern was asked
/// for). Never without a subject condition, never `ForAllValues`.
pub fn trust_policy(provider_arn: &str, subjects: &[String], pattern: bool) -> serde_json::Value {
    trust_policy_for(GITHUB_ISSUER_HOST, provider_arn, subjects, pattern)
}

/// [`trust_policy`] for any issuer host (`gitlab.com` for GitLab CI).
pub fn trust_policy_for(
    host: &str,
    provider_arn: &str,
    subjects: &[String],
    pattern: bool,
) -> serde_json::Value {
    let sub = if subjects.len() == 1 {
        json!(subjects[0])
    } else {
        json!(subjects)
    };
    let aud_key = format!("{host}:aud");
    let sub_key = format!("{host}:sub");
    let condition = if pattern {
        json!({
            "StringEquals": { aud_key: AUDIENCE },
            "StringLike": { sub_key: sub },
        })
    } else {
        json!({ "StringEquals": { aud_key: AUDIENCE, sub_key: sub } })
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": if host == GITHUB_ISSUER_HOST { "GitHubActionsOidc" } else { "GitLabCiOidc" },
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

fn region(wf: &Workflow, job: &str, step: Option<usize>, look: &mut Lookup) -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|n| wf.literal_env(job, step, n))
        .unwrap_or_else(|| look.get("aws_region"))
}

/// The `role-to-assume` of a configure-aws-credentials step.
fn assumed_role(step: &Value) -> Option<String> {
    (Workflow::uses_slug(step).as_deref() == Some(ACTION))
        .then(|| {
            step.get("with")?
                .get("role-to-assume")?
                .as_str()
                .map(str::to_string)
        })
        .flatten()
}

/// The steps of `job` that assume a role without keys of their own (they take credentials
/// from the environment, or through OIDC once the job may mint tokens).
fn assuming_steps(wf: &Workflow, job: &str) -> Vec<(usize, String)> {
    wf.steps(job)
        .iter()
        .enumerate()
        .filter(|(_, st)| {
            !st.get("with")
                .is_some_and(|w| KEY_INPUTS.iter().any(|key| w.get(*key).is_some()))
        })
        .filter_map(|(i, st)| Some((i, assumed_role(st)?)))
        .collect()
}

/// The manual step for an existing role whose trust changes with the migration.
fn trust_change(role: &str, job: &str, step: usize, what: &str, or: &str) -> String {
    format!(
        "Role `{role}` (job `{job}` step {}) {what}: add GitHub's OIDC provider to its trust policy with the subjects in aws/trust-policy.json{or}.",
        step + 1
    )
}

impl Target for Aws {
    fn id(&self) -> &'static str {
        "aws"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::AwsStaticKeys
            && f.ci == crate::pipeline::CiSystem::GithubActions
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(u, BINDINGS, "keysweep does not rewrite scripts")?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        if u.jobs.is_empty() {
            return Err(Unmigratable::new(
                "no job reads the keys recognisably; remove them by hand",
            ));
        }
        let arn = role_arn(look);
        // action inputs: swap the keys for the role on the same step
        let with_sites: Vec<&Site> = u
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::With)
            .collect();
        let mut steps: Vec<(String, usize)> = with_sites
            .iter()
            .filter_map(|s| Some((s.job.clone()?, s.step?)))
            .collect();
        steps.sort();
        steps.dedup();
        for (job, i) in &steps {
            let st =
                u.wf.step(job, *i)
                    .ok_or_else(|| Unmigratable::new("step not found"))?;
            if Workflow::uses_slug(st).as_deref() != Some(ACTION) {
                return Err(Unmigratable::new(format!(
                    "the keys are inputs of `{}`, not of {ACTION}",
                    st.get("uses").and_then(Value::as_str).unwrap_or("?")
                )));
            }
            let with = st.get("with").and_then(Value::as_mapping);
            let wp = {
                let mut v = step_path(job, *i);
                v.push(k("with"));
                v
            };
            let present: Vec<&str> = KEY_INPUTS
                .iter()
                .copied()
                .filter(|key| with.is_some_and(|w| w.contains_key(*key)))
                .collect();
            if let Some(role) = assumed_role(st) {
                // the keys only authenticated the assumption of this role: assume it through
                // OIDC instead, and later steps keep the identity they had
                for key in &present {
                    let mut path = wp.clone();
                    path.push(k(key));
                    p.edits.push((
                        format!("job `{job}` step {}: remove `{key}` (the step assumes `{role}` through OIDC instead)", i + 1),
                        EditOp::Remove { path },
                    ));
                }
                p.manual.push(trust_change(&role, job, *i, "was assumed with the IAM user's keys; the step now assumes it through OIDC directly", ", then remove the IAM user from it"));
                continue;
            }
            for (n, key) in present.iter().enumerate() {
                let mut path = wp.clone();
                path.push(k(key));
                if n == 0 {
                    for op in replace_key(&path, vec![("role-to-assume".into(), s(arn.clone()))]) {
                        let d = match &op {
                            EditOp::Remove { .. } => format!("job `{job}` step {}: remove `{key}`", i + 1),
                            _ => format!("job `{job}` step {}: assume the role through OIDC (`role-to-assume`, in place of the key)", i + 1),
                        };
                        p.edits.push((d, op));
                    }
                } else {
                    p.edits.push((
                        format!("job `{job}` step {}: remove `{key}`", i + 1),
                        EditOp::Remove { path },
                    ));
                }
            }
        }
        // environment variables: drop them, and configure credentials before the first reader
        let env_sites: Vec<&Site> = u
            .sites
            .iter()
            .filter(|s| s.kind != SiteKind::With)
            .collect();
        if !env_sites.is_empty() {
            p.edits.extend(remove_bindings(u.wf, &env_sites));
            for job in &u.jobs {
                if steps.iter().any(|(j, _)| j == job) {
                    continue;
                }
                let at = first_reader(u, job);
                let chained = assuming_steps(u.wf, job);
                if let Some((_, role)) = chained.iter().find(|(i, _)| *i == at) {
                    // the first reader assumes a role with the keys from `env`: without them
                    // it assumes the same role through OIDC, and no step is needed before it
                    p.manual.push(trust_change(role, job, at, "was assumed with the IAM user's keys from `env`; the step now assumes it through OIDC directly", ", then remove the IAM user from it"));
                    continue;
                }
                for (i, role) in chained.iter().filter(|(i, _)| *i > at) {
                    let new_role = look.get("aws_role_name");
                    p.manual.push(trust_change(role, job, *i, "is assumed after the new OIDC step, and now that the job may mint tokens the step assumes it through OIDC directly", &format!(" (or add `role-chaining: true` to that step and let the role trust `{new_role}` in place of the IAM user)")));
                }
                let mut with = vec![("role-to-assume", s(arn.clone()))];
                with.push(("aws-region", s(region(u.wf, job, Some(at), look))));
                let step = map([
                    ("name", s("Configure AWS credentials (OIDC)")),
                    ("uses", s(pinned_noted(u.wf, ACTION, &mut p))),
                    ("with", map(with)),
                ]);
                p.edits.push(super::edit::insert_step(
                    job,
                    at,
                    format!(
                        "job `{job}`: configure AWS credentials through OIDC before step {}",
                        at + 1
                    ),
                    step,
                ));
            }
            p.notes.push(
                "configure-aws-credentials exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (short-lived) to the later steps of the job".into(),
            );
        }
        p.manual.push(format!(
            "Give role `{}` the permissions the old IAM user had (`aws iam list-attached-user-policies`, `aws iam list-user-policies`), least privilege first.",
            look.get("aws_role_name")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let account = look.get("aws_account_id");
        let role = look.get("aws_role_name");
        let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{GITHUB_ISSUER_HOST}");
        let native = trust_policy(&provider_arn, &t.subjects, t.pattern);
        let marker = "__KEYSWEEP_PROVIDER_ARN__";
        let tf_policy = serde_json::to_string_pretty(&trust_policy(marker, &t.subjects, t.pattern))
            .unwrap_or_default()
            .replace(
                &format!("\"{marker}\""),
                "aws_iam_openid_connect_provider.github_actions.arn",
            );
        let tf_policy = tf_policy.replace('\n', "\n  ");
        let tf = format!(
            "{}\
# GitHub's OIDC provider: one per AWS account. If it exists already, import it:
#   terraform import aws_iam_openid_connect_provider.github_actions {provider_arn}
resource \"aws_iam_openid_connect_provider\" \"github_actions\" {{
  url            = {issuer}
  client_id_list = [{aud}]
}}

# Assumed by {repo} through OIDC; trusted subjects only.
resource \"aws_iam_role\" \"github_actions\" {{
  name                 = {role}
  max_session_duration = 3600
  assume_role_policy = jsonencode({tf_policy})
}}
",
            header("#", &t.repo_slug, "aws"),
            issuer = hcl_str(GITHUB_ISSUER),
            aud = hcl_str(AUDIENCE),
            repo = t.repo_slug,
            role = hcl_str(&role),
        );
        let cmds = format!(
            "#!/bin/sh\n{}set -eu\ncd \"$(dirname \"$0\")\"\n# Skip the first command if the account has GitHub's OIDC provider already.\naws iam create-open-id-connect-provider --url {} --client-id-list {}\naws iam create-role --role-name {} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json\n",
            header("#", &t.repo_slug, "aws"),
            sh(GITHUB_ISSUER),
            sh(AUDIENCE),
            sh(&role),
        );
        vec![
            TrustArtifact {
                target: "aws",
                file: "aws/main.tf".into(),
                format: "terraform",
                content: tf,
            },
            TrustArtifact {
                target: "aws",
                file: "aws/trust-policy.json".into(),
                format: "json",
                content: serde_json::to_string_pretty(&native).unwrap_or_default() + "\n",
            },
            TrustArtifact {
                target: "aws",
                file: "aws/commands.sh".into(),
                format: "shell",
                content: cmds,
            },
        ]
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC run: delete the repository secret `{secret}`; deactivate the IAM user's access key (`aws iam update-access-key --status Inactive`), watch for failures, then delete it (`aws iam delete-access-key`)"
        )
    }
}
