//! keysweep's integration tests, one binary with a module per area (one link instead of nine).
//! Run one area with `cargo test --test main cli::` (the module name as a filter).

mod common;

mod accuracy;
mod cli;
mod git;
mod pipeline;
mod pipeline_scan;
mod reports;
mod rotate;
mod rules;
mod trust_lint;
mod sweep;
