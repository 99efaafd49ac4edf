//! The rotation plan as `keysweep rotate --format json` writes it: the one input of
//! `trust apply`. The plan is what a person reviewed; applying reads it back instead of
//! planning again, so what is applied is exactly what was shown (the trust policy keysweep
//! generated, byte for byte).

use std::path::Path;

use serde::Deserialize;

/// The parts of a plan `trust apply` and `retire` read.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanFile {
    pub repositories: Vec<PlannedRepo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlannedRepo {
    /// Repository root relative to the analysed root.
    pub repository: String,
    /// `OWNER/REPO` (or its placeholder).
    pub slug: String,
    #[serde(default)]
    pub migrations: Vec<PlannedMigration>,
    #[serde(default)]
    pub trust: Vec<PlannedArtifact>,
    #[serde(default)]
    pub placeholders: Vec<PlannedPlaceholder>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlannedMigration {
    pub target: String,
    pub workflow: String,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub subjects: Vec<String>,
    /// The workflow edits (their values carry the role ARN for AWS).
    #[serde(default)]
    pub edits: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlannedArtifact {
    pub target: String,
    /// Relative to the trust directory: `aws/trust-policy.json`.
    pub file: String,
    pub format: String,
    pub content: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlannedPlaceholder {
    pub placeholder: String,
    pub flag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a rotation plan (`keysweep rotate --format json`): {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

impl PlanFile {
    /// Reads a plan file; `-` is standard input.
    pub fn load(path: &Path) -> Result<PlanFile, PlanFileError> {
        let shown = path.display().to_string();
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(path)
        }
        .map_err(|source| PlanFileError::Io {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|source| PlanFileError::Parse {
            path: shown,
            source,
        })
    }

    pub fn parse(text: &str) -> Result<PlanFile, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl PlannedRepo {
    /// Does the plan migrate anything to `target`?
    pub fn has_target(&self, target: &str) -> bool {
        self.migrations.iter().any(|m| m.target == target)
            || self.trust.iter().any(|t| t.target == target)
    }

    /// Every string in the edits of `target`'s migrations (values and nested values).
    pub fn edit_strings(&self, target: &str) -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for m in self.migrations.iter().filter(|m| m.target == target) {
            for e in &m.edits {
                if let Some(v) = e.get("value") {
                    walk(v, &mut out);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn artifact(&self, target: &str, file_suffix: &str) -> Option<&PlannedArtifact> {
        self.trust
            .iter()
            .find(|t| t.target == target && t.file.ends_with(file_suffix))
    }

    /// `<AWS_ACCOUNT_ID> (--aws-account-id)`, ... when `text` still holds placeholders.
    pub fn placeholders_in(&self, text: &str) -> Vec<String> {
        self.placeholders
            .iter()
            .filter(|p| text.contains(&p.placeholder))
            .map(|p| format!("{} ({})", p.placeholder, p.flag))
            .collect()
    }
}
