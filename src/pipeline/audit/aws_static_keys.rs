//! `aws-static-keys`: an IAM user's access key where an OIDC role would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct AwsStaticKeys;

pub(crate) const AWS_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

pub(crate) const AWS_READERS: Readers<'static> = Readers {
    commands: &[
        &["aws"],
        &["terraform"],
        &["terragrunt"],
        &["tofu"],
        &["sam"],
        &["cdk"],
        &["serverless"],
        &["sls"],
        &["pulumi"],
        &["eksctl"],
        &["copilot"],
        &["s3cmd"],
        &["packer"],
    ],
    actions: &[
        "aws-actions",
        "pulumi/actions",
        "serverless/github-action",
        "jakejarvis/s3-sync-action",
    ],
};

pub(crate) fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "aws-actions/configure-aws-credentials with `role-to-assume` (GitHub OIDC, audience sts.amazonaws.com) and `permissions: id-token: write`",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "`id_tokens:` (aud sts.amazonaws.com) and `aws sts assume-role-with-web-identity` (or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)",
        ),
    }
}

impl Audit for AwsStaticKeys {
    fn id(&self) -> AuditId {
        AuditId::AwsStaticKeys
    }
    fn title(&self) -> &'static str {
        "Static AWS access key used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(
            ctx,
            &["aws-actions/configure-aws-credentials"],
            &[
                "aws-access-key-id",
                "aws-secret-access-key",
                "aws-session-token",
            ],
        );
        hits.extend(env_hits(ctx, AWS_ENV, &AWS_READERS));
        hits.extend(
            command_hits(ctx, |w, text| {
                (seq(w, &["aws", "configure", "set"])
                    && (text.contains("aws_access_key_id")
                        || text.contains("aws_secret_access_key")
                        || text.contains("aws_session_token")))
                .then(|| CmdMatch::new("aws configure set"))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration(ctx);
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Aws, h, &m))
            .collect()
    }
}
