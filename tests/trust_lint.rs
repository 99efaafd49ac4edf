//! `keysweep trust lint`: every audit fires on its bad fixture (tests/fixtures/trust/bad/<id>)
//! and stays quiet on the good configurations of its kind (tests/fixtures/trust/good/<kind>);
//! snapshots of the human and json reports; SARIF validated against the official 2.1.0
//! schema; malformed input reported without stopping the lint. All ids are synthetic.

use crate::common::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trust")
}

/// Runs `keysweep trust lint PATH` from `cwd`; returns (exit code, stdout, stderr).
fn lint_in(cwd: &Path, path: &str, args: &[&str]) -> (i32, String, String) {
    let out = keysweep()
        .current_dir(cwd)
        .args(["trust", "lint", path, "--color", "never"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn lint_json(dir: &Path) -> (i32, serde_json::Value) {
    let (code, stdout, stderr) = lint_in(dir, ".", &["--format", "json"]);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}); exit {code}; stdout {stdout}; stderr {stderr}")
    });
    (code, json)
}

fn audits_of(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["audit"].as_str().unwrap().to_string())
        .collect()
}

/// Every audit with its good counterpart: the configurations of the same kind done right.
const CASES: &[(&str, &str)] = &[
    ("aws-trust-no-sub", "aws"),
    ("aws-trust-wildcard-sub", "aws"),
    ("aws-trust-sub-any-ref", "aws"),
    ("aws-trust-forallvalues-allow", "aws"),
    ("aws-trust-aud-missing", "aws"),
    ("aws-trust-condition-key", "aws"),
    ("aws-trust-sub-template-order", "aws"),
    ("gcp-provider-no-condition", "gcp"),
    ("gcp-provider-weak-condition", "gcp"),
    ("gcp-provider-name-condition", "gcp"),
    ("azure-fic-issuer", "azure"),
    ("azure-fic-audience", "azure"),
    ("vault-no-bound-claims", "vault"),
    ("vault-wildcard-bound-claims", "vault"),
    ("vault-no-bound-audiences", "vault"),
    ("vault-audience-mismatch", "vault"),
    ("vault-shared-audience", "vault"),
    ("vault-any-branch", "vault"),
    ("vault-glob-without-type", "vault"),
    ("octo-sts-no-issuer", "octo-sts"),
    ("octo-sts-wildcard-subject", "octo-sts"),
    ("octo-sts-no-repo-restriction", "octo-sts-org"),
    ("octo-sts-gitlab-any-branch", "octo-sts"),
];

#[test]
fn every_audit_has_a_case_and_a_doc_section() {
    let ids: Vec<&str> = keysweep::trust::audits::catalog()
        .iter()
        .map(|(id, _, _)| *id)
        .collect();
    let cased: Vec<&str> = CASES.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, cased, "CASES must list every audit, in catalog order");
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(keysweep::trust::DOC_PATH),
    )
    .unwrap();
    for id in ids {
        assert!(
            doc.contains(&format!("\n## `{id}`")),
            "docs/trust-lint.md has no section for {id}"
        );
    }
}

#[test]
fn each_audit_fires_on_its_bad_case() {
    for (id, _) in CASES {
        let dir = fixtures().join("bad").join(id);
        let (code, report) = lint_json(&dir);
        let audits = audits_of(&report);
        assert_eq!(code, 1, "{id}: exit status");
        assert!(
            audits.iter().any(|a| a == id),
            "{id} did not fire: {audits:?}"
        );
        // A bad case shows its own hole, not a pile of others.
        let others: Vec<&String> = audits
            .iter()
            .filter(|a| *a != id && !related(id, a))
            .collect();
        assert!(others.is_empty(), "{id}: unexpected {others:?}");
        for f in report["findings"].as_array().unwrap() {
            assert!(f["location"]["line"].as_u64().unwrap() >= 1);
            assert!(!f["fix"].as_str().unwrap().is_empty());
            assert!(f["help"]
                .as_str()
                .unwrap()
                .ends_with(&format!("#{}", f["audit"].as_str().unwrap())));
        }
    }
}

/// Holes that come together by nature: a `startsWith` on a name is weak and also pins no id.
fn related(id: &str, other: &str) -> bool {
    matches!(
        (id, other),
        ("gcp-provider-weak-condition", "gcp-provider-name-condition")
    )
}

#[test]
fn good_configurations_are_clean() {
    let mut kinds: Vec<&str> = CASES.iter().map(|(_, k)| *k).collect();
    kinds.dedup();
    for kind in kinds {
        let dir = fixtures().join("good").join(kind);
        let (code, report) = lint_json(&dir);
        assert_eq!(audits_of(&report), Vec::<String>::new(), "good/{kind}");
        assert_eq!(code, 0, "good/{kind}");
        assert!(
            report["stats"]["documents"].as_u64().unwrap() > 0,
            "good/{kind} must hold trust documents, or the negative case proves nothing"
        );
    }
    // The whole good tree together too (cross-file resolution must not invent findings).
    let (code, report) = lint_json(&fixtures().join("good"));
    assert_eq!((code, audits_of(&report)), (0, vec![]));
}

#[test]
fn precise_locations() {
    let (_, report) = lint_json(&fixtures().join("bad/aws-trust-wildcard-sub"));
    let f: Vec<(u64, u64, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["line"].as_u64().unwrap(),
                f["location"]["column"].as_u64().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    // jsonencode value, then two values inside a heredoc: each at its own string.
    assert_eq!(
        f,
        vec![(11, 70, "high"), (28, 70, "critical"), (28, 106, "high")]
    );
}

#[test]
fn human_snapshot() {
    let (code, stdout, _) = lint_in(&fixtures(), "bad", &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_snapshot() {
    let (code, stdout, _) = lint_in(&fixtures(), "bad", &["--format", "json"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stdout);
}

#[test]
fn github_annotations() {
    let (code, stdout, _) = lint_in(&fixtures(), "bad/aws-trust-no-sub", &["--format", "github"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with(
        "::error file=denylist.tf,line=12,col=18,endLine=20,endColumn=6,title=keysweep%3A AWS role trusts"
    ), "{}", lines[0]);
    assert!(lines
        .iter()
        .all(|l| l.contains("[aws-trust-no-sub] See https://")));
}

#[test]
fn sarif_is_valid_against_the_schema() {
    let validator = sarif_validator();
    for dir in ["bad", "good"] {
        let (_, stdout, _) = lint_in(&fixtures(), dir, &["--format", "sarif"]);
        let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for r in run["results"].as_array().unwrap() {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            assert!(r["ruleId"].as_str().unwrap().starts_with("trust/"));
            assert!(r["partialFingerprints"]["keysweepTrust/v1"].is_string());
        }
    }
}

#[test]
fn malformed_input_is_reported_and_the_lint_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let bad = fixtures().join("bad/aws-trust-no-sub/github-deploy-trust.json");
    write(
        dir.path(),
        "iam/ok-but-open.json",
        std::fs::read(bad).unwrap(),
    );
    write(
        dir.path(),
        "iam/broken.json",
        "{\n  \"Statement\": [\n    {\"Action\": \"sts:AssumeRoleWithWebIdentity\",}\n  ]\n}\n",
    );
    write(
        dir.path(),
        "infra/broken.tf",
        "resource \"aws_iam_role\" \"x\" {\n  assume_role_policy = jsonencode({\n}\n",
    );
    write(
        dir.path(),
        "infra/heredoc.tf",
        "resource \"aws_iam_role\" \"y\" {\n  assume_role_policy = <<EOF\n{\"Statement\": [}\nEOF\n}\n",
    );
    write(
        dir.path(),
        ".github/chainguard/x.sts.yaml",
        "issuer: [unclosed\n",
    );
    // Not trust configuration: a broken JSON file nobody asked about stays silent.
    write(dir.path(), "package.json", "{ not json");
    let (code, report) = lint_json(dir.path());
    assert_eq!(code, 1, "findings still win");
    assert_eq!(audits_of(&report), vec!["aws-trust-no-sub"]);
    let malformed: Vec<(String, u64)> = report["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(!m["reason"].as_str().unwrap().is_empty());
            (
                m["path"].as_str().unwrap().to_string(),
                m["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        malformed,
        vec![
            (".github/chainguard/x.sts.yaml".to_string(), 2),
            ("iam/broken.json".to_string(), 3),
            ("infra/broken.tf".to_string(), 3),
            ("infra/heredoc.tf".to_string(), 3),
        ]
    );
    // Only malformed files left: not a clean result.
    std::fs::remove_file(dir.path().join("iam/ok-but-open.json")).unwrap();
    let (code, stdout, _) = lint_in(dir.path(), ".", &[]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("malformed iam/broken.json:3:"), "{stdout}");
    assert!(stdout.contains("4 malformed files"), "{stdout}");
}

#[test]
fn min_severity_filters_findings_and_exit_status() {
    let dir = fixtures().join("bad/gcp-provider-name-condition");
    let (code, _, _) = lint_in(&dir, ".", &[]);
    assert_eq!(code, 1);
    let (code, stdout, _) = lint_in(&dir, ".", &["--min-severity", "medium"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("0 findings"), "{stdout}");
    let (_, report) = {
        let (c, out, _) = lint_in(
            &fixtures(),
            "bad",
            &["--format", "json", "--min-severity", "critical"],
        );
        (c, serde_json::from_str::<serde_json::Value>(&out).unwrap())
    };
    let sev: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert!(
        !sev.is_empty() && sev.iter().all(|s| *s == "critical"),
        "{sev:?}"
    );
}

#[test]
fn inline_allow_accepts_a_reviewed_exception() {
    let dir = tempfile::tempdir().unwrap();
    let policy =
        std::fs::read_to_string(fixtures().join("bad/aws-trust-sub-any-ref/policy.tf")).unwrap();
    // Only the named audit is accepted: a marker for another audit changes nothing.
    let other = policy.replace(
        "      values   = [\"repo:acme-corp/payments:*\"]",
        "      # keysweep:allow[aws-trust-no-sub]\n      values   = [\"repo:acme-corp/payments:*\"]",
    );
    write(dir.path(), "policy.tf", &other);
    let (code, report) = lint_json(dir.path());
    assert_eq!((code, report["stats"]["suppressed"].as_u64()), (1, Some(0)));
    let accepted = policy.replace(
        "      values   = [\"repo:acme-corp/payments:*\"]",
        "      # any branch may deploy the preview stack. keysweep:allow[aws-trust-sub-any-ref]\n      values   = [\"repo:acme-corp/payments:*\"]",
    );
    write(dir.path(), "policy.tf", &accepted);
    let (code, report) = lint_json(dir.path());
    assert_eq!(audits_of(&report), Vec::<String>::new());
    assert_eq!((code, report["stats"]["suppressed"].as_u64()), (0, Some(1)));
}

#[test]
fn exit_statuses() {
    let (code, _, _) = lint_in(&fixtures(), "good/aws/trust.json", &[]);
    assert_eq!(code, 0, "a single file is linted");
    let (code, _, _) = lint_in(
        &fixtures(),
        "bad/aws-trust-no-sub/github-deploy-trust.json",
        &[],
    );
    assert_eq!(code, 1);
    let (code, _, stderr) = lint_in(&fixtures(), "does/not/exist", &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no such file or directory"), "{stderr}");
}

/// `var.NAME` (its default, replaced by `terraform.tfvars`) and `local.NAME` (chains of them
/// too) are evaluated, inside templates as well: a wildcard hidden in a variable is reported at
/// the line that uses it.
#[test]
fn terraform_variables_and_locals_are_evaluated() {
    let src = fixtures().join("terraform-values");
    let (code, report) = lint_json(&src);
    assert_eq!((code, audits_of(&report)), (0, vec![]));
    assert_eq!(report["stats"]["documents"].as_u64(), Some(2));

    let t = tempfile::tempdir().unwrap();
    for f in ["main.tf", "variables.tf"] {
        std::fs::copy(src.join(f), t.path().join(f)).unwrap();
    }
    std::fs::write(
        t.path().join("terraform.tfvars"),
        "deploy_subject = \"repo:acme-corp/*\"\n",
    )
    .unwrap();
    let main = std::fs::read_to_string(t.path().join("main.tf")).unwrap();
    std::fs::write(
        t.path().join("main.tf"),
        main.replace("${var.github_org}/docs:", "${var.github_org}/*:"),
    )
    .unwrap();
    let (code, report) = lint_json(t.path());
    assert_eq!(code, 1);
    let found: Vec<(String, u64, bool)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["audit"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().contains("`repo:acme-corp/*"),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("aws-trust-wildcard-sub".to_string(), 16, true),
            ("aws-trust-wildcard-sub".to_string(), 32, true),
        ]
    );
}

/// AWS roles trusting a GitLab instance's `id_tokens` have the same holes, read in GitLab's
/// subject format (`project_path:GROUP/PROJECT:ref_type:...`); a pinned one is clean.
#[test]
fn gitlab_issued_aws_trust_is_judged() {
    let (code, report) = lint_json(&fixtures().join("gitlab/bad"));
    assert_eq!(code, 1);
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["audit"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "aws-trust-no-sub".to_string(),
                "aws_iam_role.any_project Statement[0]".to_string()
            ),
            (
                "aws-trust-wildcard-sub".to_string(),
                "aws_iam_role.whole_group Statement[0]".to_string()
            ),
            (
                "aws-trust-sub-any-ref".to_string(),
                "aws_iam_role.any_branch Statement[0]".to_string()
            ),
        ]
    );
    let msgs: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(msgs[0].contains("a job in any project that `gitlab.com` issues tokens for"));
    assert!(msgs[1].contains("every matching project of `acme-corp`"));
    let (code, report) = lint_json(&fixtures().join("gitlab/good"));
    assert_eq!((code, audits_of(&report)), (0, vec![]));
    assert_eq!(report["stats"]["documents"].as_u64(), Some(1));
}

/// The shapes public modules write (tests/fixtures/trust/real/<case>/{bad,good}): each bad
/// variant's findings in one snapshot (audit, severity, line, message), each good variant silent.
#[test]
fn real_module_shapes() {
    let root = fixtures().join("real");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut table = String::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let good = case.join("good");
        if good.is_dir() {
            let (code, report) = lint_json(&good);
            assert_eq!(code, 0, "{name}/good must lint clean: {report:#}");
        }
        let bad = case.join("bad");
        if !bad.is_dir() {
            continue;
        }
        let (_, report) = lint_json(&bad);
        table.push_str(&format!("{name}:\n"));
        for f in report["findings"].as_array().unwrap() {
            table.push_str(&format!(
                "  {} {} {}:{} {}\n",
                f["severity"].as_str().unwrap(),
                f["audit"].as_str().unwrap(),
                f["location"]["path"].as_str().unwrap(),
                f["location"]["line"],
                f["message"].as_str().unwrap()
            ));
        }
        for m in report["malformed"].as_array().unwrap() {
            table.push_str(&format!(
                "  diagnostic {}:{} {}\n",
                m["path"].as_str().unwrap(),
                m["line"],
                m["reason"].as_str().unwrap()
            ));
        }
    }
    insta::assert_snapshot!(table);
}
