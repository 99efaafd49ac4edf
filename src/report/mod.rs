//! Reports: one module per output format. Every format redacts secrets unless the user asked
//! for them with `--show-secrets`.

mod github;
mod human;
mod json;
mod sarif;

use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::scan::ScanStats;
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text, coloured on a terminal.
    Human,
    /// One JSON document with findings and scan statistics.
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per location.
    Github,
}

pub struct ReportContext<'a> {
    pub rules: &'a RuleSet,
    pub stats: &'a ScanStats,
    pub show_secrets: bool,
    pub color: bool,
}

pub fn write_report(
    format: Format,
    findings: &[Finding],
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(findings, ctx, out),
        Format::Json => json::write(findings, ctx, out),
        Format::Jsonl => json::write_lines(findings, ctx, out),
        Format::Sarif => sarif::write(findings, ctx, out),
        Format::Github => github::write(findings, ctx, out),
    }
}
