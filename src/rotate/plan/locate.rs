//! Phase 2: load the file a group of uses is written in, find the node each use is bound at,
//! and cut the group into the uses a target plans at once.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_serde::Value;

use super::skipped;
use crate::pipeline::{CiSystem, ConsumerKind, PipelineFinding};
use crate::rotate::edit::value_at;
use crate::rotate::rewrite::Seg;
use crate::rotate::target::{Blocker, Site, SiteKind, Target, Unmigratable, Workflow};
use crate::rotate::{RotateError, Skipped};

/// Load `wf_path` (relative to the analysed root) into `workflows` under `rel`; `false` (and
/// every use skipped) when it does not parse.
pub(super) fn load(
    root: &Path,
    wf_path: &str,
    rel: &str,
    fs: &[&PipelineFinding],
    tid: &'static str,
    workflows: &mut BTreeMap<String, Workflow>,
    out: &mut Vec<Skipped>,
) -> Result<bool, RotateError> {
    if workflows.contains_key(rel) {
        return Ok(true);
    }
    let abs = root.join(wf_path);
    let text = std::fs::read_to_string(&abs).map_err(|source| RotateError::Io {
        path: abs.display().to_string(),
        source,
    })?;
    let value: Value = match yaml_serde::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            for f in fs {
                out.push(skipped(
                    f,
                    Some(tid),
                    Unmigratable::new(
                        Blocker::NotRewritten,
                        format!("the file does not parse: {e}"),
                    ),
                ));
            }
            return Ok(false);
        }
    };
    workflows.insert(
        rel.to_string(),
        Workflow {
            path: rel.to_string(),
            text,
            value,
        },
    );
    Ok(true)
}

/// Every use's binding site, or `None` (and every use skipped) when one of them cannot be
/// migrated: the plan never half-applies a credential.
pub(super) fn sites<'f>(
    wf: &Workflow,
    target: &dyn Target,
    fs: &[&'f PipelineFinding],
    out: &mut Vec<Skipped>,
) -> Option<Vec<(&'f PipelineFinding, Site)>> {
    let tid = target.id();
    let skip_all = |out: &mut Vec<Skipped>, blocker: Blocker, why: &str| {
        for f in fs {
            out.push(skipped(f, Some(tid), Unmigratable::new(blocker, why)));
        }
    };
    if wf.path.ends_with("action.yml") || wf.path.ends_with("action.yaml") {
        skip_all(
            out,
            Blocker::NotRewritten,
            "the secret is an input of a composite action: migrate the workflows that pass it",
        );
        return None;
    }
    if target.needs_subject()
        && wf
            .value
            .get("on")
            .and_then(|o| o.get("workflow_call"))
            .is_some()
    {
        skip_all(out, Blocker::Platform, "the credential is used inside a reusable workflow: its callers must grant `id-token: write` and the token's subject is the caller's; migrate the callers and the reusable workflow together, by hand for now");
        return None;
    }
    let mut located: Vec<(&PipelineFinding, Site)> = Vec::new();
    let mut bad = false;
    // parsed once for every site of this workflow
    let doc = yamlpath::Document::new(wf.text.clone()).ok();
    for f in fs {
        let site = node_site(wf, f);
        match site {
            Some(s) if doc.as_ref().is_some_and(|d| written_elsewhere(d, &s)) => {
                out.push(skipped(f, Some(tid), Unmigratable::new(Blocker::Anchor, "the binding is written in a YAML anchor (`&name`, used through `*name` or `<<:`) that other nodes may share; keysweep does not rewrite anchors: move the credential out of the anchor, or migrate by hand")));
                bad = true;
            }
            Some(s) => {
                if let Some(why) = chooses_between_secrets(wf, &s) {
                    out.push(skipped(
                        f,
                        Some(tid),
                        Unmigratable::new(Blocker::NotRewritten, why),
                    ));
                    bad = true;
                }
                located.push((f, s));
            }
            None => {
                let why = if f.consumer.kind == ConsumerKind::ReusableWorkflow {
                    Unmigratable::new(Blocker::Platform, "the secret is passed to a reusable workflow; it is read there (migrate the reusable workflow and its callers together, by hand for now)")
                } else {
                    Unmigratable::new(
                        Blocker::NotFound,
                        "keysweep could not find the node this use is written in",
                    )
                };
                out.push(skipped(f, Some(tid), why));
                bad = true;
            }
        }
    }
    if bad {
        for (f, _) in &located {
            if !out
                .iter()
                .any(|s| s.secret == f.secret && s.line == f.location.line)
            {
                out.push(skipped(
                    f,
                    Some(tid),
                    Unmigratable::new(Blocker::Together, "another use of the same credential in this workflow cannot be migrated; the plan never half-applies"),
                ));
            }
        }
        return None;
    }
    Some(located)
}

/// One use per job, or one for the workflow when a binding is workflow-level (per secret for
/// targets that plan each token on its own); uses of one secret in several jobs move
/// together, since retiring it needs all of them.
pub(super) fn split_uses<'f>(
    target: &dyn Target,
    located: Vec<(&'f PipelineFinding, Site)>,
) -> Vec<Vec<(&'f PipelineFinding, Site)>> {
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
    let mut groups: Vec<Vec<(&PipelineFinding, Site)>> = uses.into_values().collect();
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                if groups[i]
                    .iter()
                    .any(|(a, _)| groups[j].iter().any(|(b, _)| a.secret == b.secret))
                {
                    let g = groups.remove(j);
                    groups[i].extend(g);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    groups
}

/// A value that picks one of several secrets (`matrix.stage == 'prod' && secrets.A || secrets.B`)
/// stands for several credentials (accounts, projects): one role cannot replace them.
/// The site of the node the analysis read the use from (the finding's own route), when the
/// finding is in this file and the node is one rotate edits: a binding in `env:`/`with:`/
/// `variables:`, or a script.
pub(super) fn node_site(wf: &Workflow, f: &PipelineFinding) -> Option<Site> {
    use crate::pipeline::model::NodeSeg as N;
    let here = f.location.path.replace('\\', "/");
    if !(here == wf.path || here.ends_with(&format!("/{}", wf.path))) {
        return None;
    }
    let to_seg = |n: &N| match n {
        N::Key(k) => Seg::Key(k.clone()),
        N::Index(i) => Seg::Index(*i),
    };
    let site = |kind, job: Option<&String>, step, path: &[N], key: &str| {
        Some(Site {
            kind,
            job: job.cloned(),
            step,
            path: path.iter().map(to_seg).collect(),
            key: key.to_string(),
        })
    };
    let n = f.node.as_slice();
    match f.ci {
        CiSystem::GithubActions => match n {
            [N::Key(e), N::Key(k)] if e == "env" => site(SiteKind::WorkflowEnv, None, None, n, k),
            [N::Key(j), N::Key(job), N::Key(e), N::Key(k)] if j == "jobs" && e == "env" => {
                site(SiteKind::JobEnv, Some(job), None, n, k)
            }
            [N::Key(j), N::Key(job), N::Key(st), N::Index(i), N::Key(sect), N::Key(k)]
                if j == "jobs" && st == "steps" && (sect == "with" || sect == "env") =>
            {
                let kind = if sect == "with" {
                    SiteKind::With
                } else {
                    SiteKind::StepEnv
                };
                site(kind, Some(job), Some(*i), n, k)
            }
            [N::Key(j), N::Key(job), N::Key(st), N::Index(i), N::Key(r)]
                if j == "jobs" && st == "steps" && r == "run" =>
            {
                site(SiteKind::Run, Some(job), Some(*i), n, "run")
            }
            _ => None,
        },
        CiSystem::GitlabCi => match n {
            [N::Key(v), N::Key(k)] if v == "variables" => {
                site(SiteKind::WorkflowEnv, None, None, n, k)
            }
            // `NAME: {value: ..., description: ...}` is edited as the variable
            [N::Key(job), N::Key(v), N::Key(k), ..] if v == "variables" => {
                site(SiteKind::JobEnv, Some(job), None, &n[..3], k)
            }
            [N::Key(job), N::Key(sect), ..]
                if matches!(sect.as_str(), "before_script" | "script" | "after_script") =>
            {
                site(SiteKind::Run, Some(job), None, &n[..2], sect)
            }
            _ => None,
        },
    }
}

/// True when the node a site names is not written inside its own job (or the workflow's own
/// top-level mapping), i.e. it is reached through a YAML alias or merge key.
fn written_elsewhere(doc: &yamlpath::Document, site: &Site) -> bool {
    let owner_len = match site.path.first() {
        Some(Seg::Key(k0)) if k0 == "jobs" => 2,
        _ => 1,
    };
    if site.path.len() <= owner_len {
        return false;
    }
    let span = |p: &[Seg]| {
        doc.query_pretty(&crate::rotate::rewrite::route(p))
            .ok()
            .map(|f| f.location.byte_span)
    };
    match (span(&site.path[..owner_len]), span(&site.path)) {
        (Some((a, b)), Some((s, e))) => s < a || e > b,
        // the key exists only once a `<<` merge is applied
        (Some(_), None) => true,
        _ => false,
    }
}

fn chooses_between_secrets(wf: &Workflow, site: &Site) -> Option<String> {
    let v = value_at(&wf.value, &site.path)?.as_str()?;
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
