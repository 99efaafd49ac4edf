//! Phase 2: load the file a group of uses is written in, find the node each use is bound at,
//! and cut the group into the uses a target plans at once.

use std::collections::BTreeMap;
use std::path::Path;

use yaml_serde::Value;

use super::skipped;
use crate::pipeline::{CiSystem, ConsumerKind, PipelineFinding};
use crate::rotate::edit::value_at;
use crate::rotate::rewrite::{k, Seg};
use crate::rotate::target::{Site, SiteKind, Target, Workflow};
use crate::rotate::{gitlab, RotateError, Skipped};

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
                    format!("the file does not parse: {e}"),
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
    let skip_all = |out: &mut Vec<Skipped>, why: &str| {
        for f in fs {
            out.push(skipped(f, Some(tid), why.into()));
        }
    };
    if wf.path.ends_with("action.yml") || wf.path.ends_with("action.yaml") {
        skip_all(
            out,
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
        skip_all(out, "the credential is used inside a reusable workflow: its callers must grant `id-token: write` and the token's subject is the caller's; migrate the callers and the reusable workflow together, by hand for now");
        return None;
    }
    let mut located: Vec<(&PipelineFinding, Site)> = Vec::new();
    let mut bad = false;
    for f in fs {
        let site = if f.ci == CiSystem::GitlabCi {
            gitlab::locate(wf, f)
        } else {
            locate(wf, f)
        };
        match site {
            Some(s) if written_elsewhere(wf, &s) => {
                out.push(skipped(f, Some(tid), "the binding is written in a YAML anchor (`&name`, used through `*name` or `<<:`) that other nodes may share; keysweep does not rewrite anchors: move the credential out of the anchor, or migrate by hand".into()));
                bad = true;
            }
            Some(s) => {
                if let Some(why) = chooses_between_secrets(wf, &s) {
                    out.push(skipped(f, Some(tid), why));
                    bad = true;
                }
                located.push((f, s));
            }
            None => {
                let why = if f.consumer.kind == ConsumerKind::ReusableWorkflow {
                    "the secret is passed to a reusable workflow; it is read there (migrate the reusable workflow and its callers together, by hand for now)"
                } else {
                    "keysweep could not find the node this use is written in"
                };
                out.push(skipped(f, Some(tid), why.into()));
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
                    "another use of the same credential in this workflow cannot be migrated; the plan never half-applies".into(),
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
/// True when the node a site names is not written inside its own job (or the workflow's own
/// top-level mapping), i.e. it is reached through a YAML alias or merge key.
fn written_elsewhere(wf: &Workflow, site: &Site) -> bool {
    let Ok(doc) = yamlpath::Document::new(wf.text.clone()) else {
        return false;
    };
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

/// The node a finding's reference is written in.
pub(super) fn locate(wf: &Workflow, f: &PipelineFinding) -> Option<Site> {
    let doc = yamlpath::Document::new(wf.text.clone()).ok()?;
    let line_of = |b: usize| wf.text[..b.min(wf.text.len())].matches('\n').count() + 1;
    let span = |path: &[Seg]| -> Option<(usize, usize)> {
        let r = crate::rotate::rewrite::route(path);
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
