//! `json` (one document) and `jsonl` (one finding per line).

use super::ReportContext;
use crate::finding::{Finding, Location};
use crate::scan::ScanStats;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
pub(crate) struct FindingView<'a> {
    pub rule_id: &'a str,
    pub rule_name: &'a str,
    pub provider: &'a str,
    pub family: &'a str,
    pub confidence: &'a str,
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
    stats: &'a ScanStats,
}

pub fn write(findings: &[Finding], ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        tool: "keysweep",
        version: env!("CARGO_PKG_VERSION"),
        findings: findings
            .iter()
            .map(|f| FindingView::new(f, ctx.show_secrets))
            .collect(),
        stats: ctx.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

pub fn write_lines(
    findings: &[Finding],
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &FindingView::new(f, ctx.show_secrets))?;
        writeln!(out)?;
    }
    Ok(())
}
