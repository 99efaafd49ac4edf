//! Audits: one small unit per credential pattern, all behind [`Audit`] (the zizmor pattern).
//!
//! An audit's id is stable and kebab-case; it is the finding's `audit` field, the SARIF rule
//! id, and the anchor of its section in `docs/pipeline-audits.md`.

mod aws_static_keys;
mod azure_client_secret;
mod container_registry_password;
mod crates_io_token;
pub(crate) mod cross_file;
mod gcp_service_account_key;
mod github_pat;
mod half_migrated_oidc;
mod kubernetes_credentials;
mod literal_secret;
mod npm_token;
mod nuget_api_key;
mod pypi_token;
mod rubygems_api_key;
mod secrets_inherit;
pub(crate) mod util;
mod vault_static_token;

use super::model::WorkflowContext;
use super::PipelineFinding;

pub use aws_static_keys::AwsStaticKeys;
pub use azure_client_secret::AzureClientSecret;
pub use container_registry_password::ContainerRegistryPassword;
pub use crates_io_token::CratesIoToken;
pub use gcp_service_account_key::GcpServiceAccountKey;
pub use github_pat::GithubPat;
pub use half_migrated_oidc::HalfMigratedOidc;
pub use kubernetes_credentials::KubernetesCredentials;
pub use literal_secret::LiteralSecret;
pub use npm_token::NpmToken;
pub use nuget_api_key::NugetApiKey;
pub use pypi_token::PypiToken;
pub use rubygems_api_key::RubygemsApiKey;
pub use secrets_inherit::SecretsInherit;
pub use vault_static_token::VaultStaticToken;

macro_rules! audit_ids {
    ($($variant:ident => $id:literal,)*) => {
        /// Which audit reported a pipeline finding. The kebab-case string is the SARIF rule id,
        /// the JSON `audit` field and the documentation anchor.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditId { $($variant,)* }

        impl AuditId {
            pub const ALL: &'static [AuditId] = &[$(AuditId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(AuditId::$variant => $id,)* }
            }
        }
    };
}

audit_ids! {
    AwsStaticKeys => "aws-static-keys",
    AzureClientSecret => "azure-client-secret",
    ContainerRegistryPassword => "container-registry-password",
    CratesIoToken => "crates-io-token",
    GcpServiceAccountKey => "gcp-service-account-key",
    GithubPat => "github-pat",
    HalfMigratedOidc => "half-migrated-oidc",
    KubernetesCredentials => "kubernetes-credentials",
    LiteralSecret => "literal-secret",
    NpmToken => "npm-token",
    NugetApiKey => "nuget-api-key",
    PypiToken => "pypi-token",
    RubygemsApiKey => "rubygems-api-key",
    SecretsInherit => "secrets-inherit",
    VaultStaticToken => "vault-static-token",
}

impl std::fmt::Display for AuditId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AuditId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// Ordered by the id string, so reports sort as they did when ids were strings.
impl Ord for AuditId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for AuditId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// One audit.
pub trait Audit: Send + Sync {
    /// Stable kebab-case id (`aws-static-keys`).
    fn id(&self) -> AuditId;
    /// Short title, also the SARIF rule's short description.
    fn title(&self) -> &'static str;
    /// Documentation link: `docs/pipeline-audits.md#<id>`.
    fn doc_anchor(&self) -> String {
        super::help_for(self.id().as_str())
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding>;
}

/// The audits that report one long-lived credential per finding.
pub fn credential_audits() -> Vec<Box<dyn Audit>> {
    vec![
        Box::new(AwsStaticKeys),
        Box::new(GcpServiceAccountKey),
        Box::new(AzureClientSecret),
        Box::new(PypiToken),
        Box::new(NpmToken),
        Box::new(CratesIoToken),
        Box::new(RubygemsApiKey),
        Box::new(NugetApiKey),
        Box::new(VaultStaticToken),
        Box::new(GithubPat),
        Box::new(ContainerRegistryPassword),
        Box::new(KubernetesCredentials),
    ]
}

/// Every audit, in report order.
pub fn all() -> Vec<Box<dyn Audit>> {
    let mut v = credential_audits();
    v.push(Box::new(LiteralSecret));
    v.push(Box::new(SecretsInherit));
    v.push(Box::new(HalfMigratedOidc));
    v
}

/// `(id, title)` of every audit, for SARIF rule tables and docs checks.
pub fn catalog() -> Vec<(&'static str, &'static str)> {
    all().iter().map(|a| (a.id().as_str(), a.title())).collect()
}

/// Sort and drop duplicates (the same secret at the same place for the same audit and job).
pub(crate) fn finish(findings: &mut Vec<PipelineFinding>) {
    findings.sort_by(|a, b| {
        (&a.location, a.audit, &a.job, &a.secret).cmp(&(&b.location, b.audit, &b.job, &b.secret))
    });
    findings.dedup_by(|a, b| {
        a.audit == b.audit && a.location == b.location && a.job == b.job && a.secret == b.secret
    });
}
