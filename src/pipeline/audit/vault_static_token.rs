//! `vault-static-token`: a Vault token (or AppRole secret id) where JWT auth would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct VaultStaticToken;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["vault"],
        &["terraform"],
        &["consul-template"],
        &["envconsul"],
    ],
    actions: &["hashicorp/vault-action"],
};

fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "hashicorp/vault-action with `method: jwt`, `role`, and `jwtGithubAudience` equal to the role's bound_audiences, and `permissions: id-token: write`",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "`id_tokens: VAULT_ID_TOKEN: {aud: <vault url>}` with `secrets:` (or `vault write auth/jwt/login role=... jwt=$VAULT_ID_TOKEN`)",
        ),
    }
}

impl Audit for VaultStaticToken {
    fn id(&self) -> AuditId {
        AuditId::VaultStaticToken
    }
    fn title(&self) -> &'static str {
        "Static Vault credential used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(
            ctx,
            &["hashicorp/vault-action"],
            &["token", "secretId", "password"],
        );
        hits.extend(env_hits(ctx, &["VAULT_TOKEN"], &READERS));
        hits.extend(
            command_hits(ctx, |w, _| {
                if seq(w, &["vault", "login"])
                    && !w
                        .iter()
                        .any(|x| x.contains("method=jwt") || x.contains("method=oidc"))
                {
                    Some(CmdMatch::new("vault login"))
                } else if seq(w, &["vault", "write"])
                    && w.iter().any(|x| x.contains("approle/login"))
                {
                    Some(CmdMatch::new("vault write auth/approle/login"))
                } else {
                    None
                }
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration(ctx);
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Vault, h, &m))
            .collect()
    }
}
