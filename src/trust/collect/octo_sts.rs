//! octo-sts trust policies (`.github/chainguard/NAME.sts.yaml`).

use super::Collected;
use crate::trust::model::*;
use crate::trust::source::SrcFile;
use crate::trust::{Loc, Malformed};
use std::path::Path;

/// The location of a top-level `key:` line (YAML values carry no spans here).
fn yaml_key_loc(src: &SrcFile, key: &str) -> Option<Loc> {
    let mut offset = 0;
    for line in src.text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if line.len() == trimmed.len()
            && trimmed.starts_with(key)
            && trimmed[key.len()..].trim_start().starts_with(':')
        {
            let end = offset + line.trim_end().len();
            return Some(src.loc(&(offset..end)));
        }
        offset += line.len();
    }
    None
}

fn yaml_str(v: &yaml_serde::Value) -> Option<String> {
    match v {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn octo_sts(src: &SrcFile, abs: &Path, out: &mut Collected) {
    let doc: yaml_serde::Value = match yaml_serde::from_str(&src.text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            out.malformed.push(Malformed {
                path: src.path.clone(),
                line,
                column,
                reason: format!("YAML: {e}"),
            });
            return;
        }
    };
    let Some(map) = doc.as_mapping() else {
        out.malformed.push(Malformed {
            path: src.path.clone(),
            line: 1,
            column: 1,
            reason: "an octo-sts trust policy must be a YAML mapping".into(),
        });
        return;
    };
    // Only a document with a trust policy's keys is one: an API response or another tool's
    // file that happens to live under `.github/chainguard/` is not judged as a policy.
    const POLICY_KEYS: &[&str] = &[
        "issuer",
        "issuer_pattern",
        "subject",
        "subject_pattern",
        "claim_pattern",
        "permissions",
    ];
    if !POLICY_KEYS.iter().any(|k| map.contains_key(*k)) {
        return;
    }
    let whole = src.whole();
    let field = |key: &str| -> Option<Text> {
        let v = yaml_str(map.get(key)?)?;
        Some(Text {
            value: v,
            loc: yaml_key_loc(src, key).unwrap_or_else(|| whole.clone()),
            depends: None,
        })
    };
    let repositories = map.get("repositories").map(|v| {
        let loc = yaml_key_loc(src, "repositories").unwrap_or_else(|| whole.clone());
        v.as_sequence()
            .map(|seq| {
                seq.iter()
                    .filter_map(yaml_str)
                    .map(|value| Text {
                        value,
                        loc: loc.clone(),
                        depends: None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    // An org-level policy lives in the organisation's `.github` repository:
    // `<repo .github>/.github/chainguard/NAME.sts.yaml`.
    let repo_dir = std::fs::canonicalize(abs)
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(Path::to_path_buf));
    let in_dot_github_repo = repo_dir
        .as_deref()
        .and_then(Path::file_name)
        .is_some_and(|n| n == ".github");
    let claim_patterns = map
        .get("claim_pattern")
        .and_then(|v| v.as_mapping())
        .map(|m| {
            let loc = yaml_key_loc(src, "claim_pattern").unwrap_or_else(|| whole.clone());
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        yaml_str(k)?,
                        Text {
                            value: yaml_str(v)?,
                            loc: loc.clone(),
                            depends: None,
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.inventory.octo_sts.push(OctoStsPolicy {
        resource: src.path.rsplit('/').next().unwrap_or(&src.path).to_string(),
        loc: whole.clone(),
        issuer: field("issuer"),
        issuer_pattern: field("issuer_pattern"),
        subject: field("subject"),
        subject_pattern: field("subject_pattern"),
        org_level: in_dot_github_repo || repositories.is_some(),
        repositories,
        repositories_loc: yaml_key_loc(src, "repositories"),
        claim_patterns,
    });
}
