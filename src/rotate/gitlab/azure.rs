//! GitLab CI: a service principal's client secret in a CI/CD variable -> federated identity
//! credentials for the GitLab instance's tokens. `az login --service-principal ... -p "$SECRET"`
//! becomes `--federated-token "$AZURE_ID_TOKEN"`; Terraform's `ARM_CLIENT_SECRET` becomes
//! `ARM_USE_OIDC` with the token declared under the name the azurerm provider reads
//! (`ARM_OIDC_TOKEN`).

use crate::rotate::target::Blocker;
use regex::Regex;

use super::super::azure::{federated_trust, Federation, AUDIENCE};
use super::super::edit::{replace_key, value_at};
use super::super::facts::Lookup;
use super::super::rewrite::{s, EditOp, Seg};
use super::super::target::Target;
use super::super::target::{SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan};
use super::{container, id_token_edit, issuer, plan_subjects, script_item};
use crate::pipeline::shell::{flag_value, has_sequence, words};
use crate::pipeline::{CiSystem, PipelineFinding};

pub struct GitlabAzure;

/// The token `az login --federated-token` reads.
const CLI_TOKEN_VAR: &str = "AZURE_ID_TOKEN";
/// The azurerm/azuread providers read the token from this variable when ARM_USE_OIDC is set.
const TF_TOKEN_VAR: &str = "ARM_OIDC_TOKEN";

/// `line` with the secret flag reading `var` swapped for `--federated-token`, or why not.
fn federated_login(line: &str, var: &str) -> Result<String, String> {
    if line.contains('\n') {
        return Err("the command is inside a multi-line script block".into());
    }
    let w = words(line);
    if !has_sequence(&w, &["az", "login"]) || !w.iter().any(|a| a == "--service-principal") {
        return Err("the line is not an `az login --service-principal` command".into());
    }
    if flag_value(&w, &["--tenant", "-t"]).is_none() {
        return Err("`az login` has no `--tenant`, which a federated login needs".into());
    }
    if flag_value(&w, &["--username", "-u"]).is_none() {
        return Err("`az login` has no `--username` (the client id)".into());
    }
    let v = regex::escape(var);
    let re = Regex::new(&format!(
        r#"(^|\s)(?:-p|--password|--client-secret|--secret)(?:\s+|=)(?:"\$\{{?{v}\}}?"|'\$\{{?{v}\}}?'|\$\{{?{v}\}}?)(\s|$)"#
    ))
    .expect("escaped");
    let hits: Vec<_> = re.captures_iter(line).collect();
    if hits.len() != 1 {
        return Err(format!(
            "`{var}` is not passed once as `--password`/`-p` of `az login`"
        ));
    }
    let out = re.replace(line, |c: &regex::Captures| {
        format!("{}--federated-token \"${CLI_TOKEN_VAR}\"{}", &c[1], &c[2])
    });
    Ok(out.into_owned())
}

impl Target for GitlabAzure {
    fn id(&self) -> &'static str {
        "gitlab-azure"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == crate::pipeline::audit::AuditId::AzureClientSecret && f.ci == CiSystem::GitlabCi
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let mut p = UsePlan::default();
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let c = site.job.clone().unwrap_or_default();
            let body = container(u, &c)?;
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
                    let new = federated_login(&line, &f.secret).map_err(|why| {
                        Unmigratable::new(Blocker::NotRewritten, format!(
                            "`{}`: {why}; keysweep rewrites `az login --service-principal -u ID -p \"${}\" --tenant ID` lines",
                            f.secret, f.secret
                        ))
                    })?;
                    if let Some(e) = id_token_edit(
                        &c,
                        body,
                        CLI_TOKEN_VAR,
                        AUDIENCE,
                        "an OIDC token for Entra ID",
                    )? {
                        p.edits.push(e);
                    }
                    let mut item = site.path.clone();
                    item.push(Seg::Index(idx));
                    p.edits.push((
                        format!("`{c}` {}: `az login` with the job's token in place of the client secret", site.key),
                        EditOp::Replace {
                            path: item,
                            value: s(new),
                        },
                    ));
                }
                SiteKind::JobEnv
                    if site.key == "ARM_CLIENT_SECRET"
                        && ["terraform", "tofu", "terragrunt"]
                            .iter()
                            .any(|t| cmd == *t || cmd.starts_with(&format!("{t} "))) =>
                {
                    if let Some(e) = id_token_edit(
                        &c,
                        body,
                        TF_TOKEN_VAR,
                        AUDIENCE,
                        "an OIDC token under the name Terraform's azurerm provider reads",
                    )? {
                        p.edits.push(e);
                    }
                    for op in replace_key(&site.path, vec![("ARM_USE_OIDC".into(), s("true"))]) {
                        let d = match &op {
                            EditOp::Remove { .. } => format!("`{c}`: remove `ARM_CLIENT_SECRET`"),
                            _ => format!("`{c}`: `ARM_USE_OIDC: true`: the azurerm provider and backend log in with ARM_OIDC_TOKEN"),
                        };
                        p.edits.push((d, op));
                    }
                    let vars = value_at(&u.wf.value, &site.path[..site.path.len() - 1])
                        .and_then(|v| v.as_mapping());
                    for need in ["ARM_CLIENT_ID", "ARM_TENANT_ID"] {
                        if !vars.is_some_and(|m| m.contains_key(need)) {
                            p.manual.push(format!(
                                "`{c}` does not set `{need}` next to ARM_CLIENT_SECRET: make sure the job gets it (a project CI/CD variable; it is not a secret)."
                            ));
                        }
                    }
                    if body
                        .get("id_tokens")
                        .and_then(|t| t.as_mapping())
                        .is_some_and(|m| m.keys().any(|k| k.as_str() != Some(TF_TOKEN_VAR)))
                    {
                        p.notes.push(format!(
                            "`{c}` declares other `id_tokens:` already; remove them if nothing reads them"
                        ));
                    }
                }
                _ => {
                    return Err(Unmigratable::new(Blocker::NotRewritten, format!(
                        "`{}` is read as `{}`{}; keysweep rewrites `az login --service-principal` lines and Terraform's ARM_CLIENT_SECRET only",
                        f.secret,
                        site.key,
                        if cmd.is_empty() { String::new() } else { format!(" by `{cmd}`") }
                    )));
                }
            }
        }
        plan_subjects(u, look, &mut p);
        p.manual.push(format!(
            "The federated credentials go on the application whose client id the jobs pass (`{}`); give it the role assignments the old secret was used for.",
            look.get("azure_client_id")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let (url, _) = issuer(look);
        let fed = Federation {
            target: "gitlab-azure",
            dir: "azure-gitlab",
            what: "azure, GitLab CI",
            label: "GitLab CI",
            resource: "gitlab_ci",
            prefix: "gitlab",
            issuer: url,
            pattern_advice:
                "Restrict the job with `rules:` to fixed branches and trust those subjects instead.",
        };
        federated_trust(&fed, t, look)
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC pipeline: delete the CI/CD variable `{secret}`; delete the client secret from the application (`az ad app credential delete --id <app> --key-id <key>`)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_lines() {
        let v = "AZ_SP_SECRET";
        assert_eq!(
            federated_login(
                r#"az login --service-principal -u "$AZ_APP_ID" -p "$AZ_SP_SECRET" --tenant "$AZ_TENANT_ID""#,
                v
            )
            .unwrap(),
            r#"az login --service-principal -u "$AZ_APP_ID" --federated-token "$AZURE_ID_TOKEN" --tenant "$AZ_TENANT_ID""#
        );
        assert_eq!(
            federated_login("az login --service-principal --username $ID --password=${AZ_SP_SECRET} --tenant $T", v).unwrap(),
            "az login --service-principal --username $ID --federated-token \"$AZURE_ID_TOKEN\" --tenant $T"
        );
        // no tenant, another variable, not a login
        assert!(
            federated_login("az login --service-principal -u $ID -p $AZ_SP_SECRET", v).is_err()
        );
        assert!(federated_login(
            "az login --service-principal -u $ID -p $AZ_SP_SECRET_2 -t $T",
            v
        )
        .is_err());
        assert!(federated_login("az account set -s $AZ_SP_SECRET", v).is_err());
    }
}
