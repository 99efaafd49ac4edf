//! Decoded views of a blob: the same text with an encoded or split value made plain, so the
//! one `Detector` sees secrets that are base64-wrapped, percent- or escape-encoded, or written
//! as concatenated or joined literals.
//!
//! One way only: source bytes -> views -> detection. Each view is the line (or lines) around
//! an encoded span with that span replaced by its decoded form, so the name before a value
//! (`password:`, `"auth":`) still gives generic rules their context. Every byte of a view
//! remembers which bytes of the original it came from; a finding in a view is reported at the
//! encoded span of the original file.

mod base64;
mod concat;
mod escape;
mod join;
mod percent;
mod template;

use std::ops::Range;

/// How many decodings may be stacked (base64 inside percent-encoding, escapes inside joined
/// literals).
const MAX_DEPTH: usize = 2;
/// A blob never yields more views than this: a pathological file costs little.
const MAX_VIEWS: usize = 256;

/// A decoded view of part of a blob.
#[derive(Debug, Clone)]
pub struct View {
    pub text: Vec<u8>,
    /// For each byte of `text`, the byte range of the original blob it came from.
    src: Vec<(u32, u32)>,
    /// For each byte, whether a decoding produced it (identity copies of the line are not).
    changed: Vec<bool>,
    /// The decodings applied, outermost first: `base64`, `percent+base64`, `concatenation`.
    pub how: String,
}

impl View {
    /// The span of the original blob that `r` (a range of `text`) came from.
    pub fn origin(&self, r: &Range<usize>) -> Range<usize> {
        if r.is_empty() || r.start >= self.src.len() {
            let at = self.src.get(r.start).map_or(0, |s| s.0 as usize);
            return at..at;
        }
        let end = r.end.min(self.src.len());
        let start = self.src[r.start..end]
            .iter()
            .map(|s| s.0)
            .min()
            .unwrap_or(0);
        let stop = self.src[r.start..end]
            .iter()
            .map(|s| s.1)
            .max()
            .unwrap_or(0);
        start as usize..stop as usize
    }

    /// Whether `r` touches a decoded byte: otherwise the plain scan already saw it.
    pub fn is_decoded(&self, r: &Range<usize>) -> bool {
        let end = r.end.min(self.changed.len());
        r.start < end && self.changed[r.start..end].iter().any(|&c| c)
    }
}

/// A view under construction, in the coordinates of its input text.
#[derive(Default)]
struct Builder {
    text: Vec<u8>,
    src: Vec<(u32, u32)>,
    changed: Vec<bool>,
}

impl Builder {
    /// Copies `input[r]` unchanged.
    fn copy(&mut self, input: &[u8], r: Range<usize>) {
        for i in r.clone() {
            self.src.push((i as u32, i as u32 + 1));
        }
        self.text.extend_from_slice(&input[r]);
        self.changed.resize(self.text.len(), false);
    }

    /// Appends `bytes`, decoded from `from` of the input.
    fn decoded(&mut self, bytes: &[u8], from: Range<usize>) {
        self.text.extend_from_slice(bytes);
        self.src
            .resize(self.text.len(), (from.start as u32, from.end as u32));
        self.changed.resize(self.text.len(), true);
    }

    /// Appends `input[r]` as a decoded value that keeps its bytes (a joined literal piece).
    fn joined(&mut self, input: &[u8], r: Range<usize>) {
        let start = self.text.len();
        self.copy(input, r);
        self.changed[start..].fill(true);
    }
}

/// A decoder: every view it can make of `input`, for candidate spans `want` accepts.
type Decoder = fn(&[u8], &dyn Fn(&Range<usize>) -> bool, &mut Vec<(Builder, &'static str)>);

const DECODERS: [Decoder; 6] = [
    base64::views,
    percent::views,
    escape::views,
    concat::views,
    join::views,
    template::views,
];

/// Every decoded view of `bytes`, nested up to `MAX_DEPTH`.
pub fn views(bytes: &[u8]) -> Vec<View> {
    let mut out: Vec<View> = Vec::new();
    let mut found = Vec::new();
    for d in DECODERS {
        d(bytes, &|_| true, &mut found);
    }
    for (b, how) in found.drain(..) {
        out.push(View {
            text: b.text,
            src: b.src,
            changed: b.changed,
            how: how.to_string(),
        });
    }
    out.truncate(MAX_VIEWS);
    let mut layer = 0..out.len();
    for _ in 1..MAX_DEPTH {
        let mut next = Vec::new();
        for parent in &out[layer.clone()] {
            let want = |r: &Range<usize>| parent.is_decoded(r);
            for d in DECODERS {
                d(&parent.text, &want, &mut found);
            }
            for (b, how) in found.drain(..) {
                next.push(compose(parent, b, how));
            }
        }
        let start = out.len();
        out.extend(next);
        out.truncate(MAX_VIEWS);
        layer = start..out.len();
        if layer.is_empty() {
            break;
        }
    }
    out
}

/// A view of a view, mapped back to the original blob.
fn compose(parent: &View, b: Builder, how: &str) -> View {
    let src = b
        .src
        .iter()
        .map(|&(s, e)| {
            let r = parent.origin(&(s as usize..e as usize));
            (r.start as u32, r.end as u32)
        })
        .collect();
    let changed = b
        .changed
        .iter()
        .zip(&b.src)
        .map(|(&c, &(s, e))| c || parent.is_decoded(&(s as usize..e as usize)))
        .collect();
    View {
        text: b.text,
        src,
        changed,
        how: format!("{}+{how}", parent.how),
    }
}

/// Byte range of the line holding `pos` (without its line break).
fn line_of(bytes: &[u8], pos: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &bytes[..pos]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |p| pos + p);
    start..end
}

/// How much of the line before and after a decoded span a view keeps: enough for the name
/// and separator a generic rule reads, little enough that a long minified line costs little.
const CONTEXT_BEFORE: usize = 160;
const CONTEXT_AFTER: usize = 80;

/// The part of the line(s) around `span` that a view keeps.
/// Only the bytes within reach are searched for line breaks: a long line costs no more.
fn context(input: &[u8], span: &Range<usize>) -> (Range<usize>, Range<usize>) {
    let from = span.start.saturating_sub(CONTEXT_BEFORE);
    let start = memchr::memrchr(b'\n', &input[from..span.start]).map_or(from, |p| from + p + 1);
    let to = input.len().min(span.end + CONTEXT_AFTER);
    let end = memchr::memchr(b'\n', &input[span.end..to]).map_or(to, |p| span.end + p);
    (start..span.start, span.end..end)
}

/// The view of the line(s) around `span` with `span` replaced by `decoded`.
fn replace_in_line(input: &[u8], span: Range<usize>, decoded: &[u8]) -> Builder {
    let (before, after) = context(input, &span);
    let mut b = Builder::default();
    b.copy(input, before);
    b.decoded(decoded, span);
    b.copy(input, after);
    b
}

/// Whether decoded bytes read as text: printable ASCII and whitespace, almost entirely.
fn mostly_printable(bytes: &[u8]) -> bool {
    let bad = bytes
        .iter()
        .filter(|&&b| !(b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b)))
        .count();
    bad * 50 <= bytes.len()
}

/// The texts one decoder's views produce from `s` (its unit tests' helper).
#[cfg(test)]
fn texts_of(views: Decoder, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    views(s.as_bytes(), &|_| true, &mut out);
    out.into_iter()
        .map(|(b, _)| String::from_utf8_lossy(&b.text).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded_texts(input: &str) -> Vec<(String, String)> {
        views(input.as_bytes())
            .into_iter()
            .map(|v| (v.how.clone(), String::from_utf8_lossy(&v.text).into_owned()))
            .collect()
    }

    #[test]
    fn base64_value_is_decoded_in_its_line() {
        let enc = ::base64::Engine::encode(
            &::base64::engine::general_purpose::STANDARD,
            "Zk3pQ9-wV2mLr8sYb4nH",
        );
        let text = format!("data:\n  password: {enc}\n");
        let v = decoded_texts(&text);
        assert!(
            v.contains(&("base64".into(), "  password: Zk3pQ9-wV2mLr8sYb4nH".into())),
            "{v:?}"
        );
    }

    #[test]
    fn origin_is_the_encoded_span() {
        let enc = ::base64::Engine::encode(
            &::base64::engine::general_purpose::STANDARD,
            "user:Zk3pQ9wV2mLr8sYb4nH",
        );
        let text = format!("{{\"auth\": \"{enc}\"}}");
        let views = views(text.as_bytes());
        let v = views.iter().find(|v| v.how == "base64").expect("a view");
        let at = v
            .text
            .windows(4)
            .position(|w| w == b"user")
            .expect("decoded");
        let o = v.origin(&(at..at + 4));
        assert_eq!(&text[o], enc);
        assert!(v.is_decoded(&(at..at + 4)));
        assert!(!v.is_decoded(&(0..3)));
    }

    #[test]
    fn nested_percent_then_base64() {
        let enc = ::base64::Engine::encode(
            &::base64::engine::general_purpose::STANDARD,
            "token=Zk3pQ9wV2mLr8sYb4nHq",
        );
        let pct = enc
            .replace('=', "%3D")
            .replace('+', "%2B")
            .replace('/', "%2F");
        let text = format!("https://example.test/cb?state={pct}%3D%3D&x=1");
        let v = decoded_texts(&text);
        assert!(
            v.iter()
                .any(|(h, t)| h == "percent+base64" && t.contains("token=Zk3pQ9wV2mLr8sYb4nHq")),
            "{v:?}"
        );
    }

    #[test]
    fn ordinary_code_makes_few_views() {
        let code = "fn main() {\n    let configuration_value = compute_the_thing(argument_one);\n    println!(\"{}\", configuration_value);\n}\n";
        assert!(views(code.as_bytes()).is_empty());
    }
}
