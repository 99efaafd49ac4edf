//! Loading GitHub Actions workflows and action metadata into the [`model`](super::model).
//!
//! Meaning comes from `github-actions-models` (on `yaml_serde`); positions come from a
//! `yamlpath` document of the same text, queried by route when a finding is made.

use std::path::Path;

use github_actions_models::action::{self, Action, Runs};
use github_actions_models::common::expr::LoE;
use github_actions_models::common::{BasePermission, Env, EnvValue, Permission, Permissions, Uses};
use github_actions_models::workflow::event::OptionalBody;
use github_actions_models::workflow::job::{
    Container, DeploymentEnvironment, NormalJob, ReusableWorkflowCallJob, RunsOn, Secrets, StepBody,
};
use github_actions_models::workflow::{Job as GhJob, Trigger, Workflow};
use yamlpath::Document;

use super::discover::{display_path, GithubFile, GithubKind};
use super::model::{
    Binding, ContainerCreds, Job, Level, Loc, ReusableCall, ScriptPart, SourceFile, Step, StepKind,
    UnitKind, WorkflowContext,
};
use super::secret_ref;
use super::{CiSystem, Diagnostic};

pub(crate) fn load(root: &Path, f: &GithubFile) -> Result<WorkflowContext, Diagnostic> {
    let path = display_path(root, &f.abs);
    let text = std::fs::read_to_string(&f.abs).map_err(|e| Diagnostic {
        path: path.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read file: {e}"),
    })?;
    let mut ctx = match f.kind {
        GithubKind::Workflow => load_text(&path, &text, &f.repo_root)?,
        GithubKind::Action => load_action_text(&path, &text, &f.repo_root)?,
    };
    ctx.files[0].abs = f.abs.clone();
    ctx.repository = repo_display(root, &f.repo_root);
    Ok(ctx)
}

/// Parse YAML (for a syntax error with its position) and build the span document.
pub(crate) fn parse_document(path: &str, text: &str) -> Result<Document, Diagnostic> {
    if let Err(e) = yaml_serde::from_str::<yaml_serde::Value>(text) {
        return Err(diagnostic_from(path, "invalid YAML", &e));
    }
    Document::new(text).map_err(|e| Diagnostic {
        path: path.to_string(),
        line: 1,
        column: 1,
        message: format!("invalid YAML: {e}"),
    })
}

pub(crate) fn diagnostic_from(path: &str, what: &str, e: &yaml_serde::Error) -> Diagnostic {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    let mut message = e.to_string();
    // yaml_serde appends " at line L column C"; the location is reported separately
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    Diagnostic {
        path: path.to_string(),
        line,
        column,
        message: format!("{what}: {message}"),
    }
}

pub(crate) fn repo_display(root: &Path, repo_root: &Path) -> String {
    let d = if repo_root == root {
        String::new()
    } else {
        display_path(root, repo_root)
    };
    if d.is_empty() {
        ".".into()
    } else {
        d
    }
}

pub(crate) fn load_text(
    path: &str,
    text: &str,
    repo_root: &Path,
) -> Result<WorkflowContext, Diagnostic> {
    let doc = parse_document(path, text)?;
    let wf: Workflow = yaml_serde::from_str(text)
        .map_err(|e| diagnostic_from(path, "not a valid GitHub Actions workflow", &e))?;
    let file = Loc::root(0);
    let (reusable, declared_secrets) = match &wf.on {
        Trigger::Events(ev) => match &ev.workflow_call {
            OptionalBody::Body(call) => (true, call.secrets.keys().cloned().collect()),
            OptionalBody::Default => (true, Vec::new()),
            OptionalBody::Missing => (false, Vec::new()),
        },
        Trigger::BareEvent(e) => (format!("{e:?}") == "WorkflowCall", Vec::new()),
        Trigger::BareEvents(es) => (
            es.iter().any(|e| format!("{e:?}") == "WorkflowCall"),
            Vec::new(),
        ),
    };
    let wf_id_token = id_token_write(&wf.permissions);
    let env = bindings(&wf.env, &file.key("env"), Level::Workflow);
    let mut jobs = Vec::new();
    for (id, job) in &wf.jobs {
        let jloc = file.key("jobs").key(id);
        jobs.push(match job {
            GhJob::NormalJob(j) => normal_job(id, j, jloc, wf_id_token),
            GhJob::ReusableWorkflowCallJob(j) => call_job(id, j, jloc, wf_id_token),
        });
    }
    Ok(WorkflowContext {
        ci: CiSystem::GithubActions,
        kind: UnitKind::Workflow,
        files: vec![SourceFile {
            path: path.to_string(),
            abs: Path::new(path).to_path_buf(),
            doc,
        }],
        repo_root: repo_root.to_path_buf(),
        repository: ".".into(),
        env,
        jobs,
        reusable,
        declared_secrets,
        job_token_inputs: Vec::new(),
    })
}

pub(crate) fn load_action_text(
    path: &str,
    text: &str,
    repo_root: &Path,
) -> Result<WorkflowContext, Diagnostic> {
    let doc = parse_document(path, text)?;
    let act: Action = yaml_serde::from_str(text)
        .map_err(|e| diagnostic_from(path, "not a valid GitHub Actions action", &e))?;
    let file = Loc::root(0);
    let mut jobs = Vec::new();
    if let Runs::Composite(c) = &act.runs {
        let sloc = file.key("runs").key("steps");
        let steps = c
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| composite_step(i, s, sloc.index(i)))
            .collect();
        jobs.push(Job {
            id: String::new(),
            loc: file.key("runs"),
            env: Vec::new(),
            steps,
            id_token: false,
            self_hosted: false,
            environment: None,
            call: None,
            containers: Vec::new(),
        });
    }
    Ok(WorkflowContext {
        ci: CiSystem::GithubActions,
        kind: UnitKind::Action,
        files: vec![SourceFile {
            path: path.to_string(),
            abs: Path::new(path).to_path_buf(),
            doc,
        }],
        repo_root: repo_root.to_path_buf(),
        repository: ".".into(),
        env: Vec::new(),
        jobs,
        reusable: false,
        declared_secrets: Vec::new(),
        job_token_inputs: act
            .inputs
            .iter()
            .filter(|(_, i)| i.default.as_deref().is_some_and(is_job_token_expression))
            .map(|(name, _)| name.clone())
            .collect(),
    })
}

/// `${{ github.token }}` or `${{ secrets.GITHUB_TOKEN }}`, spaces as people write them.
fn is_job_token_expression(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(
        compact.to_ascii_lowercase().as_str(),
        "${{github.token}}" | "${{secrets.github_token}}"
    )
}

fn id_token_write(p: &Permissions) -> Option<bool> {
    match p {
        Permissions::Base(BasePermission::Default) => None,
        Permissions::Base(BasePermission::WriteAll) => Some(true),
        Permissions::Base(BasePermission::ReadAll) => Some(false),
        Permissions::Explicit(m) => Some(matches!(m.get("id-token"), Some(Permission::Write))),
    }
}

fn env_value(v: &EnvValue) -> String {
    v.to_string()
}

pub(crate) fn bindings(env: &LoE<Env>, loc: &Loc, level: Level) -> Vec<Binding> {
    match env {
        LoE::Literal(map) => map
            .iter()
            .map(|(k, v)| {
                let value = env_value(v);
                Binding {
                    name: k.clone(),
                    refs: secret_ref::github_refs(&value),
                    value,
                    loc: loc.key(k),
                    level,
                }
            })
            .collect(),
        LoE::Expr(_) => Vec::new(),
    }
}

fn plain_bindings(env: &Env, loc: &Loc, level: Level) -> Vec<Binding> {
    env.iter()
        .map(|(k, v)| {
            let value = env_value(v);
            Binding {
                name: k.clone(),
                refs: secret_ref::github_refs(&value),
                value,
                loc: loc.key(k),
                level,
            }
        })
        .collect()
}

fn slug_of(uses: &Uses) -> String {
    match uses {
        Uses::Local(l) => l.path.clone(),
        Uses::Repository(r) => match r.subpath() {
            Some(sub) => format!("{}/{}", r.slug(), sub).to_ascii_lowercase(),
            None => r.slug().to_ascii_lowercase(),
        },
        Uses::Docker(d) => format!("docker://{}", d.raw()),
    }
}

fn label(name: Option<&str>, id: Option<&str>, i: usize) -> String {
    name.or(id)
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{}", i + 1))
}

fn normal_job(id: &str, j: &NormalJob, loc: Loc, wf_id_token: Option<bool>) -> Job {
    let steps = j
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let sloc = loc.key("steps").index(i);
            let kind = match &s.body {
                StepBody::Uses { uses, with } => StepKind::Uses {
                    uses: uses.raw().to_string(),
                    slug: slug_of(uses),
                    inputs: bindings(with, &sloc.key("with"), Level::Input),
                },
                StepBody::Run { run, .. } => StepKind::Run {
                    parts: vec![ScriptPart {
                        text: run.clone(),
                        loc: sloc.key("run"),
                    }],
                },
            };
            Step {
                index: i,
                id: s.id.clone(),
                label: label(s.name.as_deref(), s.id.as_deref(), i),
                env: bindings(&s.env, &sloc.key("env"), Level::Step),
                loc: sloc,
                kind,
            }
        })
        .collect();
    let self_hosted = match &j.runs_on {
        LoE::Literal(RunsOn::Target(labels)) => {
            labels.iter().any(|l| l.eq_ignore_ascii_case("self-hosted"))
        }
        LoE::Literal(RunsOn::Group { .. }) => true,
        LoE::Expr(_) => false,
    };
    let mut containers = Vec::new();
    if let Some(c) = &j.container {
        containers.extend(container_creds("container", c, &loc.key("container")));
    }
    for (name, c) in &j.services {
        containers.extend(container_creds(
            &format!("services.{name}"),
            c,
            &loc.key("services").key(name),
        ));
    }
    Job {
        id: id.to_string(),
        env: bindings(&j.env, &loc.key("env"), Level::Job),
        id_token: id_token_write(&j.permissions)
            .or(wf_id_token)
            .unwrap_or(false),
        self_hosted,
        environment: j.environment.as_ref().map(|e| match e {
            DeploymentEnvironment::Name(n) => n.clone(),
            DeploymentEnvironment::NameURL { name, .. } => name.clone(),
        }),
        call: None,
        containers,
        steps,
        loc,
    }
}

fn container_creds(which: &str, c: &Container, loc: &Loc) -> Option<ContainerCreds> {
    let Container::Container {
        image, credentials, ..
    } = c
    else {
        return None;
    };
    let creds = credentials.as_ref()?;
    let image = match image {
        LoE::Literal(d) => d.raw().to_string(),
        LoE::Expr(e) => e.as_raw().to_string(),
    };
    let cl = loc.key("credentials");
    let b = |name: &str, v: &Option<String>| {
        v.as_ref().map(|value| Binding {
            name: name.to_string(),
            refs: secret_ref::github_refs(value),
            value: value.clone(),
            loc: cl.key(name),
            level: Level::Input,
        })
    };
    Some(ContainerCreds {
        which: which.to_string(),
        image,
        username: b("username", &creds.username),
        password: b("password", &creds.password),
    })
}

fn call_job(id: &str, j: &ReusableWorkflowCallJob, loc: Loc, wf_id_token: Option<bool>) -> Job {
    let (inherit, secrets) = match &j.secrets {
        Some(Secrets::Inherit) => (Some(loc.key("secrets")), Vec::new()),
        Some(Secrets::Env(map)) => (
            None,
            plain_bindings(map, &loc.key("secrets"), Level::Secrets),
        ),
        None => (None, Vec::new()),
    };
    Job {
        id: id.to_string(),
        env: Vec::new(),
        steps: Vec::new(),
        id_token: id_token_write(&j.permissions)
            .or(wf_id_token)
            .unwrap_or(false),
        self_hosted: false,
        environment: None,
        call: Some(ReusableCall {
            uses: j.uses.raw().to_string(),
            loc: loc.key("uses"),
            inherit,
            secrets,
            inputs: bindings(&j.with, &loc.key("with"), Level::Input),
        }),
        containers: Vec::new(),
        loc,
    }
}

fn composite_step(i: usize, s: &action::Step, sloc: Loc) -> Step {
    let kind = match &s.body {
        action::StepBody::Uses { uses, with } => StepKind::Uses {
            uses: uses.raw().to_string(),
            slug: slug_of(uses),
            inputs: bindings(with, &sloc.key("with"), Level::Input),
        },
        action::StepBody::Run { run, .. } => StepKind::Run {
            parts: vec![ScriptPart {
                text: run.clone(),
                loc: sloc.key("run"),
            }],
        },
    };
    Step {
        index: i,
        id: s.id.clone(),
        label: label(s.name.as_deref(), s.id.as_deref(), i),
        env: bindings(&s.env, &sloc.key("env"), Level::Step),
        loc: sloc,
        kind,
    }
}
