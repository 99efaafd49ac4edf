//! Planning one repository, in phases: [`group`] the findings by target and file (or skip
//! them, with why), [`locate`] the node each use is bound at, [`apply`] each use's edits in a
//! dry run, and collect the [`trust`] inputs and retire steps of the accepted ones.

mod apply;
mod group;
mod locate;
mod permissions;
mod trust;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use permissions::permissions_edit;

use super::facts::{self, Facts, Lookup};
use super::target::{Use, Workflow};
use super::{registry, subject, Options, RepoPlan, RotateError, Skipped};
use crate::pipeline::{CiSystem, PipelineFinding};

/// What every phase knows about the repository being planned.
pub(super) struct Repo {
    /// The repository root on disk.
    pub root: PathBuf,
    pub facts: Facts,
    /// `OWNER/REPO` (or the GitLab project), or its placeholder.
    pub slug: String,
    /// The `sub` claim prefix of the repository.
    pub prefix: String,
}

/// Repository root relative to the analysed root -> a path relative to the repository.
pub(super) fn rel_to_repo(repo: &str, path: &str) -> String {
    if repo == "." {
        path.to_string()
    } else {
        path.strip_prefix(&format!("{repo}/"))
            .unwrap_or(path)
            .to_string()
    }
}

/// The file a finding's reference is written in (a GitLab include, or the workflow itself).
pub(super) fn file_of(f: &PipelineFinding) -> &str {
    if f.ci == CiSystem::GitlabCi {
        &f.location.path
    } else {
        &f.workflow
    }
}

pub(super) fn skipped(
    f: &PipelineFinding,
    target: Option<&'static str>,
    reason: String,
) -> Skipped {
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

/// The decline reason of each finding of a use that failed as a whole: a reason must name
/// the use it is about, so each finding is planned alone once more. One that fails alone keeps
/// its own reason; one that would pass alone says which use holds it back.
fn attribute<'f>(
    target: &dyn crate::rotate::target::Target,
    u: &Use<'f>,
    facts: &Facts,
    accepted: Option<&Vec<(String, crate::rotate::rewrite::EditOp)>>,
    reason: String,
) -> Vec<(&'f PipelineFinding, String)> {
    if u.findings.len() < 2 {
        return u.findings.iter().map(|f| (*f, reason.clone())).collect();
    }
    let alone: Vec<Option<String>> = u
        .findings
        .iter()
        .zip(&u.sites)
        .map(|(f, site)| {
            let one = Use {
                repo_slug: u.repo_slug,
                root: u.root,
                wf: u.wf,
                jobs: f.job.iter().cloned().collect(),
                findings: vec![*f],
                sites: vec![site.clone()],
            };
            apply::try_use(target, &one, &mut Lookup::new(facts), accepted).err()
        })
        .collect();
    let culprit = u
        .findings
        .iter()
        .zip(&alone)
        .find_map(|(f, r)| Some((*f, r.clone()?)));
    u.findings
        .iter()
        .zip(alone)
        .map(|(f, own)| {
            let why = match (own, &culprit) {
                (Some(own), _) => own,
                (None, Some((c, r))) => format!(
                    "moves together with `{}` ({}, {}:{}{}), which is left untouched: {r}",
                    c.secret,
                    c.consumer.description,
                    c.location.path,
                    c.location.line,
                    c.job
                        .as_deref()
                        .map(|j| format!(", job `{j}`"))
                        .unwrap_or_default(),
                ),
                (None, None) => reason.clone(),
            };
            (*f, why)
        })
        .collect()
}

/// The run's facts, completed from the repository's git configuration.
fn repo_facts(opts: &Options, repo_root: &Path) -> Facts {
    let mut facts = opts.facts.clone();
    if facts.repository.is_none() {
        facts.repository = facts::repository_from_git(repo_root);
    }
    if facts.default_branch.is_none() {
        facts.default_branch = facts::default_branch_from_git(repo_root);
    }
    if facts.gitlab_url.is_none() || facts.gitlab_project.is_none() {
        if let Some((url, project)) = facts::gitlab_from_git(repo_root) {
            facts.gitlab_url.get_or_insert(url);
            facts.gitlab_project.get_or_insert(project);
        }
    }
    facts
}

pub(super) fn plan_repo(
    root: &Path,
    repo: &str,
    findings: &[&PipelineFinding],
    opts: &Options,
) -> Result<RepoPlan, RotateError> {
    let repo_root = if repo == "." {
        root.to_path_buf()
    } else {
        root.join(repo)
    };
    let facts = repo_facts(opts, &repo_root);
    let mut look = Lookup::new(&facts);
    // a GitLab project is named by its path; a GitHub repository by OWNER/REPO
    let gitlab_only = findings.iter().all(|f| f.ci == CiSystem::GitlabCi);
    let slug = look.get(if gitlab_only {
        "gitlab_project"
    } else {
        "repository"
    });
    let format = facts.subject_format();
    // GitHub's own answer (`sub_claim_prefix`) wins over the prefix computed from the format
    let prefix = match facts.subject_prefix.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() && !gitlab_only => p.to_string(),
        _ => subject::prefix(&slug, format, &mut look),
    };
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
    let cx = Repo {
        root: repo_root,
        facts: facts.clone(),
        slug,
        prefix,
    };

    let groups = group::group(findings, &opts.targets, &mut out.skipped);
    let mut workflows: BTreeMap<String, Workflow> = BTreeMap::new();
    let mut file_ops = apply::FileOps::new();
    let mut collected = trust::Collected::default();
    for ((tid, wf_path), fs) in groups {
        let target = registry::by_id(tid).expect("grouped by a registered target");
        let rel = rel_to_repo(repo, &wf_path);
        if !locate::load(
            root,
            &wf_path,
            &rel,
            &fs,
            tid,
            &mut workflows,
            &mut out.skipped,
        )? {
            continue;
        }
        let wf = &workflows[&rel];
        let Some(located) = locate::sites(wf, target, &fs, &mut out.skipped) else {
            continue;
        };
        for items in locate::split_uses(target, located) {
            let mut jobs: Vec<String> = items.iter().filter_map(|(f, _)| f.job.clone()).collect();
            jobs.sort();
            jobs.dedup();
            let u = Use {
                repo_slug: &cx.slug,
                root: &cx.root,
                wf,
                jobs,
                findings: items.iter().map(|(f, _)| *f).collect(),
                sites: items.iter().map(|(_, s)| s.clone()).collect(),
            };
            let mut local = Lookup::new(&facts);
            let p = match apply::try_use(target, &u, &mut local, file_ops.get(&rel)) {
                Ok(p) => p,
                Err(reason) => {
                    for (f, why) in attribute(target, &u, &facts, file_ops.get(&rel), reason) {
                        out.skipped.push(skipped(f, Some(tid), why));
                    }
                    continue;
                }
            };
            look.missing.extend(local.missing.iter().cloned());
            out.migrations
                .push(collected.accept(&cx, target, &u, &p, &mut look));
            file_ops.entry(rel.clone()).or_default().extend(p.edits);
        }
    }
    out.files = apply::file_changes(&workflows, &file_ops)?;
    collected.finish(findings, &mut out, &mut look);
    look.missing.sort();
    look.missing.dedup();
    out.placeholders = look.missing;
    Ok(out)
}
