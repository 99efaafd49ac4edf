//! `--dashboard OWNER/REPO`: one tracking issue kept up to date in place (like Renovate's
//! dependency dashboard). It is found by [`MARKER`] in its body among the open issues the
//! token's actor created; created when absent, its body replaced otherwise, never a second
//! one. One checklist line per repository with open findings or pipeline credentials that
//! can move to OIDC now: counts only, never a secret (not even redacted).

use crate::report::sweep::SweepReport;
use std::fmt::Write as _;

/// Hidden in the body: how keysweep finds its issue again.
pub const MARKER: &str = "<!-- keysweep:dashboard -->";
pub const TITLE: &str = "keysweep: secret sweep dashboard";

/// The issue body for a report.
pub fn body(rep: &SweepReport) -> String {
    let mut s = format!("{MARKER}\n");
    // no sweep id or time: an unchanged result leaves the issue alone (no write, no noise)
    s.push_str(
        "Repositories with open secret findings or CI credentials that can move to OIDC now. \
         keysweep rewrites this issue when its sweep's result changes.\n\n",
    );
    let _ = writeln!(
        s,
        "{} repositories swept, {} failed, {} open findings.\n",
        rep.repositories, rep.failed, rep.open_findings
    );
    let mut lines = 0;
    for r in &rep.repos {
        let count = |c: &str| rep.open_in(&r.name, c);
        let open = count("high") + count("medium") + count("low");
        let (_, migratable) = rep.pipeline_counts(&r.name);
        if open == 0 && migratable == 0 {
            continue;
        }
        let mut parts = Vec::new();
        if open > 0 {
            parts.push(format!(
                "{open} open finding{} ({} high, {} medium, {} low)",
                plural(open),
                count("high"),
                count("medium"),
                count("low")
            ));
        }
        if migratable > 0 {
            parts.push(format!(
                "{migratable} pipeline credential use{} migratable to OIDC now",
                plural(migratable)
            ));
        }
        let name = r.name.replace('`', "");
        let _ = writeln!(s, "- [ ] `{name}`: {}", parts.join(", "));
        lines += 1;
    }
    if lines == 0 {
        s.push_str("Nothing open: no repository has open findings or CI credentials to migrate.\n");
    }
    if let Some(e) = &rep.entitlements {
        let _ = writeln!(
            s,
            "\n### Entitlements of `{}`\n\n{} credentials reviewed, {} with a verdict.\n",
            e.org.replace('`', ""),
            e.credentials_reviewed,
            e.verdicts.len()
        );
        for v in &e.verdicts {
            let _ = writeln!(
                s,
                "- [ ] {}: {} ({})",
                v.credential.replace('`', ""),
                v.verdict,
                v.action
            );
        }
        for n in &e.not_visible {
            let _ = writeln!(s, "- not visible: {n}");
        }
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What `--dashboard` did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Created {
        number: u64,
    },
    Updated {
        number: u64,
    },
    /// The issue already says this.
    Unchanged {
        number: u64,
    },
    WouldCreate,
    WouldUpdate {
        number: u64,
    },
}

#[cfg(feature = "github")]
pub use remote::publish;

#[cfg(feature = "github")]
mod remote {
    use super::{Action, MARKER, TITLE};
    use crate::forge::{Client, ForgeError};
    use serde_json::{json, Value};

    /// Finds keysweep's open dashboard issue in `slug` and brings its body to `body`; only
    /// reads unless `confirm`.
    pub async fn publish(
        client: &Client,
        slug: &str,
        body: &str,
        confirm: bool,
    ) -> Result<Action, ForgeError> {
        let actor = client.actor().await;
        // `token` (an Actions GITHUB_TOKEN) and `app:ID` are not logins: the marker alone
        let creator = if actor != "token" && !actor.starts_with("app:") {
            format!("&creator={actor}")
        } else {
            String::new()
        };
        let issues = client
            .get_all(&format!(
                "/repos/{slug}/issues?state=open{creator}&per_page=100"
            ))
            .await?;
        let mine = issues.iter().find(|i| {
            i.get("pull_request").is_none()
                && i["body"].as_str().is_some_and(|b| b.contains(MARKER))
        });
        let number = mine.and_then(|i| i["number"].as_u64());
        match (mine, number) {
            (Some(i), Some(n)) if i["body"].as_str() == Some(body) => {
                Ok(Action::Unchanged { number: n })
            }
            (Some(_), Some(n)) if !confirm => Ok(Action::WouldUpdate { number: n }),
            (Some(_), Some(n)) => {
                client
                    .patch(
                        &format!("/repos/{slug}/issues/{n}"),
                        &json!({ "body": body }),
                    )
                    .await?;
                Ok(Action::Updated { number: n })
            }
            _ if !confirm => Ok(Action::WouldCreate),
            _ => {
                let created: Value = client
                    .post(
                        &format!("/repos/{slug}/issues"),
                        &json!({ "title": TITLE, "body": body }),
                    )
                    .await?;
                let number = created["number"]
                    .as_u64()
                    .ok_or_else(|| ForgeError::Response {
                        method: "POST".into(),
                        path: format!("/repos/{slug}/issues"),
                        message: "no numeric `number`".into(),
                    })?;
                Ok(Action::Created { number })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::pipelines::PipelineUse;
    use crate::sweep::state::{FindingRow, RepoRow};

    fn repo(name: &str) -> RepoRow {
        RepoRow {
            name: name.into(),
            source: name.into(),
            status: "ok".into(),
            reason: None,
            last_sweep: Some(3),
            objects: 9,
            scanned_last: 0,
        }
    }

    fn finding(repo: &str, confidence: &str, status: &str) -> FindingRow {
        FindingRow {
            repo: repo.into(),
            fingerprint: format!("{repo}{confidence}{status}"),
            rule_id: "github-pat".into(),
            confidence: confidence.into(),
            redacted: "ghp_…REDACTED".into(),
            path: "config.txt".into(),
            commit: "c0ffee".into(),
            status: status.into(),
            first_seen: 1,
            last_seen: 3,
        }
    }

    fn use_of(repo: &str, status: &str) -> PipelineUse {
        PipelineUse {
            repo: repo.into(),
            secret: "AWS_SECRET_ACCESS_KEY".into(),
            provider: "aws".into(),
            path: ".github/workflows/deploy.yml".into(),
            line: 12,
            job: Some("deploy".into()),
            status: status.into(),
            replacement: "aws-actions/configure-aws-credentials".into(),
            blocked_by: None,
        }
    }

    #[test]
    fn entitlement_verdicts_are_checklist_lines() {
        let mut rep = SweepReport::new(vec![repo("o/a")], Vec::new(), Vec::new(), Vec::new());
        rep.entitlements = Some(crate::report::sweep::EntitlementSection {
            org: "o".into(),
            credentials_reviewed: 4,
            verdicts: vec![crate::report::sweep::EntitlementRow {
                credential: "actions-secret `OLD_TOKEN` (o/a)".into(),
                verdict: "dormant".into(),
                status: "new".into(),
                action: "delete the secret".into(),
            }],
            resolved: 0,
            not_visible: vec!["fine-grained tokens of org o: not visible with this token".into()],
        });
        let b = body(&rep);
        assert!(b.contains("### Entitlements of `o`"), "{b}");
        assert!(
            b.contains("- [ ] actions-secret OLD_TOKEN (o/a): dormant (delete the secret)"),
            "{b}"
        );
        assert!(b.contains("- not visible: fine-grained tokens"), "{b}");
    }

    #[test]
    fn one_line_per_repository_with_something_open_counts_only() {
        let rep = SweepReport::new(
            vec![
                repo("acme/a"),
                repo("acme/b"),
                repo("acme/c"),
                repo("acme/d"),
            ],
            vec![
                finding("acme/a", "high", "new"),
                finding("acme/a", "medium", "open"),
                finding("acme/b", "high", "fixed"),
            ],
            vec![
                use_of("acme/c", "migratable-now"),
                use_of("acme/d", "blocked"),
            ],
            vec![(3, 2)],
        );
        let b = body(&rep);
        assert!(b.starts_with(MARKER));
        assert!(b.contains("- [ ] `acme/a`: 2 open findings (1 high, 1 medium, 0 low)\n"));
        assert!(b.contains("- [ ] `acme/c`: 1 pipeline credential use migratable to OIDC now\n"));
        assert_eq!(b.matches("- [ ]").count(), 2, "{b}");
        assert!(!b.contains("REDACTED") && !b.contains("config.txt"), "{b}");
        let none = SweepReport::new(vec![repo("acme/b")], vec![], vec![], vec![(4, 0)]);
        assert!(body(&none).contains("Nothing open"));
    }
}
