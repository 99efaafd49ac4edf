//! Credentials, from the environment only: never argv, never logged, never in `Debug`.

use std::fmt;

use octocrab::secrecy::SecretString;

use super::ForgeError;

/// How keysweep authenticates. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credentials {
    /// `GITHUB_TOKEN` or `GH_TOKEN`: a personal, fine-grained, Actions or installation token.
    Token(SecretString),
    /// A GitHub App (`KEYSWEEP_APP_ID` + private key): every repository is reached through
    /// its installation's token, minted on first use.
    App {
        app_id: u64,
        key: octocrab::jsonwebtoken::EncodingKey,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::App { app_id, .. } => {
                write!(f, "App {{ app_id: {app_id}, key: <redacted> }}")
            }
        }
    }
}

impl Credentials {
    /// From the environment. A GitHub App (`KEYSWEEP_APP_ID`) wins over a token, since a
    /// workflow that mints an App token usually has the Actions `GITHUB_TOKEN` set as well.
    pub fn from_env() -> Result<Credentials, ForgeError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`Credentials::from_env`], reading variables through `var`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Credentials, ForgeError> {
        let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(id) = set("KEYSWEEP_APP_ID") {
            let app_id: u64 = id.trim().parse().map_err(|_| {
                ForgeError::AppKey(format!(
                    "KEYSWEEP_APP_ID {:?} is not a numeric app id",
                    id.trim()
                ))
            })?;
            let pem = match (set("KEYSWEEP_APP_PRIVATE_KEY"), set("KEYSWEEP_APP_PRIVATE_KEY_FILE")) {
                (Some(p), _) => p,
                (None, Some(file)) => std::fs::read_to_string(&file).map_err(|e| {
                    ForgeError::AppKey(format!("KEYSWEEP_APP_PRIVATE_KEY_FILE {file}: {e}"))
                })?,
                (None, None) => {
                    return Err(ForgeError::AppKey(
                        "KEYSWEEP_APP_ID is set but neither KEYSWEEP_APP_PRIVATE_KEY nor KEYSWEEP_APP_PRIVATE_KEY_FILE".into(),
                    ))
                }
            };
            let key =
                octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                    ForgeError::AppKey(format!("the private key is not an RSA PEM key: {e}"))
                })?;
            return Ok(Credentials::App { app_id, key });
        }
        match set("GITHUB_TOKEN").or_else(|| set("GH_TOKEN")) {
            Some(t) => Ok(Credentials::Token(SecretString::from(t.trim().to_string()))),
            None => Err(ForgeError::NoCredentials),
        }
    }

    /// `app:ID` for an App; `None` for a token (the login comes from `GET /user`).
    pub fn app_actor(&self) -> Option<String> {
        match self {
            Credentials::App { app_id, .. } => Some(format!("app:{app_id}")),
            Credentials::Token(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn precedence_and_errors() {
        let t = Credentials::from_lookup(env(&[("GH_TOKEN", "b"), ("GITHUB_TOKEN", "a")])).unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(matches!(
            Credentials::from_lookup(env(&[])),
            Err(ForgeError::NoCredentials)
        ));
        let e = Credentials::from_lookup(env(&[("KEYSWEEP_APP_ID", "x1"), ("GITHUB_TOKEN", "a")]))
            .unwrap_err();
        assert!(e.to_string().contains("not a numeric app id"), "{e}");
        let e = Credentials::from_lookup(env(&[("KEYSWEEP_APP_ID", "7")])).unwrap_err();
        assert!(
            e.to_string().contains("KEYSWEEP_APP_PRIVATE_KEY_FILE"),
            "{e}"
        );
        let e = Credentials::from_lookup(env(&[
            ("KEYSWEEP_APP_ID", "7"),
            ("KEYSWEEP_APP_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/key.pem"), "{e}");
        let e = Credentials::from_lookup(env(&[
            ("KEYSWEEP_APP_ID", "7"),
            ("KEYSWEEP_APP_PRIVATE_KEY", "not a pem"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("not an RSA PEM key"), "{e}");
        assert!(
            !e.to_string().contains("not a pem"),
            "the key text is never echoed: {e}"
        );
    }
}
