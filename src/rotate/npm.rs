//! npm: `NODE_AUTH_TOKEN` for `npm publish` -> a trusted publisher (npm >= 11.5.1).

use crate::rotate::target::Blocker;
use yaml_serde::Value;

use super::edit::{is_self_hosted, only_sites, remove_bindings, step_path};
use super::facts::Lookup;
use super::pypi::publisher_artifacts;
use super::rewrite::{k, EditOp};
use super::target::Target;
use super::target::{
    Site, SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan, Workflow,
};
use crate::pipeline::PipelineFinding;

pub struct Npm;

/// Node 24 bundles npm 11 (trusted publishing needs npm >= 11.5.1 and Node >= 22.14).
const NODE_MAJOR: u64 = 24;

fn major(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim_start_matches('v').split('.').next()?.parse().ok(),
        _ => None,
    }
}

impl Target for Npm {
    fn id(&self) -> &'static str {
        "npm"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::NpmToken
            && f.provider == crate::pipeline::Provider::Npm
    }
    fn needs_subject(&self) -> bool {
        false
    }
    fn plan(&self, u: &Use, _look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            &[SiteKind::StepEnv, SiteKind::JobEnv],
            "keysweep rewrites `NODE_AUTH_TOKEN` bound in a job or step `env:` only",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        let mut sites: Vec<&Site> = Vec::new();
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let job = site.job.as_deref().unwrap_or("");
            if is_self_hosted(u.wf, job) {
                return Err(Unmigratable::new(Blocker::SelfHostedRunner,
                    "npm trusted publishing needs a GitHub-hosted runner; this job runs on a self-hosted one",
                ));
            }
            let cmd = f.consumer.command.as_deref().unwrap_or("");
            if site.key != "NODE_AUTH_TOKEN" || cmd != "npm publish" {
                return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                    "`{}` is read by `{}`; trusted publishing is done by the npm CLI's `npm publish` (>= 11.5.1) only",
                    site.key,
                    if cmd.is_empty() { "a step keysweep cannot tell" } else { cmd }
                )));
            }
            // setup-node must point at the public registry; bump Node so npm is new enough
            let steps = u.wf.steps(job);
            let Some((si, setup)) = steps
                .iter()
                .enumerate()
                .find(|(_, s)| Workflow::uses_slug(s).as_deref() == Some("actions/setup-node"))
            else {
                return Err(Unmigratable::new(
                    Blocker::Missing,
                    "the job has no actions/setup-node step with `registry-url`",
                ));
            };
            let with = setup.get("with");
            let registry = with
                .and_then(|w| w.get("registry-url"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if !registry.contains("registry.npmjs.org") {
                return Err(Unmigratable::new(Blocker::Platform, format!(
                    "setup-node `registry-url` is `{registry}`; trusted publishing exists for registry.npmjs.org only"
                )));
            }
            match with.and_then(|w| w.get("node-version")) {
                Some(v) if major(v).is_some_and(|m| m < NODE_MAJOR) => {
                    let mut path = step_path(job, si);
                    path.extend([k("with"), k("node-version")]);
                    let value = match v {
                        Value::Number(_) => Value::Number(NODE_MAJOR.into()),
                        _ => Value::String(NODE_MAJOR.to_string()),
                    };
                    p.edits.push((
                        format!("job `{job}` step {}: Node {NODE_MAJOR} (npm 11; trusted publishing needs npm >= 11.5.1)", si + 1),
                        EditOp::Replace { path, value },
                    ));
                }
                Some(v) if major(v).is_some() => {}
                _ => p.manual.push(format!(
                    "Make sure job `{job}` publishes with npm >= 11.5.1 (Node >= 22.14; e.g. `node-version: {NODE_MAJOR}`)."
                )),
            }
            sites.push(site);
        }
        p.edits.extend(remove_bindings(u.wf, &sites));
        p.notes
            .push("with trusted publishing npm also publishes provenance attestations".into());
        p.manual.push(
            "Add the trusted publisher on npmjs.com (package → Settings → Trusted publishing → GitHub Actions) with the values in npm/trusted-publisher.md, then set the package's publishing access to disallow tokens.".into(),
        );
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, _look: &mut Lookup) -> Vec<TrustArtifact> {
        let package = t
            .info("package")
            .first()
            .map_or("<npm package name>".to_string(), |s| s.to_string());
        publisher_artifacts(
            "npm",
            t,
            "npm trusted publishers are configured per package on npmjs.com (no Terraform provider).",
            "package",
            &package,
        )
    }

    fn package(&self, root: &std::path::Path) -> Option<String> {
        crate::rotate::manifest::npm_package(root)
    }
    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green trusted-publishing release: delete the repository secret `{secret}` and revoke the token on npmjs.com (Access Tokens)"
        )
    }
}
