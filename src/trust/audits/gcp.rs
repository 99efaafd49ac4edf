//! GCP workload identity pool providers for GitHub Actions.

use super::{is_github_issuer, TrustAudit};
use crate::trust::model::{GcpProvider, Inventory};
use crate::trust::{Severity, TrustFinding};

/// Claims that tie a token to repositories (names) or to their numeric ids.
const NAME_CLAIMS: &[&str] = &["repository", "repository_owner", "sub"];
const ID_CLAIMS: &[&str] = &["repository_id", "repository_owner_id"];

fn github_providers(inv: &Inventory) -> impl Iterator<Item = &GcpProvider> {
    inv.gcp.iter().filter(|p| {
        p.issuer
            .as_ref()
            .is_some_and(|i| is_github_issuer(&i.value))
            // an unknown condition is trust-cannot-decide's
            && p.attribute_condition.as_ref().is_none_or(|c| c.depends.is_none())
    })
}

fn condition(p: &GcpProvider) -> Option<&str> {
    p.attribute_condition
        .as_ref()
        .map(|c| c.value.trim())
        .filter(|c| !c.is_empty() && *c != "true")
}

/// The claims a condition reads: `assertion.X`, and `attribute.Y`/`google.subject` through
/// the attribute mapping.
fn claims_read(p: &GcpProvider, cond: &str) -> Vec<String> {
    let mut claims = Vec::new();
    let re = regex::Regex::new(r"\b(assertion|attribute|google)\.([A-Za-z0-9_]+)").expect("valid");
    for c in re.captures_iter(cond) {
        let (ns, name) = (&c[1], &c[2]);
        if ns == "assertion" {
            claims.push(name.to_string());
            continue;
        }
        let target = format!("{ns}.{name}");
        for (attr, expr) in &p.attribute_mapping {
            if *attr == target {
                for m in re.captures_iter(expr) {
                    if &m[1] == "assertion" {
                        claims.push(m[2].to_string());
                    }
                }
            }
        }
    }
    claims
}

fn pins(claims: &[String], set: &[&str]) -> bool {
    claims.iter().any(|c| set.contains(&c.as_str()))
}

pub struct GcpProviderNoCondition;

impl TrustAudit for GcpProviderNoCondition {
    fn id(&self) -> &'static str {
        "gcp-provider-no-condition"
    }
    fn title(&self) -> &'static str {
        "GCP workload identity provider for GitHub has no attribute condition"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Set `attribute_condition` to pin the repository owner and repository by numeric id, e.g. `assertion.repository_owner_id == \"123456\" && assertion.repository_id == \"789012\"`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        github_providers(inv)
            .filter(|p| condition(p).is_none())
            .map(|p| {
                let loc = p.attribute_condition.as_ref().map_or(&p.loc, |c| &c.loc);
                self.finding(
                    &p.resource,
                    loc,
                    "the provider trusts GitHub's issuer with no attribute condition: any workflow in any GitHub repository can exchange its token in this pool (only IAM bindings on the pool's principals stand in the way)".into(),
                )
            })
            .collect()
    }
}

pub struct GcpProviderWeakCondition;

impl TrustAudit for GcpProviderWeakCondition {
    fn id(&self) -> &'static str {
        "gcp-provider-weak-condition"
    }
    fn title(&self) -> &'static str {
        "GCP workload identity provider condition does not restrict the repository"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "Compare `assertion.repository_owner_id`/`assertion.repository_id` (or `assertion.repository`) for equality; a `startsWith` on a name must end with `/`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        // `startsWith("acme")` also matches `acme-evil/...`.
        let prefix = regex::Regex::new(
            r#"(?:assertion|attribute)\.(?:repository|sub)\.startsWith\(\s*['"]([^'"]*)['"]"#,
        )
        .expect("valid");
        for p in github_providers(inv) {
            let Some(cond) = condition(p) else { continue };
            let at = p.attribute_condition.as_ref().expect("a condition");
            let claims = claims_read(p, cond);
            let why = if !pins(&claims, NAME_CLAIMS) && !pins(&claims, ID_CLAIMS) {
                Some(format!(
                    "`{cond}` reads no repository claim (repository, repository_id, repository_owner, repository_owner_id, sub)"
                ))
            } else if !cond.contains("==")
                && !cond.contains("startsWith")
                && !cond.contains(" in ")
                && !cond.contains("matches")
            {
                Some(format!(
                    "`{cond}` only excludes: every repository it does not name is admitted"
                ))
            } else {
                prefix
                    .captures_iter(cond)
                    .find(|c| !c[1].ends_with('/') && !c[1].ends_with(':'))
                    .map(|c| {
                        format!(
                            "`startsWith(\"{}\")` also matches every owner whose name begins the same way",
                            &c[1]
                        )
                    })
            };
            if let Some(why) = why {
                out.push(self.finding(&p.resource, &at.loc, why));
            }
        }
        out
    }
}

pub struct GcpProviderNameCondition;

impl TrustAudit for GcpProviderNameCondition {
    fn id(&self) -> &'static str {
        "gcp-provider-name-condition"
    }
    fn title(&self) -> &'static str {
        "GCP workload identity provider condition pins names, not ids"
    }
    fn severity(&self) -> Severity {
        Severity::Low
    }
    fn fix(&self) -> &'static str {
        "Compare `assertion.repository_owner_id` and `assertion.repository_id` (numbers that never move to another owner) instead of, or as well as, the names."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for p in github_providers(inv) {
            let Some(cond) = condition(p) else { continue };
            let claims = claims_read(p, cond);
            if pins(&claims, NAME_CLAIMS) && !pins(&claims, ID_CLAIMS) {
                let at = p.attribute_condition.as_ref().expect("a condition");
                out.push(self.finding(
                    &p.resource,
                    &at.loc,
                    "the condition trusts repository or owner names: after a rename or deletion, whoever registers the old name inherits the access".into(),
                ));
            }
        }
        out
    }
}
