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
            let interpolated = interpolate(src, inner);
            if !interpolated.contains("${") && !interpolated.contains("%{") {
                Val::Str(interpolated)
            } else {
                match evaluate(src, e) {
                    Evaluated::Value(v) => return placed(&v, &span),
                    Evaluated::Unknown(depends) => Val::Unknown {
                        text: interpolated,
                        depends,
                    },
                    // a resource attribute (`aws_iam_openid_connect_provider.x.url`): kept as
                    // written, the resolvers read it
                    Evaluated::Reference | Evaluated::Unsupported => Val::Str(interpolated),
                }
            }
        }
        Expression::FuncCall(f) if f.name.name.as_str() == "jsonencode" && f.args.len() == 1 => {
            // keeps the spans of the encoded literal
            return hcl_node(src, f.args.iter().next().expect("one argument"));
        }
        Expression::FuncCall(_)
        | Expression::Conditional(_)
        | Expression::ForExpr(_)
        | Expression::BinaryOp(_)
        | Expression::UnaryOp(_)
        | Expression::Traversal(_) => match evaluate(src, e) {
            Evaluated::Value(v) => return placed(&v, &span),
            Evaluated::Unknown(depends) => Val::Unknown {
                text: source(),
                depends,
            },
            Evaluated::Reference | Evaluated::Unsupported => Val::Other(source()),
        },
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

/// What evaluating an expression gave.
enum Evaluated {
    Value(Val),
    /// Depends on a value not known statically: a variable without default, a data source.
    Unknown(String),
    /// A resource attribute (`aws_iam_role.x.arn`): known only after apply, read as written.
    Reference,
    /// An expression or function the evaluator does not support; recorded as a diagnostic.
    Unsupported,
}

/// Roots of references that name things Terraform knows only at plan or apply time.
fn unknown_dependency(src: &SrcFile, text: &str) -> Option<String> {
    static REF: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = REF.get_or_init(|| {
        regex::Regex::new(
            r"\b((?:var|local|data|module)\.[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)?)",
        )
        .expect("static regex")
    });
    re.captures_iter(text).find_map(|c| {
        let r = &c[1];
        let known = |k: &str| src.tf_values.as_ref().is_some_and(|v| v.contains_key(k));
        let short: String = r.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        match r.split('.').next() {
            Some("var" | "local") if known(&short) => None,
            Some("var" | "local") => Some(short),
            _ => Some(r.to_string()),
        }
    })
}

/// A [`Val`] as an HCL value, when it is fully known.
fn to_value(v: &Val) -> Option<hcl::Value> {
    Some(match v {
        Val::Str(s) => hcl::Value::String(s.clone()),
        Val::Other(t) => match t.as_str() {
            "true" => hcl::Value::Bool(true),
            "false" => hcl::Value::Bool(false),
            "null" => hcl::Value::Null,
            n => match (n.parse::<i64>(), n.parse::<f64>()) {
                (Ok(i), _) => hcl::Value::from(i),
                (_, Ok(f)) => hcl::Value::from(f),
                _ => return None,
            },
        },
        Val::List(items) => hcl::Value::Array(
            items
                .iter()
                .map(|n| to_value(&n.val))
                .collect::<Option<_>>()?,
        ),
        Val::Map(entries) => hcl::Value::Object(
            entries
                .iter()
                .map(|e| Some((e.key.clone(), to_value(&e.value.val)?)))
                .collect::<Option<_>>()?,
        ),
        Val::Unknown { .. } => return None,
    })
}

fn from_value(v: &hcl::Value) -> Val {
    let node = |v: &hcl::Value| Node {
        span: 0..0,
        val: from_value(v),
    };
    match v {
        hcl::Value::String(s) => Val::Str(s.clone()),
        hcl::Value::Array(items) => Val::List(items.iter().map(node).collect()),
        hcl::Value::Object(m) => Val::Map(
            m.iter()
                .map(|(k, v)| Entry {
                    key: k.clone(),
                    key_span: 0..0,
                    value: node(v),
                })
                .collect(),
        ),
        other => Val::Other(other.to_string()),
    }
}

/// The module's known `var`/`local` values, `path.module`, the bound names and the functions.
fn context(src: &SrcFile) -> hcl::eval::Context<'static> {
    let mut ctx = hcl::eval::Context::new();
    super::hcl_functions::declare(&mut ctx);
    let mut vars = hcl::Map::new();
    let mut locals = hcl::Map::new();
    for (k, v) in src.tf_values.iter().flat_map(|m| m.iter()) {
        let Some(value) = to_value(v) else { continue };
        if let Some(name) = k.strip_prefix("var.") {
            vars.insert(name.to_string(), value);
        } else if let Some(name) = k.strip_prefix("local.") {
            locals.insert(name.to_string(), value);
        }
    }
    ctx.declare_var("var", hcl::Value::Object(vars));
    ctx.declare_var("local", hcl::Value::Object(locals));
    if let Some(dir) = &src.module_dir {
        let mut path = hcl::Map::new();
        path.insert(
            "module".to_string(),
            hcl::Value::String(dir.display().to_string()),
        );
        ctx.declare_var("path", hcl::Value::Object(path));
    }
    for (name, value) in src.scope.borrow().iter() {
        ctx.declare_var(name.clone(), value.clone());
    }
    ctx
}

/// Evaluates one expression with hcl-rs; `try(...)` and `can(...)` take their first argument
/// that evaluates (they need their arguments unevaluated).
pub(super) fn evaluate_value(
    src: &SrcFile,
    e: &Expression,
) -> Result<hcl::Value, hcl::eval::Error> {
    use hcl::eval::Evaluate;
    if let Expression::FuncCall(f) = e {
        match f.name.name.as_str() {
            "try" => {
                let mut last = None;
                for a in f.args.iter() {
                    match evaluate_value(src, a) {
                        Ok(v) => return Ok(v),
                        Err(err) => last = Some(err),
                    }
                }
                if let Some(err) = last {
                    return Err(err);
                }
            }
            "can" if f.args.len() == 1 => {
                let ok = evaluate_value(src, f.args.iter().next().expect("one argument")).is_ok();
                return Ok(hcl::Value::Bool(ok));
            }
            _ => {}
        }
    }
    let expr: hcl::Expression = e.clone().into();
    expr.evaluate(&context(src))
}

fn evaluate(src: &SrcFile, e: &Expression) -> Evaluated {
    let span = span_of(e);
    let text = src.text.get(span.clone()).unwrap_or_default();
    match evaluate_value(src, e) {
        Ok(v) => Evaluated::Value(from_value(&v)),
        Err(err) => {
            if let Some(depends) = unknown_dependency(src, text) {
                return Evaluated::Unknown(depends);
            }
            if let hcl::eval::ErrorKind::UndefinedVar(_) = err.kind() {
                return Evaluated::Reference;
            }
            src.unsupported.borrow_mut().push((
                span.start,
                format!("cannot evaluate `{}`: {err}", text.trim()),
            ));
            Evaluated::Unsupported
        }
    }
}
