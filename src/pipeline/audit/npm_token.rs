//! `npm-token`: an npm token where trusted publishing (or the job token) would do.

use super::AuditId;

use super::util::{
    command_hits, env_hits, finding, input_hits, self_hosted, CmdMatch, Hit, Migration, Readers,
};
use super::Audit;
use crate::pipeline::model::{StepKind, WorkflowContext};
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct NpmToken;

const PUBLISH: &[&[&str]] = &[
    &["npm", "publish"],
    &["pnpm", "publish"],
    &["yarn", "publish"],
    &["yarn", "npm", "publish"],
    &["lerna", "publish"],
    &["changeset", "publish"],
    &["semantic-release"],
    &["release-it"],
    &["np"],
];
const PUBLISH_ACTIONS: &[&str] = &[
    "changesets/action",
    "js-devtools/npm-publish",
    "cycjimmy/semantic-release-action",
    "codfish/semantic-release-action",
];
const READERS: Readers<'static> = Readers {
    commands: &[
        &["npm", "publish"],
        &["pnpm", "publish"],
        &["yarn", "publish"],
        &["yarn", "npm", "publish"],
        &["lerna", "publish"],
        &["changeset", "publish"],
        &["semantic-release"],
        &["release-it"],
        &["npm"],
        &["pnpm"],
        &["yarn"],
        &["npx"],
    ],
    actions: PUBLISH_ACTIONS,
};

/// Does the job publish (rather than only install private packages)?
fn job_publishes(ctx: &WorkflowContext, job: usize) -> bool {
    ctx.jobs[job].steps.iter().any(|s| match &s.kind {
        StepKind::Uses { slug, .. } => PUBLISH_ACTIONS.iter().any(|a| slug == a),
        StepKind::Run { parts } => parts.iter().any(|p| {
            shell::commands(&p.text).iter().any(|c| {
                PUBLISH
                    .iter()
                    .any(|seq| shell::has_sequence(&shell::words(&c.text), seq))
            })
        }),
    })
}

/// The registry `actions/setup-node` points at in this job.
fn registry(ctx: &WorkflowContext, job: usize) -> Option<String> {
    ctx.jobs[job].steps.iter().find_map(|s| {
        (s.uses_slug() == Some("actions/setup-node"))
            .then(|| s.input("registry-url").map(|b| b.value.clone()))
            .flatten()
    })
}

fn classify(ctx: &WorkflowContext, hit: &Hit) -> (Provider, Migration) {
    let Some(job) = hit.job else {
        return (Provider::Npm, Migration::oidc(publish_replacement(ctx)));
    };
    if registry(ctx, job).is_some_and(|r| r.contains("npm.pkg.github.com")) {
        return (
            Provider::Github,
            Migration::oidc("the job's GITHUB_TOKEN with `permissions: packages: write` (GitHub Packages accepts it)"),
        );
    }
    if !job_publishes(ctx, job) {
        return (
            Provider::Npm,
            Migration::none("a read-only granular access token limited to the needed packages, rotated regularly (trusted publishing covers publishing only)"),
        );
    }
    let m = Migration::oidc(publish_replacement(ctx));
    if self_hosted(ctx, hit) {
        (Provider::Npm, m.blocked("npm trusted publishing requires cloud-hosted runners; this job runs on a self-hosted runner"))
    } else {
        (Provider::Npm, m)
    }
}

fn publish_replacement(ctx: &WorkflowContext) -> &'static str {
    match ctx.ci {
        CiSystem::GithubActions => "an npm trusted publisher (owner, repository, workflow file, environment), npm >= 11.5.1 and `permissions: id-token: write`, with no NODE_AUTH_TOKEN",
        CiSystem::GitlabCi => "an npm trusted publisher for this GitLab project and `id_tokens: NPM_ID_TOKEN: {aud: npm:registry.npmjs.org}`, npm >= 11.5.1",
    }
}

impl Audit for NpmToken {
    fn id(&self) -> AuditId {
        AuditId::NpmToken
    }
    fn title(&self) -> &'static str {
        "npm token used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(ctx, &["js-devtools/npm-publish"], &["token"]);
        hits.extend(env_hits(
            ctx,
            &[
                "NODE_AUTH_TOKEN",
                "NPM_TOKEN",
                "NPM_AUTH_TOKEN",
                "YARN_NPM_AUTH_TOKEN",
            ],
            &READERS,
        ));
        hits.extend(
            command_hits(ctx, |w, text| {
                (text.contains("_authToken")
                    || (shell::has_sequence(w, &["npm", "config", "set"])
                        && text.contains("_auth")))
                .then(|| CmdMatch::new("write .npmrc _authToken"))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        hits.iter()
            .map(|h| {
                let (p, m) = classify(ctx, h);
                finding(ctx, self.id(), self.title(), p, h, &m)
            })
            .collect()
    }
}
