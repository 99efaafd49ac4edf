//! Scans a caller-chosen subset of a mirror's objects: those not scanned before in that
//! repository. Provenance is computed only for blobs with findings; which findings a ref tip
//! still contains decides their lifecycle.

use super::state::{NewFinding, RepoOutcome};
use crate::finding::redact;
use crate::scan::{Scanner, Suppressed};
use crate::source::git::{history, provenance, tree};
use gix::objs::{Find, Kind};
use gix::ObjectId;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Total objects, the ids scanned now, the findings, the fingerprints still in a ref tip, and
/// the blob bytes read.
pub type ScanParts = (i64, Vec<Vec<u8>>, Vec<NewFinding>, HashSet<String>, u64);

/// Scans the objects of `repo` whose ids are not in `scanned`.
pub fn scan_new(
    scanner: &Scanner,
    repo: &gix::Repository,
    scanned: &HashSet<Vec<u8>>,
    known_blobs: &[(String, Vec<u8>)],
) -> Result<ScanParts, String> {
    let (ids, errors) = history::enumerate(repo).map_err(|e| e.to_string())?;
    if let Some(e) = errors.first() {
        return Err(format!("corrupt object database: {e}"));
    }
    let fresh: Vec<ObjectId> = ids
        .iter()
        .filter(|id| !scanned.contains(id.as_bytes()))
        .copied()
        .collect();
    let rules = scanner.detector();
    let max = scanner.settings().walk.max_file_size;
    let mut buf = Vec::new();
    let mut bytes = 0u64;
    let mut suppressed = Suppressed::default();
    // fingerprint -> (rule, secret, line info, blobs)
    let mut hits: BTreeMap<String, (usize, Vec<u8>, Vec<ObjectId>)> = BTreeMap::new();
    for id in &fresh {
        let header = gix::odb::Header::try_header(&repo.objects, id)
            .map_err(|e| format!("corrupt object {id}: {e}"))?;
        let Some(header) = header else { continue };
        if header.kind() != Kind::Blob || (max > 0 && header.size() > max) {
            continue;
        }
        let data = repo
            .objects
            .try_find(id, &mut buf)
            .map_err(|e| format!("corrupt object {id}: {e}"))?
            .ok_or_else(|| format!("object {id} missing"))?;
        bytes += data.data.len() as u64;
        let Ok(found) = scanner.scan_blob(&id.to_string(), data.data, &mut suppressed) else {
            continue;
        };
        for (rule, secret, _) in found {
            let r = &rules.rules().rules()[rule];
            let fp = crate::finding::fingerprint(r.id(), &secret);
            hits.entry(fp)
                .or_insert_with(|| (rule, secret, Vec::new()))
                .2
                .push(*id);
        }
    }
    let wanted: HashSet<ObjectId> = hits.values().flat_map(|h| h.2.iter().copied()).collect();
    let origins = if wanted.is_empty() {
        HashMap::new()
    } else {
        provenance::origins(repo, &wanted)
            .map_err(|e| e.to_string())?
            .0
            .by_blob
    };
    let mut found = Vec::new();
    for (fp, (rule, secret, blobs)) in hits {
        let r = &rules.rules().rules()[rule];
        let first = blobs
            .iter()
            .find_map(|b| origins.get(b).and_then(|m| m.iter().next()));
        let (path, commit) = match first {
            Some((path, (prov, _))) => (
                String::from_utf8_lossy(path).into_owned(),
                prov.commit.clone(),
            ),
            None => (format!("(unreachable blob {})", blobs[0]), String::new()),
        };
        found.push(NewFinding {
            fingerprint: fp,
            rule_id: r.id().to_string(),
            confidence: r.spec.confidence.as_str().to_string(),
            redacted: redact(&secret),
            path,
            commit,
            blobs: blobs.iter().map(|b| b.as_bytes().to_vec()).collect(),
            key_hint: super::evidence::aws_key_hint(&secret),
        });
    }
    // Which findings a ref tip still contains.
    let mut by_blob: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
    for (fp, b) in known_blobs {
        by_blob.entry(b.clone()).or_default().push(fp.clone());
    }
    for f in &found {
        for b in &f.blobs {
            by_blob
                .entry(b.clone())
                .or_default()
                .push(f.fingerprint.clone());
        }
    }
    let mut at_tips = HashSet::new();
    if !by_blob.is_empty() {
        let mut trees = HashSet::new();
        for (_, tip) in provenance::tips(repo).map_err(|e| e.to_string())? {
            if let Ok(t) = repo.find_commit(tip).and_then(|c| c.tree_id()) {
                trees.insert(t.detach());
            }
        }
        for t in trees {
            for (id, _) in tree::flatten(&repo.objects, &t)?.into_values() {
                if let Some(fps) = by_blob.get(id.as_bytes()) {
                    at_tips.extend(fps.iter().cloned());
                }
            }
        }
    }
    let scanned_ids = fresh.iter().map(|id| id.as_bytes().to_vec()).collect();
    Ok((ids.len() as i64, scanned_ids, found, at_tips, bytes))
}

pub fn outcome(name: &str, source: &str, parts: ScanParts) -> RepoOutcome {
    RepoOutcome {
        name: name.to_string(),
        source: source.to_string(),
        objects: parts.0,
        scanned: parts.1,
        found: parts.2,
        at_tips: parts.3,
        pipelines: Vec::new(),
        refs_hash: None,
    }
}
