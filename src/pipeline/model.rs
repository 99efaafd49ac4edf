//! The model every audit works on: one CI file (or one GitLab pipeline with its local
//! includes) as jobs, steps, `env:` bindings and scripts, each with the `yamlpath` route that
//! finds it again in the source. GitHub Actions and GitLab CI are loaded into the same shapes,
//! so an audit is written once.

use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use yamlpath::{Document, Route};

use super::secret_ref::{self, RefKind, SecretRef};
use super::{CiSystem, Location, SecretSource};

/// One parsed file.
pub struct SourceFile {
    /// Path relative to the analysed root, `/`-separated.
    pub path: String,
    pub abs: PathBuf,
    pub doc: Document,
}

/// A node in one of the context's files.
#[derive(Debug, Clone)]
pub struct Loc {
    /// Index into [`WorkflowContext::files`].
    pub file: usize,
    pub route: Route<'static>,
    /// The same route as data (yamlpath's is opaque): what a finding carries so that rotate
    /// edits the node the analysis read, without locating it again.
    pub segs: Vec<NodeSeg>,
}

/// One step of a node's route: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NodeSeg {
    Key(String),
    Index(usize),
}

impl Loc {
    /// The root of file `file`.
    pub fn root(file: usize) -> Loc {
        Loc {
            file,
            route: Route::default(),
            segs: Vec::new(),
        }
    }
    pub fn key(&self, k: &str) -> Loc {
        let mut segs = self.segs.clone();
        segs.push(NodeSeg::Key(k.to_string()));
        Loc {
            file: self.file,
            route: self.route.with_key(k.to_string()),
            segs,
        }
    }
    pub fn index(&self, i: usize) -> Loc {
        let mut segs = self.segs.clone();
        segs.push(NodeSeg::Index(i));
        Loc {
            file: self.file,
            route: self.route.with_key(i),
            segs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// `.github/workflows/*.yml`
    Workflow,
    /// `action.yml`
    Action,
    /// `.gitlab-ci.yml` and its local includes
    Gitlab,
}

/// Where a binding is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Workflow,
    Job,
    Step,
    /// An action input (`with:`) or a reusable-workflow input.
    Input,
    /// A reusable-workflow call's `secrets:` entry.
    Secrets,
}

/// `NAME: value` in `env:`, `with:`, `variables:` or `secrets:`.
#[derive(Debug, Clone)]
pub struct Binding {
    pub name: String,
    pub value: String,
    /// The value node.
    pub loc: Loc,
    pub level: Level,
    /// References inside the value.
    pub refs: Vec<SecretRef>,
}

/// One piece of script: a `run:` block, or one line of a GitLab `script:` list.
#[derive(Debug, Clone)]
pub struct ScriptPart {
    pub text: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Uses {
        /// As written: `aws-actions/configure-aws-credentials@v4`, `./.github/actions/x`.
        uses: String,
        /// Lower-cased `owner/repo[/path]` without the ref, or the local path.
        slug: String,
        inputs: Vec<Binding>,
    },
    Run {
        parts: Vec<ScriptPart>,
    },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub index: usize,
    /// GitHub's `id:` (what `steps.<id>.outputs` names).
    pub id: Option<String>,
    /// The step's name, else its id, else `#N` (1-based); GitLab: `script`, `before_script`...
    pub label: String,
    pub loc: Loc,
    pub env: Vec<Binding>,
    pub kind: StepKind,
}

impl Step {
    pub fn uses_slug(&self) -> Option<&str> {
        match &self.kind {
            StepKind::Uses { slug, .. } => Some(slug),
            StepKind::Run { .. } => None,
        }
    }
    pub fn input(&self, name: &str) -> Option<&Binding> {
        match &self.kind {
            StepKind::Uses { inputs, .. } => {
                inputs.iter().find(|b| b.name.eq_ignore_ascii_case(name))
            }
            StepKind::Run { .. } => None,
        }
    }
    pub fn script_parts(&self) -> &[ScriptPart] {
        match &self.kind {
            StepKind::Run { parts } => parts,
            StepKind::Uses { .. } => &[],
        }
    }
}

/// A job that calls a reusable workflow (GitHub) or triggers a child pipeline.
#[derive(Debug, Clone)]
pub struct ReusableCall {
    pub uses: String,
    pub loc: Loc,
    /// `secrets: inherit`
    pub inherit: Option<Loc>,
    pub secrets: Vec<Binding>,
    pub inputs: Vec<Binding>,
}

/// Registry credentials of a job container or service container.
#[derive(Debug, Clone)]
pub struct ContainerCreds {
    /// `container` or `services.NAME`
    pub which: String,
    pub image: String,
    pub username: Option<Binding>,
    pub password: Option<Binding>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub loc: Loc,
    pub env: Vec<Binding>,
    pub steps: Vec<Step>,
    /// `permissions: id-token: write` in effect (GitHub), or `id_tokens:` (GitLab).
    pub id_token: bool,
    pub self_hosted: bool,
    pub environment: Option<String>,
    pub call: Option<ReusableCall>,
    pub containers: Vec<ContainerCreds>,
}

/// One unit of analysis.
pub struct WorkflowContext {
    pub ci: CiSystem,
    pub kind: UnitKind,
    /// `files[0]` is the workflow, action or `.gitlab-ci.yml`; GitLab includes follow.
    pub files: Vec<SourceFile>,
    pub repo_root: PathBuf,
    /// `repo_root` relative to the analysed root, `.` for the root itself.
    pub repository: String,
    /// Workflow-level `env:` (GitHub) or top-level `variables:` (GitLab).
    pub env: Vec<Binding>,
    pub jobs: Vec<Job>,
    /// `on: workflow_call`
    pub reusable: bool,
    /// Secrets a reusable workflow declares under `on.workflow_call.secrets`.
    pub declared_secrets: Vec<String>,
    /// An action's inputs whose default is the job's own token (`${{ github.token }}`): by
    /// themselves no long-lived credential; a caller that passes a PAT is reported instead.
    pub job_token_inputs: Vec<String>,
}

/// A secret reference traced to where it is written.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `AWS_SECRET_ACCESS_KEY`, `inputs.token`, a GitLab variable.
    pub name: String,
    pub source: SecretSource,
    /// The environment variable the consumer reads it through, if any.
    pub via_env: Option<String>,
    /// Where the reference is written.
    pub loc: Loc,
    pub needle: String,
    /// Text that precedes the reference in the same node (narrows the search for `needle`).
    pub anchor: Option<String>,
}

impl WorkflowContext {
    pub fn path(&self) -> &str {
        &self.files[0].path
    }

    pub fn job_name(&self, job: usize) -> Option<String> {
        match self.kind {
            UnitKind::Action => None,
            _ => Some(self.jobs[job].id.clone()),
        }
    }

    /// The `env:` (or `variables:`) in effect for a job, or for one of its steps; inner levels
    /// override outer ones.
    pub fn scope(&self, job: usize, step: Option<usize>) -> Vec<&Binding> {
        let mut out: Vec<&Binding> = Vec::new();
        let j = &self.jobs[job];
        let step_env = step
            .and_then(|s| j.steps.get(s))
            .map(|s| s.env.as_slice())
            .unwrap_or(&[]);
        for b in self.env.iter().chain(j.env.iter()).chain(step_env.iter()) {
            out.retain(|o| o.name != b.name);
            out.push(b);
        }
        out
    }

    /// Trace references to the secrets behind them, through `env` indirection.
    pub fn resolve(
        &self,
        refs: &[SecretRef],
        loc: &Loc,
        anchor: Option<&str>,
        scope: &[&Binding],
    ) -> Vec<Resolved> {
        self.resolve_depth(refs, loc, anchor, scope, 0)
    }

    fn resolve_depth(
        &self,
        refs: &[SecretRef],
        loc: &Loc,
        anchor: Option<&str>,
        scope: &[&Binding],
        depth: usize,
    ) -> Vec<Resolved> {
        let mut out: Vec<Resolved> = Vec::new();
        for r in refs {
            let here = |name: String, source| Resolved {
                name,
                source,
                via_env: None,
                loc: loc.clone(),
                needle: r.text.clone(),
                anchor: anchor.map(str::to_string),
            };
            match r.kind {
                RefKind::JobToken => {}
                RefKind::StepOutput => {
                    if let Some(name) = self.long_lived_output(r, loc) {
                        out.push(here(name, SecretSource::StepOutput));
                    }
                }
                RefKind::Secret => out.push(here(r.name.clone(), SecretSource::GithubSecret)),
                RefKind::Input => {
                    if self.kind == UnitKind::Action {
                        out.push(here(
                            format!("inputs.{}", r.name),
                            SecretSource::ActionInput,
                        ));
                    }
                }
                RefKind::Env => {
                    let bound = scope.iter().rev().find(|b| {
                        b.name == r.name && !(b.loc.file == loc.file && same_route(b, loc))
                    });
                    if let Some(b) = bound {
                        if depth < 4 {
                            for mut inner in
                                self.resolve_depth(&b.refs, &b.loc, None, scope, depth + 1)
                            {
                                inner.via_env = Some(r.name.clone());
                                out.push(inner);
                            }
                        }
                    } else if self.ci == CiSystem::GitlabCi
                        && !secret_ref::gitlab_predefined(&r.name)
                    {
                        out.push(here(r.name.clone(), SecretSource::GitlabVariable));
                    }
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|r| seen.insert((r.name.clone(), r.needle.clone(), format!("{:?}", r.loc))));
        out
    }

    /// References in a piece of script: expressions (GitHub) and `$VAR`s, minus variables
    /// the script assigns itself.
    pub fn script_refs(&self, text: &str, assigned: &[String]) -> Vec<SecretRef> {
        let mut refs = if self.ci == CiSystem::GithubActions {
            secret_ref::github_refs(text)
        } else {
            Vec::new()
        };
        refs.extend(
            secret_ref::shell_refs(text)
                .into_iter()
                .filter(|r| !assigned.contains(&r.name)),
        );
        refs
    }

    /// The literal value an environment variable has in scope (`REGISTRY: ghcr.io`).
    pub fn literal_env(&self, scope: &[&Binding], name: &str) -> Option<String> {
        scope
            .iter()
            .rev()
            .find(|b| b.name == name)
            .filter(|b| b.refs.is_empty())
            .map(|b| b.value.clone())
    }

    /// Resolve `${{ env.X }}` / `$X` in a value to literal text where the env in scope says.
    pub fn expand_literal(&self, scope: &[&Binding], value: &str) -> String {
        static ENV_EXPR: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
            )
            .expect("static regex")
        });
        ENV_EXPR
            .replace_all(value, |c: &regex::Captures| {
                let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
                self.literal_env(scope, name)
                    .unwrap_or_else(|| c[0].to_string())
            })
            .into_owned()
    }

    /// The 1-based source range of `loc`, narrowed to `needle` (searched after `anchor`) when
    /// it is found inside the node.
    pub fn location(&self, loc: &Loc, anchor: Option<&str>, needle: Option<&str>) -> Location {
        let file = &self.files[loc.file];
        let doc = &file.doc;
        let query = |route: &Route| {
            doc.query_exact(route)
                .ok()
                .flatten()
                .or_else(|| doc.query_pretty(route).ok())
        };
        let mut feature = query(&loc.route);
        // a key that exists only after a `<<` merge: the nearest written ancestor, and the
        // value itself where the merged mapping (the anchor) writes it
        let merged = feature.is_none();
        let mut route = loc.route.clone();
        while feature.is_none() {
            let Some(parent) = route.parent() else { break };
            feature = query(&parent);
            route = parent;
        }
        let (mut start, mut end) = feature.map_or((0, 0), |f| f.location.byte_span);
        let src = doc.source();
        if let Some(needle) = needle {
            let node = &src[start..end];
            let from = anchor
                .filter(|a| !a.is_empty())
                .and_then(|a| node.find(a))
                .unwrap_or(0);
            let found = find_reference(&node[from..], needle)
                .map(|(s, e)| (s + from, e + from))
                .or_else(|| find_reference(node, needle))
                .map(|(s, e)| (start + s, start + e))
                .or_else(|| merged.then(|| find_reference(src, needle)).flatten());
            if let Some((s, e)) = found {
                start = s;
                end = e;
            }
        }
        let (line, column) = line_col(src, start);
        let (end_line, end_column) = line_col(src, end);
        Location {
            path: file.path.clone(),
            line,
            column,
            end_line,
            end_column,
        }
    }
}

/// Actions that hand out secrets stored in a secrets manager as step outputs: the values are
/// the long-lived keys someone put there (dynamic engines are excluded where the path says so).
const SECRET_STORE_ACTIONS: &[&str] = &[
    "hashicorp/vault-action",
    "google-github-actions/get-secretmanager-secrets",
    "1password/load-secrets-action",
    "bitwarden/sm-action",
    "azure/get-keyvault-secrets",
];

impl WorkflowContext {
    /// `steps.ID.outputs.NAME` read where `loc` is, when step ID of the same job is a secrets
    /// manager handing out a stored (long-lived) value: its name as reported, else `None`.
    fn long_lived_output(&self, r: &SecretRef, loc: &Loc) -> Option<String> {
        let (step_id, output) = r.name.split_once('/')?;
        let holds = |b: &Binding| b.loc.file == loc.file && same_route(b, loc);
        let job = self.jobs.iter().find(|j| {
            j.env.iter().any(holds) || j.steps.iter().any(|s| {
                s.env.iter().any(holds)
                    || matches!(&s.kind, StepKind::Uses { inputs, .. } if inputs.iter().any(holds))
            })
        })?;
        let producer = job
            .steps
            .iter()
            .find(|s| s.id.as_deref() == Some(step_id))?;
        let StepKind::Uses { slug, inputs, .. } = &producer.kind else {
            return None;
        };
        if !SECRET_STORE_ACTIONS.contains(&slug.as_str()) {
            return None;
        }
        // Vault's AWS, database and similar engines mint short-lived credentials.
        let dynamic = inputs.iter().any(|b| {
            b.name.eq_ignore_ascii_case("secrets")
                && ["aws/creds/", "aws/sts/", "database/creds/", "gcp/roleset/"]
                    .iter()
                    .any(|p| b.value.contains(p))
        });
        (!dynamic).then(|| format!("steps.{step_id}.outputs.{output}"))
    }
}

fn same_route(b: &Binding, loc: &Loc) -> bool {
    format!("{:?}", b.loc.route) == format!("{:?}", loc.route)
}

/// Find `needle` in `hay`; for an expression reference, widen to the whole `${{ ... }}` when
/// the expression is nothing but that reference. Returns byte offsets.
fn find_reference(hay: &str, needle: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let s = from + i;
        let e = s + needle.len();
        let ident_after = hay[e..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ident_after {
            from = e;
            continue;
        }
        let before = hay[..s].trim_end_matches([' ', '\t']);
        let after = hay[e..].trim_start_matches([' ', '\t']);
        if before.ends_with("${{") && after.starts_with("}}") {
            let ws = before.len() - 3;
            let we = hay.len() - after.len() + 2;
            return Some((ws, we));
        }
        return Some((s, e));
    }
    None
}

fn line_col(src: &str, byte: usize) -> (usize, usize) {
    let byte = byte.min(src.len());
    let before = &src[..byte];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, src[line_start..byte].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_widening() {
        let h = "x: ${{ secrets.A }} y";
        let (s, e) = find_reference(h, "secrets.A").unwrap();
        assert_eq!(&h[s..e], "${{ secrets.A }}");
        let h = "${{ format('{0}', secrets.AB) }} ${{ secrets.A }}";
        let (s, e) = find_reference(h, "secrets.A").unwrap();
        assert_eq!(&h[s..e], "${{ secrets.A }}");
        let h = "echo $TOKEN_X $TOKEN";
        let (s, _) = find_reference(h, "$TOKEN").unwrap();
        assert_eq!(s, 14);
    }

    #[test]
    fn columns_are_one_based() {
        assert_eq!(line_col("ab\ncd", 3), (2, 1));
        assert_eq!(line_col("ab\ncd", 1), (1, 2));
    }
}
