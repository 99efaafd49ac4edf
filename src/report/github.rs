//! GitHub Actions workflow commands (`::error file=...::message`): annotations on the lines.

use super::doc_url;
use super::ReportContext;
use crate::scan::ScanResult;
use std::io::{self, Write};

/// Escaping from the runner's workflow-command rules: data escapes `%`, CR, LF; properties
/// also escape `:` and `,`.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn write(result: &ScanResult, ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    for f in &result.findings {
        for loc in &f.locations {
            let level = match f.confidence {
                crate::rules::Confidence::Low => "warning",
                _ => "error",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&loc.path),
                loc.line,
                loc.column,
                loc.end_line,
                loc.end_column,
                escape_property(&format!("keysweep: {}", f.rule_name)),
                escape_data(&format!(
                    "{} ({}) found: {}. Rotate it and remove it from history; fingerprint {}",
                    f.rule_name,
                    f.rule_id,
                    f.secret.shown(ctx.show_secrets),
                    &f.fingerprint[..16]
                ))
            )?;
        }
    }
    // A new use in a PR or commit fails the check unless the policy is `warn`; the uses a
    // working tree already has are advice.
    let level = match result.ci.policy {
        Some(crate::ci_findings::PipelineUses::Fail) => "error",
        _ => "warning",
    };
    for c in &result.ci.findings {
        let f = &c.finding;
        let l = &f.location;
        writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&l.path),
            l.line,
            l.column,
            l.end_line,
            l.end_column,
            escape_property(&format!("keysweep: {}", f.title)),
            escape_data(&format!(
                "{} [{}] See {}",
                f.message,
                f.audit,
                doc_url(&f.help)
            ))
        )?;
    }
    for d in &result.ci.diagnostics {
        writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            escape_property(&d.path),
            d.line,
            d.column,
            escape_property("keysweep: CI file not analysed"),
            escape_data(&d.message)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(super::escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(super::escape_data("a:b"), "a:b");
    }
}
