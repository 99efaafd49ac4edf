//! Blob enumerators: the git sources hand blob content, with where it came from, to a caller's
//! visitor. Inflating is the expensive part of a git scan, so it runs in parallel here, each
//! rayon worker with its own thread-local `gix` handle and buffer; the caller (the scan) decides
//! what to do with the bytes and never reads the object database itself.

use super::tree::flatten;
use super::{is_lfs_pointer, show_path};
use crate::source::{Skip, SkipReason};
use gix::objs::{Find, Kind, TreeRefIter};
use gix::ObjectId;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashSet};

/// Why a blob's content was not handed to the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub reason: SkipReason,
    /// Empty when the reason says it all.
    pub detail: String,
}

impl Unread {
    fn new(reason: SkipReason, detail: impl Into<String>) -> Unread {
        Unread {
            reason,
            detail: detail.into(),
        }
    }

    /// The skip to report for this blob, shown as `path`.
    pub fn skip(&self, path: String) -> Skip {
        Skip {
            path,
            reason: self.reason,
            detail: (!self.detail.is_empty()).then(|| self.detail.clone()),
        }
    }
}

/// Reads one blob into `buf`. `max` is the size limit (0: none); `size` is the size from the
/// object header when it is already known, so a too-large blob is refused before inflating.
/// LFS pointers are refused: their content is on the LFS server.
pub fn read<'b>(
    odb: &impl Find,
    id: &ObjectId,
    size: Option<u64>,
    max: u64,
    buf: &'b mut Vec<u8>,
) -> Result<&'b [u8], Unread> {
    let too_large = |n: u64| Unread::new(SkipReason::TooLarge, format!("{n} bytes > limit {max}"));
    if let Some(n) = size {
        if max > 0 && n > max {
            return Err(too_large(n));
        }
    }
    let data = match odb.try_find(id, buf) {
        Ok(Some(d)) => d,
        Ok(None) => return Err(Unread::new(SkipReason::CorruptObject, "object missing")),
        Err(e) => return Err(Unread::new(SkipReason::CorruptObject, e.to_string())),
    };
    if data.kind != Kind::Blob {
        return Err(Unread::new(
            SkipReason::CorruptObject,
            format!("expected a blob, found a {}", data.kind),
        ));
    }
    let bytes = data.data;
    if max > 0 && bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    if is_lfs_pointer(bytes) {
        return Err(Unread::new(
            SkipReason::LfsPointer,
            "content is on the LFS server",
        ));
    }
    Ok(bytes)
}

/// Reads `ids` in parallel and calls `visit` with each one's content (or why it was not read),
/// returning the visitor's results in the order of `ids`.
pub fn read_each<T: Send>(
    repo: &gix::Repository,
    ids: &[ObjectId],
    max: u64,
    visit: impl Fn(&ObjectId, Result<&[u8], Unread>) -> T + Sync,
) -> Vec<T> {
    let sync = repo.clone().into_sync();
    ids.par_iter()
        .map_init(
            || (sync.to_thread_local(), Vec::new()),
            |(repo, buf), id| visit(id, read(&repo.objects, id, None, max, buf)),
        )
        .collect()
}

/// What reading a set of objects saw besides the blobs' content.
#[derive(Debug)]
pub struct ObjectsRead<S> {
    /// The visitor's state, one per chunk of objects.
    pub states: Vec<S>,
    /// Blobs among the objects.
    pub blobs: u64,
    /// Objects and blobs that could not be read, and gitlinks (submodule entries: their content
    /// is in another repository), sorted.
    pub skips: Vec<Skip>,
}

#[derive(Default)]
struct Chunk<S> {
    state: S,
    blobs: u64,
    skips: Vec<Skip>,
    gitlinks: Vec<(Vec<u8>, ObjectId)>,
}

/// Reads every blob among `ids` (objects of any kind, in pack order for the delta caches) in
/// parallel chunks. `visit` gets a chunk's state, the blob id and its content; `chunk_done`
/// is called with the number of objects after each chunk (for a progress bar). Trees are
/// looked at only for gitlinks.
pub fn read_objects<S: Default + Send>(
    repo: &gix::Repository,
    ids: &[ObjectId],
    max: u64,
    visit: impl Fn(&mut S, &ObjectId, &[u8]) + Sync,
    chunk_done: impl Fn(u64) + Sync,
) -> ObjectsRead<S> {
    let sync = repo.clone().into_sync();
    let hash_kind = repo.object_hash();
    let chunks: Vec<Chunk<S>> = ids
        .par_chunks(64)
        .map_init(
            || (sync.to_thread_local(), Vec::new()),
            |(repo, buf), ids| {
                let mut chunk = Chunk::<S>::default();
                for id in ids {
                    let header = match gix::odb::Header::try_header(&repo.objects, id) {
                        Ok(Some(h)) => h,
                        Ok(None) => continue,
                        Err(e) => {
                            chunk.skips.push(Skip {
                                path: format!("object {id}"),
                                reason: SkipReason::CorruptObject,
                                detail: Some(e.to_string()),
                            });
                            continue;
                        }
                    };
                    match header.kind() {
                        Kind::Blob => {
                            chunk.blobs += 1;
                            match read(&repo.objects, id, Some(header.size()), max, buf) {
                                Ok(bytes) => visit(&mut chunk.state, id, bytes),
                                Err(u) => chunk.skips.push(u.skip(format!("blob {id}"))),
                            }
                        }
                        Kind::Tree => {
                            gitlinks(&repo.objects, id, hash_kind, buf, &mut chunk.gitlinks)
                        }
                        _ => {}
                    }
                }
                chunk_done(ids.len() as u64);
                chunk
            },
        )
        .collect();
    let mut out = ObjectsRead {
        states: Vec::with_capacity(chunks.len()),
        blobs: 0,
        skips: Vec::new(),
    };
    let mut links: BTreeSet<(Vec<u8>, ObjectId)> = BTreeSet::new();
    for c in chunks {
        out.states.push(c.state);
        out.blobs += c.blobs;
        out.skips.extend(c.skips);
        links.extend(c.gitlinks);
    }
    out.skips.extend(links.into_iter().map(|(name, id)| Skip {
        path: show_path(&name),
        reason: SkipReason::Submodule,
        detail: Some(format!("gitlink to commit {id}")),
    }));
    out
}

/// Records the gitlinks (submodule entries) of a tree.
fn gitlinks(
    odb: &impl Find,
    id: &ObjectId,
    hash_kind: gix::hash::Kind,
    buf: &mut Vec<u8>,
    out: &mut Vec<(Vec<u8>, ObjectId)>,
) {
    let Ok(Some(data)) = odb.try_find(id, buf) else {
        return;
    };
    // Cheap pre-check: a gitlink entry starts with its mode, "160000 ".
    if memchr::memmem::find(data.data, b"160000 ").is_none() {
        return;
    }
    for e in TreeRefIter::from_bytes(data.data, hash_kind).flatten() {
        if e.mode.is_commit() {
            out.push((e.filename.to_vec(), e.oid.to_owned()));
        }
    }
}

/// The blob ids of `ids`, by their object headers (no content is inflated). Objects whose
/// header cannot be read are left out.
pub fn blobs_among(repo: &gix::Repository, ids: &[ObjectId]) -> Vec<ObjectId> {
    let sync = repo.clone().into_sync();
    ids.par_chunks(256)
        .map_init(
            || sync.to_thread_local(),
            |repo, ids| {
                ids.iter()
                    .filter(|id| {
                        matches!(
                            gix::odb::Header::try_header(&repo.objects, id),
                            Ok(Some(h)) if h.kind() == Kind::Blob
                        )
                    })
                    .copied()
                    .collect::<Vec<_>>()
            },
        )
        .flatten()
        .collect()
}

/// The blobs of HEAD's tree (or of `tree`): what "still present at HEAD" compares against.
pub fn tree_blobs(repo: &gix::Repository, tree: Option<ObjectId>) -> HashSet<ObjectId> {
    let tree = tree.or_else(|| repo.head_tree_id().ok().map(|t| t.detach()));
    tree.and_then(|t| flatten(&repo.objects, &t).ok())
        .map(|m| m.into_values().map(|(id, _)| id).collect())
        .unwrap_or_default()
}

/// For each of `lines` (1-based lines of blob `new`), whether it exists unchanged in blob `old`
/// (the base version of the same path). Unreadable blobs count as having no old lines.
pub fn lines_in_base(
    odb: &impl Find,
    new: &ObjectId,
    old: &ObjectId,
    lines: &[usize],
) -> Vec<bool> {
    let (mut b1, mut b2) = (Vec::new(), Vec::new());
    let (Ok(Some(new_data)), Ok(Some(old_data))) =
        (odb.try_find(new, &mut b1), odb.try_find(old, &mut b2))
    else {
        return vec![false; lines.len()];
    };
    let old_lines: HashSet<&[u8]> = old_data.data.split(|&b| b == b'\n').map(trim_cr).collect();
    lines
        .iter()
        .map(|&n| old_lines.contains(line_at(new_data.data, n)))
        .collect()
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn line_at(bytes: &[u8], line: usize) -> &[u8] {
    bytes
        .split(|&b| b == b'\n')
        .nth(line.saturating_sub(1))
        .map(trim_cr)
        .unwrap_or_default()
}
