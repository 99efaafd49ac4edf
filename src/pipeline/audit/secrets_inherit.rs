//! `secrets-inherit`: `secrets: inherit` hands every secret the caller can see to a reusable
//! workflow that needs few (or none) of them.

use super::AuditId;

use std::collections::BTreeSet;

use super::util::{finding, Hit, Migration};
use super::Audit;
use crate::pipeline::model::{Resolved, WorkflowContext};
use crate::pipeline::secret_ref::{self, RefKind};
use crate::pipeline::{
    Confidence, Consumer, ConsumerKind, PipelineFinding, Provider, SecretSource,
};

pub struct SecretsInherit;

/// The secrets a local reusable workflow references, or `None` when it cannot be read.
pub(crate) fn callee_secrets(ctx: &WorkflowContext, uses: &str) -> Option<BTreeSet<String>> {
    let rel = uses.strip_prefix("./")?;
    let text = std::fs::read_to_string(ctx.repo_root.join(rel)).ok()?;
    Some(
        secret_ref::github_refs(&text)
            .into_iter()
            .filter(|r| r.kind == RefKind::Secret)
            .map(|r| r.name)
            .collect(),
    )
}

impl Audit for SecretsInherit {
    fn id(&self) -> AuditId {
        AuditId::SecretsInherit
    }
    fn title(&self) -> &'static str {
        "Reusable workflow receives every secret"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut out = Vec::new();
        for (ji, job) in ctx.jobs.iter().enumerate() {
            let Some(call) = &job.call else { continue };
            let Some(loc) = &call.inherit else { continue };
            let used = callee_secrets(ctx, &call.uses);
            let (secret, replacement, confidence) = match &used {
                Some(s) if s.is_empty() => (
                    "(none)".to_string(),
                    "remove `secrets: inherit`: the called workflow reads no secrets".to_string(),
                    Confidence::High,
                ),
                Some(s) => {
                    let names: Vec<&str> = s.iter().map(String::as_str).collect();
                    (
                        names.join(", "),
                        format!(
                            "an explicit `secrets:` mapping of only {}",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        ),
                        Confidence::High,
                    )
                }
                None => (
                    "*".to_string(),
                    "an explicit `secrets:` mapping of the secrets the called workflow declares under `on.workflow_call.secrets`".to_string(),
                    Confidence::Medium,
                ),
            };
            let what = match &used {
                Some(s) => format!(
                    "reusable workflow `{}` (it reads {} secret{})",
                    call.uses,
                    s.len(),
                    if s.len() == 1 { "" } else { "s" }
                ),
                None => format!(
                    "reusable workflow `{}` (not inspectable offline)",
                    call.uses
                ),
            };
            let h = Hit {
                job: Some(ji),
                step: None,
                resolved: Resolved {
                    name: secret,
                    source: SecretSource::AllSecrets,
                    via_env: None,
                    loc: loc.clone(),
                    needle: "inherit".into(),
                    anchor: None,
                },
                consumer: Consumer {
                    kind: ConsumerKind::ReusableWorkflow,
                    action: Some(call.uses.clone()),
                    input: None,
                    env_var: None,
                    command: None,
                    step: None,
                    description: what,
                },
                confidence,
            };
            out.push(finding(
                ctx,
                self.id(),
                self.title(),
                Provider::Github,
                &h,
                &Migration::none(replacement),
            ));
        }
        out
    }
}
