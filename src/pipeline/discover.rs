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
    for path in paths.iter().filter(|p| is_candidate(p)) {
        classify(path, root, &mut out);
    }
    out.github.sort_by(|a, b| a.abs.cmp(&b.abs));
    out.gitlab.sort();
    out
}

/// Whether `classify` could take the file, by its name and parent directories alone.
pub(crate) fn is_candidate(p: &Path) -> bool {
    let name = name_of(p);
    name.starts_with(".gitlab-ci.")
        || (is_yaml(p)
            && (name.starts_with("action.") || p.parent().map(name_of) == Some("workflows")))
}

fn classify(p: &Path, root: &Path, out: &mut Discovered) {
    let name = name_of(p);
    if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" {
        out.gitlab.push(p.to_path_buf());
        return;
    }
    if !is_yaml(p) {
        return;
    }
    if name == "action.yml" || name == "action.yaml" {
        out.github.push(GithubFile {
            abs: p.to_path_buf(),
            kind: GithubKind::Action,
            repo_root: repo_root_of(root, p),
        });
        return;
    }
    let parent = p.parent();
    let grand = parent.and_then(Path::parent);
    if parent.map(name_of) == Some("workflows") && grand.map(name_of) == Some(".github") {
        let repo_root = grand
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        out.github.push(GithubFile {
            abs: p.to_path_buf(),
            kind: GithubKind::Workflow,
            repo_root,
        });
    }
}

/// `p` relative to `root` (see [`crate::source::fs::relative_display`]).
pub(crate) fn display_path(root: &Path, p: &Path) -> String {
    crate::source::fs::relative_display(root, p)
}
