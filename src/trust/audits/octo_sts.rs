//! octo-sts trust policies (`.github/chainguard/NAME.sts.yaml`). Patterns are Go regular
//! expressions that octo-sts anchors at both ends; the audits test them against probe values
//! that must never match.

use super::{is_github_issuer, is_gitlab_issuer, TrustAudit};
use crate::trust::model::{Inventory, OctoStsPolicy, Text};
use crate::trust::{Severity, TrustFinding};

/// Whether an anchored pattern matches a probe. A pattern that does not compile here is left
/// alone (octo-sts would reject it).
fn matches(pattern: &str, probe: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(probe))
}

/// The owner a subject pattern starts with (`repo:acme/...` -> `acme`), if literal.
fn literal_owner(pattern: &str) -> Option<&str> {
    let rest = pattern.strip_prefix("repo:")?;
    let owner = rest.split('/').next()?;
    owner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        .then_some(owner)
}

/// Claim patterns that pin the repository on their own.
fn pinned_by_claims(p: &OctoStsPolicy) -> bool {
    p.claim_patterns.iter().any(|(k, v)| {
        matches!(
            k.as_str(),
            "repository" | "repository_id" | "job_workflow_ref" | "workflow_ref"
        ) && !matches(&v.value, "keysweep-probe/keysweep-probe")
            && !matches(
                &v.value,
                "keysweep-probe/keysweep-probe/.github/workflows/x.yml@refs/heads/main",
            )
    })
}

pub struct OctoStsNoIssuer;

impl TrustAudit for OctoStsNoIssuer {
    fn id(&self) -> &'static str {
        "octo-sts-no-issuer"
    }
    fn title(&self) -> &'static str {
        "octo-sts trust policy does not pin the issuer"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Set `issuer: https://token.actions.githubusercontent.com` (an exact issuer, not `issuer_pattern`)."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for p in &inv.octo_sts {
            let (loc, why) = match (&p.issuer, &p.issuer_pattern) {
                (Some(_), _) => continue,
                (None, None) => (&p.loc, "no `issuer` or `issuer_pattern`".to_string()),
                (None, Some(pat)) if matches(&pat.value, "https://keysweep-probe.example.com") => (
                    &pat.loc,
                    format!("`issuer_pattern: {}` matches any issuer", pat.value),
                ),
                (None, Some(_)) => continue,
            };
            out.push(self.finding(
                &p.resource,
                loc,
                format!("{why}: a token from an OIDC issuer anyone can run gets this policy's GitHub permissions"),
            ));
        }
        out
    }
}

pub struct OctoStsWildcardSubject;

impl TrustAudit for OctoStsWildcardSubject {
    fn id(&self) -> &'static str {
        "octo-sts-wildcard-subject"
    }
    fn title(&self) -> &'static str {
        "octo-sts trust policy subject admits more than one repository"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "Use an exact `subject: repo:OWNER/REPO:ref:refs/heads/main`, or a `subject_pattern` that names one repository, or pin `claim_pattern.job_workflow_ref` to one workflow."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for p in &inv.octo_sts {
            if p.subject.is_some() || pinned_by_claims(p) {
                continue;
            }
            // The `repo:` probes mean GitHub: another issuer's subjects are judged by its
            // own audit (GitLab) or not at all (an email-pinned issuer is not "any repository").
            if p.issuer
                .as_ref()
                .is_some_and(|i| !is_github_issuer(&i.value))
            {
                continue;
            }
            let Some(pat) = &p.subject_pattern else {
                let mut f = self.finding(
                    &p.resource,
                    &p.loc,
                    "no `subject` or `subject_pattern`: any workflow that the issuer serves can get the token".into(),
                );
                f.severity = Severity::Critical;
                out.push(f);
                continue;
            };
            let anyone = matches(
                &pat.value,
                "repo:keysweep-probe/keysweep-probe:ref:refs/heads/main",
            );
            let owner_wide = literal_owner(&pat.value).is_some_and(|o| {
                matches(
                    &pat.value,
                    &format!("repo:{o}/keysweep-probe:ref:refs/heads/main"),
                )
            });
            let (severity, what) = if anyone {
                (Severity::Critical, "any repository on GitHub".to_string())
            } else if owner_wide {
                (
                    Severity::High,
                    format!(
                        "every repository of `{}`",
                        literal_owner(&pat.value).unwrap_or_default()
                    ),
                )
            } else {
                continue;
            };
            let mut f = self.finding(
                &p.resource,
                &pat.loc,
                format!(
                    "`subject_pattern: {}` admits workflows of {what}",
                    pat.value
                ),
            );
            f.severity = severity;
            out.push(f);
        }
        out
    }
}

pub struct OctoStsNoRepoRestriction;

impl TrustAudit for OctoStsNoRepoRestriction {
    fn id(&self) -> &'static str {
        "octo-sts-no-repo-restriction"
    }
    fn title(&self) -> &'static str {
        "Org-level octo-sts trust policy grants every repository of the organisation"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "List the repositories the token may reach in `repositories:` (an allowlist); an absent or empty list means all of them."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        inv.octo_sts
            .iter()
            .filter(|p| p.org_level)
            .filter(|p| {
                p.repositories
                    .as_ref()
                    .is_none_or(|r: &Vec<Text>| r.is_empty() || r.iter().any(|t| t.value == "*"))
            })
            .map(|p| {
                self.finding(
                    &p.resource,
                    p.repositories_loc.as_ref().unwrap_or(&p.loc),
                    "this org-level policy has no repository allowlist: the token it issues reaches every repository of the organisation".into(),
                )
            })
            .collect()
    }
}

pub struct OctoStsGitlabAnyBranch;

/// `project_path:GROUP/PROJECT:` when a pattern starts with a literal project path.
fn literal_project(pattern: &str) -> Option<&str> {
    let rest = pattern.strip_prefix("project_path:")?;
    let path = rest.split(':').next()?;
    path.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'))
        .then_some(path)
}

impl TrustAudit for OctoStsGitlabAnyBranch {
    fn id(&self) -> &'static str {
        "octo-sts-gitlab-any-branch"
    }
    fn title(&self) -> &'static str {
        "octo-sts trust policy for a GitLab issuer admits any branch of the project"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Pin the branch: `subject: project_path:GROUP/PROJECT:ref_type:branch:ref:main`, or add `claim_pattern: { ref_protected: \"true\" }` so only protected branches get the token."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for p in &inv.octo_sts {
            if !p
                .issuer
                .as_ref()
                .is_some_and(|i| is_gitlab_issuer(&i.value))
            {
                continue;
            }
            let protected = p.claim_patterns.iter().any(|(k, v)| {
                (k == "ref_protected" && !matches(&v.value, "false"))
                    || (k == "ref" && !matches(&v.value, "keysweep-probe"))
            });
            if protected {
                continue;
            }
            let Some(pat) = &p.subject_pattern else {
                continue;
            };
            let Some(project) = literal_project(&pat.value) else {
                continue;
            };
            let probe = format!("project_path:{project}:ref_type:branch:ref:keysweep-probe");
            if matches(&pat.value, &probe) {
                out.push(self.finding(
                    &p.resource,
                    &pat.loc,
                    format!(
                        "`subject_pattern: {}` admits every branch of `{project}`: anyone who can push a branch gets this policy's GitHub permissions",
                        pat.value
                    ),
                ));
            }
        }
        out
    }
}
