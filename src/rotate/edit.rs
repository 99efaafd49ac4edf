//! Workflow edits the targets share: removing bindings, inserting steps, pinned action
//! references, reading a minted token.

use std::collections::BTreeMap;

use yaml_serde::Value;

use super::rewrite::{k, show, EditOp, Seg};
use super::target::{Site, SiteKind, Unmigratable, Use, UsePlan, Workflow};

/// `owner/repo@SHA` for an inserted step (see [`super::action_ref::pinned_ref`]).
pub fn pinned(wf: &Workflow, slug: &str) -> String {
    super::action_ref::pinned_ref(&wf.text, slug)
}

/// `owner/repo@SHA` for an inserted step, with the plan's note when the workflow uses a newer
/// major by tag.
pub fn pinned_noted(wf: &Workflow, slug: &str, p: &mut UsePlan) -> String {
    if let Some(n) = super::action_ref::newer_major_note(&wf.text, slug) {
        if !p.notes.contains(&n) {
            p.notes.push(n);
        }
    }
    pinned(wf, slug)
}

/// Remove the bindings at `sites`; a mapping that would be left empty goes as a whole.
pub fn remove_bindings(wf: &Workflow, sites: &[&Site]) -> Vec<(String, EditOp)> {
    let mut by_parent: BTreeMap<Vec<Seg>, Vec<String>> = BTreeMap::new();
    for s in sites {
        let parent = s.path[..s.path.len() - 1].to_vec();
        by_parent.entry(parent).or_default().push(s.key.clone());
    }
    by_parent
        .into_iter()
        .flat_map(|(parent, keys)| remove_keys(wf, &parent, &keys))
        .collect()
}

/// Remove `keys` from the mapping at `parent`, or the whole mapping when nothing else is in it.
pub fn remove_keys(wf: &Workflow, parent: &[Seg], keys: &[String]) -> Vec<(String, EditOp)> {
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort();
    keys.dedup();
    let existing = value_at(&wf.value, parent)
        .and_then(Value::as_mapping)
        .map_or(0, |m| m.len());
    let shown = show(parent);
    if existing == keys.len() {
        return vec![(
            format!(
                "remove `{shown}` (it only held {})",
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            EditOp::Remove {
                path: parent.to_vec(),
            },
        )];
    }
    keys.into_iter()
        .map(|key| {
            let mut p = parent.to_vec();
            p.push(Seg::Key(key.to_string()));
            (
                format!("remove `{key}` from `{shown}`"),
                EditOp::Remove { path: p },
            )
        })
        .collect()
}

/// Put `pairs` where the key at `old` is (same mapping, same position), and remove `old`.
pub fn replace_key(old: &[Seg], pairs: Vec<(String, Value)>) -> Vec<EditOp> {
    let parent = old[..old.len() - 1].to_vec();
    let Some(Seg::Key(before)) = old.last() else {
        return Vec::new();
    };
    let mut out: Vec<EditOp> = pairs
        .into_iter()
        .map(|(key, value)| EditOp::AddBefore {
            path: parent.clone(),
            before: before.clone(),
            key,
            value,
        })
        .collect();
    out.push(EditOp::Remove { path: old.to_vec() });
    out
}

pub fn value_at<'v>(v: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let mut cur = v;
    for s in path {
        cur = match s {
            Seg::Key(key) => cur.get(key.as_str())?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

pub fn job_path(job: &str) -> Vec<Seg> {
    vec![k("jobs"), Seg::Key(job.to_string())]
}

pub fn step_path(job: &str, i: usize) -> Vec<Seg> {
    let mut p = job_path(job);
    p.extend([k("steps"), Seg::Index(i)]);
    p
}

/// Insert `step` into `job` before step `at`, described as `why`.
pub fn insert_step(job: &str, at: usize, why: String, step: Value) -> (String, EditOp) {
    let mut path = job_path(job);
    path.push(k("steps"));
    (
        why,
        EditOp::InsertItem {
            path,
            index: at,
            value: step,
        },
    )
}

/// The index of the step labelled `label` (name, id, or `#N`) in `job`.
pub fn step_by_label(wf: &Workflow, job: &str, label: &str) -> Option<usize> {
    wf.steps(job).iter().enumerate().find_map(|(i, st)| {
        let l = st
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| st.get("id").and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        (l == label).then_some(i)
    })
}

/// The first step of `job` that reads the credential of findings `fs`.
pub fn first_reader(u: &Use, job: &str) -> usize {
    u.findings
        .iter()
        .zip(&u.sites)
        .filter(|(f, _)| f.job.as_deref() == Some(job))
        .filter_map(|(f, s)| {
            s.step.or_else(|| {
                f.consumer
                    .step
                    .as_deref()
                    .and_then(|l| step_by_label(u.wf, job, l))
            })
        })
        .min()
        .unwrap_or(0)
}

/// A step id not yet used in `job`, starting with `want`.
pub fn free_step_id(wf: &Workflow, job: &str, want: &str) -> String {
    let used: Vec<String> = wf
        .steps(job)
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut id = want.to_string();
    let mut n = 2;
    while used.contains(&id) {
        id = format!("{want}-{n}");
        n += 1;
    }
    id
}

pub fn is_self_hosted(wf: &Workflow, job: &str) -> bool {
    match wf.job(job).and_then(|j| j.get("runs-on")) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case("self-hosted"),
        Some(Value::Sequence(v)) => v.iter().any(|x| {
            x.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("self-hosted"))
        }),
        Some(Value::Mapping(_)) => true,
        _ => false,
    }
}

/// The sites that bind a secret to a key (an input or an env var), as opposed to a script that
/// reads it.
pub const BINDINGS: &[SiteKind] = &[
    SiteKind::With,
    SiteKind::StepEnv,
    SiteKind::JobEnv,
    SiteKind::WorkflowEnv,
];

/// Every site is one of `kinds`, else the reason.
pub fn only_sites(u: &Use, kinds: &[SiteKind], what: &str) -> Result<(), Unmigratable> {
    for (f, s) in u.findings.iter().zip(&u.sites) {
        if !kinds.contains(&s.kind) {
            let how = match s.kind {
                SiteKind::Run => "a `run:` script reads it directly".to_string(),
                SiteKind::WorkflowEnv => "it is bound in the workflow-level `env:`".to_string(),
                SiteKind::JobEnv => "it is bound in a job-level `env:`".to_string(),
                _ => format!("it is bound at `{}`", show(&s.path)),
            };
            return Err(Unmigratable::new(format!("`{}`: {how}; {what}", f.secret)));
        }
    }
    Ok(())
}

/// Moves `job`'s uses of the credential onto a step that mints a short-lived token: every site
/// in the job reads `${{ steps.ID.outputs.token }}` (described as coming `from` it), and `step`,
/// whose id is `id`, goes in before step `first` (the first reader).
#[allow(clippy::too_many_arguments)]
pub fn read_from_minted_token(
    p: &mut UsePlan,
    u: &Use,
    job: &str,
    first: usize,
    id: &str,
    from: &str,
    step_reason: String,
    step: Value,
) {
    for site in u.sites.iter().filter(|s| s.job.as_deref() == Some(job)) {
        p.edits.push((
            format!(
                "job `{job}` step {}: `{}` from {from}",
                site.step.unwrap_or(0) + 1,
                site.key
            ),
            EditOp::Replace {
                path: site.path.clone(),
                value: Value::String(format!("${{{{ steps.{id}.outputs.token }}}}")),
            },
        ));
    }
    p.edits.push(insert_step(job, first, step_reason, step));
}
