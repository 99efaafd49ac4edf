//! Phase 3: ask the target for one use's edits, add the `id-token: write` permission, and
//! dry-run them on top of the file's accepted edits; then the accepted edits per file.

use std::collections::BTreeMap;

use super::permissions::permissions_edit;
use crate::pipeline::CiSystem;
use crate::rotate::facts::Lookup;
use crate::rotate::rewrite::{self, EditOp};
use crate::rotate::target::{Blocker, Target, Unmigratable, Use, UsePlan, Workflow};
use crate::rotate::{gitlab, FileChange, RotateError};

/// The edits accepted so far, per file (relative to the repository root).
pub(super) type FileOps = BTreeMap<String, Vec<(String, EditOp)>>;

/// The target's plan for `u`, or why the use stays as it is.
pub(super) fn try_use(
    target: &dyn Target,
    u: &Use,
    look: &mut Lookup,
    accepted: Option<&Vec<(String, EditOp)>>,
) -> Result<UsePlan, Unmigratable> {
    let not_rewritten = |e: String| Unmigratable::new(Blocker::NotRewritten, e);
    let mut p = target.plan(u, look)?;
    // The permissions edit is made against the file as the accepted edits leave it: when an
    // earlier target of the same job already grants `id-token: write`, there is none to add.
    let edited;
    let current: &Workflow = match accepted.filter(|a| !a.is_empty()) {
        Some(ops) => {
            let text = rewrite::apply(&u.wf.text, &ops.iter().map(|(_, o)| o).collect::<Vec<_>>())
                .map_err(|e| not_rewritten(e.to_string()))?;
            let value = yaml_serde::from_str(&text).map_err(|e| not_rewritten(e.to_string()))?;
            edited = Workflow {
                path: u.wf.path.clone(),
                text,
                value,
            };
            &edited
        }
        None => u.wf,
    };
    for j in &p.id_token_jobs {
        if let Some(op) =
            permissions_edit(current, j).map_err(|e| Unmigratable::new(Blocker::NotRewritten, e))?
        {
            p.edits.push((
                format!("job `{j}`: add `id-token: write` to its permissions, keeping its grants"),
                op,
            ));
        }
    }
    // dry run: this use's edits alone, on top of the file's accepted edits
    let mut trial: Vec<&EditOp> = accepted
        .map(|v| v.iter().map(|(_, o)| o).collect())
        .unwrap_or_default();
    trial.extend(p.edits.iter().map(|(_, o)| o));
    let gitlab = u.findings.iter().any(|f| f.ci == CiSystem::GitlabCi);
    rewrite::apply(&u.wf.text, &trial)
        .map_err(|e| e.to_string())
        .and_then(|after| {
            if gitlab {
                gitlab::leftover(&after, &u.secrets())
            } else {
                leftover(&after, &u.secrets())
            }
        })
        .map_err(|reason| not_rewritten(format!("left untouched: {reason}")))?;
    Ok(p)
}

/// One diff per edited file.
pub(super) fn file_changes(
    workflows: &BTreeMap<String, Workflow>,
    file_ops: &FileOps,
) -> Result<Vec<FileChange>, RotateError> {
    let mut files = Vec::new();
    for (rel, ops) in file_ops {
        let wf = &workflows[rel];
        let after = rewrite::apply(&wf.text, &ops.iter().map(|(_, o)| o).collect::<Vec<_>>())?;
        files.push(FileChange {
            path: rel.clone(),
            diff: rewrite::unified_diff(rel, &wf.text, &after),
            after,
        });
    }
    Ok(files)
}

/// Fails when the rewritten text still references one of `secrets`.
fn leftover(after: &str, secrets: &[String]) -> Result<String, String> {
    let refs = crate::pipeline::secret_ref::github_refs(after);
    for s in secrets {
        if let Some(r) = refs.iter().find(|r| {
            r.kind == crate::pipeline::secret_ref::RefKind::Secret && r.name.eq_ignore_ascii_case(s)
        }) {
            let line = after
                .lines()
                .position(|l| l.contains(&r.text))
                .map_or(0, |i| i + 1);
            return Err(format!(
                "secret `{s}` is also read elsewhere in this workflow (line {line}, `{}`), a use keysweep cannot follow",
                r.text
            ));
        }
    }
    Ok(after.to_string())
}
