//! keysweep library.

pub mod pipeline;
