//! PR mode: the commits in `BASE..HEAD` and the blobs they introduced.

use super::tree::{introduced_by_commit, Leaf};
use super::{fetch_hint, is_shallow, GitError};
use gix::objs::FindExt;
use gix::ObjectId;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// What a range introduced.
pub struct RangeChanges {
    pub base_tree: ObjectId,
    pub head_tree: ObjectId,
    pub commits: usize,
    /// (path, blob, kind, first commit in the range that introduced it at that path).
    pub introduced: Vec<(Vec<u8>, ObjectId, Leaf, ObjectId)>,
}

struct Node {
    tree: ObjectId,
    parents: Vec<ObjectId>,
    time: i64,
}

fn load(repo: &gix::Repository, id: &ObjectId, buf: &mut Vec<u8>) -> Option<Node> {
    let mut c = repo.objects.find_commit_iter(id, buf).ok()?;
    let tree = c.tree_id().ok()?;
    let parents = c.parent_ids().collect();
    let time = c.committer().map(|s| s.seconds()).unwrap_or(0);
    Some(Node {
        tree,
        parents,
        time,
    })
}

/// Resolves a revision to a commit, or explains how to fetch it.
pub fn resolve(
    repo: &gix::Repository,
    rev: &str,
    what: &'static str,
) -> Result<ObjectId, GitError> {
    let missing = || {
        let shallow = is_shallow(repo);
        GitError::MissingRevision {
            what,
            rev: rev.to_string(),
            shallow,
            hint: fetch_hint(rev, shallow),
        }
    };
    if let Some((a, b)) = rev.split_once("...") {
        let a = resolve(repo, a, what)?;
        let b = resolve(repo, b, what)?;
        return match repo.merge_base(a, b) {
            Ok(Some(id)) => Ok(id.detach()),
            _ => Err(GitError::IncompleteHistory {
                range: rev.to_string(),
                detail: "no merge base found".into(),
                hint: fetch_hint(rev.split("...").next().unwrap_or(rev), is_shallow(repo)),
            }),
        };
    }
    let id = repo.rev_parse_single(rev).map_err(|_| missing())?;
    let object = id.object().map_err(|_| missing())?;
    let commit = object.peel_to_commit().map_err(|_| missing())?;
    Ok(commit.id)
}

const SEEN: u8 = 1;
const HIDDEN: u8 = 2;

struct Walk<'r> {
    repo: &'r gix::Repository,
    buf: Vec<u8>,
    nodes: HashMap<ObjectId, Node>,
    flags: HashMap<ObjectId, u8>,
    /// Newest first; equal dates in insertion order (breadth first, as git does), so neither
    /// side of the walk starves the other when many commits share a timestamp.
    heap: BinaryHeap<(i64, Reverse<u64>, ObjectId, bool)>,
    seq: u64,
    interesting_queued: usize,
    /// Commits collected as in the range that no hidden commit has reached (yet).
    live_candidates: HashSet<ObjectId>,
    missing: Vec<ObjectId>,
}

impl Walk<'_> {
    fn hidden(&self, id: &ObjectId) -> bool {
        self.flags.get(id).is_some_and(|f| f & HIDDEN != 0)
    }

    fn push(&mut self, id: ObjectId, hidden: bool) {
        let f = self.flags.entry(id).or_insert(0);
        if hidden {
            if *f & HIDDEN != 0 {
                return;
            }
            *f |= HIDDEN | SEEN;
            self.live_candidates.remove(&id);
        } else {
            if *f & SEEN != 0 {
                return;
            }
            *f |= SEEN;
        }
        if !self.nodes.contains_key(&id) {
            match load(self.repo, &id, &mut self.buf) {
                Some(n) => {
                    self.nodes.insert(id, n);
                }
                None => {
                    self.missing.push(id);
                    return;
                }
            }
        }
        self.seq += 1;
        self.heap
            .push((self.nodes[&id].time, Reverse(self.seq), id, hidden));
        if !hidden {
            self.interesting_queued += 1;
        }
    }
}

/// Commits reachable from `head` and not from `base`, by commit date. Once no interesting
/// commit is queued, the hidden side keeps walking until every candidate is either reached by
/// it or older than anything left in the queue (plus git's slop for clock skew). Fails if a commit in the range has a parent that is not in the repository: the range
/// could then hold commits we cannot see.
pub fn changes(
    repo: &gix::Repository,
    base_rev: &str,
    head_rev: &str,
) -> Result<RangeChanges, GitError> {
    let base = resolve(repo, base_rev, "base revision")?;
    let head = resolve(repo, head_rev, "head revision")?;
    let range = format!("{base_rev}..{head_rev}");
    let mut w = Walk {
        repo,
        buf: Vec::new(),
        nodes: HashMap::new(),
        flags: HashMap::new(),
        heap: BinaryHeap::new(),
        seq: 0,
        interesting_queued: 0,
        live_candidates: HashSet::new(),
        missing: Vec::new(),
    };
    w.push(base, true);
    w.push(head, false);
    let mut candidates = Vec::new();
    let mut slop = 32;
    // Oldest date among the candidates still live when the interesting side ran dry: a lower
    // bound, so the walk may go on a little longer than needed, never shorter.
    let mut oldest_live: Option<i64> = None;
    while let Some((time, _, id, pushed_hidden)) = w.heap.pop() {
        if !pushed_hidden {
            w.interesting_queued -= 1;
        }
        let hidden = w.hidden(&id);
        let parents = w.nodes[&id].parents.clone();
        for p in parents {
            w.push(p, hidden);
        }
        if !hidden {
            candidates.push(id);
            w.live_candidates.insert(id);
        }
        if w.interesting_queued == 0 {
            if w.live_candidates.is_empty() {
                break;
            }
            let oldest = *oldest_live.get_or_insert_with(|| {
                w.live_candidates
                    .iter()
                    .map(|c| w.nodes[c].time)
                    .min()
                    .unwrap_or(i64::MIN)
            });
            if time < oldest {
                slop -= 1;
                if slop == 0 {
                    break;
                }
            }
        }
    }
    if let Some(m) = w.missing.iter().find(|m| !w.hidden(m)) {
        let shallow = is_shallow(repo);
        return Err(GitError::IncompleteHistory {
            range,
            detail: format!(
                "commit {m} is not in the repository{}",
                if shallow { " (shallow clone)" } else { "" }
            ),
            hint: fetch_hint(base_rev, shallow),
        });
    }
    let hidden = |id: &ObjectId| w.hidden(id);
    let nodes = &w.nodes;
    candidates.retain(|c| !hidden(c));
    candidates.sort_by_key(|c| (nodes[c].time, *c));
    candidates.dedup();

    let mut first: HashMap<(Vec<u8>, ObjectId), (Leaf, ObjectId)> = HashMap::new();
    let mut order = Vec::new();
    let all = |_: &ObjectId, _: Leaf| true;
    for c in &candidates {
        let n = &nodes[c];
        let parent_trees: Vec<ObjectId> = n
            .parents
            .iter()
            .filter_map(|p| nodes.get(p).map(|pn| pn.tree))
            .collect();
        let intro = introduced_by_commit(&repo.objects, &n.tree, &parent_trees, &all)
            .map_err(|e| GitError::git(format!("commit {c}"), e))?;
        for (path, id, leaf) in intro {
            let key = (path, id);
            if let std::collections::hash_map::Entry::Vacant(v) = first.entry(key.clone()) {
                v.insert((leaf, *c));
                order.push(key);
            }
        }
    }
    let introduced = order
        .into_iter()
        .map(|k| {
            let (leaf, c) = first[&k];
            (k.0, k.1, leaf, c)
        })
        .collect();
    let tree_of = |id: &ObjectId| {
        nodes
            .get(id)
            .map(|n| n.tree)
            .ok_or_else(|| GitError::git(format!("commit {id}"), "cannot be read"))
    };
    Ok(RangeChanges {
        base_tree: tree_of(&base)?,
        head_tree: tree_of(&head)?,
        commits: candidates.len(),
        introduced,
    })
}
