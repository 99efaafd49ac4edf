//! One bare mirror per repository in the cache, fetched with gix. The remote is built in
//! memory for each fetch, so its URL (and any credential) is never written to the mirror.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("fetch failed: {0}")]
    Fetch(String),
}

impl MirrorError {
    /// The repository status recorded in the state.
    pub fn status(&self) -> &'static str {
        match self {
            MirrorError::NotFound(_) => "not-found",
            MirrorError::Fetch(_) => "failed",
        }
    }
}

/// The mirror directory of a repository: a readable name plus a hash of the full name.
pub fn mirror_dir(cache: &Path, name: &str) -> PathBuf {
    let base: String = name
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = &crate::finding::fingerprint("mirror", name.as_bytes())[..12];
    cache.join("mirrors").join(format!("{base}-{hash}.git"))
}

/// Creates or updates the mirror of `source` (a URL or a local path): every ref, forced.
pub fn fetch(source: &str, dir: &Path) -> Result<(), MirrorError> {
    let url = if Path::new(source).exists() {
        std::fs::canonicalize(source)
            .map_err(|e| MirrorError::NotFound(format!("{source}: {e}")))?
            .to_string_lossy()
            .into_owned()
    } else if source.contains("://") || source.contains('@') {
        source.to_string()
    } else {
        return Err(MirrorError::NotFound(format!("{source}: no such path")));
    };
    let repo = if dir.join("HEAD").exists() {
        super::open_mirror(dir).map_err(|e| MirrorError::Fetch(e.to_string()))?
    } else {
        std::fs::create_dir_all(dir).map_err(|e| MirrorError::Fetch(e.to_string()))?;
        gix::init_bare(dir).map_err(|e| MirrorError::Fetch(e.to_string()))?
    };
    let remote = repo
        .remote_at(url.as_str())
        .and_then(|r| r.with_refspecs(["+refs/*:refs/*"], gix::remote::Direction::Fetch))
        .map_err(|e| MirrorError::Fetch(e.to_string()))?;
    let conn = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| classify(&e.to_string()))?;
    conn.prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| classify(&e.to_string()))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(|e| classify(&e.to_string()))?;
    Ok(())
}

fn classify(message: &str) -> MirrorError {
    let lower = message.to_lowercase();
    if lower.contains("not found") || lower.contains("does not appear") || lower.contains("no such")
    {
        MirrorError::NotFound(message.to_string())
    } else {
        MirrorError::Fetch(message.to_string())
    }
}

/// Bytes under the mirror's object directory.
pub fn size(dir: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path()),
                _ => e.metadata().map(|m| m.len()).unwrap_or(0),
            })
            .sum()
    }
    walk(&dir.join("objects"))
}
