//! `keysweep rotate --open-pr --repo OWNER/REPO [PATH]`: the migration pull request of each
//! repository. One repository's error never stops the others: each is reported, counted and
//! recorded in the ledger; the exit status is 2 when any failed.

use std::path::PathBuf;

use anyhow::Context as _;
use keysweep::forge::pr::{open_pr, Outcome, PrOptions, Status};
use keysweep::forge::{split_repo, Client};
use keysweep::ledger::{Ledger, Record};

use super::rotate::{RotateArgs, RotateFormat};

/// `$XDG_STATE_HOME/keysweep/ledger.jsonl`, else `~/.local/state/keysweep/ledger.jsonl`:
/// outside any repository's tree, so the ledger is never committed by accident.
pub(super) fn default_ledger() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    state.join("keysweep").join("ledger.jsonl")
}

fn repositories(args: &RotateArgs) -> anyhow::Result<Vec<String>> {
    let mut repos = args.repo.clone();
    if let Some(f) = &args.pr.repos {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("--repos {}", f.display()))?;
        repos.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    repos.retain(|r| seen.insert(r.clone()));
    if repos.is_empty() {
        anyhow::bail!("--open-pr needs --repo OWNER/REPO (repeatable) or --repos FILE");
    }
    Ok(repos)
}

fn print_outcome(o: &Outcome, format: RotateFormat) {
    if let RotateFormat::Json = format {
        println!("{}", serde_json::to_string(o).unwrap_or_default());
        return;
    }
    let what = match &o.status {
        Status::Opened => "pull request opened".to_string(),
        Status::Repaired => "pull request opened for the branch an earlier run pushed".to_string(),
        Status::Updated => "pull request updated (new commit and body)".to_string(),
        Status::Reopened => "pull request reopened and updated".to_string(),
        Status::Unchanged => "the pull request already carries this plan: nothing sent".to_string(),
        Status::Closed => "the plan is empty: pull request closed and branch deleted".to_string(),
        Status::NothingToDo => "nothing to migrate".to_string(),
        Status::Skipped(why) => format!("skipped: {why}"),
        Status::Stopped(why) => format!("stopped: {why}"),
    };
    let verb = if o.dry_run && !o.writes.is_empty() {
        "would be: "
    } else {
        ""
    };
    println!("{}: {verb}{what}", o.repository);
    if let Some(u) = &o.pr_url {
        println!("  {u}");
    }
    for n in &o.notes {
        println!("  note: {n}");
    }
    if !o.writes.is_empty() {
        println!(
            "  {} write request(s){}:",
            o.writes.len(),
            if o.dry_run {
                " (dry run: --confirm sends them)"
            } else {
                ""
            }
        );
        for w in &o.writes {
            println!("    {} {}  {}", w.method, w.path, w.summary);
        }
    }
    if o.dry_run {
        if let Some(b) = &o.body {
            println!("  pull request body:\n");
            for l in b.lines() {
                println!("    {l}");
            }
            println!();
        }
    }
}

pub fn run(args: &RotateArgs) -> anyhow::Result<i32> {
    let repos = repositories(args)?;
    let ledger = Ledger::new(args.pr.ledger.clone().unwrap_or_else(default_ledger));
    let opts = PrOptions {
        branch: args.pr.branch.clone(),
        draft: args.pr.draft,
        labels: args.pr.labels.clone(),
        reviewers: args.pr.reviewers.clone(),
        write_trust_files: args.pr.write_trust_files,
        reopen: args.pr.reopen,
        confirm: args.pr.confirm,
        allow_placeholders: args.allow_placeholders,
        targets: args.target.clone(),
        flags: keysweep::rotate::facts::Facts {
            repository: None,
            ..args.facts()
        },
        local: args.path.clone(),
    };
    if opts.local.is_some() && repos.len() > 1 {
        anyhow::bail!("PATH is one checkout: give a single --repo with it");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let mut failed = Vec::new();
    rt.block_on(async {
        let client = Client::from_env(args.pr.github_url.as_deref())?;
        for slug in &repos {
            let result = async {
                if split_repo(slug).is_none() {
                    anyhow::bail!("not OWNER/REPO");
                }
                let c = client.for_repository(slug).await?;
                let actor = if opts.confirm {
                    c.actor().await
                } else {
                    String::new()
                };
                let mut done = Vec::new();
                let o = open_pr(&c, slug, &opts, &mut done).await;
                // what was sent is recorded even when a later write failed
                for mut rec in done {
                    rec.actor = actor.clone();
                    ledger.append(rec)?;
                }
                Ok::<Outcome, anyhow::Error>(o?)
            }
            .await;
            match result {
                Ok(o) => print_outcome(&o, args.format),
                Err(e) => {
                    eprintln!("keysweep: {slug}: {e:#}");
                    if opts.confirm {
                        let rec = Record {
                            actor: client.credentials().app_actor().unwrap_or_default(),
                            repository: slug.clone(),
                            secret: None,
                            action: "pr-open".into(),
                            result: format!("{e:#}"),
                            evidence: Default::default(),
                        };
                        if let Err(le) = ledger.append(rec) {
                            eprintln!("keysweep: {slug}: ledger: {le}");
                        }
                    }
                    failed.push(slug.clone());
                }
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    if !failed.is_empty() {
        eprintln!(
            "keysweep: {} of {} repositories failed: {}",
            failed.len(),
            repos.len(),
            failed.join(", ")
        );
        return Ok(2);
    }
    Ok(0)
}
