//! Reports: one module per output format. Every format redacts secrets unless the user asked
//! for them with `--show-secrets`.

mod github;
#[cfg(any(feature = "sweep", feature = "github"))]
pub(crate) mod html;
mod human;
mod inventory;
mod json;
#[cfg(feature = "rotate")]
mod rotate;
pub(crate) mod sarif;
#[cfg(feature = "sweep")]
pub mod sweep;
#[cfg(feature = "sweep")]
pub mod sweep_html;
#[cfg(feature = "rotate")]
pub mod trust;

use crate::rules::RuleSet;
use crate::scan::ScanResult;
use std::io::{self, Write};

// Shared with the trust-lint reports.
#[cfg(feature = "rotate")]
pub(crate) use github::{escape_data, escape_property};
#[cfg(feature = "rotate")]
pub(crate) use sarif::{camel, log as sarif_log, uri};

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
    pub show_secrets: bool,
    pub color: bool,
}

/// Where reports link for documentation (pipeline audits live in `docs/`).
pub const PROJECT_URL: &str = "https://github.com/keysweep/keysweep";

pub fn doc_url(relative: &str) -> String {
    format!("{PROJECT_URL}/blob/main/{relative}")
}

pub fn write_report(
    format: Format,
    result: &ScanResult,
    ctx: &ReportContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(result, ctx, out),
        Format::Json => json::write(result, ctx, out),
        Format::Jsonl => json::write_lines(result, ctx, out),
        Format::Sarif => sarif::write(result, ctx, out),
        Format::Github => github::write(result, ctx, out),
    }
}
