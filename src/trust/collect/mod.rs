//! Reads a tree into the trust [`Inventory`]: Terraform (hcl-edit, with byte spans), IAM /
//! Vault / GCP / Azure JSON documents, octo-sts trust policies and the vault-action steps of
//! workflows. A file that looks like trust configuration but does not parse becomes a
//! [`Malformed`] entry; it never stops the walk.

mod hcl_functions;
mod json;
mod octo_sts;
mod terraform;
mod terraform_eval;
mod workflows;

use super::model::*;
use super::source::{parse_json, Node, SrcFile};
use super::{Malformed, GITHUB_ISSUER_HOST};
use hcl::edit::structure::Body;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub(crate) struct Collected {
    pub inventory: Inventory,
    pub malformed: Vec<Malformed>,
    /// Expressions the Terraform evaluator does not support.
    pub unsupported: Vec<Malformed>,
    pub files: usize,
    /// The text of every file read, by display path: for inline allow comments.
    pub texts: HashMap<String, String>,
}

/// Strings whose presence makes a file worth reporting when it does not parse.
const MARKERS: &[&str] = &[
    "AssumeRoleWithWebIdentity",
    "oidc-provider",
    "aws_iam_role",
    "aws_iam_policy_document",
    "workload_identity_pool_provider",
    "federated_identity_credential",
    "AzureADTokenExchange",
    "vault_jwt_auth_backend_role",
    "bound_audiences",
    "issuerUri",
    GITHUB_ISSUER_HOST,
];

fn looks_relevant(text: &str) -> bool {
    MARKERS.iter().any(|m| text.contains(m))
}

/// Every file under `root` (or `root` itself) through the shared walker, less the excluded.
fn trust_files(root: &Path, walk: &Walk) -> Vec<PathBuf> {
    crate::source::walk::files(root, walk.config)
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            !walk.exclude.as_ref().is_some_and(|g| g.is_match(rel))
        })
        .collect()
}

/// How trust lint walks: the shared walker's settings and the `--exclude` globs.
#[derive(Debug, Default, Clone)]
pub struct Walk {
    pub config: crate::source::walk::WalkConfig,
    pub exclude: Option<globset::GlobSet>,
}

pub(crate) fn collect(root: &Path, walk: &Walk) -> Collected {
    let mut files = trust_files(root, walk);
    files.sort();
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let mut out = Collected::default();
    let mut terraform: Vec<(SrcFile, Body)> = Vec::new();
    let mut tfvars: Vec<(SrcFile, terraform_eval::TfVars)> = Vec::new();
    for p in files {
        let Some(kind) = kind_of(&p) else { continue };
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let mut src = SrcFile::new(crate::source::fs::relative_display(base, &p), text);
        src.module_dir = p.parent().map(Path::to_path_buf);
        if !matches!(kind, Kind::Workflow) {
            out.texts.insert(src.path.clone(), src.text.clone());
        }
        match kind {
            Kind::Terraform => {
                out.files += 1;
                match hcl::edit::parser::parse_body(&src.text) {
                    Ok(body) => terraform.push((src, body)),
                    Err(e) => {
                        if looks_relevant(&src.text) {
                            let loc = e.location();
                            out.malformed.push(Malformed {
                                path: src.path.clone(),
                                line: loc.line(),
                                column: loc.column(),
                                reason: format!("HCL: {}", e.message()),
                            });
                        }
                    }
                }
            }
            Kind::TfVars => {
                // values only: a tfvars file that does not parse is Terraform's to report
                if src.path.ends_with(".json") {
                    if let Ok(node) = parse_json(&src.text, 0) {
                        tfvars.push((src, terraform_eval::TfVars::Json(node)));
                    }
                } else if let Ok(body) = hcl::edit::parser::parse_body(&src.text) {
                    tfvars.push((src, terraform_eval::TfVars::Hcl(body)));
                }
            }
            Kind::Json => {
                if !looks_relevant(&src.text) {
                    continue;
                }
                out.files += 1;
                match parse_json(&src.text, 0) {
                    Ok(node) => json::json_documents(&src, &node, &mut out.inventory),
                    Err(e) => {
                        let (line, column) = src.position(e.offset);
                        out.malformed.push(Malformed {
                            path: src.path.clone(),
                            line,
                            column,
                            reason: format!("JSON: {}", e.message),
                        });
                    }
                }
            }
            Kind::OctoSts => {
                out.files += 1;
                octo_sts::octo_sts(&src, &p, &mut out);
            }
            Kind::Workflow => {
                if src.text.contains("hashicorp/vault-action") {
                    workflows::vault_action_uses(&src, &mut out.inventory.vault_action_uses);
                }
            }
        }
    }
    terraform_eval::module_values(&mut terraform, &tfvars);
    terraform::terraform_documents(&terraform, &mut out);
    for (src, _) in &terraform {
        let mut seen = std::collections::BTreeSet::new();
        for (offset, reason) in src.unsupported.borrow().iter() {
            let (line, column) = src.position(*offset);
            if seen.insert((line, column)) {
                out.unsupported.push(Malformed {
                    path: src.path.clone(),
                    line,
                    column,
                    reason: reason.clone(),
                });
            }
        }
    }
    out
}

enum Kind {
    Terraform,
    TfVars,
    Json,
    OctoSts,
    Workflow,
}

fn kind_of(p: &Path) -> Option<Kind> {
    let name = p.file_name()?.to_str()?;
    let parent = p
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    let grand = p
        .parent()
        .and_then(Path::parent)
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    if name.ends_with(".tf") {
        Some(Kind::Terraform)
    } else if matches!(name, "terraform.tfvars" | "terraform.tfvars.json")
        || name.ends_with(".auto.tfvars")
        || name.ends_with(".auto.tfvars.json")
    {
        Some(Kind::TfVars)
    } else if name.ends_with(".json") {
        Some(Kind::Json)
    } else if (name.ends_with(".sts.yaml") || name.ends_with(".sts.yml"))
        && parent == Some("chainguard")
    {
        Some(Kind::OctoSts)
    } else if (name.ends_with(".yml") || name.ends_with(".yaml"))
        && parent == Some("workflows")
        && grand == Some(".github")
    {
        Some(Kind::Workflow)
    } else {
        None
    }
}

pub(super) fn text(src: &SrcFile, n: &Node) -> Option<Text> {
    n.text().map(|v| Text {
        value: v.to_string(),
        loc: src.loc(&n.span),
        depends: n.depends().map(str::to_string),
    })
}

pub(super) fn texts(src: &SrcFile, n: Option<&Node>) -> Vec<Text> {
    n.map(|n| {
        n.scalars()
            .into_iter()
            .filter_map(|s| text(src, s))
            .collect()
    })
    .unwrap_or_default()
}
