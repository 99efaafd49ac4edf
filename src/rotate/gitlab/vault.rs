//! GitLab CI: a static Vault token in a CI/CD variable -> JWT auth with the job's own token
//! (`id_tokens:` with the Vault audience, `vault write auth/jwt/login`), as GitLab documents it.

use crate::rotate::target::Blocker;
use yaml_serde::Value;

use super::super::facts::Lookup;
use super::super::rewrite::{k, s, EditOp, Seg};
use super::super::target::Target;
use super::super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::super::vault::{jwt_trust, JwtBackend};
use super::{
    container, id_token_edit, issuer, plan_subjects, reads_var, script_item, single_command,
};
use crate::pipeline::shell::words;
use crate::pipeline::{CiSystem, PipelineFinding};

pub struct GitlabVault;

const TOKEN_VAR: &str = "VAULT_ID_TOKEN";

/// The line that logs in with the job's token for the rest of the job.
fn login_line(role: &str) -> String {
    format!(
        "export VAULT_TOKEN=\"$(vault write -field=token auth/jwt/login role={role} jwt=\"${TOKEN_VAR}\")\""
    )
}

/// Is `line` exactly `vault login [-no-print] [-no-store] [-method=token] [token=]"$VAR"`?
fn is_token_login(line: &str, var: &str) -> Result<(), String> {
    single_command(line)?;
    let w = words(line);
    if w.len() < 3 || w[0] != "vault" || w[1] != "login" {
        return Err("the line is not a `vault login` command".into());
    }
    let mut token = None;
    for a in &w[2..] {
        match a.as_str() {
            "-no-print" | "-no-store" | "-method=token" | "-method" | "token" => {}
            _ if a.starts_with('-') => return Err(format!("`vault login` flag `{a}`")),
            _ if token.is_none() => token = Some(a.trim_start_matches("token=").to_string()),
            _ => return Err("`vault login` has more than one argument".into()),
        }
    }
    match token {
        Some(t) if reads_var(&t, var) => Ok(()),
        _ => Err(format!("the token is not the variable `{var}` itself")),
    }
}

/// `VAULT_ADDR` as written in the job, its template or the global `variables:`.
fn vault_addr(u: &Use, container: &str) -> Option<String> {
    let lit = |v: Option<&Value>| {
        v.and_then(|m| m.get("VAULT_ADDR"))
            .and_then(Value::as_str)
            .filter(|a| a.starts_with("https://") && !a.contains('$'))
            .map(str::to_string)
    };
    lit(u.wf.value.get(container).and_then(|j| j.get("variables")))
        .or_else(|| lit(u.wf.value.get("variables")))
}

impl Target for GitlabVault {
    fn id(&self) -> &'static str {
        "gitlab-vault"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::VaultStaticToken && f.ci == CiSystem::GitlabCi
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let mut p = UsePlan::default();
        let role = look.get("vault_role");
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let c = site.job.clone().unwrap_or_default();
            let body = container(u, &c)?;
            // the audience the role will bind: the flag, else the Vault address the job uses
            let addr = vault_addr(u, &c);
            let aud = match (look.has("vault_audience"), &addr) {
                (false, Some(a)) => {
                    p.notes.push(format!(
                        "the token's audience is the job's VAULT_ADDR, `{a}` (--vault-audience sets another)"
                    ));
                    a.clone()
                }
                _ => look.get("vault_audience"),
            };
            p.trust_info.push(("audience".into(), aud.clone()));
            if let Some(a) = addr {
                p.trust_info.push(("vault_url".into(), a));
            }
            let cmd = f.consumer.command.as_deref().unwrap_or("");
            match site.kind {
                SiteKind::Run => {
                    let (idx, line) =
                        script_item(u.wf, site, f.location.line).ok_or_else(|| {
                            Unmigratable::new(
                                Blocker::NotRewritten,
                                "the command is not a plain script item",
                            )
                        })?;
                    is_token_login(&line, &f.secret).map_err(|why| {
                        Unmigratable::new(Blocker::NotRewritten, format!(
                            "`{}`: {why}; keysweep rewrites a script line that is exactly `vault login \"${}\"`",
                            f.secret, f.secret
                        ))
                    })?;
                    let mut item = site.path.clone();
                    item.push(Seg::Index(idx));
                    p.edits.push((
                        format!("`{c}` {}: log in with the job's OIDC token (JWT auth, role `{role}`) in place of the static token", site.key),
                        EditOp::Replace {
                            path: item,
                            value: s(login_line(&role)),
                        },
                    ));
                }
                SiteKind::JobEnv if site.key == "VAULT_TOKEN" && cmd.starts_with("vault") => {
                    p.edits.push((
                        format!("`{c}`: remove `VAULT_TOKEN`"),
                        EditOp::Remove {
                            path: site.path.clone(),
                        },
                    ));
                    let sect = ["before_script", "script"]
                        .into_iter()
                        .find(|k2| body.get(*k2).is_some_and(Value::is_sequence))
                        .ok_or_else(|| {
                            Unmigratable::new(
                                Blocker::Missing,
                                format!("`{c}` has no script list of its own"),
                            )
                        })?;
                    p.edits.push((
                        format!("`{c}` {sect}: log in with the job's OIDC token first (JWT auth, role `{role}`)"),
                        EditOp::InsertItem {
                            path: vec![k(&c), k(sect)],
                            index: 0,
                            value: s(login_line(&role)),
                        },
                    ));
                }
                _ => {
                    return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                        "`{}` is read as `{}`{}; keysweep rewrites `vault login \"$TOKEN\"` lines and a `VAULT_TOKEN` the `vault` CLI reads",
                        f.secret,
                        site.key,
                        if cmd.is_empty() { String::new() } else { format!(" by `{cmd}`") }
                    )));
                }
            }
            if let Some(e) = id_token_edit(&c, body, TOKEN_VAR, &aud, "an OIDC token for Vault")? {
                p.edits.push(e);
            }
        }
        plan_subjects(u, look, &mut p);
        p.manual.push(format!(
            "Give Vault role `{role}` the policies the old token had (`vault token lookup` shows them), then apply vault-gitlab/main.tf (or vault-gitlab/commands.sh)."
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let (url, _) = issuer(look);
        let aud = match t.info("audience").first() {
            Some(a) => a.to_string(),
            None => look.get("vault_audience"),
        };
        let backend = JwtBackend {
            target: "gitlab-vault",
            dir: "vault-gitlab",
            what: "vault, GitLab CI",
            resource: "gitlab_ci",
            issuer: url,
        };
        jwt_trust(&backend, &aud, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC pipeline: delete the CI/CD variable `{secret}` and revoke the token (`vault token revoke -accessor <accessor>`)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_logins() {
        let v = "VAULT_CI_TOKEN";
        assert!(is_token_login(r#"vault login -no-print "$VAULT_CI_TOKEN""#, v).is_ok());
        assert!(is_token_login("vault login token=${VAULT_CI_TOKEN}", v).is_ok());
        assert!(is_token_login("vault login -method=userpass username=ci", v).is_err());
        assert!(is_token_login("vault login $VAULT_CI_TOKEN && vault kv get x", v).is_err());
        assert!(is_token_login("vault login $OTHER", v).is_err());
    }
}
