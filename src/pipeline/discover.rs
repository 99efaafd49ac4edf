//! Finding the CI files under a root.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GithubKind {
    Workflow,
    Action,
}

#[derive(Debug, Clone)]
pub(crate) struct GithubFile {
    pub abs: PathBuf,
    pub kind: GithubKind,
    /// The repository root `./` paths resolve against.
    pub repo_root: PathBuf,
}

#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub github: Vec<GithubFile>,
    /// `.gitlab-ci.yml` files; each one's directory is its repository root.
    pub gitlab: Vec<PathBuf>,
}

fn is_yaml(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yml") | Some("yaml")
    )
}

fn name_of(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// The nearest ancestor of `p` (up to `root`) that holds `.github` or `.git`; else `root`.
fn repo_root_of(root: &Path, p: &Path) -> PathBuf {
    let mut cur = p.parent();
    while let Some(dir) = cur {
        if dir.join(".github").is_dir() || dir.join(".git").exists() {
            return dir.to_path_buf();
        }
        if dir == root {
            break;
        }
        cur = dir.parent();
    }
    root.to_path_buf()
}

pub(crate) fn discover(root: &Path) -> Discovered {
    if root.is_file() {
        let mut out = Discovered::default();
        classify(root, root.parent().unwrap_or(root), &mut out);
        return out;
    }
    let config = crate::source::walk::WalkConfig::default();
    from_paths(root, &crate::source::walk::files(root, config))
}

/// The CI files among `paths`, files listed under the directory `root`.
pub(crate) fn from_paths(root: &Path, paths: &[PathBuf]) -> Discovered {
    let mut out = Discovered::default();
    for path in paths {
        classify(path, root, &mut out);
    }
    out.github.sort_by(|a, b| a.abs.cmp(&b.abs));
    out.gitlab.sort();
    out
}

/// What a CI file is, by its name and parent directories alone (no disk access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CiKind {
    Gitlab,
    Github(GithubKind),
}

fn kind_of(p: &Path) -> Option<CiKind> {
    let name = name_of(p);
    if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" {
        return Some(CiKind::Gitlab);
    }
    if !is_yaml(p) {
        return None;
    }
    if name == "action.yml" || name == "action.yaml" {
        return Some(CiKind::Github(GithubKind::Action));
    }
    let parent = p.parent();
    let grand = parent.and_then(Path::parent);
    (parent.map(name_of) == Some("workflows") && grand.map(name_of) == Some(".github"))
        .then_some(CiKind::Github(GithubKind::Workflow))
}

/// Whether `p` is a CI file by its path (what a walk keeps for [`from_paths`]).
pub(crate) fn is_candidate(p: &Path) -> bool {
    kind_of(p).is_some()
}

fn classify(p: &Path, root: &Path, out: &mut Discovered) {
    match kind_of(p) {
        None => {}
        Some(CiKind::Gitlab) => out.gitlab.push(p.to_path_buf()),
        Some(CiKind::Github(kind)) => {
            let repo_root = match kind {
                GithubKind::Action => repo_root_of(root, p),
                // `.github/workflows/x.yml`: the repository is the directory above `.github`.
                GithubKind::Workflow => p
                    .parent()
                    .and_then(Path::parent)
                    .and_then(Path::parent)
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf()),
            };
            out.github.push(GithubFile {
                abs: p.to_path_buf(),
                kind,
                repo_root,
            });
        }
    }
}

/// `p` relative to `root` (see [`crate::source::fs::relative_display`]).
pub(crate) fn display_path(root: &Path, p: &Path) -> String {
    crate::source::fs::relative_display(root, p)
}
