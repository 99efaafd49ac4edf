//! Vault: a static token for `hashicorp/vault-action` -> JWT auth with GitHub's OIDC token.

use crate::rotate::target::Blocker;
use serde_json::json;
use yaml_serde::Value;

use super::edit::{only_sites, replace_key};
use super::facts::Lookup;
use super::rewrite::{s, EditOp};
use super::target::Target;
use super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::trust::{hcl_list, hcl_str, sh};
use super::trust::{header, GITHUB_ISSUER};
use crate::pipeline::PipelineFinding;

pub struct Vault;

const ACTION: &str = "hashicorp/vault-action";

impl Target for Vault {
    fn id(&self) -> &'static str {
        "vault"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::VaultStaticToken
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        only_sites(
            u,
            &[SiteKind::With],
            "keysweep rewrites hashicorp/vault-action `token` only (a `vault` CLI script needs `vault write auth/jwt/login` by hand)",
        )?;
        let mut p = UsePlan {
            id_token_jobs: u.jobs.clone(),
            ..Default::default()
        };
        for site in &u.sites {
            let Some((job, i, st)) = u.action_input_step(site, ACTION, "token")? else {
                continue;
            };
            let with = st.get("with").and_then(Value::as_mapping);
            if with.is_some_and(|w| w.contains_key("method") || w.contains_key("role")) {
                return Err(Unmigratable::new(
                    Blocker::PartlyMigrated,
                    "the step already sets `method`/`role`; finish that migration by hand",
                ));
            }
            if let Some(url) = with.and_then(|w| w.get("url")).and_then(Value::as_str) {
                p.trust_info.push(("vault_url".into(), url.to_string()));
            }
            let pairs = vec![
                ("method".to_string(), s("jwt")),
                ("role".to_string(), s(look.get("vault_role"))),
                (
                    "jwtGithubAudience".to_string(),
                    s(look.get("vault_audience")),
                ),
            ];
            for op in replace_key(&site.path, pairs) {
                let d = match &op {
                    EditOp::AddBefore { key, .. } if key == "method" => format!("job `{job}` step {}: `method: jwt` (log in with the job's OIDC token)", i + 1),
                    EditOp::AddBefore { key, .. } if key == "role" => format!("job `{job}` step {}: `role` (the JWT auth role)", i + 1),
                    EditOp::AddBefore { .. } => format!("job `{job}` step {}: `jwtGithubAudience`, equal to the role's bound_audiences (the action's default is `sigstore`)", i + 1),
                    _ => format!("job `{job}` step {}: remove `token`", i + 1),
                };
                p.edits.push((d, op));
            }
        }
        p.manual.push(format!(
            "Give Vault role `{}` the policies the old token had (`vault token lookup` shows them), then apply vault/main.tf (or vault/commands.sh).",
            look.get("vault_role")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let aud = look.get("vault_audience");
        let backend = JwtBackend {
            target: "vault",
            dir: "vault",
            what: "vault",
            resource: "github_actions",
            issuer: GITHUB_ISSUER.into(),
        };
        jwt_trust(&backend, &aud, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC run: delete the repository secret `{secret}` and revoke the token (`vault token revoke -accessor <accessor>`)"
        )
    }
}

/// A JWT auth backend trusting one CI issuer, and the role its jobs log in with.
pub struct JwtBackend {
    pub target: &'static str,
    /// Directory of the files under the output directory.
    pub dir: &'static str,
    /// What the header names (`vault`, `vault, GitLab CI`).
    pub what: &'static str,
    pub resource: &'static str,
    pub issuer: String,
}

/// Terraform, the role's JSON and `vault` commands: the backend at `jwt`, a role bound to the
/// audience and the trusted subjects.
pub fn jwt_trust(
    b: &JwtBackend,
    aud: &str,
    t: &TrustInput,
    look: &mut Lookup,
) -> Vec<TrustArtifact> {
    let role = look.get("vault_role");
    let res = b.resource;
    let claims_type = if t.pattern { "glob" } else { "string" };
    let subs = t.subjects.join(",");
    let url_note = t
        .info("vault_url")
        .first()
        .map(|u| format!("# Vault: {u}\n"))
        .unwrap_or_default();
    let tf = format!(
        "{}{url_note}\
# Skip (or import) the backend if JWT auth is mounted at `jwt` already; one mount trusts one
# issuer, so a Vault serving several CI systems mounts each at its own path.
resource \"vault_jwt_auth_backend\" \"{res}\" {{
  path               = \"jwt\"
  oidc_discovery_url = {issuer}
  bound_issuer       = {issuer}
}}

resource \"vault_jwt_auth_backend_role\" \"{res}\" {{
  backend           = vault_jwt_auth_backend.{res}.path
  role_name         = {role_s}
  role_type         = \"jwt\"
  user_claim        = \"sub\"
  bound_audiences   = {aud_l}
  bound_claims_type = \"{claims_type}\"
  bound_claims = {{
    sub = {subs_s}
  }}
  token_ttl      = 900
  token_max_ttl  = 3600
  # The policies the old static token had.
  token_policies = []
}}
",
        header("#", &t.repo_slug, b.what),
        issuer = hcl_str(&b.issuer),
        role_s = hcl_str(&role),
        aud_l = hcl_list(&[aud.to_string()]),
        subs_s = hcl_str(&subs),
    );
    let role_json = json!({
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": [aud],
        "bound_claims_type": claims_type,
        "bound_claims": { "sub": t.subjects },
        "token_ttl": 900,
        "token_max_ttl": 3600,
        "token_policies": [],
    });
    let cmds = format!(
        "#!/bin/sh\n{}set -eu\ncd \"$(dirname \"$0\")\"\n# Skip the first two commands if JWT auth is configured at `jwt` already.\nvault auth enable jwt\nvault write auth/jwt/config oidc_discovery_url={issuer} bound_issuer={issuer}\nvault write auth/jwt/role/{role} @role.json\n",
        header("#", &t.repo_slug, b.what),
        issuer = sh(&b.issuer),
        role = sh(&role),
    );
    vec![
        TrustArtifact {
            target: b.target,
            file: format!("{}/main.tf", b.dir),
            format: "terraform",
            content: tf,
        },
        TrustArtifact {
            target: b.target,
            file: format!("{}/role.json", b.dir),
            format: "json",
            content: serde_json::to_string_pretty(&role_json).unwrap_or_default() + "\n",
        },
        TrustArtifact {
            target: b.target,
            file: format!("{}/commands.sh", b.dir),
            format: "shell",
            content: cmds,
        },
    ]
}
