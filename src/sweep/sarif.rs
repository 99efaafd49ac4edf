//! `--sarif DIR`: one SARIF 2.1.0 log per repository, from the state, in the scan's SARIF
//! shape (the same tool, rule descriptors and `keysweepSecret/v1` fingerprints as
//! `keysweep scan --format sarif`). The state holds no line numbers, so each result points
//! at its file; its lifecycle status, commit and first/last sweep are its properties. Secrets
//! appear only in their redacted form.

use super::state::FindingRow;
use crate::report::sarif::{log, rule_descriptor, uri};
use crate::rules::RuleSet;
use serde_json::{json, Value};

/// The SARIF log of one repository's findings.
pub fn document(rules: &RuleSet, findings: &[&FindingRow]) -> Value {
    let mut rule_ids: Vec<&str> = Vec::new();
    let mut results = Vec::new();
    for f in findings {
        let index = match rule_ids.iter().position(|r| *r == f.rule_id) {
            Some(i) => i,
            None => {
                rule_ids.push(&f.rule_id);
                rule_ids.len() - 1
            }
        };
        // still in a ref tip: an error (or a warning for a low-confidence rule); only in
        // history: a warning (it still needs rotating); rotated or retired: a note
        let level = match f.status.as_str() {
            "new" | "open" if f.confidence != "low" => "error",
            "new" | "open" | "fixed" => "warning",
            _ => "note",
        };
        let name = rules
            .index_of(&f.rule_id)
            .map(|i| rules.get(i).spec.name.clone())
            .unwrap_or_else(|| f.rule_id.clone());
        results.push(json!({
            "ruleId": f.rule_id,
            "ruleIndex": index,
            "level": level,
            "message": {"text": format!("{name} found: {} ({})", f.redacted, f.status)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(&f.path)}}}],
            "partialFingerprints": {"keysweepSecret/v1": f.fingerprint},
            "properties": {
                "confidence": f.confidence,
                "status": f.status,
                "commit": f.commit,
                "firstSeenSweep": f.first_seen,
                "lastSeenSweep": f.last_seen,
            },
        }));
    }
    let descriptors: Vec<Value> = rule_ids
        .iter()
        .map(|id| rule_descriptor(rules, id))
        .collect();
    log(descriptors, Vec::new(), results)
}

/// The file name of a repository's log: its name with every character but letters, digits,
/// `-` and `.` replaced by `_`, then `.sarif` (`acme/api` -> `acme_api.sarif`).
pub fn file_name(repo: &str) -> String {
    let safe: String = repo
        .trim_start_matches(['/', '.'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.sarif")
}
