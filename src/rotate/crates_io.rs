//! crates.io: `CARGO_REGISTRY_TOKEN` -> `rust-lang/crates-io-auth-action` (trusted publishing).

use super::edit::{free_step_id, only_sites, pinned_noted, read_from_minted_token};
use super::facts::Lookup;
use super::pypi::publisher_artifacts;
use super::rewrite::{map, s};
use super::target::Target;
use super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use crate::pipeline::PipelineFinding;

pub struct CratesIo;

const ACTION: &str = "rust-lang/crates-io-auth-action";

impl Target for CratesIo {
    fn id(&self) -> &'static str {
        "crates-io"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::CratesIoToken
    }
    fn needs_subject(&self) -> bool {
        false
    }
    fn plan(&self, u: &Use, _look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            &[SiteKind::StepEnv, SiteKind::With],
            "the token comes from a step output now, which only a step's `env:` or `with:` can read; move the binding onto the publishing step first",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        let mut by_job: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for site in &u.sites {
            let (Some(job), Some(i)) = (site.job.as_deref(), site.step) else {
                continue;
            };
            by_job.entry(job).or_default().push(i);
        }
        for (job, idx) in by_job {
            let first = *idx.iter().min().unwrap_or(&0);
            let id = free_step_id(u.wf, job, "crates-io-auth");
            let uses = pinned_noted(u.wf, ACTION, &mut p);
            read_from_minted_token(
                &mut p,
                u,
                job,
                first,
                &id,
                "the short-lived token",
                format!(
                    "job `{job}`: exchange the OIDC token for a crates.io token before step {}",
                    first + 1
                ),
                map([
                    (
                        "name",
                        s("Authenticate with crates.io (trusted publishing)"),
                    ),
                    ("id", s(id.clone())),
                    ("uses", s(uses.clone())),
                ]),
            );
        }
        p.notes
            .push("the token lives for 30 minutes and is revoked when the job ends".into());
        p.manual.push(
            "Add the trusted publisher on crates.io (crate → Settings → Trusted Publishing) with the values in crates-io/trusted-publisher.md; the crate must already exist (publish the first version by hand).".into(),
        );
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, _look: &mut Lookup) -> Vec<TrustArtifact> {
        let package = t
            .info("package")
            .first()
            .map_or("<crate name>".to_string(), |s| s.to_string());
        publisher_artifacts(
            "crates-io",
            t,
            "crates.io trusted publishers are configured per crate on crates.io (no Terraform provider).",
            "crate",
            &package,
        )
    }

    fn package(&self, root: &std::path::Path) -> Option<String> {
        crate::rotate::manifest::cargo_package(root)
    }
    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green trusted-publishing release: delete the repository secret `{secret}` and revoke the API token at https://crates.io/settings/tokens"
        )
    }
}
