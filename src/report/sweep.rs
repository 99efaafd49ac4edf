//! The sweep's reports, read from its state: JSON (machine) and markdown. Only redacted
//! secrets are in the state, so no report can show one.

use crate::sweep::pipelines::PipelineUse;
use crate::sweep::state::{FindingRow, PrRow, RepoRow};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct SweepReport {
    pub repositories: usize,
    pub failed: usize,
    pub open_findings: usize,
    pub fixed_findings: usize,
    pub repos: Vec<RepoRow>,
    pub findings: Vec<FindingRow>,
    /// The default branches' pipeline credential uses and their OIDC migration status.
    pub pipelines: Vec<PipelineUse>,
    /// (sweep id, open findings after it), oldest first.
    pub trend: Vec<(i64, i64)>,
    /// `--open-prs`: each repository's migration pull request as the last sweep left it.
    pub pull_requests: Vec<PrRow>,
    /// `--entitlements ORG`: the org's non-human credentials with a verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<EntitlementSection>,
}

/// The entitlement review of a sweep (`sweep --entitlements ORG`), tracked over sweeps: each
/// verdict `new` (first seen this sweep) or `open`, and how many were resolved since the last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntitlementSection {
    pub org: String,
    pub credentials_reviewed: usize,
    pub verdicts: Vec<EntitlementRow>,
    pub resolved: usize,
    /// Listings the token could not read, each with the permission it needs.
    pub not_visible: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntitlementRow {
    /// `deploy key `deploy` of o/r`: kind, name and scope, no value (the API has none).
    pub credential: String,
    pub verdict: String,
    /// `new` or `open`.
    pub status: String,
    pub action: String,
}

impl SweepReport {
    pub fn new(
        repos: Vec<RepoRow>,
        findings: Vec<FindingRow>,
        pipelines: Vec<PipelineUse>,
        trend: Vec<(i64, i64)>,
    ) -> Self {
        let open = findings.iter().filter(|f| is_open(f)).count();
        let fixed = findings.iter().filter(|f| f.status == "fixed").count();
        SweepReport {
            repositories: repos.len(),
            failed: repos.iter().filter(|r| r.status != "ok").count(),
            open_findings: open,
            fixed_findings: fixed,
            repos,
            findings,
            pipelines,
            trend,
            pull_requests: Vec::new(),
            entitlements: None,
        }
    }

    /// Open findings of one repository with one confidence.
    pub fn open_in(&self, repo: &str, confidence: &str) -> usize {
        self.findings
            .iter()
            .filter(|f| f.repo == repo && is_open(f) && f.confidence == confidence)
            .count()
    }

    /// Pipeline credential uses of one repository: (all, migratable now).
    pub fn pipeline_counts(&self, repo: &str) -> (usize, usize) {
        let uses = self.pipelines.iter().filter(|u| u.repo == repo);
        let migratable = uses
            .clone()
            .filter(|u| u.status == "migratable-now")
            .count();
        (uses.count(), migratable)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn markdown(&self) -> String {
        let mut s = String::from("# keysweep sweep\n\n");
        let _ = writeln!(
            s,
            "{} repositories, {} failed, {} open findings, {} fixed (still in history), {} pipeline credential uses\n",
            self.repositories,
            self.failed,
            self.open_findings,
            self.fixed_findings,
            self.pipelines.len()
        );
        s.push_str(
            "| repository | status | open (high/medium/low) | pipeline uses (migratable now) | last sweep |\n|---|---|---|---|---|\n",
        );
        for r in &self.repos {
            let count = |c: &str| self.open_in(&r.name, c);
            let (uses, migratable) = self.pipeline_counts(&r.name);
            let status = match &r.reason {
                Some(reason) => format!("{}: {}", r.status, reason.replace('|', "\\|")),
                None => r.status.clone(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {}/{}/{} | {} ({}) | {} |",
                r.name,
                status,
                count("high"),
                count("medium"),
                count("low"),
                uses,
                migratable,
                r.last_sweep.map(|n| n.to_string()).unwrap_or_default()
            );
        }
        if let Some(e) = &self.entitlements {
            let _ = writeln!(
                s,
                "\n## Entitlements of `{}`\n\n{} credentials reviewed, {} with a verdict, {} resolved since the last sweep.\n",
                e.org,
                e.credentials_reviewed,
                e.verdicts.len(),
                e.resolved
            );
            if !e.verdicts.is_empty() {
                s.push_str("| credential | verdict | status | action |\n|---|---|---|---|\n");
                for v in &e.verdicts {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {} |",
                        v.credential.replace('|', "\\|"),
                        v.verdict,
                        v.status,
                        v.action.replace('|', "\\|")
                    );
                }
            }
            for n in &e.not_visible {
                let _ = writeln!(s, "- not visible: {n}");
            }
        }
        if !self.pull_requests.is_empty() {
            s.push_str(
                "\n## Migration pull requests\n\n| repository | status | pull request | targets | sweep |\n|---|---|---|---|---|\n",
            );
            for p in &self.pull_requests {
                let status = match &p.detail {
                    Some(d) => format!("{}: {}", p.status, d.replace('|', "\\|")),
                    None => p.status.clone(),
                };
                let _ = writeln!(
                    s,
                    "| {} | {}{} | {} | {} | {} |",
                    p.repo,
                    status,
                    if p.dry_run { " (dry run)" } else { "" },
                    p.url.as_deref().unwrap_or(""),
                    p.targets,
                    p.sweep
                );
            }
        }
        s
    }
}

pub fn is_open(f: &FindingRow) -> bool {
    f.status == "new" || f.status == "open"
}
