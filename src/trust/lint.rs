//! `keysweep trust lint`: collect the trust documents under a path, run every audit.

use super::audits::{self, TrustAudit};
use super::collect::collect;
use super::{LintError, Malformed, TrustFinding};
use serde::Serialize;
use std::path::Path;

/// What a lint found.
#[derive(Debug, Default, Serialize)]
pub struct LintReport {
    /// Sorted by path, line, column, then audit.
    pub findings: Vec<TrustFinding>,
    /// Trust files that could not be parsed: reported, never fatal.
    pub malformed: Vec<Malformed>,
    pub stats: LintStats,
}

#[derive(Debug, Default, Serialize)]
pub struct LintStats {
    /// Terraform, JSON and octo-sts files read.
    pub files: usize,
    /// Trust documents found in them (policies, providers, credentials, roles).
    pub documents: usize,
}

/// Lints `root` (a directory or one file) with every audit.
pub fn lint(root: &Path) -> Result<LintReport, LintError> {
    lint_with(root, &audits::all())
}

pub fn lint_with(root: &Path, audits: &[Box<dyn TrustAudit>]) -> Result<LintReport, LintError> {
    if !root.exists() {
        return Err(LintError::NotFound(root.to_path_buf()));
    }
    let collected = collect(root);
    let inv = &collected.inventory;
    let mut findings: Vec<TrustFinding> = audits.iter().flat_map(|a| a.audit(inv)).collect();
    findings.sort_by(|a, b| {
        (&a.location, a.audit, &a.message).cmp(&(&b.location, b.audit, &b.message))
    });
    findings.dedup();
    Ok(LintReport {
        findings,
        malformed: collected.malformed,
        stats: LintStats {
            files: collected.files,
            documents: inv.aws.len()
                + inv.gcp.len()
                + inv.azure.len()
                + inv.vault.len()
                + inv.octo_sts.len(),
        },
    })
}
