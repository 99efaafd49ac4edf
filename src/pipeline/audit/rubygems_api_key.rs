//! `rubygems-api-key`: a RubyGems.org API key where trusted publishing would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct RubygemsApiKey;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["gem", "push"],
        &["rake", "release"],
        &["bundle", "exec", "rake", "release"],
    ],
    actions: &[
        "rubygems/release-gem",
        "cadwallion/publish-rubygems-action",
        "dawidd6/action-publish-gem",
    ],
};

fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "a RubyGems.org trusted publisher and `rubygems/release-gem` (or `rubygems/configure-rubygems-credentials`) with `permissions: id-token: write`",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "a RubyGems.org trusted publisher for this GitLab project and an `id_tokens:` token exchanged for a short-lived API key",
        ),
    }
}

impl Audit for RubygemsApiKey {
    fn id(&self) -> AuditId {
        AuditId::RubygemsApiKey
    }
    fn title(&self) -> &'static str {
        "RubyGems API key used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = env_hits(
            ctx,
            &[
                "GEM_HOST_API_KEY",
                "RUBYGEMS_API_KEY",
                "RUBYGEMS_AUTH_TOKEN",
            ],
            &READERS,
        );
        // writing ~/.gem/credentials by hand
        hits.extend(
            command_hits(ctx, |_, text| {
                (text.contains("rubygems_api_key") || text.contains(".gem/credentials"))
                    .then(|| super::util::CmdMatch::new("write ~/.gem/credentials"))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration(ctx);
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Rubygems, h, &m))
            .collect()
    }
}
