//! What a Terraform expression stands for: literals, `var.NAME` and `local.NAME` (defaults,
//! tfvars, locals), and templates over them.

use super::terraform::labels;
use crate::trust::source::{Entry, Node, SrcFile, Val};
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::Body;
use hcl::edit::Span;
use std::collections::HashMap;
use std::ops::Range;

pub(super) fn span_of(e: &impl Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

/// A Terraform expression as a [`Node`]: literals, lists and objects become values; a
/// template keeps its text between the quotes (`repo:${var.org}/*`); anything else keeps its
/// source text.
pub(super) fn hcl_node(src: &SrcFile, e: &Expression) -> Node {
    let span = span_of(e);
    let source = || {
        src.text
            .get(span.clone())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    if let Some(v) = reference_key(e).and_then(|k| src.tf_values.as_ref()?.get(&k).cloned()) {
        return placed(&v, &span);
    }
    let val = match e {
        Expression::String(s) => Val::Str(s.value().to_string()),
        Expression::StringTemplate(_) => {
            let raw = source();
            let inner = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(&raw);
            Val::Str(interpolate(src, inner))
        }
        Expression::Array(items) => Val::List(items.iter().map(|i| hcl_node(src, i)).collect()),
        Expression::Object(obj) => Val::Map(
            obj.iter()
                .map(|(k, v)| {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(ke) => {
                            let n = hcl_node(src, ke);
                            n.text().unwrap_or_default().to_string()
                        }
                    };
                    Entry {
                        key,
                        key_span: span_of(k),
                        value: hcl_node(src, v.expr()),
                    }
                })
                .collect(),
        ),
        Expression::Parenthesis(p) => return hcl_node(src, p.inner()),
        Expression::FuncCall(f)
            if matches!(f.name.name.as_str(), "tolist" | "toset" | "jsonencode")
                && f.args.len() == 1 =>
        {
            return hcl_node(src, f.args.iter().next().expect("one argument"));
        }
        _ => Val::Other(source()),
    };
    Node { span, val }
}

/// The directory of a display path: a Terraform module.
fn module_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// What `var.NAME` and `local.NAME` stand for in each module: a variable's `default`, replaced
/// by `terraform.tfvars` and `*.auto.tfvars` in the module's directory (Terraform's own order),
/// and `locals` evaluated over those. A value keysweep cannot evaluate stays as its source text.
pub(super) fn module_values(files: &mut [(SrcFile, Body)], tfvars: &[(SrcFile, Body)]) {
    let mut by_module: HashMap<String, HashMap<String, Val>> = HashMap::new();
    for (src, body) in files.iter() {
        let m = by_module
            .entry(module_of(&src.path).to_string())
            .or_default();
        for b in body.get_blocks("variable") {
            let (name, _) = labels(b);
            if let Some(d) = b.body.get_attribute("default") {
                m.insert(format!("var.{name}"), hcl_node(src, &d.value).val);
            }
        }
    }
    // `terraform.tfvars` first, then `*.auto.tfvars` in lexical order (the walk is sorted)
    let mut ordered: Vec<&(SrcFile, Body)> = tfvars.iter().collect();
    ordered.sort_by_key(|(s, _)| {
        let name = s.path.rsplit('/').next().unwrap_or(&s.path);
        (name != "terraform.tfvars", s.path.clone())
    });
    for (src, body) in ordered {
        let m = by_module
            .entry(module_of(&src.path).to_string())
            .or_default();
        for a in body.attributes() {
            m.insert(
                format!("var.{}", a.key.as_str()),
                hcl_node(src, &a.value).val,
            );
        }
    }
    // locals may use variables and other locals: a few rounds settle any chain worth writing
    for _ in 0..4 {
        for (src, body) in files.iter_mut() {
            let module = module_of(&src.path).to_string();
            src.tf_values = by_module.get(&module).cloned().map(std::sync::Arc::new);
            let mut found = Vec::new();
            for b in body.get_blocks("locals") {
                for a in b.body.attributes() {
                    found.push((
                        format!("local.{}", a.key.as_str()),
                        hcl_node(src, &a.value).val,
                    ));
                }
            }
            by_module.entry(module).or_default().extend(found);
        }
    }
    for (src, _) in files.iter_mut() {
        src.tf_values = by_module
            .get(module_of(&src.path))
            .cloned()
            .map(std::sync::Arc::new);
    }
}

/// `var.NAME` / `local.NAME` as a key of [`SrcFile::tf_values`], for a plain reference.
fn reference_key(e: &Expression) -> Option<String> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let root = root.value().as_str();
    if !matches!(root, "var" | "local") || t.operators.len() != 1 {
        return None;
    }
    match t.operators[0].value() {
        hcl::edit::expr::TraversalOperator::GetAttr(name) => {
            Some(format!("{root}.{}", name.value().as_str()))
        }
        _ => None,
    }
}

/// A module value placed where it is used: every span is the use's.
fn placed(val: &Val, span: &Range<usize>) -> Node {
    let mut n = Node {
        span: span.clone(),
        val: val.clone(),
    };
    n.flatten_spans(span);
    n
}

/// A template's text with `${var.NAME}` / `${local.NAME}` replaced by their string values;
/// anything else stays as written.
fn interpolate(src: &SrcFile, template: &str) -> String {
    let Some(values) = src.tf_values.as_ref() else {
        return template.to_string();
    };
    static REF: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = REF.get_or_init(|| {
        regex::Regex::new(r"\$\{\s*((?:var|local)\.[A-Za-z_][A-Za-z0-9_-]*)\s*\}")
            .expect("static regex")
    });
    re.replace_all(template, |c: &regex::Captures| match values.get(&c[1]) {
        Some(Val::Str(s)) => s.clone(),
        _ => c[0].to_string(),
    })
    .into_owned()
}
