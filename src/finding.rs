//! Findings: what was found, where, and how to show it without leaking it.

use crate::rules::{Confidence, Rule};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// A secret value. Its `Debug` is redacted so it never lands in logs by accident; the clear
/// value is only reachable through `expose`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    /// The clear value: only for `--show-secrets` and for computing fingerprints.
    pub fn expose(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// The clear value or the redacted one, as the user asked.
    pub fn shown(&self, show_secrets: bool) -> String {
        if show_secrets {
            self.expose()
        } else {
            self.redacted()
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

/// Keeps at most 4 leading characters (fewer for short values: never more than a sixth of
/// the value) so a reader can recognise the token kind, and masks the rest.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let keep = (text.chars().count() / 6).min(4);
    let prefix: String = text
        .chars()
        .take(keep)
        .collect::<String>()
        .replace(['\n', '\r'], "");
    format!("{prefix}*****")
}

/// `sha256(rule_id ":" secret)`, hex: the same for every place the secret appears, so it keys
/// baselines and SARIF `partialFingerprints`.
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update(b":");
    h.update(secret);
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where in history a git blob came from (filled by the git sources).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Provenance {
    pub commit: String,
    pub author_name: String,
    pub author_email: String,
    /// RFC 3339.
    pub date: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
    pub present_at_head: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
}

/// One place a secret was found. Lines and columns are 1-based; columns count characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// The line around the secret, with every secret on it redacted (clear with
    /// `--show-secrets`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub snippet: String,
    /// How the value was decoded to find the secret here (`base64`, `percent+base64`,
    /// `escape`, `concatenation`); the span is then that of the encoded text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// What consumes the secret here, when known (a CI job and step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A secret found by a rule, with every place it occurs.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub provider: String,
    pub family: String,
    pub confidence: Confidence,
    /// Why the match is believed: what the rule checked, and how the value was found.
    pub reason: Vec<Reason>,
    /// A passphrase-encrypted private key: only usable with its passphrase.
    pub encrypted: bool,
    pub secret: Secret,
    pub fingerprint: String,
    pub locations: Vec<Location>,
}

/// One ground for believing a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The value has the provider's own shape (prefix, length, alphabet).
    SpecificFormat,
    /// The value's embedded checksum is valid.
    ChecksumValid,
    /// A name beside the value says what it is (`password:`, `api_key =`).
    ContextNamed,
    /// The value is random enough for a credential.
    Entropy,
    /// The value was found decoded (base64, escapes, joined literals).
    Decoded,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SpecificFormat => "specific-format",
            Reason::ChecksumValid => "checksum-valid",
            Reason::ContextNamed => "context-named",
            Reason::Entropy => "entropy",
            Reason::Decoded => "decoded",
        }
    }

    /// What a rule itself checks.
    pub fn of_rule(rule: &Rule) -> Vec<Reason> {
        let mut out = vec![if rule.spec.generic {
            Reason::ContextNamed
        } else {
            Reason::SpecificFormat
        }];
        if rule.spec.checksum.is_some() {
            out.push(Reason::ChecksumValid);
        }
        if rule.spec.min_entropy.is_some() {
            out.push(Reason::Entropy);
        }
        out
    }
}

/// Whether a path names a test source file by the conventions of its language
/// (`*_test.go`, `test_*.py`, `*.spec.ts`, `*Test.java`, `*_spec.rb`...). Directories are not
/// considered: a scanned tree may itself live under `tests/`.
pub fn is_test_file(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let code = matches!(
        ext,
        "go" | "py"
            | "rb"
            | "js"
            | "ts"
            | "jsx"
            | "tsx"
            | "java"
            | "kt"
            | "cs"
            | "cc"
            | "cpp"
            | "c"
            | "rs"
            | "php"
            | "swift"
            | "scala"
    );
    code && (stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem.ends_with("_spec")
        || stem.ends_with(".test")
        || stem.ends_with(".spec")
        || stem.starts_with("test_")
        || stem.ends_with("Test")
        || stem.ends_with("Tests")
        || stem.ends_with("Spec"))
}

/// Whether a private key block is passphrase-encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY` or
/// a traditional PEM `Proc-Type: 4,ENCRYPTED` header).
pub fn is_encrypted_key(rule: &Rule, secret: &[u8]) -> bool {
    rule.family == "private-keys"
        && (memchr::memmem::find(secret, b"ENCRYPTED PRIVATE KEY").is_some()
            || memchr::memmem::find(secret, b"Proc-Type: 4,ENCRYPTED").is_some())
}

/// Groups per-place detections into findings: one finding per (rule, secret).
#[derive(Default)]
pub struct FindingSet {
    by_fingerprint: BTreeMap<String, Finding>,
}

impl FindingSet {
    pub fn add(&mut self, rule: &Rule, secret: &[u8], location: Location) {
        let fp = fingerprint(rule.id(), secret);
        let decoded = location.decoded.is_some();
        let finding = self.by_fingerprint.entry(fp.clone()).or_insert_with(|| {
            let encrypted = is_encrypted_key(rule, secret);
            Finding {
                rule_id: rule.id().to_string(),
                rule_name: rule.spec.name.clone(),
                provider: rule.spec.provider.clone(),
                family: rule.family.clone(),
                confidence: if encrypted {
                    Confidence::Low
                } else {
                    rule.spec.confidence
                },
                reason: Reason::of_rule(rule),
                encrypted,
                secret: Secret::new(secret),
                fingerprint: fp,
                locations: Vec::new(),
            }
        });
        if decoded && !finding.reason.contains(&Reason::Decoded) {
            finding.reason.push(Reason::Decoded);
        }
        finding.locations.push(location);
    }

    /// Keeps only findings at or above `min` confidence.
    pub fn retain_confidence(&mut self, min: Confidence) {
        self.by_fingerprint.retain(|_, f| f.confidence >= min);
    }

    /// Findings ordered by their first location, locations ordered and without repeats:
    /// the same output whatever the thread count. A secret found only in test files is a
    /// fixture more often than not: `low`.
    pub fn into_sorted(self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .by_fingerprint
            .into_values()
            .map(|mut f| {
                if f.locations.iter().all(|l| is_test_file(&l.path)) {
                    f.confidence = Confidence::Low;
                }
                f.locations.sort();
                f.locations
                    .dedup_by(|a, b| a.path == b.path && a.line == b.line && a.column == b.column);
                f
            })
            .collect();
        out.sort_by(|a, b| {
            let ka = a.locations.first().map(|l| (&l.path, l.line, l.column));
            let kb = b.locations.first().map(|l| (&l.path, l.line, l.column));
            ka.cmp(&kb).then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_little() {
        assert_eq!(
            redact(b"ghp_Zq3kP9xWvT2mLr8sYb4nHc7dJf1gKa0aBcDe"),
            "ghp_*****"
        );
        assert_eq!(redact(b"hunter2"), "h*****");
        assert_eq!(redact(b"abc"), "*****");
        assert!(!format!("{:?}", Secret::new(b"topsecretvalue123")).contains("secretvalue"));
    }

    #[test]
    fn test_files_by_name() {
        for t in [
            "a/b/client_test.go",
            "test_auth.py",
            "src/api.spec.ts",
            "FooTest.java",
            "x/p_kem_test.cc",
            "user_spec.rb",
        ] {
            assert!(is_test_file(t), "{t}");
        }
        for t in [
            "tests/fixtures/app.env",
            "src/latest.py",
            "contest.go",
            "attestation.rs",
            "test/config.yml",
        ] {
            assert!(!is_test_file(t), "{t}");
        }
    }

    #[test]
    fn fingerprint_is_location_independent_and_rule_bound() {
        assert_eq!(fingerprint("a", b"x"), fingerprint("a", b"x"));
        assert_ne!(fingerprint("a", b"x"), fingerprint("b", b"x"));
        assert_eq!(fingerprint("a", b"x").len(), 64);
    }
}
