//! Object database enumeration: every object of every pack (alternates included) and every
//! loose object, once.

use super::GitError;
use gix::odb::store::iter::Ordering;
use gix::ObjectId;
use std::collections::HashSet;

/// Every distinct object id, in pack order (so readers hit the delta caches), then loose
/// objects. Ids repeat across packs and between packs and loose objects: each is kept once.
/// Loose entries that could not be listed are returned as errors, not silently dropped.
pub fn enumerate(repo: &gix::Repository) -> Result<(Vec<ObjectId>, Vec<String>), GitError> {
    let iter = repo
        .objects
        .iter()
        .map_err(|e| GitError::git("listing the object database", e))?
        .with_ordering(Ordering::PackAscendingOffsetThenLooseLexicographical);
    let (lower, _) = iter.size_hint();
    let mut seen: HashSet<ObjectId, gix::hashtable::hash::Builder> =
        HashSet::with_capacity_and_hasher(lower, Default::default());
    let mut ids = Vec::with_capacity(lower);
    let mut errors = Vec::new();
    for item in iter {
        match item {
            Ok(id) => {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    Ok((ids, errors))
}
