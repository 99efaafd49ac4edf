//! The third outcome: a value the trust depends on that cannot be known statically (a module
//! input without default, a data source). It is neither judged as written nor taken as a
//! wildcard: the finding names what it depends on and what to check.

use super::aws::ci_statements;
use super::TrustAudit;
use crate::trust::model::{Inventory, Text};
use crate::trust::{Severity, TrustFinding};

pub struct TrustCannotDecide;

impl TrustCannotDecide {
    fn push(&self, out: &mut Vec<TrustFinding>, resource: &str, t: &Text, check: &str) {
        let Some(depends) = &t.depends else { return };
        out.push(self.finding(
            resource,
            &t.loc,
            if t.value.trim() == depends {
                format!("cannot be decided: depends on `{depends}`; check that {check}")
            } else {
                format!(
                    "cannot be decided: `{}` depends on `{depends}`; check that {check}",
                    t.value
                )
            },
        ));
    }
}

impl TrustAudit for TrustCannotDecide {
    fn id(&self) -> &'static str {
        "trust-cannot-decide"
    }
    fn title(&self) -> &'static str {
        "Trust condition depends on a value keysweep cannot know statically"
    }
    fn severity(&self) -> Severity {
        Severity::Low
    }
    fn fix(&self) -> &'static str {
        "Give the variable a default or a `terraform.tfvars(.json)` value in the linted tree (then keysweep judges it), or check by hand that every value passed pins one repository and one branch or environment."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            for c in &g.st.conditions {
                let claim = c.key.value.rsplit(':').next().unwrap_or("").to_string();
                let check = match claim.as_str() {
                    "sub" => "every value it takes names one repository (`repo:OWNER/REPO:ref:refs/heads/BRANCH`), with no wildcard in the owner or the repository",
                    "aud" => "it is the audience the workflow requests (`sts.amazonaws.com`)",
                    _ => "it does not widen who may assume the role",
                };
                self.push(
                    &mut out,
                    &g.resource(),
                    &c.key,
                    "it is the issuer's claim key (`token.actions.githubusercontent.com:sub`)",
                );
                for v in &c.values {
                    self.push(&mut out, &g.resource(), v, check);
                }
            }
        }
        for r in &inv.vault {
            if let Some(s) = &r.bound_subject {
                self.push(
                    &mut out,
                    &r.resource,
                    s,
                    "it names one repository and one branch",
                );
            }
            for (_, values) in &r.bound_claims {
                for v in values {
                    self.push(
                        &mut out,
                        &r.resource,
                        v,
                        "it pins one repository and one branch or environment",
                    );
                }
            }
        }
        for p in &inv.gcp {
            if let Some(c) = &p.attribute_condition {
                self.push(&mut out, &p.resource, c, "the condition compares `assertion.repository_id` (or the repository) for equality");
            }
        }
        for a in &inv.azure {
            if let Some(s) = &a.subject {
                self.push(
                    &mut out,
                    &a.resource,
                    s,
                    "it is `repo:OWNER/REPO:environment:ENV` or an exact branch",
                );
            }
        }
        out
    }
}
