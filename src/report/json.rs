//! `json` (one document) and `jsonl` (one finding per line).

use super::ReportContext;
use crate::ci_findings::CiResult;
use crate::finding::{Finding, Location};
use crate::scan::{ScanResult, ScanStats};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
pub(crate) struct FindingView<'a> {
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub provider: &'a str,
    pub family: &'a str,
    pub confidence: &'a str,
    pub reason: Vec<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    pub secret: String,
    pub fingerprint: &'a str,
    pub locations: &'a [Location],
}

impl<'a> FindingView<'a> {
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        FindingView {
            rule_id: &f.rule_id,
            rule_name: &f.rule_name,
            provider: &f.provider,
            family: &f.family,
            confidence: f.confidence.as_str(),
            reason: f.reason.iter().map(|r| r.as_str()).collect(),
            encrypted: f.encrypted,
            secret: f.secret.shown(show_secrets),
            fingerprint: &f.fingerprint,
            locations: &f.locations,
        }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    tool: &'static str,
    version: &'static str,
    findings: Vec<FindingView<'a>>,
    pipeline: &'a CiResult,
    stats: &'a ScanStats,
}

pub fn write(result: &ScanResult, ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        tool: "keysweep",
        version: env!("CARGO_PKG_VERSION"),
        findings: result
            .findings
            .iter()
            .map(|f| FindingView::new(f, ctx.show_secrets))
            .collect(),
        pipeline: &result.ci,
        stats: &result.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// A jsonl line says what it is: a found secret or a pipeline credential use.
#[derive(Serialize)]
struct Line<T: Serialize> {
    kind: &'static str,
    #[serde(flatten)]
    item: T,
}

pub fn write_lines(
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in &result.findings {
        let line = Line {
            kind: "secret",
            item: FindingView::new(f, ctx.show_secrets),
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    for c in &result.ci.findings {
        serde_json::to_writer(
            &mut *out,
            &Line {
                kind: "pipeline",
                item: c,
            },
        )?;
        writeln!(out)?;
    }
    Ok(())
}
