//! Readable text: each finding with its locations and the redacted line, then a summary.

use super::ReportContext;
use crate::ci_findings::CiResult;
use crate::scan::ScanResult;
use crate::source::SkipReason;
use std::io::{self, Write};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn write(result: &ScanResult, ctx: &ReportContext, out: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: ctx.color };
    let findings = &result.findings;
    for f in findings {
        writeln!(
            out,
            "{} {} {}",
            st.paint("1;31", &f.rule_name),
            st.paint("2", &format!("[{}]", f.rule_id)),
            st.paint("33", &format!("confidence: {}", f.confidence.as_str()))
        )?;
        writeln!(out, "  secret       {}", f.secret.shown(ctx.show_secrets))?;
        let reasons: Vec<&str> = f.reason.iter().map(|r| r.as_str()).collect();
        if !reasons.is_empty() {
            let enc = if f.encrypted { ", encrypted" } else { "" };
            writeln!(out, "  reason       {}{enc}", reasons.join(", "))?;
        }
        writeln!(out, "  fingerprint  {}", &f.fingerprint[..16])?;
        for loc in &f.locations {
            writeln!(
                out,
                "  {}",
                st.paint("36", &format!("{}:{}:{}", loc.path, loc.line, loc.column))
            )?;
            if let Some(p) = loc.provenance.as_ref().filter(|p| p.unreachable) {
                writeln!(
                    out,
                    "      in an unreachable object (no branch or tag holds it: dropped commit, rewritten history)"
                )?;
                let _ = p;
            } else if let Some(p) = &loc.provenance {
                let state = if p.present_at_head {
                    "still present at HEAD"
                } else {
                    "removed"
                };
                writeln!(
                    out,
                    "      introduced in {} by {} <{}> on {}, {}",
                    &p.commit[..p.commit.len().min(12)],
                    p.author_name,
                    p.author_email,
                    p.date,
                    state
                )?;
            }
            if let Some(c) = &loc.context {
                writeln!(out, "      used by {c}")?;
            }
            if let Some(d) = &loc.decoded {
                writeln!(out, "      decoded: {d}")?;
            }
            if !loc.snippet.is_empty() {
                writeln!(
                    out,
                    "      {} {}",
                    st.paint("2", &format!("{:>5} |", loc.line)),
                    loc.snippet
                )?;
            }
        }
        writeln!(out)?;
    }
    write_pipeline(&result.ci, &st, out)?;
    let s = &result.stats;
    let locations: usize = findings.iter().map(|f| f.locations.len()).sum();
    let ci_count = result.ci.findings.len();
    let head = if findings.is_empty() && ci_count == 0 {
        st.paint("32", "no secrets found")
    } else {
        st.paint(
            "1;31",
            &format!(
                "{} finding{} ({} location{}){}",
                findings.len(),
                plural(findings.len()),
                locations,
                plural(locations),
                // Git modes and stdin analyse no pipelines: no count to give there.
                if ci_count > 0 || s.pipeline_files_analyzed > 0 {
                    format!(", {ci_count} pipeline credential use{}", plural(ci_count))
                } else {
                    String::new()
                }
            ),
        )
    };
    writeln!(
        out,
        "keysweep: {head}; scanned {} file{}, {} in {:.2} s",
        s.files_scanned,
        plural(s.files_scanned as usize),
        human_bytes(s.bytes_scanned),
        s.elapsed_ms as f64 / 1000.0
    )?;
    if s.pipeline_files_analyzed > 0 {
        writeln!(
            out,
            "  pipelines: {} CI file{} analysed",
            s.pipeline_files_analyzed,
            plural(s.pipeline_files_analyzed as usize)
        )?;
    }
    let sup = &s.suppressed;
    if sup.inline + sup.allowlist + sup.baseline > 0 {
        writeln!(
            out,
            "  suppressed: {} inline allow, {} config allowlist, {} baseline",
            sup.inline, sup.allowlist, sup.baseline
        )?;
    }
    if !s.skipped_counts.is_empty() {
        let parts: Vec<String> = s
            .skipped_counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(out, "  skipped: {}", parts.join(", "))?;
        // Binary files and links are routine; anything else deserves its path.
        let notable: Vec<_> = s
            .skipped
            .iter()
            .filter(|k| !matches!(k.reason, SkipReason::Binary | SkipReason::Symlink))
            .collect();
        for k in notable.iter().take(20) {
            writeln!(
                out,
                "    {} ({}{})",
                k.path,
                k.reason,
                k.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )?;
        }
        if notable.len() > 20 {
            writeln!(
                out,
                "    ... and {} more (see --format json)",
                notable.len() - 20
            )?;
        }
    }
    if !findings.is_empty() {
        write_next_steps(s.git.as_ref().map(|g| g.mode), &st, out)?;
    }
    Ok(())
}

/// What to do about the findings, in the words of the place the scan ran.
fn write_next_steps(mode: Option<&str>, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", st.paint("1", "what next:"))?;
    let steps: &[&str] = match mode {
        Some("staged") => &[
            "remove the secret from the staged files (read it from the environment or a secret store), `git add` them again and commit",
            "if the secret was ever pushed or shared, revoke it at its provider: deleting it here does not make it safe",
        ],
        Some("range") => &[
            "revoke the secret at its provider now: it is in the branch's history even if a later commit deletes it",
            "then drop it from the commits (rewrite the branch) or accept the finding with a baseline",
        ],
        Some(_) => &[
            "revoke every secret still valid at its provider: history keeps deleted files",
            "then rewrite history (git filter-repo) only if the repository is not yet public",
        ],
        None => &[
            "move the secret out of the file (environment, secret store, or OIDC for CI: `keysweep inventory`) and revoke it at its provider",
        ],
    };
    for step in steps {
        writeln!(out, "  - {step}")?;
    }
    writeln!(
        out,
        "  - a false positive? add `keysweep:allow` to its line; to accept what exists today: `keysweep baseline`"
    )
}

/// Long-lived credentials the pipelines consume, and CI files that could not be read.
fn write_pipeline(ci: &CiResult, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    for c in &ci.findings {
        let f = &c.finding;
        writeln!(
            out,
            "{} {} {}",
            st.paint("1;33", &f.title),
            st.paint("2", &format!("[{}]", f.audit)),
            st.paint("33", &format!("provider: {}", f.provider.as_str()))
        )?;
        writeln!(out, "  {}", f.message)?;
        let job = f
            .job
            .as_deref()
            .map(|j| format!(" (job `{j}`)"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}{job}",
            st.paint(
                "36",
                &format!(
                    "{}:{}:{}",
                    f.location.path, f.location.line, f.location.column
                )
            )
        )?;
        writeln!(out, "      secret    {}", f.secret)?;
        writeln!(out, "      consumer  {}", f.consumer.description)?;
        match (&f.blocked_by, f.oidc_replacement) {
            (_, false) => writeln!(out, "      no short-lived alternative: {}", f.replacement)?,
            (Some(b), true) => writeln!(out, "      OIDC: {} (blocked: {b})", f.replacement)?,
            (None, true) => writeln!(out, "      OIDC: {}", f.replacement)?,
        }
        writeln!(out, "      docs      {}", super::doc_url(&f.help))?;
        writeln!(out)?;
    }
    for d in &ci.diagnostics {
        writeln!(
            out,
            "{} {}:{}:{}: {}",
            st.paint("1;31", "CI file not analysed:"),
            d.path,
            d.line,
            d.column,
            d.message
        )?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
