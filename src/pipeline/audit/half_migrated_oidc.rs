//! `half-migrated-oidc`: a job that already asks for an OIDC token (`id-token: write`, GitLab
//! `id_tokens:`) but still feeds a static credential that OIDC could replace.

use super::AuditId;

use super::{credential_audits, Audit};
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::{help_for, PipelineFinding};

pub struct HalfMigratedOidc;

impl Audit for HalfMigratedOidc {
    fn id(&self) -> AuditId {
        AuditId::HalfMigratedOidc
    }
    fn title(&self) -> &'static str {
        "Job has an OIDC token but still uses a static credential"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let oidc_jobs: Vec<String> = ctx
            .jobs
            .iter()
            .filter(|j| j.id_token)
            .map(|j| j.id.clone())
            .collect();
        if oidc_jobs.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<PipelineFinding> = Vec::new();
        for a in credential_audits() {
            for f in a.audit(ctx) {
                let in_oidc_job = f.job.as_ref().is_some_and(|j| oidc_jobs.contains(j));
                if !in_oidc_job || !f.oidc_replacement {
                    continue;
                }
                // one finding per job and provider, at the first static use
                if out
                    .iter()
                    .any(|o| o.job == f.job && o.provider == f.provider)
                {
                    continue;
                }
                let what = match f.ci {
                    crate::pipeline::CiSystem::GithubActions => "`permissions: id-token: write`",
                    crate::pipeline::CiSystem::GitlabCi => "`id_tokens:`",
                };
                let mut g = f.clone();
                g.audit = self.id();
                g.title = self.title().to_string();
                g.help = help_for(self.id().as_str());
                g.message = format!(
                    "Job `{}` already has {what} but still uses {} `{}` ({}): finish the migration: {}.",
                    f.job.as_deref().unwrap_or(""),
                    f.provider.as_str(),
                    f.secret,
                    f.consumer.description,
                    f.replacement
                );
                out.push(g);
            }
        }
        out
    }
}
