//! The Terraform functions trust modules build subjects, keys and policies with, for hcl-rs's
//! evaluator (which ships none): `format`, `formatlist`, `replace`, `join`, `concat`,
//! `flatten`, `distinct`, `lower`, `coalesce`, `jsonencode`, `templatefile` and a few more.
//! `try` and `can` need their arguments unevaluated; `terraform_eval` handles them.

use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use hcl::Value;

fn s(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {other}")),
    }
}

fn list(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a.clone()),
        other => Err(format!("expected a list, got {other}")),
    }
}

/// Terraform's `format` verbs that matter for strings: `%s`, `%d`, `%v`, `%q`, `%%`.
fn sprintf(fmt: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s' | 'd' | 'v') => out.push_str(&s(args.next().ok_or("too few arguments")?)?),
            Some('q') => out.push_str(&format!(
                "{:?}",
                s(args.next().ok_or("too few arguments")?)?
            )),
            other => return Err(format!("unsupported format verb %{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

fn format(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(sprintf(&s(&a[0])?, &a[1..])?))
}

fn formatlist(a: FuncArgs) -> Result<Value, String> {
    let fmt = s(&a[0])?;
    let n = a[1..]
        .iter()
        .filter_map(|v| v.as_array().map(Vec::len))
        .max()
        .unwrap_or(1);
    let mut out = Vec::new();
    for i in 0..n {
        let row: Vec<Value> = a[1..]
            .iter()
            .map(|v| match v {
                Value::Array(items) => items.get(i).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(sprintf(&fmt, &row)?));
    }
    Ok(Value::Array(out))
}

fn replace(a: FuncArgs) -> Result<Value, String> {
    let (text, from, to) = (s(&a[0])?, s(&a[1])?, s(&a[2])?);
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        let re = regex::Regex::new(&from[1..from.len() - 1]).map_err(|e| e.to_string())?;
        return Ok(Value::String(
            re.replace_all(&text, to.as_str()).into_owned(),
        ));
    }
    Ok(Value::String(text.replace(&from, &to)))
}

fn join(a: FuncArgs) -> Result<Value, String> {
    let sep = s(&a[0])?;
    let mut parts = Vec::new();
    for l in &a[1..] {
        for v in list(l)? {
            parts.push(s(&v)?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

fn concat(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for l in a.iter() {
        out.extend(list(l)?);
    }
    Ok(Value::Array(out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other.clone()),
    }
}

fn flatten(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    flatten_into(&a[0], &mut out);
    Ok(Value::Array(out))
}

fn distinct(a: FuncArgs) -> Result<Value, String> {
    let mut out: Vec<Value> = Vec::new();
    for v in list(&a[0])? {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::Array(out))
}

fn lower(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(s(&a[0])?.to_lowercase()))
}

fn coalesce(a: FuncArgs) -> Result<Value, String> {
    a.iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-empty argument".to_string())
}

fn jsonencode(a: FuncArgs) -> Result<Value, String> {
    serde_json::to_string(&a[0])
        .map(Value::String)
        .map_err(|e| e.to_string())
}

fn identity(a: FuncArgs) -> Result<Value, String> {
    Ok(a[0].clone())
}

fn merge(a: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for v in a.iter() {
        match v {
            Value::Object(m) => out.extend(m.clone()),
            Value::Null => {}
            other => return Err(format!("expected an object, got {other}")),
        }
    }
    Ok(Value::Object(out))
}

fn split(a: FuncArgs) -> Result<Value, String> {
    let (sep, text) = (s(&a[0])?, s(&a[1])?);
    Ok(Value::Array(
        text.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
}

/// `templatefile(PATH, VARS)`: `PATH` is absolute here, as `path.module` is declared as the
/// module's directory.
fn templatefile(a: FuncArgs) -> Result<Value, String> {
    use hcl::eval::Evaluate;
    let path = s(&a[0])?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let template: hcl::Template = text.parse().map_err(|e| format!("{path}: {e}"))?;
    let mut ctx = Context::new();
    declare(&mut ctx);
    if let Value::Object(vars) = &a[1] {
        for (k, v) in vars {
            ctx.declare_var(k.as_str(), v.clone());
        }
    }
    template
        .evaluate(&ctx)
        .map(Value::String)
        .map_err(|e| format!("{path}: {e}"))
}

/// Declares every function above in `ctx`.
pub(super) fn declare(ctx: &mut Context) {
    let any = || ParamType::Any;
    let variadic = |f| FuncDef::builder().variadic_param(ParamType::Any).build(f);
    let fixed = |f, n: usize| FuncDef::new(f, (0..n).map(|_| any()));
    ctx.declare_func(
        "format",
        FuncDef::builder()
            .param(ParamType::String)
            .variadic_param(ParamType::Any)
            .build(format),
    );
    ctx.declare_func(
        "formatlist",
        FuncDef::builder()
            .param(ParamType::String)
            .variadic_param(ParamType::Any)
            .build(formatlist),
    );
    ctx.declare_func("replace", fixed(replace, 3));
    ctx.declare_func(
        "join",
        FuncDef::builder()
            .param(ParamType::String)
            .variadic_param(ParamType::Any)
            .build(join),
    );
    ctx.declare_func("concat", variadic(concat));
    ctx.declare_func("flatten", fixed(flatten, 1));
    ctx.declare_func("distinct", fixed(distinct, 1));
    ctx.declare_func("lower", fixed(lower, 1));
    ctx.declare_func("coalesce", variadic(coalesce));
    ctx.declare_func("jsonencode", fixed(jsonencode, 1));
    ctx.declare_func("templatefile", fixed(templatefile, 2));
    ctx.declare_func("merge", variadic(merge));
    ctx.declare_func("split", fixed(split, 2));
    for f in ["tolist", "toset", "tostring", "tomap"] {
        ctx.declare_func(f, fixed(identity, 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(expr: &str) -> Value {
        let mut ctx = Context::new();
        declare(&mut ctx);
        let e: hcl::Expression = hcl::edit::parser::parse_expr(expr).expect("parses").into();
        e.evaluate(&ctx).expect("evaluates")
    }

    #[test]
    fn functions() {
        assert_eq!(
            eval(r#"format("repo:%s/%s:*", "acme", "app")"#),
            Value::from("repo:acme/app:*")
        );
        assert_eq!(
            eval(r#"formatlist("repo:acme/%s:*", ["a", "b"])"#),
            Value::from(vec!["repo:acme/a:*", "repo:acme/b:*"])
        );
        assert_eq!(eval(r#"join(",", ["a", "b"])"#), Value::from("a,b"));
        assert_eq!(eval(r#"replace("a/b", "/", ":")"#), Value::from("a:b"));
        assert_eq!(
            eval(r#"distinct(flatten([["a"], ["a", "b"]]))"#),
            Value::from(vec!["a", "b"])
        );
        assert_eq!(eval(r#"coalesce("", "x")"#), Value::from("x"));
        assert_eq!(eval(r#"lower("ACME")"#), Value::from("acme"));
        assert_eq!(eval(r#"jsonencode({a = 1})"#), Value::from(r#"{"a":1}"#));
    }
}
