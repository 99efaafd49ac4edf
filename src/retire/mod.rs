//! `keysweep retire`: what to remove once the migration is merged and green, decided from
//! facts (the plan, the API, the ledger) by pure functions, so a run that stopped halfway
//! resumes where the ledger says it stopped.

#[cfg(feature = "aws")]
pub mod aws_key;
pub mod clock;
#[cfg(feature = "github")]
pub mod github;
pub mod key;
pub mod manual;
pub mod plan;
pub mod revoke;
pub mod run;
