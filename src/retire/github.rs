//! [`RetireApi`] for GitHub, through the forge client: the migration pull request found by
//! its branch and read through its marker, the workflow runs, compare, the Actions secrets,
//! and the other repositories' workflows an organization secret is shared with.

use base64::Engine as _;
use serde_json::Value;

use super::plan::{reads_secret, PullFacts, Replaced, RunFacts, SecretScope};
use super::run::{Deleted, Migrated, RetireApi};
use crate::forge::marker::{Marker, MarkerError, SecretScope as MarkerScope};
use crate::forge::{Client, ForgeError};

#[derive(Debug, thiserror::Error)]
pub enum GitHubRetireError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Marker(#[from] MarkerError),
    #[error("{0}: the pull request has no keysweep marker; retire only what `keysweep rotate --open-pr` migrated")]
    NoMarker(String),
}

/// GitHub as retire sees it (the client already authenticated for the repository).
pub struct GitHub<'a> {
    pub client: &'a Client,
}

fn timestamp(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn enc(s: &str) -> String {
    // path segments: secret and environment names, branch names in queries
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The marker's secrets as retire's, and the names whose scope is unknown.
pub fn migrated_from(marker: &Marker) -> Migrated {
    let mut m = Migrated {
        workflows: marker.workflows.clone(),
        targets: marker.targets.clone(),
        ..Default::default()
    };
    for s in &marker.secrets {
        let scope = match &s.scope {
            MarkerScope::Repository => SecretScope::Repository,
            MarkerScope::Environment { environment } => {
                SecretScope::Environment(environment.clone())
            }
            MarkerScope::Organization => SecretScope::Organization,
            MarkerScope::Unknown => {
                m.unknown_scope.push(s.name.clone());
                continue;
            }
        };
        m.secrets.push(Replaced {
            name: s.name.clone(),
            scope,
        });
    }
    m
}

impl GitHub<'_> {
    async fn default_branch(&self, repo: &str) -> Result<String, ForgeError> {
        let r = self.client.get(&format!("/repos/{repo}")).await?;
        Ok(r["default_branch"].as_str().unwrap_or("main").to_string())
    }

    /// `OWNER/REPO:path` of each workflow of `repo` that reads `name`.
    async fn readers_in(&self, repo: &str, name: &str) -> Result<Vec<String>, ForgeError> {
        let Some(list) = self
            .client
            .get_opt(&format!("/repos/{repo}/contents/.github/workflows"))
            .await?
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for f in list.as_array().into_iter().flatten() {
            let path = f["path"].as_str().unwrap_or_default();
            if f["type"] != "file" || !(path.ends_with(".yml") || path.ends_with(".yaml")) {
                continue;
            }
            let file = self
                .client
                .get(&format!("/repos/{repo}/contents/{path}"))
                .await?;
            let b64: String = file["content"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            let text = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if reads_secret(&text, name) {
                out.push(format!("{repo}:{path}"));
            }
        }
        Ok(out)
    }
}

impl RetireApi for GitHub<'_> {
    type Error = GitHubRetireError;

    async fn migration(
        &self,
        repo: &str,
        branch: &str,
    ) -> Result<Option<(PullFacts, Migrated)>, Self::Error> {
        let owner = repo.split('/').next().unwrap_or_default();
        let pulls = self
            .client
            .get_all(&format!(
                "/repos/{repo}/pulls?state=all&head={}&per_page=100",
                enc(&format!("{owner}:{branch}"))
            ))
            .await?;
        // the newest pull request from the branch (keysweep never opens a second one)
        let Some(p) = pulls
            .iter()
            .filter(|p| p["head"]["ref"].as_str().is_none_or(|r| r == branch))
            .max_by_key(|p| p["number"].as_u64().unwrap_or(0))
        else {
            return Ok(None);
        };
        let url = p["html_url"].as_str().unwrap_or_default().to_string();
        let merged_at = timestamp(&p["merged_at"]);
        let facts = PullFacts {
            url: url.clone(),
            merged: merged_at.is_some(),
            closed: p["state"] == "closed",
            merge_commit_sha: p["merge_commit_sha"].as_str().map(str::to_string),
            merged_at,
        };
        let marker = Marker::parse(p["body"].as_str().unwrap_or_default())?
            .ok_or(GitHubRetireError::NoMarker(url))?;
        Ok(Some((facts, migrated_from(&marker))))
    }

    async fn runs(&self, repo: &str, workflow: &str) -> Result<Vec<RunFacts>, Self::Error> {
        let branch = self.default_branch(repo).await?;
        let file = workflow.rsplit('/').next().unwrap_or(workflow);
        let page = self
            .client
            .get(&format!(
                "/repos/{repo}/actions/workflows/{}/runs?branch={}&per_page=100",
                enc(file),
                enc(&branch)
            ))
            .await?;
        Ok(page["workflow_runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                Some(RunFacts {
                    path: r["path"]
                        .as_str()
                        .map(|p| p.split('@').next().unwrap_or(p).to_string())
                        .unwrap_or_else(|| workflow.to_string()),
                    url: r["html_url"].as_str()?.to_string(),
                    head_sha: r["head_sha"].as_str()?.to_string(),
                    status: r["status"].as_str().unwrap_or_default().to_string(),
                    conclusion: r["conclusion"].as_str().map(str::to_string),
                    started_at: timestamp(&r["run_started_at"])
                        .or_else(|| timestamp(&r["created_at"]))?,
                })
            })
            .collect())
    }

    async fn descends(&self, repo: &str, base: &str, head: &str) -> Result<bool, Self::Error> {
        if base == head {
            return Ok(true);
        }
        let c = self
            .client
            .get(&format!("/repos/{repo}/compare/{base}...{head}"))
            .await?;
        Ok(matches!(c["status"].as_str(), Some("identical" | "ahead")))
    }

    async fn org_secret_readers(&self, repo: &str, name: &str) -> Result<Vec<String>, Self::Error> {
        let org = repo.split('/').next().unwrap_or_default();
        let secret = self
            .client
            .get(&format!("/orgs/{org}/actions/secrets/{}", enc(name)))
            .await?;
        let repos: Vec<String> = if secret["visibility"] == "selected" {
            self.client
                .get_all(&format!(
                    "/orgs/{org}/actions/secrets/{}/repositories?per_page=100",
                    enc(name)
                ))
                .await?
                .iter()
                .filter_map(|r| r["full_name"].as_str().map(str::to_string))
                .collect()
        } else {
            let private_only = secret["visibility"] == "private";
            self.client
                .get_all(&format!("/orgs/{org}/repos?per_page=100"))
                .await?
                .iter()
                .filter(|r| !private_only || r["private"] == true)
                .filter(|r| r["archived"] != true)
                .filter_map(|r| r["full_name"].as_str().map(str::to_string))
                .collect()
        };
        let mut readers = Vec::new();
        for other in repos.iter().filter(|r| !r.eq_ignore_ascii_case(repo)) {
            readers.extend(self.readers_in(other, name).await?);
        }
        Ok(readers)
    }

    async fn delete_secret(&self, repo: &str, secret: &Replaced) -> Result<Deleted, Self::Error> {
        let name = enc(&secret.name);
        let path = match &secret.scope {
            SecretScope::Repository => format!("/repos/{repo}/actions/secrets/{name}"),
            SecretScope::Environment(e) => {
                format!("/repos/{repo}/environments/{}/secrets/{name}", enc(e))
            }
            SecretScope::Organization => {
                let org = repo.split('/').next().unwrap_or_default();
                format!("/orgs/{org}/actions/secrets/{name}")
            }
        };
        match self.client.delete(&path).await {
            Ok(_) => Ok(Deleted::Deleted),
            Err(ForgeError::NotFound { .. }) => Ok(Deleted::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
