//! `keysweep sweep`: the scheduled org-wide sweep, and `sweep merge` for shard states.

use super::GlobalArgs;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use keysweep::detect::Detector;
use keysweep::report::sweep::SweepReport;
use keysweep::rules::RuleSet;
use keysweep::scan::{ScanSettings, Scanner};
use keysweep::source::fs::WalkOptions;
use keysweep::sweep::{self, credentials::GitCredentials, state::State, SweepOptions};
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
    /// Every repository of this GitHub organisation (repeatable; token from GITHUB_TOKEN).
    #[arg(long, value_name = "ORG")]
    pub org: Vec<String>,
    /// Every repository this GitHub user owns (repeatable).
    #[arg(long, value_name = "USER")]
    pub user: Vec<String>,
    /// With --org/--user: also archived repositories.
    #[arg(long)]
    pub include_archived: bool,
    /// With --org/--user: also forks.
    #[arg(long)]
    pub include_forks: bool,
    /// With --org/--user: only repositories carrying this topic (repeatable: every one).
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    /// Leave out repositories whose full name matches this glob (repeatable; every source).
    #[arg(long, value_name = "GLOB")]
    pub exclude_repo: Vec<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
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
    /// Write one SARIF log per repository into this directory (`OWNER_REPO.sarif`).
    #[arg(long, value_name = "DIR")]
    pub sarif: Option<PathBuf>,
    /// Also review the org's entitlements (`keysweep entitlements --org ORG`), tracked over
    /// sweeps in the cache, written beside each report (`report.entitlements.html`, ...).
    #[cfg(feature = "github")]
    #[arg(long, value_name = "ORG")]
    pub entitlements: Option<String>,
}

/// What the sweep changes on GitHub afterwards (dry runs unless `--confirm`).
#[derive(Debug, Args, Clone)]
pub struct RemoteArgs {
    /// Keep one tracking issue in OWNER/REPO up to date (found again by a hidden marker).
    #[arg(long, value_name = "OWNER/REPO")]
    pub dashboard: Option<String>,
    /// After the sweep, open the OIDC migration pull request of each repository with pipeline
    /// credentials that can move now (as `rotate --open-pr`).
    #[arg(long)]
    pub open_prs: bool,
    /// With --open-prs: at most this many new pull requests per run.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_prs: usize,
    /// With --open-prs: the AWS account the migrated workflows assume a role in.
    #[arg(long, value_name = "ID")]
    pub aws_account_id: Option<String>,
    /// With --open-prs: the IAM role the migrated workflows assume.
    #[arg(long, value_name = "NAME")]
    pub aws_role_name: Option<String>,
    /// With --open-prs: the region a new configure-aws-credentials step uses.
    #[arg(long, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// The evidence ledger (default: $XDG_STATE_HOME/keysweep/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Send the changes (the pull requests, the dashboard issue); without it they are only
    /// printed.
    #[arg(long)]
    pub confirm: bool,
    /// GitHub API base (default GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
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
        #[arg(long, value_name = "DIR")]
        sarif: Option<PathBuf>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

/// Where the reports go.
struct Outputs<'a> {
    json: &'a Option<PathBuf>,
    markdown: &'a Option<PathBuf>,
    html: &'a Option<PathBuf>,
    sarif: &'a Option<PathBuf>,
}

pub fn run(args: &SweepArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    if let Some(SweepCommand::Merge {
        states,
        state,
        json,
        markdown,
        html,
        sarif,
        remote,
    }) = &args.command
    {
        if args.repos.is_some() || !args.org.is_empty() || !args.user.is_empty() {
            bail!("sweep merge combines states: it takes no --repos, --org or --user");
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
            sarif,
        };
        let latest = out.trend(1)?.last().map(|(id, _)| *id).unwrap_or(0);
        let prs =
            pull_requests(&out, remote, global, latest).max(statuses(&mut out, remote, latest));
        let (code, rep) = report(&out, &outputs, global, None)?;
        return Ok(code.max(prs).max(after(&rep, remote, global)));
    }
    let (repos, credentials) = sources(args)?;
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
    let scanner = Scanner::new(Detector::new(rules), settings);
    let opts = SweepOptions {
        cache: args.cache.clone(),
        state: state_path.clone(),
        jobs: args.jobs,
        max_repo_size: args.max_repo_size,
        shard,
        prune: args.prune,
        credentials,
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
    let mut state = State::open(&state_path)?;
    let prs = pull_requests(&state, &args.remote, global, summary.sweep).max(statuses(
        &mut state,
        &args.remote,
        summary.sweep,
    ));
    let outputs = Outputs {
        json: &args.json,
        markdown: &args.markdown,
        html: &args.html,
        sarif: &args.sarif,
    };
    // the entitlement review (src/cli/entitlements.rs) goes into the report and the dashboard
    #[cfg(feature = "github")]
    let (ent_code, entitlements) = match &args.entitlements {
        Some(org) => super::entitlements::in_sweep(
            org,
            &args.cache,
            [&args.json, &args.markdown, &args.html],
        ),
        None => (0, None),
    };
    #[cfg(not(feature = "github"))]
    let (ent_code, entitlements) = (0, None);
    let (code, rep) = report(&state, &outputs, global, entitlements)?;
    let code = code
        .max(prs)
        .max(ent_code)
        .max(after(&rep, &args.remote, global));
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

/// Every source's repositories (`--repos`, `--org`, `--user`), without the excluded ones,
/// and the git credentials their fetches use.
fn sources(args: &SweepArgs) -> anyhow::Result<(Vec<sweep::RepoSpec>, GitCredentials)> {
    if args.repos.is_none() && args.org.is_empty() && args.user.is_empty() {
        bail!("say which repositories to sweep: --repos FILE, --org ORG or --user USER");
    }
    let mut globs = globset::GlobSetBuilder::new();
    for g in &args.exclude_repo {
        globs.add(globset::Glob::new(g).with_context(|| format!("--exclude-repo {g}"))?);
    }
    let globs = globs.build().context("--exclude-repo")?;
    let mut repos = Vec::new();
    if let Some(list) = &args.repos {
        let text =
            std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
        repos.extend(sweep::read_repo_list(&text));
    }
    #[allow(unused_mut)]
    let mut credentials = GitCredentials::from_env();
    if !args.org.is_empty() || !args.user.is_empty() {
        #[cfg(feature = "github")]
        {
            let listed = github_sources(args)?;
            let (client_creds, listed) = listed;
            sweep::github::add_api_token(&mut credentials, &client_creds, &listed);
            repos.extend(listed);
        }
        #[cfg(not(feature = "github"))]
        bail!("--org and --user need the `github` feature: cargo install keysweep --features full");
    }
    Ok((sweep::exclude(repos, &globs), credentials))
}

/// The repositories `--org` and `--user` list, and the API credentials that listed them.
#[cfg(feature = "github")]
fn github_sources(
    args: &SweepArgs,
) -> anyhow::Result<(keysweep::forge::Credentials, Vec<sweep::RepoSpec>)> {
    use keysweep::sweep::github::{list, ListFilter, Owner};
    let filter = ListFilter {
        include_archived: args.include_archived,
        include_forks: args.include_forks,
        topics: args.topic.clone(),
    };
    let owners: Vec<Owner> = args
        .org
        .iter()
        .map(|o| Owner::Org(o.clone()))
        .chain(args.user.iter().map(|u| Owner::User(u.clone())))
        .collect();
    runtime()?.block_on(async {
        let client = keysweep::forge::Client::from_env(args.remote.github_url.as_deref())?;
        // an App's own JWT may not list an organisation's repositories (its installation
        // may, but which one is not known before the listing)
        if client.credentials().app_actor().is_some() {
            bail!(
                "--org and --user list with a token (GITHUB_TOKEN or GH_TOKEN), not a GitHub App"
            );
        }
        let mut out = Vec::new();
        for owner in &owners {
            let who = match owner {
                Owner::Org(o) => format!("--org {o}"),
                Owner::User(u) => format!("--user {u}"),
            };
            out.extend(list(&client, owner, &filter).await.context(who)?);
        }
        Ok::<_, anyhow::Error>((client.credentials().clone(), out))
    })
}

#[cfg(feature = "github")]
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

fn report(
    state: &State,
    out: &Outputs<'_>,
    global: &GlobalArgs,
    entitlements: Option<keysweep::report::sweep::EntitlementSection>,
) -> anyhow::Result<(i32, SweepReport)> {
    let mut rep = SweepReport::new(
        state.repos()?,
        state.findings()?,
        state.pipeline_uses()?,
        state.trend(30)?,
    );
    rep.pull_requests = state.pull_requests()?;
    rep.entitlements = entitlements;
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
    if let Some(dir) = out.sarif {
        write_sarif(dir, &rep)?;
    }
    let none = out.json.is_none() && out.markdown.is_none() && out.html.is_none();
    if none && out.sarif.is_none() && !global.quiet {
        print!("{}", rep.markdown());
    }
    Ok((if rep.open_findings > 0 { 1 } else { 0 }, rep))
}

/// One SARIF log per repository still listed (an empty one clears its alerts in code
/// scanning); two names that map to the same file name get a hash suffix each after the first.
fn write_sarif(dir: &std::path::Path, rep: &SweepReport) -> anyhow::Result<()> {
    use keysweep::sweep::sarif::{document, file_name};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let rules = RuleSet::builtin().context("built-in rules")?;
    let mut used = std::collections::HashSet::new();
    for r in rep.repos.iter().filter(|r| r.status != "gone") {
        let mine: Vec<_> = rep.findings.iter().filter(|f| f.repo == r.name).collect();
        let mut name = file_name(&r.name);
        if !used.insert(name.clone()) {
            let fp = keysweep::finding::fingerprint("sarif", r.name.as_bytes());
            name = format!("{}-{}.sarif", name.trim_end_matches(".sarif"), &fp[..8]);
            used.insert(name.clone());
        }
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&document(&rules, &mine))?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `--open-prs`: the migration pull requests, recorded in the state before the reports are
/// written. A failure is named on stderr and makes the exit status 2.
fn pull_requests(state: &State, remote: &RemoteArgs, global: &GlobalArgs, sweep: i64) -> i32 {
    if !remote.open_prs {
        return 0;
    }
    match open_prs(state, remote, global, sweep) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keysweep: --open-prs: {e:#}");
            2
        }
    }
}

#[cfg(feature = "github")]
fn open_prs(
    state: &State,
    remote: &RemoteArgs,
    global: &GlobalArgs,
    sweep: i64,
) -> anyhow::Result<i32> {
    use keysweep::forge::pr::{PrOptions, DEFAULT_BRANCH};
    use keysweep::sweep::prs::{is_merged, open_all, Candidate};
    use std::collections::{BTreeMap, BTreeSet};
    let ok: BTreeSet<String> = state
        .repos()?
        .into_iter()
        .filter(|r| r.status == "ok")
        .map(|r| r.name)
        .collect();
    let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in state.pipeline_uses()? {
        if u.status == "migratable-now" && ok.contains(&u.repo) {
            targets.entry(u.repo).or_default().insert(u.provider);
        }
    }
    let known = state.pull_requests()?;
    let opts = PrOptions {
        branch: DEFAULT_BRANCH.to_string(),
        confirm: remote.confirm,
        flags: keysweep::rotate::facts::Facts {
            aws_account_id: remote.aws_account_id.clone(),
            aws_role_name: remote.aws_role_name.clone(),
            aws_region: remote.aws_region.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let ledger = keysweep::ledger::Ledger::new(
        remote
            .ledger
            .clone()
            .unwrap_or_else(super::open_pr::default_ledger),
    );
    let rows = runtime()?.block_on(async {
        let client = keysweep::forge::Client::from_env(remote.github_url.as_deref())?;
        // a pull request an earlier sweep opened and a person merged since
        let mut merged = BTreeSet::new();
        let mut unreadable = 0;
        for row in known.iter().filter(|r| r.number.is_some() && !r.merged) {
            // one repository's answer never stops the others
            match is_merged(&client, row).await {
                Ok(true) => {
                    state.set_merged(&row.repo)?;
                    merged.insert(row.repo.clone());
                }
                Ok(false) => {}
                Err(e) => {
                    eprintln!("keysweep: --open-prs: {}: {e}", row.repo);
                    unreadable += 1;
                }
            }
        }
        merged.extend(known.iter().filter(|r| r.merged).map(|r| r.repo.clone()));
        let candidates: Vec<Candidate> = targets
            .into_iter()
            .filter(|(repo, _)| !merged.contains(repo))
            .map(|(repo, t)| Candidate {
                repo,
                targets: t.into_iter().collect(),
            })
            .collect();
        let rows = open_all(&client, &candidates, &opts, remote.max_prs, sweep, &ledger).await;
        Ok::<_, anyhow::Error>((rows, unreadable))
    })?;
    let (rows, unreadable) = rows;
    state.record_prs(&rows)?;
    if !global.quiet {
        for r in &rows {
            eprintln!(
                "pull request {}: {}{}{}{}",
                r.repo,
                if r.dry_run && r.status == "opened" {
                    "would be opened"
                } else {
                    r.status.as_str()
                },
                r.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default(),
                r.url
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default(),
                if r.dry_run {
                    " (dry run: --confirm sends it)"
                } else {
                    ""
                },
            );
        }
    }
    Ok(
        if unreadable > 0 || rows.iter().any(|r| r.status == "failed") {
            2
        } else {
            0
        },
    )
}

#[cfg(not(feature = "github"))]
fn open_prs(_: &State, _: &RemoteArgs, _: &GlobalArgs, _: i64) -> anyhow::Result<i32> {
    bail!("needs the `github` feature: cargo install keysweep --features full")
}

/// `rotated` and `retired` from the ledger and the merged migration pull requests. An
/// unreadable ledger is named on stderr and makes the exit status 2.
fn statuses(state: &mut State, remote: &RemoteArgs, sweep: i64) -> i32 {
    #[cfg(feature = "github")]
    let path = Some(
        remote
            .ledger
            .clone()
            .unwrap_or_else(super::open_pr::default_ledger),
    );
    #[cfg(not(feature = "github"))]
    let path = remote.ledger.clone();
    let entries = match path {
        Some(p) if p.exists() => match keysweep::ledger::Ledger::new(&p).entries() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("keysweep: --ledger: {e}");
                return 2;
            }
        },
        _ => Vec::new(),
    };
    let ev = keysweep::sweep::evidence::Evidence::from_entries(&entries);
    match state.apply_evidence(sweep, &ev) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("keysweep: {e}");
            2
        }
    }
}

/// The changes on GitHub after the reports: the dashboard issue. Their failure is named on
/// stderr and makes the exit status 2; the reports are already written.
fn after(rep: &SweepReport, remote: &RemoteArgs, global: &GlobalArgs) -> i32 {
    let Some(slug) = &remote.dashboard else {
        return 0;
    };
    match dashboard(rep, slug, remote, global) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("keysweep: --dashboard {slug}: {e:#}");
            2
        }
    }
}

#[cfg(feature = "github")]
fn dashboard(
    rep: &SweepReport,
    slug: &str,
    remote: &RemoteArgs,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    use keysweep::sweep::dashboard::{body, publish, Action};
    if keysweep::forge::split_repo(slug).is_none() {
        bail!("not OWNER/REPO");
    }
    let text = body(rep);
    let action = runtime()?.block_on(async {
        let client = keysweep::forge::Client::from_env(remote.github_url.as_deref())?;
        let client = client.for_repository(slug).await?;
        Ok::<_, anyhow::Error>(publish(&client, slug, &text, remote.confirm).await?)
    })?;
    if global.quiet {
        return Ok(());
    }
    let what = match &action {
        Action::Created { number } => format!("issue #{number} created"),
        Action::Updated { number } => format!("issue #{number} updated"),
        Action::Unchanged { number } => format!("issue #{number} already up to date"),
        Action::WouldCreate => "would create the issue (dry run: --confirm sends it)".into(),
        Action::WouldUpdate { number } => {
            format!("would update issue #{number} (dry run: --confirm sends it)")
        }
    };
    eprintln!("dashboard {slug}: {what}");
    if matches!(action, Action::WouldCreate | Action::WouldUpdate { .. }) {
        println!("{text}");
    }
    Ok(())
}

#[cfg(not(feature = "github"))]
fn dashboard(_: &SweepReport, _: &str, _: &RemoteArgs, _: &GlobalArgs) -> anyhow::Result<()> {
    bail!("needs the `github` feature: cargo install keysweep --features full")
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
