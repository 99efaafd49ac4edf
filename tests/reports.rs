//! Report formats: snapshots of each format on a fixed tree, and SARIF validated against the
//! official SARIF 2.1.0 schema (tests/data/sarif-2.1.0.json, from the npm package
//! `@microsoft/sarif-multitool-linux` 5.7.0).

use crate::common::*;
use tempfile::TempDir;

fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (key_id, secret_key) = aws_key_pair(42);
    write(
        dir.path(),
        "deploy/settings.py",
        format!(
            "# deployment settings\nREGION = \"eu-west-1\"\nGITHUB_TOKEN = \"{}\"\nAWS_ACCESS_KEY_ID = \"{key_id}\"\nAWS_SECRET_ACCESS_KEY = \"{secret_key}\"\n",
            github_pat(41)
        ),
    );
    write(
        dir.path(),
        "docs/readme.md",
        format!("Use `{}` to log in.\n", github_pat(41)),
    );
    write(dir.path(), "src/clean.rs", "fn main() {}\n");
    write(
        dir.path(),
        ".github/workflows/release.yml",
        "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    write(
        dir.path(),
        "dir with space/é.txt",
        format!("t={}\n", github_pat(43)),
    );
    dir
}

fn run(dir: &TempDir, format: &str) -> String {
    report_text(dir.path(), format)
}

/// Replaces the one value that changes between runs.
fn stable(text: &str) -> String {
    let re = regex::Regex::new(r#"("elapsed_ms": )\d+|in \d+\.\d\d s"#).unwrap();
    re.replace_all(text, |c: &regex::Captures| match c.get(1) {
        Some(p) => format!("{}0", p.as_str()),
        None => "in 0.00 s".to_string(),
    })
    .into_owned()
}

#[test]
fn human_snapshot() {
    insta::assert_snapshot!(stable(&run(&fixture(), "human")));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(stable(&run(&fixture(), "json")));
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!(run(&fixture(), "github"));
}

#[test]
fn sarif_snapshot_and_schema() {
    let text = run(&fixture(), "sarif");
    insta::assert_snapshot!(text);
    let validator = sarif_validator();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    // What GitHub code scanning relies on.
    let run = &doc["runs"][0];
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(
            rule["helpUri"].as_str().unwrap().starts_with("https://"),
            "{rule}"
        );
    }
    for result in run["results"].as_array().unwrap() {
        let fp = &result["partialFingerprints"];
        let fp = fp
            .get("keysweepSecret/v1")
            .or_else(|| fp.get("keysweepPipeline/v1"));
        assert_eq!(
            fp.and_then(|v| v.as_str()).map(str::len),
            Some(64),
            "{result}"
        );
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    assert!(
        text.contains("dir%20with%20space/%C3%A9.txt"),
        "URIs are percent-encoded"
    );
}

#[test]
fn sarif_schema_rejects_a_broken_document() {
    // Guards the guard: the validator really checks.
    let validator = sarif_validator();
    let broken = serde_json::json!({"version": "2.1.0", "runs": [{"results": [{"message": {}}]}]});
    assert!(!validator.is_valid(&broken));
}

#[test]
fn one_scan_writes_several_reports() {
    let dir = fixture();
    let out = tempfile::tempdir().unwrap();
    let (sarif, json) = (out.path().join("k.sarif"), out.path().join("k.json"));
    let scan = keysweep()
        .current_dir(dir.path())
        .args(["scan", ".", "--quiet", "--format", "github"])
        .arg("--report")
        .arg(format!("sarif={}", sarif.display()))
        .arg("--report")
        .arg(format!("JSON={}", json.display()))
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(1));
    // The main report still goes to stdout, in its own format.
    let stdout = String::from_utf8_lossy(&scan.stdout);
    assert_eq!(stable(&stdout), run_github_stable(&dir));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert!(sarif_validator().is_valid(&doc));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(findings(&report).len(), 4);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(!text.contains(&github_pat(41)));
    assert_eq!(stable(&text), stable(&run(&dir, "json")));

    for bad in ["sarif", "yaml=x.yml", "sarif="] {
        let out = keysweep()
            .current_dir(dir.path())
            .args(["scan", ".", "--report", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("FORMAT=FILE") || err.contains("unknown format"),
            "{err}"
        );
    }
}

fn run_github_stable(dir: &TempDir) -> String {
    stable(&run(dir, "github"))
}
