//! The three git scans, driven through `Scanner::scan_blob` (binary check, detection, inline
//! allows, snippets) and `Scanner::group` (one finding per secret, deterministic order).

use super::provenance::{self, commit_provenance};
use super::range::RangeChanges;
use super::tree::{flatten, lookup, Leaf};
use super::{history, is_lfs_pointer, is_shallow, open, range, show_path, staged};
use super::{GitError, GitInfo, GitMode};
use crate::finding::{Finding, Location, Provenance};
use crate::scan::{BlobHits, ScanResult, ScanStats, Scanner, Suppressed};
use crate::source::{Skip, SkipReason};
use gix::objs::{Find, Kind, TreeRefIter};
use gix::ObjectId;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Scans a repository in the given mode.
pub fn run(scanner: &Scanner, path: &Path, mode: &GitMode) -> Result<ScanResult, GitError> {
    let started = Instant::now();
    let repo = open(path)?;
    let mut result = match mode {
        GitMode::History => scan_history(scanner, &repo)?,
        GitMode::Range { base, head } => scan_range(scanner, &repo, base, head)?,
        GitMode::Staged => scan_staged(scanner, &repo)?,
    };
    if let Some(info) = result.stats.git.as_mut() {
        info.mode = mode.name();
        info.git_dir = repo.git_dir().display().to_string();
        info.shallow = is_shallow(&repo);
    }
    result.stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(result)
}

/// The outcome of reading and scanning one blob.
enum Read {
    Scanned { bytes: u64, hits: BlobHits },
    Binary,
    Skipped(SkipReason, String),
}

fn scan_object(
    scanner: &Scanner,
    odb: &impl Find,
    id: &ObjectId,
    size: Option<u64>,
    buf: &mut Vec<u8>,
    suppressed: &mut Suppressed,
) -> Read {
    let max = scanner.settings().walk.max_file_size;
    let too_large =
        |n: u64| Read::Skipped(SkipReason::TooLarge, format!("{n} bytes > limit {max}"));
    if let Some(n) = size {
        if max > 0 && n > max {
            return too_large(n);
        }
    }
    let data = match odb.try_find(id, buf) {
        Ok(Some(d)) => d,
        Ok(None) => return Read::Skipped(SkipReason::CorruptObject, "object missing".into()),
        Err(e) => return Read::Skipped(SkipReason::CorruptObject, e.to_string()),
    };
    if data.kind != Kind::Blob {
        return Read::Skipped(
            SkipReason::CorruptObject,
            format!("expected a blob, found a {}", data.kind),
        );
    }
    let bytes = data.data;
    if max > 0 && bytes.len() as u64 > max {
        return too_large(bytes.len() as u64);
    }
    if is_lfs_pointer(bytes) {
        return Read::Skipped(
            SkipReason::LfsPointer,
            "content is on the LFS server".into(),
        );
    }
    match scanner.scan_blob(&id.to_string(), bytes, suppressed) {
        Ok(hits) => Read::Scanned {
            bytes: bytes.len() as u64,
            hits,
        },
        Err(SkipReason::Binary) => Read::Binary,
        Err(r) => Read::Skipped(r, String::new()),
    }
}

fn progress(scanner: &Scanner, total: u64) -> Option<indicatif::ProgressBar> {
    if !scanner.settings().progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} git history [{bar:30}] {pos}/{len} objects {msg} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    Some(bar)
}

/// One place a secret was found, before grouping.
struct Placed {
    rule: usize,
    secret: Vec<u8>,
    loc: Location,
    /// Orders introductions: the earliest is kept per (secret, path).
    time: i64,
    blob: ObjectId,
}

/// Keeps the earliest introduction of each secret at each path, marks whether each secret is
/// still in HEAD's tree, and groups.
fn finish(scanner: &Scanner, placed: Vec<Placed>, head_blobs: &HashSet<ObjectId>) -> Vec<Finding> {
    let mut present: HashSet<(usize, Vec<u8>)> = HashSet::new();
    for p in &placed {
        if head_blobs.contains(&p.blob) {
            present.insert((p.rule, p.secret.clone()));
        }
    }
    let mut best: BTreeMap<(usize, Vec<u8>, String), Placed> = BTreeMap::new();
    for p in placed {
        let key = (p.rule, p.secret.clone(), p.loc.path.clone());
        match best.get(&key) {
            Some(b) if (b.time, &b.loc) <= (p.time, &p.loc) => {}
            _ => {
                best.insert(key, p);
            }
        }
    }
    let hits: BlobHits = best
        .into_values()
        .map(|mut p| {
            let at_head = present.contains(&(p.rule, p.secret.clone()));
            if let Some(prov) = p.loc.provenance.as_mut() {
                prov.present_at_head = at_head;
            }
            (p.rule, p.secret, p.loc)
        })
        .collect();
    scanner.group([hits])
}

fn head_blob_set(repo: &gix::Repository, tree: Option<ObjectId>) -> HashSet<ObjectId> {
    let tree = tree.or_else(|| repo.head_tree_id().ok().map(|t| t.detach()));
    tree.and_then(|t| flatten(&repo.objects, &t).ok())
        .map(|m| m.into_values().map(|(id, _)| id).collect())
        .unwrap_or_default()
}

#[derive(Default)]
struct Part {
    blobs: u64,
    files: u64,
    bytes: u64,
    binary: u64,
    hits: Vec<(ObjectId, BlobHits)>,
    skips: Vec<Skip>,
    gitlinks: Vec<(Vec<u8>, ObjectId)>,
    suppressed: Suppressed,
}

fn scan_history(scanner: &Scanner, repo: &gix::Repository) -> Result<ScanResult, GitError> {
    let (ids, list_errors) = history::enumerate(repo)?;
    let sync = repo.clone().into_sync();
    let bar = progress(scanner, ids.len() as u64);
    let bytes_done = AtomicU64::new(0);
    let started = Instant::now();
    let hash_kind = repo.object_hash();
    let parts: Vec<Part> = ids
        .par_chunks(64)
        .map_init(
            || (sync.to_thread_local(), Vec::new()),
            |(repo, buf), chunk| {
                let mut part = Part::default();
                for id in chunk {
                    let header = match gix::odb::Header::try_header(&repo.objects, id) {
                        Ok(Some(h)) => h,
                        Ok(None) => continue,
                        Err(e) => {
                            part.skips.push(Skip {
                                path: format!("object {id}"),
                                reason: SkipReason::CorruptObject,
                                detail: Some(e.to_string()),
                            });
                            continue;
                        }
                    };
                    match header.kind() {
                        Kind::Blob => {
                            part.blobs += 1;
                            let read = scan_object(
                                scanner,
                                &repo.objects,
                                id,
                                Some(header.size()),
                                buf,
                                &mut part.suppressed,
                            );
                            match read {
                                Read::Scanned { bytes, hits } => {
                                    part.files += 1;
                                    part.bytes += bytes;
                                    bytes_done.fetch_add(bytes, Ordering::Relaxed);
                                    if !hits.is_empty() {
                                        part.hits.push((*id, hits));
                                    }
                                }
                                Read::Binary => part.binary += 1,
                                Read::Skipped(reason, detail) => part.skips.push(Skip {
                                    path: format!("blob {id}"),
                                    reason,
                                    detail: (!detail.is_empty()).then_some(detail),
                                }),
                            }
                        }
                        Kind::Tree => gitlinks(&repo.objects, id, hash_kind, buf, &mut part),
                        _ => {}
                    }
                }
                if let Some(b) = &bar {
                    b.inc(chunk.len() as u64);
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    let mb = bytes_done.load(Ordering::Relaxed) as f64 / 1e6;
                    b.set_message(format!("{mb:.0} MB, {:.0} MB/s", mb / secs));
                }
                part
            },
        )
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut stats = ScanStats::default();
    let mut hits = Vec::new();
    let mut skips: Vec<Skip> = list_errors
        .into_iter()
        .map(|e| Skip {
            path: "loose objects".into(),
            reason: SkipReason::CorruptObject,
            detail: Some(e),
        })
        .collect();
    let mut gitlinks: BTreeSet<(Vec<u8>, ObjectId)> = BTreeSet::new();
    let mut blobs = 0;
    let mut binary = 0;
    for p in parts {
        blobs += p.blobs;
        binary += p.binary;
        stats.files_scanned += p.files;
        stats.bytes_scanned += p.bytes;
        stats.suppressed.inline += p.suppressed.inline;
        stats.suppressed.allowlist += p.suppressed.allowlist;
        hits.extend(p.hits);
        skips.extend(p.skips);
        gitlinks.extend(p.gitlinks);
    }
    skips.extend(gitlinks.into_iter().map(|(name, id)| Skip {
        path: show_path(&name),
        reason: SkipReason::Submodule,
        detail: Some(format!("gitlink to commit {id}")),
    }));
    stats.record_skips(skips);
    if binary > 0 {
        *stats.skipped_counts.entry("binary".into()).or_default() += binary;
    }

    let mut commits = 0;
    let findings = if hits.is_empty() {
        Vec::new()
    } else {
        let wanted: HashSet<ObjectId> = hits.iter().map(|(id, _)| *id).collect();
        let (origins, walked) = provenance::origins(repo, &wanted)?;
        commits = walked as u64;
        let head_blobs = head_blob_set(repo, None);
        let mut placed = Vec::new();
        for (blob, blob_hits) in hits {
            let paths = origins.by_blob.get(&blob);
            let targets: Vec<(String, Provenance, i64)> = match paths {
                Some(paths) if !paths.is_empty() => paths
                    .iter()
                    .map(|(path, (prov, time))| (show_path(path), prov.clone(), *time))
                    .collect(),
                _ => vec![(
                    format!("(unreachable blob {blob})"),
                    provenance::unreachable(),
                    i64::MAX,
                )],
            };
            for (rule, secret, loc) in blob_hits {
                for (path, prov, time) in &targets {
                    let mut loc = loc.clone();
                    loc.path = path.clone();
                    loc.blob = Some(blob.to_string());
                    loc.provenance = Some(prov.clone());
                    placed.push(Placed {
                        rule,
                        secret: secret.clone(),
                        loc,
                        time: *time,
                        blob,
                    });
                }
            }
        }
        finish(scanner, placed, &head_blobs)
    };
    stats.git = Some(GitInfo {
        objects: ids.len() as u64,
        blobs,
        commits,
        ..GitInfo::default()
    });
    Ok(ScanResult {
        findings,
        stats,
        ..Default::default()
    })
}

/// Records the gitlinks (submodule entries) of a tree: their content is in another repository.
fn gitlinks(
    odb: &impl Find,
    id: &ObjectId,
    hash_kind: gix::hash::Kind,
    buf: &mut Vec<u8>,
    part: &mut Part,
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
            part.gitlinks.push((e.filename.to_vec(), e.oid.to_owned()));
        }
    }
}

/// Lines of a blob, without line breaks: what "the line already exists" compares.
fn line_set(bytes: &[u8]) -> HashSet<&[u8]> {
    bytes.split(|&b| b == b'\n').map(trim_cr).collect()
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

/// Drops the hits whose line exists unchanged in `old` (the base version of the same path).
fn new_lines_only(
    odb: &impl Find,
    new: &ObjectId,
    old: Option<ObjectId>,
    hits: BlobHits,
) -> BlobHits {
    let Some(old) = old else { return hits };
    let (mut b1, mut b2) = (Vec::new(), Vec::new());
    let (Ok(Some(new_data)), Ok(Some(old_data))) =
        (odb.try_find(new, &mut b1), odb.try_find(&old, &mut b2))
    else {
        return hits;
    };
    let old_lines = line_set(old_data.data);
    hits.into_iter()
        .filter(|(_, _, loc)| !old_lines.contains(line_at(new_data.data, loc.line)))
        .collect()
}

fn scan_range(
    scanner: &Scanner,
    repo: &gix::Repository,
    base: &str,
    head: &str,
) -> Result<ScanResult, GitError> {
    let RangeChanges {
        base_tree,
        head_tree,
        commits,
        introduced,
    } = range::changes(repo, base, head)?;
    let mut stats = ScanStats::default();
    let mut skips = Vec::new();
    let mut blobs: Vec<ObjectId> = Vec::new();
    for (path, id, leaf, _) in &introduced {
        match leaf {
            Leaf::Blob => blobs.push(*id),
            Leaf::Gitlink => skips.push(Skip {
                path: show_path(path),
                reason: SkipReason::Submodule,
                detail: Some(format!("gitlink to commit {id}")),
            }),
            Leaf::Link => skips.push(Skip {
                path: show_path(path),
                reason: SkipReason::Symlink,
                detail: None,
            }),
        }
    }
    blobs.sort();
    blobs.dedup();
    let sync = repo.clone().into_sync();
    let reads: Vec<(ObjectId, Read, Suppressed)> = blobs
        .par_iter()
        .map_init(
            || (sync.to_thread_local(), Vec::new()),
            |(repo, buf), id| {
                let mut sup = Suppressed::default();
                let r = scan_object(scanner, &repo.objects, id, None, buf, &mut sup);
                (*id, r, sup)
            },
        )
        .collect();
    let mut by_blob: HashMap<ObjectId, Read> = HashMap::new();
    for (id, r, sup) in reads {
        stats.suppressed.inline += sup.inline;
        stats.suppressed.allowlist += sup.allowlist;
        if let Read::Scanned { bytes, .. } = &r {
            stats.files_scanned += 1;
            stats.bytes_scanned += bytes;
        }
        by_blob.insert(id, r);
    }
    let head_blobs = head_blob_set(repo, Some(head_tree));
    let mut placed = Vec::new();
    let mut provs: HashMap<ObjectId, Provenance> = HashMap::new();
    for (order, (path, id, leaf, commit)) in introduced.iter().enumerate() {
        if *leaf != Leaf::Blob {
            continue;
        }
        let shown = show_path(path);
        match &by_blob[id] {
            Read::Scanned { hits, .. } if !hits.is_empty() => {
                let old = lookup(&repo.objects, &base_tree, path);
                let kept = new_lines_only(&repo.objects, id, old, hits.clone());
                let prov = provs
                    .entry(*commit)
                    .or_insert_with(|| commit_provenance(&repo.objects, commit))
                    .clone();
                for (rule, secret, mut loc) in kept {
                    loc.path = shown.clone();
                    loc.blob = Some(id.to_string());
                    loc.provenance = Some(prov.clone());
                    placed.push(Placed {
                        rule,
                        secret,
                        loc,
                        time: order as i64,
                        blob: *id,
                    });
                }
            }
            Read::Scanned { .. } => {}
            Read::Binary => *stats.skipped_counts.entry("binary".into()).or_default() += 1,
            Read::Skipped(reason, detail) => skips.push(Skip {
                path: shown,
                reason: *reason,
                detail: (!detail.is_empty()).then(|| detail.clone()),
            }),
        }
    }
    stats.record_skips(skips);
    stats.git = Some(GitInfo {
        blobs: blobs.len() as u64,
        commits: commits as u64,
        range: Some(format!("{base}..{head}")),
        ..GitInfo::default()
    });
    Ok(ScanResult {
        findings: finish(scanner, placed, &head_blobs),
        stats,
        ..Default::default()
    })
}

fn scan_staged(scanner: &Scanner, repo: &gix::Repository) -> Result<ScanResult, GitError> {
    let st = staged::changes(repo)?;
    let mut stats = ScanStats::default();
    let mut skips = Vec::new();
    let mut placed = Vec::new();
    let mut buf = Vec::new();
    let mut blobs = 0;
    for (path, id, leaf) in &st.changed {
        let shown = show_path(path);
        match leaf {
            Leaf::Gitlink => {
                skips.push(Skip {
                    path: shown,
                    reason: SkipReason::Submodule,
                    detail: Some(format!("gitlink to commit {id}")),
                });
                continue;
            }
            Leaf::Link => {
                skips.push(Skip {
                    path: shown,
                    reason: SkipReason::Symlink,
                    detail: None,
                });
                continue;
            }
            Leaf::Blob => {}
        }
        blobs += 1;
        let mut sup = Suppressed::default();
        match scan_object(scanner, &repo.objects, id, None, &mut buf, &mut sup) {
            Read::Scanned { bytes, hits } => {
                stats.files_scanned += 1;
                stats.bytes_scanned += bytes;
                let old = st
                    .head
                    .get(path)
                    .filter(|(_, l)| *l == Leaf::Blob)
                    .map(|(id, _)| *id);
                for (rule, secret, mut loc) in new_lines_only(&repo.objects, id, old, hits) {
                    loc.path = shown.clone();
                    loc.blob = Some(id.to_string());
                    placed.push(Placed {
                        rule,
                        secret,
                        loc,
                        time: 0,
                        blob: *id,
                    });
                }
            }
            Read::Binary => *stats.skipped_counts.entry("binary".into()).or_default() += 1,
            Read::Skipped(reason, detail) => skips.push(Skip {
                path: shown,
                reason,
                detail: (!detail.is_empty()).then_some(detail),
            }),
        }
        stats.suppressed.inline += sup.inline;
        stats.suppressed.allowlist += sup.allowlist;
    }
    stats.record_skips(skips);
    stats.git = Some(GitInfo {
        blobs,
        ..GitInfo::default()
    });
    let _ = st.entries;
    Ok(ScanResult {
        findings: finish(scanner, placed, &HashSet::new()),
        stats,
        ..Default::default()
    })
}
