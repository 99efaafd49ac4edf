//! Planning files held in memory: `rotate --open-pr` reads the default branch through the
//! API, never from a checkout. The pipeline analysis and the planner read from disk, so the
//! files are laid out in a private temporary directory, planned there with the same
//! [`super::plan`] every other caller uses, and the directory is removed again. Only the
//! CI files are written (workflows and `.keysweep.toml`), never credentials.

use std::collections::BTreeMap;

use super::{plan, Options, Plan, RotateError};
use crate::pipeline::analyze;
use crate::pipeline::scratch::Scratch;

/// The plan for a repository whose files are `files` (path relative to the repository root
/// -> content). `FileChange::after` holds the edited contents; `RepoPlan::root` names a
/// directory that no longer exists (write the changes elsewhere, e.g. through the API).
pub fn plan_files(files: &BTreeMap<String, String>, opts: &Options) -> Result<Plan, RotateError> {
    let io = |p: &std::path::Path, source| RotateError::Io {
        path: p.display().to_string(),
        source,
    };
    let scratch = Scratch::new(None).map_err(|e| io(&std::env::temp_dir(), e))?;
    for (rel, text) in files {
        scratch
            .write(rel, text.as_bytes())
            .map_err(|e| io(&scratch.path().join(rel), e))?;
    }
    let report = analyze(scratch.path());
    plan(scratch.path(), &report, opts)
}
