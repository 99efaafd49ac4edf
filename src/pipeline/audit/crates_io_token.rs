//! `crates-io-token`: a crates.io API token where trusted publishing would do.

use super::AuditId;

use super::util::{
    command_hits, env_hits, finding, input_hits, seq, CmdMatch, Hit, Migration, Readers,
};
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

/// The registry a hit publishes to when it is not crates.io: the `CARGO_REGISTRIES_<NAME>_TOKEN`
/// variable's name, or `--registry NAME` / `--index URL` on the job's `cargo publish`.
fn other_registry(ctx: &WorkflowContext, hit: &Hit) -> Option<String> {
    if let Some(name) = hit
        .consumer
        .env_var
        .as_deref()
        .and_then(|v| v.strip_prefix("CARGO_REGISTRIES_"))
        .and_then(|v| v.strip_suffix("_TOKEN"))
    {
        return (name != "CRATES_IO").then(|| name.to_ascii_lowercase().replace('_', "-"));
    }
    let job = &ctx.jobs[hit.job?];
    job.steps.iter().find_map(|s| {
        s.script_parts().iter().find_map(|p| {
            shell::commands(&p.text).iter().find_map(|c| {
                let w = shell::words(&c.text);
                if !READERS.commands.iter().any(|r| seq(&w, r)) {
                    return None;
                }
                shell::flag_value(&w, &["--registry", "--index"]).filter(|r| {
                    r != "crates-io" && !r.contains("github.com/rust-lang/crates.io-index")
                })
            })
        })
    })
}

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
            &["CARGO_REGISTRY_TOKEN", "CARGO_REGISTRIES_*_TOKEN"],
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
            .map(|h| {
                let m = match other_registry(ctx, h) {
                    Some(r) => Migration::none(format!(
                        "a token scoped to the `{r}` registry, rotated regularly (trusted publishing exists for crates.io only)"
                    )),
                    None => m.clone(),
                };
                finding(ctx, self.id(), self.title(), Provider::CratesIo, h, &m)
            })
            .collect()
    }
}
