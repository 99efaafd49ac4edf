//! Trust configuration: the cloud side of OIDC federation (AWS role trust policies, GCP
//! workload identity providers, Azure federated identity credentials, Vault JWT roles,
//! octo-sts trust policies), and `lint`, which checks what a repository already has for the
//! classic holes.
//!
//! Data flows one way: `collect` walks the tree and reads every trust document it recognises
//! into the [`model`] (spans kept); each audit in [`audits`] reads the model and returns
//! [`TrustFinding`]s; `report::trust` writes them in the report formats.

pub mod audits;
mod collect;
pub mod lint;
pub mod model;
mod source;

pub use lint::{lint, LintReport};

use serde::Serialize;
use std::path::PathBuf;

/// Where the audits are documented; each audit is a section anchored by its id.
pub const DOC_PATH: &str = "docs/trust-lint.md";

/// The GitHub Actions OIDC issuer (github.com; GHE.com tenants append `/ENTERPRISE`).
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The issuer host, which AWS uses as the prefix of the condition keys.
pub const GITHUB_ISSUER_HOST: &str = "token.actions.githubusercontent.com";

/// How bad a hole is. Ordered from the least to the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A place in a file: 1-based lines, 1-based columns in characters; the end is exclusive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Loc {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// One hole in one trust document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustFinding {
    /// The audit's stable id, e.g. `aws-trust-no-sub`.
    pub audit: &'static str,
    pub severity: Severity,
    /// What holds the configuration: `aws_iam_role.deploy`, `Statement[0]`, a file name.
    pub resource: String,
    pub location: Loc,
    pub message: String,
    /// How to close the hole.
    pub fix: String,
}

/// A file that looked like trust configuration but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
}
