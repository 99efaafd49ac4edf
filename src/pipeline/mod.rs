//! CI pipeline analysis: which long-lived credentials do the pipelines consume, what consumes
//! them, and can a short-lived OIDC credential replace them.
//!
//! Entry point: [`analyze`] walks a directory, parses every GitHub Actions workflow
//! (`.github/workflows/*.yml|yaml`), every action metadata file (`action.yml|yaml`) and every
//! GitLab pipeline (`.gitlab-ci.yml` and its local `include:` files), builds a small model with
//! source spans (see [`model`]) and runs every audit in [`audit`] over it. A file that does not
//! parse becomes one [`Diagnostic`]; the other files are still analysed.
//!
//! [`inventory`] turns a report into one table per repository of every secret the pipelines use.

pub mod audit;
mod discover;
mod github;
mod gitlab;
pub mod inventory;
pub mod model;
pub mod reads;
pub mod scratch;
pub mod secret_ref;
pub mod shell;

use std::path::Path;

use serde::Serialize;

/// One workflow's text as the model (trust lint reads vault-action steps from it).
#[cfg(feature = "rotate")]
pub(crate) use github::load_text as load_workflow_text;
pub use inventory::{inventory, Inventory};

/// Where the per-audit documentation lives, relative to the repository root. Each audit's
/// section anchor is its id: `docs/pipeline-audits.md#aws-static-keys`.
pub const DOC_PATH: &str = "docs/pipeline-audits.md";

/// Everything one [`analyze`] run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineReport {
    pub findings: Vec<PipelineFinding>,
    /// Files that could not be parsed (one entry per file) and other problems worth telling.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of CI files parsed successfully (workflows, actions, GitLab files).
    pub files_analyzed: usize,
    /// Every secret the GitHub workflows read, recognised by an audit or not (the inventory).
    #[serde(skip)]
    pub reads: Vec<reads::SecretRead>,
    /// Findings left out because their line says `keysweep:allow` (or `keysweep:allow[ID]`).
    #[serde(skip)]
    pub allowed_inline: u64,
}

/// A problem with one file; the rest of the analysis goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Path relative to the analysed root, `/`-separated.
    pub path: String,
    /// 1-based line of the problem (1 when the parser could not tell).
    pub line: usize,
    /// 1-based column (1 when the parser could not tell).
    pub column: usize,
    pub message: String,
}

/// Which CI system a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiSystem {
    GithubActions,
    GitlabCi,
}

/// Who issued the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Aws,
    Gcp,
    Azure,
    Pypi,
    Npm,
    CratesIo,
    Rubygems,
    Nuget,
    Vault,
    Github,
    Gitlab,
    DockerHub,
    /// A container registry keysweep does not know (Quay, a self-hosted Harbor, ...).
    ContainerRegistry,
    Kubernetes,
    /// Codecov upload tokens (the action accepts the job's OIDC token instead).
    Codecov,
    /// Signing keys for cosign (keyless signing uses the job's OIDC identity instead).
    Sigstore,
    /// The credential's issuer could not be told (a literal with no recognisable format).
    Unknown,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
            Provider::Pypi => "pypi",
            Provider::Npm => "npm",
            Provider::CratesIo => "crates-io",
            Provider::Rubygems => "rubygems",
            Provider::Nuget => "nuget",
            Provider::Vault => "vault",
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::DockerHub => "docker-hub",
            Provider::ContainerRegistry => "container-registry",
            Provider::Kubernetes => "kubernetes",
            Provider::Codecov => "codecov",
            Provider::Sigstore => "sigstore",
            Provider::Unknown => "unknown",
        }
    }
}

/// How sure the audit is that this really is a long-lived credential of that provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretSource {
    /// `${{ secrets.NAME }}` (repository, environment or organisation secret).
    GithubSecret,
    /// `${{ inputs.NAME }}` inside a composite action: the caller passes the value.
    ActionInput,
    /// A GitLab CI/CD variable (`$NAME`) set in the project, group or instance settings.
    GitlabVariable,
    /// The value is written into the file itself.
    Literal,
    /// Not one secret: `secrets: inherit` passes all of them.
    AllSecrets,
    /// `${{ steps.ID.outputs.NAME }}` of a secrets-manager step: a stored long-lived value.
    StepOutput,
}

/// What reads the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerKind {
    /// An input (`with:`) of an action.
    ActionInput,
    /// A well-known environment variable read by a step.
    EnvVar,
    /// A command in a `run:` script (or a GitLab `script:` line).
    Command,
    /// `container:`/`services:` registry credentials of a job.
    ContainerCredentials,
    /// A reusable workflow call (`secrets:` mapping or `secrets: inherit`).
    ReusableWorkflow,
    /// A local composite action that receives the secret as an input.
    CompositeAction,
}

/// The consumer that proves what a credential is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consumer {
    pub kind: ConsumerKind,
    /// `owner/repo[/path]@ref` of the action or reusable workflow, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The action input (`aws-access-key-id`) or reusable-workflow secret name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The environment variable the secret is bound to, when it flows through `env:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env_var: Option<String>,
    /// The command that reads it (`terraform`, `npm publish`, `docker login ghcr.io`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The step (its name, id, or `#N`), or GitLab script section, where it is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// One line for humans: `aws-actions/configure-aws-credentials@v4 input aws-access-key-id`.
    pub description: String,
}

/// A 1-based source range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Path relative to the analysed root, `/`-separated.
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// One long-lived credential use (or pipeline-level credential problem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelineFinding {
    /// The route of the node the use is written in, inside `location.path` (not shown: the
    /// location says where it is for people; this says it for rotate's edits).
    #[serde(skip)]
    pub node: Vec<model::NodeSeg>,
    /// Stable kebab-case audit id, also the documentation anchor.
    pub audit: audit::AuditId,
    pub title: String,
    /// One sentence for humans (SARIF `message.text`).
    pub message: String,
    pub ci: CiSystem,
    pub provider: Provider,
    /// The secret's name (`AWS_SECRET_ACCESS_KEY`, `inputs.token`, a GitLab variable name), or
    /// `<literal>` for a value written into the file.
    pub secret: String,
    pub secret_source: SecretSource,
    pub consumer: Consumer,
    /// The job id (GitHub `jobs.<id>`, GitLab job name); `None` at workflow level.
    pub job: Option<String>,
    /// The workflow, action or GitLab pipeline file the job belongs to.
    pub workflow: String,
    /// The repository root the file belongs to, relative to the analysed root (`.` for it).
    pub repository: String,
    /// Where the secret is referenced (the text a rotation would edit).
    pub location: Location,
    /// Whether a short-lived replacement exists for this provider and consumer (OIDC federation,
    /// or the job's own `GITHUB_TOKEN` / `CI_JOB_TOKEN`).
    pub oidc_replacement: bool,
    /// What replaces the secret, in one line.
    pub replacement: String,
    /// What blocks the migration here, if anything.
    pub blocked_by: Option<String>,
    pub confidence: Confidence,
    /// Documentation: `docs/pipeline-audits.md#<audit>`.
    pub help: String,
}

/// The migration status derived from a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationStatus {
    MigratableNow,
    Blocked,
    NoOidcAlternative,
}

impl PipelineFinding {
    pub fn status(&self) -> MigrationStatus {
        if !self.oidc_replacement {
            MigrationStatus::NoOidcAlternative
        } else if self.blocked_by.is_some() {
            MigrationStatus::Blocked
        } else {
            MigrationStatus::MigratableNow
        }
    }
}

/// Analyse every CI file under `root` (a repository, or a directory of repositories).
///
/// Paths in the report are relative to `root`. Never fails: unreadable or malformed files
/// become [`Diagnostic`]s.
pub fn analyze(root: &Path) -> PipelineReport {
    analyze_excluding(root, &|_| false)
}

/// [`analyze`], leaving out the CI files whose path relative to `root` is excluded (they are
/// neither read nor counted).
pub fn analyze_excluding(root: &Path, excluded: &dyn Fn(&Path) -> bool) -> PipelineReport {
    analyze_discovered(root, discover::discover(root), excluded)
}

/// Whether a file could be CI configuration, by its path alone: a walk that lists the tree
/// anyway keeps these for [`analyze_listed`].
pub fn is_ci_candidate(path: &Path) -> bool {
    discover::is_candidate(path)
}

/// [`analyze_excluding`] over files already listed under `root` (by a walk done anyway),
/// instead of walking `root` again.
pub fn analyze_listed(
    root: &Path,
    files: &[std::path::PathBuf],
    excluded: &dyn Fn(&Path) -> bool,
) -> PipelineReport {
    analyze_discovered(root, discover::from_paths(root, files), excluded)
}

fn analyze_discovered(
    root: &Path,
    mut files: discover::Discovered,
    excluded: &dyn Fn(&Path) -> bool,
) -> PipelineReport {
    let keep = |p: &Path| !excluded(p.strip_prefix(root).unwrap_or(p));
    files.github.retain(|f| keep(&f.abs));
    files.gitlab.retain(|f| keep(f));
    let mut report = PipelineReport::default();
    let mut contexts = Vec::new();
    for wf in &files.github {
        match github::load(root, wf) {
            Ok(ctx) => contexts.push(ctx),
            Err(d) => report.diagnostics.push(d),
        }
    }
    for gl in &files.gitlab {
        let (ctx, diags) = gitlab::load(root, gl);
        report.diagnostics.extend(diags);
        if let Some(ctx) = ctx {
            contexts.push(ctx);
        }
    }
    report.files_analyzed = contexts.iter().map(|c| c.files.len()).sum();
    report.reads = contexts.iter().flat_map(reads::secret_reads).collect();
    let audits = audit::all();
    for ctx in &contexts {
        for a in &audits {
            // An input defaulting to the job's token is reported at a caller that passes a
            // PAT to it (cross_file), never as a credential of the action itself.
            let own = a.audit(ctx).into_iter().filter(|f| {
                !(f.secret_source == SecretSource::ActionInput
                    && ctx
                        .job_token_inputs
                        .iter()
                        .any(|i| f.secret.strip_prefix("inputs.") == Some(i.as_str())))
            });
            report.findings.extend(own);
        }
    }
    report
        .findings
        .extend(audit::cross_file::caller_findings(&contexts, &audits));
    drop_attributed_inputs(&mut report.findings);
    audit::finish(&mut report.findings);
    report.allowed_inline = drop_allowed_inline(&mut report.findings, &contexts);
    report
        .diagnostics
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report
}

/// Analyse one file's text as a GitHub Actions workflow (`path` is used for locations only).
/// Useful for editors and for the scanner core's single-file mode.
/// Inline allows, read from the text the analysis parsed (each CI file is read once): a
/// finding whose line carries `keysweep:allow` (or `keysweep:allow[ITS-ID]`) is accepted.
fn drop_allowed_inline(
    findings: &mut Vec<PipelineFinding>,
    contexts: &[model::WorkflowContext],
) -> u64 {
    let sources: std::collections::HashMap<&str, &str> = contexts
        .iter()
        .flat_map(|c| c.files.iter())
        .map(|f| (f.path.as_str(), f.doc.source()))
        .collect();
    let before = findings.len();
    findings.retain(|f| {
        let line = sources
            .get(f.location.path.as_str())
            .and_then(|src| src.lines().nth(f.location.line.checked_sub(1)?));
        !line.is_some_and(|l| crate::suppress::allows(l.as_bytes(), f.audit.as_str()))
    });
    (before - findings.len()) as u64
}

/// A local action's input that a caller in the same repository feeds from a secret is
/// reported once, at the caller, under the caller's secret: not again as `inputs.x` in the
/// action. An action no local workflow calls keeps its own finding (its users pass the key).
fn drop_attributed_inputs(findings: &mut Vec<PipelineFinding>) {
    let fed: std::collections::BTreeSet<(String, String, String)> = findings
        .iter()
        .filter_map(|f| {
            let action = f.consumer.action.as_deref()?.strip_prefix("./")?;
            let input = f.consumer.input.clone()?;
            let dir = action.split('@').next()?.trim_end_matches('/').to_string();
            Some((f.repository.clone(), dir, input))
        })
        .collect();
    findings.retain(|f| {
        if f.secret_source != SecretSource::ActionInput {
            return true;
        }
        let Some(input) = f.secret.strip_prefix("inputs.") else {
            return true;
        };
        let path = f.location.path.replace('\\', "/");
        !fed.iter().any(|(repo, dir, i)| {
            repo == &f.repository
                && i.eq_ignore_ascii_case(input)
                && (path.ends_with(&format!("{dir}/action.yml"))
                    || path.ends_with(&format!("{dir}/action.yaml")))
        })
    });
}

pub fn analyze_workflow_text(path: &str, text: &str) -> PipelineReport {
    let mut report = PipelineReport::default();
    match github::load_text(path, text, Path::new(path)) {
        Ok(ctx) => {
            report.files_analyzed = 1;
            for a in audit::all() {
                report.findings.extend(a.audit(&ctx));
            }
            audit::finish(&mut report.findings);
        }
        Err(d) => report.diagnostics.push(d),
    }
    report
}

pub(crate) fn help_for(audit: &str) -> String {
    format!("{DOC_PATH}#{audit}")
}
