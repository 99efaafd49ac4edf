//! One walker: the content scan, the pipeline discovery and `trust lint` see the same files of
//! a tree, with `.gitignore` honoured (in or out of a git repository) and `.git/` never entered.

use crate::common::keysweep;
use serde_json::Value;

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
 "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
 "Action": "sts:AssumeRoleWithWebIdentity",
 "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]}"#;

const GITLAB: &str = "job:\n  script:\n    - echo hi\n";

/// A tree outside any git repository: one copy of each kind of file kept, one ignored.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["kept", "ignored"] {
        crate::common::write(dir.path(), &format!("{sub}/.gitlab-ci.yml"), GITLAB);
        crate::common::write(dir.path(), &format!("{sub}/trust.json"), POLICY);
    }
    crate::common::write(dir.path(), ".gitignore", "ignored/\n");
    crate::common::write(dir.path(), ".git/trust.json", POLICY);
    dir
}

fn json(args: &[&str], dir: &std::path::Path) -> Value {
    let out = keysweep().args(args).arg(dir).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn scan_pipelines_and_trust_lint_see_the_same_files() {
    let dir = tree();
    let scan = json(&["scan", "--format", "json", "--quiet"], dir.path());
    // .gitignore, kept/.gitlab-ci.yml, kept/trust.json
    assert_eq!(scan["stats"]["files_scanned"], 3, "{:#}", scan["stats"]);
    assert_eq!(scan["stats"]["pipeline_files_analyzed"], 1);
    let lint = json(&["trust", "lint", "--format", "json"], dir.path());
    assert_eq!(lint["stats"]["documents"], 1, "{lint:#}");
}

#[test]
fn tracked_files_are_scanned_even_where_gitignore_lists_them() {
    let r = crate::common::repo::Repo::new();
    let tracked = crate::common::github_pat(71);
    let untracked = crate::common::github_pat(72);
    r.write(".gitignore", "*.env\nsecrets/\n");
    r.write("test/fixtures.env", format!("GITHUB_TOKEN={tracked}\n"));
    r.write("README.md", "# app\n");
    r.git(["add", ".gitignore", "README.md"]);
    // committed on purpose despite the ignore rule: exactly where keys leak
    r.git(["add", "-f", "test/fixtures.env"]);
    r.git(["commit", "-q", "-m", "init"]);
    r.write("local.env", format!("GITHUB_TOKEN={untracked}\n"));
    r.write("secrets/prod.env", format!("GITHUB_TOKEN={untracked}\n"));
    let out = keysweep()
        .args(["scan", "--format", "json", "--show-secrets", "--quiet"])
        .arg(&r.path)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secrets: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["secret"].as_str())
        .collect();
    assert!(secrets.contains(&tracked.as_str()), "{report:#}");
    assert!(!secrets.contains(&untracked.as_str()), "{report:#}");
    // --no-ignore walks the untracked ones too; a scan of a subdirectory still adds its
    // tracked files, spelled from that root.
    let all = json(
        &[
            "scan",
            "--format",
            "json",
            "--show-secrets",
            "--quiet",
            "--no-ignore",
        ],
        &r.path,
    );
    assert!(all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["secret"] == untracked));
    let sub = json(
        &["scan", "--format", "json", "--quiet"],
        &r.path.join("test"),
    );
    let path = sub["findings"][0]["locations"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(path.ends_with("test/fixtures.env"), "{sub:#}");
}
