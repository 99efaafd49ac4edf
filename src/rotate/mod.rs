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

mod action_ref;
pub mod aws;
mod azure;
mod crates_io;
mod edit;
mod error;
pub mod facts;
mod gcp;
mod gitlab;
mod manifest;
pub mod memory;
mod npm;
mod octo_sts;
mod pins;
mod plan;
mod pypi;
pub mod registry;
pub mod rewrite;
pub mod subject;
mod target;
pub mod trust;
mod vault;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::pipeline::{PipelineFinding, PipelineReport};
use facts::{Facts, Placeholder, SubjectFormat};
use rewrite::Edit;

pub use error::RotateError;
pub use plan::permissions_edit;
pub use target::{
    Site, SiteKind, Target, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan, Workflow,
};

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

/// Build the plan for everything `report` found under `root`.
pub fn plan(root: &Path, report: &PipelineReport, opts: &Options) -> Result<Plan, RotateError> {
    for t in &opts.targets {
        if registry::by_id(t).is_none() {
            return Err(RotateError::UnknownTarget(t.clone()));
        }
    }
    let mut by_repo: BTreeMap<String, Vec<&PipelineFinding>> = BTreeMap::new();
    for f in &report.findings {
        by_repo.entry(f.repository.clone()).or_default().push(f);
    }
    let mut repositories = Vec::new();
    for (repo, findings) in by_repo {
        repositories.push(plan::plan_repo(root, &repo, &findings, opts)?);
    }
    Ok(Plan { repositories })
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
