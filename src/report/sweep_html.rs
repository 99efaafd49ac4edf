//! The sweep's report for people: one self-contained HTML file. Totals, a table per
//! repository, the trend of open findings as an inline SVG chart, the failures with their
//! reasons, the open findings (redacted) and the pipelines' credential migration status.
//! No script, no external resource (a CSP meta tag forbids any), no secret value.

use super::sweep::{is_open, SweepReport};
use std::fmt::Write as _;

use super::html::{esc, pill, STYLE};

impl SweepReport {
    pub fn html(&self) -> String {
        let mut h = String::new();
        h.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(
            h,
            "<title>keysweep sweep: {} open findings</title><style>{STYLE}</style></head><body>",
            self.open_findings
        );
        let last = self.trend.last().map(|t| t.0);
        let _ = writeln!(
            h,
            "<header><h1>keysweep sweep</h1><p>{} repositories{}. Secrets are shown redacted.</p></header><main>",
            self.repositories,
            last.map(|s| format!(", as of sweep {s}")).unwrap_or_default()
        );
        self.cards(&mut h);
        self.trend_chart(&mut h);
        self.repo_table(&mut h);
        self.failures(&mut h);
        self.open_table(&mut h);
        self.pipeline_table(&mut h);
        self.entitlement_table(&mut h);
        h.push_str("</main></body></html>\n");
        h
    }

    fn cards(&self, h: &mut String) {
        let migratable = self
            .pipelines
            .iter()
            .filter(|u| u.status == "migratable-now")
            .count();
        let card = |h: &mut String, class: &str, n: usize, label: &str| {
            let _ = write!(
                h,
                "<div class=\"card {class}\"><b>{n}</b><span>{}</span></div>",
                esc(label)
            );
        };
        h.push_str("<div class=\"cards\">");
        card(h, "", self.repositories, "repositories");
        card(
            h,
            if self.failed > 0 { "bad" } else { "good" },
            self.failed,
            "repositories failed",
        );
        card(
            h,
            if self.open_findings > 0 {
                "bad"
            } else {
                "good"
            },
            self.open_findings,
            "open findings",
        );
        card(h, "warn", self.fixed_findings, "fixed, still to rotate");
        card(h, "", self.pipelines.len(), "pipeline credential uses");
        card(h, "good", migratable, "migratable to OIDC now");
        h.push_str("</div>\n");
    }

    /// Open findings after each sweep, as a line chart.
    fn trend_chart(&self, h: &mut String) {
        h.push_str("<section><h2>Open findings over the last sweeps</h2>\n");
        if self.trend.is_empty() {
            h.push_str("<p class=\"muted\">No finished sweep yet.</p></section>\n");
            return;
        }
        let (w, ht, left, right, top, bottom) = (720.0, 200.0, 40.0, 16.0, 14.0, 28.0);
        let max = self.trend.iter().map(|t| t.1).max().unwrap_or(0).max(1) as f64;
        let n = self.trend.len();
        let x = |i: usize| {
            if n == 1 {
                left + (w - left - right) / 2.0
            } else {
                left + (w - left - right) * i as f64 / (n - 1) as f64
            }
        };
        let y = |v: i64| top + (ht - top - bottom) * (1.0 - v as f64 / max);
        let _ = write!(
            h,
            "<svg role=\"img\" aria-label=\"open findings per sweep\" width=\"100%\" viewBox=\"0 0 {w} {ht}\">"
        );
        for frac in [0.0, 0.5, 1.0] {
            let v = (max * frac).round() as i64;
            let _ = write!(
                h,
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e7ec\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
                w - right,
                left - 6.0,
                y(v) + 4.0,
                y = y(v)
            );
        }
        let points: Vec<String> = self
            .trend
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{:.1},{:.1}", x(i), y(t.1)))
            .collect();
        let _ = write!(
            h,
            "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\" points=\"{}\"/>",
            points.join(" ")
        );
        let every = n.div_ceil(12).max(1);
        for (i, (sweep, open)) in self.trend.iter().enumerate() {
            let _ = write!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#c0392b\"><title>sweep {sweep}: {open} open</title></circle>",
                x(i),
                y(*open)
            );
            if i % every == 0 || i == n - 1 {
                let _ = write!(
                    h,
                    "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">#{sweep}</text>",
                    x(i),
                    ht - 8.0
                );
            }
        }
        h.push_str("</svg></section>\n");
    }

    fn repo_table(&self, h: &mut String) {
        h.push_str("<section><h2>Repositories</h2><table><thead><tr><th>repository</th><th>status</th>\
            <th>open high</th><th>open medium</th><th>open low</th><th>fixed</th>\
            <th>pipeline credential uses</th><th>migratable now</th><th>objects</th><th>last sweep</th></tr></thead><tbody>\n");
        for r in &self.repos {
            let fixed = self
                .findings
                .iter()
                .filter(|f| f.repo == r.name && f.status == "fixed")
                .count();
            let (uses, migratable) = self.pipeline_counts(&r.name);
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{fixed}</td><td class=\"n\">{uses}</td><td class=\"n\">{migratable}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&r.name),
                pill(&r.status),
                self.open_in(&r.name, "high"),
                self.open_in(&r.name, "medium"),
                self.open_in(&r.name, "low"),
                r.objects,
                r.last_sweep.map(|s| s.to_string()).unwrap_or_default()
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn failures(&self, h: &mut String) {
        let failed: Vec<_> = self.repos.iter().filter(|r| r.status != "ok").collect();
        let _ = write!(
            h,
            "<section><h2>Failed repositories ({})</h2>",
            failed.len()
        );
        if failed.is_empty() {
            h.push_str("<p class=\"muted\">None: every repository was swept.</p></section>\n");
            return;
        }
        h.push_str("<table><thead><tr><th>repository</th><th>status</th><th>reason</th></tr></thead><tbody>\n");
        for r in failed {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&r.name),
                pill(&r.status),
                esc(r.reason.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn open_table(&self, h: &mut String) {
        h.push_str("<section><h2>Open and fixed findings</h2>");
        let shown: Vec<_> = self
            .findings
            .iter()
            .filter(|f| is_open(f) || f.status == "fixed")
            .collect();
        if shown.is_empty() {
            h.push_str("<p class=\"muted\">No findings.</p></section>\n");
            return;
        }
        h.push_str("<table><thead><tr><th>repository</th><th>rule</th><th>confidence</th><th>secret (redacted)</th>\
            <th>where</th><th>status</th><th>first seen</th><th>last seen</th></tr></thead><tbody>\n");
        for f in shown {
            let commit: String = f.commit.chars().take(10).collect();
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code>{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&f.repo),
                esc(&f.rule_id),
                esc(&f.confidence),
                esc(&f.redacted),
                esc(&f.path),
                if commit.is_empty() {
                    String::new()
                } else {
                    format!(" <span class=\"muted\">@{}</span>", esc(&commit))
                },
                pill(&f.status),
                f.first_seen,
                f.last_seen
            );
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn entitlement_table(&self, h: &mut String) {
        let Some(e) = &self.entitlements else { return };
        let _ = write!(
            h,
            "<section><h2>Entitlements of <code>{}</code></h2><p>{} credentials reviewed, {} with a verdict, {} resolved since the last sweep.</p>",
            esc(&e.org),
            e.credentials_reviewed,
            e.verdicts.len(),
            e.resolved
        );
        if !e.verdicts.is_empty() {
            h.push_str("<table><thead><tr><th>credential</th><th>verdict</th><th>status</th><th>action</th></tr></thead><tbody>\n");
            for v in &e.verdicts {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&v.credential),
                    pill(&v.verdict),
                    esc(&v.status),
                    esc(&v.action)
                );
            }
            h.push_str("</tbody></table>");
        }
        for n in &e.not_visible {
            let _ = write!(h, "<p class=\"muted\">not visible: {}</p>", esc(n));
        }
        h.push_str("</section>\n");
    }

    fn pipeline_table(&self, h: &mut String) {
        h.push_str("<section><h2>Pipeline credentials and their OIDC migration</h2>");
        if self.pipelines.is_empty() {
            h.push_str(
                "<p class=\"muted\">No pipeline uses a long-lived credential.</p></section>\n",
            );
            return;
        }
        h.push_str(
            "<table><thead><tr><th>repository</th><th>secret</th><th>provider</th><th>where</th>\
            <th>job</th><th>status</th><th>replacement</th></tr></thead><tbody>\n",
        );
        for u in &self.pipelines {
            let status = match &u.blocked_by {
                Some(b) => format!(
                    "{} <span class=\"muted\">{}</span>",
                    pill(&u.status),
                    esc(b)
                ),
                None => pill(&u.status),
            };
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}:{}</code></td><td>{}</td><td>{status}</td><td>{}</td></tr>",
                esc(&u.repo),
                esc(&u.secret),
                esc(&u.provider),
                esc(&u.path),
                u.line,
                esc(u.job.as_deref().unwrap_or("")),
                esc(&u.replacement)
            );
        }
        h.push_str("</tbody></table></section>\n");
    }
}
