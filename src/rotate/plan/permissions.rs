//! The `permissions:` edit that gives a job `id-token: write`, keeping its grants.

use yaml_serde::Value;

use crate::rotate::rewrite::{self, k, EditOp, Seg};
use crate::rotate::target::Workflow;

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
