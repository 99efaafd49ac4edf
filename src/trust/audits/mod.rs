//! Trust audits: one small unit per hole, all behind [`TrustAudit`] (the zizmor pattern).
//!
//! An audit's id is stable and kebab-case; it is the finding's `audit` field, the SARIF rule
//! id (`trust/<id>`), and the anchor of its section in `docs/trust-lint.md`.

mod aws;
mod azure;
mod gcp;
mod octo_sts;
mod vault;

use super::model::Inventory;
use super::{Loc, Severity, TrustFinding, GITHUB_ISSUER_HOST};

pub use aws::{
    AwsTrustAudMissing, AwsTrustConditionKey, AwsTrustForAllValuesAllow, AwsTrustNoSub,
    AwsTrustSubAnyRef, AwsTrustSubTemplateOrder, AwsTrustWildcardSub,
};
pub use azure::{AzureFicAudience, AzureFicIssuer};
pub use gcp::{GcpProviderNameCondition, GcpProviderNoCondition, GcpProviderWeakCondition};
pub use octo_sts::{
    OctoStsGitlabAnyBranch, OctoStsNoIssuer, OctoStsNoRepoRestriction, OctoStsWildcardSubject,
};
pub use vault::{
    VaultAnyBranch, VaultAudienceMismatch, VaultGlobWithoutType, VaultNoBoundAudiences,
    VaultNoBoundClaims, VaultSharedAudience, VaultWildcardClaims,
};

/// One audit.
pub trait TrustAudit: Send + Sync {
    /// Stable kebab-case id (`aws-trust-no-sub`).
    fn id(&self) -> &'static str;
    /// Short title, also the SARIF rule's short description.
    fn title(&self) -> &'static str;
    /// The severity of a typical finding (a finding may be graver or milder).
    fn severity(&self) -> Severity;
    /// How to close the hole, in one or two sentences.
    fn fix(&self) -> &'static str;
    fn audit(&self, inventory: &Inventory) -> Vec<TrustFinding>;

    /// A finding of this audit with its default severity and fix.
    fn finding(&self, resource: &str, loc: &Loc, message: String) -> TrustFinding {
        TrustFinding {
            audit: self.id(),
            severity: self.severity(),
            resource: resource.to_string(),
            location: loc.clone(),
            message,
            fix: self.fix().to_string(),
        }
    }
}

/// Every audit, in report order.
pub fn all() -> Vec<Box<dyn TrustAudit>> {
    vec![
        Box::new(AwsTrustNoSub),
        Box::new(AwsTrustWildcardSub),
        Box::new(AwsTrustSubAnyRef),
        Box::new(AwsTrustForAllValuesAllow),
        Box::new(AwsTrustAudMissing),
        Box::new(AwsTrustConditionKey),
        Box::new(AwsTrustSubTemplateOrder),
        Box::new(GcpProviderNoCondition),
        Box::new(GcpProviderWeakCondition),
        Box::new(GcpProviderNameCondition),
        Box::new(AzureFicIssuer),
        Box::new(AzureFicAudience),
        Box::new(VaultNoBoundClaims),
        Box::new(VaultWildcardClaims),
        Box::new(VaultNoBoundAudiences),
        Box::new(VaultAudienceMismatch),
        Box::new(VaultSharedAudience),
        Box::new(VaultAnyBranch),
        Box::new(VaultGlobWithoutType),
        Box::new(OctoStsNoIssuer),
        Box::new(OctoStsWildcardSubject),
        Box::new(OctoStsNoRepoRestriction),
        Box::new(OctoStsGitlabAnyBranch),
    ]
}

/// `(id, title, severity)` of every audit, for SARIF rule tables and docs checks.
pub fn catalog() -> Vec<(&'static str, &'static str, Severity)> {
    all()
        .iter()
        .map(|a| (a.id(), a.title(), a.severity()))
        .collect()
}

/// Whether an issuer (with or without `https://`) is GitHub Actions': github.com, a GHE.com
/// enterprise (`token.actions.githubusercontent.com/ENTERPRISE`) or a GHES server
/// (`HOST/_services/token`).
pub(crate) fn is_github_issuer(issuer: &str) -> bool {
    let i = issuer.trim_start_matches("https://").to_ascii_lowercase();
    i.starts_with(GITHUB_ISSUER_HOST) || i.contains("/_services/token")
}

/// Whether an issuer (with or without `https://`) is a GitLab instance's: `gitlab.com`, or a
/// host with a `gitlab` label (`gitlab.example.com`).
pub(crate) fn is_gitlab_issuer(issuer: &str) -> bool {
    let i = issuer.trim_start_matches("https://").to_ascii_lowercase();
    let host = i.split('/').next().unwrap_or("");
    host.split('.').any(|l| l == "gitlab")
}

/// Whether a value uses IAM/glob wildcards.
pub(crate) fn has_wildcard(v: &str) -> bool {
    v.contains('*') || v.contains('?')
}

/// What a GitHub subject pattern admits, read as `repo:OWNER/REPO:CONTEXT`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SubjectScope {
    /// Exact, or wildcards only after the repository.
    Repository,
    /// Any context (branch, tag, environment, pull request) of one repository.
    AnyContext,
    /// A wildcard in the repository name: several or all repositories of one owner.
    Owner(String),
    /// A wildcard in the owner, or the whole subject: any repository on GitHub.
    Anyone,
    /// Not the `repo:` form (a customised subject) and has a wildcard.
    Custom,
}

/// Reads a subject with glob wildcards (`*`, `?`): GitHub's `repo:OWNER/REPO:CONTEXT`, or
/// GitLab's `project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF` (a project for a repository, its
/// group for the owner).
pub(crate) fn subject_scope(v: &str) -> SubjectScope {
    if !has_wildcard(v) {
        return SubjectScope::Repository;
    }
    if let Some(rest) = v.strip_prefix("project_path:") {
        let (path, context) = rest.split_once(':').unwrap_or((rest, ""));
        if has_wildcard(path) {
            let group = path[..path.find(['*', '?']).unwrap_or(0)]
                .rsplit_once('/')
                .map_or("", |(g, _)| g);
            return if group.is_empty() {
                SubjectScope::Anyone
            } else {
                SubjectScope::Owner(group.to_string())
            };
        }
        let literal = context.split(['*', '?']).next().unwrap_or("");
        return if matches!(
            literal,
            "" | "ref_type:" | "ref_type:branch:ref:" | "ref_type:tag:ref:"
        ) {
            SubjectScope::AnyContext
        } else {
            SubjectScope::Repository
        };
    }
    let Some(rest) = v.strip_prefix("repo:") else {
        return if v.starts_with('*') || v.starts_with('?') {
            SubjectScope::Anyone
        } else {
            SubjectScope::Custom
        };
    };
    let Some((owner, after)) = rest.split_once('/') else {
        return SubjectScope::Anyone; // `repo:*`, `repo:acme*`
    };
    if has_wildcard(owner) {
        return SubjectScope::Anyone;
    }
    let (repo, context) = after.split_once(':').unwrap_or((after, ""));
    if has_wildcard(repo) {
        return SubjectScope::Owner(owner.to_string());
    }
    let literal = context.split(['*', '?']).next().unwrap_or("");
    if has_wildcard(context)
        && matches!(
            literal,
            "" | "ref:" | "ref:refs/" | "ref:refs/heads/" | "ref:refs/tags/" | "environment:"
        )
    {
        SubjectScope::AnyContext
    } else {
        SubjectScope::Repository
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_scopes() {
        use SubjectScope::*;
        assert_eq!(
            subject_scope("repo:acme/app:ref:refs/heads/main"),
            Repository
        );
        assert_eq!(
            subject_scope("repo:acme/app:ref:refs/heads/release-*"),
            Repository
        );
        assert_eq!(subject_scope("repo:acme/app:*"), AnyContext);
        assert_eq!(subject_scope("repo:acme/app:environment:*"), AnyContext);
        assert_eq!(subject_scope("repo:acme/*"), Owner("acme".into()));
        assert_eq!(subject_scope("repo:acme/app*"), Owner("acme".into()));
        assert_eq!(subject_scope("repo:*/app:*"), Anyone);
        assert_eq!(subject_scope("repo:*"), Anyone);
        assert_eq!(subject_scope("*"), Anyone);
        assert_eq!(subject_scope("repository_owner:acme:*"), Custom);
        // GitLab
        assert_eq!(
            subject_scope("project_path:grp/app:ref_type:branch:ref:main"),
            Repository
        );
        assert_eq!(
            subject_scope("project_path:grp/app:ref_type:branch:ref:release-*"),
            Repository
        );
        assert_eq!(subject_scope("project_path:grp/app:*"), AnyContext);
        assert_eq!(
            subject_scope("project_path:grp/app:ref_type:branch:ref:*"),
            AnyContext
        );
        assert_eq!(subject_scope("project_path:grp/*"), Owner("grp".into()));
        assert_eq!(
            subject_scope("project_path:grp/sub/app-*:ref_type:branch:ref:main"),
            Owner("grp/sub".into())
        );
        assert_eq!(subject_scope("project_path:*"), Anyone);
        assert!(is_gitlab_issuer("https://gitlab.com"));
        assert!(is_gitlab_issuer("gitlab.example.com"));
        assert!(!is_gitlab_issuer("token.actions.githubusercontent.com"));
        assert!(is_github_issuer(
            "https://token.actions.githubusercontent.com/acme"
        ));
        assert!(is_github_issuer("ghes.example.com/_services/token"));
        assert!(!is_github_issuer("https://gitlab.com"));
    }
}
