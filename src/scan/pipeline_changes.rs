//! The pipeline audit of a change: the PR check (`--range BASE..HEAD`) and the pre-commit hook
//! (`--staged`). The CI files of the new revision (HEAD of the range, or the index) are
//! analysed exactly as a working-tree scan analyses them, includes and local actions read from
//! that same revision, and only the credential uses the old revision (BASE, or HEAD's tree)
//! did not have are kept: a use that already existed belongs to the working-tree scan and the
//! baseline, not to the change.
//!
//! The analysis reads files from a directory, so each revision's YAML files are written to a
//! private temporary directory (0700, removed when done). Changes that touch no YAML file skip
//! all of this: most pull requests cost nothing here.

use crate::ci_findings::{self, CiFinding, CiResult};
use crate::pipeline;
use crate::pipeline::scratch::Scratch;
use crate::source::git::{self, range, tree, GitError, GitMode};
use gix::objs::FindExt;
use gix::ObjectId;
use globset::GlobSet;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// What one revision holds: YAML paths (`/`-separated) and their blobs.
type Snapshot = BTreeMap<String, ObjectId>;

/// The credential uses the change adds, with how many were allowed inline. `None` when the
/// change touches no YAML file (nothing can have been added).
pub(crate) fn new_uses(
    repo_path: &Path,
    mode: &GitMode,
    exclude: &GlobSet,
) -> Result<Option<(CiResult, u64)>, GitError> {
    let repo = git::open(repo_path)?;
    let (before, after) = match mode {
        GitMode::History => return Ok(None),
        GitMode::Range { base, head } => {
            let base = range::resolve(&repo, base, "base revision")?;
            let head = range::resolve(&repo, head, "head revision")?;
            (commit_snapshot(&repo, base)?, commit_snapshot(&repo, head)?)
        }
        GitMode::Staged => (head_snapshot(&repo)?, index_snapshot(&repo)?),
    };
    let changed = after.iter().any(|(p, id)| before.get(p) != Some(id));
    if !changed {
        return Ok(None);
    }
    let old = analyze(&repo, &before, exclude)?;
    let (mut new, allowed) = analyze_with_allows(&repo, &after, exclude)?;
    let existing: HashSet<&str> = old
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    new.findings
        .retain(|f| !existing.contains(f.fingerprint.as_str()));
    // Problems in files the change did not touch are the working tree's, not the change's.
    new.diagnostics
        .retain(|d| after.get(&d.path) != before.get(&d.path));
    Ok(Some((new, allowed)))
}

fn tree_snapshot(repo: &gix::Repository, tree_id: ObjectId) -> Result<Snapshot, GitError> {
    let leaves =
        tree::flatten(&repo.objects, &tree_id).map_err(|e| GitError::git("reading a tree", e))?;
    Ok(tree::yaml_blobs(
        leaves.into_iter().map(|(p, (id, leaf))| (p, id, leaf)),
    ))
}

fn commit_snapshot(repo: &gix::Repository, commit: ObjectId) -> Result<Snapshot, GitError> {
    let mut buf = Vec::new();
    let tree_id = repo
        .objects
        .find_commit_iter(&commit, &mut buf)
        .ok()
        .and_then(|mut c| c.tree_id().ok())
        .ok_or_else(|| GitError::git("reading a commit", commit.to_string()))?;
    tree_snapshot(repo, tree_id)
}

/// HEAD's tree; empty before the first commit.
fn head_snapshot(repo: &gix::Repository) -> Result<Snapshot, GitError> {
    match repo.head_tree_id() {
        Ok(tree) => tree_snapshot(repo, tree.detach()),
        Err(_) => Ok(Snapshot::new()),
    }
}

/// What `git commit` would record: every index entry (content by id, never the work tree).
fn index_snapshot(repo: &gix::Repository) -> Result<Snapshot, GitError> {
    let index = repo
        .index_or_empty()
        .map_err(|e| GitError::git("reading the index", e))?;
    let leaves = index.entries().iter().map(|e| {
        let leaf = if e.mode == gix::index::entry::Mode::COMMIT {
            tree::Leaf::Gitlink
        } else if e.mode == gix::index::entry::Mode::SYMLINK {
            tree::Leaf::Link
        } else {
            tree::Leaf::Blob
        };
        (e.path(&index).to_vec(), e.id, leaf)
    });
    Ok(tree::yaml_blobs(leaves))
}

/// The snapshot's files laid out for the pipeline analysis.
fn materialize(repo: &gix::Repository, snapshot: &Snapshot) -> Result<Scratch, GitError> {
    let dir = Scratch::new(None).map_err(|e| GitError::git("creating a temporary directory", e))?;
    let mut buf = Vec::new();
    for (path, id) in snapshot {
        if let Ok(blob) = repo.objects.find_blob(id, &mut buf) {
            dir.write(path, blob.data)
                .map_err(|e| GitError::git(format!("writing {path}"), e))?;
        }
    }
    Ok(dir)
}

fn analyze(
    repo: &gix::Repository,
    snapshot: &Snapshot,
    exclude: &GlobSet,
) -> Result<CiResult, GitError> {
    analyze_with_allows(repo, snapshot, exclude).map(|(r, _)| r)
}

/// The analysis of one revision, paths relative to the repository (as a working-tree scan of
/// the repository shows them, so fingerprints and baselines agree), inline allows applied.
fn analyze_with_allows(
    repo: &gix::Repository,
    snapshot: &Snapshot,
    exclude: &GlobSet,
) -> Result<(CiResult, u64), GitError> {
    let dir = materialize(repo, snapshot)?;
    let report = pipeline::analyze_excluding(dir.path(), &|rel| exclude.is_match(rel));
    let mut out = CiResult {
        files_analyzed: report.files_analyzed,
        diagnostics: report.diagnostics,
        ..CiResult::default()
    };
    let allowed = report.allowed_inline;
    for f in report.findings {
        out.findings.push(CiFinding {
            fingerprint: ci_findings::fingerprint(&f),
            finding: f,
        });
    }
    Ok((out, allowed))
}
