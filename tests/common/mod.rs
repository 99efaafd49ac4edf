//! Helpers shared by the integration tests. Every secret here is synthetic: generated at test
//! time from a seed, in the provider's format, never a real credential.
#![allow(dead_code)]

pub mod repo;

use assert_cmd::Command;
use std::path::Path;

pub fn keysweep() -> Command {
    let mut c = Command::cargo_bin("keysweep").expect("binary built");
    c.env_remove("NO_COLOR");
    c
}

/// A small deterministic PRNG (xorshift64*), so snapshots are stable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

pub const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `prefix_` + 30 random base62 + 6-char base62 CRC32 (GitHub classic / npm format).
pub fn checksummed_token(prefix: &str, seed: u64) -> String {
    let random = Rng::new(seed).string(ALNUM, 30);
    let sum = keysweep::detect::checksum::base62(u64::from(crc32fast::hash(random.as_bytes())), 6);
    format!("{prefix}_{random}{sum}")
}

pub fn github_pat(seed: u64) -> String {
    checksummed_token("ghp", seed)
}

/// The same shape with a wrong checksum: a decoy.
pub fn github_pat_bad_checksum(seed: u64) -> String {
    let mut t = github_pat(seed);
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'B' } else { 'A' });
    t
}

pub fn aws_key_pair(seed: u64) -> (String, String) {
    let mut r = Rng::new(seed);
    (
        format!("AKIA{}", r.string(BASE32_UPPER, 16)),
        r.string(B64, 40),
    )
}

pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Runs a scan and returns (exit code, parsed JSON report).
pub fn scan_json(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = keysweep()
        .current_dir(dir)
        .args(["scan", ".", "--format", "json", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {code}; stdout: {}; stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

pub fn findings(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["findings"].as_array().expect("findings array")
}

/// Runs `keysweep scan .` in `dir` with a format, expecting findings (exit 1); returns stdout.
pub fn report_text(dir: &Path, format: &str) -> String {
    let out = keysweep()
        .current_dir(dir)
        .args([
            "scan", ".", "--quiet", "--color", "never", "--format", format,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The official SARIF 2.1.0 schema (tests/data/sarif-2.1.0.json, from the npm package
/// `@microsoft/sarif-multitool-linux` 5.7.0) as a validator.
pub fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0.json")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}
