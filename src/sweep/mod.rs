//! The org-wide sweep: a list of repositories, one bare mirror each in a cache, only the
//! objects not scanned before, and each finding's lifecycle in a SQLite state file.

pub mod credentials;
pub mod dashboard;
pub mod evidence;
#[cfg(feature = "github")]
pub mod github;
pub mod mirror;
pub mod pipelines;
#[cfg(feature = "github")]
pub mod prs;
pub mod sarif;
pub mod scan;
pub mod state;
pub mod tmp;

use crate::scan::Scanner;
use state::{State, StateError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One repository to sweep: its full name (the state key) and where to fetch it from.
#[derive(Debug, Clone)]
pub struct RepoSpec {
    pub name: String,
    /// Never with a credential in it: the list's URL without its user-info.
    pub source: String,
    /// The list gave a URL with a password or token in it: refused, never stored.
    pub credential_in_url: bool,
}

pub struct SweepOptions {
    pub cache: PathBuf,
    pub state: PathBuf,
    pub jobs: usize,
    pub max_repo_size: Option<u64>,
    /// (index, count): this run takes the repositories of shard `index` of `count`.
    pub shard: Option<(u64, u64)>,
    pub prune: bool,
    pub credentials: credentials::GitCredentials,
}

/// One repository finished (for a progress display).
#[derive(Debug, Clone)]
pub struct RepoDone {
    pub name: String,
    pub objects_scanned: u64,
    pub bytes_scanned: u64,
    pub failed: bool,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct SweepSummary {
    pub sweep: i64,
    pub resumed: bool,
    pub repositories: usize,
    pub skipped_done: usize,
    pub failed: usize,
    pub objects_scanned: u64,
    pub bytes_scanned: u64,
}

/// Opens a mirror ignoring the user's and the system's git configuration.
pub fn open_mirror(dir: &Path) -> Result<gix::Repository, String> {
    gix::open_opts(dir, gix::open::Options::isolated()).map_err(|e| e.to_string())
}

/// The shard of a repository: a stable hash of its full name.
pub fn shard_of(name: &str, count: u64) -> u64 {
    let fp = crate::finding::fingerprint("shard", name.as_bytes());
    u64::from_str_radix(&fp[..16], 16).unwrap_or(0) % count.max(1)
}

/// Reads `--repos FILE`: one clone URL or local path a line; `#` comments and blanks skipped.
pub fn read_repo_list(text: &str) -> Vec<RepoSpec> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let source = credentials::strip_userinfo(l);
            RepoSpec {
                name: source.trim_end_matches('/').to_string(),
                credential_in_url: credentials::url_has_credential(l),
                source,
            }
        })
        .collect()
}

/// Leaves out the repositories whose full name matches one of `globs` (`--exclude-repo`),
/// and any repository listed twice (the first one stays).
pub fn exclude(repos: Vec<RepoSpec>, globs: &globset::GlobSet) -> Vec<RepoSpec> {
    let mut seen = HashSet::new();
    repos
        .into_iter()
        .filter(|r| !globs.is_match(&r.name) && seen.insert(r.name.clone()))
        .collect()
}

/// Creates the cache directory readable by its owner only: it holds other people's secrets.
pub fn create_cache(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("mirrors"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Sweeps every repository; a repository that fails is recorded and the sweep goes on.
pub fn run(
    scanner: &Scanner,
    repos: Vec<RepoSpec>,
    opts: &SweepOptions,
    on_done: &(dyn Fn(&RepoDone) + Sync),
) -> Result<SweepSummary, StateError> {
    let repos: Vec<RepoSpec> = match opts.shard {
        Some((i, n)) => repos
            .into_iter()
            .filter(|r| shard_of(&r.name, n) == i)
            .collect(),
        None => repos,
    };
    let started = now();
    // what a killed sweep left in the cache's scratch space goes first
    let tmp_root = opts.cache.join("tmp");
    tmp::remove_stale(&tmp_root);
    let run_tmp = tmp::RunTmp::create(&tmp_root)
        .map_err(|e| StateError::Scratch(format!("{}: {e}", tmp_root.display())))?;
    let scratch = run_tmp.path();
    let state = State::open(&opts.state)?;
    let (sweep, resumed) = state.begin_sweep(&started)?;
    let listed: HashSet<String> = repos.iter().map(|r| r.name.clone()).collect();
    if opts.shard.is_none() {
        for name in state.mark_gone(&listed)? {
            if opts.prune {
                let _ = std::fs::remove_dir_all(mirror::mirror_dir(&opts.cache, &name));
            }
        }
    }
    let state = Mutex::new(state);
    let next = AtomicUsize::new(0);
    let summary = Mutex::new(SweepSummary {
        sweep,
        resumed,
        repositories: repos.len(),
        ..Default::default()
    });
    let failure: Mutex<Option<StateError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(repo) = repos.get(i) else { break };
                match sweep_one(scanner, repo, opts, scratch, sweep, &state, &summary) {
                    Ok(done) => on_done(&done),
                    Err(e) => {
                        *failure.lock().expect("not poisoned") = Some(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let state = state.into_inner().expect("not poisoned");
    state.finish_sweep(sweep, &now())?;
    Ok(summary.into_inner().expect("not poisoned"))
}

fn sweep_one(
    scanner: &Scanner,
    repo: &RepoSpec,
    opts: &SweepOptions,
    scratch: &Path,
    sweep: i64,
    state: &Mutex<State>,
    summary: &Mutex<SweepSummary>,
) -> Result<RepoDone, StateError> {
    let mut result = RepoDone {
        name: repo.name.clone(),
        objects_scanned: 0,
        bytes_scanned: 0,
        failed: false,
    };
    let (done, last) = {
        let st = state.lock().expect("not poisoned");
        if st.done_in(&repo.name, sweep)? {
            (true, None)
        } else {
            (false, st.last_refs_hash(&repo.name)?)
        }
    };
    if done {
        summary.lock().expect("not poisoned").skipped_done += 1;
        return Ok(result);
    }
    let failed = RepoDone {
        failed: true,
        ..result.clone()
    };
    let fail = |status: &str, reason: String| -> Result<RepoDone, StateError> {
        summary.lock().expect("not poisoned").failed += 1;
        state.lock().expect("not poisoned").record_failure(
            sweep,
            &repo.name,
            &repo.source,
            status,
            &reason,
        )?;
        Ok(failed.clone())
    };
    if repo.credential_in_url {
        return fail(
            "auth-failed",
            "the list gives this URL with a credential in it: remove it and set KEYSWEEP_GIT_TOKEN"
                .into(),
        );
    }
    let dir = mirror::mirror_dir(&opts.cache, &repo.name);
    let existed = dir.join("HEAD").exists();
    let ctx = Attempt {
        scanner,
        repo,
        opts,
        scratch,
        dir: &dir,
        state,
        last: last.as_deref(),
    };
    let scanned = match ctx.fetch_and_scan() {
        Ok(p) => p,
        // A mirror that no longer reads is local damage: rebuilt once from the source.
        // Objects scanned before stay scanned, so the rebuild reads only what is new.
        Err(Failure::Mirror(_)) if existed => {
            let _ = std::fs::remove_dir_all(&dir);
            match ctx.fetch_and_scan() {
                Ok(p) => p,
                Err(f) => return fail(f.status(), f.reason()),
            }
        }
        Err(Failure::State(e)) => return Err(e),
        Err(f) => return fail(f.status(), f.reason()),
    };
    let out = match scanned {
        Scanned::Fresh(parts, uses, refs) => {
            result.bytes_scanned = parts.4;
            let mut out = scan::outcome(&repo.name, &repo.source, parts);
            out.pipelines = uses;
            out.refs_hash = Some(refs);
            out
        }
        Scanned::Unchanged(refs) => {
            state
                .lock()
                .expect("not poisoned")
                .unchanged_outcome(&repo.name, &repo.source, refs)?
        }
    };
    result.objects_scanned = out.scanned.len() as u64;
    {
        let mut sum = summary.lock().expect("not poisoned");
        sum.objects_scanned += result.objects_scanned;
        sum.bytes_scanned += result.bytes_scanned;
    }
    state.lock().expect("not poisoned").record(sweep, &out)?;
    Ok(result)
}

/// What a fetch brought: new objects scanned (with the pipelines and the refs digest), or no
/// moved ref at all (the digest equals the last successful sweep's).
enum Scanned {
    Fresh(scan::ScanParts, Vec<pipelines::PipelineUse>, String),
    Unchanged(String),
}

/// Why one repository could not be swept.
enum Failure {
    /// The fetch (or the list) failed: status and reason.
    Fetch(&'static str, String),
    /// The mirror cannot be opened or read (corrupt objects, at the source or in the cache).
    Mirror(String),
    /// The state itself failed: that stops the sweep.
    State(StateError),
}

impl Failure {
    fn status(&self) -> &'static str {
        match self {
            Failure::Fetch(s, _) => s,
            Failure::Mirror(_) | Failure::State(_) => "failed",
        }
    }
    fn reason(self) -> String {
        match self {
            Failure::Fetch(_, r) | Failure::Mirror(r) => r,
            Failure::State(e) => e.to_string(),
        }
    }
}

/// One try at fetching and scanning a repository.
struct Attempt<'a> {
    scanner: &'a Scanner,
    repo: &'a RepoSpec,
    opts: &'a SweepOptions,
    /// This run's scratch directory (the pipelines' CI files).
    scratch: &'a Path,
    dir: &'a Path,
    state: &'a Mutex<State>,
    /// The refs digest of the last successful sweep.
    last: Option<&'a str>,
}

impl Attempt<'_> {
    fn fetch_and_scan(&self) -> Result<Scanned, Failure> {
        let (repo, opts, dir) = (self.repo, self.opts, self.dir);
        // A local source's refs are read directly: unmoved since the last sweep, there is
        // nothing to fetch (a remote one costs its ref advertisement, in the fetch).
        if let Some(last) = self.last {
            let local = Path::new(&repo.source);
            if local.exists() && dir.join("HEAD").exists() {
                if let Ok(refs) = open_mirror(local).and_then(|r| mirror::refs_hash(&r)) {
                    if refs == last {
                        return Ok(Scanned::Unchanged(refs));
                    }
                }
            }
        }
        mirror::fetch(&repo.source, dir, &opts.credentials)
            .map_err(|e| Failure::Fetch(e.status(), e.to_string()))?;
        if let Some(max) = opts.max_repo_size {
            let size = mirror::size(dir);
            if size > max {
                return Err(Failure::Fetch(
                    "failed",
                    format!("over --max-repo-size ({size} bytes > {max})"),
                ));
            }
        }
        let mirror = open_mirror(dir)
            .map_err(|e| Failure::Mirror(format!("cannot open the mirror: {e}")))?;
        let refs = mirror::refs_hash(&mirror).map_err(Failure::Mirror)?;
        if self.last == Some(refs.as_str()) {
            return Ok(Scanned::Unchanged(refs));
        }
        let (scanned, known) = {
            let st = self.state.lock().expect("not poisoned");
            let scanned = st.scanned(&repo.name).map_err(Failure::State)?;
            let known = st.finding_blobs(&repo.name).map_err(Failure::State)?;
            (scanned, known)
        };
        let parts =
            scan::scan_new(self.scanner, &mirror, &scanned, &known).map_err(Failure::Mirror)?;
        let uses = pipelines::analyze(&repo.name, &mirror, self.scratch)
            .map_err(|e| Failure::Mirror(format!("reading the pipelines: {e}")))?;
        Ok(Scanned::Fresh(parts, uses, refs))
    }
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    secs.to_string()
}
