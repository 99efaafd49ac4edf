//! Azure federated identity credentials for GitHub Actions. Azure matches the subject
//! exactly (no wildcards), so the holes are in the issuer and the audience.

use super::{is_github_issuer, TrustAudit};
use crate::trust::model::{AzureCredential, Inventory};
use crate::trust::{Severity, TrustFinding, GITHUB_ISSUER};

const AUDIENCE: &str = "api://AzureADTokenExchange";

fn github_credentials(inv: &Inventory) -> impl Iterator<Item = &AzureCredential> {
    inv.azure.iter().filter(|c| {
        c.issuer
            .as_ref()
            .is_some_and(|i| is_github_issuer(&i.value))
            || c.subject
                .as_ref()
                .is_some_and(|s| s.value.starts_with("repo:"))
    })
}

pub struct AzureFicIssuer;

impl TrustAudit for AzureFicIssuer {
    fn id(&self) -> &'static str {
        "azure-fic-issuer"
    }
    fn title(&self) -> &'static str {
        "Azure federated credential for a GitHub subject names another issuer"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "Set `issuer` to exactly `https://token.actions.githubusercontent.com` (GHE.com: `https://token.actions.githubusercontent.com/ENTERPRISE`), no trailing slash."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for c in github_credentials(inv) {
            let Some(issuer) = &c.issuer else {
                out.push(self.finding(&c.resource, &c.loc, "no issuer is set".into()));
                continue;
            };
            let v = issuer.value.as_str();
            if v == GITHUB_ISSUER
                || v.strip_prefix(GITHUB_ISSUER)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|e| !e.is_empty() && !e.contains('/'))
                || (v.starts_with("https://") && v.ends_with("/_services/token"))
                || v.contains("${")
                || issuer.depends.is_some()
            {
                continue;
            }
            let mut f = self.finding(
                &c.resource,
                &issuer.loc,
                if is_github_issuer(v) {
                    format!("issuer `{v}` is not byte-for-byte GitHub's (`{GITHUB_ISSUER}`): Entra ID compares it exactly, so the login fails")
                } else {
                    format!("issuer `{v}` is not GitHub's, yet the subject is a GitHub subject: whoever controls that issuer can mint a token with this subject")
                },
            );
            if is_github_issuer(v) {
                f.severity = Severity::Low;
            }
            out.push(f);
        }
        out
    }
}

pub struct AzureFicAudience;

impl TrustAudit for AzureFicAudience {
    fn id(&self) -> &'static str {
        "azure-fic-audience"
    }
    fn title(&self) -> &'static str {
        "Azure federated credential audience is not api://AzureADTokenExchange"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Set the audience to `[\"api://AzureADTokenExchange\"]`, the value azure/login requests, and nothing else."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for c in github_credentials(inv) {
            let others: Vec<&str> = c
                .audiences
                .iter()
                .map(|a| a.value.as_str())
                .filter(|a| !a.starts_with(AUDIENCE)) // also the USGov and China variants
                .collect();
            let loc = c.audiences_loc.as_ref().unwrap_or(&c.loc);
            if c.audiences.is_empty() {
                out.push(self.finding(&c.resource, loc, "no audience is set".into()));
            } else if !others.is_empty() {
                out.push(self.finding(
                    &c.resource,
                    loc,
                    format!(
                        "audience {} is not `{AUDIENCE}`: a GitHub token minted for that audience (possibly for another service) is exchanged here",
                        others
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        out
    }
}
