//! Vault JWT auth roles for GitHub Actions.

use super::{has_wildcard, is_github_issuer, subject_scope, SubjectScope, TrustAudit};
use crate::trust::model::{Inventory, Text, VaultRole, VAULT_ACTION_DEFAULT_AUDIENCE};
use crate::trust::{Loc, Severity, TrustFinding};

/// Claims that pin one repository (or one workflow in it).
const REPO_CLAIMS: &[&str] = &[
    "sub",
    "repository",
    "repository_id",
    "job_workflow_ref",
    "workflow_ref",
];
/// Claims that pin an owner only.
const OWNER_CLAIMS: &[&str] = &["repository_owner", "repository_owner_id"];

/// `role_type = "jwt"` roles whose backend is GitHub's issuer or could not be resolved.
fn github_roles(inv: &Inventory) -> impl Iterator<Item = &VaultRole> {
    inv.vault.iter().filter(|r| {
        r.role_type.as_ref().is_some_and(|t| t.value == "jwt")
            && r.backend_issuer.as_deref().is_none_or(is_github_issuer)
    })
}

fn claim<'a>(r: &'a VaultRole, names: &[&str]) -> Vec<&'a (Text, Vec<Text>)> {
    r.bound_claims
        .iter()
        .filter(|(k, _)| names.contains(&k.value.as_str()))
        .collect()
}

fn aud_loc(r: &VaultRole) -> &Loc {
    r.bound_audiences_loc.as_ref().unwrap_or(&r.loc)
}

fn role_name(r: &VaultRole) -> &str {
    r.role_name.as_ref().map_or("?", |n| n.value.as_str())
}

pub struct VaultNoBoundClaims;

impl TrustAudit for VaultNoBoundClaims {
    fn id(&self) -> &'static str {
        "vault-no-bound-claims"
    }
    fn title(&self) -> &'static str {
        "Vault JWT role does not pin the repository"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Set `bound_claims = { repository_id = \"...\", ref = \"refs/heads/main\" }` (or `bound_subject = \"repo:OWNER/REPO:ref:refs/heads/main\"`) so only that repository's workflow can log in."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        github_roles(inv)
            .filter(|r| r.bound_subject.is_none() && claim(r, REPO_CLAIMS).is_empty())
            .map(|r| {
                let owner_only = !claim(r, OWNER_CLAIMS).is_empty();
                let mut f = self.finding(
                    &r.resource,
                    &r.loc,
                    if owner_only {
                        format!("role `{}` pins only the repository owner: every repository of the owner, present and future, can log in", role_name(r))
                    } else {
                        format!("role `{}` has no `bound_subject` and no `bound_claims` on the repository: any GitHub Actions workflow with the right audience can log in", role_name(r))
                    },
                );
                if owner_only {
                    f.severity = Severity::High;
                }
                f
            })
            .collect()
    }
}

pub struct VaultWildcardClaims;

impl TrustAudit for VaultWildcardClaims {
    fn id(&self) -> &'static str {
        "vault-wildcard-bound-claims"
    }
    fn title(&self) -> &'static str {
        "Vault JWT role pins the repository with a glob wider than one repository"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "Use exact values for `repository`/`repository_id`/`sub`; keep `bound_claims_type = \"glob\"` only for claims such as `ref`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for r in github_roles(inv).filter(|r| r.claims_glob) {
            for (k, values) in claim(r, REPO_CLAIMS) {
                for v in values.iter().filter(|v| has_wildcard(&v.value)) {
                    let wide = match k.value.as_str() {
                        "sub" => matches!(
                            subject_scope(&v.value),
                            SubjectScope::Anyone | SubjectScope::Owner(_) | SubjectScope::Custom
                        ),
                        // `OWNER/REPO` or `OWNER/REPO/.github/workflows/x.yml@ref`
                        _ => v.value.split('/').take(2).any(has_wildcard),
                    };
                    if wide {
                        out.push(self.finding(
                            &r.resource,
                            &v.loc,
                            format!(
                                "role `{}` binds `{}` to the glob `{}`, which matches more than one repository",
                                role_name(r),
                                k.value,
                                v.value
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

pub struct VaultNoBoundAudiences;

impl TrustAudit for VaultNoBoundAudiences {
    fn id(&self) -> &'static str {
        "vault-no-bound-audiences"
    }
    fn title(&self) -> &'static str {
        "Vault JWT role has no bound_audiences"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Set `bound_audiences` to an audience only Vault uses (e.g. the Vault URL) and pass the same value as `jwtGithubAudience` to hashicorp/vault-action."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        github_roles(inv)
            .filter(|r| r.bound_audiences.is_empty())
            .map(|r| {
                self.finding(
                    &r.resource,
                    &r.loc,
                    format!("role `{}` does not check the token audience: before Vault 1.17 a token minted for any other service is accepted; from 1.17 on, logins with an `aud` claim fail", role_name(r)),
                )
            })
            .collect()
    }
}

pub struct VaultAudienceMismatch;

impl TrustAudit for VaultAudienceMismatch {
    fn id(&self) -> &'static str {
        "vault-audience-mismatch"
    }
    fn title(&self) -> &'static str {
        "Vault role's bound_audiences do not include the audience vault-action requests"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Make `jwtGithubAudience` in the workflow and `bound_audiences` on the role the same Vault-specific value (hashicorp/vault-action requests `sigstore` when `jwtGithubAudience` is not set)."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for u in &inv.vault_action_uses {
            let Some(role) = &u.role else { continue };
            if role.contains("${{") || u.audience.contains("${{") {
                continue;
            }
            for r in github_roles(inv).filter(|r| {
                r.role_name.as_ref().is_some_and(|n| n.value == *role)
                    && !r.bound_audiences.is_empty()
            }) {
                if r.bound_audiences.iter().any(|a| a.value == u.audience) {
                    continue;
                }
                let how = if u.audience_explicit {
                    format!("`jwtGithubAudience: {}`", u.audience)
                } else {
                    format!("the action's default audience `{VAULT_ACTION_DEFAULT_AUDIENCE}` (no `jwtGithubAudience`)")
                };
                out.push(self.finding(
                    &r.resource,
                    aud_loc(r),
                    format!(
                        "role `{role}` is bound to audiences {} but the vault-action step at {}:{} requests {how}: the login fails, and widening the audience to make it pass opens the role",
                        r.bound_audiences
                            .iter()
                            .map(|a| format!("`{}`", a.value))
                            .collect::<Vec<_>>()
                            .join(", "),
                        u.loc.path,
                        u.loc.line
                    ),
                ));
            }
        }
        out
    }
}

pub struct VaultSharedAudience;

impl TrustAudit for VaultSharedAudience {
    fn id(&self) -> &'static str {
        "vault-shared-audience"
    }
    fn title(&self) -> &'static str {
        "Vault role accepts an audience that other services also receive"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Bind the role to a Vault-only audience (the Vault URL) and set it as `jwtGithubAudience`; never `sigstore` or GitHub's default `https://github.com/OWNER`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for r in github_roles(inv) {
            for a in &r.bound_audiences {
                let shared = a.value == "sigstore"
                    || a.value
                        .strip_prefix("https://github.com/")
                        .is_some_and(|o| !o.is_empty() && !o.contains('/'));
                if shared {
                    out.push(self.finding(
                        &r.resource,
                        &a.loc,
                        format!(
                            "role `{}` accepts audience `{}`, which tokens sent to other services also carry (Sigstore signing, GitHub's default audience): such a token can be replayed to log in to Vault",
                            role_name(r),
                            a.value
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// Claims that pin the context a workflow runs in (a branch, tag or environment).
const CONTEXT_CLAIMS: &[&str] = &["ref", "environment", "job_workflow_ref", "workflow_ref"];

pub struct VaultAnyBranch;

impl TrustAudit for VaultAnyBranch {
    fn id(&self) -> &'static str {
        "vault-any-branch"
    }
    fn title(&self) -> &'static str {
        "Vault JWT role admits every branch of the repository"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Add `ref = \"refs/heads/main\"` (or `environment = \"production\"` with a protected environment) to `bound_claims`, or bind `sub` to `repo:OWNER/REPO:ref:refs/heads/main`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for r in github_roles(inv) {
            let subjects: Vec<&Text> = r
                .bound_subject
                .iter()
                .chain(claim(r, &["sub"]).into_iter().flat_map(|(_, v)| v))
                .collect();
            let repo_pinned = !subjects.is_empty() || !claim(r, REPO_CLAIMS).is_empty();
            if !repo_pinned {
                continue; // vault-no-bound-claims
            }
            let context_pinned = !claim(r, CONTEXT_CLAIMS).is_empty()
                || subjects.iter().any(|s| {
                    // without `bound_claims_type = "glob"`, `*` is a literal character
                    !r.claims_glob || subject_scope(&s.value) == SubjectScope::Repository
                });
            if context_pinned {
                continue;
            }
            let at = subjects.first().map_or(&r.loc, |s| &s.loc);
            out.push(self.finding(
                &r.resource,
                at,
                format!(
                    "role `{}` pins the repository but not the branch, tag or environment: a workflow on any pushed branch can log in",
                    role_name(r)
                ),
            ));
        }
        out
    }
}

pub struct VaultGlobWithoutType;

impl TrustAudit for VaultGlobWithoutType {
    fn id(&self) -> &'static str {
        "vault-glob-without-type"
    }
    fn title(&self) -> &'static str {
        "Vault JWT role writes a glob in bound_claims without bound_claims_type = \"glob\""
    }
    fn severity(&self) -> Severity {
        Severity::Low
    }
    fn fix(&self) -> &'static str {
        "Set `bound_claims_type = \"glob\"` if the `*` is meant as a wildcard (then check what it admits), or write the exact value."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for r in github_roles(inv).filter(|r| !r.claims_glob) {
            for (k, values) in &r.bound_claims {
                for v in values.iter().filter(|v| has_wildcard(&v.value)) {
                    out.push(self.finding(
                        &r.resource,
                        &v.loc,
                        format!(
                            "role `{}` binds `{}` to `{}`, but `bound_claims_type` is not `glob`: the `*` is compared literally, so the role matches no token",
                            role_name(r),
                            k.value,
                            v.value
                        ),
                    ));
                }
            }
        }
        out
    }
}
