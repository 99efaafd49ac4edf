//! Report formats for trust findings: human, json, sarif (2.1.0) and GitHub workflow-command
//! annotations. Help links point at `docs/trust-lint.md#<audit id>`.

use crate::report::{camel, doc_url, escape_data, escape_property, sarif_log, uri};
use crate::trust::audits;
use crate::trust::lint::LintReport;
use crate::trust::{Severity, TrustFinding, DOC_PATH};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrustFormat {
    /// Readable text, coloured on a terminal.
    Human,
    /// One JSON document with findings, malformed files and statistics.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
}

pub fn write(
    format: TrustFormat,
    report: &LintReport,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        TrustFormat::Human => human(report, color, out),
        TrustFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &json_document(report))?;
            writeln!(out)
        }
        TrustFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif_document(report))?;
            writeln!(out)
        }
        TrustFormat::Github => github(report, out),
    }
}

/// Where an audit is documented.
pub fn help_url(audit: &str) -> String {
    doc_url(&format!("{DOC_PATH}#{audit}"))
}

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
    }
}

fn human(report: &LintReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        let l = &f.location;
        writeln!(
            out,
            "{} {} {}",
            paint(color, severity_color(f.severity), f.severity.as_str()),
            paint(color, "1", f.audit),
            paint(color, "36", &format!("{}:{}:{}", l.path, l.line, l.column)),
        )?;
        writeln!(out, "  {}", f.resource)?;
        writeln!(out, "  {}", f.message)?;
        writeln!(out, "  {} {}", paint(color, "32", "fix:"), f.fix)?;
        writeln!(out, "  {} {}", paint(color, "2", "see:"), help_url(f.audit))?;
        writeln!(out)?;
    }
    for m in &report.malformed {
        writeln!(
            out,
            "{} {}:{}:{}: {}",
            paint(color, "1;35", "malformed"),
            m.path,
            m.line,
            m.column,
            m.reason
        )?;
    }
    for m in &report.unsupported {
        writeln!(
            out,
            "{} {}:{}:{}: {}",
            paint(color, "1;33", "not evaluated"),
            m.path,
            m.line,
            m.column,
            m.reason
        )?;
    }
    if !report.malformed.is_empty() || !report.unsupported.is_empty() {
        writeln!(out)?;
    }
    let mut counts = Vec::new();
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        if n > 0 {
            counts.push(format!("{n} {}", s.as_str()));
        }
    }
    let n = report.findings.len();
    let suppressed = match report.stats.suppressed {
        0 => String::new(),
        k => format!("; {k} accepted by keysweep:allow"),
    };
    writeln!(
        out,
        "{} finding{}{} in {} trust document{} ({} file{} read); {} malformed file{}{suppressed}",
        n,
        if n == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        report.stats.documents,
        if report.stats.documents == 1 { "" } else { "s" },
        report.stats.files,
        if report.stats.files == 1 { "" } else { "s" },
        report.malformed.len(),
        if report.malformed.len() == 1 { "" } else { "s" },
    )
}

#[derive(Serialize)]
struct FindingView<'a> {
    #[serde(flatten)]
    finding: &'a TrustFinding,
    help: String,
    fingerprint: String,
}

fn json_document(report: &LintReport) -> Value {
    let findings: Vec<FindingView> = report
        .findings
        .iter()
        .map(|f| FindingView {
            finding: f,
            help: help_url(f.audit),
            fingerprint: fingerprint(f),
        })
        .collect();
    let mut doc = json!({
        "tool": "keysweep",
        "version": env!("CARGO_PKG_VERSION"),
        "findings": findings,
        "malformed": report.malformed,
        "stats": report.stats,
    });
    if !report.unsupported.is_empty() {
        doc["unsupported"] = json!(report.unsupported);
    }
    doc
}

/// Stable across line moves: the audit, the file, the resource and the message.
fn fingerprint(f: &TrustFinding) -> String {
    let mut h = Sha256::new();
    for part in [f.audit, &f.location.path, &f.resource, &f.message] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn rule_id(audit: &str) -> String {
    format!("trust/{audit}")
}

fn sarif_document(report: &LintReport) -> Value {
    let all = audits::all();
    let rules: Vec<Value> = all
        .iter()
        .map(|a| {
            let help = help_url(a.id());
            json!({
                "id": rule_id(a.id()),
                "name": camel(a.id()),
                "shortDescription": {"text": a.title()},
                "fullDescription": {"text": format!("{}. Fix: {}", a.title(), a.fix())},
                "helpUri": help,
                "help": {
                    "text": format!("{}\n\nFix: {}\n\nSee {help}", a.title(), a.fix()),
                    "markdown": format!("**{}**\n\nFix: {}\n\n[Documentation]({help})", a.title(), a.fix()),
                },
                "defaultConfiguration": {"level": sarif_level(a.severity())},
                "properties": {
                    "tags": ["security", "oidc", "trust-policy"],
                    "precision": "high",
                    "problem.severity": sarif_level(a.severity()),
                    "security-severity": security_severity(a.severity()),
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let l = &f.location;
            json!({
                "ruleId": rule_id(f.audit),
                "ruleIndex": all.iter().position(|a| a.id() == f.audit).unwrap_or(0),
                "level": sarif_level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri(&l.path)},
                    "region": {"startLine": l.line, "startColumn": l.column, "endLine": l.end_line, "endColumn": l.end_column},
                }, "logicalLocations": [{"name": f.resource}]}],
                "partialFingerprints": {"keysweepTrust/v1": fingerprint(f)},
                "properties": {"severity": f.severity.as_str(), "security-severity": security_severity(f.severity)},
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .malformed
        .iter()
        .map(|m| ("error", "trust file not analysed", m))
        .chain(
            report
                .unsupported
                .iter()
                .map(|m| ("warning", "expression not evaluated", m)),
        )
        .map(|(level, what, m)| {
            json!({
                "level": level,
                "message": {"text": format!("{what}: {}", m.reason)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri(&m.path)},
                    "region": {"startLine": m.line.max(1), "startColumn": m.column.max(1)},
                }}],
            })
        })
        .collect();
    sarif_log(rules, notifications, results)
}

fn github(report: &LintReport, out: &mut dyn Write) -> io::Result<()> {
    let titles = audits::catalog();
    for f in &report.findings {
        let l = &f.location;
        let level = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        let title = titles
            .iter()
            .find(|(id, _, _)| *id == f.audit)
            .map_or(f.audit, |(_, t, _)| t);
        writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&l.path),
            l.line,
            l.column,
            l.end_line,
            l.end_column,
            escape_property(&format!("keysweep: {title}")),
            escape_data(&format!(
                "{} ({}) Fix: {} [{}] See {}",
                f.message,
                f.resource,
                f.fix,
                f.audit,
                help_url(f.audit)
            ))
        )?;
    }
    for m in &report.malformed {
        writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            escape_property(&m.path),
            m.line,
            m.column,
            escape_property("keysweep: trust file not analysed"),
            escape_data(&m.reason)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_and_uris() {
        assert_eq!(super::escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            super::uri("dir with space/é.tf"),
            "dir%20with%20space/%C3%A9.tf"
        );
        assert_eq!(super::camel("aws-trust-no-sub"), "AwsTrustNoSub");
    }
}
