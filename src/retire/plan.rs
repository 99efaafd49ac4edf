//! What retire may do for one repository, decided from facts the caller fetched (the
//! migration pull request, the workflow runs, the ledger, other repositories' workflows):
//! pure functions, so every rule has a unit test and a resumed run decides like the first.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::ledger::Entry;
use crate::pipeline::secret_ref::{github_refs, RefKind};

/// Ledger action names for secrets and runs.
pub const SECRET_DELETED: &str = "secret-deleted";
pub const RUN_VERIFIED: &str = "run-verified";
/// Evidence key of the secret's scope (`repository`, `environment:NAME`, `organization`).
pub const EVIDENCE_SCOPE: &str = "scope";

/// Where an Actions secret lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretScope {
    Repository,
    Environment(String),
    Organization,
}

impl SecretScope {
    /// `repository`, `environment:NAME`, `organization`: the ledger's spelling.
    pub fn label(&self) -> String {
        match self {
            SecretScope::Repository => "repository".into(),
            SecretScope::Environment(e) => format!("environment:{e}"),
            SecretScope::Organization => "organization".into(),
        }
    }

    pub fn parse(label: &str) -> Option<SecretScope> {
        match label {
            "repository" => Some(SecretScope::Repository),
            "organization" | "org" => Some(SecretScope::Organization),
            l => l
                .strip_prefix("environment:")
                .filter(|e| !e.is_empty())
                .map(|e| SecretScope::Environment(e.to_string())),
        }
    }
}

/// A secret the migration replaced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replaced {
    pub name: String,
    pub scope: SecretScope,
}

/// The migration pull request, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullFacts {
    pub url: String,
    pub merged: bool,
    /// Closed without merging.
    pub closed: bool,
    pub merge_commit_sha: Option<String>,
    pub merged_at: Option<Timestamp>,
}

/// One workflow run on the default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    /// `.github/workflows/deploy.yml`.
    pub path: String,
    pub url: String,
    pub head_sha: String,
    /// `completed`, `in_progress`, ...
    pub status: String,
    /// `success`, `failure`, ... (None while running).
    pub conclusion: Option<String>,
    pub started_at: Timestamp,
}

/// Why retire cannot go on yet (exit 3), said exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    NoPullRequest {
        branch: String,
    },
    NotMerged {
        url: String,
    },
    ClosedUnmerged {
        url: String,
    },
    NoGreenRun {
        workflow: String,
        since: Timestamp,
        latest: Option<String>,
    },
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::NoPullRequest { branch } => write!(f, "no migration pull request from branch `{branch}`: open it with `keysweep rotate --open-pr`"),
            Waiting::NotMerged { url } => write!(f, "the migration pull request is not merged yet: {url}"),
            Waiting::ClosedUnmerged { url } => write!(f, "the migration pull request was closed without merging: {url} (nothing is retired)"),
            Waiting::NoGreenRun { workflow, since, latest } => {
                write!(f, "`{workflow}` has no successful run on the default branch at the merge commit or later, started after the merge ({since})")?;
                if let Some(l) = latest {
                    write!(f, "; latest run: {l}")?;
                }
                Ok(())
            }
        }
    }
}

/// A migrated workflow's green run after the merge (the ledger's evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub workflow: String,
    pub run_url: String,
    pub head_sha: String,
}

/// The merge, or why retire waits for it.
pub fn merged(pull: Option<&PullFacts>, branch: &str) -> Result<(String, Timestamp), Waiting> {
    let Some(p) = pull else {
        return Err(Waiting::NoPullRequest {
            branch: branch.into(),
        });
    };
    match (p.merged, &p.merge_commit_sha, p.merged_at) {
        (true, Some(sha), Some(at)) => Ok((sha.clone(), at)),
        _ if p.closed && !p.merged => Err(Waiting::ClosedUnmerged { url: p.url.clone() }),
        _ => Err(Waiting::NotMerged { url: p.url.clone() }),
    }
}

/// The runs of `workflow` that could prove it green: successful, completed, started after
/// the merge; newest first. Whether the head is the merge commit or a descendant is asked
/// of the API (compare) for these only.
pub fn candidates<'a>(
    runs: &'a [RunFacts],
    workflow: &str,
    merged_at: Timestamp,
) -> Vec<&'a RunFacts> {
    let mut v: Vec<&RunFacts> = runs
        .iter()
        .filter(|r| r.path == workflow)
        .filter(|r| r.status == "completed" && r.conclusion.as_deref() == Some("success"))
        // GitHub's times have whole seconds: the run the merge's push started may carry the
        // merge's own second
        .filter(|r| r.started_at >= merged_at)
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    v
}

/// The latest run of `workflow` in words, for the waiting message.
pub fn latest_run(runs: &[RunFacts], workflow: &str) -> Option<String> {
    runs.iter()
        .filter(|r| r.path == workflow)
        .max_by_key(|r| r.started_at)
        .map(|r| {
            format!(
                "{} {} at {} ({})",
                r.status,
                r.conclusion.as_deref().unwrap_or("-"),
                &r.head_sha[..r.head_sha.len().min(7)],
                r.url
            )
        })
}

/// What retire does with one replaced secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretStep {
    Delete(Replaced),
    /// The ledger says an earlier run deleted it: skipped (resume).
    AlreadyDeleted(Replaced),
    /// An organization secret without `--include-org-secrets`.
    OrgNotIncluded(Replaced),
    /// An organization secret other repositories still read (`OWNER/REPO:path` each).
    OrgStillRead {
        secret: Replaced,
        readers: Vec<String>,
    },
}

/// Has an earlier run of `repository` deleted `secret`?
pub fn deleted_before(entries: &[Entry], repository: &str, secret: &Replaced) -> bool {
    let scope = secret.scope.label();
    entries.iter().any(|e| {
        let r = &e.record;
        r.repository == repository
            && r.action == SECRET_DELETED
            && r.result == "ok"
            && r.secret.as_deref() == Some(secret.name.as_str())
            && r.evidence.get(EVIDENCE_SCOPE) == Some(&scope)
    })
}

/// The step for each replaced secret, in order. `org_readers` maps an organization secret's
/// name to the other repositories' workflows that still read it (see [`reads_secret`]).
pub fn secret_steps(
    replaced: &[Replaced],
    entries: &[Entry],
    repository: &str,
    include_org: bool,
    org_readers: &BTreeMap<String, Vec<String>>,
) -> Vec<SecretStep> {
    let mut v: Vec<Replaced> = replaced.to_vec();
    v.sort();
    v.dedup();
    v.into_iter()
        .map(|s| {
            if deleted_before(entries, repository, &s) {
                return SecretStep::AlreadyDeleted(s);
            }
            if s.scope != SecretScope::Organization {
                return SecretStep::Delete(s);
            }
            if !include_org {
                return SecretStep::OrgNotIncluded(s);
            }
            match org_readers.get(&s.name).filter(|r| !r.is_empty()) {
                Some(r) => SecretStep::OrgStillRead {
                    readers: r.clone(),
                    secret: s,
                },
                None => SecretStep::Delete(s),
            }
        })
        .collect()
}

/// Does this workflow text read secret `name`? Through keysweep's pipeline analysis of
/// references (`secrets.NAME`, `secrets['NAME']` in any expression); `secrets: inherit`
/// hands every secret on, so it counts as reading it.
pub fn reads_secret(workflow_text: &str, name: &str) -> bool {
    let direct = github_refs(workflow_text)
        .iter()
        .any(|r| r.kind == RefKind::Secret && r.name.eq_ignore_ascii_case(name));
    direct || inherits_secrets(workflow_text)
}

fn inherits_secrets(text: &str) -> bool {
    yaml_serde::from_str::<yaml_serde::Value>(text)
        .ok()
        .and_then(|v| v.get("jobs").and_then(|j| j.as_mapping()).cloned())
        .is_some_and(|jobs| {
            jobs.values()
                .any(|j| j.get("secrets").and_then(|s| s.as_str()) == Some("inherit"))
        })
}

/// Was the run of `workflow` verified by an earlier run of `repository`? (resume: the
/// ledger keeps the evidence, and the API is not asked again.)
pub fn verified_before(entries: &[Entry], repository: &str, workflow: &str) -> Option<String> {
    entries
        .iter()
        .rev()
        .find(|e| {
            e.record.repository == repository
                && e.record.action == RUN_VERIFIED
                && e.record.result == "ok"
                && e.record.evidence.get("workflow").map(String::as_str) == Some(workflow)
        })
        .and_then(|e| e.record.evidence.get("run").cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Record;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pull(merged: bool, closed: bool) -> PullFacts {
        PullFacts {
            url: "https://github.com/o/r/pull/7".into(),
            merged,
            closed,
            merge_commit_sha: merged.then(|| "m".repeat(40)),
            merged_at: merged.then(|| t("2026-12-01T10:00:00Z")),
        }
    }

    #[test]
    fn the_merge_or_what_it_waits_for() {
        assert_eq!(
            merged(None, "keysweep/oidc-migration").unwrap_err().to_string(),
            "no migration pull request from branch `keysweep/oidc-migration`: open it with `keysweep rotate --open-pr`"
        );
        assert!(matches!(
            merged(Some(&pull(false, false)), "b"),
            Err(Waiting::NotMerged { .. })
        ));
        assert!(matches!(
            merged(Some(&pull(false, true)), "b"),
            Err(Waiting::ClosedUnmerged { .. })
        ));
        assert_eq!(
            merged(Some(&pull(true, true)), "b").unwrap(),
            ("m".repeat(40), t("2026-12-01T10:00:00Z"))
        );
    }

    fn run(path: &str, conclusion: Option<&str>, at: &str) -> RunFacts {
        RunFacts {
            path: path.into(),
            url: format!("https://github.com/o/r/actions/runs/{at}"),
            head_sha: "a".repeat(40),
            status: if conclusion.is_some() {
                "completed"
            } else {
                "in_progress"
            }
            .into(),
            conclusion: conclusion.map(str::to_string),
            started_at: t(at),
        }
    }

    #[test]
    fn only_green_runs_after_the_merge_count() {
        let w = ".github/workflows/deploy.yml";
        let runs = vec![
            run(w, Some("success"), "2026-12-01T09:00:00Z"), // before the merge
            run(w, Some("failure"), "2026-12-01T11:00:00Z"),
            run(w, None, "2026-12-01T12:00:00Z"),
            run(
                ".github/workflows/other.yml",
                Some("success"),
                "2026-12-01T12:00:00Z",
            ),
            run(w, Some("success"), "2026-12-01T13:00:00Z"),
            run(w, Some("success"), "2026-12-01T14:00:00Z"),
        ];
        let c = candidates(&runs, w, t("2026-12-01T10:00:00Z"));
        let at: Vec<String> = c.iter().map(|r| r.started_at.to_string()).collect();
        assert_eq!(at, ["2026-12-01T14:00:00Z", "2026-12-01T13:00:00Z"]);
        assert!(candidates(&runs[..4], w, t("2026-12-01T10:00:00Z")).is_empty());
        let latest = latest_run(&runs[..3], w).unwrap();
        assert!(latest.starts_with("in_progress - at aaaaaaa"), "{latest}");
    }

    fn entry(repo: &str, action: &str, result: &str, secret: &str, scope: &str) -> Entry {
        Entry {
            time: "2026-12-01T00:00:00Z".into(),
            record: Record {
                actor: "a".into(),
                repository: repo.into(),
                secret: Some(secret.into()),
                action: action.into(),
                result: result.into(),
                evidence: BTreeMap::from([(EVIDENCE_SCOPE.into(), scope.into())]),
            },
            prev: String::new(),
        }
    }

    #[test]
    fn secrets_resume_and_org_rules() {
        let r = |n: &str, s: SecretScope| Replaced {
            name: n.into(),
            scope: s,
        };
        let replaced = vec![
            r("AWS_ACCESS_KEY_ID", SecretScope::Repository),
            r("AWS_SECRET_ACCESS_KEY", SecretScope::Repository),
            r(
                "AWS_ACCESS_KEY_ID",
                SecretScope::Environment("production".into()),
            ),
            r("ORG_NPM_TOKEN", SecretScope::Organization),
            r("ORG_SHARED", SecretScope::Organization),
        ];
        let entries = vec![
            entry(
                "o/r",
                SECRET_DELETED,
                "ok",
                "AWS_ACCESS_KEY_ID",
                "repository",
            ),
            entry(
                "o/r",
                SECRET_DELETED,
                "HTTP 403",
                "AWS_SECRET_ACCESS_KEY",
                "repository",
            ),
            entry(
                "o/other",
                SECRET_DELETED,
                "ok",
                "AWS_SECRET_ACCESS_KEY",
                "repository",
            ),
        ];
        let readers = BTreeMap::from([(
            "ORG_SHARED".to_string(),
            vec!["o/web:.github/workflows/ci.yml".to_string()],
        )]);
        let steps = secret_steps(&replaced, &entries, "o/r", true, &readers);
        assert_eq!(
            steps,
            vec![
                SecretStep::AlreadyDeleted(r("AWS_ACCESS_KEY_ID", SecretScope::Repository)),
                SecretStep::Delete(r(
                    "AWS_ACCESS_KEY_ID",
                    SecretScope::Environment("production".into())
                )),
                SecretStep::Delete(r("AWS_SECRET_ACCESS_KEY", SecretScope::Repository)),
                SecretStep::Delete(r("ORG_NPM_TOKEN", SecretScope::Organization)),
                SecretStep::OrgStillRead {
                    secret: r("ORG_SHARED", SecretScope::Organization),
                    readers: vec!["o/web:.github/workflows/ci.yml".into()],
                },
            ]
        );
        let without = secret_steps(&replaced[3..4], &[], "o/r", false, &readers);
        assert!(matches!(without[0], SecretStep::OrgNotIncluded(_)));
    }

    #[test]
    fn who_reads_a_secret() {
        let direct = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        env:\n          T: ${{ secrets.ORG_SHARED }}\n";
        assert!(reads_secret(direct, "ORG_SHARED"));
        assert!(!reads_secret(direct, "OTHER"));
        let bracket = "jobs:\n  a:\n    steps:\n      - run: x\n        env:\n          T: ${{ format('{0}', secrets['ORG_SHARED']) }}\n";
        assert!(reads_secret(bracket, "org_shared"));
        let inherit = "on: push\njobs:\n  call:\n    uses: o/r/.github/workflows/x.yml@main\n    secrets: inherit\n";
        assert!(reads_secret(inherit, "ANYTHING"));
        assert!(!reads_secret("on: push\njobs: {}\n", "ORG_SHARED"));
    }

    #[test]
    fn scopes_round_trip() {
        for s in [
            SecretScope::Repository,
            SecretScope::Organization,
            SecretScope::Environment("prod".into()),
        ] {
            assert_eq!(SecretScope::parse(&s.label()), Some(s));
        }
        assert_eq!(SecretScope::parse("environment:"), None);
    }
}
