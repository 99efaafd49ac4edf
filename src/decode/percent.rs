//! Percent-encoded runs (`%3D`, `%2F`...): a URL-encoded value, query string or form body.

use super::{mostly_printable, replace_in_line, Builder};
use std::ops::Range;

/// Runs shorter than this cannot hold a secret worth decoding.
const MIN_RUN: usize = 16;

fn url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"%-._~:/?#[]@!$&'()*+,;=".contains(&b)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    let mut from = 0;
    while let Some(p) = memchr::memchr(b'%', &input[from..]).map(|p| from + p) {
        let start = input[..p]
            .iter()
            .rposition(|&b| !url_char(b))
            .map_or(0, |i| i + 1);
        let end = input[p..]
            .iter()
            .position(|&b| !url_char(b))
            .map_or(input.len(), |i| p + i);
        from = end.max(p + 1);
        let span = start..end;
        if span.len() < MIN_RUN || !want(&span) {
            continue;
        }
        if let Some(text) = decode(&input[span.clone()]) {
            out.push((replace_in_line(input, span, &text), "percent"));
        }
    }
}

/// The decoded run, if it holds at least two escapes (a single `%` is prose or a format).
fn decode(run: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(run.len());
    let mut escapes = 0;
    let mut i = 0;
    while i < run.len() {
        if run[i] == b'%' {
            if let (Some(h), Some(l)) = (
                run.get(i + 1).copied().and_then(hex),
                run.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                escapes += 1;
                i += 3;
                continue;
            }
        }
        out.push(run[i]);
        i += 1;
    }
    (escapes >= 2 && mostly_printable(&out)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        let mut out = Vec::new();
        let s = "curl 'https://x.test/?cfg=%7B%22api_key%22%3A%22Zk3pQ9wV2mLr8sYb%22%7D'";
        views(s.as_bytes(), &|_| true, &mut out);
        let t = String::from_utf8_lossy(&out[0].0.text).into_owned();
        assert!(t.contains(r#"{"api_key":"Zk3pQ9wV2mLr8sYb"}"#), "{t}");
    }

    #[test]
    fn ignores_format_strings() {
        let mut out = Vec::new();
        views(
            b"printf(\"%d items in %s of total\", n, s)",
            &|_| true,
            &mut out,
        );
        assert!(out.is_empty());
    }
}
