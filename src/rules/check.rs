//! Self-check of rules: every rule proves itself with its own examples.
//! Used by the test suite over the built-in rules and by `keysweep rules check DIR`.

use super::{Rule, RuleSet};
use crate::detect::{self, checksum, Detector};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub source: String,
    pub rule_id: String,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: rule `{}`: {}",
            self.source, self.rule_id, self.message
        )
    }
}

/// Text a real file might hold around a secret: examples must still be found inside it.
const FILLER_BEFORE: &str = r#"// Service configuration loader.
use std::collections::HashMap;

fn load(map: &mut HashMap<String, String>) {
    let region = "eu-west-1";
    map.insert("region".into(), region.into());
    for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
        println!("{i}: {name}");
    }
}

"#;
const FILLER_AFTER: &str = r#"

# trailing notes
timeout: 30
retries: 3
items = [1, 2, 3, 5, 8, 13]
"#;

/// Checks every rule in `set`; an empty result means all is well.
pub fn check_rules(set: &Arc<RuleSet>) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for rule in set.rules() {
        if let Some(first) = seen.insert(rule.id(), &rule.source) {
            problems.push(problem(
                rule,
                format!("duplicate id (first defined in {first})"),
            ));
        }
    }
    let detector = Detector::new(set.clone());
    for (idx, rule) in set.rules().iter().enumerate() {
        for message in check_rule(rule, idx, &detector) {
            problems.push(problem(rule, message));
        }
    }
    problems
}

fn problem(rule: &Rule, message: String) -> RuleProblem {
    RuleProblem {
        source: rule.source.clone(),
        rule_id: rule.id().to_string(),
        message,
    }
}

fn check_rule(rule: &Rule, idx: usize, detector: &Detector) -> Vec<String> {
    let spec = &rule.spec;
    let mut out = Vec::new();
    if !is_kebab(&spec.id) {
        out.push("id must be kebab-case ([a-z0-9] words joined by '-')".into());
    }
    for (field, empty) in [
        ("name", spec.name.trim().is_empty()),
        ("provider", spec.provider.trim().is_empty()),
        ("keywords", spec.keywords.is_empty()),
        ("references", spec.references.is_empty()),
        ("examples", spec.examples.is_empty()),
        ("negative_examples", spec.negative_examples.is_empty()),
    ] {
        if empty {
            out.push(format!("`{field}` must not be empty"));
        }
    }
    if let Some(kw) = spec.keywords.iter().find(|k| k.trim().is_empty()) {
        out.push(format!("keyword {kw:?} is blank"));
    }
    if let Some(name) = &spec.checksum {
        if !checksum::VALIDATORS.contains(&name.as_str()) {
            out.push(format!(
                "unknown checksum `{name}` (known: {})",
                checksum::VALIDATORS.join(", ")
            ));
        }
    }
    if let Some(e) = spec.min_entropy {
        if !(0.0..=8.0).contains(&e) {
            out.push(format!("min_entropy {e} is outside 0..=8 bits per byte"));
        }
    }
    // The rotate registry is the one list of target ids; a build without the rotate
    // feature has no targets to check against.
    #[cfg(feature = "rotate")]
    if let Some(t) = &spec.rotation {
        if crate::rotate::registry::by_id(t).is_none() {
            out.push(format!(
                "unknown rotation target `{t}` (known: {})",
                crate::rotate::registry::ids_joined()
            ));
        }
    }
    if let Err(e) = rule.compiled() {
        out.push(e.to_string());
        return out;
    }
    for kw in &spec.keywords {
        let kw_lower = kw.to_ascii_lowercase();
        if !spec
            .examples
            .iter()
            .any(|ex| ex.text.to_ascii_lowercase().contains(&kw_lower))
        {
            out.push(format!(
                "keyword {kw:?} occurs in none of the rule's examples"
            ));
        }
    }
    for (n, ex) in spec.examples.iter().enumerate() {
        let label = format!("example {}", n + 1);
        let found = match detect::match_rule(rule, ex.text.as_bytes()) {
            Ok(found) => found,
            Err(e) => {
                out.push(e);
                continue;
            }
        };
        let Some(first) = found.first() else {
            out.push(format!("{label} does not match (after filters)"));
            continue;
        };
        let got = &ex.text.as_bytes()[first.secret.clone()];
        if got != ex.secret.as_bytes() {
            out.push(format!(
                "{label} captures {:?} as `secret`, expected {:?}",
                String::from_utf8_lossy(got),
                ex.secret
            ));
            continue;
        }
        let whole = ex.text[first.whole.clone()].to_ascii_lowercase();
        if !spec
            .keywords
            .iter()
            .any(|k| whole.contains(&k.to_ascii_lowercase()))
        {
            out.push(format!("{label}: the match contains none of the keywords, so the prefilter would never run this rule"));
            continue;
        }
        if !found_in_larger_file(detector, idx, ex.text.as_str(), &ex.secret) {
            out.push(format!(
                "{label} is missed by the full scanner when embedded in a larger file"
            ));
        }
    }
    for (n, neg) in spec.negative_examples.iter().enumerate() {
        if let Ok(found) = detect::match_rule(rule, neg.as_bytes()) {
            if let Some(m) = found.first() {
                out.push(format!(
                    "negative example {} matches (secret {:?})",
                    n + 1,
                    String::from_utf8_lossy(&neg.as_bytes()[m.secret.clone()])
                ));
            }
        }
    }
    out
}

fn found_in_larger_file(detector: &Detector, idx: usize, text: &str, secret: &str) -> bool {
    let file = format!("{FILLER_BEFORE}{text}{FILLER_AFTER}");
    let offset = FILLER_BEFORE.len();
    let generic = detector.rules().get(idx).spec.generic;
    detector.detect(file.as_bytes()).iter().any(|d| {
        let same_secret =
            &file.as_bytes()[d.secret.clone()] == secret.as_bytes() && d.secret.start >= offset;
        // A generic rule's example may be reported by another rule instead, by design: the
        // scanner keeps one finding per value (a specific rule, or the best generic one).
        same_secret && (d.rule == idx || generic)
    })
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
