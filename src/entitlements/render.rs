//! The review as text for people (grouped by verdict, worst first), JSON, JSONL (one line per
//! credential, for a SIEM), markdown (for an issue) and HTML (the sweep report's style). Only
//! names and metadata: there is no value to print.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::verdict::day;
use super::{Credential, Review, VerdictKind};
use crate::report::html::{esc, pill, STYLE};

/// Verdict pills, in the sweep report's palette.
const EXTRA_STYLE: &str = "
.s-over-broad,.s-no-expiry{background:#fadbd8}.s-dormant,.s-unused{background:#fdebd0}
.s-stale{background:#fcf3cf}.s-resolved{background:#d6eaf8}.s-migratable{background:#d5f5e3}.s-not-visible{background:#eee}
";

/// The groups of the report: each verdict, worst first, then the credentials with none.
/// A credential appears under its worst verdict.
pub fn groups(review: &Review) -> Vec<(Option<VerdictKind>, Vec<&Credential>)> {
    let mut out: Vec<(Option<VerdictKind>, Vec<&Credential>)> = VerdictKind::ALL
        .iter()
        .map(|k| (Some(*k), Vec::new()))
        .collect();
    out.push((None, Vec::new()));
    for c in &review.credentials {
        let i = match c.worst() {
            Some(k) => VerdictKind::ALL.iter().position(|x| *x == k).unwrap_or(0),
            None => VerdictKind::ALL.len(),
        };
        out[i].1.push(c);
    }
    out.retain(|(_, cs)| !cs.is_empty());
    out
}

/// Counts per verdict (a credential counts once per verdict it has).
pub fn counts(review: &Review) -> Vec<(VerdictKind, usize)> {
    VerdictKind::ALL
        .iter()
        .map(|k| {
            let n = review
                .credentials
                .iter()
                .filter(|c| c.verdicts.iter().any(|v| v.kind == *k))
                .count();
            (*k, n)
        })
        .collect()
}

fn title(k: Option<VerdictKind>) -> &'static str {
    match k {
        Some(VerdictKind::OverBroad) => "over-broad: more access than its users need",
        Some(VerdictKind::NoExpiry) => "no-expiry: tokens that never expire",
        Some(VerdictKind::Dormant) => "dormant: no workflow reads it",
        Some(VerdictKind::Unused) => "unused: no use for a long time",
        Some(VerdictKind::Stale) => "stale: not rotated for a long time",
        Some(VerdictKind::Migratable) => "migratable: OIDC replaces it",
        None => "no verdict",
    }
}

fn facts(c: &Credential) -> String {
    let mut f = Vec::new();
    if let Some(o) = &c.owner {
        f.push(format!("owner {o}"));
    }
    if let Some(t) = &c.created_at {
        f.push(format!("created {}", day(t)));
    }
    if let Some(t) = &c.updated_at {
        f.push(format!("updated {}", day(t)));
    }
    if c.last_use_known {
        f.push(match &c.last_used {
            Some(t) => format!("last used {}", day(t)),
            None => "never used".into(),
        });
    }
    if let Some(t) = &c.expires_at {
        f.push(format!("expires {}", day(t)));
    } else if c.never_expires {
        f.push("no expiry".into());
    }
    if !c.permissions.is_empty() {
        let p: Vec<String> = c
            .permissions
            .iter()
            .map(|(k, v)| {
                // SSO: OAuth scopes, granted or not
                if v == "granted" {
                    k.clone()
                } else {
                    format!("{k}: {v}")
                }
            })
            .collect();
        f.push(p.join(", "));
    }
    if !c.readers.is_empty() {
        let mut repos: Vec<&str> = c.readers.iter().map(|r| r.repository.as_str()).collect();
        repos.dedup();
        f.push(format!(
            "read by {} workflow step(s) in {}",
            c.readers.len(),
            repos.join(", ")
        ));
    }
    f.join("; ")
}

fn summary_line(review: &Review) -> String {
    let what = match &review.org {
        Some(o) => format!("org {o} ({} repositories)", review.repositories.len()),
        None => review.repositories.join(", "),
    };
    let counts: Vec<String> = counts(review)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    format!(
        "{} credentials in {what}{}",
        review.credentials.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    )
}

pub fn human(review: &Review, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Entitlement review: {}", summary_line(review))?;
    writeln!(
        out,
        "(stale: not updated in {} days; unused: no use in {} days)",
        review.max_age_days, review.unused_for_days
    )?;
    for (k, creds) in groups(review) {
        writeln!(out, "\n== {} ({})", title(k), creds.len())?;
        for c in creds {
            writeln!(out, "  {} {}  [{}]", c.kind.as_str(), c.name, c.scope)?;
            let f = facts(c);
            if !f.is_empty() {
                writeln!(out, "      {f}")?;
            }
            for v in &c.verdicts {
                let apply = v
                    .apply
                    .map(|a| format!(" (--apply {a})"))
                    .unwrap_or_default();
                let tag = v
                    .status
                    .map(|s| format!(" [{}]", s.as_str()))
                    .unwrap_or_default();
                writeln!(out, "      {}{tag}: {}", v.kind.as_str(), v.reason)?;
                writeln!(out, "        -> {}{apply}", v.action)?;
            }
        }
    }
    if !review.resolved.is_empty() {
        writeln!(
            out,
            "\n== resolved since the last review ({})",
            review.resolved.len()
        )?;
        for r in &review.resolved {
            writeln!(
                out,
                "  {}: {} (open since {})",
                r.credential,
                r.verdict.as_str(),
                day(&r.first_seen)
            )?;
        }
    }
    let hidden: Vec<_> = review
        .listings
        .iter()
        .filter(|l| l.not_visible.is_some())
        .collect();
    if !hidden.is_empty()
        || !review.pipelines_unread.is_empty()
        || !review.repositories_failed.is_empty()
    {
        writeln!(out, "\n== not reviewed")?;
    }
    for (repo, why) in &review.repositories_failed {
        writeln!(out, "  {repo}: {why}")?;
    }
    for l in hidden {
        writeln!(
            out,
            "  {}: {}",
            l.what,
            l.not_visible.as_deref().unwrap_or("")
        )?;
    }
    for (repo, why) in &review.pipelines_unread {
        writeln!(
            out,
            "  workflows of {repo}: not read ({why}); its secrets get no dormant verdict"
        )?;
    }
    Ok(())
}

pub fn json(review: &Review, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, review)?;
    writeln!(out)
}

/// One line per credential, self-contained (org and review time on each), then one line per
/// listing that was not visible.
pub fn jsonl(review: &Review, out: &mut dyn Write) -> io::Result<()> {
    for c in &review.credentials {
        let mut v = serde_json::to_value(c)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("record".into(), "credential".into());
            m.insert("reviewed_at".into(), review.generated_at.clone().into());
            if let Some(o) = &review.org {
                m.insert("org".into(), o.clone().into());
            }
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    }
    for l in review.listings.iter().filter(|l| l.not_visible.is_some()) {
        let mut v = serde_json::to_value(l)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("record".into(), "listing-not-visible".into());
            m.insert("reviewed_at".into(), review.generated_at.clone().into());
        }
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    }
    Ok(())
}

/// Markdown table cells: no line breaks, no pipes, no HTML.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

pub fn markdown(review: &Review, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## Entitlement review\n")?;
    writeln!(out, "{}.\n", md(&summary_line(review)))?;
    for (k, creds) in groups(review) {
        writeln!(out, "### {} ({})\n", title(k), creds.len())?;
        writeln!(out, "| credential | scope | facts | verdicts | action |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for c in creds {
            let verdicts: Vec<String> = c
                .verdicts
                .iter()
                .map(|v| {
                    let tag = v
                        .status
                        .map(|s| format!(" ({})", s.as_str()))
                        .unwrap_or_default();
                    format!("**{}**{tag}: {}", v.kind.as_str(), md(&v.reason))
                })
                .collect();
            let actions: Vec<String> = c
                .verdicts
                .iter()
                .map(|v| match v.apply {
                    Some(a) => format!("{} (`--apply {a}`)", md(&v.action)),
                    None => md(&v.action),
                })
                .collect();
            writeln!(
                out,
                "| `{}` {} | {} | {} | {} | {} |",
                c.kind.as_str(),
                md(&c.name),
                md(&c.scope),
                md(&facts(c)),
                verdicts.join("<br>"),
                actions.join("<br>")
            )?;
        }
        writeln!(out)?;
    }
    let hidden: Vec<_> = review
        .listings
        .iter()
        .filter(|l| l.not_visible.is_some())
        .collect();
    if !review.resolved.is_empty() {
        writeln!(out, "### Resolved since the last review\n")?;
        for r in &review.resolved {
            writeln!(out, "- {}: {}", md(&r.credential), r.verdict.as_str())?;
        }
        writeln!(out)?;
    }
    if !hidden.is_empty() || !review.repositories_failed.is_empty() {
        writeln!(out, "### Not reviewed\n")?;
        for (repo, why) in &review.repositories_failed {
            writeln!(out, "- {}: {}", md(repo), md(why))?;
        }
        for l in hidden {
            writeln!(
                out,
                "- {}: {}",
                md(&l.what),
                md(l.not_visible.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}

pub fn html(review: &Review) -> String {
    let mut h = String::new();
    h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        h,
        "<title>keysweep entitlements: {} credentials</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>",
        review.credentials.len()
    );
    let _ = writeln!(
        h,
        "<header><h1>keysweep entitlements</h1><p>{}. Reviewed {}. No secret value is read or shown.</p></header><main>",
        esc(&summary_line(review)),
        esc(&review.generated_at)
    );
    h.push_str("<div class=\"cards\">");
    let _ = write!(
        h,
        "<div class=\"card\"><b>{}</b><span>credentials</span></div>",
        review.credentials.len()
    );
    for (k, n) in counts(review) {
        let class = match k {
            VerdictKind::OverBroad | VerdictKind::NoExpiry => "bad",
            VerdictKind::Migratable => "good",
            _ => "warn",
        };
        let _ = write!(
            h,
            "<div class=\"card {class}\"><b>{n}</b><span>{}</span></div>",
            k.as_str()
        );
    }
    h.push_str("</div>\n");
    for (k, creds) in groups(review) {
        let _ = writeln!(
            h,
            "<section><h2>{} ({})</h2><table><thead><tr><th>kind</th><th>credential</th><th>scope</th>\
             <th>facts</th><th>verdicts</th><th>action</th></tr></thead><tbody>",
            esc(title(k)),
            creds.len()
        );
        for c in creds {
            let verdicts: Vec<String> = c
                .verdicts
                .iter()
                .map(|v| {
                    let status = v.status.map(|s| pill(s.as_str())).unwrap_or_default();
                    format!("{} {status} {}", pill(v.kind.as_str()), esc(&v.reason))
                })
                .collect();
            let actions: Vec<String> = c
                .verdicts
                .iter()
                .map(|v| match v.apply {
                    Some(a) => format!("{} <code>--apply {a}</code>", esc(&v.action)),
                    None => esc(&v.action),
                })
                .collect();
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"muted\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(c.kind.as_str()),
                esc(&c.name),
                esc(&c.scope),
                esc(&facts(c)),
                verdicts.join("<br>"),
                actions.join("<br>")
            );
        }
        h.push_str("</tbody></table></section>\n");
    }
    if !review.resolved.is_empty() {
        let _ = writeln!(
            h,
            "<section><h2>Resolved since the last review ({})</h2><table><thead><tr><th>credential</th>\
             <th>verdict</th><th>status</th><th>open since</th></tr></thead><tbody>",
            review.resolved.len()
        );
        for r in &review.resolved {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.credential),
                pill(r.verdict.as_str()),
                pill("resolved"),
                esc(day(&r.first_seen))
            );
        }
        h.push_str("</tbody></table></section>\n");
    }
    let hidden: Vec<_> = review
        .listings
        .iter()
        .filter(|l| l.not_visible.is_some())
        .collect();
    if !hidden.is_empty()
        || !review.pipelines_unread.is_empty()
        || !review.repositories_failed.is_empty()
    {
        h.push_str("<section><h2>Not reviewed</h2><table><thead><tr><th>listing</th><th>status</th><th>why</th></tr></thead><tbody>\n");
        for (repo, why) in &review.repositories_failed {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(repo),
                pill("failed"),
                esc(why)
            );
        }
        for l in hidden {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.what),
                pill("not-visible"),
                esc(l.not_visible.as_deref().unwrap_or(""))
            );
        }
        for (repo, why) in &review.pipelines_unread {
            let _ = writeln!(
                h,
                "<tr><td>workflows of {}</td><td>{}</td><td>{}</td></tr>",
                esc(repo),
                pill("not-visible"),
                esc(why)
            );
        }
        h.push_str("</tbody></table></section>\n");
    }
    h.push_str("</main></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::super::verdict::{decide, tests as vt};
    use super::super::{Credential, Kind};
    use super::*;

    fn sample() -> Review {
        let mut t = Credential::new(Kind::FineGrainedToken, "<b>deploy|bot</b>", "org o");
        t.last_use_known = true;
        t.never_expires = true;
        t.created_at = Some("2026-11-01T00:00:00Z".into());
        let ok = Credential::new(Kind::AppInstallation, "ci", "org o, selected repositories");
        let mut r = vt::review(vec![ok, t], &[]);
        decide(&mut r, &Default::default(), &vt::opts());
        r.listings.push(super::super::Listing {
            what: "webhooks of org o".into(),
            needs: "organization_hooks=read".into(),
            count: 0,
            not_visible: Some("not visible with this token (needs organization_hooks=read)".into()),
        });
        r
    }

    #[test]
    fn html_escapes_and_groups() {
        let h = html(&sample());
        assert!(h.contains("&lt;b&gt;deploy|bot&lt;/b&gt;"), "{h}");
        assert!(!h.contains("<b>deploy"));
        assert!(h.find("no-expiry: tokens").unwrap() < h.find("no verdict").unwrap());
        assert!(h.contains("needs organization_hooks=read"));
        assert!(h.contains("<code>--apply revoke-token-access</code>"));
    }

    #[test]
    fn markdown_cells_stay_one_row() {
        let mut out = Vec::new();
        markdown(&sample(), &mut out).unwrap();
        let md = String::from_utf8(out).unwrap();
        assert!(md.contains("&lt;b&gt;deploy\\|bot&lt;/b&gt;"), "{md}");
        assert!(md.contains("### Not reviewed"), "{md}");
        let row = md.lines().find(|l| l.contains("deploy")).unwrap();
        assert_eq!(row.matches(" | ").count(), 4, "{row}");
    }

    #[test]
    fn jsonl_is_one_credential_a_line_then_the_hidden_listings() {
        let mut out = Vec::new();
        jsonl(&sample(), &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["kind"], "fine-grained-token");
        assert_eq!(lines[0]["org"], "o");
        assert_eq!(lines[0]["verdicts"][0]["kind"], "no-expiry");
        assert_eq!(lines[2]["record"], "listing-not-visible");
    }
}
