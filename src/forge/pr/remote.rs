//! What the migration PR is planned from, read through the API: the repository's ids and
//! default branch head, its environments, its OIDC subject settings, and the CI files of the
//! head's tree (or a local checkout, checked against the head's blob ids).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use super::PrError;
use crate::forge::marker::{MarkerSecret, SecretScope};
use crate::forge::{Client, ForgeError};

/// `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`.
#[derive(Debug, Clone, Default)]
pub struct Oidc {
    pub use_default: bool,
    pub include_claim_keys: Vec<String>,
    pub sub_claim_prefix: Option<String>,
    pub use_immutable_subject: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Remote {
    /// `owner/repo` as given.
    pub slug: String,
    pub owner: String,
    pub id: u64,
    pub owner_id: u64,
    pub default_branch: String,
    pub head_sha: String,
    pub tree_sha: String,
    pub html_url: String,
    pub environments: Vec<String>,
    pub oidc: Oidc,
    /// Blob ids of the plan's input files in the head's tree (path -> sha).
    pub inputs: BTreeMap<String, String>,
}

/// A path segment (a ref name, a secret name) percent-encoded for a URL path: `/` included,
/// so `heads/keysweep/oidc-migration` stays one `{ref}` parameter.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The files the plan reads: top-level workflows, local composite actions, `.keysweep.toml`.
pub fn is_plan_input(path: &str) -> bool {
    let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
    match path.strip_prefix(".github/workflows/") {
        Some(rest) => yaml && !rest.contains('/'),
        None => {
            path == ".keysweep.toml"
                || (path.starts_with(".github/actions/")
                    && (path.ends_with("/action.yml") || path.ends_with("/action.yaml")))
        }
    }
}

/// Git's blob id (sha1 of `blob LEN\0` + bytes), as the tree API reports it.
pub fn blob_id(data: &[u8]) -> String {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, data)
        .map(|id| id.to_string())
        .unwrap_or_default()
}

fn field<'a>(v: &'a Value, path: &str, key: &str) -> Result<&'a Value, ForgeError> {
    let x = &v[key];
    if x.is_null() {
        return Err(ForgeError::Response {
            method: "GET".into(),
            path: path.to_string(),
            message: format!("no `{key}` in the answer"),
        });
    }
    Ok(x)
}

fn str_of(v: &Value, path: &str, key: &str) -> Result<String, ForgeError> {
    Ok(field(v, path, key)?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Everything but the file contents.
pub async fn read(c: &Client, slug: &str) -> Result<Remote, ForgeError> {
    let rp = format!("/repos/{slug}");
    let repo = c.get(&rp).await?;
    let default_branch = str_of(&repo, &rp, "default_branch")?;
    let owner = &repo["owner"];
    let oidc_path = format!("/repos/{slug}/actions/oidc/customization/sub");
    let oidc = match c.get_opt(&oidc_path).await? {
        Some(v) => Oidc {
            use_default: v["use_default"].as_bool().unwrap_or(true),
            include_claim_keys: v["include_claim_keys"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            sub_claim_prefix: v["sub_claim_prefix"].as_str().map(String::from),
            use_immutable_subject: v["use_immutable_subject"].as_bool(),
        },
        None => Oidc {
            use_default: true,
            ..Oidc::default()
        },
    };
    let environments = match c.get_opt(&format!("/repos/{slug}/environments")).await? {
        Some(v) => v["environments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let ref_path = format!(
        "/repos/{slug}/git/ref/{}",
        enc(&format!("heads/{default_branch}"))
    );
    let head = c.get(&ref_path).await?;
    let head_sha = field(&head, &ref_path, "object")?["sha"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let commit_path = format!("/repos/{slug}/git/commits/{head_sha}");
    let commit = c.get(&commit_path).await?;
    let tree_sha = field(&commit, &commit_path, "tree")?["sha"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let tree_path = format!("/repos/{slug}/git/trees/{tree_sha}?recursive=1");
    let tree = c.get(&tree_path).await?;
    if tree["truncated"].as_bool() == Some(true) {
        // a partial listing could miss workflows: never plan from it
        return Err(ForgeError::Response {
            method: "GET".into(),
            path: tree_path,
            message: "GitHub truncated the tree listing (too many files); plan from a checkout instead (PATH)".into(),
        });
    }
    let inputs = tree["tree"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["type"] == "blob")
                .filter_map(|e| {
                    Some((
                        e["path"].as_str()?.to_string(),
                        e["sha"].as_str()?.to_string(),
                    ))
                })
                .filter(|(p, _)| is_plan_input(p))
                .collect()
        })
        .unwrap_or_default();
    Ok(Remote {
        // as asked (GitHub redirects a renamed repository), so every request and ledger line
        // names the repository the user gave
        slug: slug.to_string(),
        owner: owner["login"].as_str().unwrap_or_default().to_string(),
        id: repo["id"].as_u64().unwrap_or_default(),
        owner_id: owner["id"].as_u64().unwrap_or_default(),
        default_branch,
        head_sha,
        tree_sha,
        html_url: repo["html_url"].as_str().unwrap_or_default().to_string(),
        environments,
        oidc,
        inputs,
    })
}

/// The plan inputs' contents, from the API (`GET .../git/blobs/{sha}`).
pub async fn read_files(c: &Client, r: &Remote) -> Result<BTreeMap<String, String>, ForgeError> {
    let mut out = BTreeMap::new();
    for (path, sha) in &r.inputs {
        let bp = format!("/repos/{}/git/blobs/{sha}", r.slug);
        let b = c.get(&bp).await?;
        let raw = b["content"]
            .as_str()
            .unwrap_or_default()
            .replace(['\n', '\r'], "");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw.as_bytes())
            .map_err(|e| ForgeError::Response {
                method: "GET".into(),
                path: bp.clone(),
                message: format!("blob content is not base64: {e}"),
            })?;
        out.insert(path.clone(), String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(out)
}

/// The plan inputs of a local checkout, refused unless they equal the remote head's.
pub fn local_files(root: &Path, r: &Remote) -> Result<BTreeMap<String, String>, PrError> {
    let mut local = BTreeMap::new();
    let mut walk = vec![root.join(".github")];
    while let Some(d) = walk.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk.push(p);
            } else if let Ok(rel) = p.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if is_plan_input(&rel) {
                    local.insert(rel, p);
                }
            }
        }
    }
    if root.join(".keysweep.toml").is_file() {
        local.insert(".keysweep.toml".into(), root.join(".keysweep.toml"));
    }
    let mut files = BTreeMap::new();
    let mut differ = Vec::new();
    for (rel, p) in &local {
        let data = std::fs::read(p).map_err(|e| PrError::Io(format!("{}: {e}", p.display())))?;
        match r.inputs.get(rel) {
            Some(sha) if *sha == blob_id(&data) => {}
            Some(_) => differ.push(format!("{rel} (changed)")),
            None => differ.push(format!("{rel} (only local)")),
        }
        files.insert(rel.clone(), String::from_utf8_lossy(&data).into_owned());
    }
    for rel in r.inputs.keys() {
        if !local.contains_key(rel) {
            differ.push(format!("{rel} (only on {})", r.default_branch));
        }
    }
    if !differ.is_empty() {
        return Err(PrError::Mismatch(format!(
            "{} differs from {}@{} ({}): {}; commit and push first, or leave PATH out to plan from the remote",
            root.display(),
            r.slug,
            r.default_branch,
            &r.head_sha.get(..7).unwrap_or(&r.head_sha),
            differ.join(", ")
        )));
    }
    Ok(files)
}

/// Where each of `names` is defined: environment, repository or organisation secrets. A list
/// the token may not read leaves the name `unknown` (never an error: the PR does not need it).
pub async fn secret_scopes(c: &Client, r: &Remote, names: &[String]) -> Vec<MarkerSecret> {
    let list = |path: String| async move {
        c.get_all(&path)
            .await
            .map(|v| {
                v.iter()
                    .filter_map(|s| s["name"].as_str().map(String::from))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let repo = list(format!("/repos/{}/actions/secrets?per_page=100", r.slug)).await;
    let org = list(format!(
        "/repos/{}/actions/organization-secrets?per_page=100",
        r.slug
    ))
    .await;
    let mut envs = Vec::new();
    for e in &r.environments {
        let s = list(format!(
            "/repos/{}/environments/{}/secrets?per_page=100",
            r.slug,
            enc(e)
        ))
        .await;
        envs.push((e.clone(), s));
    }
    let mut out = Vec::new();
    for n in names {
        let mut scopes: Vec<SecretScope> = envs
            .iter()
            .filter(|(_, s)| s.contains(n))
            .map(|(e, _)| SecretScope::Environment {
                environment: e.clone(),
            })
            .collect();
        if repo.contains(n) {
            scopes.push(SecretScope::Repository);
        }
        if org.contains(n) {
            scopes.push(SecretScope::Organization);
        }
        if scopes.is_empty() {
            scopes.push(SecretScope::Unknown);
        }
        out.extend(scopes.into_iter().map(|scope| MarkerSecret {
            name: n.clone(),
            scope,
        }));
    }
    out.sort();
    out.dedup();
    out
}
