//! Detection rules: data files (YAML), never code.
//!
//! Built-in rules are embedded at build time from `rules/*.yml`; users add their own from
//! directories (`--rules DIR`, config `rule_dirs`) in the same format.

mod check;
mod compiled;

pub use check::{check_rules, RuleProblem};
pub use compiled::CompiledRule;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// How sure a rule is that a match is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A positive example: `text` must match and the first match must capture exactly `secret`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub text: String,
    pub secret: String,
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub confidence: Confidence,
    pub keywords: Vec<String>,
    pub pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_entropy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default)]
    pub generic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    pub examples: Vec<Example>,
    pub negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<RuleSpec>,
}

/// A loaded rule: its spec, where it came from, and its regex, compiled on first use so that
/// start-up stays fast (a pre-commit hook runs on every commit).
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    /// The rule file's stem, e.g. `aws` for `rules/aws.yml`.
    pub family: String,
    /// The file the rule came from (`<builtin>/aws.yml` for embedded rules).
    pub source: String,
    compiled: OnceLock<Result<CompiledRule, String>>,
}

impl Rule {
    pub fn new(spec: RuleSpec, family: String, source: String) -> Self {
        Rule {
            spec,
            family,
            source,
            compiled: OnceLock::new(),
        }
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The compiled pattern, or why it does not compile.
    pub fn compiled(&self) -> Result<&CompiledRule, &str> {
        self.compiled
            .get_or_init(|| CompiledRule::new(&self.spec.pattern))
            .as_ref()
            .map_err(String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuleLoadError {
    #[error("{path}: cannot read rule file: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: no rule files (*.yml, *.yaml) in this directory")]
    EmptyDir { path: String },
    #[error("{path}: rule id `{id}` is already defined in {first}")]
    DuplicateId {
        path: String,
        id: String,
        first: String,
    },
}

/// Parses one rule file's text. `path` is used in messages and as the family name's source.
pub fn parse_rule_file(path: &str, text: &str) -> Result<Vec<Rule>, RuleLoadError> {
    let file: RuleFile = yaml_serde::from_str(text).map_err(|e| RuleLoadError::Parse {
        path: path.to_string(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: one_line(&e.to_string()),
    })?;
    let family = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(file
        .rules
        .into_iter()
        .map(|spec| Rule::new(spec, family.clone(), path.to_string()))
        .collect())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The set of rules one scan uses.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet, RuleLoadError> {
        let mut set = RuleSet::default();
        for (name, text) in EMBEDDED_RULE_FILES {
            set.extend(parse_rule_file(&format!("<builtin>/{name}"), text)?)?;
        }
        Ok(set)
    }

    /// Rules from every `*.yml`/`*.yaml` file directly in `dir` (or `dir` itself if a file).
    pub fn load_path(path: &Path) -> Result<Vec<Rule>, RuleLoadError> {
        let files = rule_files(path)?;
        let mut rules = Vec::new();
        for f in files {
            let shown = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|error| RuleLoadError::Io {
                path: shown.clone(),
                error,
            })?;
            rules.extend(parse_rule_file(&shown, &text)?);
        }
        Ok(rules)
    }

    /// Adds rules, refusing an id that is already present.
    pub fn extend(&mut self, rules: Vec<Rule>) -> Result<(), RuleLoadError> {
        for rule in rules {
            if let Some(first) = self.rules.iter().find(|r| r.id() == rule.id()) {
                return Err(RuleLoadError::DuplicateId {
                    path: rule.source.clone(),
                    id: rule.id().to_string(),
                    first: first.source.clone(),
                });
            }
            self.rules.push(rule);
        }
        Ok(())
    }

    /// Drops the rules whose id is listed.
    pub fn disable(&mut self, ids: &[String]) {
        self.rules.retain(|r| !ids.iter().any(|id| id == r.id()));
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, idx: usize) -> &Rule {
        &self.rules[idx]
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|r| r.id() == id)
    }
}

fn rule_files(path: &Path) -> Result<Vec<PathBuf>, RuleLoadError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|error| RuleLoadError::Io {
        path: shown.clone(),
        error,
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|error| RuleLoadError::Io {
            path: shown.clone(),
            error,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    if files.is_empty() {
        return Err(RuleLoadError::EmptyDir { path: shown });
    }
    files.sort();
    Ok(files)
}
