//! The working tree: the files of the shared walk (`source::walk`), with excludes and limits.

use super::{Skip, SkipReason};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Scan files that .gitignore / .ignore would hide.
    pub no_ignore: bool,
    /// Path globs (relative to the scanned root) never to scan, compiled once
    /// ([`build_globs`]) for the walk, the pipeline analysis and git modes alike.
    pub exclude: GlobSet,
    pub max_file_size: u64,
}

/// A file to scan: the path to read and the path to show.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    pub display: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("bad exclude glob `{glob}`: {message}")]
    BadGlob { glob: String, message: String },
    #[error("{path}: {message}")]
    Root { path: String, message: String },
}

pub fn build_globs(globs: &[String]) -> Result<GlobSet, WalkError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g)
            .literal_separator(false)
            .build()
            .map_err(|e| WalkError::BadGlob {
                glob: g.clone(),
                message: e.kind().to_string(),
            })?;
        b.add(glob);
    }
    b.build().map_err(|e| WalkError::BadGlob {
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

/// Fails on the first root that does not exist or cannot be read, before anything is listed.
pub fn check_roots(roots: &[PathBuf]) -> Result<(), WalkError> {
    for root in roots {
        std::fs::metadata(root).map_err(|e| WalkError::Root {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Hands each file under `roots` to `emit` as the walk finds it (each shown path once, in walk
/// order), so a scan can start before the listing ends; returns what was skipped. Roots are
/// expected to pass [`check_roots`]; one that vanished since is a skip.
pub fn walk_each(
    roots: &[PathBuf],
    opts: &WalkOptions,
    mut emit: impl FnMut(FileEntry),
) -> Vec<Skip> {
    let excludes = &opts.exclude;
    let mut skips = Vec::new();
    let mut shown = std::collections::HashSet::new();
    let mut push = |path: PathBuf, display: String, size: u64, skips: &mut Vec<Skip>| {
        if !shown.insert(display.clone()) {
            return; // overlapping roots
        }
        let max = opts.max_file_size;
        if max > 0 && size > max {
            skips.push(Skip {
                path: display,
                reason: SkipReason::TooLarge,
                detail: Some(format!("{size} bytes > limit {max}")),
            });
        } else {
            emit(FileEntry {
                path,
                display,
                size,
            });
        }
    };
    for root in roots {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                skips.push(Skip {
                    path: display_path(root),
                    reason: SkipReason::Vanished,
                    detail: Some(e.to_string()),
                });
                continue;
            }
        };
        if meta.is_file() {
            // An explicitly named file is scanned even if ignored.
            push(root.clone(), display_path(root), meta.len(), &mut skips);
            continue;
        }
        let config = super::walk::WalkConfig {
            no_ignore: opts.no_ignore,
        };
        let mut walked = std::collections::HashSet::new();
        for entry in super::walk::builder(root, config).build() {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    skips.push(walk_skip(err));
                    continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            walked.insert(path.to_path_buf());
            let rel = path.strip_prefix(root).unwrap_or(path);
            if !excludes.is_empty()
                && (excludes.is_match(rel) || excludes.is_match(display_path(path)))
            {
                continue;
            }
            if ft.is_symlink() {
                skips.push(Skip {
                    path: display_path(path),
                    reason: SkipReason::Symlink,
                    detail: std::fs::read_link(path)
                        .ok()
                        .map(|t| format!("-> {}", t.display())),
                });
            } else if ft.is_file() {
                match entry.metadata() {
                    Ok(m) => push(path.to_path_buf(), display_path(path), m.len(), &mut skips),
                    Err(e) => skips.push(Skip {
                        path: display_path(path),
                        reason: SkipReason::Vanished,
                        detail: Some(e.to_string()),
                    }),
                }
            }
        }
        if !opts.no_ignore {
            // Tracked files that .gitignore hid from the walk.
            for path in super::walk::tracked_files(root) {
                if walked.contains(&path) {
                    continue;
                }
                let rel = path.strip_prefix(root).unwrap_or(&path);
                if !excludes.is_empty()
                    && (excludes.is_match(rel) || excludes.is_match(display_path(&path)))
                {
                    continue;
                }
                if let Ok(m) = std::fs::metadata(&path) {
                    let display = display_path(&path);
                    push(path, display, m.len(), &mut skips);
                }
            }
        }
    }
    skips
}

fn walk_skip(err: ignore::Error) -> Skip {
    let mut path = String::new();
    let mut e = &err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path = display_path(p);
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err
            }
            ignore::Error::Loop { child, .. } => {
                path = display_path(child);
                break;
            }
            _ => break,
        }
    }
    let reason = match e {
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            SkipReason::Unreadable
        }
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => SkipReason::Vanished,
        _ => SkipReason::WalkError,
    };
    Skip {
        path,
        reason,
        detail: Some(err.to_string()),
    }
}

/// `p` relative to `base`, `/`-separated, as every report shows a path below the root it was
/// asked about: the file's own name when `p` is `base`, `p` itself when it is not under `base`.
pub fn relative_display(base: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    } else {
        parts.join("/")
    }
}

/// The path as shown to users: as walked, without a leading `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}
