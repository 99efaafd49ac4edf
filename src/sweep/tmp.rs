//! The sweep's scratch space in the cache (`CACHE/tmp`: it holds CI files that may carry
//! secrets). Each run works in its own `run-PID-NANOS/` and holds an exclusive lock on
//! `run-PID-NANOS.lock` while it lives, so a later run tells a killed run's leftovers (lock
//! free) from a running one's (lock held) and removes only the former.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// This run's scratch directory; removed with its lock file when dropped.
#[derive(Debug)]
pub struct RunTmp {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl RunTmp {
    pub fn create(tmp: &Path) -> io::Result<RunTmp> {
        fs::create_dir_all(tmp)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("run-{}-{nanos}", std::process::id());
        let lock_path = tmp.join(format!("{name}.lock"));
        let lock = File::options()
            .write(true)
            .create_new(true)
            .open(&lock_path)?;
        lock.lock()?;
        let dir = tmp.join(name);
        fs::create_dir(&dir)?;
        Ok(RunTmp {
            dir,
            lock_path,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RunTmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// Removes what killed runs left in `tmp`: a run directory whose lock nobody holds (or
/// whose lock file is gone), and the `keysweep-ci-*` directories older versions kept
/// directly in `tmp`. Returns how many entries it removed.
pub fn remove_stale(tmp: &Path) -> usize {
    let Ok(entries) = fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let stale = if let Some(run) = name.strip_suffix(".lock") {
            let free = File::options()
                .write(true)
                .open(&path)
                .is_ok_and(|f| f.try_lock().is_ok());
            if free {
                let _ = fs::remove_dir_all(tmp.join(run));
            }
            free
        } else if name.starts_with("run-") {
            !tmp.join(format!("{name}.lock")).exists()
        } else {
            name.starts_with("keysweep-ci-")
        };
        if stale {
            let gone = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed += usize::from(gone.is_ok());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_run_is_kept_a_free_one_removed() {
        let t = tempfile::tempdir().expect("tempdir");
        let tmp = t.path().join("tmp");
        let live = RunTmp::create(&tmp).expect("run");
        fs::create_dir(live.path().join("keysweep-ci-live")).expect("scratch");
        // a killed run: its lock file free, its scratch left behind; an older version's
        fs::create_dir_all(tmp.join("run-1-1/keysweep-ci-x")).expect("dead");
        File::create(tmp.join("run-1-1.lock")).expect("dead lock");
        fs::create_dir(tmp.join("keysweep-ci-old")).expect("old");
        fs::create_dir(tmp.join("run-2-2")).expect("no lock");
        assert_eq!(remove_stale(&tmp), 3);
        let mut left: Vec<String> = fs::read_dir(&tmp)
            .expect("tmp")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let name = live
            .path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert_eq!(left, [name.clone(), format!("{name}.lock")]);
        drop(live);
        assert_eq!(fs::read_dir(&tmp).expect("tmp").count(), 0);
    }
}
