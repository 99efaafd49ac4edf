//! GitLab CI: a PyPI token for `twine upload` -> `id_tokens` (aud `pypi`) exchanged for a
//! short-lived upload token right before the upload.

use crate::rotate::target::Blocker;
use yaml_serde::Value;

use super::super::edit::replace_key;
use super::super::facts::Lookup;
use super::super::rewrite::{k, s, EditOp};
use super::super::target::Target;
use super::super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::{container, id_token_edit};
use crate::pipeline::{CiSystem, PipelineFinding};

pub struct GitlabPypi;

const PYPI_TOKEN_VAR: &str = "PYPI_ID_TOKEN";
/// Mints a short-lived upload token from the job's OIDC token (PyPI's documented exchange).
const MINT: &str = "export TWINE_PASSWORD=\"$(python3 -c 'import json, os, urllib.request; req = urllib.request.Request(\"https://pypi.org/_/oidc/mint-token\", data=json.dumps({\"token\": os.environ[\"PYPI_ID_TOKEN\"]}).encode(), headers={\"Content-Type\": \"application/json\"}); print(json.load(urllib.request.urlopen(req))[\"token\"])')\"";

impl Target for GitlabPypi {
    fn id(&self) -> &'static str {
        "gitlab-pypi"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::PypiToken && f.ci == CiSystem::GitlabCi
    }
    fn needs_subject(&self) -> bool {
        false
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let mut p = UsePlan::default();
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let cmd = f.consumer.command.as_deref().unwrap_or("");
            if site.kind != SiteKind::JobEnv
                || site.key != "TWINE_PASSWORD"
                || cmd != "twine upload"
            {
                return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                    "`{}`: keysweep rewrites `TWINE_PASSWORD` in a job's `variables:` read by `twine upload` only",
                    f.secret
                )));
            }
            let c = site.job.clone().unwrap_or_default();
            let body = container(u, &c)?;
            let Some(script) = body.get("script").and_then(Value::as_sequence) else {
                return Err(Unmigratable::new(
                    Blocker::Missing,
                    format!("`{c}` has no `script:` list here"),
                ));
            };
            let Some(at) = script
                .iter()
                .position(|l| l.as_str().is_some_and(|l| l.contains("twine upload")))
            else {
                return Err(Unmigratable::new(
                    Blocker::Missing,
                    format!("`{c}`'s own `script:` has no `twine upload` line"),
                ));
            };
            let vars = body.get("variables").and_then(Value::as_mapping);
            if vars.is_some_and(|v| v.contains_key("TWINE_USERNAME")) {
                p.edits.push((
                    format!("`{c}`: remove `TWINE_PASSWORD`"),
                    EditOp::Remove {
                        path: site.path.clone(),
                    },
                ));
            } else {
                for op in replace_key(&site.path, vec![("TWINE_USERNAME".into(), s("__token__"))]) {
                    p.edits.push((
                        format!("`{c}`: `TWINE_USERNAME: __token__` in place of `TWINE_PASSWORD`"),
                        op,
                    ));
                }
            }
            let cp = vec![k(&c)];
            if let Some(e) =
                id_token_edit(&c, body, PYPI_TOKEN_VAR, "pypi", "an OIDC token for PyPI")?
            {
                p.edits.push(e);
            }
            let mut sp = cp.clone();
            sp.push(k("script"));
            p.edits.push((
                format!(
                    "`{c}`: exchange it for a short-lived upload token right before `twine upload`"
                ),
                EditOp::InsertItem {
                    path: sp,
                    index: at,
                    value: s(MINT),
                },
            ));
            if let Some(env) = body
                .get("environment")
                .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Value::as_str)))
            {
                p.trust_info.push(("environment".into(), env.to_string()));
            }
        }
        p.manual.push(format!(
            "Add a GitLab trusted publisher on pypi.org (project → Settings → Publishing → GitLab) for `{}`, top-level pipeline file `.gitlab-ci.yml`, with the values in pypi-gitlab/trusted-publisher.md.",
            look.get("gitlab_project")
        ));
        p.notes.push(
            "the minted token lives 15 minutes and is scoped to the projects this publisher may upload".into(),
        );
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let project = look.get("gitlab_project");
        let (ns, name) = project.rsplit_once('/').unwrap_or((&project, ""));
        let package = t
            .info("package")
            .first()
            .map_or("<PyPI project name>".to_string(), |s| s.to_string());
        let env = t.info("environment").first().map(|e| e.to_string());
        let md = format!(
            "<!-- Generated by `keysweep rotate` for {project} (pypi, GitLab CI). -->\n# GitLab trusted publisher for {package}\n\nEnter these values at https://pypi.org/manage/project/PROJECT/settings/publishing/ (GitLab tab).\n\n| field | value |\n|---|---|\n| project | `{package}` |\n| namespace | `{ns}` |\n| project name | `{name}` |\n| top-level pipeline file | `.gitlab-ci.yml` |\n| environment | {} |\n",
            env.as_deref()
                .map(|e| format!("`{e}`"))
                .unwrap_or_else(|| "(none; a protected environment is recommended)".into())
        );
        let json = serde_json::json!({
            "provider": "gitlab",
            "project": package,
            "namespace": ns,
            "project_name": name,
            "workflow_filepath": ".gitlab-ci.yml",
            "environment": env,
        });
        vec![
            TrustArtifact {
                target: "gitlab-pypi",
                file: "pypi-gitlab/trusted-publisher.md".into(),
                format: "markdown",
                content: md,
            },
            TrustArtifact {
                target: "gitlab-pypi",
                file: "pypi-gitlab/trusted-publisher.json".into(),
                format: "json",
                content: serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
            },
        ]
    }

    fn package(&self, root: &std::path::Path) -> Option<String> {
        crate::rotate::manifest::python_package(root)
    }
    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green trusted-publishing release: delete the CI/CD variable `{secret}` and remove the API token on pypi.org"
        )
    }
}
