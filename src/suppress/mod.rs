//! Suppression, in order: inline allow comments, the config file, the baseline.

pub mod baseline;
pub mod config;

pub use baseline::Baseline;
pub use config::Config;

/// The inline allow grammar, one for the scan, the pipeline audits and trust lint. On the line
/// of a finding, `keysweep:allow` accepts every finding and `keysweep:allow[ID, ...]` only those
/// whose rule or audit id is listed. Other tools' markers (`gitleaks:allow`,
/// `pragma: allowlist secret`) accept every finding, so that a repository moving to keysweep
/// keeps its reviewed exceptions.
pub const ALLOW_MARKER: &str = "keysweep:allow";

/// Markers of other tools, honoured as an unqualified `keysweep:allow`.
pub const FOREIGN_ALLOW_MARKERS: &[&str] = &["gitleaks:allow", "pragma: allowlist secret"];

/// Whether `text` carries any allow marker at all: one pass over a blob spares checking each
/// finding's lines, which are long in minified files.
pub fn any_marker(text: &[u8]) -> bool {
    FOREIGN_ALLOW_MARKERS
        .iter()
        .chain([&ALLOW_MARKER])
        .any(|m| memchr::memmem::find(text, m.as_bytes()).is_some())
}

/// Whether `line` carries an inline allow for the finding with rule or audit id `id`.
pub fn allows(line: &[u8], id: &str) -> bool {
    if FOREIGN_ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
    {
        return true;
    }
    memchr::memmem::find_iter(line, ALLOW_MARKER.as_bytes()).any(|i| {
        let rest = &line[i + ALLOW_MARKER.len()..];
        match rest.strip_prefix(b"[") {
            Some(list) => {
                let list = list.split(|&b| b == b']').next().unwrap_or_default();
                list.split(|&b| b == b',')
                    .any(|item| item.trim_ascii() == id.as_bytes())
            }
            None => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::allows;

    #[test]
    fn inline_markers() {
        assert!(allows(b"token = 'abc' # keysweep:allow", "any-rule"));
        assert!(allows(b"x = 1 // gitleaks:allow", "any-rule"));
        assert!(allows(b"pw = 'q' # pragma: allowlist secret", "any-rule"));
        assert!(!allows(b"pw = 'q' # allow", "any-rule"));
    }

    #[test]
    fn listed_ids_only() {
        assert!(allows(
            b"x # keysweep:allow[a, aws-static-keys]",
            "aws-static-keys"
        ));
        assert!(!allows(
            b"x # keysweep:allow[github-pat]",
            "aws-static-keys"
        ));
        assert!(allows(b"x # keysweep:allow[a] keysweep:allow", "b"));
        assert!(!allows(b"x = 1", "aws-static-keys"));
    }
}
