//! Suppression, in order: inline allow comments, the config file, the baseline.

pub mod baseline;
pub mod config;

pub use baseline::Baseline;
pub use config::Config;

/// Markers that, on the line of a secret, accept it. Other tools' markers are honoured too so
/// that a repository moving to keysweep keeps its reviewed exceptions.
pub const INLINE_ALLOW_MARKERS: &[&str] = &[
    "keysweep:allow",
    "gitleaks:allow",
    "pragma: allowlist secret",
];

pub fn is_allowed_inline(line: &[u8]) -> bool {
    INLINE_ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn inline_markers() {
        assert!(super::is_allowed_inline(b"token = 'abc' # keysweep:allow"));
        assert!(super::is_allowed_inline(b"x = 1 // gitleaks:allow"));
        assert!(super::is_allowed_inline(
            b"pw = 'q' # pragma: allowlist secret"
        ));
        assert!(!super::is_allowed_inline(b"pw = 'q' # allow"));
    }
}
