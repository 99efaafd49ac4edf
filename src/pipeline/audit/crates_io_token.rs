//! `crates-io-token`: a crates.io API token where trusted publishing would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct CratesIoToken;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["cargo", "publish"],
        &["cargo", "release"],
        &["cargo", "workspaces", "publish"],
        &["cargo", "ws", "publish"],
        &["cargo-release"],
        &["release-plz"],
        &["cargo", "smart-release"],
    ],
    actions: &[
        "release-plz/action",
        "katyo/publish-crates",
        "ryohidaka/action-cargo-publish",
    ],
};

fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "a crates.io trusted publisher and a `rust-lang/crates-io-auth-action` step (`CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}`) with `permissions: id-token: write`; the crate must already exist on crates.io",
        ),
        CiSystem::GitlabCi => Migration::none(
            "a crate-scoped token with only `publish-update`, rotated regularly (crates.io trusted publishing supports GitHub Actions only)",
        ),
    }
}

impl Audit for CratesIoToken {
    fn id(&self) -> AuditId {
        AuditId::CratesIoToken
    }
    fn title(&self) -> &'static str {
        "crates.io API token used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(
            ctx,
            &["katyo/publish-crates", "ryohidaka/action-cargo-publish"],
            &["registry-token", "token"],
        );
        hits.extend(env_hits(
            ctx,
            &["CARGO_REGISTRY_TOKEN", "CARGO_REGISTRIES_CRATES_IO_TOKEN"],
            &READERS,
        ));
        hits.extend(
            command_hits(ctx, |w, _| {
                if seq(w, &["cargo", "publish"]) {
                    shell::flag_value(w, &["--token"])
                        .map(|t| CmdMatch::new("cargo publish --token").secret(Some(t)))
                } else if seq(w, &["cargo", "login"]) {
                    Some(CmdMatch::new("cargo login"))
                } else {
                    None
                }
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration(ctx);
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::CratesIo, h, &m))
            .collect()
    }
}
