//! GCP: a service-account JSON key -> Workload Identity Federation.

use yaml_serde::Value;

use super::edit::{
    first_reader, insert_step, only_sites, pinned_noted, remove_bindings, replace_key, BINDINGS,
};
use super::facts::Lookup;
use super::rewrite::{map, s, EditOp};
use super::target::Target;
use super::target::{
    Site, SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan, Workflow,
};
use super::trust::{hcl_str, sh};
use super::trust::{header, GITHUB_ISSUER};
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

/// CEL: one of the trusted subjects (a `--subject-pattern` as a regular expression).
pub fn subject_condition(t: &TrustInput) -> String {
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
    subs.join(" || ")
}

/// CEL: the repository (by numeric id when known) and one of the trusted subjects.
pub fn attribute_condition(t: &TrustInput, look: &Lookup) -> String {
    let repo = match look.facts.and_then(|f| f.repository_id.clone()) {
        Some(id) => format!("assertion.repository_id == '{id}'"),
        None => format!("assertion.repository == '{}'", t.repo_slug),
    };
    format!("{repo} && ({})", subject_condition(t))
}

/// A workload identity pool provider for one CI issuer, and the binding that lets its tokens
/// impersonate the service account.
pub struct Wif<'a> {
    pub target: &'static str,
    /// Directory of the files under the output directory.
    pub dir: &'static str,
    /// What the header names (`gcp`, `gcp, GitLab CI`).
    pub what: &'static str,
    /// Display name of the pool, and the Terraform resource name.
    pub label: &'static str,
    pub resource: &'static str,
    pub issuer: String,
    pub mapping: &'a [(&'a str, &'a str)],
    /// Mandatory CEL attribute condition.
    pub condition: String,
    /// The `principalSet://` granted `roles/iam.workloadIdentityUser`.
    pub member: String,
}

/// `principalSet://` of the pool's identities whose `attribute` is `value`.
pub fn principal_set(look: &mut Lookup, attribute: &str, value: &str) -> String {
    format!(
        "principalSet://iam.googleapis.com/projects/{}/locations/global/workloadIdentityPools/{}/attribute.{attribute}/{value}",
        look.get("gcp_project_number"),
        look.get("gcp_pool"),
    )
}

/// Terraform and `gcloud` commands for a pool, its provider and the binding.
pub fn wif_trust(w: &Wif, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
    let num = look.get("gcp_project_number");
    let pool = look.get("gcp_pool");
    let prov = look.get("gcp_provider");
    let sa = look.get("gcp_service_account");
    let res = w.resource;
    let tf = format!(
        "{}\
resource \"google_iam_workload_identity_pool\" \"{res}\" {{
  project                   = {num_s}
  workload_identity_pool_id = {pool_s}
  display_name              = {label}
}}

resource \"google_iam_workload_identity_pool_provider\" \"{res}\" {{
  project                            = {num_s}
  workload_identity_pool_id          = google_iam_workload_identity_pool.{res}.workload_identity_pool_id
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

# The job impersonates the service account the key belonged to.
resource \"google_service_account_iam_member\" \"{res}\" {{
  service_account_id = {sa_id}
  role               = \"roles/iam.workloadIdentityUser\"
  member             = {member_s}
}}
",
        header("#", &t.repo_slug, w.what),
        num_s = hcl_str(&num),
        pool_s = hcl_str(&pool),
        prov_s = hcl_str(&prov),
        label = hcl_str(w.label),
        map = w
            .mapping
            .iter()
            .map(|(a, b)| format!("    {} = {}", hcl_str(a), hcl_str(b)))
            .collect::<Vec<_>>()
            .join("\n"),
        cond_s = hcl_str(&w.condition),
        issuer = hcl_str(&w.issuer),
        sa_id = hcl_str(&format!("projects/-/serviceAccounts/{sa}")),
        member_s = hcl_str(&w.member),
    );
    let map_flag = w
        .mapping
        .iter()
        .map(|(a, b)| format!("{a}={b}"))
        .collect::<Vec<_>>()
        .join(",");
    let cmds = format!(
        "#!/bin/sh\n{}set -eu\n# Skip the pool if it exists already.\ngcloud iam workload-identity-pools create {pool} --project={num} --location=global --display-name={label}\ngcloud iam workload-identity-pools providers create-oidc {prov} --project={num} --location=global --workload-identity-pool={pool} --issuer-uri={issuer} --attribute-mapping={map} --attribute-condition={cond}\ngcloud iam service-accounts add-iam-policy-binding {sa} --role=roles/iam.workloadIdentityUser --member={member}\n",
        header("#", &t.repo_slug, w.what),
        pool = sh(&pool),
        num = sh(&num),
        label = sh(w.label),
        prov = sh(&prov),
        issuer = sh(&w.issuer),
        map = sh(&map_flag),
        cond = sh(&w.condition),
        sa = sh(&sa),
        member = sh(&w.member),
    );
    vec![
        TrustArtifact {
            target: w.target,
            file: format!("{}/main.tf", w.dir),
            format: "terraform",
            content: tf,
        },
        TrustArtifact {
            target: w.target,
            file: format!("{}/commands.sh", w.dir),
            format: "shell",
            content: cmds,
        },
    ]
}

/// Variables that hold the key JSON itself, for Terraform's google provider (and Pulumi).
const KEY_ENV: &[&str] = &["GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON"];

impl Gcp {
    /// The key in an `env:`: drop it, and authenticate before the first step that reads it;
    /// google-github-actions/auth exports GOOGLE_APPLICATION_CREDENTIALS, which Terraform,
    /// gcloud and the client libraries use.
    fn plan_env(&self, u: &Use, look: &mut Lookup, p: &mut UsePlan) -> Result<(), Unmigratable> {
        let env_sites: Vec<&Site> = u
            .sites
            .iter()
            .filter(|s| s.kind != SiteKind::With)
            .collect();
        if env_sites.is_empty() {
            return Ok(());
        }
        if let Some(s) = env_sites
            .iter()
            .find(|s| !KEY_ENV.contains(&s.key.as_str()))
        {
            return Err(Unmigratable::new(format!(
                "the key is bound to `{}`; keysweep moves {} (the key JSON) only",
                s.key,
                KEY_ENV.join(" and ")
            )));
        }
        let with_jobs: Vec<&str> = u
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::With)
            .filter_map(|s| s.job.as_deref())
            .collect();
        p.edits.extend(remove_bindings(u.wf, &env_sites));
        for job in u.jobs.iter().filter(|j| !with_jobs.contains(&j.as_str())) {
            let at = first_reader(u, job);
            if u.wf.steps(job)[..at]
                .iter()
                .any(|st| Workflow::uses_slug(st).as_deref() == Some(ACTION))
            {
                return Err(Unmigratable::new(format!(
                    "job `{job}` runs {ACTION} already before the key is read; finish that migration by hand"
                )));
            }
            let mut with = vec![
                ("workload_identity_provider", s(provider_name(look))),
                ("service_account", s(look.get("gcp_service_account"))),
            ];
            // the project the job already names, as the key file named it before
            if let Some(project) = [
                "GOOGLE_CLOUD_PROJECT",
                "CLOUDSDK_CORE_PROJECT",
                "GCP_PROJECT",
            ]
            .iter()
            .find_map(|n| u.wf.literal_env(job, Some(at), n))
            {
                with.push(("project_id", s(project)));
            }
            let step = map([
                ("name", s("Authenticate to Google Cloud (OIDC)")),
                ("uses", s(pinned_noted(u.wf, ACTION, p))),
                ("with", map(with)),
            ]);
            p.edits.push(insert_step(
                job,
                at,
                format!(
                    "job `{job}`: authenticate through Workload Identity Federation before step {}",
                    at + 1
                ),
                step,
            ));
        }
        p.notes.push(
            "google-github-actions/auth writes a short-lived credentials file and exports GOOGLE_APPLICATION_CREDENTIALS; Terraform's google provider, gcloud and the client libraries pick it up".into(),
        );
        Ok(())
    }
}

impl Target for Gcp {
    fn id(&self) -> &'static str {
        "gcp"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::GcpServiceAccountKey
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            BINDINGS,
            "keysweep rewrites google-github-actions/auth `credentials_json` and the key JSON in `GOOGLE_CREDENTIALS` (a key file used by a script must be replaced by hand)",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        self.plan_env(u, look, &mut p)?;
        if !look.has("repository_id") {
            p.notes.push(
                "the provider's condition names the repository; pass --repository-id (its numeric id) so a renamed or re-registered repository cannot inherit the trust".into(),
            );
        }
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
        let condition = attribute_condition(t, look);
        let member = match look.facts.and_then(|f| f.repository_id.clone()) {
            Some(id) => principal_set(look, "repository_id", &id),
            None => principal_set(look, "repository", &t.repo_slug),
        };
        let w = Wif {
            target: "gcp",
            dir: "gcp",
            what: "gcp",
            label: "GitHub Actions",
            resource: "github_actions",
            issuer: GITHUB_ISSUER.into(),
            mapping: &[
                ("google.subject", "assertion.sub"),
                ("attribute.repository", "assertion.repository"),
                ("attribute.repository_id", "assertion.repository_id"),
                (
                    "attribute.repository_owner_id",
                    "assertion.repository_owner_id",
                ),
                ("attribute.ref", "assertion.ref"),
            ],
            condition,
            member,
        };
        wif_trust(&w, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC run: delete the repository secret `{secret}`; disable, then delete the service account key (`gcloud iam service-accounts keys disable`, then `keys delete`)"
        )
    }
}
