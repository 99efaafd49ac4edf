//! SARIF 2.1.0 for GitHub code scanning: rules with help links, results with regions and
//! `partialFingerprints`, and never a clear secret unless asked.

use super::ReportContext;
use crate::finding::Finding;
use crate::rules::{Confidence, RuleSet};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://github.com/keysweep/keysweep";

pub fn write(findings: &[Finding], ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(findings, ctx))?;
    writeln!(out)
}

fn document(findings: &[Finding], ctx: &ReportContext) -> Value {
    // Only the rules that produced results, in a stable order; results point at them by index.
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        let next = rule_index.len();
        rule_index.entry(&f.rule_id).or_insert(next);
    }
    let mut ordered: Vec<(&str, usize)> = rule_index.iter().map(|(k, v)| (*k, *v)).collect();
    ordered.sort_by_key(|(_, i)| *i);
    let rules: Vec<Value> = ordered
        .iter()
        .map(|(id, _)| rule_descriptor(ctx.rules, id))
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| result(f, rule_index[f.rule_id.as_str()], ctx.show_secrets))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "keysweep",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFO_URI,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High | Confidence::Medium => "error",
        Confidence::Low => "warning",
    }
}

fn rule_descriptor(rules: &RuleSet, id: &str) -> Value {
    let Some(rule) = rules.index_of(id).map(|i| rules.get(i)) else {
        return json!({"id": id});
    };
    let spec = &rule.spec;
    let description = spec.description.clone().unwrap_or_else(|| {
        format!(
            "A {} was found. Revoke and rotate it, then remove it from the code and its history.",
            spec.name
        )
    });
    let help_uri = spec
        .references
        .first()
        .cloned()
        .unwrap_or_else(|| INFO_URI.to_string());
    let security_severity = match spec.confidence {
        Confidence::High => "9.0",
        Confidence::Medium => "7.5",
        Confidence::Low => "5.0",
    };
    json!({
        "id": id,
        "name": camel(id),
        "shortDescription": {"text": spec.name},
        "fullDescription": {"text": description},
        "helpUri": help_uri,
        "help": {
            "text": format!("{description}\nReferences: {}", spec.references.join(", ")),
            "markdown": format!("{description}\n\nReferences:\n{}", spec.references.iter().map(|r| format!("- <{r}>")).collect::<Vec<_>>().join("\n")),
        },
        "defaultConfiguration": {"level": level(spec.confidence)},
        "properties": {
            "tags": ["security", "secret", spec.provider],
            "precision": match spec.confidence { Confidence::High => "very-high", Confidence::Medium => "high", Confidence::Low => "medium" },
            "problem.severity": level(spec.confidence),
            "security-severity": security_severity,
        }
    })
}

fn result(f: &Finding, rule_index: usize, show: bool) -> Value {
    let locations: Vec<Value> = f
        .locations
        .iter()
        .map(|l| {
            let mut region = json!({
                "startLine": l.line,
                "startColumn": l.column,
                "endLine": l.end_line,
                "endColumn": l.end_column,
            });
            if !l.snippet.is_empty() {
                region["snippet"] = json!({"text": l.snippet});
            }
            json!({"physicalLocation": {
                "artifactLocation": {"uri": uri(&l.path)},
                "region": region,
            }})
        })
        .collect();
    let mut props = json!({"confidence": f.confidence.as_str(), "provider": f.provider});
    if let Some(p) = f.locations.iter().find_map(|l| l.provenance.as_ref()) {
        props["provenance"] = serde_json::to_value(p).unwrap_or(Value::Null);
    }
    json!({
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level(f.confidence),
        "message": {"text": format!("{} found: {}", f.rule_name, f.secret.shown(show))},
        "locations": locations,
        "partialFingerprints": {"keysweepSecret/v1": f.fingerprint},
        "properties": props,
    })
}

/// A relative path as a URI reference: `/` separators, reserved characters escaped.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.replace('\\', "/").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn camel(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
