//! Git sources: full history (every unique blob in the object database once), a PR range
//! (`BASE..HEAD`) and the staged index. Repositories are opened with `gix` in isolated mode:
//! the user's and the system's git configuration are ignored, and `git` is never run.
//!
//! These modules only enumerate and read: [`history`], [`range`] and [`staged`] list blobs with
//! their origin, [`blobs`] reads them in parallel for a visitor, and [`provenance`] (which
//! commit introduced a blob at which path) is computed on demand from the commit graph. The
//! scan (`crate::scan`) drives them and does the detection.

pub mod blobs;
pub mod history;
pub mod provenance;
pub mod range;
pub mod staged;
pub mod tree;

pub use gix::ObjectId;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which part of a repository to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitMode {
    /// Every object in the object database, reachable or not.
    History,
    /// The blobs introduced by the commits in `base..head` (PR mode).
    Range { base: String, head: String },
    /// The index entries that differ from HEAD (pre-commit mode).
    Staged,
}

impl GitMode {
    /// Parses `BASE..HEAD` (`HEAD` may be omitted) or `BASE...HEAD` (merge base of the two).
    pub fn range(spec: &str) -> Result<GitMode, GitError> {
        let (base, head, symmetric) = if let Some((b, h)) = spec.split_once("...") {
            (b, h, true)
        } else if let Some((b, h)) = spec.split_once("..") {
            (b, h, false)
        } else {
            return Err(GitError::BadRange(spec.to_string()));
        };
        if base.is_empty() {
            return Err(GitError::BadRange(spec.to_string()));
        }
        let head = if head.is_empty() { "HEAD" } else { head };
        let base = if symmetric {
            format!("{base}...{head}")
        } else {
            base.to_string()
        };
        Ok(GitMode::Range {
            base,
            head: head.to_string(),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            GitMode::History => "history",
            GitMode::Range { .. } => "range",
            GitMode::Staged => "staged",
        }
    }
}

/// What a git scan saw, for the JSON report and the warnings on stderr.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GitInfo {
    pub mode: &'static str,
    /// The repository's git directory.
    pub git_dir: String,
    /// Distinct objects enumerated (history mode).
    #[serde(skip_serializing_if = "is_zero")]
    pub objects: u64,
    /// Distinct blobs considered.
    pub blobs: u64,
    /// Commits walked (range mode: the commits in the range).
    #[serde(skip_serializing_if = "is_zero")]
    pub commits: u64,
    /// A shallow clone: history before its boundary is not in the repository.
    pub shallow: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{}: not a git repository ({detail})", path.display())]
    NotARepository { path: PathBuf, detail: String },
    #[error("`{0}` is not a range: use BASE..HEAD (or BASE...HEAD for the merge base)")]
    BadRange(String),
    #[error("{what} `{rev}` is not in this repository{shallow}: {hint}", shallow = if *.shallow { " (it is a shallow clone)" } else { "" })]
    MissingRevision {
        what: &'static str,
        rev: String,
        shallow: bool,
        hint: String,
    },
    #[error("the history of the range `{range}` is incomplete: {detail}; {hint}")]
    IncompleteHistory {
        range: String,
        detail: String,
        hint: String,
    },
    #[error("{}: a bare repository has no index to scan with --staged", path.display())]
    Bare { path: PathBuf },
    #[error("{context}: {message}")]
    Git { context: String, message: String },
}

impl GitError {
    pub(crate) fn git(context: impl Into<String>, e: impl std::fmt::Display) -> GitError {
        GitError::Git {
            context: context.into(),
            message: e.to_string(),
        }
    }
}

/// How to get a missing revision, for the error message.
pub(crate) fn fetch_hint(rev: &str, shallow: bool) -> String {
    let fetch = if rev.len() >= 7 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("`git fetch origin {rev}`")
    } else {
        let branch = rev.strip_prefix("origin/").unwrap_or(rev);
        format!("`git fetch origin {branch}:refs/remotes/origin/{branch}`")
    };
    let deepen = if shallow {
        " or deepen the clone with `git fetch --deepen=1000` (or `git fetch --unshallow`)"
    } else {
        ""
    };
    format!(
        "fetch it with {fetch}{deepen}; in GitHub Actions set `fetch-depth: 0` on actions/checkout"
    )
}

/// Opens the repository at or above `path`, ignoring user and system git configuration.
pub fn open(path: &Path) -> Result<gix::Repository, GitError> {
    let opts = gix::open::Options::isolated();
    let trust = gix::sec::trust::Mapping {
        full: opts.clone(),
        reduced: opts,
    };
    gix::ThreadSafeRepository::discover_opts(path, Default::default(), trust)
        .map(|r| r.to_thread_local())
        .map_err(|e| GitError::NotARepository {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// The regular files the index of the work tree at or above `root` tracks, under `root`, spelled
/// from `root` as given (as the walker spells them). Empty outside a work tree. The walker adds
/// them back where `.gitignore` hides them: a tracked file is committed content, ignored or not.
pub fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let Ok(repo) = open(root) else {
        return Vec::new();
    };
    let (Some(workdir), Ok(index)) = (repo.workdir(), repo.index_or_empty()) else {
        return Vec::new();
    };
    let (Ok(workdir), Ok(root_abs)) = (workdir.canonicalize(), root.canonicalize()) else {
        return Vec::new();
    };
    index
        .entries()
        .iter()
        .filter(|e| {
            matches!(
                e.mode,
                gix::index::entry::Mode::FILE | gix::index::entry::Mode::FILE_EXECUTABLE
            )
        })
        .filter_map(|e| {
            let abs = workdir.join(gix::path::from_bstr(e.path(&index)).ok()?);
            let under = abs.strip_prefix(&root_abs).ok()?;
            Some(root.join(under))
        })
        .collect()
}

/// Every blob id in the repository at or above `path` (packs, alternates and loose objects;
/// reachable or not), in pack order. Cheap: object headers only, no content is inflated. With
/// `Scanner::scan_git_blobs` a caller scans a chosen subset of them.
pub fn blob_ids(path: &Path) -> Result<Vec<ObjectId>, GitError> {
    let repo = open(path)?;
    let (ids, _) = history::enumerate(&repo)?;
    Ok(blobs::blobs_among(&repo, &ids))
}

pub(crate) fn is_shallow(repo: &gix::Repository) -> bool {
    repo.is_shallow().unwrap_or(false)
}

/// Git LFS pointer files: the content lives on an LFS server, not in the repository.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.len() < 1024
        && (bytes.starts_with(b"version https://git-lfs.github.com/spec/")
            || bytes.starts_with(b"version https://hawser.github.com/spec/"))
}

/// Path bytes shown to the user: UTF-8 when it is, lossy otherwise.
pub(crate) fn show_path(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}
