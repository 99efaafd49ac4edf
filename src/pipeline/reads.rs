//! Every `secrets.NAME` a GitHub workflow reads, whatever reads it: the inventory lists the
//! ones no audit recognises (database passwords, SaaS API keys, webhook URLs, signing keys) as
//! long-lived credentials with no short-lived replacement known. Visibility first: a secret a
//! pipeline reads is a non-human credential someone has to own, rotate and eventually retire.

use serde::Serialize;

use super::model::{Binding, Loc, StepKind, WorkflowContext};
use super::secret_ref::{self, RefKind, SecretRef};
use super::CiSystem;

/// One read of a repository, environment or organisation secret.
#[derive(Debug, Clone, Serialize)]
pub struct SecretRead {
    pub name: String,
    /// A GitHub secret, or a GitLab CI/CD variable.
    pub source: super::SecretSource,
    /// The repository root the workflow belongs to (as in findings).
    pub repository: String,
    pub workflow: String,
    pub job: Option<String>,
    pub path: String,
    pub line: usize,
    /// What reads it, in words (`env `SENTRY_AUTH_TOKEN` of step `Upload``).
    pub consumer: String,
}

/// The reads of one workflow or action, in file order.
pub(crate) fn secret_reads(ctx: &WorkflowContext) -> Vec<SecretRead> {
    if ctx.ci != CiSystem::GithubActions {
        return gitlab_reads(ctx);
    }
    let mut out = Vec::new();
    let mut add = |refs: &[SecretRef], loc: &Loc, job: Option<&str>, consumer: String| {
        for r in refs.iter().filter(|r| r.kind == RefKind::Secret) {
            let at = ctx.location(loc, None, Some(&r.text));
            out.push(SecretRead {
                name: r.name.clone(),
                source: super::SecretSource::GithubSecret,
                repository: ctx.repository.clone(),
                workflow: ctx.files[0].path.clone(),
                job: job.map(str::to_string),
                path: at.path,
                line: at.line,
                consumer: consumer.clone(),
            });
        }
    };
    let bound = |b: &Binding, what: &str| format!("{what} `{}`", b.name);
    for b in &ctx.env {
        add(&b.refs, &b.loc, None, bound(b, "workflow env"));
    }
    for job in &ctx.jobs {
        let id = Some(job.id.as_str()).filter(|j| !j.is_empty());
        for b in &job.env {
            add(&b.refs, &b.loc, id, bound(b, "job env"));
        }
        if let Some(call) = &job.call {
            for b in &call.secrets {
                add(
                    &b.refs,
                    &b.loc,
                    id,
                    format!("`{}` secret `{}`", call.uses, b.name),
                );
            }
        }
        for step in &job.steps {
            for b in &step.env {
                add(
                    &b.refs,
                    &b.loc,
                    id,
                    format!("env `{}` of step `{}`", b.name, step.label),
                );
            }
            match &step.kind {
                StepKind::Uses { uses, inputs, .. } => {
                    for b in inputs {
                        let c = format!("{uses} input `{}` (step `{}`)", b.name, step.label);
                        add(&b.refs, &b.loc, id, c);
                    }
                }
                StepKind::Run { parts } => {
                    for p in parts {
                        let refs = secret_ref::github_refs(&p.text);
                        add(
                            &refs,
                            &p.loc,
                            id,
                            format!("script of step `{}`", step.label),
                        );
                    }
                }
            }
        }
    }
    out
}

/// A word of a variable's name that says it holds a credential (`DEPLOY_SSH_KEY`,
/// `SENTRY_AUTH_TOKEN`, `DB_PASSWORD`).
const CREDENTIAL_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "KEY",
    "APIKEY",
    "PAT",
    "CREDENTIALS",
    "CREDENTIAL",
    "CREDS",
    "AUTH",
    "PRIVATE",
    "KUBECONFIG",
    "DSN",
    "WEBHOOK",
];

/// GitLab has no `secrets.` namespace: a CI/CD variable a job reads (in `variables:` or a
/// script) that the file does not define, that GitLab does not predefine, and whose name says
/// it is a credential, is a secret read.
fn gitlab_reads(ctx: &WorkflowContext) -> Vec<SecretRead> {
    let credential_like = |name: &str| {
        !(name.starts_with("CI_") || name.starts_with("GITLAB_") || name.starts_with("FF_"))
            && name
                .split('_')
                .any(|w| CREDENTIAL_WORDS.iter().any(|c| w.eq_ignore_ascii_case(c)))
    };
    let mut out = Vec::new();
    for (ji, job) in ctx.jobs.iter().enumerate() {
        // a variable the file binds is followed to what it is bound to, not listed itself
        let scope = ctx.scope(ji, None);
        let defined = |name: &str| scope.iter().any(|b| b.name == name);
        let mut add = |refs: Vec<SecretRef>, loc: &Loc, consumer: String| {
            for r in refs {
                if r.kind != RefKind::Env || !credential_like(&r.name) || defined(&r.name) {
                    continue;
                }
                let at = ctx.location(loc, None, Some(&r.text));
                out.push(SecretRead {
                    name: r.name.clone(),
                    source: super::SecretSource::GitlabVariable,
                    repository: ctx.repository.clone(),
                    workflow: ctx.files[0].path.clone(),
                    job: Some(job.id.clone()),
                    path: at.path,
                    line: at.line,
                    consumer: consumer.clone(),
                });
            }
        };
        for b in job.env.iter().chain(ctx.env.iter()) {
            add(b.refs.clone(), &b.loc, format!("variable `{}`", b.name));
        }
        for step in &job.steps {
            for p in step.script_parts() {
                let assigned = super::shell::assigned_names(&p.text);
                let refs = secret_ref::shell_refs(&p.text)
                    .into_iter()
                    .filter(|r| !assigned.contains(&r.name))
                    .collect();
                add(
                    refs,
                    &p.loc,
                    format!("`{}` of job `{}`", step.label, job.id),
                );
            }
        }
    }
    out.sort_by(|a, b| (&a.path, a.line, &a.name).cmp(&(&b.path, b.line, &b.name)));
    out.dedup_by(|a, b| a.path == b.path && a.line == b.line && a.name == b.name);
    out
}
