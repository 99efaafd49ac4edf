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
