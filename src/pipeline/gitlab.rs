//! Loading a GitLab pipeline (`.gitlab-ci.yml` and its local `include:` files) into the
//! [`model`](super::model).
//!
//! Jobs become one step per script section (`before_script`, `script`, `after_script`), each
//! line a script part with its own route; `variables:` become bindings (top level = workflow
//! level). `extends:` is followed through hidden jobs (`.template`) in any loaded file, and
//! `default:` supplies scripts a job does not set. Remote, project and template includes are
//! not fetched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use yaml_serde::{Mapping, Value};

use super::discover::display_path;
use super::github::{diagnostic_from, parse_document};
use super::model::{
    Binding, Job, Level, Loc, ScriptPart, SourceFile, Step, StepKind, UnitKind, WorkflowContext,
};
use super::secret_ref;
use super::{CiSystem, Diagnostic};

const RESERVED: &[&str] = &[
    "stages",
    "variables",
    "include",
    "default",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
];
const SECTIONS: &[&str] = &["before_script", "script", "after_script"];

struct Loaded {
    value: Value,
}

pub(crate) fn load(root: &Path, main: &Path) -> (Option<WorkflowContext>, Vec<Diagnostic>) {
    let repo_root = main.parent().unwrap_or(root).to_path_buf();
    let mut diags = Vec::new();
    let mut files: Vec<SourceFile> = Vec::new();
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut queue: Vec<PathBuf> = vec![main.to_path_buf()];
    let mut seen: Vec<PathBuf> = Vec::new();
    while let Some(p) = queue.pop() {
        if seen.contains(&p) || seen.len() > 100 {
            continue;
        }
        seen.push(p.clone());
        let path = display_path(root, &p);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => blank_spec_header(&t).into_owned(),
            Err(e) => {
                diags.push(Diagnostic {
                    path,
                    line: 1,
                    column: 1,
                    message: format!("cannot read file: {e}"),
                });
                continue;
            }
        };
        let doc = match parse_document(&path, &text) {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let mut value: Value = match yaml_serde::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                diags.push(diagnostic_from(&path, "invalid GitLab CI file", &e));
                continue;
            }
        };
        if value.apply_merge().is_err() {
            diags.push(Diagnostic {
                path: path.clone(),
                line: 1,
                column: 1,
                message: "invalid GitLab CI file: bad `<<` merge key".into(),
            });
        }
        if !value.is_mapping() && !value.is_null() {
            diags.push(Diagnostic {
                path,
                line: 1,
                column: 1,
                message: "invalid GitLab CI file: the top level is not a mapping".into(),
            });
            continue;
        }
        for inc in local_includes(value.get("include")) {
            let rel = inc.trim_start_matches('/');
            queue.push(repo_root.join(rel));
        }
        files.push(SourceFile { path, abs: p, doc });
        loaded.push(Loaded { value });
    }
    if files.is_empty() || files[0].abs != main {
        return (None, diags);
    }
    let repository = super::github::repo_display(root, &repo_root);
    (Some(build(files, loaded, repo_root, repository)), diags)
}

fn local_includes(v: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.starts_with("http://") && !s.starts_with("https://") => {
                Some(s.clone())
            }
            Value::Mapping(m) => m.get("local").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    };
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
    .into_iter()
    .filter(|p| !p.contains('*'))
    .collect()
}

fn root_loc(file: usize) -> Loc {
    Loc::root(file)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn variables(v: Option<&Value>, loc: &Loc, level: Level) -> Vec<Binding> {
    let Some(Value::Mapping(m)) = v else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let name = k.as_str()?.to_string();
            let (value, vloc) = match v {
                Value::Mapping(inner) => (
                    inner.get("value").and_then(scalar)?,
                    loc.key(&name).key("value"),
                ),
                other => (scalar(other)?, loc.key(&name)),
            };
            Some(Binding {
                refs: secret_ref::shell_refs(&value),
                name,
                value,
                loc: vloc,
                level,
            })
        })
        .collect()
}

/// Resolves `!reference [.name, key, ...]` to the node it names in any loaded file, with
/// where that node is written.
type Referenced<'v> = dyn Fn(&[String]) -> Option<(&'v Value, Loc)> + 'v;

fn script_parts<'v>(v: &'v Value, loc: &Loc, refs: &Referenced<'v>, out: &mut Vec<ScriptPart>) {
    script_parts_at(v, loc, refs, out, 0);
}

fn script_parts_at<'v>(
    v: &'v Value,
    loc: &Loc,
    refs: &Referenced<'v>,
    out: &mut Vec<ScriptPart>,
    depth: usize,
) {
    match v {
        Value::String(s) => out.push(ScriptPart {
            text: s.clone(),
            loc: loc.clone(),
        }),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                script_parts_at(item, &loc.index(i), refs, out, depth);
            }
        }
        // GitLab's `!reference [.job, script]`: the lines of another (hidden) job, spliced in;
        // GitLab itself allows ten levels of nesting
        Value::Tagged(t) if t.tag == "reference" && depth < 10 => {
            let path: Vec<String> = t
                .value
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            if let Some((node, at)) = refs(&path) {
                script_parts_at(node, &at, refs, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// `export AWS_ACCESS_KEY_ID=$DEPLOY_KEY` (or a bare `NAME=$VAR`) on a script line binds the
/// variable for the rest of the section as `variables:` would: the same binding, at the line.
fn script_bindings(parts: &[ScriptPart]) -> Vec<Binding> {
    let mut out = Vec::new();
    for part in parts {
        for line in part.text.lines() {
            let line = line.trim();
            let words = line
                .strip_prefix("export ")
                .unwrap_or(line)
                .split_whitespace();
            // `NAME=$X` words up to the command they prefix (`A=$x B=$y aws s3 sync`).
            for word in words {
                let Some((name, value)) = word.split_once('=') else {
                    break;
                };
                let name_ok = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !name.as_bytes()[0].is_ascii_digit();
                if !name_ok {
                    break;
                }
                let value = value.trim_end_matches(';').trim_matches(['"', '\'']);
                let refs = secret_ref::shell_refs(value);
                if refs.is_empty() {
                    continue;
                }
                out.retain(|b: &Binding| b.name != name);
                out.push(Binding {
                    name: name.to_string(),
                    value: value.to_string(),
                    loc: part.loc.clone(),
                    level: Level::Step,
                    refs,
                });
            }
        }
    }
    out
}

/// A CI/CD component or a file with inputs starts with a `spec:` header document and `---`.
/// The header becomes blank (spaces, newlines kept) so the pipeline document parses alone and
/// every line and byte offset stays where it was.
fn blank_spec_header(text: &str) -> std::borrow::Cow<'_, str> {
    let starts_with_spec = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .is_some_and(|l| l.starts_with("spec:"));
    let Some(sep) = text.match_indices("\n---").find_map(|(i, _)| {
        let rest = &text[i + 4..];
        rest.starts_with(['\n', '\r', ' '])
            .then_some(i + 4)
            .or(rest.is_empty().then_some(i + 4))
    }) else {
        return text.into();
    };
    if !starts_with_spec {
        return text.into();
    }
    // Byte for byte, so offsets hold even where the header has non-ASCII text.
    let blank: String = text[..sep]
        .bytes()
        .map(|b| {
            if b == b'\n' || b == b'\r' {
                b as char
            } else {
                ' '
            }
        })
        .collect();
    format!("{blank}{}", &text[sep..]).into()
}

/// A job or template: where it is and its mapping.
struct Def<'a> {
    file: usize,
    name: String,
    map: &'a Mapping,
}

fn build(
    files: Vec<SourceFile>,
    loaded: Vec<Loaded>,
    repo_root: PathBuf,
    repository: String,
) -> WorkflowContext {
    let mut env = Vec::new();
    let mut defaults: HashMap<&str, (usize, &Value, Loc)> = HashMap::new();
    let mut defs: Vec<Def> = Vec::new();
    for (fi, l) in loaded.iter().enumerate() {
        let Some(top) = l.value.as_mapping() else {
            continue;
        };
        let root = root_loc(fi);
        env.extend(variables(
            top.get("variables"),
            &root.key("variables"),
            Level::Workflow,
        ));
        for s in ["before_script", "after_script"] {
            if let Some(v) = top.get(s) {
                defaults.entry(s).or_insert((fi, v, root.key(s)));
            }
        }
        if let Some(Value::Mapping(d)) = top.get("default") {
            for s in ["before_script", "after_script"] {
                if let Some(v) = d.get(s) {
                    defaults.insert(s, (fi, v, root.key("default").key(s)));
                }
            }
        }
        for (k, v) in top {
            let (Some(name), Some(map)) = (k.as_str(), v.as_mapping()) else {
                continue;
            };
            if RESERVED.contains(&name) {
                continue;
            }
            defs.push(Def {
                file: fi,
                name: name.to_string(),
                map,
            });
        }
    }
    let by_name: HashMap<&str, &Def> = defs.iter().map(|d| (d.name.as_str(), d)).collect();
    let referenced = |path: &[String]| -> Option<(&Value, Loc)> {
        let (first, rest) = path.split_first()?;
        let d = by_name.get(first.as_str())?;
        let mut loc = root_loc(d.file).key(&d.name);
        let (k1, rest) = rest.split_first()?;
        let mut node = d.map.get(k1.as_str())?;
        loc = loc.key(k1);
        for k in rest {
            node = node.get(k.as_str())?;
            loc = loc.key(k);
        }
        Some((node, loc))
    };
    let mut jobs = Vec::new();
    for d in defs.iter().filter(|d| !d.name.starts_with('.')) {
        // the job first, then what it extends (depth first, nearest wins)
        let mut chain: Vec<&Def> = vec![d];
        let mut i = 0;
        while i < chain.len() && chain.len() < 20 {
            let ext = match chain[i].map.get("extends") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Sequence(v)) => v
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            for e in ext.iter().rev() {
                if let Some(t) = by_name.get(e.as_str()) {
                    chain.push(t);
                }
            }
            i += 1;
        }
        let is_job = chain.iter().any(|c| {
            c.map.contains_key("script")
                || c.map.contains_key("trigger")
                || c.map.contains_key("run")
        });
        if !is_job {
            continue;
        }
        let mut job_env: Vec<Binding> = Vec::new();
        for c in chain.iter().rev() {
            let loc = root_loc(c.file).key(&c.name);
            for b in variables(c.map.get("variables"), &loc.key("variables"), Level::Job) {
                job_env.retain(|o| o.name != b.name);
                job_env.push(b);
            }
        }
        let mut steps = Vec::new();
        for (si, section) in SECTIONS.iter().enumerate() {
            let own = chain.iter().find_map(|c| {
                c.map
                    .get(*section)
                    .map(|v| (v, root_loc(c.file).key(&c.name).key(section)))
            });
            let found = own.or_else(|| defaults.get(section).map(|(_, v, loc)| (*v, loc.clone())));
            let Some((v, loc)) = found else { continue };
            let mut parts = Vec::new();
            script_parts(v, &loc, &referenced, &mut parts);
            steps.push(Step {
                index: steps.len(),
                id: None,
                label: section.to_string(),
                loc: loc.clone(),
                env: script_bindings(&parts),
                kind: StepKind::Run { parts },
            });
            let _ = si;
        }
        let get = |k: &str| chain.iter().find_map(|c| c.map.get(k));
        let self_hosted = match get("tags") {
            Some(Value::Sequence(tags)) => tags
                .iter()
                .filter_map(Value::as_str)
                .any(|t| !t.starts_with("saas-")),
            _ => false,
        };
        let environment = get("environment").and_then(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Mapping(m) => m.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        });
        jobs.push(Job {
            id: d.name.clone(),
            loc: root_loc(d.file).key(&d.name),
            env: job_env,
            steps,
            id_token: get("id_tokens").is_some(),
            self_hosted,
            environment,
            call: None,
            containers: Vec::new(),
        });
    }
    WorkflowContext {
        ci: CiSystem::GitlabCi,
        kind: UnitKind::Gitlab,
        files,
        repo_root,
        repository,
        env,
        jobs,
        reusable: false,
        declared_secrets: Vec::new(),
        job_token_inputs: Vec::new(),
    }
}
