//! keysweep's integration tests, one binary with a module per area (one link instead of nine).
//! Run one area with `cargo test --test main cli::` (the module name as a filter).
// Test and benchmark code: unwrap is the failure message, printing is the output.
#![allow(clippy::unwrap_used, clippy::print_stdout, unreachable_pub)]

mod common;
#[cfg(feature = "github")]
mod support;

mod accuracy;
mod cli;
#[cfg(feature = "github")]
mod entitlements;
#[cfg(feature = "github")]
mod forge;
mod git;
#[cfg(feature = "github")]
mod open_pr;
mod pipeline;
mod pipeline_changes;
mod pipeline_scan;
mod real_code;
mod reports;
#[cfg(feature = "aws")]
mod retire;
#[cfg(feature = "github")]
mod revoke;
#[cfg(feature = "rotate")]
mod rotate;
mod rules;
#[cfg(feature = "sweep")]
mod sweep;
#[cfg(feature = "sweep")]
mod sweep_examples;
#[cfg(feature = "sweep")]
mod sweep_faults;
#[cfg(feature = "sweep")]
mod sweep_html;
#[cfg(feature = "sweep")]
mod sweep_http;
#[cfg(all(feature = "sweep", feature = "github"))]
mod sweep_org;
#[cfg(feature = "aws")]
mod trust_apply;
#[cfg(feature = "rotate")]
mod trust_lint;
mod walker;
