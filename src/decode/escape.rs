//! Backslash escapes in string literals and JSON: `\xNN`, `\uNNNN`, `\n`, `\"`. A key written
//! with `\n` for its line breaks, a token spelled in `\x` escapes, JSON inside a string.

use super::Builder;
use std::ops::Range;

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    let mut from = 0;
    while from < input.len() {
        let Some(p) = memchr::memchr(b'\\', &input[from..]).map(|p| from + p) else {
            break;
        };
        let line = super::line_of(input, p);
        from = line.end + 1;
        if !worth_decoding(&input[line.clone()]) || !want(&line) {
            continue;
        }
        // On a long (minified) line only the part from the first escape to the last, with
        // the usual context, is decoded.
        let line = if line.len() > 4096 {
            let first =
                memchr::memchr(b'\\', &input[line.clone()]).map_or(line.start, |i| line.start + i);
            let last = memchr::memrchr(b'\\', &input[line.clone()])
                .map_or(line.end, |i| line.start + i + 1);
            let (before, after) = super::context(input, &(first..last));
            before.start..after.end
        } else {
            line
        };
        if let Some(b) = decode_line(input, line) {
            out.push((b, "escape"));
        }
    }
}

/// Only lines whose escapes can hide something: hex or unicode escapes, several `\n` (a key
/// or a file in one literal) or several escaped quotes (JSON inside a string).
fn worth_decoding(line: &[u8]) -> bool {
    let (mut newlines, mut quotes) = (0, 0);
    for w in line.windows(2) {
        if w[0] != b'\\' {
            continue;
        }
        match w[1] {
            b'x' | b'u' => return true,
            b'n' => newlines += 1,
            b'"' => quotes += 1,
            _ => {}
        }
    }
    newlines >= 2 || quotes >= 2
}

/// The line with its escapes decoded, if any was.
fn decode_line(input: &[u8], line: Range<usize>) -> Option<Builder> {
    let mut b = Builder::default();
    let mut i = line.start;
    let mut plain = i;
    let mut any = false;
    while i < line.end {
        if input[i] != b'\\' || i + 1 >= line.end {
            i += 1;
            continue;
        }
        let (len, value): (usize, Option<char>) = match input[i + 1] {
            b'n' => (2, Some('\n')),
            b'r' => (2, Some('\r')),
            b't' => (2, Some('\t')),
            b'"' | b'\'' | b'\\' | b'/' => (2, Some(input[i + 1] as char)),
            b'x' => (4, hex_value(input, i + 2, 2, line.end)),
            b'u' => (6, hex_value(input, i + 2, 4, line.end)),
            _ => (2, None),
        };
        match value {
            Some(c) => {
                b.copy(input, plain..i);
                let mut buf = [0u8; 4];
                b.decoded(c.encode_utf8(&mut buf).as_bytes(), i..i + len);
                i += len;
                plain = i;
                any = true;
            }
            None => i += 2,
        }
    }
    b.copy(input, plain..line.end.max(plain));
    any.then_some(b)
}

fn hex_value(input: &[u8], at: usize, digits: usize, end: usize) -> Option<char> {
    if at + digits > end {
        return None;
    }
    let mut v = 0u32;
    for &d in &input[at..at + digits] {
        v = v * 16 + hex(d)?;
    }
    char::from_u32(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        crate::decode::texts_of(views, s)
    }

    #[test]
    fn decodes_hex_unicode_and_newlines() {
        assert_eq!(run(r#"k = "\x67hp_\u0041b""#), [r#"k = "ghp_Ab""#]);
        assert_eq!(run(r#""key": "A\nB\nC""#), ["\"key\": \"A\nB\nC\""]);
        assert!(run(r#"re = "\d+\s*""#).is_empty());
    }
}
