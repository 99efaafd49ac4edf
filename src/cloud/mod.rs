//! Applying a rotation plan's trust to the systems that hold it: AWS IAM through its API
//! (`aws` feature), every other target as the exact commands or calls to run by hand.

#[cfg(feature = "aws")]
pub mod aws;
pub mod manual;
pub mod plan_file;
