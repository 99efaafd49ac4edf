//! `--open-prs`: after the sweep, the OIDC migration pull request of each repository with
//! pipeline credentials that can move now, through the same idempotent flow as
//! `rotate --open-pr` ([`open_pr`]). At most `max_new` new pull requests per run: one that is
//! already open is updated (or left alone) and does not count, so a run never duplicates one;
//! the repositories past the limit are `deferred` to the next sweep.

use super::state::PrRow;
use crate::forge::pr::{open_pr, Outcome, PrOptions, Status};
use crate::forge::{split_repo, Client};
use crate::ledger::{Ledger, Record};

/// A repository with credentials to migrate: its name and the providers of those uses.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub repo: String,
    pub targets: Vec<String>,
}

fn status_name(s: &Status) -> (&'static str, Option<String>) {
    match s {
        Status::Opened | Status::Repaired => ("opened", None),
        Status::Updated => ("updated", None),
        Status::Reopened => ("reopened", None),
        Status::Unchanged => ("unchanged", None),
        Status::Closed => ("closed", None),
        Status::NothingToDo => ("nothing-to-do", None),
        Status::Skipped(w) => ("skipped", Some(w.clone())),
        Status::Stopped(w) => ("stopped", Some(w.clone())),
    }
}

/// The pull request number at the end of its URL (`.../pull/7`).
fn number_of(url: &str) -> Option<i64> {
    url.rsplit('/').next().and_then(|n| n.parse().ok())
}

/// Runs the flow for each candidate in order until `max_new` pull requests are new; every
/// write it sends is appended to `ledger` (as `rotate --open-pr` does).
pub async fn open_all(
    client: &Client,
    candidates: &[Candidate],
    opts: &PrOptions,
    max_new: usize,
    sweep: i64,
    ledger: &Ledger,
) -> Vec<PrRow> {
    let mut rows = Vec::new();
    let mut new = 0;
    for c in candidates {
        let mut row = PrRow {
            repo: c.repo.clone(),
            sweep,
            status: String::new(),
            url: None,
            number: None,
            targets: c.targets.join(","),
            dry_run: !opts.confirm,
            detail: None,
            merged: false,
        };
        if split_repo(&c.repo).is_none() {
            row.status = "skipped".into();
            row.detail = Some("not a GitHub repository (OWNER/REPO): list it with --org".into());
        } else if new >= max_new {
            row.status = "deferred".into();
            row.detail = Some(format!("--max-prs {max_new} new pull requests this run"));
        } else {
            match one(client, &c.repo, opts, ledger).await {
                Ok(o) => {
                    let (status, detail) = status_name(&o.status);
                    new += usize::from(status == "opened");
                    row.status = status.into();
                    row.detail = detail;
                    row.number = o.pr_url.as_deref().and_then(number_of);
                    row.url = o.pr_url;
                }
                Err(e) => {
                    row.status = "failed".into();
                    row.detail = Some(e);
                }
            }
        }
        rows.push(row);
    }
    rows
}

async fn one(
    client: &Client,
    slug: &str,
    opts: &PrOptions,
    ledger: &Ledger,
) -> Result<Outcome, String> {
    let c = client
        .for_repository(slug)
        .await
        .map_err(|e| e.to_string())?;
    let actor = if opts.confirm {
        c.actor().await
    } else {
        String::new()
    };
    let mut done = Vec::new();
    let o = open_pr(&c, slug, opts, &mut done).await;
    // what was sent is recorded even when a later write failed
    for mut rec in done {
        rec.actor = actor.clone();
        ledger.append(rec).map_err(|e| format!("ledger: {e}"))?;
    }
    match o {
        Ok(o) => Ok(o),
        Err(e) => {
            if opts.confirm {
                let rec = Record {
                    actor,
                    repository: slug.to_string(),
                    secret: None,
                    action: "pr-open".into(),
                    result: e.to_string(),
                    evidence: Default::default(),
                };
                ledger
                    .append(rec)
                    .map_err(|le| format!("{e}; ledger: {le}"))?;
            }
            Err(e.to_string())
        }
    }
}

/// Whether GitHub reports the recorded pull request merged (`GET /repos/o/r/pulls/N`).
pub async fn is_merged(client: &Client, row: &PrRow) -> Result<bool, crate::forge::ForgeError> {
    let Some(n) = row.number else {
        return Ok(false);
    };
    let c = client.for_repository(&row.repo).await?;
    let pr = c.get(&format!("/repos/{}/pulls/{n}", row.repo)).await?;
    Ok(pr["merged"].as_bool() == Some(true) || pr["merged_at"].is_string())
}
