//! String literals joined by a library call, when every piece is a literal:
//! `String.join("", "ab", "cd")` (Java), `string.Join("", new[] { "ab", "cd" })` (C#),
//! `strings.Join([]string{"ab", "cd"}, "")` (Go), `"".join(["ab", "cd"])` (Python),
//! `["ab", "cd"].join("")` (JavaScript, Ruby), `implode('', ['ab', 'cd'])` (PHP),
//! `join('', 'ab', 'cd')` (Perl). The view holds one literal with the joined value.

use super::concat::literal;
use super::Builder;
use std::ops::Range;

/// Joined values shorter than this hold no secret worth the view.
const MIN_JOINED: usize = 12;
/// A call's arguments longer than this are data, not a split secret.
const MAX_ARGS: usize = 4096;

/// Words allowed between the literals of a call: container constructors only. Any other
/// word (a variable, a method call) means a piece is not a literal.
const CONTAINER_WORDS: &[&[u8]] = &[
    b"new",
    b"string",
    b"String",
    b"[]string",
    b"List.of",
    b"Arrays.asList",
    b"Stream.of",
    b"Set.of",
    b"array",
    b"%w",
    b"listOf",
    b"arrayOf",
    b"std::vec!",
    b"vec!",
    b"str",
];

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    // One pass finds both cases of `join(`: each needle is one more read of the whole file.
    let joins = memchr::memmem::find_iter(input, b"oin(")
        .filter(|&at| at > 0 && matches!(input[at - 1], b'j' | b'J'))
        .map(|at| (at - 1, at + 3));
    let implodes = memchr::memmem::find_iter(input, b"implode(").map(|at| (at, at + 7));
    for (at, open) in joins.chain(implodes) {
        if let Some(call) = parse(input, at, open) {
            if call.pieces.len() >= 2 && joined_len(&call) >= MIN_JOINED && want(&call.span) {
                out.push((view(input, &call), "concatenation"));
            }
        }
    }
}

/// A join of literals: the separator (`None` for JavaScript's default `,`), the pieces, and
/// the source span of the whole expression. Literal ranges include their quotes.
struct Call {
    separator: Option<Range<usize>>,
    pieces: Vec<Range<usize>>,
    span: Range<usize>,
}

fn joined_len(call: &Call) -> usize {
    let sep = call.separator.as_ref().map_or(1, |s| s.len() - 2);
    call.pieces.iter().map(|p| p.len() - 2).sum::<usize>() + sep * (call.pieces.len() - 1)
}

/// The call whose name starts at `at` and whose argument list opens at `open`.
fn parse(input: &[u8], at: usize, open: usize) -> Option<Call> {
    let (args, close) = arguments(input, open)?;
    let end = close + 1;
    let receiver = &input[..at];
    if let Some(before_dot) = receiver.strip_suffix(b".") {
        match before_dot.last()? {
            // `"sep".join([...])`
            b'"' | b'\'' => {
                let sep = literal_ending_at(input, before_dot.len())?;
                return Some(Call {
                    span: sep.start..end,
                    separator: Some(sep),
                    pieces: args.concat(),
                });
            }
            // `[...].join(sep)`
            b']' => {
                let (list_start, pieces) = list_ending_at(input, before_dot.len())?;
                let separator = match args.as_slice() {
                    [] => None,
                    [one] if one.len() == 1 => Some(one[0].clone()),
                    _ => return None,
                };
                return Some(Call {
                    separator,
                    pieces,
                    span: list_start..end,
                });
            }
            _ => {}
        }
    }
    let qualifier = receiver
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'.' || *b == b'_'))
        .map_or(receiver, |p| &receiver[p + 1..]);
    let start = at - qualifier.len();
    match qualifier {
        // `strings.Join([]string{...}, sep)`: the separator comes last.
        b"strings." => {
            let [list, sep] = args.as_slice() else {
                return None;
            };
            let [sep] = sep.as_slice() else { return None };
            Some(Call {
                separator: Some(sep.clone()),
                pieces: list.clone(),
                span: start..end,
            })
        }
        // `String.join(sep, ...)`, `string.Join(sep, ...)`, `implode(sep, [...])`, Perl's
        // `join(sep, ...)`: the separator comes first.
        b"String." | b"string." | b"" => {
            let (first, rest) = args.split_first()?;
            let [sep] = first.as_slice() else { return None };
            Some(Call {
                separator: Some(sep.clone()),
                pieces: rest.concat(),
                span: start..end,
            })
        }
        _ => None,
    }
}

/// The literals of each top-level argument of the list opening at `open`, and where it
/// closes; `None` unless every argument is literals in containers.
fn arguments(input: &[u8], open: usize) -> Option<(Vec<Vec<Range<usize>>>, usize)> {
    let stop = input.len().min(open + MAX_ARGS);
    let mut args: Vec<Vec<Range<usize>>> = Vec::new();
    let mut current: Vec<Range<usize>> = Vec::new();
    let mut depth = 0usize;
    let mut i = open + 1;
    while i < stop {
        match input[i] {
            b'"' | b'\'' => {
                let lit = literal(input, i)?;
                i = lit.end;
                current.push(lit);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b')' => {
                if !current.is_empty() {
                    args.push(current);
                } else if !args.is_empty() {
                    return None; // a trailing empty argument: not a call we understand
                }
                return Some((args, i));
            }
            b',' if depth == 0 => {
                if current.is_empty() {
                    return None;
                }
                args.push(std::mem::take(&mut current));
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                let word = word_at(input, i);
                if !CONTAINER_WORDS.contains(&&input[word.clone()]) {
                    return None;
                }
                i = word.end;
                continue;
            }
        }
        i += 1;
    }
    None
}

/// The word (identifier characters, `.`, `:`, `!`, `%`, `[]` prefix) starting at `i`.
fn word_at(input: &[u8], i: usize) -> Range<usize> {
    let mut j = i;
    if input[j..].starts_with(b"[]") {
        j += 2;
    }
    while j < input.len() && (input[j].is_ascii_alphanumeric() || b"._:!%".contains(&input[j])) {
        j += 1;
    }
    i..j.max(i + 1)
}

/// The literal whose closing quote is at `end - 1`, if its opening quote is on the same line
/// and nothing inside is escaped (a backwards scan cannot tell escapes apart).
fn literal_ending_at(input: &[u8], end: usize) -> Option<Range<usize>> {
    let q = input[end - 1];
    let from = end.saturating_sub(MAX_ARGS);
    let open = input[from..end - 1]
        .iter()
        .rposition(|&b| b == q || b == b'\n')?
        + from;
    (input[open] == q && !input[open..end].contains(&b'\\')).then_some(open..end)
}

/// The `[...]` list of literals whose `]` is at `end - 1`: where it opens and its literals.
fn list_ending_at(input: &[u8], end: usize) -> Option<(usize, Vec<Range<usize>>)> {
    let mut pieces = Vec::new();
    let mut i = end - 1; // at `]`
    let floor = end.saturating_sub(MAX_ARGS);
    while i > floor {
        i -= 1;
        match input[i] {
            b'"' | b'\'' => {
                let lit = literal_ending_at(input, i + 1)?;
                i = lit.start;
                pieces.push(lit);
            }
            b'[' => {
                pieces.reverse();
                return Some((i, pieces));
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => return None,
        }
    }
    None
}

/// The line(s) around the call with the call replaced by one literal of the joined value.
fn view(input: &[u8], call: &Call) -> Builder {
    let (before, after) = super::context(input, &call.span);
    let first = &call.pieces[0];
    let last = call.pieces.last().expect("two pieces or more");
    let mut b = Builder::default();
    b.copy(input, before);
    b.copy(input, first.start..first.start + 1);
    for (n, piece) in call.pieces.iter().enumerate() {
        if n > 0 {
            match &call.separator {
                Some(sep) => b.joined(input, sep.start + 1..sep.end - 1),
                None => b.decoded(b",", piece.start..piece.start + 1),
            }
        }
        b.joined(input, piece.start + 1..piece.end - 1);
    }
    b.copy(input, last.end - 1..last.end);
    b.copy(input, after);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        crate::decode::texts_of(views, s)
    }

    #[test]
    fn joins_literal_pieces_in_each_language() {
        let cases = [
            (
                r#"String key = String.join("", "ghp_Ab12Cd", "34Ef56Gh");"#,
                r#"String key = "ghp_Ab12Cd34Ef56Gh";"#,
            ),
            (
                r#"var key = string.Join("", new[] { "ghp_Ab12Cd", "34Ef56Gh" });"#,
                r#"var key = "ghp_Ab12Cd34Ef56Gh";"#,
            ),
            (
                r#"key := strings.Join([]string{"ghp_Ab12Cd", "34Ef56Gh"}, "")"#,
                r#"key := "ghp_Ab12Cd34Ef56Gh""#,
            ),
            (
                r#"KEY = "".join(["ghp_Ab12Cd", "34Ef56Gh"])"#,
                r#"KEY = "ghp_Ab12Cd34Ef56Gh""#,
            ),
            (
                r#"const key = ['ghp_Ab12Cd', '34Ef56Gh'].join('');"#,
                r#"const key = 'ghp_Ab12Cd34Ef56Gh';"#,
            ),
            (
                r#"$key = implode('', ['ghp_Ab12Cd', '34Ef56Gh']);"#,
                r#"$key = 'ghp_Ab12Cd34Ef56Gh';"#,
            ),
            (
                r#"String key = String.join("-", List.of("abcdef", "ghijkl"));"#,
                r#"String key = "abcdef-ghijkl";"#,
            ),
            (
                "const key = [\n  'abcdefgh',\n  'ijklmnop',\n].join('');",
                "const key = 'abcdefghijklmnop';",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(run(src), [want], "{src}");
        }
    }

    #[test]
    fn leaves_joins_of_variables_and_single_pieces() {
        assert!(run(r#"msg = ", ".join(names)"#).is_empty());
        assert!(run(r#"String s = String.join("", prefix, "abcdefghijkl");"#).is_empty());
        assert!(run(r#"path := strings.Join(parts, "/")"#).is_empty());
        assert!(run(r#"x = "".join(["abcdefghijklmnop"])"#).is_empty());
        assert!(run(r#"s = [a, 'abcdefghijkl'].join('')"#).is_empty());
        assert!(run(r#"s = "".join([x for x in "abcdefghijklmnop"])"#).is_empty());
    }

    #[test]
    fn the_finding_spans_the_pieces() {
        let src = r#"key := strings.Join([]string{"ghp_Ab12Cd", "34Ef56Gh"}, "")"#;
        let views = crate::decode::views(src.as_bytes());
        let v = views
            .iter()
            .find(|v| v.how == "concatenation")
            .expect("a joined view");
        let text = String::from_utf8_lossy(&v.text);
        let at = text.find("ghp_").unwrap();
        let origin = v.origin(&(at..at + "ghp_Ab12Cd34Ef56Gh".len()));
        assert_eq!(&src[origin], r#"ghp_Ab12Cd", "34Ef56Gh"#);
    }
}
