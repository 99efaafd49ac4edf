//! The pipelines of a repository's default branch: its CI files read from the mirror's HEAD
//! tree into a scratch directory and analysed as `keysweep inventory` does, one row per
//! long-lived credential use with its OIDC migration status.

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

/// CI files are small; anything bigger is not one.
const MAX_CI_FILE: u64 = 1 << 20;
const MAX_CI_FILES: usize = 2000;

fn is_ci_file(path: &str) -> bool {
    // GitLab `include: local:` and local actions can live anywhere: every YAML file comes along.
    path.starts_with(".github/") || path.ends_with(".yml") || path.ends_with(".yaml")
}

/// Analyses the pipelines at the mirror's HEAD. An empty repository has none.
pub fn analyze(
    name: &str,
    repo: &gix::Repository,
    scratch: &Path,
) -> Result<Vec<PipelineUse>, String> {
    let Ok(commit) = repo.head_commit() else {
        return Ok(Vec::new());
    };
    let tree_id = commit.tree_id().map_err(|e| e.to_string())?.detach();
    let mut files: Vec<(String, gix::ObjectId)> = tree::flatten(&repo.objects, &tree_id)?
        .into_iter()
        .filter(|(_, (_, leaf))| *leaf == tree::Leaf::Blob)
        .map(|(p, (id, _))| (String::from_utf8_lossy(&p).into_owned(), id))
        .filter(|(p, _)| is_ci_file(p) && !p.split('/').any(|c| c == ".." || c.is_empty()))
        .collect();
    files.sort();
    files.truncate(MAX_CI_FILES);
    let _ = std::fs::remove_dir_all(scratch);
    let result = extract_and_analyze(name, repo, scratch, &files);
    let _ = std::fs::remove_dir_all(scratch);
    result
}

fn extract_and_analyze(
    name: &str,
    repo: &gix::Repository,
    scratch: &Path,
    files: &[(String, gix::ObjectId)],
) -> Result<Vec<PipelineUse>, String> {
    std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
    let mut any = false;
    for (path, id) in files {
        let blob = repo.find_object(*id).map_err(|e| format!("{path}: {e}"))?;
        if blob.data.len() as u64 > MAX_CI_FILE {
            continue;
        }
        let dest = scratch.join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&dest, &blob.data).map_err(|e| e.to_string())?;
        any = true;
    }
    if !any {
        return Ok(Vec::new());
    }
    let report = crate::pipeline::analyze(scratch);
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
