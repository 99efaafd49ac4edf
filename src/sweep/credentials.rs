//! The git credential for HTTPS fetches, from the environment only. It is handed to gix in
//! memory when a server asks for it (HTTP 401): never in a URL, a git config or the state.
//!
//! - `KEYSWEEP_GIT_TOKEN_<HOST>` (host upper-cased, every other character `_`, e.g.
//!   `KEYSWEEP_GIT_TOKEN_GITLAB_EXAMPLE_COM`): the token for that host only.
//! - `KEYSWEEP_GIT_TOKEN`: the token for every other host.
//! - `KEYSWEEP_GIT_USERNAME` (or `KEYSWEEP_GIT_USERNAME_<HOST>`): the user name sent with it,
//!   default `x-access-token` (what GitHub expects; GitLab and Gitea accept any name with a token).

use std::collections::HashMap;
use std::fmt;

/// A user name and token; `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub token: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({}, <redacted>)", self.username)
    }
}

#[derive(Debug, Clone, Default)]
pub struct GitCredentials {
    default: Option<Credential>,
    per_host: HashMap<String, Credential>,
}

const TOKEN: &str = "KEYSWEEP_GIT_TOKEN";
const USERNAME: &str = "KEYSWEEP_GIT_USERNAME";
const DEFAULT_USERNAME: &str = "x-access-token";

impl GitCredentials {
    pub fn from_env() -> GitCredentials {
        Self::from_vars(std::env::vars())
    }

    /// Builds the credentials from `(name, value)` pairs (the environment).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> GitCredentials {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter(|(k, v)| k.starts_with("KEYSWEEP_GIT_") && !v.is_empty())
            .collect();
        let user = |suffix: &str| {
            vars.get(&format!("{USERNAME}{suffix}"))
                .or_else(|| vars.get(USERNAME))
                .cloned()
                .unwrap_or_else(|| DEFAULT_USERNAME.to_string())
        };
        let default = vars.get(TOKEN).map(|t| Credential {
            username: user(""),
            token: t.clone(),
        });
        let per_host = vars
            .iter()
            .filter_map(|(k, v)| {
                let host = k.strip_prefix(TOKEN)?.strip_prefix('_')?;
                Some((
                    host.to_string(),
                    Credential {
                        username: user(&format!("_{host}")),
                        token: v.clone(),
                    },
                ))
            })
            .collect();
        GitCredentials { default, per_host }
    }

    /// The credential for a host: its own, else the default.
    pub fn for_host(&self, host: &str) -> Option<&Credential> {
        self.per_host.get(&host_key(host)).or(self.default.as_ref())
    }

    /// Gives `host` this credential unless the environment gave it its own
    /// (`KEYSWEEP_GIT_TOKEN_<HOST>`): the API token for the hosts of the API's clone URLs.
    pub fn add_host_default(&mut self, host: &str, credential: Credential) {
        self.per_host.entry(host_key(host)).or_insert(credential);
    }
}

/// The host of a clone URL (`https://h/...`, `ssh://h/...`, `git@h:path`); `None` for a path.
pub fn host_of(url: &str) -> Option<String> {
    gix::url::parse(gix::bstr::BStr::new(url))
        .ok()
        .and_then(|u| u.host().map(str::to_string))
}

/// `gitlab.example.com` -> `GITLAB_EXAMPLE_COM`.
pub fn host_key(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether a clone URL carries a password or token in its user-info (`https://u:t@host/`).
pub fn url_has_credential(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// The URL without its user-info, as it may be stored and shown.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> GitCredentials {
        GitCredentials::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn per_host_wins_over_the_default() {
        let c = vars(&[
            ("KEYSWEEP_GIT_TOKEN", "dflt"),
            ("KEYSWEEP_GIT_TOKEN_GITLAB_EXAMPLE_COM", "gl"),
            ("KEYSWEEP_GIT_USERNAME_GITLAB_EXAMPLE_COM", "oauth2"),
        ]);
        let gl = c.for_host("gitlab.example.com").expect("gitlab");
        assert_eq!((gl.username.as_str(), gl.token.as_str()), ("oauth2", "gl"));
        let other = c.for_host("git.example.org").expect("default");
        assert_eq!(
            (other.username.as_str(), other.token.as_str()),
            ("x-access-token", "dflt")
        );
        assert!(!format!("{c:?}").contains("dflt"));
        assert!(vars(&[]).for_host("x").is_none());
    }

    #[test]
    fn an_added_host_default_never_replaces_the_environments() {
        let mut c = vars(&[("KEYSWEEP_GIT_TOKEN_GHE_EXAMPLE_COM", "own")]);
        let api = |t: &str| Credential {
            username: "x-access-token".into(),
            token: t.into(),
        };
        c.add_host_default("ghe.example.com", api("api"));
        c.add_host_default("github.com", api("api"));
        assert_eq!(c.for_host("ghe.example.com").expect("own").token, "own");
        assert_eq!(c.for_host("github.com").expect("api").token, "api");
        assert_eq!(
            host_of("https://github.com/acme/a.git").as_deref(),
            Some("github.com")
        );
        assert_eq!(host_of("/srv/a.git"), None);
    }

    #[test]
    fn userinfo_is_found_and_stripped() {
        assert!(url_has_credential("https://u:t0k@host/r.git"));
        assert!(!url_has_credential("https://u@host/r.git"));
        assert!(!url_has_credential("git@host:r.git"));
        assert!(!url_has_credential("https://host/a@b.git"));
        assert_eq!(
            strip_userinfo("https://u:t0k@host:8443/r.git"),
            "https://host:8443/r.git"
        );
        assert_eq!(strip_userinfo("/srv/r.git"), "/srv/r.git");
    }
}
