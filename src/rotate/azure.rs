//! Azure: `azure/login` `creds` (a client secret) -> federated identity credentials.

use crate::rotate::target::Blocker;
use serde_json::json;
use yaml_serde::Value;

use super::edit::{only_sites, replace_key, BINDINGS};
use super::facts::Lookup;
use super::rewrite::{s, EditOp};
use super::target::Target;
use super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::trust::{hcl_str, sh, slugify};
use super::trust::{header, GITHUB_ISSUER};
use crate::pipeline::PipelineFinding;

pub struct Azure;

const ACTION: &str = "azure/login";
pub const AUDIENCE: &str = "api://AzureADTokenExchange";
/// Entra ID accepts at most 20 federated credentials per application or identity.
const MAX_CREDENTIALS: usize = 20;

/// (input, repository variable, fact)
const IDS: &[(&str, &str, &str)] = &[
    ("client-id", "AZURE_CLIENT_ID", "azure_client_id"),
    ("tenant-id", "AZURE_TENANT_ID", "azure_tenant_id"),
    (
        "subscription-id",
        "AZURE_SUBSCRIPTION_ID",
        "azure_subscription_id",
    ),
];

/// A federated credential's name: issuer, ref kind and ref (`github-branch-main-1`).
fn credential_name(prefix: &str, sub: &str, i: usize) -> String {
    let tail = sub.rsplit(':').next().unwrap_or(sub);
    let kind = if sub.contains(":environment:") {
        "env"
    } else if sub.contains(":ref:refs/tags/") || sub.contains(":ref_type:tag:") {
        "tag"
    } else if sub.ends_with(":pull_request") {
        "pr"
    } else {
        "branch"
    };
    let mut n = format!("{prefix}-{kind}-{}", slugify(tail));
    if kind == "pr" {
        n = format!("{prefix}-pull-request");
    }
    if n.len() > 100 {
        n.truncate(100);
    }
    format!("{n}-{}", i + 1)
}

/// Federated identity credentials for one CI issuer on the Entra application.
pub struct Federation {
    pub target: &'static str,
    /// Directory of the files under the output directory.
    pub dir: &'static str,
    /// What the header names (`azure`, `azure, GitLab CI`).
    pub what: &'static str,
    /// `GitHub Actions`, `GitLab CI`: descriptions and the data source name.
    pub label: &'static str,
    pub resource: &'static str,
    /// Credential name prefix (`github`, `gitlab`).
    pub prefix: &'static str,
    pub issuer: String,
    /// What to do instead of a pattern subject.
    pub pattern_advice: &'static str,
}

/// Terraform, the credentials' JSON and `az` commands: one credential per exact subject.
pub fn federated_trust(fed: &Federation, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
    let client = look.get("azure_client_id");
    let res = fed.resource;
    let mut out = Vec::new();
    let mut tf = format!(
        "{}\
# The Entra application the job signs in as (by its client id).
data \"azuread_application\" \"{res}\" {{
  client_id = {}
}}
",
        header("#", &t.repo_slug, fed.what),
        hcl_str(&client)
    );
    let mut cmds = format!(
        "#!/bin/sh\n{}set -eu\ncd \"$(dirname \"$0\")\"\n",
        header("#", &t.repo_slug, fed.what)
    );
    if t.subjects.len() > MAX_CREDENTIALS {
        tf.push_str(&format!(
            "# WARNING: {} subjects; Entra ID allows {MAX_CREDENTIALS} federated credentials per application.\n",
            t.subjects.len()
        ));
    }
    let desc = format!("{} OIDC for {}", fed.label, t.repo_slug);
    for (i, sub) in t.subjects.iter().enumerate() {
        if sub.contains(['*', '?']) {
            tf.push_str(&format!(
                "\n# NOT CREATED: `{sub}` is a pattern; Entra ID federated credentials match one exact subject.\n# {}\n",
                fed.pattern_advice
            ));
            continue;
        }
        let name = credential_name(fed.prefix, sub, i);
        tf.push_str(&format!(
            "
resource \"azuread_application_federated_identity_credential\" \"{res_name}\" {{
  application_id = data.azuread_application.{res}.id
  display_name   = {name}
  description    = {desc}
  issuer         = {issuer}
  audiences      = [{aud}]
  subject        = {sub}
}}
",
            res_name = name.replace('-', "_"),
            name = hcl_str(&name),
            desc = hcl_str(&desc),
            issuer = hcl_str(&fed.issuer),
            aud = hcl_str(AUDIENCE),
            sub = hcl_str(sub),
        ));
        let file = format!("federated-credential-{}.json", i + 1);
        let native = json!({
            "name": name,
            "issuer": fed.issuer,
            "subject": sub,
            "description": desc,
            "audiences": [AUDIENCE],
        });
        cmds.push_str(&format!(
            "az ad app federated-credential create --id {} --parameters {}\n",
            sh(&client),
            sh(&file)
        ));
        out.push(TrustArtifact {
            target: fed.target,
            file: format!("{}/{file}", fed.dir),
            format: "json",
            content: serde_json::to_string_pretty(&native).unwrap_or_default() + "\n",
        });
    }
    out.insert(
        0,
        TrustArtifact {
            target: fed.target,
            file: format!("{}/main.tf", fed.dir),
            format: "terraform",
            content: tf,
        },
    );
    out.push(TrustArtifact {
        target: fed.target,
        file: format!("{}/commands.sh", fed.dir),
        format: "shell",
        content: cmds,
    });
    out
}

impl Target for Azure {
    fn id(&self) -> &'static str {
        "azure"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::AzureClientSecret
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            BINDINGS,
            "keysweep rewrites azure/login `creds` and Terraform's ARM_CLIENT_SECRET only (`az login --password` scripts are left for a person)",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        for (f, site) in u.findings.iter().zip(&u.sites) {
            if site.kind == SiteKind::With {
                continue;
            }
            // Terraform's azurerm/azuread providers (and the azurerm backend) log in with the
            // job's OIDC token themselves when ARM_USE_OIDC is set
            let cmd = f.consumer.command.as_deref().unwrap_or("");
            let tf = ["terraform", "tofu", "terragrunt"]
                .iter()
                .any(|t| cmd == *t || cmd.starts_with(&format!("{t} ")));
            if site.key != "ARM_CLIENT_SECRET" || !tf {
                return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                    "`{}` is read {}; only Terraform's ARM_CLIENT_SECRET is rewritten (to ARM_USE_OIDC)",
                    site.key,
                    if cmd.is_empty() { "by a step keysweep cannot tell".to_string() } else { format!("by `{cmd}`") }
                )));
            }
            let parent = &site.path[..site.path.len() - 1];
            let env = super::edit::value_at(&u.wf.value, parent).and_then(Value::as_mapping);
            for need in ["ARM_CLIENT_ID", "ARM_TENANT_ID"] {
                if !env.is_some_and(|e| e.contains_key(need)) {
                    return Err(Unmigratable::new(
                        Blocker::Missing,
                        format!("`{need}` is not set next to ARM_CLIENT_SECRET; set the ids first"),
                    ));
                }
            }
            for op in replace_key(&site.path, vec![("ARM_USE_OIDC".into(), s("true"))]) {
                let d = match &op {
                    EditOp::Remove { .. } => "remove `ARM_CLIENT_SECRET`".to_string(),
                    _ => "`ARM_USE_OIDC: true`: Terraform's azurerm provider and backend log in with the job's OIDC token".to_string(),
                };
                p.edits.push((d, op));
            }
            let client = look.get("azure_client_id");
            p.manual.push(format!(
                "Make sure ARM_CLIENT_ID is the client id the federated credentials are added to (`{client}`)."
            ));
        }
        for site in &u.sites {
            if site.kind != SiteKind::With {
                continue;
            }
            let Some((job, i, st)) = u.action_input_step(site, ACTION, "creds")? else {
                continue;
            };
            let with = st.get("with").and_then(Value::as_mapping);
            if with.is_some_and(|w| IDS.iter().any(|(i, _, _)| w.contains_key(*i))) {
                return Err(Unmigratable::new(Blocker::PartlyMigrated,
                    "the step already has client-id/tenant-id/subscription-id next to `creds`; finish that migration by hand",
                ));
            }
            let pairs = IDS
                .iter()
                .map(|(input, var, _)| ((*input).to_string(), s(format!("${{{{ vars.{var} }}}}"))))
                .collect();
            for op in replace_key(&site.path, pairs) {
                let d = match &op {
                    EditOp::AddBefore { key, .. } => {
                        let var = IDS.iter().find(|(i, _, _)| i == key).map_or("", |x| x.1);
                        format!("job `{job}` step {}: `{key}` from the repository variable `{var}` (an id, not a secret)", i + 1)
                    }
                    _ => format!("job `{job}` step {}: remove `creds`", i + 1),
                };
                p.edits.push((d, op));
            }
        }
        if !u.sites.iter().any(|s| s.kind == SiteKind::With) {
            p.manual.push(
                "Give the application (or managed identity) the role assignments the old service principal secret was used for.".into(),
            );
            return Ok(p);
        }
        let vals: Vec<String> = IDS
            .iter()
            .map(|(_, var, fact)| format!("`{var}={}`", look.get(fact)))
            .collect();
        p.manual.push(format!(
            "Create the repository variables (Settings → Secrets and variables → Actions → Variables) {}, e.g. `gh variable set AZURE_CLIENT_ID --body <value>`.",
            vals.join(", ")
        ));
        p.manual.push(
            "Give the application (or managed identity) the role assignments the old service principal secret was used for.".into(),
        );
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let fed = Federation {
            target: "azure",
            dir: "azure",
            what: "azure",
            label: "GitHub Actions",
            resource: "github_actions",
            prefix: "github",
            issuer: GITHUB_ISSUER.into(),
            pattern_advice: "Give the job an environment and trust `...:environment:NAME` instead.",
        };
        federated_trust(&fed, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC run: delete the repository secret `{secret}`; delete the client secret from the application (`az ad app credential delete --id <app> --key-id <key>`)"
        )
    }
}
