//! SARIF 2.1.0 for GitHub code scanning: rules with help links, results with regions and
//! `partialFingerprints`, and never a clear secret unless asked.

use super::{doc_url, ReportContext, PROJECT_URL};
use crate::ci_findings::CiFinding;
use crate::finding::Finding;
use crate::pipeline::{self, audit};
use crate::rules::{Confidence, RuleSet};
use crate::scan::ScanResult;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = PROJECT_URL;

pub fn write(result: &ScanResult, ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(result, ctx))?;
    writeln!(out)
}

/// Pipeline audits appear as rules `pipeline/<audit id>`, apart from the secret rules.
fn pipeline_rule_id(audit: &str) -> String {
    format!("pipeline/{audit}")
}

fn document(scan: &ScanResult, ctx: &ReportContext) -> Value {
    // Only the rules that produced results, in a stable order; results point at them by index.
    let mut rule_ids: Vec<String> = Vec::new();
    let mut index_of = |id: String| match rule_ids.iter().position(|r| *r == id) {
        Some(i) => i,
        None => {
            rule_ids.push(id);
            rule_ids.len() - 1
        }
    };
    let mut results: Vec<Value> = Vec::new();
    for f in &scan.findings {
        let i = index_of(f.rule_id.clone());
        results.extend(results_for(f, i, ctx.show_secrets));
    }
    for c in &scan.ci.findings {
        let i = index_of(pipeline_rule_id(c.finding.audit.as_str()));
        results.push(pipeline_result(c, i));
    }
    let catalog: BTreeMap<String, &str> = audit::catalog()
        .into_iter()
        .map(|(id, title)| (pipeline_rule_id(id), title))
        .collect();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| match id.strip_prefix("pipeline/") {
            Some(audit) => pipeline_rule(id, audit, catalog.get(id).copied().unwrap_or(audit)),
            None => rule_descriptor(ctx.rules, id),
        })
        .collect();
    let notifications: Vec<Value> = scan
        .ci
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "level": "error",
                "message": {"text": format!("CI file not analysed: {}", d.message)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri(&d.path)},
                    "region": {"startLine": d.line.max(1), "startColumn": d.column.max(1)},
                }}],
            })
        })
        .collect();
    log(rules, notifications, results)
}

/// One SARIF 2.1.0 log with keysweep as the tool: the shape every keysweep SARIF report shares.
pub(crate) fn log(rules: Vec<Value>, notifications: Vec<Value>, results: Vec<Value>) -> Value {
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
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn pipeline_rule(id: &str, audit: &str, title: &str) -> Value {
    let help = doc_url(&format!("{}#{audit}", pipeline::DOC_PATH));
    json!({
        "id": id,
        "name": camel(audit),
        "shortDescription": {"text": title},
        "fullDescription": {"text": format!("{title}: a long-lived credential consumed by CI/CD. See {help}")},
        "helpUri": help,
        "help": {"text": format!("{title}. How to fix it and what `keysweep rotate` does: {help}")},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["security", "ci", "oidc"], "precision": "high", "security-severity": "6.0"},
    })
}

fn pipeline_result(c: &CiFinding, rule_index: usize) -> Value {
    let f = &c.finding;
    let l = &f.location;
    json!({
        "ruleId": pipeline_rule_id(f.audit.as_str()),
        "ruleIndex": rule_index,
        "level": "warning",
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri(&l.path)},
            "region": {"startLine": l.line, "startColumn": l.column, "endLine": l.end_line, "endColumn": l.end_column},
        }}],
        "partialFingerprints": {"keysweepPipeline/v1": c.fingerprint},
        "properties": {
            "provider": f.provider.as_str(),
            "secret": f.secret,
            "job": f.job,
            "consumer": f.consumer.description,
            "oidcReplacement": f.oidc_replacement,
            "replacement": f.replacement,
            "blockedBy": f.blocked_by,
        },
    })
}

fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High | Confidence::Medium => "error",
        Confidence::Low => "warning",
    }
}

pub(crate) fn rule_descriptor(rules: &RuleSet, id: &str) -> Value {
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

/// One result per location: code scanning shows a result at its first location only, so a
/// secret in three files is three alerts sharing one secret fingerprint.
fn results_for(f: &Finding, rule_index: usize, show: bool) -> Vec<Value> {
    f.locations
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
            let mut props = json!({"confidence": f.confidence.as_str(), "provider": f.provider});
            if let Some(p) = &l.provenance {
                props["provenance"] = serde_json::to_value(p).unwrap_or(Value::Null);
            }
            if let Some(c) = &l.context {
                props["usedBy"] = json!(c);
            }
            let others = f.locations.len() - 1;
            let also = if others > 0 {
                format!(" (also in {others} other place{})", if others == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": rule_index,
                "level": level(f.confidence),
                "message": {"text": format!("{} found: {}{also}", f.rule_name, f.secret.shown(show))},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri(&l.path)},
                    "region": region,
                }}],
                "partialFingerprints": {"keysweepSecret/v1": f.fingerprint},
                "properties": props,
            })
        })
        .collect()
}

/// A relative path as a URI reference: `/` separators, reserved characters escaped.
pub(crate) fn uri(path: &str) -> String {
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

pub(crate) fn camel(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
