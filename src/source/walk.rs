//! The one directory walker: `scan`, the pipeline discovery and `trust lint` list the files of
//! a tree through it, so they see the same files. Ripgrep's rules, with the settings a secret
//! scanner needs: hidden files are walked (`.env`, `.github/`), symbolic links are never
//! followed, `.git/` is never entered, `.gitignore`/`.ignore`/`.git/info/exclude` are honoured
//! in and out of a git repository unless `--no-ignore`, and the user's global gitignore is not
//! read (a scan must not depend on who runs it). In a git work tree, the files its index tracks
//! are walked even where `.gitignore` lists them (a committed `.env.test` is where keys leak):
//! ignore files hide only untracked files.

use std::path::Path;

/// How the walk treats ignore files.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkConfig {
    /// Walk files that .gitignore / .ignore would hide (`--no-ignore`).
    pub no_ignore: bool,
}

/// The walk of `root`, configured once. Callers add their path excludes on the entries.
pub fn builder(root: &Path, config: WalkConfig) -> ignore::WalkBuilder {
    let honour = !config.no_ignore;
    let mut b = ignore::WalkBuilder::new(root);
    b.hidden(false)
        .follow_links(false)
        .require_git(false)
        .git_ignore(honour)
        .git_global(false)
        .git_exclude(honour)
        .ignore(honour)
        .parents(honour)
        .filter_entry(|e| e.file_name() != ".git");
    b
}

/// The regular files under `root` (or `root` itself if it is a file), sorted. Entries the walk
/// cannot read are left out; the content scan, which counts them, uses [`builder`].
pub fn files(root: &Path, config: WalkConfig) -> Vec<std::path::PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut out: Vec<_> = builder(root, config)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .collect();
    if !config.no_ignore {
        out.extend(tracked_files(root));
    }
    out.sort();
    out.dedup();
    out
}

/// Tracked regular files under `root` (see the module doc); never inside `.git`, never a link.
pub fn tracked_files(root: &Path) -> Vec<std::path::PathBuf> {
    crate::source::git::tracked_files(root)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == ".git"))
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file()))
        .collect()
}
