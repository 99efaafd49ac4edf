//! `nuget-api-key`: a NuGet API key where trusted publishing (or the job token) would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct NugetApiKey;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["nuget", "push"],
        &["dotnet", "nuget", "push"],
        &["dotnet", "pack"],
    ],
    actions: &[],
};

fn migration(ci: CiSystem, source: Option<&str>) -> (Provider, Migration) {
    if ci == CiSystem::GitlabCi && !source.is_some_and(|s| s.contains("nuget.pkg.github.com")) {
        return (
            Provider::Nuget,
            Migration::none("an API key scoped to the packages it pushes (glob pattern) with an expiry, rotated regularly (nuget.org trusted publishing supports GitHub Actions only)"),
        );
    }
    match source {
        Some(s) if s.contains("nuget.pkg.github.com") => (
            Provider::Github,
            Migration::oidc("the job's GITHUB_TOKEN with `permissions: packages: write` (GitHub Packages accepts it)"),
        ),
        Some(s) if !s.contains("nuget.org") && !s.contains("${{") && !s.starts_with('$') => (
            Provider::Nuget,
            Migration::none(format!("a scoped key for `{s}`, rotated regularly (trusted publishing exists for nuget.org only)")),
        ),
        _ => (
            Provider::Nuget,
            Migration::oidc("a nuget.org trusted publishing policy and `NuGet/login` (short-lived API key) with `permissions: id-token: write`"),
        ),
    }
}

impl Audit for NugetApiKey {
    fn id(&self) -> AuditId {
        AuditId::NugetApiKey
    }
    fn title(&self) -> &'static str {
        "NuGet API key used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut out = Vec::new();
        for (h, m) in command_hits(ctx, |w, _| {
            (seq(w, &["nuget", "push"]) || seq(w, &["dotnet", "nuget", "push"])).then(|| {
                CmdMatch::new("nuget push --api-key")
                    .secret(shell::flag_value(w, &["--api-key", "-k", "-ApiKey"]))
                    .detail(shell::flag_value(w, &["--source", "-s", "-Source"]))
            })
        }) {
            if m.secret_text.is_none() {
                continue;
            }
            let scope = h.job.map(|j| ctx.scope(j, h.step)).unwrap_or_default();
            let source = m.detail.as_deref().map(|s| ctx.expand_literal(&scope, s));
            let (p, mig) = migration(ctx.ci, source.as_deref());
            out.push(finding(ctx, self.id(), self.title(), p, &h, &mig));
        }
        for h in env_hits(ctx, &["NUGET_API_KEY", "NUGET_AUTH_TOKEN"], &READERS) {
            let (p, mig) = migration(ctx.ci, None);
            out.push(finding(ctx, self.id(), self.title(), p, &h, &mig));
        }
        out
    }
}
