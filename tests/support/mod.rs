//! Test support shared by areas: the stateful GitHub stub (`gh_stub.py`) and its driver.
pub mod gh_stub;
