//! Phase 4: what an accepted use adds to the repository's plan — its subjects, the trust
//! inputs of its target, manual steps and what to retire — and, once every use is planned,
//! the trust configuration and the retire steps that must wait for uses left behind.

use std::collections::BTreeMap;

use yaml_serde::Value;

use super::{file_of, rel_to_repo, Repo};
use crate::pipeline::PipelineFinding;
use crate::rotate::facts::Lookup;
use crate::rotate::rewrite::Edit;
use crate::rotate::subject::{self, Claims};
use crate::rotate::target::{Target, TrustInput, Use, UsePlan};
use crate::rotate::{registry, ManualStep, Migration, RepoPlan, Retire};

/// What the accepted uses of one repository have collected so far.
#[derive(Default)]
pub(super) struct Collected {
    trust_inputs: BTreeMap<&'static str, TrustInput>,
    retire: Vec<Retire>,
    manual: Vec<ManualStep>,
}

impl Collected {
    /// Record an accepted use; returns its migration.
    pub(super) fn accept(
        &mut self,
        cx: &Repo,
        target: &dyn Target,
        u: &Use,
        p: &UsePlan,
        look: &mut Lookup,
    ) -> Migration {
        let tid = target.id();
        let wf = u.wf;
        let rel = &wf.path;
        let mut claims = Claims::default();
        for j in &u.jobs {
            claims.merge(&subject::claims(
                &wf.value,
                j,
                cx.facts.default_branch.as_deref(),
                cx.facts.subject_pattern.as_deref(),
            ));
        }
        let mut subjects = if target.needs_subject() {
            subject::subjects(&claims, &cx.prefix, look)
        } else {
            Vec::new()
        };
        if let Some((s, pattern)) = &p.subjects {
            subjects = s.clone();
            claims = Claims::default();
            if *pattern {
                claims.claims.push(subject::Claim::Pattern(String::new()));
            }
        }
        let ti = self.trust_inputs.entry(tid).or_insert_with(|| TrustInput {
            repo_slug: cx.slug.clone(),
            ..Default::default()
        });
        for s in &subjects {
            if !ti.subjects.contains(s) {
                ti.subjects.push(s.clone());
            }
        }
        ti.pattern |= claims.has_pattern();
        for j in &u.jobs {
            let env = wf
                .job(j)
                .and_then(|j| j.get("environment"))
                .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Value::as_str)))
                .map(str::to_string);
            let w = (wf.file_name().to_string(), env);
            if !ti.workflows.contains(&w) {
                ti.workflows.push(w);
            }
        }
        ti.info.extend(p.trust_info.iter().cloned());
        if let Some(name) = target.package(&cx.root) {
            ti.info.push(("package".into(), name));
        }
        let mut notes = p.notes.clone();
        if target.needs_subject() {
            notes.extend(claims.notes.iter().cloned());
            for un in &claims.unresolved {
                notes.push(if claims.has_pattern() {
                    format!("{un}: trusted through --subject-pattern")
                } else {
                    format!("{un}: no fixed subject; pass --subject-pattern (or give the job an environment)")
                });
            }
        }
        for m in &p.manual {
            let ms = ManualStep {
                target: tid,
                step: m.clone(),
            };
            if !self.manual.contains(&ms) {
                self.manual.push(ms);
            }
        }
        for s in u.secrets() {
            let r = Retire {
                target: tid,
                secret: s.clone(),
                action: stored_elsewhere(&s, target.retire_action(&s)),
            };
            if !self.retire.contains(&r) {
                self.retire.push(r);
            }
        }
        Migration {
            target: tid,
            workflow: rel.clone(),
            jobs: u.jobs.clone(),
            secrets: u.secrets(),
            uses: u
                .findings
                .iter()
                .map(|f| format!("{}:{} {}", rel, f.location.line, f.consumer.description))
                .collect(),
            subjects,
            edits: p
                .edits
                .iter()
                .map(|(d, o)| Edit {
                    file: rel.clone(),
                    description: d.clone(),
                    op: o.clone(),
                })
                .collect(),
            notes,
        }
    }

    /// The trust configuration, manual steps and retire steps, into `out`.
    pub(super) fn finish(
        mut self,
        findings: &[&PipelineFinding],
        out: &mut RepoPlan,
        look: &mut Lookup,
    ) {
        // a secret still read by a use this plan does not migrate stays until that use moves too
        let repo = out.repository.clone();
        for r in &mut self.retire {
            let others: Vec<String> = findings
                .iter()
                .filter(|f| f.secret == r.secret)
                .filter(|f| {
                    !out.migrations.iter().any(|m| {
                        m.secrets.contains(&f.secret)
                            && m.workflow == rel_to_repo(&repo, file_of(f))
                    })
                })
                .map(|f| {
                    format!(
                        "{}:{}",
                        rel_to_repo(&repo, &f.location.path),
                        f.location.line
                    )
                })
                .collect();
            if !others.is_empty() {
                r.action = format!(
                    "keep it for now: it is still read at {} (not migrated by this plan)",
                    others.join(", ")
                );
            }
        }
        for (tid, ti) in &self.trust_inputs {
            let target = registry::by_id(tid).expect("collected for a registered target");
            out.trust.extend(target.trust(ti, look));
        }
        out.manual_steps = self.manual;
        out.retire = self.retire;
    }
}

/// A key a secrets-manager step hands out (`steps.ID.outputs.NAME`) is no repository secret:
/// the retirement deletes it where it is stored, then revokes it as the target says.
fn stored_elsewhere(secret: &str, action: String) -> String {
    let Some(step) = secret
        .strip_prefix("steps.")
        .and_then(|rest| rest.split_once(".outputs."))
    else {
        return action;
    };
    action.replace(
        &format!("delete the repository secret `{secret}`"),
        &format!(
            "delete the value behind output `{}` of step `{}` from the secrets manager that step reads",
            step.1, step.0
        ),
    )
}
