//! Test support shared by areas: the stateful GitHub stub (`gh_stub.py`) and its driver.
// helpers for every area that uses the stub (open-pr, retire); not each uses all of them
#![allow(dead_code)]
pub mod gh_stub;
