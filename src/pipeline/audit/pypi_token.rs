//! `pypi-token`: a PyPI API token where trusted publishing would do.

use super::AuditId;

use super::util::{
    command_hits, env_hits, finding, input_hits, seq, CmdMatch, Hit, Migration, Readers,
};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct PypiToken;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["twine", "upload"],
        &["uv", "publish"],
        &["poetry", "publish"],
        &["flit", "publish"],
        &["hatch", "publish"],
        &["pdm", "publish"],
        &["maturin", "publish"],
        &["maturin", "upload"],
    ],
    actions: &["pypa/gh-action-pypi-publish", "pyo3/maturin-action"],
};

fn is_pypi(url: &str) -> bool {
    let u = url.trim().trim_end_matches('/');
    u.is_empty()
        || u.contains("upload.pypi.org")
        || u.contains("test.pypi.org")
        || u == "pypi"
        || u == "testpypi"
}

fn migration(ctx: &WorkflowContext, hit: &Hit, index: Option<String>) -> Migration {
    if let Some(url) = index.filter(|u| !is_pypi(u) && !u.contains("${{") && !u.starts_with('$')) {
        return Migration::none(format!(
            "a scoped token for `{url}`, rotated regularly (trusted publishing exists for PyPI and TestPyPI only)"
        ));
    }
    let m = match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "a PyPI trusted publisher (owner, repository, workflow file, environment) and pypa/gh-action-pypi-publish with no password and `permissions: id-token: write`",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "a PyPI trusted publisher for this GitLab project and `id_tokens: PYPI_ID_TOKEN: {aud: pypi}` exchanged for a short-lived upload token",
        ),
    };
    if ctx.reusable {
        m.blocked("PyPI trusted publishing does not support publishing from inside a reusable workflow; move the upload step into the calling workflow")
    } else {
        let _ = hit;
        m
    }
}

impl Audit for PypiToken {
    fn id(&self) -> AuditId {
        AuditId::PypiToken
    }
    fn title(&self) -> &'static str {
        "PyPI API token used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut out = Vec::new();
        for h in input_hits(ctx, &["pypa/gh-action-pypi-publish"], &["password"]) {
            let index = h
                .job
                .zip(h.step)
                .and_then(|(j, s)| {
                    ctx.jobs[j].steps[s]
                        .input("repository-url")
                        .or(ctx.jobs[j].steps[s].input("repository_url"))
                })
                .map(|b| b.value.clone());
            out.push(finding(
                ctx,
                self.id(),
                self.title(),
                Provider::Pypi,
                &h,
                &migration(ctx, &h, index),
            ));
        }
        let env = env_hits(
            ctx,
            &[
                "TWINE_PASSWORD",
                "UV_PUBLISH_TOKEN",
                "UV_PUBLISH_PASSWORD",
                "POETRY_PYPI_TOKEN_PYPI",
                "POETRY_HTTP_BASIC_PYPI_PASSWORD",
                "FLIT_PASSWORD",
                "HATCH_INDEX_AUTH",
                "PDM_PUBLISH_PASSWORD",
                "MATURIN_PYPI_TOKEN",
                "MATURIN_PASSWORD",
            ],
            &READERS,
        );
        for h in env {
            let index = h.job.and_then(|j| {
                let scope = ctx.scope(j, h.step);
                [
                    "TWINE_REPOSITORY_URL",
                    "UV_PUBLISH_URL",
                    "MATURIN_REPOSITORY_URL",
                ]
                .iter()
                .find_map(|n| ctx.literal_env(&scope, n))
            });
            out.push(finding(
                ctx,
                self.id(),
                self.title(),
                Provider::Pypi,
                &h,
                &migration(ctx, &h, index),
            ));
        }
        let cmds = command_hits(ctx, |w, _| {
            if seq(w, &["twine", "upload"]) {
                Some(
                    CmdMatch::new("twine upload")
                        .secret(shell::flag_value(w, &["-p", "--password"]))
                        .detail(shell::flag_value(w, &["--repository-url"])),
                )
            } else if seq(w, &["uv", "publish"]) {
                Some(
                    CmdMatch::new("uv publish")
                        .secret(shell::flag_value(w, &["-t", "--token", "-p", "--password"]))
                        .detail(shell::flag_value(w, &["--publish-url"])),
                )
            } else if seq(w, &["poetry", "publish"]) {
                Some(
                    CmdMatch::new("poetry publish")
                        .secret(shell::flag_value(w, &["-p", "--password"])),
                )
            } else if seq(w, &["poetry", "config", "pypi-token.pypi"]) {
                Some(CmdMatch::new("poetry config pypi-token.pypi").secret(w.last().cloned()))
            } else {
                None
            }
        });
        for (h, m) in cmds {
            if m.secret_text.is_none() {
                continue; // the command reads env; reported through env
            }
            out.push(finding(
                ctx,
                self.id(),
                self.title(),
                Provider::Pypi,
                &h,
                &migration(ctx, &h, m.detail.clone()),
            ));
        }
        out
    }
}
