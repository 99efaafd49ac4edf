//! `keysweep rotate`: turn the pipeline analysis's credential uses into a rotation plan per
//! repository — span-preserving workflow edits, the trust configuration the cloud side needs
//! (Terraform and the provider's own JSON/CLI form), the manual steps that remain, and what to
//! retire afterwards — and optionally apply it.
//!
//! The planner works from [`PipelineFinding`]s (never from raw YAML): each finding is a
//! credential use with its location; the planner groups the uses of one credential in one
//! workflow, finds the node each one is bound at, and asks the [`Target`] for that provider
//! for the edits. A use that cannot be migrated safely is reported with the reason and left
//! untouched; a migration whose edits do not all apply, or that leaves a reference to the
//! secret behind, is dropped whole (never half-applied).

pub mod aws;
mod azure;
mod crates_io;
pub mod facts;
mod gcp;
mod gitlab;
mod npm;
mod octo_sts;
mod pypi;
pub mod render;
pub mod rewrite;
pub mod subject;
mod targets;
pub mod trust;
mod vault;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use yaml_serde::Value;

use crate::pipeline::{CiSystem, MigrationStatus, PipelineFinding, PipelineReport};
use facts::{Facts, Lookup, Placeholder, SubjectFormat};
use rewrite::{k, Edit, EditOp, Seg};
use subject::Claims;
pub use targets::{all_targets, Target};

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("cannot edit {path}: {message}")]
    Patch { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the plan still has placeholders ({0}); pass the flags that fill them, or --allow-placeholders")]
    Placeholders(String),
    #[error(
        "unknown target `{0}` (known: aws, gcp, azure, pypi, npm, crates-io, vault, octo-sts, gitlab-aws, gitlab-gcp, gitlab-azure, gitlab-pypi, gitlab-vault)"
    )]
    UnknownTarget(String),
}

/// Why a use is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmigratable {
    pub reason: String,
}

impl Unmigratable {
    pub fn new(reason: impl Into<String>) -> Self {
        Unmigratable {
            reason: reason.into(),
        }
    }
}

/// Options of one planning run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Target ids to plan (`aws`, `pypi`, ...); empty: all.
    pub targets: Vec<String>,
    pub facts: Facts,
}

/// A rotation plan for everything under the analysed root.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub repositories: Vec<RepoPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoPlan {
    /// Repository root relative to the analysed root (`.` for the root itself).
    pub repository: String,
    /// `OWNER/REPO`, or its placeholder.
    pub slug: String,
    pub subject_format: SubjectFormat,
    pub migrations: Vec<Migration>,
    /// Uses left untouched, with why.
    pub skipped: Vec<Skipped>,
    /// One unified diff per edited file.
    pub files: Vec<FileChange>,
    pub trust: Vec<TrustArtifact>,
    pub manual_steps: Vec<ManualStep>,
    pub retire: Vec<Retire>,
    /// Values the plan needs and does not have; `--write` refuses them by default.
    pub placeholders: Vec<Placeholder>,
    #[serde(skip)]
    pub root: PathBuf,
    /// Every use is in GitLab CI: the repository is named by its GitLab project, and GitHub's
    /// subject format does not apply.
    #[serde(skip)]
    pub gitlab_only: bool,
}

/// One credential's move to OIDC in one workflow.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub target: &'static str,
    pub workflow: String,
    pub jobs: Vec<String>,
    pub secrets: Vec<String>,
    /// The uses it replaces (`file:line consumer`).
    pub uses: Vec<String>,
    /// The `sub` claims trusted for it.
    pub subjects: Vec<String>,
    pub edits: Vec<Edit>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub target: Option<&'static str>,
    pub workflow: String,
    pub job: Option<String>,
    pub secret: String,
    pub line: usize,
    pub consumer: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Path relative to the repository root.
    pub path: String,
    pub diff: String,
    #[serde(skip)]
    pub after: String,
}

/// A file of trust configuration, written under `.keysweep/` (or `--out`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustArtifact {
    pub target: &'static str,
    /// Relative to the output directory: `aws/main.tf`.
    pub file: String,
    /// `terraform`, `json`, `shell`, `markdown`.
    pub format: &'static str,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManualStep {
    pub target: &'static str,
    pub step: String,
}

/// What to delete once the OIDC runs are green. Retiring is a separate, explicit step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retire {
    pub target: &'static str,
    pub secret: String,
    pub action: String,
}

/// A workflow as loaded for rewriting.
pub struct Workflow {
    /// Relative to the repository root.
    pub path: String,
    pub text: String,
    pub value: Value,
}

impl Workflow {
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
    pub fn job(&self, job: &str) -> Option<&Value> {
        self.value.get("jobs").and_then(|j| j.get(job))
    }
    pub fn step(&self, job: &str, i: usize) -> Option<&Value> {
        self.job(job)
            .and_then(|j| j.get("steps"))
            .and_then(|s| s.get(i))
    }
    pub fn steps(&self, job: &str) -> Vec<&Value> {
        self.job(job)
            .and_then(|j| j.get("steps"))
            .and_then(Value::as_sequence)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }
    /// Lower-cased `owner/repo` of a step's `uses:`.
    pub fn uses_slug(step: &Value) -> Option<String> {
        let u = step.get("uses")?.as_str()?;
        Some(u.split('@').next()?.to_ascii_lowercase())
    }
    /// An env value in scope of job (and step) that is not a secret (literal or expression).
    pub fn literal_env(&self, job: &str, step: Option<usize>, name: &str) -> Option<String> {
        let lit = |m: Option<&Value>| {
            m.and_then(|e| e.get(name)).and_then(|v| match v {
                Value::String(s) if !s.contains("secrets.") => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        step.and_then(|i| lit(self.step(job, i).and_then(|s| s.get("env"))))
            .or_else(|| lit(self.job(job).and_then(|j| j.get("env"))))
            .or_else(|| lit(self.value.get("env")))
    }
}

/// Where a secret is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteKind {
    /// `with:` input of a step.
    With,
    StepEnv,
    JobEnv,
    WorkflowEnv,
    /// Inside a `run:` script.
    Run,
    Other,
}

/// The node one finding's secret reference is written in.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub kind: SiteKind,
    pub job: Option<String>,
    pub step: Option<usize>,
    /// The key (`aws-access-key-id`, `AWS_ACCESS_KEY_ID`).
    pub key: String,
    /// Route of the key.
    pub path: Vec<Seg>,
}

/// One group of credential uses handed to a [`Target`].
pub struct Use<'a> {
    pub repo_slug: &'a str,
    /// The repository root on disk.
    pub root: &'a Path,
    pub wf: &'a Workflow,
    /// Jobs that read the credential.
    pub jobs: Vec<String>,
    pub findings: Vec<&'a PipelineFinding>,
    /// `sites[i]` is where `findings[i]` is bound.
    pub sites: Vec<Site>,
}

impl Use<'_> {
    /// The step a site sits in, which must be `action`'s input `key` (the one input the target
    /// knows how to replace); `None` for a site outside a step.
    pub fn action_input_step<'s>(
        &self,
        site: &'s Site,
        action: &str,
        key: &str,
    ) -> Result<Option<(&'s str, usize, &Value)>, Unmigratable> {
        let (Some(job), Some(i)) = (site.job.as_deref(), site.step) else {
            return Ok(None);
        };
        let st = self
            .wf
            .step(job, i)
            .ok_or_else(|| Unmigratable::new("step not found"))?;
        if Workflow::uses_slug(st).as_deref() != Some(action) || site.key != key {
            return Err(Unmigratable::new(format!(
                "the secret feeds `{}` input `{}`; only {action} `{key}` is rewritten",
                st.get("uses").and_then(Value::as_str).unwrap_or("?"),
                site.key
            )));
        }
        Ok(Some((job, i, st)))
    }

    pub fn secrets(&self) -> Vec<String> {
        let mut v: Vec<String> = self.findings.iter().map(|f| f.secret.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What a target contributes for one use.
#[derive(Debug, Default)]
pub struct UsePlan {
    pub edits: Vec<(String, EditOp)>,
    /// Jobs that need `permissions: id-token: write`.
    pub id_token_jobs: Vec<String>,
    pub manual: Vec<String>,
    pub notes: Vec<String>,
    /// Subjects the target computed itself (GitLab), and whether one is a pattern.
    pub subjects: Option<(Vec<String>, bool)>,
    /// Per-target facts for the trust configuration (`vault_url`, `scope`, `package`).
    pub trust_info: Vec<(String, String)>,
}

/// Everything the trust configuration of one target in one repository is built from.
#[derive(Debug, Clone, Default)]
pub struct TrustInput {
    pub repo_slug: String,
    pub subjects: Vec<String>,
    pub pattern: bool,
    /// (workflow file name, environment) pairs.
    pub workflows: Vec<(String, Option<String>)>,
    pub info: Vec<(String, String)>,
}

impl TrustInput {
    pub fn info(&self, key: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .info
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

fn target_for(f: &PipelineFinding) -> Option<&'static dyn Target> {
    let gitlab = f.ci == CiSystem::GitlabCi;
    let all = all_targets();
    all.iter()
        .copied()
        .find(|t| t.handles(f) && t.id().starts_with("gitlab-") == gitlab)
        .or_else(|| all.iter().copied().find(|t| t.handles(f)))
}

/// Build the plan for everything `report` found under `root`.
pub fn plan(root: &Path, report: &PipelineReport, opts: &Options) -> Result<Plan, RotateError> {
    for t in &opts.targets {
        if !all_targets().iter().any(|x| x.id() == t) {
            return Err(RotateError::UnknownTarget(t.clone()));
        }
    }
    let wanted = |id: &str| opts.targets.is_empty() || opts.targets.iter().any(|t| t == id);
    let mut by_repo: BTreeMap<String, Vec<&PipelineFinding>> = BTreeMap::new();
    for f in &report.findings {
        by_repo.entry(f.repository.clone()).or_default().push(f);
    }
    let mut repositories = Vec::new();
    for (repo, findings) in by_repo {
        repositories.push(plan_repo(root, &repo, &findings, opts, &wanted)?);
    }
    Ok(Plan { repositories })
}

fn rel_to_repo(repo: &str, path: &str) -> String {
    if repo == "." {
        path.to_string()
    } else {
        path.strip_prefix(&format!("{repo}/"))
            .unwrap_or(path)
            .to_string()
    }
}

fn skipped(f: &PipelineFinding, target: Option<&'static str>, reason: String) -> Skipped {
    Skipped {
        target,
        // the file the reference is written in (a GitLab include, or the workflow)
        workflow: f.location.path.clone(),
        job: f.job.clone(),
        secret: f.secret.clone(),
        line: f.location.line,
        consumer: f.consumer.description.clone(),
        reason,
    }
}

fn plan_repo(
    root: &Path,
    repo: &str,
    findings: &[&PipelineFinding],
    opts: &Options,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<RepoPlan, RotateError> {
    let repo_root = if repo == "." {
        root.to_path_buf()
    } else {
        root.join(repo)
    };
    let mut facts = opts.facts.clone();
    if facts.repository.is_none() {
        facts.repository = facts::repository_from_git(&repo_root);
    }
    if facts.default_branch.is_none() {
        facts.default_branch = facts::default_branch_from_git(&repo_root);
    }
    if facts.gitlab_url.is_none() || facts.gitlab_project.is_none() {
        if let Some((url, project)) = facts::gitlab_from_git(&repo_root) {
            facts.gitlab_url.get_or_insert(url);
            facts.gitlab_project.get_or_insert(project);
        }
    }
    let mut look = Lookup::new(&facts);
    // a GitLab project is named by its path; a GitHub repository by OWNER/REPO
    let gitlab_only = findings.iter().all(|f| f.ci == CiSystem::GitlabCi);
    let slug = look.get(if gitlab_only {
        "gitlab_project"
    } else {
        "repository"
    });
    let format = facts.subject_format();
    let prefix = subject::prefix(&slug, format, &mut look);
    let mut out = RepoPlan {
        repository: repo.to_string(),
        slug: slug.clone(),
        subject_format: format,
        migrations: Vec::new(),
        skipped: Vec::new(),
        files: Vec::new(),
        trust: Vec::new(),
        manual_steps: Vec::new(),
        retire: Vec::new(),
        placeholders: Vec::new(),
        root: repo_root.clone(),
        gitlab_only,
    };

    // group: (target, workflow) -> findings
    let mut groups: BTreeMap<(&'static str, String), Vec<&PipelineFinding>> = BTreeMap::new();
    for f in findings {
        if matches!(f.audit, "secrets-inherit" | "half-migrated-oidc") {
            continue;
        }
        let Some(t) = target_for(f) else {
            if f.oidc_replacement {
                out.skipped.push(skipped(
                    f,
                    None,
                    format!("no rotate target for this use yet ({})", f.replacement),
                ));
            }
            continue;
        };
        if !(wanted(t.id()) || t.id().strip_prefix("gitlab-").is_some_and(wanted)) {
            continue;
        }
        if f.ci == CiSystem::GitlabCi && !t.id().starts_with("gitlab-") {
            out.skipped.push(skipped(
                f,
                Some(t.id()),
                "GitLab CI `id_tokens` rewrites are implemented for AWS, GCP, Azure, PyPI and Vault only so far"
                    .into(),
            ));
            continue;
        }
        match f.status() {
            MigrationStatus::NoOidcAlternative => {
                out.skipped.push(skipped(
                    f,
                    Some(t.id()),
                    format!("no OIDC alternative here: {}", f.replacement),
                ));
                continue;
            }
            MigrationStatus::Blocked if t.accepts_blocked(f) => {}
            MigrationStatus::Blocked => {
                out.skipped.push(skipped(
                    f,
                    Some(t.id()),
                    f.blocked_by.clone().unwrap_or_default(),
                ));
                continue;
            }
            MigrationStatus::MigratableNow => {}
        }
        // the file the reference is written in (a GitLab include, or the workflow itself)
        let file = if f.ci == CiSystem::GitlabCi {
            f.location.path.clone()
        } else {
            f.workflow.clone()
        };
        groups.entry((t.id(), file)).or_default().push(f);
    }

    let mut workflows: BTreeMap<String, Workflow> = BTreeMap::new();
    let mut file_ops: BTreeMap<String, Vec<(String, EditOp)>> = BTreeMap::new();
    let mut trust_inputs: BTreeMap<&'static str, TrustInput> = BTreeMap::new();
    let mut retire: Vec<Retire> = Vec::new();
    let mut manual: Vec<ManualStep> = Vec::new();

    for ((tid, wf_path), fs) in groups {
        let target = all_targets()
            .into_iter()
            .find(|t| t.id() == tid)
            .expect("grouped by a known target");
        let rel = rel_to_repo(repo, &wf_path);
        if !workflows.contains_key(&rel) {
            let abs = root.join(&wf_path);
            let text = std::fs::read_to_string(&abs).map_err(|source| RotateError::Io {
                path: abs.display().to_string(),
                source,
            })?;
            let value: Value = match yaml_serde::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    for f in &fs {
                        out.skipped.push(skipped(
                            f,
                            Some(tid),
                            format!("the file does not parse: {e}"),
                        ));
                    }
                    continue;
                }
            };
            workflows.insert(
                rel.clone(),
                Workflow {
                    path: rel.clone(),
                    text,
                    value,
                },
            );
        }
        let wf = &workflows[&rel];
        if rel.ends_with("action.yml") || rel.ends_with("action.yaml") {
            for f in &fs {
                out.skipped.push(skipped(
                    f,
                    Some(tid),
                    "the secret is an input of a composite action: migrate the workflows that pass it".into(),
                ));
            }
            continue;
        }
        if target.needs_subject()
            && wf
                .value
                .get("on")
                .and_then(|o| o.get("workflow_call"))
                .is_some()
        {
            for f in &fs {
                out.skipped.push(skipped(
                    f,
                    Some(tid),
                    "the credential is used inside a reusable workflow: its callers must grant `id-token: write` and the token's subject is the caller's; migrate the callers and the reusable workflow together, by hand for now".into(),
                ));
            }
            continue;
        }
        // locate every finding's binding
        let mut located: Vec<(&PipelineFinding, Site)> = Vec::new();
        let mut bad = false;
        for f in &fs {
            let site = if f.ci == CiSystem::GitlabCi {
                gitlab::locate(wf, f)
            } else {
                locate(wf, f)
            };
            match site {
                Some(s) => {
                    if let Some(why) = chooses_between_secrets(wf, &s) {
                        out.skipped.push(skipped(f, Some(tid), why));
                        bad = true;
                    }
                    located.push((f, s));
                }
                None => {
                    let why = if f.consumer.kind == crate::pipeline::ConsumerKind::ReusableWorkflow
                    {
                        "the secret is passed to a reusable workflow; it is read there (migrate the reusable workflow and its callers together, by hand for now)"
                    } else {
                        "keysweep could not find the node this use is written in"
                    };
                    out.skipped.push(skipped(f, Some(tid), why.into()));
                    bad = true;
                }
            }
        }
        if bad {
            for (f, _) in &located {
                if !out
                    .skipped
                    .iter()
                    .any(|s| s.secret == f.secret && s.line == f.location.line)
                {
                    out.skipped.push(skipped(
                        f,
                        Some(tid),
                        "another use of the same credential in this workflow cannot be migrated; the plan never half-applies".into(),
                    ));
                }
            }
            continue;
        }
        // one use per job, or one for the workflow when a binding is workflow-level
        let wf_level = located.iter().any(|(_, s)| s.kind == SiteKind::WorkflowEnv);
        let mut uses: BTreeMap<String, Vec<(&PipelineFinding, Site)>> = BTreeMap::new();
        for (f, s) in located {
            let mut key = if wf_level {
                "*".to_string()
            } else {
                f.job.clone().unwrap_or_default()
            };
            if target.per_secret() {
                key = format!("{key}\u{0}{}", f.secret);
            }
            uses.entry(key).or_default().push((f, s));
        }
        // uses of one secret in several jobs move together (retiring it needs all of them)
        let mut groups_: Vec<Vec<(&PipelineFinding, Site)>> = uses.into_values().collect();
        let mut merged = true;
        while merged {
            merged = false;
            'outer: for i in 0..groups_.len() {
                for j in i + 1..groups_.len() {
                    if groups_[i]
                        .iter()
                        .any(|(a, _)| groups_[j].iter().any(|(b, _)| a.secret == b.secret))
                    {
                        let g = groups_.remove(j);
                        groups_[i].extend(g);
                        merged = true;
                        break 'outer;
                    }
                }
            }
        }
        for items in groups_ {
            let mut jobs: Vec<String> = items.iter().filter_map(|(f, _)| f.job.clone()).collect();
            jobs.sort();
            jobs.dedup();
            let u = Use {
                repo_slug: &slug,
                root: &repo_root,
                wf,
                jobs: jobs.clone(),
                findings: items.iter().map(|(f, _)| *f).collect(),
                sites: items.iter().map(|(_, s)| s.clone()).collect(),
            };
            let mut local = Lookup::new(&facts);
            let result = target.plan(&u, &mut local).and_then(|mut p| {
                for j in &p.id_token_jobs {
                    if let Some(op) = permissions_edit(wf, j).map_err(Unmigratable::new)? {
                        p.edits.push((format!("job `{j}`: add `id-token: write` to its permissions, keeping its grants"), op));
                    }
                }
                Ok(p)
            });
            let p = match result {
                Ok(p) => p,
                Err(e) => {
                    for f in &u.findings {
                        out.skipped.push(skipped(f, Some(tid), e.reason.clone()));
                    }
                    continue;
                }
            };
            // dry run: this use's edits alone, on top of the file's accepted edits
            let mut trial: Vec<&EditOp> = file_ops
                .get(&rel)
                .map(|v| v.iter().map(|(_, o)| o).collect())
                .unwrap_or_default();
            trial.extend(p.edits.iter().map(|(_, o)| o));
            let gitlab = u.findings.iter().any(|f| f.ci == CiSystem::GitlabCi);
            let check = rewrite::apply(&wf.text, &trial)
                .map_err(|e| e.to_string())
                .and_then(|after| {
                    if gitlab {
                        gitlab::leftover(&after, &u.secrets())
                    } else {
                        leftover(&after, &u.secrets())
                    }
                });
            if let Err(reason) = check {
                for f in &u.findings {
                    out.skipped
                        .push(skipped(f, Some(tid), format!("left untouched: {reason}")));
                }
                continue;
            }
            // accepted
            look.missing.extend(local.missing.iter().cloned());
            let mut claims = Claims::default();
            for j in &jobs {
                claims.merge(&subject::claims(
                    &wf.value,
                    j,
                    facts.default_branch.as_deref(),
                    facts.subject_pattern.as_deref(),
                ));
            }
            let mut subjects = if target.needs_subject() {
                subject::subjects(&claims, &prefix, &mut look)
            } else {
                Vec::new()
            };
            if let Some((s, pattern)) = &p.subjects {
                subjects = s.clone();
                claims = Claims::default();
                if *pattern {
                    claims.claims.push(subject::Claim::Pattern(String::new()));
                }
            }
            let ti = trust_inputs.entry(tid).or_insert_with(|| TrustInput {
                repo_slug: slug.clone(),
                ..Default::default()
            });
            for s in &subjects {
                if !ti.subjects.contains(s) {
                    ti.subjects.push(s.clone());
                }
            }
            ti.pattern |= claims.has_pattern();
            for j in &jobs {
                let env = wf
                    .job(j)
                    .and_then(|j| j.get("environment"))
                    .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Value::as_str)))
                    .map(str::to_string);
                let w = (wf.file_name().to_string(), env);
                if !ti.workflows.contains(&w) {
                    ti.workflows.push(w);
                }
            }
            ti.info.extend(p.trust_info.iter().cloned());
            if let Some(name) = package_name(&repo_root, tid) {
                ti.info.push(("package".into(), name));
            }
            let mut notes = p.notes.clone();
            if target.needs_subject() {
                notes.extend(claims.notes.iter().cloned());
                for un in &claims.unresolved {
                    notes.push(if claims.has_pattern() {
                        format!("{un}: trusted through --subject-pattern")
                    } else {
                        format!("{un}: no fixed subject; pass --subject-pattern (or give the job an environment)")
                    });
                }
            }
            for m in &p.manual {
                let ms = ManualStep {
                    target: tid,
                    step: m.clone(),
                };
                if !manual.contains(&ms) {
                    manual.push(ms);
                }
            }
            for s in u.secrets() {
                let r = Retire {
                    target: tid,
                    secret: s.clone(),
                    action: target.retire_action(&s),
                };
                if !retire.contains(&r) {
                    retire.push(r);
                }
            }
            out.migrations.push(Migration {
                target: tid,
                workflow: rel.clone(),
                jobs,
                secrets: u.secrets(),
                uses: u
                    .findings
                    .iter()
                    .map(|f| format!("{}:{} {}", rel, f.location.line, f.consumer.description))
                    .collect(),
                subjects,
                edits: p
                    .edits
                    .iter()
                    .map(|(d, o)| Edit {
                        file: rel.clone(),
                        description: d.clone(),
                        op: o.clone(),
                    })
                    .collect(),
                notes,
            });
            file_ops.entry(rel.clone()).or_default().extend(p.edits);
        }
    }

    for (rel, ops) in &file_ops {
        let wf = &workflows[rel];
        let after = rewrite::apply(&wf.text, &ops.iter().map(|(_, o)| o).collect::<Vec<_>>())?;
        out.files.push(FileChange {
            path: rel.clone(),
            diff: rewrite::unified_diff(rel, &wf.text, &after),
            after,
        });
    }

    // a secret still read by a use this plan does not migrate stays until that use moves too
    for r in &mut retire {
        let file_of = |f: &PipelineFinding| {
            rel_to_repo(
                repo,
                if f.ci == CiSystem::GitlabCi {
                    &f.location.path
                } else {
                    &f.workflow
                },
            )
        };
        let others: Vec<String> = findings
            .iter()
            .filter(|f| f.secret == r.secret)
            .filter(|f| {
                !out.migrations
                    .iter()
                    .any(|m| m.secrets.contains(&f.secret) && m.workflow == file_of(f))
            })
            .map(|f| {
                format!(
                    "{}:{}",
                    rel_to_repo(repo, &f.location.path),
                    f.location.line
                )
            })
            .collect();
        if !others.is_empty() {
            r.action = format!(
                "keep it for now: it is still read at {} (not migrated by this plan)",
                others.join(", ")
            );
        }
    }

    for (tid, ti) in &trust_inputs {
        let target = all_targets()
            .into_iter()
            .find(|t| t.id() == *tid)
            .expect("known target");
        out.trust.extend(target.trust(ti, &mut look));
    }
    out.manual_steps = manual;
    out.retire = retire;
    look.missing.sort();
    look.missing.dedup();
    out.placeholders = look.missing;
    Ok(out)
}

/// The package a registry target publishes, from the repository's manifest.
fn package_name(root: &Path, target: &str) -> Option<String> {
    match target {
        "npm" => {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).ok()?)
                    .ok()?;
            v.get("name")?.as_str().map(str::to_string)
        }
        "pypi" | "gitlab-pypi" | "crates-io" => {
            let (file, table) = if target != "crates-io" {
                ("pyproject.toml", "project")
            } else {
                ("Cargo.toml", "package")
            };
            let v: toml::Value = std::fs::read_to_string(root.join(file))
                .ok()?
                .parse()
                .ok()?;
            v.get(table)?.get("name")?.as_str().map(str::to_string)
        }
        _ => None,
    }
}

/// Fails when the rewritten text still references one of `secrets`.
fn leftover(after: &str, secrets: &[String]) -> Result<String, String> {
    let refs = crate::pipeline::secret_ref::github_refs(after);
    for s in secrets {
        if let Some(r) = refs.iter().find(|r| {
            r.kind == crate::pipeline::secret_ref::RefKind::Secret && r.name.eq_ignore_ascii_case(s)
        }) {
            let line = after
                .lines()
                .position(|l| l.contains(&r.text))
                .map_or(0, |i| i + 1);
            return Err(format!(
                "secret `{s}` is also read elsewhere in this workflow (line {line}, `{}`), a use keysweep cannot follow",
                r.text
            ));
        }
    }
    Ok(after.to_string())
}

/// A value that picks one of several secrets (`matrix.stage == 'prod' && secrets.A || secrets.B`)
/// stands for several credentials (accounts, projects): one role cannot replace them.
fn chooses_between_secrets(wf: &Workflow, site: &Site) -> Option<String> {
    let v = targets::value_at(&wf.value, &site.path)?.as_str()?;
    let mut names: Vec<String> = crate::pipeline::secret_ref::github_refs(v)
        .into_iter()
        .filter(|r| r.kind == crate::pipeline::secret_ref::RefKind::Secret)
        .map(|r| r.name.to_ascii_uppercase())
        .collect();
    names.sort();
    names.dedup();
    (names.len() > 1).then(|| {
        format!(
            "`{}` chooses between several secrets ({}) with an expression: each stands for its own account or project, so one OIDC identity cannot replace them; split the job per target first",
            site.key,
            names.join(", ")
        )
    })
}

/// The node a finding's reference is written in.
fn locate(wf: &Workflow, f: &PipelineFinding) -> Option<Site> {
    let doc = yamlpath::Document::new(wf.text.clone()).ok()?;
    let line_of = |b: usize| wf.text[..b.min(wf.text.len())].matches('\n').count() + 1;
    let span = |path: &[Seg]| -> Option<(usize, usize)> {
        let r = rewrite_route(path);
        let feat = doc.query_pretty(&r).ok()?;
        Some((
            line_of(feat.location.byte_span.0),
            line_of(feat.location.byte_span.1.saturating_sub(1)),
        ))
    };
    let line = f.location.line;
    let mut cands: Vec<Site> = Vec::new();
    let keys = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for key in keys(wf.value.get("env")) {
        cands.push(Site {
            kind: SiteKind::WorkflowEnv,
            job: None,
            step: None,
            path: vec![k("env"), Seg::Key(key.clone())],
            key,
        });
    }
    if let Some(job) = &f.job {
        let jp = vec![k("jobs"), Seg::Key(job.clone())];
        for key in keys(wf.job(job).and_then(|j| j.get("env"))) {
            let mut p = jp.clone();
            p.extend([k("env"), Seg::Key(key.clone())]);
            cands.push(Site {
                kind: SiteKind::JobEnv,
                job: Some(job.clone()),
                step: None,
                path: p,
                key,
            });
        }
        for (i, st) in wf.steps(job).iter().enumerate() {
            let mut sp = jp.clone();
            sp.extend([k("steps"), Seg::Index(i)]);
            for (kind, sect) in [(SiteKind::With, "with"), (SiteKind::StepEnv, "env")] {
                for key in keys(st.get(sect)) {
                    let mut p = sp.clone();
                    p.extend([k(sect), Seg::Key(key.clone())]);
                    cands.push(Site {
                        kind,
                        job: Some(job.clone()),
                        step: Some(i),
                        path: p,
                        key,
                    });
                }
            }
            if st.get("run").is_some() {
                let mut p = sp.clone();
                p.push(k("run"));
                cands.push(Site {
                    kind: SiteKind::Run,
                    job: Some(job.clone()),
                    step: Some(i),
                    path: p,
                    key: "run".into(),
                });
            }
        }
    }
    cands
        .into_iter()
        .filter_map(|c| span(&c.path).map(|s| (c, s)))
        .filter(|(_, (a, b))| *a <= line && line <= *b)
        .min_by_key(|(_, (a, b))| b - a)
        .map(|(c, _)| c)
}

fn rewrite_route(path: &[Seg]) -> yamlpath::Route<'static> {
    yamlpath::Route::from(
        path.iter()
            .map(|s| match s {
                Seg::Key(k) => yamlpath::Component::Key(std::borrow::Cow::Owned(k.clone())),
                Seg::Index(i) => yamlpath::Component::Index(*i),
            })
            .collect::<Vec<_>>(),
    )
}

/// The edit that gives job `job` `id-token: write`, keeping its grants; `None` if it has it.
pub fn permissions_edit(wf: &Workflow, job: &str) -> Result<Option<EditOp>, String> {
    let jp = vec![k("jobs"), Seg::Key(job.to_string())];
    let jv = wf.job(job).ok_or_else(|| format!("no job `{job}`"))?;
    match jv.get("permissions") {
        Some(Value::Mapping(m)) => match m.get("id-token").and_then(Value::as_str) {
            Some("write") => Ok(None),
            Some(_) => {
                let mut p = jp.clone();
                p.extend([k("permissions"), k("id-token")]);
                Ok(Some(EditOp::Replace {
                    path: p,
                    value: rewrite::s("write"),
                }))
            }
            None => {
                let mut p = jp.clone();
                p.push(k("permissions"));
                if m.is_empty() {
                    return Ok(Some(EditOp::Replace {
                        path: p,
                        value: rewrite::map([("id-token", rewrite::s("write"))]),
                    }));
                }
                Ok(Some(EditOp::Add {
                    path: p,
                    key: "id-token".into(),
                    value: rewrite::s("write"),
                }))
            }
        },
        Some(Value::String(s)) if s == "write-all" => Ok(None),
        Some(other) => Err(format!(
            "job `{job}` has `permissions: {}`; write the explicit grants it needs by hand first",
            yaml_serde::to_string(other).unwrap_or_default().trim()
        )),
        None => {
            // the job inherits the workflow's permissions (or the defaults)
            let mut grants: Vec<(String, Value)> = Vec::new();
            match wf.value.get("permissions") {
                None => grants.push(("contents".into(), rewrite::s("read"))),
                Some(Value::Mapping(m)) => {
                    if m.get("id-token").and_then(Value::as_str) == Some("write") {
                        return Ok(None);
                    }
                    for (k2, v) in m {
                        if let Some(k2) = k2.as_str() {
                            if k2 != "id-token" {
                                grants.push((k2.to_string(), v.clone()));
                            }
                        }
                    }
                }
                Some(Value::String(s)) if s == "write-all" => return Ok(None),
                Some(other) => {
                    return Err(format!(
                        "the workflow has `permissions: {}`; write the job's explicit grants by hand first",
                        yaml_serde::to_string(other).unwrap_or_default().trim()
                    ))
                }
            }
            grants.push(("id-token".into(), rewrite::s("write")));
            let value = rewrite::map(grants.iter().map(|(a, b)| (a.as_str(), b.clone())));
            if jv.get("steps").is_some() {
                Ok(Some(EditOp::AddBefore {
                    path: jp,
                    before: "steps".into(),
                    key: "permissions".into(),
                    value,
                }))
            } else {
                Ok(Some(EditOp::Add {
                    path: jp,
                    key: "permissions".into(),
                    value,
                }))
            }
        }
    }
}

/// Apply the plan: the edited workflows, and the trust configuration under `.keysweep/` of
/// each repository (or `out/<repository>/`). Returns the files written.
pub fn write(
    plan: &Plan,
    out: Option<&Path>,
    allow_placeholders: bool,
) -> Result<Vec<PathBuf>, RotateError> {
    if !allow_placeholders {
        let missing: Vec<String> = plan
            .repositories
            .iter()
            .flat_map(|r| r.placeholders.iter())
            .map(|p| format!("{} via {}", p.placeholder, p.flag))
            .collect();
        if !missing.is_empty() {
            let mut m = missing;
            m.sort();
            m.dedup();
            return Err(RotateError::Placeholders(m.join(", ")));
        }
    }
    let io = |p: &Path, source| RotateError::Io {
        path: p.display().to_string(),
        source,
    };
    let mut written = Vec::new();
    for r in &plan.repositories {
        for f in &r.files {
            let p = r.root.join(&f.path);
            std::fs::write(&p, &f.after).map_err(|e| io(&p, e))?;
            written.push(p);
        }
        let dir = match out {
            Some(o) if r.repository == "." => o.to_path_buf(),
            Some(o) => o.join(&r.repository),
            None => r.root.join(".keysweep"),
        };
        for t in &r.trust {
            let p = dir.join(&t.file);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            if std::fs::read_to_string(&p).ok().as_deref() == Some(t.content.as_str()) {
                continue;
            }
            std::fs::write(&p, &t.content).map_err(|e| io(&p, e))?;
            written.push(p);
        }
    }
    Ok(written)
}
