//! GitLab CI: static AWS keys in a job's (or template's) `variables:` -> `id_tokens:` and the
//! AWS SDKs' own web-identity login (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`).

use crate::rotate::target::Blocker;
use yaml_serde::Value;

use super::super::aws::{trust_policy_for, AUDIENCE};
use super::super::edit::replace_key;
use super::super::facts::Lookup;
use super::super::rewrite::{k, s, EditOp};
use super::super::target::Target;
use super::super::target::{Site, SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::super::trust::header;
use super::super::trust::{hcl_str, sh};
use super::{container, find_job, id_token_edit, issuer, plan_subjects};
use crate::pipeline::{CiSystem, PipelineFinding};

pub struct GitlabAws;

const TOKEN_VAR: &str = "AWS_ID_TOKEN";
const TOKEN_FILE: &str = "/tmp/aws-web-identity-token-$CI_JOB_ID";
/// Written readable by the job's user only (a shell runner's `/tmp` is shared).
const WRITE_TOKEN: &str =
    "(umask 077 && echo \"$AWS_ID_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\")";

impl Target for GitlabAws {
    fn id(&self) -> &'static str {
        "gitlab-aws"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::AwsStaticKeys && f.ci == CiSystem::GitlabCi
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        for (f, s) in u.findings.iter().zip(&u.sites) {
            if s.kind != SiteKind::JobEnv {
                return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                    "`{}`: {}; keysweep rewrites AWS keys bound in a job's or template's `variables:` only",
                    f.secret,
                    match s.kind {
                        SiteKind::Run => "a script line reads it (`aws configure set`)",
                        SiteKind::WorkflowEnv => "it is bound in the global `variables:`",
                        _ => "it is bound elsewhere",
                    }
                )));
            }
        }
        let mut p = UsePlan::default();
        let mut containers: Vec<String> = u.sites.iter().filter_map(|s| s.job.clone()).collect();
        containers.sort();
        containers.dedup();
        let arn = super::super::aws::role_arn(look);
        for c in &containers {
            let body = container(u, c)?;
            let sites: Vec<&Site> = u
                .sites
                .iter()
                .filter(|s| s.job.as_deref() == Some(c))
                .collect();
            let first = sites
                .iter()
                .find(|s| s.key == "AWS_ACCESS_KEY_ID")
                .or(sites.first())
                .copied()
                .ok_or_else(|| Unmigratable::new(Blocker::Missing, "no binding"))?;
            for op in replace_key(
                &first.path,
                vec![
                    ("AWS_ROLE_ARN".into(), s(arn.clone())),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE".into(), s(TOKEN_FILE)),
                ],
            ) {
                let d = match &op {
                    EditOp::Remove { .. } => format!("`{c}`: remove `{}`", first.key),
                    EditOp::AddBefore { key, .. } => {
                        format!("`{c}`: `{key}` for the AWS SDKs' web-identity login")
                    }
                    _ => String::new(),
                };
                p.edits.push((d, op));
            }
            for s2 in sites.iter().filter(|s2| s2.key != first.key) {
                p.edits.push((
                    format!("`{c}`: remove `{}`", s2.key),
                    EditOp::Remove {
                        path: s2.path.clone(),
                    },
                ));
            }
            let cp = vec![k(c)];
            if let Some(e) = id_token_edit(c, body, TOKEN_VAR, AUDIENCE, "an OIDC token for AWS")? {
                p.edits.push(e);
            }
            // the token must be in the file before anything reads AWS credentials
            match body.get("before_script") {
                // a job half-way there writes the token already
                Some(Value::Sequence(items))
                    if items.iter().any(|i| {
                        i.as_str()
                            .is_some_and(|l| l.contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
                    }) => {}
                Some(Value::Sequence(_)) => {
                    let mut bp = cp.clone();
                    bp.push(k("before_script"));
                    p.edits.push((
                        format!("`{c}`: write the token to AWS_WEB_IDENTITY_TOKEN_FILE first"),
                        EditOp::InsertItem {
                            path: bp,
                            index: 0,
                            value: s(WRITE_TOKEN),
                        },
                    ));
                }
                Some(_) => {
                    return Err(Unmigratable::new(
                        Blocker::Missing,
                        format!("`{c}` has a `before_script:` that is not a list"),
                    ))
                }
                None => {
                    // a job that extends this template and has its own before_script replaces it
                    for f in &u.findings {
                        if let Some(j) = f.job.as_deref().filter(|j| j != c) {
                            if find_job(u, j).is_some_and(|jv| jv.get("before_script").is_some()) {
                                return Err(Unmigratable::new(Blocker::Missing, format!(
                                    "job `{j}` has its own `before_script:`, which replaces `{c}`'s; add the token line there by hand"
                                )));
                            }
                        }
                    }
                    let value = Value::Sequence(vec![s(WRITE_TOKEN)]);
                    p.edits.push((
                        format!("`{c}`: write the token to AWS_WEB_IDENTITY_TOKEN_FILE first"),
                        match body.get("script") {
                            Some(_) => EditOp::AddBefore {
                                path: cp.clone(),
                                before: "script".into(),
                                key: "before_script".into(),
                                value,
                            },
                            None => EditOp::Add {
                                path: cp.clone(),
                                key: "before_script".into(),
                                value,
                            },
                        },
                    ));
                }
            }
        }
        plan_subjects(u, look, &mut p);
        p.notes.push(
            "the AWS CLI and SDKs (Terraform too) exchange the token themselves through AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        );
        p.manual.push(format!(
            "Give role `{}` the permissions the old IAM user had, least privilege first; then remove the CI/CD variables from the project settings.",
            look.get("aws_role_name")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let (url, host) = issuer(look);
        let account = look.get("aws_account_id");
        let role = look.get("aws_role_name");
        let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{host}");
        let native = trust_policy_for(&host, &provider_arn, &t.subjects, t.pattern);
        let marker = "__KEYSWEEP_PROVIDER_ARN__";
        let tf_policy =
            serde_json::to_string_pretty(&trust_policy_for(&host, marker, &t.subjects, t.pattern))
                .unwrap_or_default()
                .replace(
                    &format!("\"{marker}\""),
                    "aws_iam_openid_connect_provider.gitlab.arn",
                )
                .replace('\n', "\n  ");
        let tf = format!(
            "{}\
# The GitLab instance's OIDC provider: one per AWS account and instance. If it exists, import it:
#   terraform import aws_iam_openid_connect_provider.gitlab {provider_arn}
resource \"aws_iam_openid_connect_provider\" \"gitlab\" {{
  url            = {url_s}
  client_id_list = [{aud}]
}}

# Assumed by GitLab CI jobs through id_tokens; trusted subjects only.
resource \"aws_iam_role\" \"gitlab_ci\" {{
  name                 = {role_s}
  max_session_duration = 3600
  assume_role_policy = jsonencode({tf_policy})
}}
",
            header("#", &t.repo_slug, "aws, GitLab CI"),
            url_s = hcl_str(&url),
            aud = hcl_str(AUDIENCE),
            role_s = hcl_str(&role),
        );
        let cmds = format!(
            "#!/bin/sh\n{}set -eu\ncd \"$(dirname \"$0\")\"\n# Skip the first command if the account has this GitLab instance's OIDC provider already.\naws iam create-open-id-connect-provider --url {} --client-id-list {}\naws iam create-role --role-name {} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json\n",
            header("#", &t.repo_slug, "aws, GitLab CI"),
            sh(&url),
            sh(AUDIENCE),
            sh(&role),
        );
        vec![
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/main.tf".into(),
                format: "terraform",
                content: tf,
            },
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/trust-policy.json".into(),
                format: "json",
                content: serde_json::to_string_pretty(&native).unwrap_or_default() + "\n",
            },
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/commands.sh".into(),
                format: "shell",
                content: cmds,
            },
        ]
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC pipeline: delete the CI/CD variable `{secret}`; deactivate the IAM user's access key, watch for failures, then delete it"
        )
    }
}
