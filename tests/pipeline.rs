//! Pipeline analysis over the fixture repositories in `tests/fixtures/pipelines/`.
//!
//! Each fixture is a small repository. A planted credential use is marked on its line with a
//! comment `# expect: AUDIT-ID[, AUDIT-ID...]`; the findings must be exactly the marked lines
//! (no missed use, no extra finding). Fixtures named `*-migrated*` must yield nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use keysweep::pipeline::{analyze, audit, inventory, PipelineReport, DOC_PATH};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines")
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every CI file of a fixture (any depth, hidden directories included).
fn ci_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml") | Some("yaml")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// `(path, line, audit)` for every `# expect:` marker in a fixture.
fn expected(dir: &Path) -> BTreeSet<(String, usize, String)> {
    let mut out = BTreeSet::new();
    for f in ci_files(dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if let Some(idx) = line.find("# expect:") {
                for id in line[idx + 9..].split(',') {
                    out.insert((rel(dir, &f), i + 1, id.trim().to_string()));
                }
            }
        }
    }
    out
}

fn found(report: &PipelineReport) -> BTreeSet<(String, usize, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.location.path.clone(),
                f.location.line,
                f.audit.to_string(),
            )
        })
        .collect()
}

#[test]
fn there_are_enough_fixtures() {
    let workflows: usize = fixtures()
        .iter()
        .map(|d| {
            ci_files(d)
                .iter()
                .filter(|p| {
                    let s = p.to_string_lossy();
                    s.contains(".github/workflows/") || s.ends_with("gitlab-ci.yml")
                })
                .count()
        })
        .sum();
    assert!(workflows >= 40, "only {workflows} workflow fixtures");
}

#[test]
fn every_planted_use_is_found_and_nothing_else() {
    let mut problems = Vec::new();
    for dir in fixtures() {
        let report = analyze(&dir);
        for d in &report.diagnostics {
            problems.push(format!("{}: diagnostic {d:?}", name(&dir)));
        }
        let want = expected(&dir);
        let got = found(&report);
        for m in want.difference(&got) {
            problems.push(format!("{}: MISSED {}:{} {}", name(&dir), m.0, m.1, m.2));
        }
        for e in got.difference(&want) {
            let f = report
                .findings
                .iter()
                .find(|f| {
                    f.location.path == e.0 && f.location.line == e.1 && f.audit.as_str() == e.2
                })
                .unwrap();
            problems.push(format!(
                "{}: UNEXPECTED {}:{} {} (secret {}, {})",
                name(&dir),
                e.0,
                e.1,
                e.2,
                f.secret,
                f.consumer.description
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn migrated_fixtures_yield_no_finding() {
    let migrated: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|d| name(d).contains("migrated") && !name(d).contains("half-migrated"))
        .collect();
    assert!(migrated.len() >= 6, "too few migrated fixtures");
    for dir in migrated {
        let report = analyze(&dir);
        assert!(
            report.findings.is_empty() && report.diagnostics.is_empty(),
            "{}: {:#?}",
            name(&dir),
            report
        );
        assert!(
            report.files_analyzed > 0,
            "{}: nothing analysed",
            name(&dir)
        );
    }
}

#[test]
fn findings_snapshot_per_fixture() {
    for dir in fixtures() {
        let report = analyze(&dir);
        let n = name(&dir);
        insta::with_settings!({
            snapshot_path => "snapshots/pipeline",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_yaml_snapshot!(n, report.findings);
        });
    }
}

#[test]
fn inventory_snapshot() {
    let report = analyze(&fixtures_root());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let inv = inventory(&report);
    // one table per fixture repository whose pipelines read a secret
    let with_findings: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.repository.as_str())
        .chain(report.reads.iter().map(|r| r.repository.as_str()))
        .collect();
    assert_eq!(inv.repositories.len(), with_findings.len());
    let json: serde_json::Value = serde_json::from_str(&inv.to_json()).expect("valid JSON");
    assert!(json["repositories"].is_array());
    insta::with_settings!({
        snapshot_path => "snapshots/pipeline",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("inventory_markdown", inv.to_markdown());
    });
}

#[test]
fn gitlab_inventory_lists_credential_variables_the_file_does_not_define() {
    let report = analyze(&fixtures_root().join("gitlab-deploy-ssh-kube"));
    let inv = inventory(&report);
    let json: serde_json::Value = serde_json::from_str(&inv.to_json()).expect("valid JSON");
    let names: Vec<&str> = json["repositories"][0]["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // the SSH deploy key is listed; known hosts, the cluster URL and GitLab's own job
    // variables are not credentials; KUBE_TOKEN is listed once, with its audit
    assert_eq!(names, ["DEPLOY_SSH_KEY", "KUBE_TOKEN", "PROD_KUBECONFIG"]);
    let ssh = &json["repositories"][0]["secrets"][0];
    assert_eq!(ssh["source"], "gitlab-variable");
    assert_eq!(ssh["uses"][0]["line"], 11);
}

#[test]
fn inventory_names_the_oidc_path_of_services_that_have_one() {
    let report = analyze(&fixtures_root().join("github-signing-and-saas"));
    let inv = inventory(&report);
    let json: serde_json::Value = serde_json::from_str(&inv.to_json()).expect("valid JSON");
    let secrets = json["repositories"][0]["secrets"].as_array().unwrap();
    let by = |n: &str| secrets.iter().find(|s| s["name"] == n).unwrap().clone();
    assert_eq!(by("COSIGN_PRIVATE_KEY")["providers"][0], "sigstore");
    assert_eq!(by("COSIGN_PRIVATE_KEY")["status"], "migratable-now");
    assert_eq!(by("CODECOV_TOKEN")["providers"][0], "codecov");
    assert!(by("CODECOV_TOKEN")["uses"][0]["replacement"]
        .as_str()
        .unwrap()
        .contains("use_oidc"));
    assert_eq!(
        by("SLACK_RELEASES_WEBHOOK")["status"],
        "no-oidc-alternative"
    );
}

#[test]
fn inventory_lists_secrets_no_audit_recognises() {
    let report = analyze(&fixtures_root().join("github-unrecognised-secrets"));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let inv = inventory(&report);
    let json: serde_json::Value = serde_json::from_str(&inv.to_json()).expect("valid JSON");
    let secrets = json["repositories"][0]["secrets"]
        .as_array()
        .expect("secrets");
    let names: Vec<&str> = secrets
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["DB_PASSWORD", "SENTRY_AUTH_TOKEN", "SLACK_WEBHOOK_URL"]
    );
    for s in secrets {
        assert_eq!(s["status"], "no-oidc-alternative", "{s:#}");
        let u = &s["uses"][0];
        assert_eq!(
            u["replacement"],
            "long-lived, no short-lived replacement known"
        );
        assert!(u["consumer"].as_str().unwrap().len() > 4, "{u:#}");
    }
    assert_eq!(
        secrets[0]["uses"][0]["consumer"],
        "job env `DATABASE_PASSWORD`"
    );
    assert_eq!(secrets[0]["uses"][0]["line"], 9);
}

#[test]
fn malformed_file_gives_one_diagnostic_and_the_rest_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let wf = tmp.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("broken.yml"),
        "name: broken\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"unterminated\n     - run: [oops\n",
    )
    .unwrap();
    std::fs::write(
        wf.join("not-a-workflow.yml"),
        "name: no jobs key\non: push\n",
    )
    .unwrap();
    std::fs::copy(
        fixtures_root().join("aws-deploy-static/.github/workflows/deploy.yml"),
        wf.join("deploy.yml"),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join(".gitlab-ci.yml"),
        "include:\n  - local: ci/bad.yml\ndeploy:\n  script:\n    - aws configure set aws_secret_access_key $PROD_SECRET\n",
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("ci")).unwrap();
    std::fs::write(
        tmp.path().join("ci/bad.yml"),
        "job:\n  script: [a\n  b: c\n",
    )
    .unwrap();

    let report = analyze(tmp.path());
    let diags: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str(), d.line))
        .collect();
    assert_eq!(report.diagnostics.len(), 3, "{:#?}", report.diagnostics);
    let broken = &report.diagnostics[0];
    assert_eq!(broken.path, ".github/workflows/broken.yml", "{diags:?}");
    assert!(broken.line >= 7, "line of the YAML error: {broken:?}");
    assert!(broken.message.starts_with("invalid YAML"), "{broken:?}");
    let not_wf = &report.diagnostics[1];
    assert_eq!(not_wf.path, ".github/workflows/not-a-workflow.yml");
    assert!(
        not_wf
            .message
            .contains("not a valid GitHub Actions workflow"),
        "{not_wf:?}"
    );
    let inc = &report.diagnostics[2];
    assert_eq!(inc.path, "ci/bad.yml");
    assert!(inc.line >= 2, "{inc:?}");
    // the good files were still analysed
    assert_eq!(report.files_analyzed, 2);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.audit.as_str() == "aws-static-keys")
            .count(),
        3,
        "{:#?}",
        report.findings
    );
}

#[test]
fn every_audit_is_documented() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC_PATH))
        .expect("docs/pipeline-audits.md");
    for (id, _) in audit::catalog() {
        assert!(
            docs.contains(&format!("<a id=\"{id}\"></a>")) || docs.contains(&format!("## {id}\n")),
            "docs/pipeline-audits.md has no section for {id}"
        );
        for part in [
            "What it finds",
            "Why it matters",
            "Fix by hand",
            "What `keysweep rotate` will do",
        ] {
            let start = docs.find(&format!("## {id}")).unwrap();
            let section = &docs[start..];
            let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
            assert!(section[..end].contains(part), "{id}: no '{part}'");
        }
    }
    // The README's table has a row per audit, linking to its section.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    for (id, _) in audit::catalog() {
        assert!(
            readme.contains(&format!("| [`{id}`]({DOC_PATH}#{id}) |")),
            "README's pipeline audit table has no row for {id}"
        );
    }
}

/// Runs a validator over every GitHub fixture file; `Ok(None)` when the tool is not set up.
fn tool(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

fn github_files() -> Vec<PathBuf> {
    fixtures()
        .iter()
        .flat_map(|d| ci_files(d))
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains("/.github/workflows/")
                || p.file_name()
                    .is_some_and(|n| n == "action.yml" || n == "action.yaml")
        })
        .collect()
}

fn require_tools() -> Option<(PathBuf, PathBuf)> {
    match (tool("KEYSWEEP_GHA_VALIDATE"), tool("ZIZMOR")) {
        (Some(g), Some(z)) => Some((g, z)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but the workflow validators are missing: run `eval \"$(scripts/workflow-tools.sh)\"` \
             so that KEYSWEEP_GHA_VALIDATE and ZIZMOR point at @actions/workflow-parser and zizmor"
        ),
        _ => {
            eprintln!(
                "\n!!!!!!!! SKIPPED: fixture validation with GitHub's workflow parser and zizmor.\n\
                 !!!!!!!! Run `eval \"$(scripts/workflow-tools.sh)\"` first (sets KEYSWEEP_GHA_VALIDATE, ZIZMOR).\n"
            );
            None
        }
    }
}

#[test]
fn github_fixtures_pass_githubs_parser_and_zizmor() {
    let Some((gha, zizmor)) = require_tools() else {
        return;
    };
    let files = github_files();
    assert!(files.len() >= 40, "only {} GitHub files", files.len());
    let out = Command::new(&gha)
        .args(&files)
        .output()
        .expect("run gha-validate");
    assert!(
        out.status.success(),
        "GitHub's workflow parser rejected fixtures:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut bad = Vec::new();
    for f in &files {
        let out = Command::new(&zizmor)
            .args(["--offline", "--no-progress", "--quiet"])
            .arg(f)
            .output()
            .expect("run zizmor");
        // 0: clean; 10-14: findings (allowed here); anything else: not parsed
        let code = out.status.code().unwrap_or(-1);
        if !(code == 0 || (10..=14).contains(&code)) {
            bad.push(format!(
                "{} (exit {code}):\n{}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "zizmor could not parse:\n{}",
        bad.join("\n")
    );
}
