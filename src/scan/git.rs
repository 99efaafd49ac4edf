//! Git scans: the sources in `source::git` enumerate blobs with their origin (object id; path
//! and commit where the source knows them) and read them in parallel; here each blob goes
//! through detection, and the blobs that produced findings get their provenance.

use super::{BlobHits, ScanResult, ScanStats, Scanner, Suppressed};
use crate::finding::{Finding, Location, Provenance};
use crate::source::git::blobs::{self, Unread};
use crate::source::git::provenance::{self, commit_provenance};
use crate::source::git::range::{self, RangeChanges};
use crate::source::git::tree::{lookup, Leaf};
use crate::source::git::{self as git, history, show_path, staged};
use crate::source::git::{GitError, GitInfo, GitMode};
use crate::source::{Skip, SkipReason};
use gix::ObjectId;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

impl Scanner {
    /// Scans a repository in the given mode.
    pub fn scan_git(&self, path: &Path, mode: &GitMode) -> Result<ScanResult, GitError> {
        let started = Instant::now();
        let repo = git::open(path)?;
        let mut result = match mode {
            GitMode::History => {
                let (ids, list_errors) = history::enumerate(&repo)?;
                self.scan_objects(&repo, &ids, list_errors)?
            }
            GitMode::Range { base, head } => self.scan_range(&repo, base, head)?,
            GitMode::Staged => self.scan_staged(&repo)?,
        };
        finish_stats(&mut result, &repo, mode.name(), started);
        Ok(result)
    }

    /// Scans the chosen objects of a repository as the history scan does (findings carry
    /// provenance: every path and introducing commit, refs, presence at HEAD). Objects that
    /// are not blobs are looked at only for gitlinks; ids absent from the repository are
    /// ignored. For a sweep that skips objects it has already scanned, list the candidates
    /// with [`git::blob_ids`] and pass the rest.
    pub fn scan_git_blobs(
        &self,
        path: &Path,
        ids: impl IntoIterator<Item = ObjectId>,
    ) -> Result<ScanResult, GitError> {
        let started = Instant::now();
        let repo = git::open(path)?;
        let mut seen = HashSet::new();
        let ids: Vec<ObjectId> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        let mut result = self.scan_objects(&repo, &ids, Vec::new())?;
        finish_stats(&mut result, &repo, "blobs", started);
        Ok(result)
    }

    fn scan_objects(
        &self,
        repo: &gix::Repository,
        ids: &[ObjectId],
        list_errors: Vec<String>,
    ) -> Result<ScanResult, GitError> {
        let bar = self.progress_bar(ids.len() as u64, super::Progress::GitObjects);
        let bytes_done = AtomicU64::new(0);
        let started = Instant::now();
        let read = blobs::read_objects(
            repo,
            ids,
            self.settings.walk.max_file_size,
            |tally: &mut Tally, id, bytes| match self.scan_blob(
                &id.to_string(),
                bytes,
                &mut tally.suppressed,
            ) {
                Ok(hits) => {
                    tally.files += 1;
                    tally.bytes += bytes.len() as u64;
                    bytes_done.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    if !hits.is_empty() {
                        tally.hits.push((*id, hits));
                    }
                }
                Err(SkipReason::Binary) => tally.binary += 1,
                Err(reason) => tally.skips.push(Skip {
                    path: format!("blob {id}"),
                    reason,
                    detail: None,
                }),
            },
            |objects| {
                if let Some(b) = &bar {
                    b.inc(objects);
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    let mb = bytes_done.load(Ordering::Relaxed) as f64 / 1e6;
                    b.set_message(format!("{mb:.0} MB, {:.0} MB/s", mb / secs));
                }
            },
        );
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
        let mut binary = 0;
        for t in read.states {
            binary += t.binary;
            stats.files_scanned += t.files;
            stats.bytes_scanned += t.bytes;
            stats.suppressed.inline += t.suppressed.inline;
            stats.suppressed.allowlist += t.suppressed.allowlist;
            hits.extend(t.hits);
            skips.extend(t.skips);
        }
        skips.extend(read.skips);
        stats.record_skips(skips);
        if binary > 0 {
            *stats.skipped_counts.entry("binary".into()).or_default() += binary;
        }
        let (findings, commits) = if hits.is_empty() {
            (Vec::new(), 0)
        } else {
            self.place_history_hits(repo, hits)?
        };
        stats.git = Some(GitInfo {
            objects: ids.len() as u64,
            blobs: read.blobs,
            commits,
            ..GitInfo::default()
        });
        Ok(ScanResult {
            findings,
            stats,
            ..Default::default()
        })
    }

    /// Attributes each blob with findings to every path and commit that introduced it (one
    /// walk of the commit graph, only for these blobs); returns the findings and the number
    /// of commits walked.
    fn place_history_hits(
        &self,
        repo: &gix::Repository,
        hits: Vec<(ObjectId, BlobHits)>,
    ) -> Result<(Vec<Finding>, u64), GitError> {
        let wanted: HashSet<ObjectId> = hits.iter().map(|(id, _)| *id).collect();
        let (origins, walked) = provenance::origins(repo, &wanted)?;
        let head_blobs = blobs::tree_blobs(repo, None);
        let mut placed = Vec::new();
        for (blob, blob_hits) in hits {
            let targets: Vec<(String, Provenance, i64)> = match origins.by_blob.get(&blob) {
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
        Ok((self.finish(placed, &head_blobs), walked as u64))
    }

    /// Reads and scans `ids` in parallel, in their order.
    fn read_and_scan(&self, repo: &gix::Repository, ids: &[ObjectId]) -> Vec<(Read, Suppressed)> {
        blobs::read_each(
            repo,
            ids,
            self.settings.walk.max_file_size,
            |id, content| {
                let mut sup = Suppressed::default();
                let read = match content {
                    Err(u) => Read::Skipped(u),
                    Ok(bytes) => match self.scan_blob(&id.to_string(), bytes, &mut sup) {
                        Ok(hits) => Read::Scanned {
                            bytes: bytes.len() as u64,
                            hits,
                        },
                        Err(SkipReason::Binary) => Read::Binary,
                        Err(reason) => Read::Skipped(Unread {
                            reason,
                            detail: String::new(),
                        }),
                    },
                };
                (read, sup)
            },
        )
    }

    fn scan_range(
        &self,
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
        let mut ids: Vec<ObjectId> = Vec::new();
        for (path, id, leaf, _) in &introduced {
            match leaf {
                Leaf::Blob => ids.push(*id),
                other => skips.push(leaf_skip(path, id, *other)),
            }
        }
        ids.sort();
        ids.dedup();
        let mut by_blob: HashMap<ObjectId, Read> = HashMap::new();
        for (id, (read, sup)) in ids.iter().zip(self.read_and_scan(repo, &ids)) {
            stats.add_suppressed(&sup);
            if let Read::Scanned { bytes, .. } = &read {
                stats.files_scanned += 1;
                stats.bytes_scanned += bytes;
            }
            by_blob.insert(*id, read);
        }
        let head_blobs = blobs::tree_blobs(repo, Some(head_tree));
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
                    let kept = new_lines_only(repo, id, old, hits.clone());
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
                Read::Skipped(u) => skips.push(u.skip(shown)),
            }
        }
        stats.record_skips(skips);
        stats.git = Some(GitInfo {
            blobs: ids.len() as u64,
            commits: commits as u64,
            range: Some(format!("{base}..{head}")),
            ..GitInfo::default()
        });
        Ok(ScanResult {
            findings: self.finish(placed, &head_blobs),
            stats,
            ..Default::default()
        })
    }

    fn scan_staged(&self, repo: &gix::Repository) -> Result<ScanResult, GitError> {
        let st = staged::changes(repo)?;
        let mut stats = ScanStats::default();
        let mut skips = Vec::new();
        let mut placed = Vec::new();
        let mut changed = Vec::new();
        for (path, id, leaf) in &st.changed {
            match leaf {
                Leaf::Blob => changed.push((path, *id)),
                other => skips.push(leaf_skip(path, id, *other)),
            }
        }
        // One read per staged path (not per distinct blob), as the counts report them.
        let ids: Vec<ObjectId> = changed.iter().map(|(_, id)| *id).collect();
        for ((path, id), (read, sup)) in changed.iter().zip(self.read_and_scan(repo, &ids)) {
            let shown = show_path(path);
            stats.add_suppressed(&sup);
            match read {
                Read::Scanned { bytes, hits } => {
                    stats.files_scanned += 1;
                    stats.bytes_scanned += bytes;
                    let old = st
                        .head
                        .get(*path)
                        .filter(|(_, l)| *l == Leaf::Blob)
                        .map(|(id, _)| *id);
                    for (rule, secret, mut loc) in new_lines_only(repo, id, old, hits) {
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
                Read::Skipped(u) => skips.push(u.skip(shown)),
            }
        }
        stats.record_skips(skips);
        stats.git = Some(GitInfo {
            blobs: ids.len() as u64,
            ..GitInfo::default()
        });
        Ok(ScanResult {
            findings: self.finish(placed, &HashSet::new()),
            stats,
            ..Default::default()
        })
    }

    /// Keeps the earliest introduction of each secret at each path, marks whether each secret
    /// is still in HEAD's tree, and groups.
    fn finish(&self, placed: Vec<Placed>, head_blobs: &HashSet<ObjectId>) -> Vec<Finding> {
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
        self.group([hits])
    }
}

fn finish_stats(result: &mut ScanResult, repo: &gix::Repository, mode: &'static str, t: Instant) {
    if let Some(info) = result.stats.git.as_mut() {
        info.mode = mode;
        info.git_dir = repo.git_dir().display().to_string();
        info.shallow = git::is_shallow(repo);
    }
    result.stats.elapsed_ms = t.elapsed().as_millis() as u64;
}

/// Per-chunk tally of the history scan.
#[derive(Default)]
struct Tally {
    files: u64,
    bytes: u64,
    binary: u64,
    hits: Vec<(ObjectId, BlobHits)>,
    skips: Vec<Skip>,
    suppressed: Suppressed,
}

/// The outcome of reading and scanning one blob.
enum Read {
    Scanned { bytes: u64, hits: BlobHits },
    Binary,
    Skipped(Unread),
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

fn leaf_skip(path: &[u8], id: &ObjectId, leaf: Leaf) -> Skip {
    let (reason, detail) = match leaf {
        Leaf::Gitlink => (
            SkipReason::Submodule,
            Some(format!("gitlink to commit {id}")),
        ),
        _ => (SkipReason::Symlink, None),
    };
    Skip {
        path: show_path(path),
        reason,
        detail,
    }
}

/// Drops the hits whose line exists unchanged in `old` (the base version of the same path).
fn new_lines_only(
    repo: &gix::Repository,
    new: &ObjectId,
    old: Option<ObjectId>,
    hits: BlobHits,
) -> BlobHits {
    let Some(old) = old else { return hits };
    let lines: Vec<usize> = hits.iter().map(|(_, _, loc)| loc.line).collect();
    let in_base = blobs::lines_in_base(&repo.objects, new, &old, &lines);
    hits.into_iter()
        .zip(in_base)
        .filter(|(_, old)| !old)
        .map(|(h, _)| h)
        .collect()
}
