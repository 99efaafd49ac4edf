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
    ctx.jobs[job]
        .steps
        .iter()
        .any(|s| Publisher::of_step(ctx, s).is_some())
}

/// The registry the job publishes to or installs from: a `--registry` flag on a command,
/// `NPM_CONFIG_REGISTRY`, or the `registry-url` of `actions/setup-node`.
fn registry(ctx: &WorkflowContext, job: usize) -> Option<String> {
    let j = &ctx.jobs[job];
    let flag = j.steps.iter().find_map(|s| {
        s.script_parts().iter().find_map(|p| {
            shell::commands(&p.text).iter().find_map(|c| {
                let w = shell::words(&c.text);
                READERS
                    .commands
                    .iter()
                    .any(|seq| shell::has_sequence(&w, seq))
                    .then(|| shell::flag_value(&w, &["--registry"]))
                    .flatten()
            })
        })
    });
    let env = || {
        j.steps
            .iter()
            .flat_map(|s| s.env.iter())
            .chain(j.env.iter())
            .chain(ctx.env.iter())
            .find(|b| b.name.eq_ignore_ascii_case("NPM_CONFIG_REGISTRY") && b.refs.is_empty())
            .map(|b| b.value.clone())
    };
    let setup = || {
        j.steps.iter().find_map(|s| {
            (s.uses_slug() == Some("actions/setup-node"))
                .then(|| s.input("registry-url").map(|b| b.value.clone()))
                .flatten()
        })
    };
    flag.or_else(env).or_else(setup)
}

/// A registry other than npmjs.org and GitHub Packages: trusted publishing does not reach it.
fn private_registry(url: &str) -> bool {
    let u = url.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    !u.is_empty()
        && !u.contains("registry.npmjs.org")
        && !u.contains("registry.yarnpkg.com")
        && !u.contains("npm.pkg.github.com")
        && !u.starts_with("${")
        && !u.starts_with('$')
}

/// Who performs the publish, as far as the workflow shows. Trusted publishing works only
/// through clients that do npm's OIDC exchange, each from its own release on.
#[derive(Debug, Clone, PartialEq)]
enum Publisher {
    /// `npm publish`, and tools that run it (lerna, np, release-it, `changeset publish`).
    NpmCli,
    /// `pnpm publish` hands the upload to the npm CLI.
    Pnpm,
    /// Yarn 1's `yarn publish` has its own registry client, without OIDC.
    YarnClassic,
    /// `yarn npm publish` (Yarn 2+).
    YarnBerry,
    /// semantic-release, as a command or an action.
    SemanticRelease,
    /// `changesets/action`, with the release its reference or version comment names.
    ChangesetsAction(Option<(u64, u64)>),
    /// `js-devtools/npm-publish`.
    NpmPublishAction,
    /// A package script or tool whose publish client the workflow does not show.
    Opaque(String),
}

const CHANGESETS_OIDC: (u64, u64) = (1, 8);

impl Publisher {
    /// The publisher of one step, if it publishes.
    fn of_step(ctx: &WorkflowContext, step: &crate::pipeline::model::Step) -> Option<Publisher> {
        match &step.kind {
            StepKind::Uses { slug, uses, .. } => match slug.as_str() {
                "changesets/action" => {
                    Some(Publisher::ChangesetsAction(action_version(ctx, step, uses)))
                }
                "js-devtools/npm-publish" => Some(Publisher::NpmPublishAction),
                s if s.contains("semantic-release") => Some(Publisher::SemanticRelease),
                s if s.starts_with("jbolda/covector") => Some(Publisher::Opaque("covector".into())),
                _ => None,
            },
            StepKind::Run { parts } => parts.iter().find_map(|p| {
                shell::commands(&p.text).iter().find_map(|c| {
                    let w = shell::words(&c.text);
                    let has = |seq: &[&str]| shell::has_sequence(&w, seq);
                    if has(&["semantic-release"]) {
                        Some(Publisher::SemanticRelease)
                    } else if has(&["yarn", "npm", "publish"]) {
                        Some(Publisher::YarnBerry)
                    } else if has(&["yarn", "publish"]) {
                        Some(Publisher::YarnClassic)
                    } else if has(&["pnpm", "publish"]) {
                        Some(Publisher::Pnpm)
                    } else if PUBLISH.iter().any(|seq| has(seq)) {
                        Some(Publisher::NpmCli)
                    } else {
                        release_script(&w).map(Publisher::Opaque)
                    }
                })
            }),
        }
    }

    /// What replaces the token with this publisher, or why it cannot yet.
    fn migration(&self, ctx: &WorkflowContext, var: &str) -> Migration {
        let base = publish_replacement(ctx);
        let no_token = format!("with no {var}");
        match self {
            Publisher::NpmCli => Migration::oidc(format!("{base}, {no_token}")),
            Publisher::Pnpm => Migration::oidc(format!(
                "{base}, {no_token}; `pnpm publish` uploads through the npm CLI, so the runner's npm must be >= 11.5.1"
            )),
            Publisher::YarnBerry => Migration::oidc(format!(
                "{base}, {no_token}; `yarn npm publish` needs a Yarn release that does npm's OIDC exchange, else publish with `npm publish`"
            )),
            Publisher::YarnClassic => Migration::oidc(format!("{base}, publishing with `npm publish`, {no_token}"))
                .blocked("Yarn 1 `yarn publish` cannot use trusted publishing; switch the publish command to `npm publish` first"),
            Publisher::SemanticRelease => Migration::oidc(format!(
                "{base}, semantic-release >= 25 (@semantic-release/npm >= 13, which verifies the OIDC exchange instead of a token), {no_token}"
            )),
            Publisher::ChangesetsAction(v) => {
                let m = Migration::oidc(format!(
                    "{base}, changesets/action >= 1.8.0 (older releases write an .npmrc from NPM_TOKEN), {no_token}"
                ));
                match v {
                    Some(v) if *v < CHANGESETS_OIDC => m.blocked(format!(
                        "changesets/action v{}.{} writes an .npmrc from NPM_TOKEN, which overrides trusted publishing; update it to >= 1.8.0 first",
                        v.0, v.1
                    )),
                    _ => m,
                }
            }
            Publisher::NpmPublishAction => Migration::oidc(format!(
                "{base}, js-devtools/npm-publish >= 4 without its `token` input"
            )),
            Publisher::Opaque(script) => Migration::oidc(format!(
                "{base}, {no_token}, if `{script}` publishes with `npm publish` (npm >= 11.5.1) or a client that does npm's OIDC exchange"
            )),
        }
    }
}

/// `npm run release`, `yarn release`, `pnpm run publish-packages`: a package script that
/// presumably publishes (its name says so).
fn release_script(w: &[String]) -> Option<String> {
    let i = w
        .iter()
        .position(|x| matches!(x.as_str(), "npm" | "yarn" | "pnpm" | "bun"))?;
    let mut rest = w[i + 1..].iter().map(String::as_str);
    let mut name = rest.next()?;
    if matches!(name, "run" | "run-script") {
        name = rest.next()?;
    }
    ["release", "publish", "deploy", "ship"]
        .iter()
        .any(|k| name.contains(k))
        .then(|| format!("{} {}", w[i], w[i + 1..].join(" ")))
        .or_else(|| {
            w.iter()
                .any(|x| x == "covector")
                .then(|| "covector".to_string())
        })
}

/// `(major, minor)` of an action from its ref (`@v1.8.0`) or its version comment.
fn action_version(
    ctx: &WorkflowContext,
    step: &crate::pipeline::model::Step,
    uses: &str,
) -> Option<(u64, u64)> {
    let parse = |t: &str| {
        let t = t.trim().trim_start_matches('v');
        let mut it = t.split(|c: char| !c.is_ascii_digit());
        let major = it.next()?.parse().ok()?;
        Some((major, it.next().and_then(|m| m.parse().ok()).unwrap_or(0)))
    };
    let r = uses.split_once('@')?.1;
    if r.starts_with('v') {
        return parse(r);
    }
    let loc = ctx.location(&step.loc.key("uses"), None, None);
    let src = ctx.files[step.loc.file].doc.source();
    let line = src.lines().nth(loc.line.checked_sub(1)?)?;
    parse(line.split_once('#')?.1)
}

/// The publisher of the step that reads the token, else the job's first publishing step.
fn publisher(ctx: &WorkflowContext, hit: &Hit, job: usize) -> Option<Publisher> {
    let steps = &ctx.jobs[job].steps;
    hit.step
        .and_then(|i| steps.iter().find(|s| s.index == i))
        .and_then(|s| Publisher::of_step(ctx, s))
        .or_else(|| steps.iter().find_map(|s| Publisher::of_step(ctx, s)))
}

fn classify(ctx: &WorkflowContext, hit: &Hit) -> (Provider, Migration) {
    let var = match (&hit.consumer.env_var, &hit.consumer.input) {
        (Some(v), _) => format!("`{v}`"),
        (None, Some(i)) => format!("`{i}` input"),
        _ => "`_authToken` in .npmrc".into(),
    };
    let Some(job) = hit.job else {
        return (Provider::Npm, Publisher::NpmCli.migration(ctx, &var));
    };
    let reg = registry(ctx, job);
    if reg
        .as_deref()
        .is_some_and(|r| r.contains("npm.pkg.github.com"))
    {
        return (
            Provider::Github,
            Migration::oidc("the job's GITHUB_TOKEN with `permissions: packages: write` (GitHub Packages accepts it)"),
        );
    }
    if let Some(r) = reg.as_deref().filter(|r| private_registry(r)) {
        return (
            Provider::Npm,
            Migration::none(format!(
                "a token scoped to `{}` with only the needed packages, rotated regularly (npm trusted publishing exists for registry.npmjs.org only)",
                r.trim()
            )),
        );
    }
    if !job_publishes(ctx, job) {
        return (
            Provider::Npm,
            Migration::none("a read-only granular access token limited to the needed packages, rotated regularly (trusted publishing covers publishing only)"),
        );
    }
    let m = publisher(ctx, hit, job)
        .unwrap_or(Publisher::NpmCli)
        .migration(ctx, &var);
    if self_hosted(ctx, hit) && m.blocked_by.is_none() {
        (Provider::Npm, m.blocked("npm trusted publishing requires cloud-hosted runners; this job runs on a self-hosted runner"))
    } else {
        (Provider::Npm, m)
    }
}

fn publish_replacement(ctx: &WorkflowContext) -> &'static str {
    match ctx.ci {
        CiSystem::GithubActions => "an npm trusted publisher (owner, repository, workflow file, environment), npm >= 11.5.1 and `permissions: id-token: write`",
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
