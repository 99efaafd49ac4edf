//! The contract between the planner and a rotate target: what a target is handed (a [`Use`]:
//! the uses of one credential in one workflow, with the [`Site`] each is bound at), what it
//! returns (a [`UsePlan`], or why the uses stay as they are), and what its trust
//! configuration is built from ([`TrustInput`]) and made of ([`TrustArtifact`]).

use std::path::Path;

use serde::Serialize;
use yaml_serde::Value;

use super::facts::Lookup;
use super::rewrite::{EditOp, Seg};
use crate::pipeline::PipelineFinding;

/// One OIDC target: which uses it takes, the rewrite, and the trust configuration.
pub trait Target: Sync {
    /// `aws`, `gcp`, `azure`, `pypi`, `npm`, `crates-io`, `vault`, `octo-sts`.
    fn id(&self) -> &'static str;
    /// Does this target migrate the finding's credential?
    fn handles(&self, f: &PipelineFinding) -> bool;
    /// Does the trust configuration bind `sub` claims (clouds) rather than owner, repository,
    /// workflow and environment (package registries' trusted publishers)?
    fn needs_subject(&self) -> bool {
        true
    }
    /// Does this target migrate a use the analysis marked as blocked (the blocker names it)?
    fn accepts_blocked(&self, _f: &PipelineFinding) -> bool {
        false
    }
    /// Plan each secret on its own (unrelated tokens in one job), not all uses of a job at once.
    fn per_secret(&self) -> bool {
        false
    }
    /// The workflow edits for one group of uses, or why they cannot be migrated safely.
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable>;
    /// The trust configuration for every migrated use of this target in one repository.
    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact>;
    /// What to do with the old secret once the OIDC run is green.
    fn retire_action(&self, secret: &str) -> String;
    /// The package a registry target publishes, from the repository's manifest.
    fn package(&self, _root: &Path) -> Option<String> {
        None
    }
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
    /// knows how to replace); `None` for a site that is no action input (an `env:` binding).
    pub fn action_input_step<'s>(
        &self,
        site: &'s Site,
        action: &str,
        key: &str,
    ) -> Result<Option<(&'s str, usize, &Value)>, Unmigratable> {
        let (SiteKind::With, Some(job), Some(i)) = (site.kind, site.job.as_deref(), site.step)
        else {
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
