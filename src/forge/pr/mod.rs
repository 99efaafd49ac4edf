//! `keysweep rotate --open-pr`: the migration pull request of one repository.
//!
//! 1. [`remote::read`]: ids, default branch head, environments, OIDC subject settings, and
//!    the CI files of the head's tree (or a local PATH, checked blob by blob against it).
//! 2. The plan: the same rotate planner as `keysweep rotate`, on those files
//!    ([`crate::rotate::memory::plan_files`]), with the facts GitHub reported.
//! 3. The state on GitHub: the branch (`keysweep/oidc-migration`), its head commit's
//!    `Keysweep-Plan:` trailer, and keysweep's PRs from that branch (found by their marker).
//! 4. The writes that bring GitHub to the plan, decided before any is sent: none when the
//!    plan is the one already pushed and described; a new commit (blobs, tree, commit, ref)
//!    and a body update when it changed; a comment, close and branch deletion when the plan
//!    became empty. A PR a person closed unmerged stays closed unless `reopen`; a branch
//!    someone else pushed to is left alone. Dry run: the writes are returned, not sent.

mod body;
pub mod remote;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::marker::{Marker, MarkerError, VERSION};
use super::{Client, ForgeError};
use crate::ledger::Record;
use crate::rotate::facts::{Facts, SubjectFormat};
use crate::rotate::{self, RepoPlan, RotateError};
use remote::{enc, Remote};

pub use body::MAX_BODY;

/// The default branch name of the migration.
pub const DEFAULT_BRANCH: &str = "keysweep/oidc-migration";
const TRAILER: &str = "Keysweep-Plan: ";
const TITLE: &str = "keysweep: move CI credentials to OIDC";

#[derive(Debug, Clone, Default)]
pub struct PrOptions {
    pub branch: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    /// Also commit the trust configuration under `.keysweep/`.
    pub write_trust_files: bool,
    /// Reopen a PR a person closed unmerged.
    pub reopen: bool,
    /// Send the writes; otherwise only return them.
    pub confirm: bool,
    pub allow_placeholders: bool,
    pub targets: Vec<String>,
    /// Facts from the flags (they win over `.keysweep.toml`; GitHub's answers win over both).
    pub flags: Facts,
    /// Plan from this checkout instead of the API (it must equal the remote head).
    pub local: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Rotate(#[from] RotateError),
    #[error(transparent)]
    Marker(#[from] MarkerError),
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Io(String),
    #[error(".keysweep.toml on the default branch: {0}")]
    Config(String),
}

/// How the run left the repository (or would, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Status {
    Opened,
    /// The branch was pushed by an earlier run that stopped before opening the PR.
    Repaired,
    Updated,
    Reopened,
    Unchanged,
    Closed,
    NothingToDo,
    /// Left alone on purpose (a PR a person closed).
    Skipped(String),
    /// Someone else's work is on the branch: keysweep no longer touches it.
    Stopped(String),
}

/// One write request, sent or to send.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub repository: String,
    pub status: Status,
    pub plan_hash: String,
    pub pr_url: Option<String>,
    pub writes: Vec<Request>,
    pub dry_run: bool,
    pub notes: Vec<String>,
    /// The body sent (or that would be).
    #[serde(skip)]
    pub body: Option<String>,
}

/// A write, decided before any is sent.
#[derive(Debug, Clone)]
enum Write {
    /// Blobs, tree and commit on top of the default branch head.
    Commit {
        files: Vec<(String, String)>,
        message: String,
    },
    CreateRef,
    UpdateRef,
    OpenPr {
        body: String,
    },
    UpdatePr {
        number: u64,
        body: String,
        reopen: bool,
    },
    Labels,
    Reviewers,
    Comment {
        number: u64,
        text: String,
    },
    ClosePr {
        number: u64,
    },
    DeleteRef,
}

/// keysweep's PR from the branch, with its marker.
#[derive(Debug, Clone)]
struct OurPr {
    number: u64,
    url: String,
    open: bool,
    merged: bool,
    marker: Marker,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The facts: `.keysweep.toml` of the branch, then the flags, then what GitHub says.
fn facts(
    r: &Remote,
    files: &BTreeMap<String, String>,
    opts: &PrOptions,
) -> Result<(Facts, Vec<String>), PrError> {
    let mut notes = Vec::new();
    let config = match files.get(".keysweep.toml") {
        Some(text) => crate::suppress::Config::parse(".keysweep.toml", text)
            .map_err(|e| PrError::Config(e.to_string()))?
            .rotate
            .unwrap_or_default(),
        None => Facts::default(),
    };
    let mut f = config.merged(&opts.flags);
    f.repository = Some(r.slug.clone());
    f.owner_id = Some(r.owner_id.to_string());
    f.repository_id = Some(r.id.to_string());
    f.default_branch = Some(r.default_branch.clone());
    if let Some(imm) = r.oidc.use_immutable_subject {
        f.subject_format = Some(if imm {
            SubjectFormat::Immutable
        } else {
            SubjectFormat::Legacy
        });
    }
    if let Some(p) = r
        .oidc
        .sub_claim_prefix
        .as_ref()
        .filter(|p| !p.trim().is_empty())
    {
        f.subject_prefix = Some(p.clone());
    }
    if !r.oidc.use_default && !r.oidc.include_claim_keys.is_empty() {
        notes.push(format!(
            "this repository customizes its OIDC `sub` claim ({}): the trusted subjects below follow the default template; check them against the customized claim before applying the trust configuration",
            r.oidc.include_claim_keys.join(", ")
        ));
    }
    Ok((f, notes))
}

/// What the plan hash covers: the plan (diffs, trust, steps), the edited files' full
/// contents (a change outside the diff context still changes the commit), the options that
/// change the commit. Not the secret scopes: they depend on what the token may read.
fn plan_hash(plan: &RepoPlan, opts: &PrOptions) -> String {
    let after: Vec<(&str, &str)> = plan
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.after.as_str()))
        .collect();
    let text = serde_json::to_string(&(plan, after, opts.write_trust_files, &opts.branch))
        .expect("a plan always serialises");
    sha256_hex(&text)
}

async fn our_prs(c: &Client, r: &Remote, branch: &str) -> Result<(Vec<OurPr>, Vec<u64>), PrError> {
    let head = format!("{}:{branch}", r.owner);
    let pulls = c
        .get_all(&format!(
            "/repos/{}/pulls?state=all&head={}&per_page=100",
            r.slug,
            enc(&head)
        ))
        .await?;
    let (mut ours, mut foreign) = (Vec::new(), Vec::new());
    for p in pulls {
        let number = p["number"].as_u64().unwrap_or_default();
        match Marker::parse(p["body"].as_str().unwrap_or_default())? {
            Some(marker) => ours.push(OurPr {
                number,
                url: p["html_url"].as_str().unwrap_or_default().to_string(),
                open: p["state"] == "open",
                merged: !p["merged_at"].is_null(),
                marker,
            }),
            None if p["state"] == "open" => foreign.push(number),
            None => {}
        }
    }
    ours.sort_by_key(|p| p.number);
    Ok((ours, foreign))
}

/// Plans, compares with GitHub, and (with `confirm`) sends what differs. Each write that
/// succeeded is pushed to `ledger` (actor left empty for the caller) as soon as it is sent,
/// so a run that fails halfway still leaves the record of what it did.
pub async fn open_pr(
    c: &Client,
    slug: &str,
    opts: &PrOptions,
    ledger: &mut Vec<Record>,
) -> Result<Outcome, PrError> {
    let r = remote::read(c, slug).await?;
    let files = match &opts.local {
        Some(root) => remote::local_files(root, &r)?,
        None => remote::read_files(c, &r).await?,
    };
    let (facts, mut notes) = facts(&r, &files, opts)?;
    let plan = rotate::memory::plan_files(
        &files,
        &rotate::Options {
            targets: opts.targets.clone(),
            facts,
        },
    )?;
    let repo_plan = plan.repositories.into_iter().next();
    let empty = repo_plan.as_ref().is_none_or(|p| p.files.is_empty());
    if let Some(p) = repo_plan
        .as_ref()
        .filter(|_| !empty && !opts.allow_placeholders)
    {
        if !p.placeholders.is_empty() {
            let names: Vec<String> = p
                .placeholders
                .iter()
                .map(|x| format!("{} via {}", x.placeholder, x.flag))
                .collect();
            return Err(RotateError::Placeholders(names.join(", ")).into());
        }
    }
    let hash = repo_plan
        .as_ref()
        .filter(|_| !empty)
        .map(|p| plan_hash(p, opts))
        .unwrap_or_default();

    // the branch and keysweep's PRs from it
    let branch = &opts.branch;
    let ref_path = format!(
        "/repos/{}/git/ref/{}",
        r.slug,
        enc(&format!("heads/{branch}"))
    );
    let branch_sha = c
        .get_opt(&ref_path)
        .await?
        .and_then(|v| v["object"]["sha"].as_str().map(String::from));
    let (ours, foreign) = our_prs(c, &r, branch).await?;
    let mut out = Outcome {
        repository: r.slug.clone(),
        status: Status::NothingToDo,
        plan_hash: hash.clone(),
        pr_url: ours.last().map(|p| p.url.clone()),
        writes: Vec::new(),
        dry_run: !opts.confirm,
        notes: Vec::new(),
        body: None,
    };
    if let Some(n) = foreign.first() {
        out.status = Status::Stopped(format!(
            "pull request #{n} from `{branch}` was not opened by keysweep (no keysweep marker); keysweep does not touch it or its branch"
        ));
        return Ok(out);
    }
    let mut branch_hash = None;
    if let Some(sha) = &branch_sha {
        let commit = c
            .get(&format!("/repos/{}/git/commits/{sha}", r.slug))
            .await?;
        let msg = commit["message"].as_str().unwrap_or_default();
        match msg.lines().find_map(|l| l.trim().strip_prefix(TRAILER)) {
            Some(h) => branch_hash = Some(h.trim().to_string()),
            None => {
                out.status = Status::Stopped(format!(
                    "someone else pushed to `{branch}` (commit {} by {}, without keysweep's `{}` trailer): keysweep no longer touches the branch or its pull request; merge or close it, or delete the branch to start over",
                    sha.get(..7).unwrap_or(sha),
                    commit["author"]["name"].as_str().unwrap_or("unknown"),
                    TRAILER.trim_end_matches([':', ' '])
                ));
                return Ok(out);
            }
        }
    }
    let latest = ours.last().cloned();
    let open = latest.clone().filter(|p| p.open);

    let mut writes = Vec::new();
    match repo_plan.filter(|_| !empty) {
        None => {
            if let Some(p) = &open {
                writes.push(Write::Comment {
                    number: p.number,
                    text: "keysweep: the migration plan for this repository is now empty (no long-lived credential is left to move to OIDC, or the workflows changed). Closing this pull request and deleting its branch.".into(),
                });
                writes.push(Write::ClosePr { number: p.number });
            }
            // a branch of a merged PR is GitHub's to clean up; any other of ours goes
            if branch_sha.is_some() && !latest.as_ref().is_some_and(|p| p.merged && !p.open) {
                writes.push(Write::DeleteRef);
            }
            out.status = if writes.is_empty() {
                Status::NothingToDo
            } else {
                Status::Closed
            };
        }
        Some(plan) => {
            if let Some(p) = latest
                .as_ref()
                .filter(|p| !p.open && !p.merged && !opts.reopen)
            {
                out.status = Status::Skipped(format!(
                    "pull request #{} was closed without being merged; keysweep does not reopen it (--reopen does)",
                    p.number
                ));
                return Ok(out);
            }
            let mut names: Vec<String> = plan
                .migrations
                .iter()
                .flat_map(|m| m.secrets.clone())
                .collect();
            names.sort();
            names.dedup();
            let secrets = remote::secret_scopes(c, &r, &names).await;
            let mut workflows: Vec<String> =
                plan.migrations.iter().map(|m| m.workflow.clone()).collect();
            workflows.sort();
            workflows.dedup();
            let mut targets: Vec<String> = plan
                .migrations
                .iter()
                .map(|m| m.target.to_string())
                .collect();
            targets.sort();
            targets.dedup();
            let marker = Marker {
                version: VERSION,
                plan_hash: hash.clone(),
                workflows,
                secrets: secrets.clone(),
                targets,
            };
            let blob_base = format!("{}/blob/{branch}", r.html_url);
            let rendered = body::render(
                &plan,
                &secrets,
                &marker,
                &notes,
                &r.default_branch,
                &blob_base,
            );
            let need_commit = branch_hash.as_deref() != Some(hash.as_str());
            if need_commit {
                let mut files: Vec<(String, String)> = plan
                    .files
                    .iter()
                    .map(|f| (f.path.clone(), f.after.clone()))
                    .collect();
                if opts.write_trust_files {
                    files.extend(
                        plan.trust
                            .iter()
                            .map(|t| (format!(".keysweep/{}", t.file), t.content.clone())),
                    );
                }
                for (p, c) in &rendered.overflow {
                    if !files.iter().any(|(q, _)| q == p) {
                        files.push((p.clone(), c.clone()));
                    }
                }
                let mut summary: Vec<String> = plan
                    .migrations
                    .iter()
                    .map(|m| format!("- {}: {} ({})", m.target, m.workflow, m.secrets.join(", ")))
                    .collect();
                summary.dedup();
                writes.push(Write::Commit {
                    files,
                    message: format!("{TITLE}\n\n{}\n\n{TRAILER}{hash}\n", summary.join("\n")),
                });
                writes.push(if branch_sha.is_some() {
                    Write::UpdateRef
                } else {
                    Write::CreateRef
                });
            }
            match (&open, &latest) {
                (Some(p), _) => {
                    if need_commit || p.marker.plan_hash != hash {
                        writes.push(Write::UpdatePr {
                            number: p.number,
                            body: rendered.body.clone(),
                            reopen: false,
                        });
                        out.status = Status::Updated;
                    } else {
                        out.status = Status::Unchanged;
                    }
                }
                (None, Some(p)) if !p.merged => {
                    writes.push(Write::UpdatePr {
                        number: p.number,
                        body: rendered.body.clone(),
                        reopen: true,
                    });
                    out.status = Status::Reopened;
                }
                _ => {
                    writes.push(Write::OpenPr {
                        body: rendered.body.clone(),
                    });
                    if !opts.labels.is_empty() {
                        writes.push(Write::Labels);
                    }
                    if !opts.reviewers.is_empty() {
                        writes.push(Write::Reviewers);
                    }
                    out.status = if branch_sha.is_some() && !need_commit {
                        Status::Repaired
                    } else {
                        Status::Opened
                    };
                }
            }
            out.body = Some(rendered.body);
        }
    }
    notes.sort();
    out.notes = notes;
    send(
        c,
        &r,
        opts,
        writes,
        open.map(|p| p.number),
        &mut out,
        ledger,
    )
    .await?;
    Ok(out)
}

fn rec(action: &str, r: &Remote, evidence: &[(&str, String)]) -> Record {
    Record {
        actor: String::new(),
        repository: r.slug.clone(),
        secret: None,
        action: action.to_string(),
        result: "ok".into(),
        evidence: evidence
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

/// Sends (or, in a dry run, lists) the writes in order.
async fn send(
    c: &Client,
    r: &Remote,
    opts: &PrOptions,
    writes: Vec<Write>,
    mut number: Option<u64>,
    out: &mut Outcome,
    records: &mut Vec<Record>,
) -> Result<(), PrError> {
    let s = &r.slug;
    let branch = &opts.branch;
    let refs = format!("/repos/{s}/git/refs");
    let this_ref = format!("{refs}/{}", enc(&format!("heads/{branch}")));
    let mut commit_sha = String::from("<new commit>");
    let dry = !opts.confirm;
    let req = |out: &mut Outcome, method: &str, path: &str, summary: String| {
        out.writes.push(Request {
            method: method.into(),
            path: path.into(),
            summary,
        });
    };
    // a write refused on a commit that edits workflows: say why an Actions token cannot
    let wf = |e: ForgeError| PrError::Forge(e.on_workflow_files());
    for w in writes {
        match w {
            Write::Commit { files, message } => {
                let mut tree = Vec::new();
                for (path, content) in &files {
                    let p = format!("/repos/{s}/git/blobs");
                    req(
                        out,
                        "POST",
                        &p,
                        format!("blob {path} ({} bytes)", content.len()),
                    );
                    let sha = if dry {
                        format!("<blob of {path}>")
                    } else {
                        use base64::Engine as _;
                        let b64 =
                            base64::engine::general_purpose::STANDARD.encode(content.as_bytes());
                        let v = c
                            .post(&p, &json!({"content": b64, "encoding": "base64"}))
                            .await?;
                        v["sha"].as_str().unwrap_or_default().to_string()
                    };
                    tree.push(json!({"path": path, "mode": "100644", "type": "blob", "sha": sha}));
                }
                let p = format!("/repos/{s}/git/trees");
                req(
                    out,
                    "POST",
                    &p,
                    format!("tree on {} with {} file(s)", &r.tree_sha, tree.len()),
                );
                let tree_sha = if dry {
                    "<new tree>".to_string()
                } else {
                    let v = c
                        .post(&p, &json!({"base_tree": r.tree_sha, "tree": tree}))
                        .await?;
                    v["sha"].as_str().unwrap_or_default().to_string()
                };
                let p = format!("/repos/{s}/git/commits");
                req(
                    out,
                    "POST",
                    &p,
                    format!(
                        "commit on {} ({})",
                        r.head_sha,
                        message.lines().next().unwrap_or_default()
                    ),
                );
                if !dry {
                    let v = c
                        .post(
                            &p,
                            &json!({"message": message, "tree": tree_sha, "parents": [r.head_sha]}),
                        )
                        .await?;
                    commit_sha = v["sha"].as_str().unwrap_or_default().to_string();
                }
            }
            Write::CreateRef | Write::UpdateRef => {
                let create = matches!(w, Write::CreateRef);
                let (m, p) = if create {
                    ("POST", refs.clone())
                } else {
                    ("PATCH", this_ref.clone())
                };
                req(out, m, &p, format!("branch {branch} -> {commit_sha}"));
                if !dry {
                    if create {
                        c.post(
                            &p,
                            &json!({"ref": format!("refs/heads/{branch}"), "sha": commit_sha}),
                        )
                        .await
                        .map_err(wf)?;
                    } else {
                        c.patch(&p, &json!({"sha": commit_sha, "force": true}))
                            .await
                            .map_err(wf)?;
                    }
                    records.push(rec(
                        "branch-pushed",
                        r,
                        &[
                            ("branch", branch.clone()),
                            ("commit", commit_sha.clone()),
                            ("plan_hash", out.plan_hash.clone()),
                        ],
                    ));
                }
            }
            Write::OpenPr { body } => {
                let p = format!("/repos/{s}/pulls");
                req(
                    out,
                    "POST",
                    &p,
                    format!(
                        "open PR {branch} -> {} ({} chars, draft: {})",
                        r.default_branch,
                        body.chars().count(),
                        opts.draft
                    ),
                );
                if !dry {
                    let v = c
                        .post(&p, &json!({"title": TITLE, "head": branch, "base": r.default_branch, "body": body, "draft": opts.draft, "maintainer_can_modify": false}))
                        .await?;
                    number = v["number"].as_u64();
                    out.pr_url = v["html_url"].as_str().map(String::from);
                    records.push(rec(
                        "pr-opened",
                        r,
                        &[
                            ("pr", out.pr_url.clone().unwrap_or_default()),
                            ("plan_hash", out.plan_hash.clone()),
                        ],
                    ));
                }
            }
            Write::UpdatePr {
                number: n,
                body,
                reopen,
            } => {
                let p = format!("/repos/{s}/pulls/{n}");
                req(
                    out,
                    "PATCH",
                    &p,
                    format!(
                        "{} PR #{n} body ({} chars)",
                        if reopen { "reopen, update" } else { "update" },
                        body.chars().count()
                    ),
                );
                if !dry {
                    let mut b = json!({"body": body});
                    if reopen {
                        b["state"] = Value::from("open");
                    }
                    c.patch(&p, &b).await?;
                    let action = if reopen { "pr-reopened" } else { "pr-updated" };
                    records.push(rec(
                        action,
                        r,
                        &[
                            ("pr", out.pr_url.clone().unwrap_or_default()),
                            ("plan_hash", out.plan_hash.clone()),
                        ],
                    ));
                }
            }
            Write::Labels => {
                let n = number.map_or("<new>".to_string(), |n| n.to_string());
                let p = format!("/repos/{s}/issues/{n}/labels");
                req(
                    out,
                    "POST",
                    &p,
                    format!("labels {}", opts.labels.join(", ")),
                );
                if !dry {
                    c.post(&p, &json!({"labels": opts.labels})).await?;
                }
            }
            Write::Reviewers => {
                let n = number.map_or("<new>".to_string(), |n| n.to_string());
                let p = format!("/repos/{s}/pulls/{n}/requested_reviewers");
                req(
                    out,
                    "POST",
                    &p,
                    format!("reviewers {}", opts.reviewers.join(", ")),
                );
                if !dry {
                    c.post(&p, &json!({"reviewers": opts.reviewers})).await?;
                }
            }
            Write::Comment { number: n, text } => {
                let p = format!("/repos/{s}/issues/{n}/comments");
                req(out, "POST", &p, "comment: the plan is empty".into());
                if !dry {
                    c.post(&p, &json!({"body": text})).await?;
                }
            }
            Write::ClosePr { number: n } => {
                let p = format!("/repos/{s}/pulls/{n}");
                req(out, "PATCH", &p, format!("close PR #{n}"));
                if !dry {
                    c.patch(&p, &json!({"state": "closed"})).await?;
                    records.push(rec(
                        "pr-closed",
                        r,
                        &[("pr", out.pr_url.clone().unwrap_or_default())],
                    ));
                }
            }
            Write::DeleteRef => {
                req(out, "DELETE", &this_ref, format!("delete branch {branch}"));
                if !dry {
                    c.delete(&this_ref).await?;
                    records.push(rec("branch-deleted", r, &[("branch", branch.clone())]));
                }
            }
        }
    }
    Ok(())
}
