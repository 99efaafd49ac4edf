//! The `sub` claims a job's OIDC token carries, from the workflow's triggers and the job's
//! `environment:`, rendered in the subject format the repository emits.
//!
//! GitHub: a job with an environment gets `repo:O/R:environment:ENV`; otherwise a push to a
//! branch `...:ref:refs/heads/B`, a tag `...:ref:refs/tags/T`, a pull request
//! `...:pull_request`. Anything that is not one fixed value (a branch or tag pattern, a
//! release, `workflow_call`) is unresolved: it needs `--subject-pattern` or an environment,
//! never a silent wildcard.

use serde::Serialize;
use yaml_serde::Value;

use super::facts::{Lookup, SubjectFormat};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Claim {
    Branch(String),
    Tag(String),
    Environment(String),
    PullRequest,
    /// A user-supplied pattern (`--subject-pattern`): the whole subject.
    Pattern(String),
}

/// What a job's token can say, as far as the workflow tells.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Claims {
    pub claims: Vec<Claim>,
    /// Triggers whose subject is not one fixed value, with why.
    pub unresolved: Vec<String>,
    /// Assumptions made (`workflow_dispatch` trusted on the default branch only).
    pub notes: Vec<String>,
}

impl Claims {
    fn add(&mut self, c: Claim) {
        if !self.claims.contains(&c) {
            self.claims.push(c);
        }
    }
    pub fn merge(&mut self, o: &Claims) {
        for c in &o.claims {
            self.add(c.clone());
        }
        for u in &o.unresolved {
            if !self.unresolved.contains(u) {
                self.unresolved.push(u.clone());
            }
        }
        for n in &o.notes {
            if !self.notes.contains(n) {
                self.notes.push(n.clone());
            }
        }
    }
    pub fn has_pattern(&self) -> bool {
        self.claims.iter().any(|c| matches!(c, Claim::Pattern(_)))
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '!', '+'])
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Sequence(s) => Some(
            s.iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// The events of `on:` with their bodies (`Null` for bare events).
fn events(wf: &Value) -> Vec<(String, Value)> {
    let on = wf.get("on").or_else(|| wf.get(Value::Bool(true)));
    match on {
        Some(Value::String(s)) => vec![(s.clone(), Value::Null)],
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|e| e.as_str().map(|e| (e.to_string(), Value::Null)))
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

/// The literal values of `${{ matrix.NAME }}` in a job's `strategy.matrix` (its list and its
/// `include:` entries); `None` when the expression is anything else or a value is not literal.
fn matrix_values(job: &Value, expr: &str) -> Option<Vec<String>> {
    let name = expr
        .trim()
        .strip_prefix("${{")?
        .strip_suffix("}}")?
        .trim()
        .strip_prefix("matrix.")?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let matrix = job.get("strategy")?.get("matrix")?;
    let scalar = |v: &Value| match v {
        Value::String(s) if !s.contains("${{") => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut out = Vec::new();
    match matrix.get(name) {
        Some(Value::Sequence(items)) => {
            for i in items {
                out.push(scalar(i)?);
            }
        }
        Some(_) => return None,
        None => {}
    }
    for inc in matrix
        .get("include")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        if let Some(v) = inc.get(name) {
            out.push(scalar(v)?);
        }
    }
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// The claims of job `job` of workflow `wf`. `subject_pattern` (from the flag) replaces
/// every unresolved trigger.
pub fn claims(
    wf: &Value,
    job: &str,
    default_branch: Option<&str>,
    subject_pattern: Option<&str>,
) -> Claims {
    let mut out = Claims::default();
    let j = wf.get("jobs").and_then(|j| j.get(job));
    let env = j.and_then(|j| j.get("environment")).and_then(|e| match e {
        Value::String(s) => Some(s.clone()),
        Value::Mapping(_) => e.get("name").and_then(Value::as_str).map(str::to_string),
        _ => None,
    });
    if let Some(env) = env {
        if let Some(values) = j.and_then(|j| matrix_values(j, &env)) {
            // `environment: ${{ matrix.stage }}`: one subject per environment the matrix lists
            for v in values {
                out.add(Claim::Environment(v));
            }
        } else if env.contains("${{") {
            out.unresolved
                .push(format!("environment `{env}` is an expression"));
        } else {
            out.add(Claim::Environment(env));
        }
    } else {
        for (ev, body) in events(wf) {
            match ev.as_str() {
                "push" => {
                    let branches = strings(body.get("branches"));
                    let tags = strings(body.get("tags"));
                    let ignores = body.get("branches-ignore").is_some()
                        || body.get("tags-ignore").is_some();
                    if branches.is_none() && tags.is_none() {
                        out.unresolved.push(if ignores {
                            "push with an ignore filter (runs on many refs)".into()
                        } else {
                            "push on any branch or tag".into()
                        });
                    }
                    for b in branches.unwrap_or_default() {
                        if is_glob(&b) {
                            out.unresolved.push(format!("push to branches matching `{b}`"));
                        } else {
                            out.add(Claim::Branch(b));
                        }
                    }
                    for t in tags.unwrap_or_default() {
                        if is_glob(&t) {
                            out.unresolved.push(format!("push of tags matching `{t}`"));
                        } else {
                            out.add(Claim::Tag(t));
                        }
                    }
                }
                "pull_request" | "pull_request_target" => {
                    out.add(Claim::PullRequest);
                    out.notes.push(format!(
                        "`{ev}` runs are trusted too (any pull request from a branch of this repository; fork pull requests get no token): give them a separate read-only role if the job also deploys"
                    ));
                }
                "release" => out
                    .unresolved
                    .push("release (runs on the release's tag)".into()),
                "workflow_dispatch" | "schedule" => match default_branch {
                    Some(b) => {
                        out.add(Claim::Branch(b.to_string()));
                        out.notes.push(format!(
                            "`{ev}` is trusted on the default branch `{b}` only; runs dispatched from other refs will be refused"
                        ));
                    }
                    None => out.unresolved.push(format!(
                        "`{ev}` (runs on any ref; pass --default-branch to trust the default branch)"
                    )),
                },
                "workflow_call" => out
                    .unresolved
                    .push("workflow_call (the caller's ref and workflow decide the subject)".into()),
                "merge_group" => out.unresolved.push("merge_group (temporary gh-readonly-queue refs)".into()),
                other => out
                    .unresolved
                    .push(format!("`{other}` (runs on the default branch's ref)")),
            }
        }
    }
    if !out.unresolved.is_empty() {
        if let Some(p) = subject_pattern {
            out.add(Claim::Pattern(p.to_string()));
        }
    }
    out
}

/// `repo:OWNER/REPO` or `repo:OWNER@ID/REPO@ID`.
pub fn prefix(repo: &str, format: SubjectFormat, look: &mut Lookup) -> String {
    let Some((o, r)) = repo.split_once('/') else {
        // a placeholder (`<REPOSITORY>`): keep it whole
        return format!("repo:{repo}");
    };
    match format {
        SubjectFormat::Legacy => format!("repo:{o}/{r}"),
        SubjectFormat::Immutable => {
            let oid = look.get("owner_id");
            let rid = look.get("repository_id");
            format!("repo:{o}@{oid}/{r}@{rid}")
        }
    }
}

/// The full `sub` value of one claim.
pub fn subject(prefix: &str, c: &Claim) -> String {
    match c {
        Claim::Branch(b) => format!("{prefix}:ref:refs/heads/{b}"),
        Claim::Tag(t) => format!("{prefix}:ref:refs/tags/{t}"),
        Claim::Environment(e) => format!("{prefix}:environment:{e}"),
        Claim::PullRequest => format!("{prefix}:pull_request"),
        Claim::Pattern(p) => p.clone(),
    }
}

/// Every subject of `claims`; a placeholder when none is known (never a wildcard).
pub fn subjects(claims: &Claims, prefix: &str, look: &mut Lookup) -> Vec<String> {
    let mut v: Vec<String> = claims.claims.iter().map(|c| subject(prefix, c)).collect();
    if !claims.unresolved.is_empty() && !claims.has_pattern() {
        v.push(look.get("subject_pattern"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wf(s: &str) -> Value {
        yaml_serde::from_str(s).unwrap()
    }

    #[test]
    fn a_matrix_environment_is_one_subject_per_value() {
        let w = wf("on: {push: {branches: [main]}}\njobs: {d: {strategy: {matrix: {stage: [staging, production], include: [{stage: qa}]}}, environment: '${{ matrix.stage }}'}}");
        let c = claims(&w, "d", Some("main"), None);
        assert!(c.unresolved.is_empty(), "{:?}", c.unresolved);
        assert_eq!(c.claims.len(), 3, "{:?}", c.claims);
        let w = wf("on: {push: {branches: [main]}}\njobs: {d: {strategy: {matrix: {stage: '${{ fromJSON(inputs.s) }}'}}, environment: '${{ matrix.stage }}'}}");
        assert!(!claims(&w, "d", Some("main"), None).unresolved.is_empty());
    }

    #[test]
    fn environment_wins() {
        let w = wf("on: {push: {branches: [main]}}\njobs: {d: {environment: production}}");
        assert_eq!(
            claims(&w, "d", None, None).claims,
            vec![Claim::Environment("production".into())]
        );
    }

    #[test]
    fn globs_are_unresolved() {
        let w = wf("on: {push: {tags: ['v*']}, pull_request: null}\njobs: {d: {}}");
        let c = claims(&w, "d", None, None);
        assert_eq!(c.claims, vec![Claim::PullRequest]);
        assert_eq!(c.unresolved.len(), 1);
        let c = claims(&w, "d", None, Some("repo:o/r:ref:refs/tags/v*"));
        assert!(c.has_pattern());
    }
}
