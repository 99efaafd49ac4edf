//! What `collect` reads out of a repository: one plain type per kind of trust document, every
//! value with its location, so an audit can point at the exact line.

use super::Loc;

/// A scalar from a trust document with where it is. Terraform references and expressions keep
/// their source text (`aws_iam_openid_connect_provider.github.arn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub loc: Loc,
    /// What the value depends on when it cannot be known statically (`var.org`, a data
    /// source): the audits then say "cannot be decided" instead of judging `value` (the
    /// expression's source text).
    pub depends: Option<String>,
}

/// Every trust document found under the linted path.
#[derive(Debug, Default)]
pub struct Inventory {
    pub aws: Vec<AwsPolicy>,
    pub gcp: Vec<GcpProvider>,
    pub azure: Vec<AzureCredential>,
    pub vault: Vec<VaultRole>,
    pub octo_sts: Vec<OctoStsPolicy>,
    /// `hashicorp/vault-action` steps authenticating with `method: jwt`.
    pub vault_action_uses: Vec<VaultActionUse>,
}

/// An IAM policy document that lets someone assume a role: a JSON file, a Terraform
/// `assume_role_policy`, or a `data "aws_iam_policy_document"`.
#[derive(Debug, Clone)]
pub struct AwsPolicy {
    /// `aws_iam_role.deploy`, `data.aws_iam_policy_document.assume`, or the file name.
    pub resource: String,
    pub loc: Loc,
    pub statements: Vec<AwsStatement>,
}

#[derive(Debug, Clone)]
pub struct AwsStatement {
    /// `Statement[1]` or `statement[1]`, for messages.
    pub name: String,
    pub loc: Loc,
    /// `Effect` is `Allow` (also when absent, as `aws_iam_policy_document` defaults it).
    pub allow: bool,
    pub actions: Vec<Text>,
    /// `Principal.Federated` values (ARNs or Terraform references).
    pub federated: Vec<Text>,
    /// The OIDC issuer (without `https://`) the federated principal resolves to, when known.
    pub issuer: Option<String>,
    /// The `client_id_list` of the OIDC provider the principal resolves to (Terraform).
    pub provider_audiences: Vec<String>,
    pub conditions: Vec<AwsCondition>,
}

#[derive(Debug, Clone)]
pub struct AwsCondition {
    /// `StringLike`, `ForAllValues:StringEquals`, ...
    pub operator: Text,
    /// `token.actions.githubusercontent.com:sub`.
    pub key: Text,
    pub values: Vec<Text>,
}

impl AwsCondition {
    /// The operator without a set prefix (`ForAllValues:`/`ForAnyValue:`) or `IfExists`.
    pub fn base_operator(&self) -> String {
        let op = self.operator.value.as_str();
        let op = op.rsplit(':').next().unwrap_or(op);
        op.strip_suffix("IfExists").unwrap_or(op).to_string()
    }

    /// Whether the operator can only narrow who gets in (`StringEquals`, `StringLike`),
    /// as opposed to `StringNotLike` and friends, which exclude a few and admit the rest.
    pub fn restricts(&self) -> bool {
        let base = self.base_operator().to_ascii_lowercase();
        matches!(
            base.as_str(),
            "stringequals" | "stringlike" | "stringequalsignorecase"
        )
    }

    pub fn is_like(&self) -> bool {
        self.base_operator().eq_ignore_ascii_case("StringLike")
    }
}

/// `google_iam_workload_identity_pool_provider` with an OIDC issuer.
#[derive(Debug, Clone)]
pub struct GcpProvider {
    pub resource: String,
    pub loc: Loc,
    pub issuer: Option<Text>,
    pub attribute_condition: Option<Text>,
    /// `attribute.repository` -> `assertion.repository`.
    pub attribute_mapping: Vec<(String, String)>,
}

/// `azurerm_federated_identity_credential` or `azuread_application_federated_identity_credential`.
#[derive(Debug, Clone)]
pub struct AzureCredential {
    pub resource: String,
    pub loc: Loc,
    pub issuer: Option<Text>,
    pub audiences: Vec<Text>,
    /// Where `audience`/`audiences` is written, when it is.
    pub audiences_loc: Option<Loc>,
    pub subject: Option<Text>,
}

/// A Vault JWT auth role: `vault_jwt_auth_backend_role` or the JSON body of
/// `vault write auth/jwt/role/NAME`.
#[derive(Debug, Clone)]
pub struct VaultRole {
    pub resource: String,
    pub loc: Loc,
    pub role_name: Option<Text>,
    /// `jwt` or `oidc` (Vault's default is `oidc`).
    pub role_type: Option<Text>,
    pub bound_audiences: Vec<Text>,
    pub bound_audiences_loc: Option<Loc>,
    pub bound_subject: Option<Text>,
    pub bound_claims: Vec<(Text, Vec<Text>)>,
    /// `bound_claims_type = "glob"`: `*` in claim values is a wildcard.
    pub claims_glob: bool,
    /// The issuer of the auth backend the role belongs to, when it resolves.
    pub backend_issuer: Option<String>,
}

/// `.github/chainguard/NAME.sts.yaml`.
#[derive(Debug, Clone)]
pub struct OctoStsPolicy {
    pub resource: String,
    pub loc: Loc,
    pub issuer: Option<Text>,
    pub issuer_pattern: Option<Text>,
    pub subject: Option<Text>,
    pub subject_pattern: Option<Text>,
    /// Present only in org-level policies (the org's `.github` repository).
    pub repositories: Option<Vec<Text>>,
    pub repositories_loc: Option<Loc>,
    /// In the org's `.github` repository, or has a `repositories` key: grants across the org.
    pub org_level: bool,
    pub claim_patterns: Vec<(String, Text)>,
}

/// A `hashicorp/vault-action` step with `method: jwt`.
#[derive(Debug, Clone)]
pub struct VaultActionUse {
    pub loc: Loc,
    pub role: Option<String>,
    /// `jwtGithubAudience`, or the action's default when absent.
    pub audience: String,
    pub audience_explicit: bool,
}

/// The audience hashicorp/vault-action requests when `jwtGithubAudience` is not set.
pub const VAULT_ACTION_DEFAULT_AUDIENCE: &str = "sigstore";
