//! Pipeline credential uses in `keysweep scan` and `keysweep inventory`: every format,
//! suppression by inline allow and baseline, `--pipelines-only`.

use crate::common::*;
use predicates::prelude::*;
use std::path::Path;

const WORKFLOW: &str = "tests/fixtures/pipelines/aws-deploy-static/.github/workflows/deploy.yml";

fn repo_with_workflow(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(WORKFLOW)).unwrap();
    write(dir.path(), ".github/workflows/deploy.yml", edit(text));
    dir
}

fn audits(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["pipeline"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["audit"].as_str().unwrap().to_string(),
                f["secret"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn scan_reports_pipeline_credential_uses() {
    let dir = repo_with_workflow(|t| t);
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "long-lived credential uses are findings");
    assert!(findings(&report).is_empty());
    assert_eq!(
        audits(&report),
        vec![
            ("aws-static-keys".into(), "AWS_ACCESS_KEY_ID".into(), 18),
            ("aws-static-keys".into(), "AWS_SECRET_ACCESS_KEY".into(), 19),
        ]
    );
    let f = &report["pipeline"]["findings"][0];
    assert_eq!(f["location"]["path"], ".github/workflows/deploy.yml");
    assert_eq!(f["job"], "deploy");
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(report["stats"]["pipeline_files_analyzed"], 1);

    let (code, _) = scan_json(dir.path(), &["--no-pipelines"]);
    assert_eq!(code, 0);
    let (code, report) = scan_json(dir.path(), &["--pipelines-only"]);
    assert_eq!(code, 1);
    assert_eq!(report["stats"]["files_scanned"], 0);
    assert_eq!(audits(&report).len(), 2);
}

#[test]
fn inline_allow_and_baseline_suppress_pipeline_findings() {
    let dir = repo_with_workflow(|t| {
        t.replace(
            "# expect: aws-static-keys\n          aws-secret-access-key",
            "# keysweep:allow\n          aws-secret-access-key",
        )
    });
    let (_, report) = scan_json(dir.path(), &[]);
    assert_eq!(audits(&report).len(), 1);
    assert_eq!(report["stats"]["suppressed"]["inline"], 1);

    keysweep()
        .current_dir(dir.path())
        .args(["baseline", ".", "--quiet"])
        .assert()
        .code(0);
    let (code, report) = scan_json(dir.path(), &["--baseline", ".keysweep-baseline.json"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["suppressed"]["baseline"], 1);
    // Moving the line does not change the fingerprint.
    let path = dir.path().join(".github/workflows/deploy.yml");
    let moved = std::fs::read_to_string(&path)
        .unwrap()
        .replace("name: Deploy site\n", "name: Deploy site\n# a comment\n\n");
    std::fs::write(&path, moved).unwrap();
    let (code, _) = scan_json(dir.path(), &["--baseline", ".keysweep-baseline.json"]);
    assert_eq!(code, 0);
}

#[test]
fn literal_secret_in_a_workflow_is_one_finding_with_its_job() {
    let (key_id, _) = aws_key_pair(7);
    let dir = repo_with_workflow(|t| {
        t.replace(
            "${{ secrets.AWS_ACCESS_KEY_ID }} # expect: aws-static-keys",
            &key_id,
        )
    });
    let (_, report) = scan_json(dir.path(), &[]);
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    let context = f[0]["locations"][0]["context"].as_str().unwrap();
    assert!(context.contains("job `deploy`"), "{context}");
    assert!(
        !audits(&report)
            .iter()
            .any(|(a, _, _)| a == "literal-secret"),
        "the literal is reported once, by the scanner"
    );
}

#[test]
fn every_format_carries_pipeline_findings() {
    let dir = repo_with_workflow(|t| t);
    let run = |format: &str| report_text(dir.path(), format);
    assert!(run("human").contains("[aws-static-keys]"));
    assert!(run("jsonl")
        .lines()
        .any(|l| l.contains("\"kind\":\"pipeline\"") && l.contains("aws-static-keys")));
    assert!(run("github").starts_with("::warning file=.github/workflows/deploy.yml,line=18,"));
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).unwrap();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules[0]["id"], "pipeline/aws-static-keys");
    assert!(rules[0]["helpUri"]
        .as_str()
        .unwrap()
        .ends_with("docs/pipeline-audits.md#aws-static-keys"));
    assert!(sarif_validator().is_valid(&sarif));
}

#[test]
fn malformed_workflow_is_one_diagnostic_and_the_scan_goes_on() {
    let dir = repo_with_workflow(|t| t);
    write(
        dir.path(),
        ".github/workflows/broken.yml",
        "on: [push\njobs: {\n",
    );
    write(dir.path(), "src/a.env", format!("T={}\n", github_pat(3)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report).len(), 1);
    assert_eq!(audits(&report).len(), 2);
    let diags = report["pipeline"]["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["path"], ".github/workflows/broken.yml");
}

#[test]
fn inventory_lists_secrets_and_status() {
    let dir = repo_with_workflow(|t| t);
    keysweep()
        .current_dir(dir.path())
        .args(["inventory", "."])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("AWS_SECRET_ACCESS_KEY")
                .and(predicate::str::contains("migratable")),
        );
    let out = keysweep()
        .current_dir(dir.path())
        .args(["inventory", "--format", "json"])
        .output()
        .unwrap();
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secrets = inv["repositories"][0]["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0]["status"], "migratable-now");
}

#[test]
fn excluded_ci_files_are_neither_analysed_nor_counted() {
    let dir = repo_with_workflow(|t| t);
    write(
        dir.path(),
        "vendor/.gitlab-ci.yml",
        "job:\n  script: [echo hi]\n",
    );
    let (_, report) = scan_json(dir.path(), &[]);
    assert_eq!(report["stats"]["pipeline_files_analyzed"], 2);
    let (code, report) = scan_json(
        dir.path(),
        &["--exclude", ".github/**", "--exclude", "vendor/**"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["pipeline_files_analyzed"], 0);
}
