//! Pre-commit mode: the index entries that differ from HEAD's tree. Content comes from the
//! object database through each entry's id, never from the working tree, so what is scanned
//! is exactly what `git commit` would record.

use super::tree::{flatten, Leaf};
use super::GitError;
use gix::ObjectId;
use std::collections::HashMap;

pub struct StagedChanges {
    /// (path, blob, kind) of every staged entry that differs from HEAD.
    pub changed: Vec<(Vec<u8>, ObjectId, Leaf)>,
    /// HEAD's leaves by path (empty before the first commit).
    pub head: HashMap<Vec<u8>, (ObjectId, Leaf)>,
    pub entries: usize,
}

pub fn changes(repo: &gix::Repository) -> Result<StagedChanges, GitError> {
    if repo.is_bare() {
        return Err(GitError::Bare {
            path: repo.git_dir().to_path_buf(),
        });
    }
    let index = repo
        .index_or_empty()
        .map_err(|e| GitError::git("reading the index", e))?;
    let head = match repo.head_tree_id() {
        Ok(tree) => flatten(&repo.objects, &tree.detach())
            .map_err(|e| GitError::git("reading HEAD's tree", e))?,
        // No commit yet: every staged entry is new.
        Err(_) => HashMap::new(),
    };
    let mut changed = Vec::new();
    for e in index.entries() {
        let path = e.path(&index);
        let leaf = if e.mode == gix::index::entry::Mode::COMMIT {
            Leaf::Gitlink
        } else if e.mode == gix::index::entry::Mode::SYMLINK {
            Leaf::Link
        } else {
            Leaf::Blob
        };
        if head.get(path.as_ref() as &[u8]).map(|(id, _)| id) == Some(&e.id) {
            continue;
        }
        changed.push((path.to_vec(), e.id, leaf));
    }
    changed.dedup();
    Ok(StagedChanges {
        changed,
        head,
        entries: index.entries().len(),
    })
}
