//! GitLab CI: long-lived cloud and registry credentials in CI/CD variables -> the job's own
//! OIDC token (`id_tokens:`), one module per provider. What they share lives here: finding the
//! node a variable is read in, the refs a job runs on (its `sub` claims), and the `id_tokens:`
//! edit.

mod aws;
mod azure;
mod gcp;
mod pypi;
mod vault;

pub use aws::GitlabAws;
pub use azure::GitlabAzure;
pub use gcp::GitlabGcp;
pub use pypi::GitlabPypi;
pub use vault::GitlabVault;

use crate::rotate::target::Blocker;
use regex::Regex;
use yaml_serde::Value;

use super::facts::Lookup;
use super::rewrite::route as rewrite_route;
use super::rewrite::{k, map, s, EditOp, Seg};
use super::target::{Site, Unmigratable, Use, UsePlan, Workflow};

/// Fails when the rewritten text still reads one of `vars` (`$NAME`, `${NAME}`).
pub fn leftover(after: &str, vars: &[String]) -> Result<String, String> {
    for v in vars {
        if let Some(m) = var_ref(v).find(after) {
            let line = after[..m.start()].matches('\n').count() + 1;
            return Err(format!(
                "CI/CD variable `{v}` is also read elsewhere in this file (line {line}), a use keysweep cannot follow"
            ));
        }
    }
    Ok(after.to_string())
}

/// The refs a GitLab job runs on, from `rules: - if:` and `only:`; `Err` with why when the
/// job can run on refs that are not one fixed branch.
fn job_refs(job: &Value, default_branch: Option<&str>) -> Result<Vec<String>, String> {
    let branch_eq =
        Regex::new(r#"^\$CI_COMMIT_BRANCH\s*==\s*(?:"([^"]+)"|'([^']+)'|\$CI_DEFAULT_BRANCH)$"#)
            .expect("static regex");
    let mut out = Vec::new();
    if let Some(rules) = job.get("rules").and_then(Value::as_sequence) {
        for r in rules {
            if r.get("when").and_then(Value::as_str) == Some("never") {
                continue;
            }
            let Some(cond) = r.get("if").and_then(Value::as_str) else {
                return Err("a rule without `if:` (runs on any ref)".into());
            };
            let Some(c) = branch_eq.captures(cond.trim()) else {
                return Err(format!("rule `if: {cond}` (not one fixed branch)"));
            };
            let b = c.get(1).or(c.get(2)).map(|m| m.as_str().to_string());
            match b.or_else(|| default_branch.map(str::to_string)) {
                Some(b) => out.push(b),
                None => return Err(format!("rule `if: {cond}`: pass --default-branch")),
            }
        }
        return if out.is_empty() {
            Err("no rule lets the job run".into())
        } else {
            Ok(out)
        };
    }
    if let Some(only) = job.get("only") {
        let refs = match only {
            Value::Sequence(s) => s.clone(),
            Value::Mapping(_) => only
                .get("refs")
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for r in refs {
            match r.as_str() {
                Some(b)
                    if !b.starts_with('/')
                        && !matches!(
                            b,
                            "branches"
                                | "tags"
                                | "merge_requests"
                                | "api"
                                | "external"
                                | "pipelines"
                                | "pushes"
                                | "schedules"
                                | "triggers"
                                | "web"
                        ) =>
                {
                    out.push(b.to_string())
                }
                _ => return Err(format!("`only: {r:?}` (not one fixed branch)")),
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
    }
    Err("no `rules:`/`only:` (runs on any branch or tag)".into())
}

/// The job named `name` in the pipeline's root file or in the file the binding is in.
pub(super) fn find_job(u: &Use, name: &str) -> Option<Value> {
    if let Some(j) = u.wf.value.get(name) {
        return Some(j.clone());
    }
    // the pipeline's root file is `.gitlab-ci.yml` at the repository root
    {
        let c = u.root.join(".gitlab-ci.yml");
        let v: Value = yaml_serde::from_str(&std::fs::read_to_string(c).ok()?).ok()?;
        if let Some(j) = v.get(name) {
            return Some(j.clone());
        }
        // local includes
        let incs: Vec<String> = match v.get("include") {
            Some(Value::Sequence(s)) => s
                .iter()
                .filter_map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .or_else(|| i.get("local").and_then(Value::as_str).map(str::to_string))
                })
                .collect(),
            _ => Vec::new(),
        };
        for inc in incs {
            let p = u.root.join(inc.trim_start_matches('/'));
            if let Some(j) = std::fs::read_to_string(p)
                .ok()
                .and_then(|t| yaml_serde::from_str::<Value>(&t).ok())
                .and_then(|v| v.get(name).cloned())
            {
                return Some(j);
            }
        }
    }
    None
}

/// The job or template `c` of the file being rewritten.
pub fn container<'u>(u: &'u Use, c: &str) -> Result<&'u Value, Unmigratable> {
    u.wf.value.get(c).ok_or_else(|| {
        Unmigratable::new(
            Blocker::NotRewritten,
            format!("`{c}` is not in {}", u.wf.path),
        )
    })
}

/// The edit that declares OIDC token `var` (audience `aud`) in job or template `c`; `None`
/// when it is declared already. An `id_tokens:` block the job has keeps its other tokens.
pub fn id_token_edit(
    c: &str,
    body: &Value,
    var: &str,
    aud: &str,
    why: &str,
) -> Result<Option<(String, EditOp)>, Unmigratable> {
    let value = map([("aud", s(aud))]);
    let desc = format!("`{c}`: {why} (`id_tokens: {var}`, aud `{aud}`)");
    match body.get("id_tokens") {
        Some(Value::Mapping(m)) => match m.get(var) {
            Some(have) if have.get("aud").and_then(Value::as_str) == Some(aud) => Ok(None),
            Some(_) => Err(Unmigratable::new(Blocker::PartlyMigrated, format!(
                "`{c}` declares `id_tokens: {var}` with another audience; finish that migration by hand"
            ))),
            None => Ok(Some((
                desc,
                EditOp::Add {
                    path: vec![k(c), k("id_tokens")],
                    key: var.to_string(),
                    value,
                },
            ))),
        },
        Some(_) => Err(Unmigratable::new(Blocker::Missing, format!(
            "`{c}` has an `id_tokens:` that is not a mapping"
        ))),
        None => {
            let value = map([(var, value)]);
            let path = vec![k(c)];
            // conventional place: before the scripts
            let op = match ["before_script", "script"]
                .into_iter()
                .find(|k2| body.get(*k2).is_some())
            {
                Some(b) => EditOp::AddBefore {
                    path,
                    before: b.into(),
                    key: "id_tokens".into(),
                    value,
                },
                None => EditOp::Add {
                    path,
                    key: "id_tokens".into(),
                    value,
                },
            };
            Ok(Some((desc, op)))
        }
    }
}

/// The script line (`before_script:`/`script:`/`after_script:` item) a finding at `line` is
/// in: its index and text.
pub fn script_item(wf: &Workflow, site: &Site, line: usize) -> Option<(usize, String)> {
    let doc = yamlpath::Document::new(wf.text.clone()).ok()?;
    let line_of = |b: usize| wf.text[..b.min(wf.text.len())].matches('\n').count() + 1;
    let items = super::edit::value_at(&wf.value, &site.path)?.as_sequence()?;
    for (i, item) in items.iter().enumerate() {
        let mut p = site.path.clone();
        p.push(Seg::Index(i));
        let Ok(f) = doc.query_pretty(&rewrite_route(&p)) else {
            continue;
        };
        let (a, b) = (
            line_of(f.location.byte_span.0),
            line_of(f.location.byte_span.1.saturating_sub(1)),
        );
        if a <= line && line <= b {
            return Some((i, item.as_str()?.to_string()));
        }
    }
    None
}

/// A reference to CI/CD variable `var`: `$VAR`, `${VAR}`.
fn var_ref(var: &str) -> Regex {
    Regex::new(&format!(r"\$\{{?{}\b", regex::escape(var))).expect("escaped")
}

/// Does a script line read CI/CD variable `var`?
pub fn reads_var(line: &str, var: &str) -> bool {
    var_ref(var).is_match(line)
}

/// `Err` when a script item is more than one plain command (`&&`, `;`, a pipe, several lines):
/// rewriting one command of it would change what the others see.
pub fn single_command(line: &str) -> Result<(), String> {
    if line.contains("&&") || line.contains(';') || line.contains('|') || line.contains('\n') {
        return Err("the line runs more than one command".into());
    }
    Ok(())
}

/// The `sub` claims the jobs of `u` present (`project_path:G/P:ref_type:branch:ref:B`), from
/// their `rules:`/`only:`; a job that can run on other refs is trusted only through
/// `--subject-pattern`, else its subject stays a placeholder and the plan says why.
pub fn plan_subjects(u: &Use, look: &mut Lookup, p: &mut UsePlan) {
    let project = look.get("gitlab_project");
    let default_branch = look.facts.and_then(|f| f.default_branch.clone());
    let pattern = look.facts.and_then(|f| f.subject_pattern.clone());
    let mut subjects: Vec<String> = Vec::new();
    let mut is_pattern = false;
    for j in &u.jobs {
        let refs = find_job(u, j)
            .ok_or_else(|| "the job's definition was not found".to_string())
            .and_then(|jv| job_refs(&jv, default_branch.as_deref()));
        match refs {
            Ok(bs) => {
                for b in bs {
                    let sub = format!("project_path:{project}:ref_type:branch:ref:{b}");
                    if !subjects.contains(&sub) {
                        subjects.push(sub);
                    }
                }
            }
            Err(why) => match &pattern {
                Some(pt) => {
                    is_pattern = true;
                    if !subjects.contains(pt) {
                        subjects.push(pt.clone());
                    }
                    p.notes.push(format!(
                        "job `{j}`: {why}: trusted through --subject-pattern"
                    ));
                }
                None => {
                    let ph = look.get("subject_pattern");
                    if !subjects.contains(&ph) {
                        subjects.push(ph);
                    }
                    p.notes.push(format!(
                        "job `{j}`: {why}: no fixed subject; pass --subject-pattern (e.g. `project_path:{project}:ref_type:branch:ref:main`) or restrict the job with `rules:`"
                    ));
                }
            },
        }
    }
    p.subjects = Some((subjects, is_pattern));
}

/// The GitLab instance URL without a trailing slash (the issuer), and its host (as AWS
/// condition keys spell it).
pub fn issuer(look: &mut Lookup) -> (String, String) {
    let url = look.get("gitlab_url").trim_end_matches('/').to_string();
    let host = url.trim_start_matches("https://").to_string();
    (url, host)
}
