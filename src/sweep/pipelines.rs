//! The pipelines of a repository's default branch: its CI files read from the mirror's HEAD
//! tree into a scratch directory in the cache and analysed as `keysweep inventory` does, one
//! row per long-lived credential use with its OIDC migration status.

use crate::pipeline::scratch::Scratch;
use crate::pipeline::{inventory, MigrationStatus};
use crate::source::git::tree;
use serde::Serialize;
use std::path::Path;

/// One pipeline use of a long-lived credential at the default branch's tip.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PipelineUse {
    pub repo: String,
    /// The secret's name (`AWS_SECRET_ACCESS_KEY`, a GitLab variable), never a value.
    pub secret: String,
    pub provider: String,
    pub path: String,
    pub line: i64,
    pub job: Option<String>,
    /// `migratable-now`, `blocked` or `no-oidc-alternative`.
    pub status: String,
    pub replacement: String,
    pub blocked_by: Option<String>,
}

/// A repository with more YAML files than this is read in part (path order).
const MAX_CI_FILES: usize = 2000;

/// Analyses the pipelines at the mirror's HEAD, its files laid out under `scratch_parent` (in
/// the cache: the files may hold secrets). An empty repository has none.
pub fn analyze(
    name: &str,
    repo: &gix::Repository,
    scratch_parent: &Path,
) -> Result<Vec<PipelineUse>, String> {
    let Ok(commit) = repo.head_commit() else {
        return Ok(Vec::new());
    };
    let tree_id = commit.tree_id().map_err(|e| e.to_string())?.detach();
    let leaves = tree::flatten(&repo.objects, &tree_id)?;
    let files = tree::yaml_blobs(leaves.into_iter().map(|(p, (id, leaf))| (p, id, leaf)));
    let scratch = Scratch::new(Some(scratch_parent)).map_err(|e| e.to_string())?;
    let mut any = false;
    for (path, id) in files.iter().take(MAX_CI_FILES) {
        let blob = repo.find_object(*id).map_err(|e| format!("{path}: {e}"))?;
        any |= scratch.write(path, &blob.data).map_err(|e| e.to_string())?;
    }
    if !any {
        return Ok(Vec::new());
    }
    let report = crate::pipeline::analyze(scratch.path());
    let inv = inventory::inventory(&report);
    let mut uses: Vec<PipelineUse> = inv
        .repositories
        .iter()
        .flat_map(|r| r.secrets.iter())
        .flat_map(|s| {
            s.uses.iter().map(move |u| PipelineUse {
                repo: name.to_string(),
                secret: s.name.clone(),
                provider: u.provider.as_str().to_string(),
                path: u.path.clone(),
                line: u.line as i64,
                job: u.job.clone(),
                status: status_str(u.status).to_string(),
                replacement: u.replacement.clone(),
                blocked_by: u.blocked_by.clone(),
            })
        })
        .collect();
    uses.sort();
    uses.dedup();
    Ok(uses)
}

pub fn status_str(s: MigrationStatus) -> &'static str {
    match s {
        MigrationStatus::MigratableNow => "migratable-now",
        MigrationStatus::Blocked => "blocked",
        MigrationStatus::NoOidcAlternative => "no-oidc-alternative",
    }
}
