//! GCP: a service-account JSON key -> Workload Identity Federation.

use yaml_serde::Value;

use super::facts::Lookup;
use super::rewrite::{s, EditOp};
use super::targets::{hcl_str, only_sites, replace_key, sh, Target};
use super::trust::{header, GITHUB_ISSUER};
use super::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use crate::pipeline::PipelineFinding;

pub struct Gcp;

const ACTION: &str = "google-github-actions/auth";

pub fn provider_name(look: &mut Lookup) -> String {
    format!(
        "projects/{}/locations/global/workloadIdentityPools/{}/providers/{}",
        look.get("gcp_project_number"),
        look.get("gcp_pool"),
        look.get("gcp_provider")
    )
}

/// CEL: the repository (by numeric id when known) and one of the trusted subjects.
pub fn attribute_condition(t: &TrustInput, look: &Lookup) -> String {
    let repo = match look.facts.and_then(|f| f.repository_id.clone()) {
        Some(id) => format!("assertion.repository_id == '{id}'"),
        None => format!("assertion.repository == '{}'", t.repo_slug),
    };
    let subs: Vec<String> = t
        .subjects
        .iter()
        .map(|sub| {
            if t.pattern && sub.contains(['*', '?']) {
                let re = regex::escape(sub).replace(r"\*", ".*").replace(r"\?", ".");
                format!("assertion.sub.matches('^{re}$')")
            } else {
                format!("assertion.sub == '{sub}'")
            }
        })
        .collect();
    format!("{repo} && ({})", subs.join(" || "))
}

impl Target for Gcp {
    fn id(&self) -> &'static str {
        "gcp"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == "gcp-service-account-key"
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            &[SiteKind::With],
            "keysweep rewrites google-github-actions/auth `credentials_json` only (a key file used by a script must be replaced by hand)",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        for site in &u.sites {
            let Some((job, i, st)) = u.action_input_step(site, ACTION, "credentials_json")? else {
                continue;
            };
            let with = st.get("with").and_then(Value::as_mapping);
            if with.is_some_and(|w| w.contains_key("workload_identity_provider")) {
                return Err(Unmigratable::new(
                    "the step already names a workload identity provider; finish that migration by hand",
                ));
            }
            let mut pairs = vec![(
                "workload_identity_provider".to_string(),
                s(provider_name(look)),
            )];
            if !with.is_some_and(|w| w.contains_key("service_account")) {
                pairs.push(("service_account".into(), s(look.get("gcp_service_account"))));
            }
            for op in replace_key(&site.path, pairs) {
                let d = match &op {
                    EditOp::Remove { .. } => {
                        format!("job `{job}` step {}: remove `credentials_json`", i + 1)
                    }
                    EditOp::AddBefore { key, .. } if key == "service_account" => format!(
                        "job `{job}` step {}: impersonate the service account the key belonged to",
                        i + 1
                    ),
                    _ => format!(
                        "job `{job}` step {}: authenticate through Workload Identity Federation",
                        i + 1
                    ),
                };
                p.edits.push((d, op));
            }
        }
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let num = look.get("gcp_project_number");
        let pool = look.get("gcp_pool");
        let prov = look.get("gcp_provider");
        let sa = look.get("gcp_service_account");
        let cond = attribute_condition(t, look);
        let member = match look.facts.and_then(|f| f.repository_id.clone()) {
            Some(id) => format!(
                "principalSet://iam.googleapis.com/projects/{num}/locations/global/workloadIdentityPools/{pool}/attribute.repository_id/{id}"
            ),
            None => format!(
                "principalSet://iam.googleapis.com/projects/{num}/locations/global/workloadIdentityPools/{pool}/attribute.repository/{}",
                t.repo_slug
            ),
        };
        let mapping = [
            ("google.subject", "assertion.sub"),
            ("attribute.repository", "assertion.repository"),
            ("attribute.repository_id", "assertion.repository_id"),
            (
                "attribute.repository_owner_id",
                "assertion.repository_owner_id",
            ),
            ("attribute.ref", "assertion.ref"),
        ];
        let tf = format!(
            "{}\
resource \"google_iam_workload_identity_pool\" \"github_actions\" {{
  project                   = {num_s}
  workload_identity_pool_id = {pool_s}
  display_name              = \"GitHub Actions\"
}}

resource \"google_iam_workload_identity_pool_provider\" \"github_actions\" {{
  project                            = {num_s}
  workload_identity_pool_id          = google_iam_workload_identity_pool.github_actions.workload_identity_pool_id
  workload_identity_pool_provider_id = {prov_s}
  attribute_mapping = {{
{map}
  }}
  # Mandatory: only this repository, and only the trusted subjects.
  attribute_condition = {cond_s}
  oidc {{
    issuer_uri = {issuer}
  }}
}}

# The workflow impersonates the service account the key belonged to.
resource \"google_service_account_iam_member\" \"github_actions\" {{
  service_account_id = {sa_id}
  role               = \"roles/iam.workloadIdentityUser\"
  member             = {member_s}
}}
",
            header("#", &t.repo_slug, "gcp"),
            num_s = hcl_str(&num),
            pool_s = hcl_str(&pool),
            prov_s = hcl_str(&prov),
            map = mapping
                .iter()
                .map(|(a, b)| format!("    {} = {}", hcl_str(a), hcl_str(b)))
                .collect::<Vec<_>>()
                .join("\n"),
            cond_s = hcl_str(&cond),
            issuer = hcl_str(GITHUB_ISSUER),
            sa_id = hcl_str(&format!("projects/-/serviceAccounts/{sa}")),
            member_s = hcl_str(&member),
        );
        let map_flag = mapping
            .iter()
            .map(|(a, b)| format!("{a}={b}"))
            .collect::<Vec<_>>()
            .join(",");
        let cmds = format!(
            "#!/bin/sh\n{}set -eu\n# Skip the pool if it exists already.\ngcloud iam workload-identity-pools create {pool} --project={num} --location=global --display-name='GitHub Actions'\ngcloud iam workload-identity-pools providers create-oidc {prov} --project={num} --location=global --workload-identity-pool={pool} --issuer-uri={issuer} --attribute-mapping={map} --attribute-condition={cond}\ngcloud iam service-accounts add-iam-policy-binding {sa} --role=roles/iam.workloadIdentityUser --member={member}\n",
            header("#", &t.repo_slug, "gcp"),
            pool = sh(&pool),
            num = sh(&num),
            prov = sh(&prov),
            issuer = sh(GITHUB_ISSUER),
            map = sh(&map_flag),
            cond = sh(&cond),
            sa = sh(&sa),
            member = sh(&member),
        );
        vec![
            TrustArtifact {
                target: "gcp",
                file: "gcp/main.tf".into(),
                format: "terraform",
                content: tf,
            },
            TrustArtifact {
                target: "gcp",
                file: "gcp/commands.sh".into(),
                format: "shell",
                content: cmds,
            },
        ]
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC run: delete the repository secret `{secret}`; disable, then delete the service account key (`gcloud iam service-accounts keys disable`, then `keys delete`)"
        )
    }
}
