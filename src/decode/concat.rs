//! String literals joined into one value: `"ab" + "cd"` (Java, JS, C#, Go, Kotlin), `.`
//! (PHP, Perl), `..` (Lua), `&` (VB), implicit concatenation (`"ab" "cd"` in Python and C),
//! across line breaks too: a PEM key written one `"...\n" +` literal per line.

use super::Builder;
use std::ops::Range;

/// Joined values shorter than this hold no secret worth the view.
const MIN_JOINED: usize = 12;
const MAX_PIECES: usize = 400;

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    let mut from = 0;
    while let Some(p) = memchr::memchr2(b'"', b'\'', &input[from..]).map(|p| from + p) {
        let Some(first) = literal(input, p) else {
            from = p + 1;
            continue;
        };
        let mut pieces = vec![first.clone()];
        let mut end = first.end;
        while pieces.len() < MAX_PIECES {
            match next_piece(input, end, input[p], p) {
                Some(r) => {
                    end = r.end;
                    pieces.push(r);
                }
                None => break,
            }
        }
        from = end;
        let joined: usize = pieces.iter().map(|r| r.len() - 2).sum();
        let span = p..end;
        if pieces.len() < 2 || joined < MIN_JOINED || !want(&span) {
            continue;
        }
        let (before, after) = super::context(input, &span);
        let mut b = Builder::default();
        b.copy(input, before.start..p + 1);
        for r in &pieces {
            b.joined(input, r.start + 1..r.end - 1);
        }
        b.copy(input, end - 1..after.end.max(end));
        out.push((b, "concatenation"));
    }
}

/// Literals longer than this are data, not a piece of a joined secret.
const MAX_LITERAL: usize = 4096;

/// The literal opening at `p` (quotes included), closed on the same line.
pub(super) fn literal(input: &[u8], p: usize) -> Option<Range<usize>> {
    let q = input[p];
    let mut i = p + 1;
    let stop = input.len().min(p + MAX_LITERAL);
    while i < stop {
        match input[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            c if c == q => return Some(p..i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The next literal of a chain: after `end`, blanks, at most one joining operator and one
/// line break, an optional string prefix (`f`, `b`, `@`, `$`...), then a literal.
fn next_piece(input: &[u8], end: usize, quote: u8, chain: usize) -> Option<Range<usize>> {
    let mut i = end;
    let mut breaks = 0;
    let mut ops = 0;
    while i < input.len() {
        match input[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                breaks += 1;
                if breaks > 1 {
                    return None;
                }
                i += 1;
            }
            b'+' | b'&' if ops == 0 => {
                ops += 1;
                i += 1;
            }
            b'.' if ops == 0 => {
                ops += 1;
                i += if input.get(i + 1) == Some(&b'.') {
                    2
                } else {
                    1
                };
            }
            _ => break,
        }
    }
    let mut j = i;
    while j < input.len() && j - i < 2 && b"fFbBrRuUL@$".contains(&input[j]) {
        j += 1;
    }
    if input.get(j) != Some(&quote) {
        return None;
    }
    // Implicit concatenation across a line break only in a parenthesised or continued
    // expression: two bare literals on separate lines are usually two values (a list).
    if ops == 0 && breaks > 0 && !opens_expression(input, chain) {
        return None;
    }
    literal(input, j)
}

/// Whether the chain starting at `p` continues an open expression: an assignment or an
/// opening parenthesis before it on its line, or ending the line before.
fn opens_expression(input: &[u8], p: usize) -> bool {
    let (before, _) = super::context(input, &(p..p));
    let before = &input[before];
    if before.contains(&b'(') || before.contains(&b'=') {
        return true;
    }
    let line_start = p - before.len();
    let from = line_start.saturating_sub(super::CONTEXT_BEFORE);
    let prev = input[from..line_start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace());
    prev.is_some_and(|i| matches!(input[from + i], b'(' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        crate::decode::texts_of(views, s)
    }

    #[test]
    fn joins_operators_and_implicit() {
        assert_eq!(
            run(r#"String k = "ghp_Ab12" + "Cd34Ef56";"#),
            [r#"String k = "ghp_Ab12Cd34Ef56";"#]
        );
        assert_eq!(run("$k = 'abcdef' . 'ghijkl';"), ["$k = 'abcdefghijkl';"]);
        assert_eq!(
            run("k = (\"abcdef\"\n     \"ghijkl\")"),
            ["k = (\"abcdefghijkl\")"]
        );
        assert_eq!(
            run("key = \"-----BEGIN\\n\" +\n  \"MIIE\\n\" +\n  \"-----END\";"),
            ["key = \"-----BEGIN\\nMIIE\\n-----END\";"]
        );
    }

    #[test]
    fn leaves_lists_and_single_literals() {
        assert!(run("names = [\n  \"alpha-bravo\",\n  \"charlie-delta\",\n]").is_empty());
        assert!(run(r#"x = "just one literal here""#).is_empty());
    }
}
