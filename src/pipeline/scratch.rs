//! CI files that are not in a work tree (a git tree or the index, files read through an API)
//! laid out in a private temporary directory, so the analysis, which reads a directory, runs
//! on them unchanged. One place for the layout rules: relative paths that stay inside, files no
//! bigger than a CI file is, the directory (0700) removed when dropped, also on error.

use std::io;
use std::path::{Component, Path};

/// CI files are small; a bigger blob is data, not a pipeline.
pub const MAX_CI_FILE: usize = 1 << 20;

/// `path` (`/`-separated) ends in `.yml`/`.yaml`: every file the analysis reads is one
/// (workflows, actions, GitLab CI and its local includes, which can live anywhere).
pub fn is_yaml(path: &str) -> bool {
    path.ends_with(".yml") || path.ends_with(".yaml")
}

pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A new empty directory, under `parent` when given (a sweep keeps it in its 0700 cache).
    pub fn new(parent: Option<&Path>) -> io::Result<Scratch> {
        let mut b = tempfile::Builder::new();
        b.prefix("keysweep-ci-");
        let dir = match parent {
            Some(p) => {
                std::fs::create_dir_all(p)?;
                b.tempdir_in(p)?
            }
            None => b.tempdir()?,
        };
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` at `rel`. A path that would leave the directory, or content bigger than
    /// [`MAX_CI_FILE`], is skipped: `Ok(false)`.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> io::Result<bool> {
        let safe = !rel.is_empty()
            && Path::new(rel)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe || bytes.len() > MAX_CI_FILE {
            return Ok(false);
        }
        let target = self.dir.path().join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes)?;
        Ok(true)
    }
}
