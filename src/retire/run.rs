//! One repository's retire run: preconditions from the API, then the replaced secrets, each
//! step decided by [`super::plan`] and recorded in the ledger. The API is a trait so the
//! orchestration does not depend on the client (the GitHub one lives in `src/forge/`).

use std::collections::BTreeMap;

use super::plan::{
    self, candidates, latest_run, merged, secret_steps, verified_before, PullFacts, Replaced,
    RunFacts, SecretScope, SecretStep, Verified, Waiting, EVIDENCE_SCOPE, RUN_VERIFIED,
    SECRET_DELETED,
};
use crate::ledger::{Ledger, LedgerError, Record};

/// What the migration pull request's marker says was migrated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// `.github/workflows/deploy.yml`.
    pub workflows: Vec<String>,
    pub secrets: Vec<Replaced>,
    /// Rotate target ids (`aws`, `pypi`, ...).
    pub targets: Vec<String>,
    /// Secrets whose scope the PR's author could not see: kept, for a person to delete.
    pub unknown_scope: Vec<String>,
}

/// A secret deletion's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// It was not there (deleted by hand, or by a run the ledger did not see finish).
    NotFound,
}

/// The calls retire makes; implemented for GitHub by the forge client.
#[allow(async_fn_in_trait)]
pub trait RetireApi {
    type Error: std::fmt::Display;
    /// The pull request from `branch` (any state) and what its marker records.
    async fn migration(
        &self,
        repo: &str,
        branch: &str,
    ) -> Result<Option<(PullFacts, Migrated)>, Self::Error>;
    /// Runs of `workflow` (its path) on the repository's default branch, newest first.
    async fn runs(&self, repo: &str, workflow: &str) -> Result<Vec<RunFacts>, Self::Error>;
    /// Is `head` the commit `base` or a descendant of it (compare: identical or ahead)?
    async fn descends(&self, repo: &str, base: &str, head: &str) -> Result<bool, Self::Error>;
    /// Other repositories' workflows that read organization secret `name` (`OWNER/REPO:path`).
    async fn org_secret_readers(&self, repo: &str, name: &str) -> Result<Vec<String>, Self::Error>;
    async fn delete_secret(&self, repo: &str, secret: &Replaced) -> Result<Deleted, Self::Error>;
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    pub branch: String,
    pub include_org_secrets: bool,
    pub confirm: bool,
    pub actor: String,
}

/// What happened, in order, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Waiting(Waiting),
    Verified {
        verified: Verified,
        before: bool,
    },
    WouldDelete(Replaced),
    Deleted {
        secret: Replaced,
        was_there: bool,
    },
    AlreadyDeleted(Replaced),
    OrgNotIncluded(Replaced),
    OrgStillRead {
        secret: Replaced,
        readers: Vec<String>,
    },
    ScopeUnknown(String),
    Failed(String),
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |r: &Replaced| match &r.scope {
            SecretScope::Repository => format!("repository secret `{}`", r.name),
            SecretScope::Environment(e) => format!("environment `{e}` secret `{}`", r.name),
            SecretScope::Organization => format!("organization secret `{}`", r.name),
        };
        match self {
            Event::Waiting(w) => write!(f, "waiting: {w}"),
            Event::Verified { verified: v, before } => write!(
                f,
                "verified: `{}` ran green after the merge: {}{}",
                v.workflow,
                v.run_url,
                if *before { " (from the ledger)" } else { "" }
            ),
            Event::WouldDelete(r) => write!(f, "would delete the {}; run with --confirm", s(r)),
            Event::Deleted { secret, was_there } => write!(
                f,
                "deleted the {}{}",
                s(secret),
                if *was_there { "" } else { " (it was gone already)" }
            ),
            Event::AlreadyDeleted(r) => write!(f, "the {} was deleted on an earlier run", s(r)),
            Event::OrgNotIncluded(r) => write!(
                f,
                "kept the {}: organization secrets are deleted only with --include-org-secrets",
                s(r)
            ),
            Event::OrgStillRead { secret, readers } => write!(
                f,
                "kept the {}: still read by {}",
                s(secret),
                readers.join(", ")
            ),
            Event::ScopeUnknown(n) => write!(
                f,
                "kept secret `{n}`: where it is defined was not visible when the pull request was made; delete it by hand"
            ),
            Event::Failed(e) => write!(f, "error: {e}"),
        }
    }
}

/// The outcome of one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoOutcome {
    pub events: Vec<Event>,
    /// The preconditions hold (the key and the manual steps may follow).
    pub ready: bool,
    pub migrated: Migrated,
}

impl RepoOutcome {
    /// 2 error, 3 waiting, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.events.iter().any(|e| matches!(e, Event::Failed(_))) {
            2
        } else if self.events.iter().any(|e| matches!(e, Event::Waiting(_))) {
            3
        } else {
            0
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Retire one repository's replaced secrets once the migration is merged and green.
pub async fn retire_repo<A: RetireApi>(
    api: &A,
    ledger: &Ledger,
    repo: &str,
    opts: &Options,
) -> Result<RepoOutcome, RetireError> {
    let mut out = RepoOutcome::default();
    let entries = ledger.entries()?;
    let found = match api.migration(repo, &opts.branch).await {
        Ok(f) => f,
        Err(e) => {
            out.events.push(Event::Failed(format!("{repo}: {e}")));
            return Ok(out);
        }
    };
    let (pull, migrated) = match found {
        Some((p, m)) => (Some(p), m),
        None => (None, Migrated::default()),
    };
    let (merge_sha, merged_at) = match merged(pull.as_ref(), &opts.branch) {
        Ok(m) => m,
        Err(w) => {
            out.events.push(Event::Waiting(w));
            return Ok(out);
        }
    };
    out.migrated = migrated.clone();
    let pr_url = pull.map(|p| p.url).unwrap_or_default();
    for wf in &migrated.workflows {
        if let Some(run) = verified_before(&entries, repo, wf) {
            out.events.push(Event::Verified {
                verified: Verified {
                    workflow: wf.clone(),
                    run_url: run,
                    head_sha: String::new(),
                },
                before: true,
            });
            continue;
        }
        match verify(api, repo, wf, &merge_sha, merged_at).await {
            Ok(Ok(v)) => {
                if opts.confirm {
                    ledger.append(Record {
                        actor: opts.actor.clone(),
                        repository: repo.to_string(),
                        secret: None,
                        action: RUN_VERIFIED.into(),
                        result: "ok".into(),
                        evidence: BTreeMap::from([
                            ("workflow".to_string(), wf.clone()),
                            ("run".to_string(), v.run_url.clone()),
                            ("head_sha".to_string(), v.head_sha.clone()),
                            ("pr".to_string(), pr_url.clone()),
                        ]),
                    })?;
                }
                out.events.push(Event::Verified {
                    verified: v,
                    before: false,
                });
            }
            Ok(Err(w)) => out.events.push(Event::Waiting(w)),
            Err(e) => out.events.push(Event::Failed(format!("{repo}: {e}"))),
        }
    }
    if out.exit_code() != 0 {
        return Ok(out);
    }
    out.ready = true;
    let mut readers = BTreeMap::new();
    if opts.include_org_secrets {
        for s in migrated
            .secrets
            .iter()
            .filter(|s| s.scope == SecretScope::Organization)
        {
            match api.org_secret_readers(repo, &s.name).await {
                Ok(r) => {
                    readers.insert(s.name.clone(), r);
                }
                Err(e) => {
                    // unknown readers: keep it
                    readers.insert(s.name.clone(), vec![format!("(could not check: {e})")]);
                }
            }
        }
    }
    let steps = secret_steps(
        &migrated.secrets,
        &entries,
        repo,
        opts.include_org_secrets,
        &readers,
    );
    for step in steps {
        let event = match step {
            SecretStep::AlreadyDeleted(s) => Event::AlreadyDeleted(s),
            SecretStep::OrgNotIncluded(s) => Event::OrgNotIncluded(s),
            SecretStep::OrgStillRead { secret, readers } => Event::OrgStillRead { secret, readers },
            SecretStep::Delete(s) if !opts.confirm => Event::WouldDelete(s),
            SecretStep::Delete(s) => {
                let r = api.delete_secret(repo, &s).await;
                ledger.append(Record {
                    actor: opts.actor.clone(),
                    repository: repo.to_string(),
                    secret: Some(s.name.clone()),
                    action: SECRET_DELETED.into(),
                    result: match &r {
                        Ok(_) => "ok".into(),
                        Err(e) => e.to_string(),
                    },
                    evidence: BTreeMap::from_iter(
                        [(EVIDENCE_SCOPE.to_string(), s.scope.label())]
                            .into_iter()
                            .chain(matches!(r, Ok(Deleted::NotFound)).then(|| {
                                ("note".to_string(), "not found: gone already".to_string())
                            })),
                    ),
                })?;
                match r {
                    Ok(d) => Event::Deleted {
                        secret: s,
                        was_there: d == Deleted::Deleted,
                    },
                    Err(e) => Event::Failed(format!("{repo}: deleting `{}`: {e}", s.name)),
                }
            }
        };
        out.events.push(event);
    }
    for n in &migrated.unknown_scope {
        out.events.push(Event::ScopeUnknown(n.clone()));
    }
    Ok(out)
}

/// The first green run of `wf` after the merge at the merge commit or later, or what retire
/// waits for.
async fn verify<A: RetireApi>(
    api: &A,
    repo: &str,
    wf: &str,
    merge_sha: &str,
    merged_at: jiff::Timestamp,
) -> Result<Result<Verified, Waiting>, A::Error> {
    let runs = api.runs(repo, wf).await?;
    for r in candidates(&runs, wf, merged_at) {
        if api.descends(repo, merge_sha, &r.head_sha).await? {
            return Ok(Ok(Verified {
                workflow: wf.to_string(),
                run_url: r.url.clone(),
                head_sha: r.head_sha.clone(),
            }));
        }
    }
    Ok(Err(plan::Waiting::NoGreenRun {
        workflow: wf.to_string(),
        since: merged_at,
        latest: latest_run(&runs, wf),
    }))
}
