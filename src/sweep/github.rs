//! The repositories of a GitHub organisation or user (`--org`, `--user`), listed through the
//! API with [`Client::get_all`] (every `Link: rel="next"` page). Archived repositories and
//! forks are left out unless asked for; `--topic` keeps only repositories that carry every
//! topic given. The clone URL is the API's `clone_url`.

use super::credentials::{host_of, Credential, GitCredentials};
use super::RepoSpec;
use crate::forge::{Client, Credentials, ForgeError};
use octocrab::secrecy::ExposeSecret;
use serde_json::Value;

/// Whose repositories to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Org(String),
    User(String),
}

impl Owner {
    /// The list endpoint: every type of an organisation's repositories, a user's own.
    fn path(&self) -> String {
        match self {
            Owner::Org(o) => format!("/orgs/{o}/repos?type=all&per_page=100"),
            Owner::User(u) => format!("/users/{u}/repos?type=owner&per_page=100"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub include_archived: bool,
    pub include_forks: bool,
    /// A repository must carry every one of these topics.
    pub topics: Vec<String>,
}

impl ListFilter {
    fn keeps(&self, repo: &Value) -> bool {
        let flag = |k: &str| repo[k].as_bool().unwrap_or(false);
        if flag("archived") && !self.include_archived {
            return false;
        }
        if flag("fork") && !self.include_forks {
            return false;
        }
        let topics: Vec<&str> = repo["topics"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        self.topics
            .iter()
            .all(|t| topics.iter().any(|have| have.eq_ignore_ascii_case(t)))
    }
}

/// The repositories `owner` lists, filtered; a body without `full_name` or `clone_url` is an
/// error (the API answered something else).
pub async fn list(
    client: &Client,
    owner: &Owner,
    filter: &ListFilter,
) -> Result<Vec<RepoSpec>, ForgeError> {
    let path = owner.path();
    let items = client.get_all(&path).await?;
    let mut out = Vec::new();
    for item in items.iter().filter(|r| filter.keeps(r)) {
        let (Some(name), Some(url)) = (item["full_name"].as_str(), item["clone_url"].as_str())
        else {
            return Err(ForgeError::Response {
                method: "GET".into(),
                path: path.clone(),
                message: "a repository without `full_name` or `clone_url`".into(),
            });
        };
        out.push(RepoSpec {
            name: name.to_string(),
            source: super::credentials::strip_userinfo(url),
            credential_in_url: super::credentials::url_has_credential(url),
        });
    }
    Ok(out)
}

/// HTTPS fetches of the listed repositories use the token the API client uses, for each
/// host the clone URLs name, unless `KEYSWEEP_GIT_TOKEN_<HOST>` gives that host its own. The
/// token stays in memory. A GitHub App's key is not a git credential: its fetches take
/// `KEYSWEEP_GIT_TOKEN` as before.
pub fn add_api_token(creds: &mut GitCredentials, api: &Credentials, repos: &[RepoSpec]) {
    let Credentials::Token(token) = api else {
        return;
    };
    for host in repos.iter().filter_map(|r| host_of(&r.source)) {
        creds.add_host_default(
            &host,
            Credential {
                username: "x-access-token".into(),
                token: token.expose_secret().to_string(),
            },
        );
    }
}
