//! keysweep: find long-lived secrets in code, git history and CI/CD pipelines.
//!
//! Data flows one way: `source` (blobs) -> `detect` (rule matches) -> `finding` (grouped,
//! located, fingerprinted) -> `suppress` -> `report`. `scan` drives the flow. `pipeline`
//! reads CI configuration into credential uses.

// `unreachable_pub` (Cargo.toml [lints]) holds for the modules below without an `allow`. The
// allowed ones are being restructured (issue 17); their `pub` items become `pub(crate)` there.

pub mod ci_findings;
#[cfg(feature = "rotate")]
pub mod cloud;
pub mod decode;
pub mod detect;
/// `keysweep entitlements`: the long-lived credentials the GitHub API shows, with verdicts.
#[cfg(feature = "github")]
pub mod entitlements;
pub mod finding;
/// GitHub API client (octocrab + tokio) with keysweep's retry, spacing and error policy.
#[cfg(feature = "github")]
pub mod forge;
pub mod ledger;
#[allow(unreachable_pub)]
pub mod pipeline;
#[allow(unreachable_pub)]
pub mod report;
#[cfg(feature = "rotate")]
pub mod retire;
#[cfg(feature = "rotate")]
#[allow(unreachable_pub)]
pub mod rotate;
#[allow(unreachable_pub)]
pub mod rules;
pub mod scan;
pub mod source;
pub mod suppress;
#[cfg(feature = "sweep")]
pub mod sweep;
#[cfg(test)]
mod test_rng;
#[cfg(feature = "rotate")]
#[allow(unreachable_pub)]
pub mod trust;
