//! Tree reading and the one diff every git mode needs: which entries a commit introduced.

use gix::objs::tree::{EntryKind, EntryMode};
use gix::objs::{Find, FindExt, TreeRefIter};
use gix::ObjectId;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// One tree entry, owned.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    pub mode: EntryMode,
    pub id: ObjectId,
}

/// What a changed leaf is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leaf {
    Blob,
    Link,
    Gitlink,
}

fn leaf_of(mode: EntryMode) -> Leaf {
    match mode.kind() {
        EntryKind::Commit => Leaf::Gitlink,
        EntryKind::Link => Leaf::Link,
        _ => Leaf::Blob,
    }
}

/// The entries of tree `id`, in git order. A missing or corrupt tree is an error.
pub fn entries(odb: &impl Find, id: &ObjectId, buf: &mut Vec<u8>) -> Result<Vec<Entry>, String> {
    if id.is_empty_tree() {
        return Ok(Vec::new());
    }
    let iter: TreeRefIter<'_> = odb
        .find_tree_iter(id, buf)
        .map_err(|e| format!("tree {id}: {e}"))?;
    let mut out = Vec::new();
    for e in iter {
        let e = e.map_err(|e| format!("tree {id}: {e}"))?;
        out.push(Entry {
            name: e.filename.to_vec(),
            mode: e.mode,
            id: e.oid.to_owned(),
        });
    }
    Ok(out)
}

/// Calls `f(path, id, leaf)` for every leaf of `new` that is absent from `old` or has another
/// id there (`old` = None: everything in `new` is introduced). Identical subtrees are skipped
/// without being read. `want` filters leaves before they are reported.
pub fn introduced(
    odb: &impl Find,
    new: &ObjectId,
    old: Option<&ObjectId>,
    want: &dyn Fn(&ObjectId, Leaf) -> bool,
    f: &mut dyn FnMut(&[u8], &ObjectId, Leaf),
) -> Result<(), String> {
    let mut prefix = Vec::new();
    let mut buf = Vec::new();
    walk_diff(odb, new, old, &mut prefix, &mut buf, want, f)
}

fn walk_diff(
    odb: &impl Find,
    new: &ObjectId,
    old: Option<&ObjectId>,
    prefix: &mut Vec<u8>,
    buf: &mut Vec<u8>,
    want: &dyn Fn(&ObjectId, Leaf) -> bool,
    f: &mut dyn FnMut(&[u8], &ObjectId, Leaf),
) -> Result<(), String> {
    if old == Some(new) {
        return Ok(());
    }
    let new_entries = entries(odb, new, buf)?;
    // A missing old tree (shallow boundary, corrupt object) counts as empty: everything is new.
    let old_entries = match old {
        Some(o) => entries(odb, o, buf).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut j = 0;
    for e in &new_entries {
        let is_tree = e.mode.is_tree();
        let mut counterpart = None;
        while j < old_entries.len() {
            let o = &old_entries[j];
            match gix::objs::tree::name_order(&o.name, o.mode.is_tree(), &e.name, is_tree) {
                Ordering::Less => j += 1,
                Ordering::Equal => {
                    counterpart = Some(o);
                    j += 1;
                    break;
                }
                Ordering::Greater => break,
            }
        }
        if let Some(o) = counterpart {
            if o.id == e.id && o.mode == e.mode {
                continue;
            }
        }
        let len = prefix.len();
        prefix.extend_from_slice(&e.name);
        if is_tree {
            prefix.push(b'/');
            let old_sub = counterpart.filter(|o| o.mode.is_tree()).map(|o| &o.id);
            walk_diff(odb, &e.id, old_sub, prefix, buf, want, f)?;
        } else {
            let leaf = leaf_of(e.mode);
            // Same content, only the mode changed (chmod +x): nothing new to scan.
            let same_content = counterpart.is_some_and(|o| o.id == e.id);
            if !same_content && want(&e.id, leaf) {
                f(prefix, &e.id, leaf);
            }
        }
        prefix.truncate(len);
    }
    Ok(())
}

/// The leaves a commit introduced: present in its tree and, at that path, in none of its
/// parents' trees (so a merge introduces only what differs from every parent). A parent whose
/// tree is unknown (shallow boundary) is left out; a commit without known parents introduces
/// its whole tree.
pub fn introduced_by_commit(
    odb: &impl Find,
    tree: &ObjectId,
    parent_trees: &[ObjectId],
    want: &dyn Fn(&ObjectId, Leaf) -> bool,
) -> Result<Vec<(Vec<u8>, ObjectId, Leaf)>, String> {
    let mut first: Vec<(Vec<u8>, ObjectId, Leaf)> = Vec::new();
    introduced(odb, tree, parent_trees.first(), want, &mut |p, id, leaf| {
        first.push((p.to_vec(), *id, leaf))
    })?;
    for other in parent_trees.iter().skip(1) {
        if first.is_empty() {
            break;
        }
        let mut also: HashSet<(Vec<u8>, ObjectId)> = HashSet::new();
        introduced(odb, tree, Some(other), want, &mut |p, id, _| {
            also.insert((p.to_vec(), *id));
        })?;
        first.retain(|(p, id, _)| also.contains(&(p.clone(), *id)));
    }
    Ok(first)
}

/// Every leaf of a tree: path -> (id, leaf kind).
pub fn flatten(
    odb: &impl Find,
    tree: &ObjectId,
) -> Result<HashMap<Vec<u8>, (ObjectId, Leaf)>, String> {
    let mut out = HashMap::new();
    introduced(odb, tree, None, &|_, _| true, &mut |p, id, leaf| {
        out.insert(p.to_vec(), (*id, leaf));
    })?;
    Ok(out)
}

/// The blob at `path` (slash-separated) in `tree`, if there is one.
pub fn lookup(odb: &impl Find, tree: &ObjectId, path: &[u8]) -> Option<ObjectId> {
    let mut buf = Vec::new();
    let mut current = *tree;
    let mut parts = path.split(|&b| b == b'/').peekable();
    while let Some(part) = parts.next() {
        let entries = entries(odb, &current, &mut buf).ok()?;
        let e = entries.into_iter().find(|e| e.name == part)?;
        if parts.peek().is_none() {
            return (!e.mode.is_tree() && !e.mode.is_commit()).then_some(e.id);
        }
        if !e.mode.is_tree() {
            return None;
        }
        current = e.id;
    }
    None
}

/// The YAML blobs among `leaves`, by `/`-separated path (paths that are not UTF-8 left out):
/// the files a pipeline analysis of that revision reads.
pub fn yaml_blobs(
    leaves: impl IntoIterator<Item = (Vec<u8>, ObjectId, Leaf)>,
) -> std::collections::BTreeMap<String, ObjectId> {
    leaves
        .into_iter()
        .filter(|(_, _, leaf)| *leaf == Leaf::Blob)
        .filter_map(|(p, id, _)| String::from_utf8(p).ok().map(|p| (p, id)))
        .filter(|(p, _)| crate::pipeline::scratch::is_yaml(p))
        .collect()
}
