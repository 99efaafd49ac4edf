//! The hidden marker keysweep puts in its migration PR's body: an HTML comment holding JSON,
//! invisible on GitHub, read back by the next `rotate --open-pr` (is the plan the same?) and
//! by `retire` (what did the merged migration replace?).
//!
//! Shape (one line, anywhere in the body):
//!
//! ```text
//! <!-- keysweep:migration {"version":1,"plan_hash":"<sha256 hex>","workflows":[".github/workflows/deploy.yml"],
//!      "secrets":[{"name":"AWS_SECRET_ACCESS_KEY","scope":"repository"},
//!                 {"name":"NPM_TOKEN","scope":"environment","environment":"release"},
//!                 {"name":"PYPI_TOKEN","scope":"organization"}],
//!      "targets":["aws","npm"]} -->
//! ```
//!
//! - `version`: 1. A reader refuses a marker with a higher version.
//! - `plan_hash`: sha256 of the plan the PR carries (the workflow edits and trust files).
//! - `workflows`: paths of the workflows the migration edits, relative to the repository root.
//! - `secrets`: each Actions secret the migration stops using, with where it is defined:
//!   `scope` is `repository`, `environment` (then `environment` names it), `organization`,
//!   or `unknown` (not visible to the token when the PR was made).
//! - `targets`: the rotate target ids (`aws`, `gcp`, `pypi`, ...).
//!
//! Any `--` inside the JSON is written as `\u002d\u002d`, so no value can end the comment.

use serde::{Deserialize, Serialize};

const OPEN: &str = "<!-- keysweep:migration ";
const CLOSE: &str = " -->";
/// The marker version this build writes and reads.
pub const VERSION: u32 = 1;

/// Where an Actions secret is defined.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "kebab-case")]
pub enum SecretScope {
    Repository,
    Environment { environment: String },
    Organization,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MarkerSecret {
    pub name: String,
    #[serde(flatten)]
    pub scope: SecretScope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub version: u32,
    pub plan_hash: String,
    #[serde(default)]
    pub workflows: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<MarkerSecret>,
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarkerError {
    #[error("the keysweep marker in the PR body is not valid JSON: {0}")]
    Json(String),
    #[error("the keysweep marker has version {0}; this keysweep reads version {VERSION}: upgrade keysweep")]
    Version(u32),
}

impl Marker {
    /// The marker as the HTML comment line.
    pub fn render(&self) -> String {
        let json = serde_json::to_string(self).expect("a marker always serialises");
        format!("{OPEN}{}{CLOSE}", json.replace("--", "\\u002d\\u002d"))
    }

    /// The marker in `body`, if there is one.
    pub fn parse(body: &str) -> Result<Option<Marker>, MarkerError> {
        let Some(start) = body.find(OPEN) else {
            return Ok(None);
        };
        let rest = &body[start + OPEN.len()..];
        let Some(end) = rest.find("-->") else {
            return Err(MarkerError::Json("the comment is not closed".into()));
        };
        let m: Marker = serde_json::from_str(rest[..end].trim())
            .map_err(|e| MarkerError::Json(e.to_string()))?;
        if m.version > VERSION {
            return Err(MarkerError::Version(m.version));
        }
        Ok(Some(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Marker {
        Marker {
            version: 1,
            plan_hash: "ab".repeat(32),
            workflows: vec![".github/workflows/deploy.yml".into()],
            secrets: vec![
                MarkerSecret {
                    name: "AWS_SECRET_ACCESS_KEY".into(),
                    scope: SecretScope::Repository,
                },
                MarkerSecret {
                    name: "NPM_TOKEN".into(),
                    scope: SecretScope::Environment {
                        environment: "re--lease -->".into(),
                    },
                },
                MarkerSecret {
                    name: "PYPI".into(),
                    scope: SecretScope::Organization,
                },
            ],
            targets: vec!["aws".into(), "npm".into()],
        }
    }

    #[test]
    fn round_trip_inside_a_body() {
        let m = sample();
        let line = m.render();
        assert!(!line[4..line.len() - 3].contains("--"), "{line}");
        let body = format!("# Title\n\ntext\n\n{line}\n");
        assert_eq!(Marker::parse(&body).unwrap(), Some(m));
        assert_eq!(Marker::parse("no marker here").unwrap(), None);
    }

    #[test]
    fn shape_is_stable() {
        let line = sample().render();
        assert!(
            line.starts_with(r#"<!-- keysweep:migration {"version":1,"plan_hash":""#),
            "{line}"
        );
        assert!(
            line.contains(r#"{"name":"AWS_SECRET_ACCESS_KEY","scope":"repository"}"#),
            "{line}"
        );
        assert!(
            line.contains(
                r#""scope":"environment","environment":"re\u002d\u002dlease \u002d\u002d>""#
            ),
            "{line}"
        );
    }

    #[test]
    fn bad_markers_are_errors() {
        assert!(matches!(
            Marker::parse("<!-- keysweep:migration {oops} -->"),
            Err(MarkerError::Json(_))
        ));
        assert_eq!(
            Marker::parse(r#"<!-- keysweep:migration {"version":9,"plan_hash":"x"} -->"#),
            Err(MarkerError::Version(9))
        );
    }
}
