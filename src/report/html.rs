//! What keysweep's HTML reports share (the sweep report, the entitlement review): escaping,
//! the stylesheet, the status pill. Self-contained pages: no script, no external resource.

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b9c0cf}main{padding:20px 28px;max-width:1200px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:140px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:26px}.card span{color:#5b6475}
.bad b{color:#c0392b}.warn b{color:#d68910}.good b{color:#1e8449}
section{background:#fff;border-radius:8px;padding:14px 18px;margin-bottom:20px;box-shadow:0 1px 2px #0002}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7ec;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}
.pill{display:inline-block;white-space:nowrap;padding:0 8px;border-radius:10px;font-size:12px;background:#e4e7ec}
.s-ok{background:#d5f5e3}.s-failed,.s-auth-failed,.s-not-found{background:#fadbd8}.s-gone{background:#eee}
.s-new{background:#fadbd8}.s-open{background:#fdebd0}.s-fixed{background:#d6eaf8}
.s-migratable-now{background:#d5f5e3}.s-blocked{background:#fdebd0}.s-no-oidc-alternative{background:#eee}
.muted{color:#5b6475}svg text{font:11px system-ui,sans-serif;fill:#5b6475}
";

pub(crate) fn pill(s: &str) -> String {
    format!("<span class=\"pill s-{}\">{}</span>", esc(s), esc(s))
}
