//! GitLab CI: `gcloud auth activate-service-account --key-file "$KEY"` (a service-account key
//! in a file-type CI/CD variable) -> the job's OIDC token exchanged through Workload Identity
//! Federation: `id_tokens:` with the provider as audience, a credential configuration made by
//! `gcloud iam workload-identity-pools create-cred-config`, and `gcloud auth login --cred-file`.

use super::super::facts::Lookup;
use super::super::gcp::{principal_set, provider_name, subject_condition, wif_trust, Wif};
use super::super::rewrite::{s, EditOp, Seg};
use super::super::target::Target;
use super::super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::{
    container, id_token_edit, issuer, plan_subjects, reads_var, script_item, single_command,
};
use crate::pipeline::shell::words;
use crate::pipeline::{CiSystem, PipelineFinding};
use crate::rotate::target::Blocker;

pub struct GitlabGcp;

const TOKEN_VAR: &str = "GCP_ID_TOKEN";
const TOKEN_FILE: &str = "/tmp/gcp-id-token-$CI_JOB_ID";
const CRED_FILE: &str = "/tmp/gcp-credentials-$CI_JOB_ID.json";

/// What `gcloud auth activate-service-account` named: the account, if given positionally.
struct Activate {
    account: Option<String>,
}

/// Parses one script line that must be exactly an `activate-service-account` reading `var`.
fn parse_activate(line: &str, var: &str) -> Result<Activate, String> {
    single_command(line)?;
    let w = words(line);
    if w.len() < 3 || w[0] != "gcloud" || w[1] != "auth" || w[2] != "activate-service-account" {
        return Err("the line is not a `gcloud auth activate-service-account` command".into());
    }
    let mut account = None;
    let mut key_file = None;
    let mut i = 3;
    while i < w.len() {
        let a = &w[i];
        if a == "--key-file" {
            key_file = w.get(i + 1).cloned();
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix("--key-file=") {
            key_file = Some(v.to_string());
        } else if !a.starts_with('-') && account.is_none() {
            account = Some(a.clone());
        } else if !a.starts_with("--") || a == "--password-file" || a == "--prompt-for-password" {
            return Err(format!("flag `{a}` keysweep does not rewrite"));
        }
        // any other `--flag=value` is a gcloud-wide flag that applies to this one command
        i += 1;
    }
    match key_file {
        Some(f) if reads_var(&f, var) => Ok(Activate { account }),
        _ => Err(format!("`--key-file` is not the variable `{var}` itself")),
    }
}

impl Target for GitlabGcp {
    fn id(&self) -> &'static str {
        "gitlab-gcp"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::GcpServiceAccountKey
            && f.ci == CiSystem::GitlabCi
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let mut p = UsePlan::default();
        let provider = provider_name(look);
        // a pool provider's default allowed audience is its own full resource URL
        let aud = format!("https://iam.googleapis.com/{provider}");
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let refuse = |why: String| {
                Unmigratable::new(Blocker::NotRewritten, format!(
                    "`{}`: {why}; keysweep rewrites a script line that is exactly `gcloud auth activate-service-account --key-file \"${}\"`",
                    f.secret, f.secret
                ))
            };
            if site.kind != SiteKind::Run {
                return Err(refuse("it is bound in `variables:`".into()));
            }
            let c = site.job.clone().unwrap_or_default();
            let (idx, line) = script_item(u.wf, site, f.location.line)
                .ok_or_else(|| refuse("the line is not a plain script item".into()))?;
            let act = parse_activate(&line, &f.secret).map_err(refuse)?;
            let sa = match (&act.account, look.has("gcp_service_account")) {
                (Some(a), false) => a.clone(),
                (Some(a), true) => {
                    let fact = look.get("gcp_service_account");
                    if *a != fact {
                        p.notes.push(format!(
                            "`{c}` activated `{a}`; the job now impersonates `{fact}` (--gcp-service-account)"
                        ));
                    }
                    fact
                }
                (None, _) => look.get("gcp_service_account"),
            };
            let body = container(u, &c)?;
            if let Some(e) = id_token_edit(&c, body, TOKEN_VAR, &aud, "an OIDC token for GCP")? {
                p.edits.push(e);
            }
            let mut item = site.path.clone();
            item.push(Seg::Index(idx));
            let sect = site.key.clone();
            // inserted before the line in this order; the line itself becomes the login
            for (d, v) in [
                (
                    "write the OIDC token to a file only the job's user can read, for Google's token exchange",
                    format!("(umask 077 && echo \"${TOKEN_VAR}\" > \"{TOKEN_FILE}\")"),
                ),
                (
                    "a credential configuration that exchanges it for the service account's short-lived token",
                    format!(
                        "gcloud iam workload-identity-pools create-cred-config {provider} --service-account=\"{sa}\" --credential-source-file=\"{TOKEN_FILE}\" --output-file=\"{CRED_FILE}\""
                    ),
                ),
            ] {
                p.edits.push((
                    format!("`{c}` {sect}: {d}"),
                    EditOp::InsertItem {
                        path: site.path.clone(),
                        index: idx,
                        value: s(v),
                    },
                ));
            }
            p.edits.push((
                format!("`{c}` {sect}: log in with it in place of the key file"),
                EditOp::Replace {
                    path: item,
                    value: s(format!("gcloud auth login --cred-file=\"{CRED_FILE}\"")),
                },
            ));
        }
        plan_subjects(u, look, &mut p);
        p.notes.push(
            "gcloud refreshes the short-lived token from the token file itself for the rest of the job".into(),
        );
        p.manual.push(format!(
            "Keep the service account's roles as they are; after the migration only the pool's identities for `{}` can impersonate it, and the keys can go.",
            look.get("gitlab_project")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let project = look.get("gitlab_project");
        let (url, _) = issuer(look);
        let w = Wif {
            target: "gitlab-gcp",
            dir: "gcp-gitlab",
            what: "gcp, GitLab CI",
            label: "GitLab CI",
            resource: "gitlab_ci",
            issuer: url,
            mapping: &[
                ("google.subject", "assertion.sub"),
                ("attribute.project_path", "assertion.project_path"),
                ("attribute.project_id", "assertion.project_id"),
                ("attribute.namespace_id", "assertion.namespace_id"),
                ("attribute.ref", "assertion.ref"),
                ("attribute.ref_type", "assertion.ref_type"),
            ],
            condition: format!(
                "assertion.project_path == '{project}' && ({})",
                subject_condition(t)
            ),
            member: principal_set(look, "project_path", &project),
        };
        wif_trust(&w, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC pipeline: delete the CI/CD variable `{secret}`; disable, then delete the service account key (`gcloud iam service-accounts keys disable`, then `keys delete`)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activate_lines() {
        let v = "GCP_SA_KEY";
        assert!(parse_activate(
            r#"gcloud auth activate-service-account --key-file "$GCP_SA_KEY""#,
            v
        )
        .is_ok());
        assert!(parse_activate(
            "gcloud auth activate-service-account --key-file=${GCP_SA_KEY} --project=p",
            v
        )
        .is_ok());
        let a = parse_activate("gcloud auth activate-service-account ci@p.iam.gserviceaccount.com --key-file $GCP_SA_KEY", v).unwrap();
        assert_eq!(a.account.as_deref(), Some("ci@p.iam.gserviceaccount.com"));
        // a copy of the key, a second command, another variable
        assert!(parse_activate(
            "gcloud auth activate-service-account --key-file key.json",
            v
        )
        .is_err());
        assert!(parse_activate(
            "gcloud auth activate-service-account --key-file $GCP_SA_KEY && gcloud info",
            v
        )
        .is_err());
        assert!(parse_activate(
            "gcloud auth activate-service-account --key-file $GCP_SA_KEY_2",
            v
        )
        .is_err());
        assert!(parse_activate("gcloud config set account x", v).is_err());
    }
}
