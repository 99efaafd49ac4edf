//! Pipeline credential uses as scan results: stable fingerprints (for baselines), inline
//! allows, and the link between a literal secret the scanner found in a CI file and the job
//! that consumes it.

use crate::finding::{Finding, Location};
use crate::pipeline::{self, Diagnostic, PipelineFinding};
use crate::source::fs::display_path;
use globset::GlobSet;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A pipeline finding with the fingerprint that keys it in baselines.
#[derive(Debug, Clone, Serialize)]
pub struct CiFinding {
    pub fingerprint: String,
    #[serde(flatten)]
    pub finding: PipelineFinding,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CiResult {
    pub findings: Vec<CiFinding>,
    pub diagnostics: Vec<Diagnostic>,
    pub files_analyzed: usize,
    /// How the findings count: set for the uses a change adds (PR check, pre-commit);
    /// `None` for a working-tree analysis, whose findings always count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PipelineUses>,
}

/// `pipeline_uses` in `.keysweep.toml` (and `--pipeline-uses`): what a new long-lived
/// credential use in a change does to the PR check and the pre-commit hook.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum PipelineUses {
    /// Reported, and the check fails (exit 1, `::error` annotations).
    #[default]
    Fail,
    /// Reported as `::warning` annotations; the check passes.
    Warn,
    /// Not audited.
    Off,
}

impl CiResult {
    /// Whether these findings fail the check.
    pub fn blocking(&self) -> bool {
        !self.findings.is_empty() && self.policy != Some(PipelineUses::Warn)
    }
}

/// `sha256("pipeline" : audit : workflow : job : secret)`: stable when lines move, distinct
/// per job and secret.
pub fn fingerprint(f: &PipelineFinding) -> String {
    let mut h = Sha256::new();
    for part in [
        "pipeline",
        f.audit.as_str(),
        &f.workflow,
        f.job.as_deref().unwrap_or(""),
        &f.secret,
    ] {
        h.update(part.as_bytes());
        h.update(b":");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Analyses the CI configuration under each directory root, leaving out excluded paths. Paths are shown as the scan shows
/// them (prefixed by the root as given). Returns the findings and how many lines were allowed
/// inline.
pub fn analyze_roots(roots: &[std::path::PathBuf], exclude: &GlobSet) -> (CiResult, u64) {
    analyze_each(roots, exclude, |root, excluded| {
        pipeline::analyze_excluding(root, excluded)
    })
}

/// [`analyze_roots`] for one directory root whose files a walk has listed already (only the
/// CI candidates among them are needed: [`pipeline::is_ci_candidate`]).
pub fn analyze_listed_root(
    root: &std::path::Path,
    files: &[std::path::PathBuf],
    exclude: &GlobSet,
) -> (CiResult, u64) {
    analyze_each(&[root.to_path_buf()], exclude, |root, excluded| {
        pipeline::analyze_listed(root, files, excluded)
    })
}

fn analyze_each(
    roots: &[std::path::PathBuf],
    exclude: &GlobSet,
    analyze: impl Fn(&std::path::Path, &dyn Fn(&std::path::Path) -> bool) -> pipeline::PipelineReport,
) -> (CiResult, u64) {
    let mut out = CiResult::default();
    let mut allowed = 0;
    for root in roots.iter().filter(|r| r.is_dir()) {
        let report = analyze(root, &|rel| exclude.is_match(rel));
        out.files_analyzed += report.files_analyzed;
        // the root itself is shown as given (`repo`, not `repo/.`)
        let shown = |rel: &str| {
            if rel == "." {
                display_path(root)
            } else {
                display_path(&root.join(rel))
            }
        };
        allowed += report.allowed_inline;
        for mut f in report.findings {
            if exclude.is_match(&f.location.path) {
                continue;
            }
            f.location.path = shown(&f.location.path);
            f.workflow = shown(&f.workflow);
            f.repository = shown(&f.repository);
            out.findings.push(CiFinding {
                fingerprint: fingerprint(&f),
                finding: f,
            });
        }
        let diagnostics = report
            .diagnostics
            .into_iter()
            .filter(|d| !exclude.is_match(&d.path));
        out.diagnostics.extend(diagnostics.map(|mut d| {
            d.path = shown(&d.path);
            d
        }));
    }
    (out, allowed)
}

/// A literal secret in a CI file is reported once: as the scanner's finding, with the job that
/// consumes it attached as context. The pipeline's own `literal-secret` finding is dropped
/// where the scanner found the value; kept where only the pipeline audit saw it.
pub fn link_literals(findings: &mut [Finding], ci: &mut CiResult) {
    let mut by_place: HashMap<(String, usize), Vec<&mut Location>> = HashMap::new();
    for f in findings.iter_mut() {
        for loc in f.locations.iter_mut() {
            by_place
                .entry((loc.path.clone(), loc.line))
                .or_default()
                .push(loc);
        }
    }
    ci.findings.retain(|c| {
        if c.finding.audit != crate::pipeline::audit::AuditId::LiteralSecret {
            return true;
        }
        let key = (c.finding.location.path.clone(), c.finding.location.line);
        match by_place.get_mut(&key) {
            Some(locs) => {
                let context = match &c.finding.job {
                    Some(job) => format!("job `{job}`: {}", c.finding.consumer.description),
                    None => c.finding.consumer.description.clone(),
                };
                for loc in locs.iter_mut() {
                    loc.context.get_or_insert_with(|| context.clone());
                }
                false
            }
            None => true,
        }
    });
}
