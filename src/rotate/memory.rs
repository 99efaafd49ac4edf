//! Planning files held in memory: `rotate --open-pr` reads the default branch through the
//! API, never from a checkout. The pipeline analysis and the planner read from disk, so the
//! files are laid out in a private temporary directory, planned there with the same
//! [`super::plan`] every other caller uses, and the directory is removed again. Only the
//! CI files are written (workflows and `.keysweep.toml`), never credentials.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::{plan, Options, Plan, RotateError};
use crate::pipeline::analyze;

fn safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The plan for a repository whose files are `files` (path relative to the repository root
/// -> content). `FileChange::after` holds the edited contents; `RepoPlan::root` names a
/// directory that no longer exists (write the changes elsewhere, e.g. through the API).
pub fn plan_files(files: &BTreeMap<String, String>, opts: &Options) -> Result<Plan, RotateError> {
    let io = |p: &Path, source| RotateError::Io {
        path: p.display().to_string(),
        source,
    };
    // removed when dropped, also on error
    let scratch = tempfile::Builder::new()
        .prefix("keysweep-plan-")
        .tempdir()
        .map_err(|e| io(&std::env::temp_dir(), e))?;
    for (rel, text) in files {
        if !safe_relative(rel) {
            continue;
        }
        let p = scratch.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
    }
    let report = analyze(scratch.path());
    plan(scratch.path(), &report, opts)
}
