//! Provenance of blobs: under which paths they appeared, which commit first introduced them at
//! each path, and which refs reach them. Computed from one walk of the commit graph, only for
//! the blobs that produced findings.

use super::tree::{introduced_by_commit, Leaf};
use super::GitError;
use crate::finding::Provenance;
use gix::objs::{Find, FindExt};
use gix::ObjectId;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The commit graph reachable from every ref (and HEAD).
pub struct Graph {
    pub ids: Vec<ObjectId>,
    pub trees: Vec<ObjectId>,
    /// Known parents (a parent missing from a shallow clone is left out).
    pub parents: Vec<Vec<u32>>,
    pub times: Vec<i64>,
    /// (ref name, commit index), HEAD first.
    pub tips: Vec<(String, u32)>,
}

/// Resolves every ref (and HEAD) to the commit it points to. Refs to other objects (a tag on a
/// blob) are left out.
pub fn tips(repo: &gix::Repository) -> Result<Vec<(String, ObjectId)>, GitError> {
    let mut out = Vec::new();
    if let Ok(id) = repo.head_id() {
        out.push(("HEAD".to_string(), id.detach()));
    }
    let platform = repo
        .references()
        .map_err(|e| GitError::git("reading refs", e))?;
    let all = platform
        .all()
        .map_err(|e| GitError::git("reading refs", e))?;
    for r in all {
        let Ok(mut r) = r else { continue };
        let name = r.name().as_bstr().to_string();
        if let Ok(id) = r.peel_to_id() {
            out.push((name, id.detach()));
        }
    }
    Ok(out)
}

impl Graph {
    /// Walks every commit reachable from `tips` once. Missing commits (shallow boundary) and
    /// tips that are not commits are skipped.
    pub fn walk(repo: &gix::Repository, tips: &[(String, ObjectId)]) -> Graph {
        let mut g = Graph {
            ids: Vec::new(),
            trees: Vec::new(),
            parents: Vec::new(),
            times: Vec::new(),
            tips: Vec::new(),
        };
        let mut index: HashMap<ObjectId, u32, gix::hashtable::hash::Builder> = HashMap::default();
        let mut raw_parents: Vec<Vec<ObjectId>> = Vec::new();
        let mut stack: Vec<ObjectId> = tips.iter().map(|(_, id)| *id).collect();
        let mut buf = Vec::new();
        let mut seen: HashSet<ObjectId, gix::hashtable::hash::Builder> = HashSet::default();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Ok(mut commit) = repo.objects.find_commit_iter(&id, &mut buf) else {
                continue;
            };
            let Ok(tree) = commit.tree_id() else { continue };
            let parents: Vec<ObjectId> = commit.parent_ids().collect();
            let time = commit.committer().map(|s| s.seconds()).unwrap_or(0);
            index.insert(id, g.ids.len() as u32);
            g.ids.push(id);
            g.trees.push(tree);
            g.times.push(time);
            for p in &parents {
                if !seen.contains(p) {
                    stack.push(*p);
                }
            }
            raw_parents.push(parents);
        }
        g.parents = raw_parents
            .into_iter()
            .map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect())
            .collect();
        g.tips = tips
            .iter()
            .filter_map(|(name, id)| index.get(id).map(|&i| (name.clone(), i)))
            .collect();
        g
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn parent_trees(&self, i: usize) -> Vec<ObjectId> {
        self.parents[i]
            .iter()
            .map(|&p| self.trees[p as usize])
            .collect()
    }

    /// For every commit, in parallel: the leaves it introduced that `want` accepts.
    pub fn introductions(
        &self,
        repo: &gix::ThreadSafeRepository,
        commits: &[u32],
        want: &(dyn Fn(&ObjectId, Leaf) -> bool + Sync),
    ) -> Vec<(u32, Vec<u8>, ObjectId, Leaf)> {
        commits
            .par_iter()
            .map_init(
                || repo.to_thread_local(),
                |repo, &i| {
                    let parents = self.parent_trees(i as usize);
                    introduced_by_commit(&repo.objects, &self.trees[i as usize], &parents, want)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(path, id, leaf)| (i, path, id, leaf))
                        .collect::<Vec<_>>()
                },
            )
            .flatten()
            .collect()
    }

    /// Names of the refs from which any of `commits` is reachable.
    pub fn refs_reaching(&self, children: &[Vec<u32>], commits: &BTreeSet<u32>) -> Vec<String> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<u32> = commits.iter().copied().collect();
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut seen[c as usize], true) {
                continue;
            }
            stack.extend(children[c as usize].iter().copied());
        }
        let mut names: Vec<String> = self
            .tips
            .iter()
            .filter(|(_, i)| seen[*i as usize])
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn children(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.len()];
        for (c, ps) in self.parents.iter().enumerate() {
            for &p in ps {
                out[p as usize].push(c as u32);
            }
        }
        out
    }
}

/// Author, date and summary of a commit, as a `Provenance` with the blob-specific fields unset.
pub fn commit_provenance(odb: &impl Find, id: &ObjectId) -> Provenance {
    let mut buf = Vec::new();
    let mut p = Provenance {
        commit: id.to_string(),
        author_name: String::new(),
        author_email: String::new(),
        date: String::new(),
        summary: String::new(),
        refs: Vec::new(),
        present_at_head: false,
        unreachable: false,
    };
    if let Ok(c) = odb.find_commit(id, &mut buf) {
        if let Ok(a) = c.author() {
            p.author_name = a.name.to_string();
            p.author_email = a.email.to_string();
            if let Ok(t) = a.time() {
                p.date = t.format_or_unix(gix::date::time::format::ISO8601_STRICT);
            }
        }
        p.summary = c.message().summary().to_string();
    }
    p
}

/// Where each wanted blob came from.
pub struct BlobOrigins {
    /// blob -> path -> (first introducing commit's provenance with refs filled in, its
    /// commit time).
    pub by_blob: HashMap<ObjectId, BTreeMap<Vec<u8>, (Provenance, i64)>>,
}

/// Walks the history once and attributes every wanted blob.
pub fn origins(
    repo: &gix::Repository,
    wanted: &HashSet<ObjectId>,
) -> Result<(BlobOrigins, usize), GitError> {
    let tips = tips(repo)?;
    let graph = Graph::walk(repo, &tips);
    let sync = repo.clone().into_sync();
    let all: Vec<u32> = (0..graph.len() as u32).collect();
    let want = |id: &ObjectId, leaf: Leaf| leaf == Leaf::Blob && wanted.contains(id);
    let found = graph.introductions(&sync, &all, &want);
    // blob -> path -> every introducing commit
    let mut intro: HashMap<ObjectId, BTreeMap<Vec<u8>, Vec<u32>>> = HashMap::new();
    for (c, path, id, _) in found {
        intro
            .entry(id)
            .or_default()
            .entry(path)
            .or_default()
            .push(c);
    }
    let children = graph.children();
    let mut by_blob = HashMap::new();
    let mut cache: HashMap<u32, Provenance> = HashMap::new();
    for (blob, paths) in intro {
        let all_commits: BTreeSet<u32> = paths.values().flatten().copied().collect();
        let refs = graph.refs_reaching(&children, &all_commits);
        let mut per_path = BTreeMap::new();
        for (path, commits) in paths {
            let first = *commits
                .iter()
                .min_by_key(|&&c| (graph.times[c as usize], graph.ids[c as usize]))
                .expect("at least one commit");
            let mut p = cache
                .entry(first)
                .or_insert_with(|| commit_provenance(&repo.objects, &graph.ids[first as usize]))
                .clone();
            p.refs = refs.clone();
            per_path.insert(path, (p, graph.times[first as usize]));
        }
        by_blob.insert(blob, per_path);
    }
    Ok((BlobOrigins { by_blob }, graph.len()))
}

/// Provenance of a blob no ref reaches (dropped commits, stashes dropped, rewritten history).
pub fn unreachable() -> Provenance {
    Provenance {
        commit: String::new(),
        author_name: String::new(),
        author_email: String::new(),
        date: String::new(),
        summary: String::new(),
        refs: Vec::new(),
        present_at_head: false,
        unreachable: true,
    }
}
