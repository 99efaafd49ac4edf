//! The baseline file: fingerprints of findings a team has reviewed and accepted.

use crate::ci_findings::CiFinding;
use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

pub const DEFAULT_BASELINE_FILE: &str = ".keysweep-baseline.json";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    /// Where it was when accepted, for the reader; matching uses the fingerprint only.
    #[serde(default)]
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    // Not a `#[source]`: the message already carries the cause, once.
    #[error("{path}: cannot read baseline: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}: not a keysweep baseline: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}

/// Accepted fingerprints.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: BTreeSet<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| BaselineError::Io {
            path: shown.clone(),
            error,
        })?;
        let file: BaselineFile = serde_json::from_str(&text).map_err(|e| BaselineError::Parse {
            path: shown,
            line: e.line(),
            message: e.to_string(),
        })?;
        Ok(Baseline {
            fingerprints: file.findings.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// The baseline document accepting every finding given.
    pub fn document(findings: &[Finding], pipeline: &[CiFinding]) -> BaselineFile {
        let ci = pipeline.iter().map(|c| BaselineEntry {
            fingerprint: c.fingerprint.clone(),
            rule_id: format!("pipeline/{}", c.finding.audit),
            paths: vec![c.finding.location.path.clone()],
        });
        BaselineFile {
            version: 1,
            findings: findings
                .iter()
                .map(|f| {
                    let mut paths: Vec<String> =
                        f.locations.iter().map(|l| l.path.clone()).collect();
                    paths.dedup();
                    BaselineEntry {
                        fingerprint: f.fingerprint.clone(),
                        rule_id: f.rule_id.clone(),
                        paths,
                    }
                })
                .chain(ci)
                .collect(),
        }
    }
}
