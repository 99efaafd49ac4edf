//! `keysweep entitlements --org ORG | --repo OWNER/REPO`: every long-lived credential the
//! GitHub API shows, cross-referenced with the pipelines, with a verdict each. Read-only
//! unless `--apply ACTION... --confirm`. Exit 0 no verdict, 1 verdicts (or a dry run with
//! changes to make), 2 error.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use keysweep::entitlements::apply::{self, Action};
use keysweep::entitlements::track::State;
use keysweep::entitlements::{render, review, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntitlementFormat {
    /// Grouped by verdict, worst first.
    Human,
    /// One JSON document.
    Json,
    /// One JSON line per credential (for a SIEM).
    Jsonl,
    /// Markdown, for an issue.
    Markdown,
    /// One self-contained HTML page, in the sweep report's style.
    Html,
}

#[derive(Debug, Args)]
pub struct EntitlementsArgs {
    /// Review this organisation: its secrets, tokens, SSO authorisations, Apps, webhooks,
    /// and every (non-archived) repository's secrets, deploy keys and workflows.
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Review this repository (repeatable; with --org, in addition to the org's).
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    pub repos: Vec<String>,
    /// `stale`: not updated (rotated) for this long.
    #[arg(long, value_name = "DURATION", default_value = "90d")]
    pub max_age: String,
    /// `unused`: no use for this long, where the API gives the last use.
    #[arg(long, value_name = "DURATION", default_value = "90d")]
    pub unused_for: String,
    #[arg(long, value_enum, default_value_t = EntitlementFormat::Human)]
    pub format: EntitlementFormat,
    /// Write the report here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Remediations to plan (and with --confirm make): repeatable or comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1.., value_name = "ACTION")]
    pub apply: Vec<Action>,
    /// Send the --apply changes (default: print each request).
    #[arg(long, requires = "apply")]
    pub confirm: bool,
    /// Track verdicts across reviews in this file: each is marked new or open, and what is
    /// gone since the last review is listed as resolved.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// GitHub API base (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
    /// The evidence ledger (default: $XDG_STATE_HOME/keysweep/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

/// The review, tracked in `state` when given.
fn reviewed(
    rt: &tokio::runtime::Runtime,
    client: &keysweep::forge::Client,
    opts: &Options,
    state: Option<&Path>,
) -> anyhow::Result<keysweep::entitlements::Review> {
    let mut review = rt.block_on(review(client, opts))?;
    if let Some(path) = state {
        let mut st = State::load(path)?;
        st.update(&mut review);
        st.save(path)?;
    }
    Ok(review)
}

fn write(
    review: &keysweep::entitlements::Review,
    format: EntitlementFormat,
    w: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    match format {
        EntitlementFormat::Human => render::human(review, w)?,
        EntitlementFormat::Json => render::json(review, w)?,
        EntitlementFormat::Jsonl => render::jsonl(review, w)?,
        EntitlementFormat::Markdown => render::markdown(review, w)?,
        EntitlementFormat::Html => w.write_all(render::html(review).as_bytes())?,
    }
    Ok(())
}

/// `sweep --entitlements ORG`: the org's review (default thresholds), its verdicts tracked
/// over sweeps in the cache (`entitlements-state.json`). Its verdicts become a section of the
/// sweep's reports and dashboard; the full review is written beside each report
/// (`report.entitlements.html` beside `report.html`, same format). Exit 0 no verdict, 1
/// verdicts, 2 the review failed (the sweep's own reports are still written).
#[cfg(feature = "sweep")]
pub(super) fn in_sweep(
    org: &str,
    cache: &Path,
    reports: [&Option<PathBuf>; 3],
) -> (i32, Option<keysweep::report::sweep::EntitlementSection>) {
    let reports: Vec<&Path> = reports
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    match sweep_review(org, cache, &reports) {
        Ok((code, section)) => (code, Some(section)),
        Err(e) => {
            eprintln!("keysweep: error: entitlements: {e:#}");
            (2, None)
        }
    }
}

/// The review's verdicts as the sweep report and dashboard show them.
#[cfg(feature = "sweep")]
fn section(
    org: &str,
    review: &keysweep::entitlements::Review,
) -> keysweep::report::sweep::EntitlementSection {
    use keysweep::report::sweep::{EntitlementRow, EntitlementSection};
    let mut verdicts = Vec::new();
    for c in &review.credentials {
        for v in &c.verdicts {
            verdicts.push(EntitlementRow {
                credential: format!("{} `{}` ({})", c.kind.as_str(), c.name, c.scope),
                verdict: v.kind.as_str().to_string(),
                status: v.status.map_or("open", |s| s.as_str()).to_string(),
                action: v.action.clone(),
            });
        }
    }
    EntitlementSection {
        org: org.to_string(),
        credentials_reviewed: review.credentials.len(),
        verdicts,
        resolved: review.resolved.len(),
        not_visible: review
            .listings
            .iter()
            .filter_map(|l| Some(format!("{}: {}", l.what, l.not_visible.as_ref()?)))
            .collect(),
    }
}

#[cfg(feature = "sweep")]
fn sweep_review(
    org: &str,
    cache: &Path,
    reports: &[&Path],
) -> anyhow::Result<(i32, keysweep::report::sweep::EntitlementSection)> {
    let days = |n: i64| jiff::SignedDuration::from_hours(24 * n);
    let opts = Options {
        org: Some(org.to_string()),
        repos: Vec::new(),
        max_age: days(90),
        unused_for: days(90),
        now: keysweep::retire::clock::now()?,
    };
    let rt = super::retire::runtime()?;
    let _in_rt = rt.enter();
    let client = keysweep::forge::Client::from_env(None)?;
    let review = reviewed(
        &rt,
        &client,
        &opts,
        Some(&cache.join("entitlements-state.json")),
    )?;
    // the full review beside each sweep report; its verdicts go into the report itself
    for p in reports {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("md");
        let format = match ext {
            "json" => EntitlementFormat::Json,
            "html" | "htm" => EntitlementFormat::Html,
            _ => EntitlementFormat::Markdown,
        };
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
        let beside = p.with_file_name(format!("{stem}.entitlements.{ext}"));
        super::output::write_to(Some(&beside), |w| write(&review, format, w))?;
    }
    for (repo, why) in &review.repositories_failed {
        eprintln!("keysweep: error: entitlements: {repo}: {why}");
    }
    let findings = review.credentials.iter().any(|c| !c.verdicts.is_empty());
    Ok((i32::from(findings), section(org, &review)))
}

pub fn run(args: &EntitlementsArgs) -> anyhow::Result<i32> {
    let parse = |flag: &str, v: &str| {
        keysweep::retire::clock::parse_duration(v).map_err(|e| anyhow::anyhow!("--{flag} {e}"))
    };
    let opts = Options {
        org: args.org.clone(),
        repos: args.repos.clone(),
        max_age: parse("max-age", &args.max_age)?,
        unused_for: parse("unused-for", &args.unused_for)?,
        now: keysweep::retire::clock::now()?,
    };
    let rt = super::retire::runtime()?;
    // octocrab's client spawns its service on the runtime it is built in
    let _in_rt = rt.enter();
    let client = keysweep::forge::Client::from_env(args.github_url.as_deref())?;
    let review = reviewed(&rt, &client, &opts, args.state.as_deref())?;
    super::output::write_to(args.output.as_deref(), |w| write(&review, args.format, w))?;
    for (repo, why) in &review.repositories_failed {
        eprintln!("keysweep: error: {repo}: {why}");
    }
    let findings = review.credentials.iter().any(|c| !c.verdicts.is_empty());
    // a repository that could not be reviewed is an error, whatever the others gave
    let code = if review.repositories_failed.is_empty() {
        i32::from(findings)
    } else {
        2
    };
    if args.apply.is_empty() {
        return Ok(code);
    }
    let mut actions = args.apply.clone();
    actions.sort();
    actions.dedup();
    let changes = apply::plan(&review, &actions);
    // the report may be on standard output: the plan goes to standard error
    if changes.is_empty() {
        eprintln!("keysweep: --apply: nothing to change");
        return Ok(code);
    }
    if !args.confirm {
        for ch in &changes {
            eprintln!(
                "would send {} ({}: {})",
                ch.request_line(),
                ch.action.as_str(),
                ch.credential
            );
        }
        eprintln!(
            "dry run: {} change(s), nothing was sent; run again with --confirm",
            changes.len()
        );
        return Ok(code.max(1));
    }
    let ledger = keysweep::ledger::Ledger::new(super::retire::ledger_path(args.ledger.as_deref()));
    let actor = std::env::var("KEYSWEEP_ACTOR")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| rt.block_on(client.actor()));
    let outcomes = rt
        .block_on(apply::execute(&client, &ledger, &actor, changes))
        .context("the evidence ledger")?;
    let mut failed = 0;
    for o in &outcomes {
        match &o.result {
            Ok(status) => eprintln!(
                "sent {} (HTTP {status}; {}: {})",
                o.change.request_line(),
                o.change.action.as_str(),
                o.change.credential
            ),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "keysweep: error: {}: {e} (needs {})",
                    o.change.credential,
                    o.change.action.needs()
                );
            }
        }
    }
    eprintln!(
        "{} change(s) made, {failed} failed; recorded in {}",
        outcomes.len() - failed,
        ledger.path().display()
    );
    Ok(if failed > 0 || code == 2 { 2 } else { 0 })
}
