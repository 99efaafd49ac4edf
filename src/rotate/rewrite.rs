//! Span-preserving workflow edits.
//!
//! Every edit names a node by its `yamlpath` route and is applied to the original text:
//! `yamlpatch` for value replacements, key removals and additions inside an existing mapping,
//! and two small insertions of our own that `yamlpatch` 1.26 does not have (a key placed
//! before a named sibling key, a step placed before a given step). Bytes outside the edited
//! nodes are never touched. The result is re-parsed after every edit.

use std::fmt;

use serde::Serialize;
use yaml_serde::Value;
use yamlpath::{Component, Document, Route};

use super::error::RotateError;

/// A route that owns its keys.
pub type Path = Vec<Seg>;

/// One component of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => write!(f, "{k}"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// `jobs.deploy.steps[1].with`
pub fn show(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

/// The `yamlpath` route of a path of keys and indices.
pub fn route(path: &[Seg]) -> Route<'static> {
    Route::from(
        path.iter()
            .map(|s| match s {
                Seg::Key(k) => Component::Key(std::borrow::Cow::Owned(k.clone())),
                Seg::Index(i) => Component::Index(*i),
            })
            .collect::<Vec<_>>(),
    )
}

/// One edit to one file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum EditOp {
    /// Replace the value at `path` (the key, its comment and quoting style of siblings stay).
    Replace { path: Path, value: Value },
    /// Remove the key (or sequence item) at `path`, with its line(s).
    Remove { path: Path },
    /// Add `key: value` at the end of the block mapping at `path`.
    Add {
        path: Path,
        key: String,
        value: Value,
    },
    /// Add `key: value` to the block mapping at `path`, on the line before key `before`.
    AddBefore {
        path: Path,
        before: String,
        key: String,
        value: Value,
    },
    /// Insert `step` into the block sequence at `path`, before item `index`.
    InsertItem {
        path: Path,
        index: usize,
        value: Value,
    },
}

impl EditOp {
    /// The node the edit touches (for ordering and reports).
    pub fn path(&self) -> &[Seg] {
        match self {
            EditOp::Replace { path, .. }
            | EditOp::Remove { path }
            | EditOp::Add { path, .. }
            | EditOp::AddBefore { path, .. }
            | EditOp::InsertItem { path, .. } => path,
        }
    }

    /// Application order: in-place edits first (they keep sequence indices valid), then
    /// removals from the deepest/last node, then insertions of items from the last index.
    fn rank(&self) -> (u8, std::cmp::Reverse<Path>, std::cmp::Reverse<usize>) {
        use std::cmp::Reverse;
        match self {
            EditOp::Replace { path, .. } => (0, Reverse(path.clone()), Reverse(0)),
            EditOp::Add { path, .. } | EditOp::AddBefore { path, .. } => {
                (1, Reverse(path.clone()), Reverse(0))
            }
            EditOp::Remove { path } => (2, Reverse(path.clone()), Reverse(0)),
            EditOp::InsertItem { path, index, .. } => (3, Reverse(path.clone()), Reverse(*index)),
        }
    }
}

/// An edit with the reason a reviewer reads.
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    /// File path relative to the repository root.
    pub file: String,
    pub description: String,
    #[serde(flatten)]
    pub op: EditOp,
}

/// Apply `ops` to `text`. Fails (and nothing is applied) if any op fails or the result does
/// not parse as YAML.
pub fn apply(text: &str, ops: &[&EditOp]) -> Result<String, RotateError> {
    let mut ordered: Vec<&EditOp> = ops.to_vec();
    ordered.sort_by_key(|o| o.rank());
    // items inserted at one index land in the order given: apply the last one first
    let mut i = 0;
    while i < ordered.len() {
        let mut j = i + 1;
        while j < ordered.len()
            && matches!(ordered[i], EditOp::InsertItem { .. })
            && ordered[j].rank() == ordered[i].rank()
        {
            j += 1;
        }
        ordered[i..j].reverse();
        i = j;
    }
    let mut cur = text.to_string();
    for op in ordered {
        cur = apply_one(&cur, op)?;
        yaml_serde::from_str::<Value>(&cur).map_err(|e| RotateError::Patch {
            path: show(op.path()),
            message: format!("the edit produced invalid YAML: {e}"),
        })?;
    }
    Ok(cur)
}

fn doc(text: &str) -> Result<Document, RotateError> {
    Document::new(text.to_string()).map_err(|e| RotateError::Patch {
        path: String::new(),
        message: e.to_string(),
    })
}

fn patch_err(path: &[Seg], e: impl fmt::Display) -> RotateError {
    RotateError::Patch {
        path: show(path),
        message: e.to_string(),
    }
}

fn yamlpatch_one(
    text: &str,
    path: &[Seg],
    op: yamlpatch::Op<'static>,
) -> Result<String, RotateError> {
    let d = doc(text)?;
    let p = yamlpatch::Patch {
        route: route(path),
        operation: op,
    };
    yamlpatch::apply_yaml_patches(&d, &[p])
        .map(|d| d.source().to_string())
        .map_err(|e| patch_err(path, e))
}

fn apply_one(text: &str, op: &EditOp) -> Result<String, RotateError> {
    match op {
        EditOp::Replace { path, value } => {
            yamlpatch_one(text, path, yamlpatch::Op::Replace(value.clone()))
        }
        EditOp::Remove { path } => {
            ensure_block_parent(text, path)?;
            yamlpatch_one(text, path, yamlpatch::Op::Remove)
        }
        EditOp::Add { path, key, value } => yamlpatch_one(
            text,
            path,
            yamlpatch::Op::Add {
                key: key.clone(),
                value: value.clone(),
            },
        ),
        EditOp::AddBefore {
            path,
            before,
            key,
            value,
        } => add_before(text, path, before, key, value),
        EditOp::InsertItem { path, index, value } => insert_item(text, path, *index, value),
    }
}

/// `yamlpatch`'s `Remove` deletes whole lines: only sound inside block collections.
fn ensure_block_parent(text: &str, path: &[Seg]) -> Result<(), RotateError> {
    let d = doc(text)?;
    let parent = &path[..path.len().saturating_sub(1)];
    if parent.is_empty() {
        return Ok(());
    }
    let f = d
        .query_exact(&route(parent))
        .map_err(|e| patch_err(parent, e))?
        .ok_or_else(|| patch_err(parent, "no such node"))?;
    let t = d.extract(&f).trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return Err(patch_err(
            path,
            "the node is in a flow collection; keysweep only removes keys from block collections",
        ));
    }
    Ok(())
}

fn line_start(text: &str, byte: usize) -> usize {
    text[..byte].rfind('\n').map_or(0, |i| i + 1)
}

/// Render `value` as block YAML, every line indented by `indent`.
fn render_block(value: &Value, indent: &str, text: &str) -> Result<String, RotateError> {
    let s = yaml_serde::to_string(value).map_err(|e| RotateError::Patch {
        path: String::new(),
        message: e.to_string(),
    })?;
    let s = s.strip_prefix("---\n").unwrap_or(&s);
    let mut out = String::new();
    for line in s.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(indent);
            out.push_str(line);
            // a pinned action gets its version comment, as a person would write it
            if let Some(v) = super::action_ref::version_comment(line, text) {
                out.push_str(" # ");
                out.push_str(&v);
            }
            out.push('\n');
        }
    }
    Ok(out)
}

fn add_before(
    text: &str,
    path: &[Seg],
    before: &str,
    key: &str,
    value: &Value,
) -> Result<String, RotateError> {
    let d = doc(text)?;
    let mut kp = path.to_vec();
    kp.push(Seg::Key(before.to_string()));
    let kf = d
        .query_key_only(&route(&kp))
        .map_err(|e| patch_err(&kp, e))?;
    let at = kf.location.byte_span.0;
    let mut ls = line_start(text, at);
    let indent = &text[ls..at];
    if !indent.chars().all(|c| c == ' ') {
        return Err(patch_err(
            &kp,
            "key is not at the start of its line (flow mapping?)",
        ));
    }
    // blank lines and comments right above the key stay with it: insert above them
    while ls > 0 {
        let prev = line_start(text, ls - 1);
        let t = text[prev..ls].trim();
        if t.is_empty() || t.starts_with('#') {
            ls = prev;
        } else {
            break;
        }
    }
    let mut m = yaml_serde::Mapping::new();
    m.insert(Value::String(key.to_string()), value.clone());
    let block = render_block(&Value::Mapping(m), indent, text)?;
    let mut out = String::with_capacity(text.len() + block.len());
    out.push_str(&text[..ls]);
    out.push_str(&block);
    out.push_str(&text[ls..]);
    Ok(out)
}

fn insert_item(
    text: &str,
    path: &[Seg],
    index: usize,
    value: &Value,
) -> Result<String, RotateError> {
    let d = doc(text)?;
    let mut ip = path.to_vec();
    ip.push(Seg::Index(index));
    let f = d
        .query_exact(&route(&ip))
        .map_err(|e| patch_err(&ip, e))?
        .ok_or_else(|| patch_err(&ip, "no such item"))?;
    // the item's `- ` marker precedes the feature on its first line
    let at = f.location.byte_span.0;
    let ls = line_start(text, at);
    let prefix = &text[ls..at];
    let Some(dash) = prefix.find('-') else {
        return Err(patch_err(&ip, "not a block sequence item"));
    };
    if !prefix[..dash].chars().all(|c| c == ' ') {
        return Err(patch_err(&ip, "not a block sequence item"));
    }
    let seq_indent = &prefix[..dash];
    let item_indent = format!("{seq_indent}  ");
    let body = render_block(value, &item_indent, text)?;
    // turn the first line's indentation into the `- ` marker
    let body = format!("{seq_indent}- {}", &body[item_indent.len()..]);
    let mut out = String::with_capacity(text.len() + body.len());
    out.push_str(&text[..ls]);
    out.push_str(&body);
    out.push_str(&text[ls..]);
    Ok(out)
}

/// A unified diff of one file (`a/PATH`, `b/PATH` headers, three lines of context).
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// A mapping value from pairs, keeping order.
pub fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let mut m = yaml_serde::Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::String(k.to_string()), v);
    }
    Value::Mapping(m)
}

pub fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WF: &str = "\
on: push # trigger
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4 # pinned
      - run: echo 'hi'
        env:
          X: \"1\"
          Y: ${{ secrets.Y }} # the key
";

    #[test]
    fn add_before_and_insert_and_remove() {
        let ops = [
            EditOp::AddBefore {
                path: vec![k("jobs"), k("a")],
                before: "steps".into(),
                key: "permissions".into(),
                value: map([("contents", s("read")), ("id-token", s("write"))]),
            },
            EditOp::InsertItem {
                path: vec![k("jobs"), k("a"), k("steps")],
                index: 1,
                value: map([("uses", s("x/y@v1")), ("id", s("auth"))]),
            },
            EditOp::Remove {
                path: vec![
                    k("jobs"),
                    k("a"),
                    k("steps"),
                    Seg::Index(1),
                    k("env"),
                    k("Y"),
                ],
            },
        ];
        let out = apply(WF, &ops.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(
            out,
            "\
on: push # trigger
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@v4 # pinned
      - uses: x/y@v1
        id: auth
      - run: echo 'hi'
        env:
          X: \"1\"
"
        );
    }
}
