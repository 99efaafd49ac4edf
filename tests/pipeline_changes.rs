//! The PR check and the pre-commit hook audit the CI files a change touches: only the
//! long-lived credential uses the change adds are reported, at their line in the new file.

use crate::common::keysweep;
use crate::common::repo::Repo;
use serde_json::Value;
use std::path::Path;

const AWS_STEP: &str = "      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
";

fn workflow(name: &str, steps: &str) -> String {
    format!(
        "name: {name}\non:\n  push:\n    branches: [main]\npermissions: {{}}\njobs:\n  {name}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make build\n{steps}      - run: aws s3 sync dist s3://example-artifacts\n"
    )
}

struct Out {
    code: i32,
    json: Value,
    stdout: String,
}

impl Out {
    fn uses(&self) -> Vec<&Value> {
        self.json["pipeline"]["findings"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self
            .uses()
            .iter()
            .map(|f| f["secret"].as_str().unwrap_or("").to_string())
            .collect();
        s.sort();
        s.dedup();
        s
    }
}

/// `keysweep scan ARGS --format FORMAT --quiet DIR`: exit code, stdout, stderr.
fn run(dir: &Path, args: &[&str], format: &str) -> (i32, String, String) {
    let out = keysweep()
        .arg("scan")
        .args(args)
        .args(["--format", format, "--quiet"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scan(dir: &Path, args: &[&str]) -> Out {
    let (code, stdout, stderr) = run(dir, args, "json");
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    Out { code, json, stdout }
}

fn scan_github(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, stdout, _) = run(dir, args, "github");
    (code, stdout)
}

/// A repository whose main branch has a clean README, then `feature` on top.
fn repo_with_base(files: &[(&str, &str)]) -> (Repo, String) {
    let r = Repo::new();
    let mut all = vec![("README.md", "# app\n")];
    all.extend_from_slice(files);
    let base = r.commit("base", &all);
    (r, base)
}

#[test]
fn range_adding_a_static_key_workflow_is_reported_at_its_line() {
    let (r, base) = repo_with_base(&[]);
    r.commit(
        "deploy workflow",
        &[(
            ".github/workflows/deploy.yml",
            &workflow("deploy", AWS_STEP),
        )],
    );
    let out = scan(&r.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.secrets(),
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        "{}",
        out.stdout
    );
    let f = out
        .uses()
        .into_iter()
        .find(|f| f["secret"] == "AWS_ACCESS_KEY_ID")
        .unwrap();
    assert_eq!(f["location"]["path"], ".github/workflows/deploy.yml");
    // line 13 of the new file: `aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}`
    assert_eq!(f["location"]["line"], 13, "{f:#}");
    assert!(f["replacement"]
        .as_str()
        .unwrap()
        .contains("role-to-assume"));
    // The GitHub format fails the check with an error annotation on that line.
    let (code, annotations) = scan_github(&r.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1);
    assert!(
        annotations.contains("::error file=.github/workflows/deploy.yml,line=13,"),
        "{annotations}"
    );
}

#[test]
fn range_that_leaves_an_existing_use_alone_reports_nothing() {
    let (r, base) = repo_with_base(&[(
        ".github/workflows/deploy.yml",
        &workflow("deploy", AWS_STEP),
    )]);
    r.commit("docs", &[("docs/guide.md", "# guide\n")]);
    let out = scan(&r.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.uses().is_empty(), "{}", out.stdout);
    // An edit of the same workflow that keeps the use is not blamed on the change either.
    let base2 = r.git(["rev-parse", "HEAD"]);
    let edited = workflow("deploy", AWS_STEP).replace("make build", "make build test");
    r.commit("edit", &[(".github/workflows/deploy.yml", &edited)]);
    let out = scan(&r.path, &["--range", &format!("{base2}..HEAD")]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // The working-tree scan still reports the existing use: it belongs there.
    let tree = scan(&r.path, &[]);
    assert_eq!(
        tree.secrets(),
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    );
}

#[test]
fn range_that_renames_the_secret_of_an_existing_use_is_reported() {
    let (r, base) = repo_with_base(&[(
        ".github/workflows/deploy.yml",
        &workflow("deploy", AWS_STEP),
    )]);
    let renamed = workflow("deploy", AWS_STEP)
        .replace("secrets.AWS_ACCESS_KEY_ID", "secrets.PROD_AWS_KEY_ID");
    r.commit("rename", &[(".github/workflows/deploy.yml", &renamed)]);
    let out = scan(&r.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(out.secrets(), ["PROD_AWS_KEY_ID"], "{}", out.stdout);
}

#[test]
fn gitlab_include_added_by_the_range_is_audited_from_the_same_revision() {
    let main = "include:\n  - local: ci/deploy.yml\nstages: [deploy]\n";
    let (r, base) = repo_with_base(&[(
        ".gitlab-ci.yml",
        "stages: [build]\nbuild:\n  stage: build\n  script: [make]\n",
    )]);
    let include = "deploy:\n  stage: deploy\n  variables:\n    AWS_ACCESS_KEY_ID: $DEPLOY_AWS_KEY_ID\n    AWS_SECRET_ACCESS_KEY: $DEPLOY_AWS_SECRET\n  script:\n    - aws s3 sync dist s3://example-artifacts\n";
    r.commit(
        "deploy stage",
        &[(".gitlab-ci.yml", main), ("ci/deploy.yml", include)],
    );
    let out = scan(&r.path, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let uses = out.uses();
    assert!(!uses.is_empty(), "{}", out.stdout);
    assert!(
        uses.iter()
            .all(|f| f["location"]["path"] == "ci/deploy.yml"),
        "{}",
        out.stdout
    );
    assert!(
        out.secrets().contains(&"DEPLOY_AWS_SECRET".to_string()),
        "{}",
        out.stdout
    );
}

#[test]
fn staged_audits_the_index_version_not_the_work_tree() {
    let (r, _) = repo_with_base(&[]);
    r.write(".github/workflows/deploy.yml", workflow("deploy", AWS_STEP));
    r.git(["add", ".github/workflows/deploy.yml"]);
    // Edited back in the work tree after staging: the commit would still record the key.
    r.write(".github/workflows/deploy.yml", workflow("deploy", ""));
    let out = scan(&r.path, &["--staged"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.secrets(),
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    );
    // And the other way round: a staged clean version with a dirty work tree passes.
    r.write(".github/workflows/deploy.yml", workflow("deploy", ""));
    r.git(["add", ".github/workflows/deploy.yml"]);
    r.write(".github/workflows/deploy.yml", workflow("deploy", AWS_STEP));
    let out = scan(&r.path, &["--staged"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.uses().is_empty());
}

#[test]
fn policy_warn_passes_with_warnings_and_off_skips_the_audit() {
    let (r, base) = repo_with_base(&[]);
    r.commit(
        "deploy workflow",
        &[(
            ".github/workflows/deploy.yml",
            &workflow("deploy", AWS_STEP),
        )],
    );
    let range = format!("{base}..HEAD");
    let (code, annotations) = scan_github(&r.path, &["--range", &range, "--pipeline-uses", "warn"]);
    assert_eq!(code, 0, "{annotations}");
    assert!(
        annotations.contains("::warning file=.github/workflows/deploy.yml,line=13,"),
        "{annotations}"
    );
    assert!(!annotations.contains("::error"), "{annotations}");
    let out = scan(&r.path, &["--range", &range, "--pipeline-uses", "off"]);
    assert_eq!(out.code, 0);
    assert!(out.uses().is_empty());
    // The config key chooses the same, and the flag wins over it.
    r.commit(
        "config",
        &[(".keysweep.toml", "pipeline_uses = \"warn\"\n")],
    );
    let out = scan(&r.path, &["--range", &range]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(out.uses().len(), 2);
    let out = scan(&r.path, &["--range", &range, "--pipeline-uses", "fail"]);
    assert_eq!(out.code, 1);
}

#[test]
fn inline_allow_and_baseline_suppress_a_new_use() {
    let (r, base) = repo_with_base(&[]);
    let allowed = AWS_STEP
        .replace(
            "secrets.AWS_ACCESS_KEY_ID }}",
            "secrets.AWS_ACCESS_KEY_ID }} # keysweep:allow",
        )
        .replace(
            "secrets.AWS_SECRET_ACCESS_KEY }}",
            "secrets.AWS_SECRET_ACCESS_KEY }} # keysweep:allow",
        );
    r.commit(
        "deploy",
        &[(
            ".github/workflows/deploy.yml",
            &workflow("deploy", &allowed),
        )],
    );
    let range = format!("{base}..HEAD");
    let out = scan(&r.path, &["--range", &range]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.uses().is_empty());
    assert_eq!(
        out.json["stats"]["suppressed"]["inline"], 2,
        "{}",
        out.stdout
    );

    // A baseline written by the working-tree scan accepts the same uses in the PR check.
    let (r, base) = repo_with_base(&[]);
    r.commit(
        "deploy",
        &[(
            ".github/workflows/deploy.yml",
            &workflow("deploy", AWS_STEP),
        )],
    );
    let baseline = r.path.join("../baseline.json");
    let made = keysweep()
        .current_dir(&r.path)
        .args(["baseline", "--quiet", "--baseline-file"])
        .arg(&baseline)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = scan(
        &r.path,
        &[
            "--range",
            &format!("{base}..HEAD"),
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
}
