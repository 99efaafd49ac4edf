//! GitHub's REST API, the way keysweep talks to it (feature `github`).
//!
//! - [`Client`]: built from the environment ([`Client::from_env`]). API base from
//!   `--github-url`, else `GITHUB_API_URL`, else `https://api.github.com`. Credentials from
//!   `KEYSWEEP_APP_ID` + `KEYSWEEP_APP_PRIVATE_KEY` (PEM text) or
//!   `KEYSWEEP_APP_PRIVATE_KEY_FILE` (a GitHub App; [`Client::for_repository`] then works as
//!   the repository's installation), else `GITHUB_TOKEN`, else `GH_TOKEN`. Tokens are never
//!   taken from argv, never logged, never in `Debug` output, never written anywhere.
//! - JSON calls: [`Client::get`], [`Client::get_opt`] (404 is `None`), [`Client::get_all`]
//!   (follows `Link: rel="next"`), [`Client::post`], [`Client::patch`], [`Client::put`],
//!   [`Client::delete`], and [`Client::request`] for status and headers. Paths are relative to
//!   the API base (`/repos/o/r/pulls`).
//! - Policy, ours (octocrab's retry layer is not enabled): writes go one at a time, at least
//!   [`ClientOptions::write_spacing`] apart (`KEYSWEEP_WRITE_SPACING_MS`, default 1000);
//!   5xx and transport errors are retried with exponential backoff (`KEYSWEEP_RETRY_BASE_MS`);
//!   403/429 secondary limits wait `Retry-After` (a minute without it), primary limits
//!   (`x-ratelimit-remaining: 0`) wait until `x-ratelimit-reset`; all within
//!   `KEYSWEEP_GITHUB_MAX_WAIT_SECS` (default 300) per request, then
//!   [`ForgeError::RateLimited`].
//! - [`ForgeError`]: one line per failure; 403 names the permission from
//!   `x-accepted-github-permissions` and, on workflow files, says that an Actions
//!   `GITHUB_TOKEN` can never change them.
//! - [`marker`]: the hidden JSON marker of the migration PR (its shape is documented there).
//! - [`pr`]: `rotate --open-pr`, the migration pull request flow.

mod auth;
mod client;
mod error;
pub mod marker;
pub mod pr;

pub use auth::Credentials;
pub use client::{Client, ClientOptions, Response};
pub use error::ForgeError;
pub use marker::{Marker, MarkerSecret, SecretScope};

/// `owner/repo` split and checked: two non-empty parts of GitHub's allowed characters.
pub fn split_repo(slug: &str) -> Option<(&str, &str)> {
    let (o, r) = slug.trim().split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (ok(o) && ok(r)).then_some((o, r))
}
