//! GitHub PAT -> octo-sts: a short-lived installation token minted from the job's OIDC
//! token against a trust policy in the target repository.

use yaml_serde::Value;

use super::edit::{free_step_id, only_sites, pinned_noted, read_from_minted_token};
use super::facts::Lookup;
use super::rewrite::{map, s};
use super::target::Target;
use super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::trust::GITHUB_ISSUER;
use crate::pipeline::PipelineFinding;

pub struct OctoSts;

const ACTION: &str = "octo-sts/action";

impl Target for OctoSts {
    fn id(&self) -> &'static str {
        "octo-sts"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::GithubPat
    }
    fn accepts_blocked(&self, f: &PipelineFinding) -> bool {
        f.blocked_by
            .as_deref()
            .is_some_and(|b| b.contains("octo-sts"))
    }
    fn per_secret(&self) -> bool {
        true
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let cross_repo = u
            .findings
            .iter()
            .any(|f| f.replacement.contains("octo-sts") && f.blocked_by.is_none());
        if !cross_repo {
            return Err(Unmigratable::new(format!(
                "not a cross-repository use, so not an octo-sts migration; the analysis suggests {} (keysweep does not rewrite that)",
                u.findings.first().map_or("", |f| f.replacement.as_str())
            )));
        }
        only_sites(
            u,
            &[SiteKind::With],
            "a script reads the token, so the repositories (or org projects) it reaches cannot be told; octo-sts needs that scope",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        let identity = look.get("octo_sts_identity");
        let mut by_job: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for site in &u.sites {
            if let (Some(j), Some(i)) = (site.job.as_deref(), site.step) {
                by_job.entry(j).or_default().push(i);
            }
        }
        for (job, idx) in by_job {
            // the scope: the repository the steps name, else this one
            let mut scopes: Vec<String> = idx
                .iter()
                .filter_map(|i| u.wf.step(job, *i))
                .filter_map(|st| {
                    st.get("with")?
                        .get("repository")?
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            scopes.sort();
            scopes.dedup();
            if scopes.len() > 1 {
                return Err(Unmigratable::new(format!(
                    "the token reaches several repositories ({}); one octo-sts token has one scope",
                    scopes.join(", ")
                )));
            }
            let scope = scopes.pop().unwrap_or_else(|| u.repo_slug.to_string());
            if scope.contains("${{") {
                return Err(Unmigratable::new("the target repository is an expression"));
            }
            p.trust_info.push(("scope".into(), scope.clone()));
            for i in &idx {
                if let Some(st) = u.wf.step(job, *i) {
                    p.trust_info.push((
                        "uses".into(),
                        st.get("uses")
                            .and_then(Value::as_str)
                            .unwrap_or("run")
                            .to_string(),
                    ));
                }
            }
            let first = *idx.iter().min().unwrap_or(&0);
            let id = free_step_id(u.wf, job, "octo-sts");
            let uses = pinned_noted(u.wf, ACTION, &mut p);
            read_from_minted_token(
                &mut p,
                u,
                job,
                first,
                &id,
                "the octo-sts token",
                format!(
                    "job `{job}`: mint a token for `{scope}` through octo-sts before step {}",
                    first + 1
                ),
                map([
                    ("name", s("Get a short-lived GitHub token (octo-sts)")),
                    ("id", s(id.clone())),
                    ("uses", s(uses.clone())),
                    (
                        "with",
                        map([
                            ("scope", s(scope.clone())),
                            ("identity", s(identity.clone())),
                        ]),
                    ),
                ]),
            );
            p.manual.push(format!(
                "Install the octo-sts GitHub App on `{}` and commit octo-sts/{scope}/.github/chainguard/{identity}.sts.yaml to `{scope}`'s default branch, with `permissions` cut down to what the PAT was used for.",
                scope.split('/').next().unwrap_or(&scope)
            ));
        }
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let identity = look.get("octo_sts_identity");
        let uses = t.info("uses");
        let mut perms: Vec<(&str, &str)> = vec![("contents", "read")];
        if uses
            .iter()
            .any(|u| u.starts_with("peter-evans/create-pull-request"))
        {
            perms = vec![("contents", "write"), ("pull_requests", "write")];
        }
        let mut out = Vec::new();
        for scope in t.info("scope") {
            let subject = if t.subjects.len() == 1 && !t.pattern {
                format!("subject: {}\n", yaml_str(&t.subjects[0]))
            } else {
                let alts: Vec<String> = t
                    .subjects
                    .iter()
                    .map(|s| regex::escape(s).replace(r"\*", ".*"))
                    .collect();
                format!(
                    "subject_pattern: {}\n",
                    yaml_str(&format!("^({})$", alts.join("|")))
                )
            };
            let content = format!(
                "# Generated by `keysweep rotate` for {repo} (octo-sts). Commit to {scope} as\n# .github/chainguard/{identity}.sts.yaml; check `permissions` against what the PAT did\n# ({uses}).\nissuer: {GITHUB_ISSUER}\n{subject}claim_pattern:\n  repository: {repo_re}\npermissions:\n{perms}",
                repo = t.repo_slug,
                uses = uses.join(", "),
                repo_re = yaml_str(&format!("^{}$", regex::escape(&t.repo_slug))),
                perms = perms
                    .iter()
                    .map(|(a, b)| format!("  {a}: {b}\n"))
                    .collect::<String>(),
            );
            out.push(TrustArtifact {
                target: "octo-sts",
                file: format!("octo-sts/{scope}/.github/chainguard/{identity}.sts.yaml"),
                format: "yaml",
                content,
            });
        }
        out
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green run: delete the repository secret `{secret}` and revoke the personal access token (its owner's Settings → Developer settings)"
        )
    }
}

fn yaml_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
