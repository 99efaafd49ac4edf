//! Credential uses that cross files: a caller passes a secret to a local reusable workflow
//! (`secrets:` mapping) or to a local composite action (`with:`), and the callee feeds it to a
//! consumer. The finding is made at the caller, under the caller's secret name, where the
//! rotation has to happen.

use super::AuditId;

use std::path::PathBuf;

use super::Audit;
use crate::pipeline::model::{Binding, Loc, StepKind, UnitKind, WorkflowContext};
use crate::pipeline::{Consumer, ConsumerKind, PipelineFinding, SecretSource};

fn norm(p: PathBuf) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn find(contexts: &[WorkflowContext], path: PathBuf) -> Option<&WorkflowContext> {
    let want = norm(path);
    contexts.iter().find(|c| {
        c.ci == crate::pipeline::CiSystem::GithubActions && norm(c.files[0].abs.clone()) == want
    })
}

/// Findings at callers for what their local callees consume.
pub(crate) fn caller_findings(
    contexts: &[WorkflowContext],
    audits: &[Box<dyn Audit>],
) -> Vec<PipelineFinding> {
    let credential_ids: Vec<AuditId> = super::credential_audits().iter().map(|a| a.id()).collect();
    let mut out = Vec::new();
    for caller in contexts
        .iter()
        .filter(|c| c.ci == crate::pipeline::CiSystem::GithubActions)
    {
        for (ji, job) in caller.jobs.iter().enumerate() {
            // reusable workflow with a `secrets:` mapping
            if let Some(call) = &job.call {
                if let Some(rel) = call.uses.strip_prefix("./") {
                    if let Some(callee) = find(contexts, caller.repo_root.join(rel)) {
                        let cf = callee_findings(callee, audits, &credential_ids);
                        let scope = caller.scope(ji, None);
                        for f in cf
                            .iter()
                            .filter(|f| f.secret_source == SecretSource::GithubSecret)
                        {
                            out.extend(lift(
                                caller,
                                ji,
                                &call.secrets,
                                &f.secret,
                                f,
                                &call.uses,
                                ConsumerKind::ReusableWorkflow,
                                &scope,
                                None,
                            ));
                        }
                    }
                }
            }
            // local composite action receiving secrets as inputs
            for step in &job.steps {
                let StepKind::Uses { uses, inputs, .. } = &step.kind else {
                    continue;
                };
                let Some(rel) = uses.strip_prefix("./") else {
                    continue;
                };
                let dir = caller.repo_root.join(rel);
                let callee = find(contexts, dir.join("action.yml"))
                    .or_else(|| find(contexts, dir.join("action.yaml")));
                let Some(callee) = callee.filter(|c| c.kind == UnitKind::Action) else {
                    continue;
                };
                let cf = callee_findings(callee, audits, &credential_ids);
                let scope = caller.scope(ji, Some(step.index));
                for f in cf
                    .iter()
                    .filter(|f| f.secret_source == SecretSource::ActionInput)
                {
                    let input = f.secret.trim_start_matches("inputs.");
                    out.extend(lift(
                        caller,
                        ji,
                        inputs,
                        input,
                        f,
                        uses,
                        ConsumerKind::CompositeAction,
                        &scope,
                        Some(&step.label),
                    ));
                }
            }
        }
    }
    out
}

fn callee_findings(
    callee: &WorkflowContext,
    audits: &[Box<dyn Audit>],
    ids: &[AuditId],
) -> Vec<PipelineFinding> {
    audits
        .iter()
        .filter(|a| ids.contains(&a.id()))
        .flat_map(|a| a.audit(callee))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn lift(
    caller: &WorkflowContext,
    job: usize,
    passed: &[Binding],
    callee_name: &str,
    f: &PipelineFinding,
    uses: &str,
    kind: ConsumerKind,
    scope: &[&Binding],
    step: Option<&str>,
) -> Vec<PipelineFinding> {
    let Some(b) = passed
        .iter()
        .find(|b| b.name.eq_ignore_ascii_case(callee_name))
    else {
        return Vec::new();
    };
    caller
        .resolve(&b.refs, &b.loc, None, scope)
        .into_iter()
        .map(|r| {
            let loc: &Loc = &r.loc;
            let mut g = f.clone();
            g.secret = r.name.clone();
            g.secret_source = r.source;
            g.job = caller.job_name(job);
            g.workflow = caller.path().to_string();
            g.location = caller.location(loc, None, Some(&r.needle));
            g.consumer = Consumer {
                kind,
                action: Some(uses.to_string()),
                input: Some(b.name.clone()),
                env_var: r.via_env.clone(),
                command: f.consumer.command.clone(),
                step: step.map(str::to_string),
                description: format!(
                    "`{uses}` {} `{}`, which feeds {}",
                    if kind == ConsumerKind::ReusableWorkflow {
                        "secret"
                    } else {
                        "input"
                    },
                    b.name,
                    f.consumer.description
                ),
            };
            g.message = format!(
                "secret `{}` feeds {} in job `{}`. Replace with: {}.{}",
                g.secret,
                g.consumer.description,
                g.job.as_deref().unwrap_or(""),
                g.replacement,
                g.blocked_by
                    .as_deref()
                    .map(|b| format!(" Blocked: {b}."))
                    .unwrap_or_default()
            );
            g
        })
        .collect()
}
