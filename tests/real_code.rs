//! Precision on real code: the sources of crates this project depends on (unpacked in cargo's
//! registry by every build, at the versions Cargo.lock pins) are scanned whole. They are large,
//! ordinary code trees; what keysweep reports there is counted against a small ceiling.
//!
//! The crates are pinned by Cargo.lock, so the counts are the same on every machine. The
//! findings that remain are test material the crates ship on purpose (test private keys, signed
//! JWTs in tests, recorded API responses with tokens): test-shaped credentials, which a scanner
//! should report and a reviewer can accept.

use std::path::{Path, PathBuf};

use crate::common::keysweep;

/// Crates whose sources hold no credential at all: any finding is a false positive.
const CLEAN: &[&str] = &[
    "tokio",
    "regex-syntax",
    "serde_json",
    "hyper",
    "reqwest",
    "gix-config",
    "clap_builder",
    "aws-sdk-iam",
    "rusqlite",
    "tree-sitter",
    "rustls",
];

/// Crates that ship test credentials, with the most findings accepted and why.
const WITH_TEST_MATERIAL: &[(&str, usize, &str)] = &[
    (
        "jsonwebtoken",
        21,
        "test private keys and signed JWTs under tests/ and benches/",
    ),
    (
        "octocrab",
        3,
        "recorded API responses with tokens and an App test key under tests/",
    ),
    (
        "aws-config",
        4,
        "a test DPoP key and test tokens in test modules",
    ),
];

fn locked_version(name: &str) -> Option<String> {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == format!("name = \"{name}\"") {
            return lines
                .next()
                .and_then(|v| v.strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_string());
        }
    }
    None
}

fn source_dir(name: &str) -> Option<PathBuf> {
    let version = locked_version(name)?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    std::fs::read_dir(src)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(format!("{name}-{version}")))
        .find(|p| p.is_dir())
}

fn findings(dir: &Path) -> Vec<serde_json::Value> {
    let out = keysweep()
        .args(["scan", "--no-pipelines", "--format", "json", "-q"])
        .arg(dir)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["findings"].as_array().unwrap().clone()
}

#[test]
fn real_crate_sources_stay_under_the_ceiling() {
    let mut scanned = 0;
    let mut problems = Vec::new();
    let all = CLEAN
        .iter()
        .map(|c| (*c, 0usize, "no credentials"))
        .chain(WITH_TEST_MATERIAL.iter().copied());
    for (name, ceiling, why) in all {
        let Some(dir) = source_dir(name) else {
            // CI builds every dependency, so their sources are unpacked there
            assert!(
                std::env::var_os("CI").is_none(),
                "{name}: sources not unpacked"
            );
            continue;
        };
        scanned += 1;
        let found = findings(&dir);
        if found.len() > ceiling {
            let shown: Vec<String> = found
                .iter()
                .map(|f| {
                    let l = &f["locations"][0];
                    format!("{} {}:{}", f["rule_id"], l["path"], l["line"])
                })
                .collect();
            problems.push(format!(
                "{name}: {} findings, at most {ceiling} ({why}):\n  {}",
                found.len(),
                shown.join("\n  ")
            ));
        }
        for f in &found {
            assert!(
                !f["secret"].as_str().unwrap_or("").contains("KEY-----"),
                "{name}: a secret is shown unredacted"
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(scanned > 0 || std::env::var_os("CI").is_none());
}
