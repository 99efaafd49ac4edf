//! `keysweep sweep`: the scheduled org-wide sweep, and `sweep merge` for shard states.

use super::GlobalArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use keysweep::detect::Detector;
use keysweep::report::sweep::SweepReport;
use keysweep::rules::RuleSet;
use keysweep::scan::{ScanSettings, Scanner};
use keysweep::source::fs::WalkOptions;
use keysweep::sweep::{self, state::State, SweepOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// One clone URL or local path a line.
    #[arg(long, value_name = "FILE")]
    pub repos: Option<PathBuf>,
    /// The mirror cache (created readable by you only).
    #[arg(long, value_name = "DIR", default_value = ".keysweep-cache")]
    pub cache: PathBuf,
    /// The state file (default: sweep.db in the cache).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Repositories swept at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Skip (and record as failed) a repository whose mirror is larger (bytes).
    #[arg(long, value_name = "BYTES")]
    pub max_repo_size: Option<u64>,
    /// Take only shard I of N (0-based), by a stable hash of the repository name.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Remove the mirrors of repositories no longer listed.
    #[arg(long)]
    pub prune: bool,
    /// Resume an interrupted sweep (also what running again does).
    #[arg(long)]
    pub resume: bool,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the markdown report here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the one-file HTML report here (no external resource, secrets redacted).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also review the org's entitlements (`keysweep entitlements --org ORG`), tracked over
    /// sweeps in the cache, written beside each report (`report.entitlements.html`, ...).
    #[cfg(feature = "github")]
    #[arg(long, value_name = "ORG")]
    pub entitlements: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Combine shard states into one (`--state OUT`).
    Merge {
        #[arg(required = true)]
        states: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

/// Where the reports go.
struct Outputs<'a> {
    json: &'a Option<PathBuf>,
    markdown: &'a Option<PathBuf>,
    html: &'a Option<PathBuf>,
}

pub fn run(args: &SweepArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    if let Some(SweepCommand::Merge {
        states,
        state,
        json,
        markdown,
        html,
    }) = &args.command
    {
        if args.repos.is_some() {
            bail!("sweep merge combines states: it takes no --repos");
        }
        // Merging into a state that already holds rows would count transitions twice.
        if state.exists() {
            bail!(
                "{} already exists: sweep merge writes a new state",
                state.display()
            );
        }
        if let Some(missing) = states.iter().find(|s| !s.is_file()) {
            bail!("{}: no such state file", missing.display());
        }
        let mut out = State::open(state)?;
        for s in states {
            out.merge_from(s)
                .with_context(|| format!("merging {}", s.display()))?;
        }
        let outputs = Outputs {
            json,
            markdown,
            html,
        };
        return report(&out, &outputs, global);
    }
    let Some(list) = &args.repos else {
        bail!("say which repositories to sweep: --repos FILE");
    };
    let text =
        std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
    let repos = sweep::read_repo_list(&text);
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    sweep::create_cache(&args.cache)
        .with_context(|| format!("creating {}", args.cache.display()))?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| args.cache.join("sweep.db"));
    let rules = Arc::new(RuleSet::builtin().context("built-in rules")?);
    let settings = ScanSettings {
        walk: WalkOptions {
            max_file_size: 25 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let scanner = Scanner::new(Detector::new(rules)?, settings);
    let opts = SweepOptions {
        cache: args.cache.clone(),
        state: state_path.clone(),
        jobs: args.jobs,
        max_repo_size: args.max_repo_size,
        shard,
        prune: args.prune,
        credentials: sweep::credentials::GitCredentials::from_env(),
    };
    let total = match shard {
        Some((i, n)) => repos
            .iter()
            .filter(|r| sweep::shard_of(&r.name, n) == i)
            .count(),
        None => repos.len(),
    };
    let progress = Progress::new(total as u64, !global.quiet);
    let started = std::time::Instant::now();
    let summary = sweep::run(&scanner, repos, &opts, &|done| progress.done(done))?;
    progress.finish();
    let state = State::open(&state_path)?;
    let outputs = Outputs {
        json: &args.json,
        markdown: &args.markdown,
        html: &args.html,
    };
    let code = report(&state, &outputs, global)?;
    // entitlement review (issue 14, src/cli/entitlements.rs), after the sweep's own reports
    #[cfg(feature = "github")]
    let code = match &args.entitlements {
        Some(org) => code.max(super::entitlements::in_sweep(
            org,
            &args.cache,
            [&args.json, &args.markdown, &args.html],
            global.quiet,
        )),
        None => code,
    };
    if !global.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "sweep {}{}: {} repositories ({} already done), {} failed, {} objects scanned ({:.1} MB in {:.1} s)",
            summary.sweep,
            if summary.resumed { " (resumed)" } else { "" },
            summary.repositories,
            summary.skipped_done,
            summary.failed,
            summary.objects_scanned,
            summary.bytes_scanned as f64 / 1e6,
            secs
        );
    }
    Ok(code)
}

fn report(state: &State, out: &Outputs<'_>, global: &GlobalArgs) -> anyhow::Result<i32> {
    let rep = SweepReport::new(
        state.repos()?,
        state.findings()?,
        state.pipeline_uses()?,
        state.trend(30)?,
    );
    let write = |p: &PathBuf, text: String| {
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
    };
    if let Some(p) = out.json {
        write(p, rep.json())?;
    }
    if let Some(p) = out.markdown {
        write(p, rep.markdown())?;
    }
    if let Some(p) = out.html {
        write(p, rep.html())?;
    }
    if out.json.is_none() && out.markdown.is_none() && out.html.is_none() && !global.quiet {
        print!("{}", rep.markdown());
    }
    Ok(if rep.open_findings > 0 { 1 } else { 0 })
}

/// The progress bar on a terminal (never in `--quiet` or when stderr is not a terminal):
/// repositories done/total, objects scanned, MB/s.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    objects: AtomicU64,
    bytes: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    fn new(total: u64, shown: bool) -> Progress {
        let bar = (shown && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} repositories  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            objects: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    fn done(&self, done: &sweep::RepoDone) {
        let Some(bar) = &self.bar else { return };
        let objects = self
            .objects
            .fetch_add(done.objects_scanned, Ordering::Relaxed)
            + done.objects_scanned;
        let bytes =
            self.bytes.fetch_add(done.bytes_scanned, Ordering::Relaxed) + done.bytes_scanned;
        let failed = self
            .failed
            .fetch_add(u64::from(done.failed), Ordering::Relaxed)
            + u64::from(done.failed);
        let secs = bar.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{objects} objects, {:.1} MB/s{}",
            bytes as f64 / 1e6 / secs,
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            }
        ));
        bar.inc(1);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let (i, n) = s.split_once('/').context("--shard is I/N, e.g. 0/3")?;
    let (i, n): (u64, u64) = (i.parse()?, n.parse()?);
    if n == 0 || i >= n {
        bail!("--shard {s}: I must be below N (0-based)");
    }
    Ok((i, n))
}
