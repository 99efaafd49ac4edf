//! AWS IAM: the client (credentials and endpoint as the AWS CLI finds them), the OIDC trust
//! `trust apply` creates, and the access keys `retire` deactivates and deletes.

pub mod keys;
pub mod trust;

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// IAM is global; its endpoint still needs a region when none is configured.
const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// IAM answered with an error code (`NoSuchEntity`, `AccessDenied`, ...).
    #[error("IAM {op}: {code}: {message}")]
    Api {
        op: &'static str,
        code: String,
        message: String,
    },
    /// No answer: endpoint, network, credentials.
    #[error("IAM {op}: {message}")]
    Transport { op: &'static str, message: String },
    #[error("{0}")]
    Refused(String),
}

impl AwsError {
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn from_sdk<E, R>(op: &'static str, e: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match e.code() {
            Some(code) => AwsError::Api {
                op,
                code: code.to_string(),
                message: e.message().unwrap_or_default().to_string(),
            },
            None => AwsError::Transport {
                op,
                message: DisplayErrorContext(&e).to_string(),
            },
        }
    }
}

/// An IAM client from the standard chain (`AWS_ENDPOINT_URL`, environment credentials,
/// profiles, web identity, instance metadata), over rustls with ring (no aws-lc).
pub async fn iam_client() -> aws_sdk_iam::Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    let mut conf = aws_sdk_iam::config::Builder::from(&shared);
    if shared.region().is_none() {
        conf = conf.region(aws_sdk_iam::config::Region::new(DEFAULT_REGION));
    }
    aws_sdk_iam::Client::from_conf(conf.build())
}

/// The account id in an IAM ARN (`arn:aws:iam::123456789012:role/x`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The key id as the ledger and the output show it: its last 4 characters.
pub fn key_hint(key_id: &str) -> String {
    let n = key_id.chars().count();
    let tail: String = key_id.chars().skip(n.saturating_sub(4)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_hints() {
        assert_eq!(
            arn_account("arn:aws:iam::123456789012:role/deploy"),
            Some("123456789012")
        );
        assert_eq!(arn_account("nope"), None);
        assert_eq!(key_hint("AKIAEXAMPLEWXYZ"), "…WXYZ");
        assert_eq!(key_hint("ab"), "…ab");
    }
}
