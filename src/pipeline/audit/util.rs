//! What the audits share: finding credential uses through action inputs, environment
//! variables and commands, and turning them into findings.

use crate::pipeline::model::{Binding, Resolved, Step, StepKind, WorkflowContext};
use crate::pipeline::shell::{self, Command};
use crate::pipeline::{
    help_for, CiSystem, Confidence, Consumer, ConsumerKind, PipelineFinding, Provider, SecretSource,
};

/// One credential use, before it becomes a finding.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Index into `ctx.jobs`; `None` for a workflow-level binding no job reads.
    pub job: Option<usize>,
    pub step: Option<usize>,
    pub resolved: Resolved,
    pub consumer: Consumer,
    pub confidence: Confidence,
}

/// What replaces the credential, and what stands in the way.
#[derive(Debug, Clone)]
pub(crate) struct Migration {
    pub oidc: bool,
    pub replacement: String,
    pub blocked_by: Option<String>,
}

impl Migration {
    pub fn oidc(replacement: impl Into<String>) -> Self {
        Migration {
            oidc: true,
            replacement: replacement.into(),
            blocked_by: None,
        }
    }
    pub fn none(replacement: impl Into<String>) -> Self {
        Migration {
            oidc: false,
            replacement: replacement.into(),
            blocked_by: None,
        }
    }
    pub fn blocked(mut self, why: impl Into<String>) -> Self {
        self.blocked_by = Some(why.into());
        self
    }
}

fn source_word(s: SecretSource) -> &'static str {
    match s {
        SecretSource::GithubSecret => "secret",
        SecretSource::ActionInput => "action input",
        SecretSource::GitlabVariable => "CI/CD variable",
        SecretSource::Literal => "literal value",
        SecretSource::AllSecrets => "all secrets",
        SecretSource::StepOutput => "step output",
    }
}

/// Build the finding for a hit.
pub(crate) fn finding(
    ctx: &WorkflowContext,
    audit: super::AuditId,
    title: &str,
    provider: Provider,
    hit: &Hit,
    m: &Migration,
) -> PipelineFinding {
    let r = &hit.resolved;
    let location = ctx.location(&r.loc, r.anchor.as_deref(), Some(&r.needle));
    let job = hit.job.and_then(|j| ctx.job_name(j));
    let secret_desc = if r.source == SecretSource::Literal {
        "A literal credential".to_string()
    } else {
        format!("{} `{}`", source_word(r.source), r.name)
    };
    let mut message = format!("{secret_desc} feeds {}", hit.consumer.description);
    if let Some(j) = &job {
        message.push_str(&format!(" in job `{j}`"));
    }
    message.push_str(&format!(". Replace with: {}.", m.replacement));
    if let Some(b) = &m.blocked_by {
        message.push_str(&format!(" Blocked: {b}."));
    }
    PipelineFinding {
        node: r.loc.segs.clone(),
        audit,
        title: title.to_string(),
        message,
        ci: ctx.ci,
        provider,
        secret: r.name.clone(),
        secret_source: r.source,
        consumer: hit.consumer.clone(),
        job,
        workflow: ctx.path().to_string(),
        repository: ctx.repository.clone(),
        location,
        oidc_replacement: m.oidc,
        replacement: m.replacement.clone(),
        blocked_by: m.blocked_by.clone(),
        confidence: hit.confidence,
        help: help_for(audit.as_str()),
    }
}

fn step_label(ctx: &WorkflowContext, job: usize, step: usize) -> String {
    let s = &ctx.jobs[job].steps[step];
    match ctx.ci {
        CiSystem::GitlabCi => s.label.clone(),
        CiSystem::GithubActions => format!("step `{}`", s.label),
    }
}

/// Secrets flowing into the given inputs of the given actions (`owner/repo`, lower case).
pub(crate) fn input_hits(ctx: &WorkflowContext, actions: &[&str], inputs: &[&str]) -> Vec<Hit> {
    let mut out = Vec::new();
    for (ji, job) in ctx.jobs.iter().enumerate() {
        for step in &job.steps {
            let StepKind::Uses {
                uses,
                slug,
                inputs: ins,
            } = &step.kind
            else {
                continue;
            };
            if !actions.iter().any(|a| slug == a) {
                continue;
            }
            let scope = ctx.scope(ji, Some(step.index));
            for b in ins {
                if !inputs.iter().any(|i| b.name.eq_ignore_ascii_case(i)) {
                    continue;
                }
                for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
                    out.push(Hit {
                        job: Some(ji),
                        step: Some(step.index),
                        consumer: Consumer {
                            kind: ConsumerKind::ActionInput,
                            action: Some(uses.clone()),
                            input: Some(b.name.clone()),
                            env_var: r.via_env.clone(),
                            command: None,
                            step: Some(step.label.clone()),
                            description: format!(
                                "{uses} input `{}` ({})",
                                b.name,
                                step_label(ctx, ji, step.index)
                            ),
                        },
                        resolved: r,
                        confidence: Confidence::High,
                    });
                }
            }
        }
    }
    out
}

/// Recognises the steps that read a credential environment variable: commands (`terraform`,
/// `npm publish`) in scripts, or actions.
pub(crate) struct Readers<'a> {
    pub commands: &'a [&'a [&'a str]],
    pub actions: &'a [&'a str],
}

impl Readers<'_> {
    /// The first reading command or action of a step, as text.
    pub fn read_by(&self, step: &Step) -> Option<String> {
        match &step.kind {
            StepKind::Uses { uses, slug, .. } => self
                .actions
                .iter()
                .any(|a| slug == a || slug.starts_with(&format!("{a}/")))
                .then(|| uses.clone()),
            StepKind::Run { parts } => parts.iter().find_map(|p| {
                shell::commands(&p.text).into_iter().find_map(|c| {
                    let w = shell::words(&c.text);
                    self.commands
                        .iter()
                        .find(|seq| shell::has_sequence(&w, seq))
                        .map(|seq| seq.join(" "))
                })
            }),
        }
    }
}

/// `name` is `pattern`, or fits it around its one `*` (`CARGO_REGISTRIES_*_TOKEN`).
pub(crate) fn env_name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((pre, post)) => {
            name.len() > pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post)
        }
        None => name == pattern,
    }
}

/// Secrets bound to the given environment variables (a `*` in a name matches any part),
/// with the step that reads each one.
pub(crate) fn env_hits(ctx: &WorkflowContext, names: &[&str], readers: &Readers) -> Vec<Hit> {
    let wanted = |b: &Binding| names.iter().any(|n| env_name_matches(n, &b.name));
    let mut out = Vec::new();
    let env_consumer = |b: &Binding,
                        r: &Resolved,
                        step: Option<(usize, usize)>,
                        cmd: Option<String>| {
        let level = match b.level {
            crate::pipeline::model::Level::Workflow => "workflow-level env",
            crate::pipeline::model::Level::Job => "job-level env",
            _ => "env",
        };
        let mut description = format!("{level} `{}`", b.name);
        match (&cmd, step) {
            (Some(c), Some((j, s))) => {
                description.push_str(&format!(" read by `{c}` ({})", step_label(ctx, j, s)))
            }
            (None, Some((j, s))) => description.push_str(&format!(" of {}", step_label(ctx, j, s))),
            _ => {}
        }
        Consumer {
            kind: ConsumerKind::EnvVar,
            action: None,
            input: None,
            env_var: Some(b.name.clone()),
            command: cmd,
            step: step.map(|(j, s)| ctx.jobs[j].steps[s].label.clone()),
            description: if r.via_env.as_deref().is_some_and(|v| v != b.name) {
                format!(
                    "{description} (through env `{}`)",
                    r.via_env.as_deref().unwrap_or("")
                )
            } else {
                description
            },
        }
    };
    let mut workflow_read = vec![false; ctx.env.len()];
    for (ji, job) in ctx.jobs.iter().enumerate() {
        // step level: the step itself reads it
        for step in &job.steps {
            let scope = ctx.scope(ji, Some(step.index));
            for b in step.env.iter().filter(|b| wanted(b)) {
                for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
                    let cmd = readers.read_by(step);
                    out.push(Hit {
                        job: Some(ji),
                        step: Some(step.index),
                        consumer: env_consumer(b, &r, Some((ji, step.index)), cmd),
                        resolved: r,
                        confidence: Confidence::High,
                    });
                }
            }
        }
        // job and workflow level: report once per job, with the first step that reads it
        let scope = ctx.scope(ji, None);
        let outer = ctx
            .env
            .iter()
            .enumerate()
            .map(|(i, b)| (Some(i), b))
            .chain(job.env.iter().map(|b| (None, b)));
        for (wi, b) in outer.filter(|(_, b)| wanted(b)) {
            if wi.is_some() && job.env.iter().any(|j| j.name == b.name) {
                continue; // overridden at job level
            }
            let reader = job.steps.iter().find_map(|s| {
                if s.env.iter().any(|e| e.name == b.name) {
                    return None;
                }
                readers.read_by(s).map(|c| (s.index, c))
            });
            if reader.is_none() && wi.is_some() {
                continue; // decided after all jobs
            }
            if let Some(i) = wi {
                workflow_read[i] = true;
            }
            for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
                let (step, cmd, confidence) = match &reader {
                    Some((s, c)) => (Some(*s), Some(c.clone()), Confidence::High),
                    None => (None, None, Confidence::Medium),
                };
                out.push(Hit {
                    job: Some(ji),
                    step,
                    consumer: env_consumer(b, &r, step.map(|s| (ji, s)), cmd),
                    resolved: r,
                    confidence,
                });
            }
        }
    }
    // workflow-level bindings that no job recognisably reads: still a long-lived credential
    for (i, b) in ctx.env.iter().enumerate() {
        if workflow_read[i] || !wanted(b) {
            continue;
        }
        let scope: Vec<&Binding> = ctx.env.iter().collect();
        for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
            out.push(Hit {
                job: None,
                step: None,
                consumer: env_consumer(b, &r, None, None),
                resolved: r,
                confidence: Confidence::Medium,
            });
        }
    }
    out
}

/// What a command matcher recognised.
#[derive(Debug, Clone, Default)]
pub(crate) struct CmdMatch {
    /// Short text for the consumer (`docker login ghcr.io`).
    pub label: String,
    /// The part of the command holding the secret; `None`: the whole command.
    pub secret_text: Option<String>,
    /// Audit-specific detail (a registry host, a key file).
    pub detail: Option<String>,
}

impl CmdMatch {
    pub fn new(label: impl Into<String>) -> Self {
        CmdMatch {
            label: label.into(),
            ..Default::default()
        }
    }
    pub fn secret(mut self, text: Option<String>) -> Self {
        self.secret_text = text;
        self
    }
    pub fn detail(mut self, d: Option<String>) -> Self {
        self.detail = d;
        self
    }
}

/// A command in a script, with where it is.
pub(crate) struct CmdSite<'a> {
    pub job: usize,
    pub step: usize,
    pub part: usize,
    pub command: Command,
    pub words: Vec<String>,
    pub assigned: &'a [String],
}

/// Every command of every script, with the names the script assigns itself.
pub(crate) fn for_each_command(ctx: &WorkflowContext, mut f: impl FnMut(&CmdSite)) {
    for (ji, job) in ctx.jobs.iter().enumerate() {
        for step in &job.steps {
            for (pi, part) in step.script_parts().iter().enumerate() {
                let assigned = shell::assigned_names(&part.text);
                for command in shell::commands(&part.text) {
                    let words = shell::words(&command.text);
                    f(&CmdSite {
                        job: ji,
                        step: step.index,
                        part: pi,
                        command,
                        words,
                        assigned: &assigned,
                    });
                }
            }
        }
    }
}

/// Secrets fed into commands the matcher recognises.
pub(crate) fn command_hits(
    ctx: &WorkflowContext,
    matcher: impl Fn(&[String], &str) -> Option<CmdMatch>,
) -> Vec<(Hit, CmdMatch)> {
    let mut out = Vec::new();
    for_each_command(ctx, |site| {
        let Some(m) = matcher(&site.words, &site.command.text) else {
            return;
        };
        out.extend(
            site_refs(ctx, site, m.secret_text.as_deref())
                .into_iter()
                .map(|mut hit| {
                    hit.consumer.command = Some(m.label.clone());
                    hit.consumer.description = format!(
                        "command `{}` ({}){}",
                        m.label,
                        step_label(ctx, site.job, site.step),
                        hit.resolved
                            .via_env
                            .as_deref()
                            .filter(|_| hit.resolved.source != SecretSource::GitlabVariable)
                            .map(|v| format!(" through env `{v}`"))
                            .unwrap_or_default()
                    );
                    (hit, m.clone())
                }),
        );
    });
    out
}

/// The secrets referenced in (part of) a command.
pub(crate) fn site_refs(ctx: &WorkflowContext, site: &CmdSite, text: Option<&str>) -> Vec<Hit> {
    let job = &ctx.jobs[site.job];
    let step = &job.steps[site.step];
    let part = &step.script_parts()[site.part];
    let scope = ctx.scope(site.job, Some(site.step));
    let refs = ctx.script_refs(text.unwrap_or(&site.command.text), site.assigned);
    ctx.resolve(&refs, &part.loc, Some(&site.command.first_line), &scope)
        .into_iter()
        .map(|r| Hit {
            job: Some(site.job),
            step: Some(site.step),
            consumer: Consumer {
                kind: ConsumerKind::Command,
                action: None,
                input: None,
                env_var: r.via_env.clone(),
                command: None,
                step: Some(step.label.clone()),
                description: String::new(),
            },
            resolved: r,
            confidence: Confidence::High,
        })
        .collect()
}

/// `words` start with (or contain, after `sudo`/`npx`/`bundle exec`/`python -m`) the program.
pub(crate) fn seq(words: &[String], s: &[&str]) -> bool {
    shell::has_sequence(words, s)
}

/// Blocker common to migrations that need the runner to be GitHub-hosted.
pub(crate) fn self_hosted(ctx: &WorkflowContext, hit: &Hit) -> bool {
    hit.job.is_some_and(|j| ctx.jobs[j].self_hosted)
}
