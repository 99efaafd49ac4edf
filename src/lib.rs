//! keysweep: find long-lived secrets in code, git history and CI/CD pipelines.
//!
//! Data flows one way: `source` (blobs) -> `detect` (rule matches) -> `finding` (grouped,
//! located, fingerprinted) -> `suppress` -> `report`. `scan` drives the flow. `pipeline`
//! reads CI configuration into credential uses.

pub mod ci_findings;
pub mod detect;
pub mod finding;
pub mod pipeline;
pub mod report;
pub mod rotate;
pub mod rules;
pub mod scan;
pub mod source;
pub mod suppress;
#[cfg(feature = "sweep")]
pub mod sweep;
pub mod trust;
