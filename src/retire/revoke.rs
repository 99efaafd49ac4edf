//! `keysweep revoke`: leaked GitHub tokens found by a scan, sent to GitHub's credential
//! revocation API (`POST /credentials/revoke`). The API takes tokens the caller does not own,
//! unauthenticated (an authenticated request gets 403), at most 1000 per request and 60
//! requests an hour; their owners are notified. Revocation cannot be undone.

use crate::finding::{redact, Finding};

/// Rules whose tokens the API accepts: classic and fine-grained PATs, OAuth app tokens,
/// GitHub App user-to-server and refresh tokens. Installation tokens (`ghs_`) are not
/// accepted; they expire within an hour.
pub const REVOCABLE_RULES: &[&str] = &[
    "github-pat-classic",
    "github-pat-fine-grained",
    "github-oauth-token",
    "github-user-to-server-token",
    "github-refresh-token",
];

/// The API's limit per request.
pub const MAX_PER_REQUEST: usize = 1000;

/// The findings the API can revoke, and the GitHub ones it cannot (rule id, redacted).
pub fn select(findings: &[Finding]) -> (Vec<&Finding>, Vec<&Finding>) {
    let github: Vec<&Finding> = findings.iter().filter(|f| f.provider == "github").collect();
    github
        .into_iter()
        .partition(|f| REVOCABLE_RULES.contains(&f.rule_id.as_str()))
}

/// The request body (clear values: only ever sent, never printed or written).
pub fn body(tokens: &[&Finding]) -> serde_json::Value {
    let creds: Vec<String> = tokens.iter().map(|f| f.secret.expose()).collect();
    serde_json::json!({ "credentials": creds })
}

/// The request body as it is shown before sending: every credential redacted.
pub fn shown_body(tokens: &[&Finding]) -> serde_json::Value {
    let creds: Vec<String> = tokens.iter().map(|f| redact(f.secret.as_bytes())).collect();
    serde_json::json!({ "credentials": creds })
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("{0}: not a URL for the GitHub API")]
    BadUrl(String),
    #[error("POST /credentials/revoke: {0}")]
    Http(String),
    #[error("POST /credentials/revoke: HTTP {status}: {message}")]
    Refused { status: u16, message: String },
}

/// Sends one batch (unauthenticated); returns the HTTP status (202 accepted).
#[cfg(feature = "github")]
pub async fn send(api_base: &str, tokens: &[&Finding]) -> Result<u16, RevokeError> {
    let octo = octocrab::Octocrab::builder()
        .base_uri(api_base)
        .map_err(|_| RevokeError::BadUrl(api_base.to_string()))?
        .build()
        .map_err(|e| RevokeError::Http(e.to_string()))?;
    let url = format!("{}/credentials/revoke", api_base.trim_end_matches('/'));
    let resp = octo
        ._post(url, Some(&body(tokens)))
        .await
        .map_err(|e| RevokeError::Http(e.to_string()))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let text = octo.body_to_string(resp).await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or(text);
    Err(RevokeError::Refused { status, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Secret;
    use crate::rules::Confidence;

    fn finding(rule: &str, provider: &str, value: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            rule_name: rule.into(),
            provider: provider.into(),
            family: provider.into(),
            confidence: Confidence::High,
            reason: Vec::new(),
            encrypted: false,
            secret: Secret::new(value.as_bytes()),
            fingerprint: String::new(),
            locations: Vec::new(),
        }
    }

    #[test]
    fn selects_and_redacts() {
        let fs = vec![
            finding(
                "github-pat-classic",
                "github",
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            ),
            finding(
                "github-server-to-server-token",
                "github",
                "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
            ),
            finding("aws-access-key-id", "aws", "AKIAABCDEFGHIJKLMNOP"),
        ];
        let (yes, no) = select(&fs);
        assert_eq!(yes.len(), 1);
        assert_eq!(no[0].rule_id, "github-server-to-server-token");
        let shown = shown_body(&yes).to_string();
        assert!(!shown.contains("abcdefghij"), "{shown}");
        assert!(shown.contains("ghp_"), "{shown}");
        assert!(body(&yes).to_string().contains("ghp_abcdefghij"));
    }
}
