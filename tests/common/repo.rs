//! A git repository in a temporary directory, driven by the real `git` with no user config.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Repo {
    _tmp: tempfile::TempDir,
    pub path: PathBuf,
    tick: std::cell::Cell<u64>,
}

impl Repo {
    pub fn new() -> Repo {
        Repo::named("repo")
    }

    pub fn named(name: &str) -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        let r = Repo {
            _tmp: tmp,
            path,
            tick: std::cell::Cell::new(0),
        };
        r.git(["init", "-q", "-b", "main", "."]);
        r
    }

    pub fn git_in(&self, dir: &Path, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> String {
        // Distinct, increasing dates so "first commit" is well defined.
        let t = self.tick.get() + 1;
        self.tick.set(t);
        let date = format!("{} +0000", 1_700_000_000 + t * 60);
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args([
                "-c",
                "user.name=Test Author",
                "-c",
                "user.email=author@example.test",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "gc.auto=0",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn git(&self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> String {
        self.git_in(&self.path, args)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        crate::common::write(&self.path, rel, content);
    }

    /// Writes files, stages everything, commits, returns the commit id.
    pub fn commit(&self, msg: &str, files: &[(&str, &str)]) -> String {
        for (p, c) in files {
            self.write(p, c);
        }
        self.git(["add", "-A"]);
        self.git(["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(["rev-parse", "HEAD"])
    }
}
