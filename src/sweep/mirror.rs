//! One bare mirror per repository in the cache, fetched with gix. The remote is built in
//! memory for each fetch, so its URL (and any credential) is never written to the mirror.

use super::credentials::{self, GitCredentials};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("fetch failed: {0}")]
    Fetch(String),
}

impl MirrorError {
    /// The repository status recorded in the state.
    pub fn status(&self) -> &'static str {
        match self {
            MirrorError::NotFound(_) => "not-found",
            MirrorError::Auth(_) => "auth-failed",
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
/// `creds` is offered only when the server asks (HTTP 401), in memory.
pub fn fetch(source: &str, dir: &Path, creds: &GitCredentials) -> Result<(), MirrorError> {
    if credentials::url_has_credential(source) {
        return Err(MirrorError::Auth(
            "the URL carries a credential: remove it and set KEYSWEEP_GIT_TOKEN".into(),
        ));
    }
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
    install_tls_provider();
    let repo = if dir.join("HEAD").exists() {
        super::open_mirror(dir).map_err(|e| MirrorError::Fetch(e.to_string()))?
    } else {
        init_mirror(dir)?
    };
    let remote = repo
        .remote_at(url.as_str())
        .and_then(|r| r.with_refspecs(["+refs/*:refs/*"], gix::remote::Direction::Fetch))
        .map_err(|e| MirrorError::Fetch(e.to_string()))?;
    let host = gix::url::parse(gix::bstr::BStr::new(url.as_str()))
        .ok()
        .and_then(|u| u.host().map(str::to_string));
    let credential = host.as_deref().and_then(|h| creds.for_host(h)).cloned();
    let conn = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| classify(&e.to_string()))?
        .with_credentials(move |action| match (action, &credential) {
            (gix::credentials::helper::Action::Get(ctx), Some(c)) => {
                Ok(Some(gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username: c.username.clone(),
                        password: c.token.clone(),
                        oauth_refresh_token: None,
                    },
                    next: ctx.into(),
                }))
            }
            _ => Ok(None),
        });
    let outcome = conn
        .prepare_fetch(
            gix::progress::Discard,
            gix::remote::ref_map::Options {
                // gix turns `refs/*` into the literal ref-prefix `refs/*`, which matches no ref
                // on the server: ask for every ref and let the refspec select.
                prefix_from_spec_as_filter_on_remote: false,
                ..Default::default()
            },
        )
        .map_err(|e| classify(&e.to_string()))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(|e| classify(&e.to_string()))?;
    // The mirror's HEAD follows the remote's default branch (the pipelines are read there).
    let default_branch = outcome.ref_map.remote_refs.iter().find_map(|r| match r {
        gix::protocol::handshake::Ref::Symbolic {
            full_ref_name,
            target,
            ..
        } if full_ref_name == "HEAD" => Some(target.to_string()),
        _ => None,
    });
    if let Some(target) = default_branch.filter(|t| t.starts_with("refs/")) {
        std::fs::write(dir.join("HEAD"), format!("ref: {target}\n"))
            .map_err(|e| MirrorError::Fetch(format!("writing HEAD: {e}")))?;
    }
    Ok(())
}

/// A new bare mirror, made beside its place and moved in, so a sweep killed half-way never
/// leaves a directory that is neither empty nor a repository.
fn init_mirror(dir: &Path) -> Result<gix::Repository, MirrorError> {
    let err = |e: &dyn std::fmt::Display| MirrorError::Fetch(format!("creating the mirror: {e}"));
    let tmp = dir.with_extension("init");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(&tmp).map_err(|e| err(&e))?;
    gix::init_bare(&tmp).map_err(|e| err(&e))?;
    std::fs::rename(&tmp, dir).map_err(|e| err(&e))?;
    super::open_mirror(dir).map_err(|e| err(&e))
}

/// rustls needs one process-wide crypto provider; ring, as for the rest of keysweep.
fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn classify(message: &str) -> MirrorError {
    let lower = message.to_lowercase();
    if lower.contains("401")
        || lower.contains("403")
        || lower.contains("authentication")
        || lower.contains("credentials")
    {
        MirrorError::Auth(message.to_string())
    } else if lower.contains("not found")
        || lower.contains("does not appear")
        || lower.contains("no such")
    {
        MirrorError::NotFound(message.to_string())
    } else {
        MirrorError::Fetch(message.to_string())
    }
}

/// A digest of every ref and its target: equal digests after a fetch mean the mirror received
/// nothing (a fetch only adds objects by moving refs), so there is nothing new to scan.
pub fn refs_hash(repo: &gix::Repository) -> Result<String, String> {
    let platform = repo.references().map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    for r in platform.all().map_err(|e| e.to_string())? {
        let r = r.map_err(|e| e.to_string())?;
        let target = match r.target() {
            gix::refs::TargetRef::Object(id) => id.to_string(),
            gix::refs::TargetRef::Symbolic(name) => name.as_bstr().to_string(),
        };
        lines.push(format!("{} {target}", r.name().as_bstr()));
    }
    lines.sort();
    Ok(crate::finding::fingerprint(
        "refs",
        lines.join("\n").as_bytes(),
    ))
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
