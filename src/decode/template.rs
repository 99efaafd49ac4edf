//! Template strings whose interpolations are literals: `` `ghp_${'Ab12'}${"Cd34"}` ``
//! (JavaScript, TypeScript), `"ghp_${"Ab12"}"` (Kotlin, Groovy, Dart, Scala `s"..."`),
//! `"ghp_#{'Ab12'}"` (Ruby). The view is the line with each literal interpolation replaced by
//! its text, so the template reads as the one value it always produces.

use super::concat::literal;
use super::Builder;
use std::ops::Range;

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    let mut holes = Vec::new();
    for opener in [&b"${"[..], b"#{"] {
        holes.extend(memchr::memmem::find_iter(input, opener).filter_map(|at| hole(input, at)));
    }
    if holes.is_empty() {
        return;
    }
    holes.sort_by_key(|h| h.whole.start);
    // One view per line: every literal interpolation on it is filled in.
    let mut i = 0;
    while i < holes.len() {
        let line_end = memchr::memchr(b'\n', &input[holes[i].whole.start..])
            .map_or(input.len(), |p| holes[i].whole.start + p);
        let mut j = i;
        while j < holes.len() && holes[j].whole.start < line_end {
            j += 1;
        }
        let line = &holes[i..j];
        i = j;
        let span = line[0].whole.start..line[line.len() - 1].whole.end;
        if !want(&span) {
            continue;
        }
        let (before, after) = super::context(input, &span);
        let mut b = Builder::default();
        b.copy(input, before);
        let mut pos = span.start;
        for h in line {
            b.copy(input, pos..h.whole.start);
            b.joined(input, h.text.clone());
            pos = h.whole.end;
        }
        b.copy(input, pos..span.end);
        b.copy(input, after);
        out.push((b, "concatenation"));
    }
}

/// A literal interpolation: the whole `${'...'}` and the literal's text inside its quotes.
struct Hole {
    whole: Range<usize>,
    text: Range<usize>,
}

/// The interpolation opening at `at` (`${` or `#{`) if it holds one string literal only.
fn hole(input: &[u8], at: usize) -> Option<Hole> {
    let mut i = at + 2;
    while input.get(i).is_some_and(|b| *b == b' ') {
        i += 1;
    }
    if !matches!(input.get(i), Some(b'"' | b'\'')) {
        return None;
    }
    let lit = literal(input, i)?;
    let mut k = lit.end;
    while input.get(k).is_some_and(|b| *b == b' ') {
        k += 1;
    }
    (input.get(k) == Some(&b'}') && !input[lit.start + 1..lit.end - 1].contains(&b'\\')).then(
        || Hole {
            whole: at..k + 1,
            text: lit.start + 1..lit.end - 1,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        crate::decode::texts_of(views, s)
    }

    #[test]
    fn fills_literal_interpolations() {
        assert_eq!(
            run("const key = `ghp_${'Ab12Cd'}${\"34Ef\"}56Gh`;"),
            ["const key = `ghp_Ab12Cd34Ef56Gh`;"]
        );
        assert_eq!(
            run("val key = \"sk_live_${\"Ab12\"}Cd34\""),
            ["val key = \"sk_live_Ab12Cd34\""]
        );
        assert_eq!(
            run("KEY = \"ghp_#{'Ab12'}Cd34\"\nx = 1"),
            ["KEY = \"ghp_Ab12Cd34\""]
        );
    }

    #[test]
    fn leaves_variables_and_expressions() {
        assert!(run("const url = `${base}/v1/${path}`;").is_empty());
        assert!(run("const s = `${'a' + b}`;").is_empty());
        assert!(run("echo \"${HOME}\"").is_empty());
    }
}
