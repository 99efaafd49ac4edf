//! Source text with positions: a line index (byte offset to 1-based line and column in
//! Unicode code points, as SARIF's `columnKind: unicodeCodePoints` wants), and a small JSON
//! reader that keeps the byte span of every value (serde_json keeps none).

use super::Loc;
use std::ops::Range;

/// One file being linted: its display path (relative, `/`-separated) and its text.
pub(crate) struct SrcFile {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Terraform: the values `var.NAME` and `local.NAME` have in this file's module.
    pub tf_values: Option<std::sync::Arc<std::collections::HashMap<String, Val>>>,
    /// Terraform: the module's directory on disk, for `path.module`.
    pub module_dir: Option<std::path::PathBuf>,
    /// Terraform: names bound while a block is expanded (`each`, a `dynamic` iterator).
    pub scope: std::cell::RefCell<Vec<(String, hcl::Value)>>,
    /// Terraform: expressions the evaluator does not support (byte offset, reason).
    pub unsupported: std::cell::RefCell<Vec<(usize, String)>>,
}

impl SrcFile {
    pub fn new(path: String, text: String) -> SrcFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SrcFile {
            path,
            text,
            line_starts,
            tf_values: None,
            module_dir: None,
            scope: Default::default(),
            unsupported: Default::default(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    pub fn loc(&self, span: &Range<usize>) -> Loc {
        let (line, column) = self.position(span.start);
        let (end_line, end_column) = self.position(span.end.max(span.start));
        Loc {
            path: self.path.clone(),
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// The whole file, for findings about a document as a whole.
    pub fn whole(&self) -> Loc {
        self.loc(&(0..0))
    }
}

/// A value with the byte span it came from. Strings keep their decoded text; anything that is
/// not a literal (a Terraform reference, a function call we do not evaluate) is `Other` with
/// its source text.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub span: Range<usize>,
    pub val: Val,
}

#[derive(Debug, Clone)]
pub(crate) enum Val {
    Str(String),
    /// Numbers, booleans, null, references, expressions: their source text.
    Other(String),
    List(Vec<Node>),
    Map(Vec<Entry>),
    /// A Terraform value that cannot be known statically: its source text and what it
    /// depends on (`var.org`, `data.aws_caller_identity.current`).
    Unknown {
        text: String,
        depends: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

impl Node {
    /// Value of a key in a map, keys compared ASCII case-insensitively (IAM's element names
    /// are case-sensitive in theory, but policies in the wild vary; a lint should still read them).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.val {
            Val::Map(m) => m.iter().find(|e| e.key.eq_ignore_ascii_case(key)),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.val {
            Val::Map(m) => m,
            _ => &[],
        }
    }

    /// The text of a scalar: a string's value or an expression's source.
    pub fn text(&self) -> Option<&str> {
        match &self.val {
            Val::Str(s) | Val::Other(s) => Some(s),
            Val::Unknown { text, .. } => Some(text),
            _ => None,
        }
    }

    /// What an unknown value depends on.
    pub fn depends(&self) -> Option<&str> {
        match &self.val {
            Val::Unknown { depends, .. } => Some(depends),
            _ => None,
        }
    }

    /// A scalar or a list of scalars, as IAM allows for `Action`, `Principal`, condition values.
    pub fn scalars(&self) -> Vec<&Node> {
        match &self.val {
            Val::List(items) => items.iter().filter(|n| n.text().is_some()).collect(),
            Val::Map(_) => Vec::new(),
            _ => vec![self],
        }
    }

    /// Moves every span to `span`: for values decoded from inside a string literal, whose
    /// offsets do not map back to the file.
    pub fn flatten_spans(&mut self, span: &Range<usize>) {
        self.span = span.clone();
        match &mut self.val {
            Val::List(items) => items.iter_mut().for_each(|n| n.flatten_spans(span)),
            Val::Map(entries) => entries.iter_mut().for_each(|e| {
                e.key_span = span.clone();
                e.value.flatten_spans(span)
            }),
            _ => {}
        }
    }
}

/// A JSON syntax error: byte offset and reason.
#[derive(Debug)]
pub(crate) struct JsonError {
    pub offset: usize,
    pub message: String,
}

/// Parses JSON text; spans are `base` plus offsets into `text`.
pub(crate) fn parse_json(text: &str, base: usize) -> Result<Node, JsonError> {
    let mut p = JsonParser {
        s: text.as_bytes(),
        text,
        i: 0,
        base,
        depth: 0,
    };
    p.ws();
    // A UTF-8 byte order mark is tolerated, as editors on some platforms write it.
    if text.starts_with('\u{feff}') {
        p.i = 3;
        p.ws();
    }
    let node = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(node)
}

struct JsonParser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    base: usize,
    depth: usize,
}

impl JsonParser<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError {
            offset: self.base + self.i,
            message: message.to_string(),
        }
    }

    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Node, JsonError> {
        self.depth += 1;
        if self.depth > 128 {
            return Err(self.err("nesting deeper than 128 levels"));
        }
        let start = self.i;
        let val =
            match self.s.get(self.i) {
                None => return Err(self.err("unexpected end of input")),
                Some(b'{') => self.object()?,
                Some(b'[') => self.array()?,
                Some(b'"') => Val::Str(self.string()?),
                Some(b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
                    while self.s.get(self.i).is_some_and(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
                    }) {
                        self.i += 1;
                    }
                    let word = &self.text[start..self.i];
                    let ok = matches!(word, "true" | "false" | "null")
                        || serde_json::from_str::<serde_json::Number>(word).is_ok();
                    if !ok {
                        self.i = start;
                        return Err(self.err(&format!("invalid literal `{word}`")));
                    }
                    Val::Other(word.to_string())
                }
                Some(_) => return Err(self.err("expected a JSON value")),
            };
        self.depth -= 1;
        Ok(Node {
            span: self.base + start..self.base + self.i,
            val,
        })
    }

    fn object(&mut self) -> Result<Val, JsonError> {
        self.i += 1;
        let mut entries = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Val::Map(entries));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key_start = self.i;
            let key = self.string()?;
            let key_span = self.base + key_start..self.base + self.i;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.err("expected `:` after the key"));
            }
            self.i += 1;
            self.ws();
            let value = self.value()?;
            entries.push(Entry {
                key,
                key_span,
                value,
            });
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Val::Map(entries));
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<Val, JsonError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Val::List(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Val::List(items));
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    /// A string literal, decoded by serde_json (escapes, surrogate pairs).
    fn string(&mut self) -> Result<String, JsonError> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.s.get(self.i) {
                None => {
                    self.i = start;
                    return Err(self.err("unterminated string"));
                }
                Some(b'\\') => self.i += 2,
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(_) => self.i += 1,
            }
        }
        let raw = self.text.get(start..self.i).unwrap_or("");
        serde_json::from_str::<String>(raw).map_err(|e| JsonError {
            offset: self.base + start,
            message: format!("invalid string: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_positions() {
        let text = "{\n  \"a\": [\"x\", 1],\n  \"é\": \"y\"\n}";
        let f = SrcFile::new("f.json".into(), text.into());
        let n = parse_json(text, 0).unwrap();
        let a = n.get("A").unwrap();
        assert_eq!(f.position(a.span.start), (2, 8));
        let y = n.get("é").unwrap();
        assert_eq!(y.text(), Some("y"));
        assert_eq!(f.position(y.span.start), (3, 8));
        assert!(parse_json("{\"a\": }", 0).is_err());
        assert!(parse_json("[1, 2", 0).is_err());
        assert!(parse_json("{} x", 0).is_err());
    }
}
