//! `azure-client-secret`: a service principal's client secret (or a publish profile) where a
//! federated identity credential would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct AzureClientSecret;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["terraform"],
        &["terragrunt"],
        &["tofu"],
        &["az"],
        &["pulumi"],
        &["packer"],
    ],
    actions: &["azure", "pulumi/actions"],
};

pub(crate) fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "azure/login with `client-id`, `tenant-id`, `subscription-id` (as vars, not secrets) via OIDC and `permissions: id-token: write`; Terraform: ARM_USE_OIDC=true",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "`id_tokens:` (aud api://AzureADTokenExchange) and `az login --service-principal --federated-token`; Terraform: ARM_USE_OIDC=true with the token as ARM_OIDC_TOKEN",
        ),
    }
}

impl Audit for AzureClientSecret {
    fn id(&self) -> AuditId {
        AuditId::AzureClientSecret
    }
    fn title(&self) -> &'static str {
        "Azure client secret used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        // `creds` (the service principal's JSON with its secret) on any action that takes it
        let mut hits = input_hits(
            ctx,
            &[
                "azure/login",
                "azure/aks-set-context",
                "azure/k8s-set-context",
            ],
            &["creds", "client-secret"],
        );
        let mut profiles = input_hits(
            ctx,
            &["azure/webapps-deploy", "azure/functions-action"],
            &["publish-profile"],
        );
        hits.extend(env_hits(
            ctx,
            &[
                "ARM_CLIENT_SECRET",
                "AZURE_CLIENT_SECRET",
                "AZURE_CREDENTIALS",
            ],
            &READERS,
        ));
        hits.extend(
            command_hits(ctx, |w, _| {
                let sp = w
                    .iter()
                    .any(|x| x == "--service-principal" || x == "-ServicePrincipal");
                // `--federated-token` is the OIDC login; ids (`-u`, `--tenant`) are not secrets
                let oidc = w
                    .iter()
                    .any(|x| x == "--federated-token" || x.starts_with("--federated-token="));
                if !(seq(w, &["az", "login"]) && sp) || oidc {
                    return None;
                }
                let secret = shell::flag_value(
                    w,
                    &[
                        "-p",
                        "--password",
                        "--secret",
                        "--client-secret",
                        "--certificate",
                    ],
                )?;
                Some(CmdMatch::new("az login --service-principal").secret(Some(secret)))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration(ctx);
        let mut out: Vec<PipelineFinding> = hits
            .iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Azure, h, &m))
            .collect();
        let pm = Migration::oidc(
            "azure/login via OIDC (client-id, tenant-id, subscription-id) before the deploy step, and no `publish-profile`",
        );
        out.extend(profiles.drain(..).map(|h| {
            finding(
                ctx,
                self.id(),
                "Azure publish profile used by CI",
                Provider::Azure,
                &h,
                &pm,
            )
        }));
        out
    }
}
