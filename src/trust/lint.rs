//! `keysweep trust lint`: collect the trust documents under a path, run every audit.

use super::audits::{self, TrustAudit};
use super::collect::collect;
use super::{LintError, Malformed, TrustFinding};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// What a lint found.
#[derive(Debug, Default, Serialize)]
pub struct LintReport {
    /// Sorted by path, line, column, then audit.
    pub findings: Vec<TrustFinding>,
    /// Trust files that could not be parsed: reported, never fatal.
    pub malformed: Vec<Malformed>,
    /// Terraform expressions the evaluator does not support (file and line): the documents
    /// holding them were judged without those values, which the report says.
    pub unsupported: Vec<Malformed>,
    pub stats: LintStats,
}

#[derive(Debug, Default, Serialize)]
pub struct LintStats {
    /// Terraform, JSON and octo-sts files read.
    pub files: usize,
    /// Trust documents found in them (policies, providers, credentials, roles).
    pub documents: usize,
    /// Findings accepted by an inline `keysweep:allow` comment.
    pub suppressed: usize,
}

/// The inline marker. `keysweep:allow` accepts every trust finding that starts on its line or
/// on the line below it; `keysweep:allow[aws-trust-sub-any-ref, ...]` only those audits.
const ALLOW: &str = "keysweep:allow";

fn allowed_inline(texts: &HashMap<String, String>, f: &TrustFinding) -> bool {
    let Some(text) = texts.get(&f.location.path) else {
        return false;
    };
    let line = f.location.line;
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(2))
        .take(if line >= 2 { 2 } else { 1 })
        .any(|(_, l)| marker_allows(l, f.audit))
}

fn marker_allows(line: &str, audit: &str) -> bool {
    line.match_indices(ALLOW).any(|(i, m)| {
        let rest = &line[i + m.len()..];
        match rest.strip_prefix('[') {
            Some(list) => list
                .split(']')
                .next()
                .unwrap_or("")
                .split(',')
                .any(|id| id.trim() == audit),
            None => true,
        }
    })
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
    let before = findings.len();
    findings.retain(|f| !allowed_inline(&collected.texts, f));
    let suppressed = before - findings.len();
    findings.sort_by(|a, b| {
        (&a.location, a.audit, &a.message).cmp(&(&b.location, b.audit, &b.message))
    });
    findings.dedup();
    Ok(LintReport {
        findings,
        malformed: collected.malformed,
        unsupported: collected.unsupported,
        stats: LintStats {
            files: collected.files,
            suppressed,
            documents: inv.aws.len()
                + inv.gcp.len()
                + inv.azure.len()
                + inv.vault.len()
                + inv.octo_sts.len(),
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn allow_markers() {
        use super::marker_allows;
        assert!(marker_allows("  # keysweep:allow", "aws-trust-no-sub"));
        assert!(marker_allows(
            "x # keysweep:allow[a, aws-trust-no-sub]",
            "aws-trust-no-sub"
        ));
        assert!(!marker_allows(
            "x # keysweep:allow[aws-trust-sub-any-ref]",
            "aws-trust-no-sub"
        ));
        assert!(!marker_allows("x = 1", "aws-trust-no-sub"));
    }
}
