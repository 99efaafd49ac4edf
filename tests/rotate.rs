//! `keysweep rotate`: plans, span-preserving rewrites, trust configuration.
//!
//! Fixtures are the pipeline-analysis repositories under `tests/fixtures/pipelines`, always
//! copied into a temporary directory before `--write`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::keysweep;

const PIPELINES: &str = "tests/fixtures/pipelines";

/// Every fact a plan can need, as flags (the values are examples, not real accounts).
const FACTS: &[&str] = &[
    "--repo",
    "example-org/example-repo",
    "--default-branch",
    "main",
    "--aws-account-id",
    "123456789012",
    "--aws-role-name",
    "github-actions-deploy",
    "--aws-region",
    "us-east-1",
    "--gcp-project-number",
    "123456789012",
    "--gcp-pool",
    "github",
    "--gcp-provider",
    "github-actions",
    "--gcp-service-account",
    "deployer@example-project.iam.gserviceaccount.com",
    "--azure-client-id",
    "11111111-2222-3333-4444-555555555555",
    "--azure-tenant-id",
    "66666666-7777-8888-9999-000000000000",
    "--azure-subscription-id",
    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "--vault-role",
    "ci-deploy",
    "--vault-audience",
    "https://vault.example.com",
    "--octo-sts-identity",
    "docs-sync",
    "--gitlab-url",
    "https://gitlab.com",
    "--gitlab-project",
    "example-group/example-project",
];

/// (fixture, target) pairs with one plan snapshot each.
const TARGET_FIXTURES: &[(&str, &str)] = &[
    ("aws-deploy-static", "aws"),
    ("aws-workflow-env", "aws"),
    ("aws-terraform-env", "aws"),
    ("aws-role-chaining", "aws"),
    ("aws-pinned-newer-major", "aws"),
    ("gcp-project-env", "gcp"),
    ("aws-serverless-ecr", "aws"),
    ("environment-matrix-secrets", "aws"),
    ("gcp-deploy-key", "gcp"),
    ("gcp-gcloud-keyfile", "gcp"),
    ("azure-login-creds", "azure"),
    ("azure-terraform-arm", "azure"),
    ("pypi-token-release", "pypi"),
    ("npm-publish-token", "npm"),
    ("crates-publish", "crates-io"),
    ("vault-token", "vault"),
    ("github-pat-usage", "octo-sts"),
    ("gitlab-aws-includes", "gitlab-aws"),
    ("gitlab-registries", "gitlab-pypi"),
    ("gitlab-cloud-deploy", "gitlab-gcp"),
    ("gitlab-cloud-deploy", "gitlab-azure"),
    ("gitlab-cloud-deploy", "gitlab-vault"),
];

/// The snapshot (and output directory) name of one fixture/target pair.
fn case_name(name: &str, target: &str) -> String {
    if TARGET_FIXTURES.iter().filter(|(n, _)| *n == name).count() > 1 {
        format!("{name}__{target}")
    } else {
        name.to_string()
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

fn fixture(name: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(PIPELINES).join(name), t.path());
    t
}

fn rotate(dir: &Path, extra: &[&str]) -> std::process::Output {
    keysweep()
        .arg("rotate")
        .arg(dir)
        .args(FACTS)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "keysweep failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn plan_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&stdout(&rotate(dir, &args))).unwrap()
}

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    if !dir.exists() {
        return out;
    }
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(e.path()).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn plan_snapshots_per_target() {
    for (name, target) in TARGET_FIXTURES {
        let d = fixture(name);
        let text = stdout(&rotate(d.path(), &["--target", target]));
        assert!(
            text.contains(&format!("### {target}:")),
            "{name}: no {target} migration:\n{text}"
        );
        insta::assert_snapshot!(format!("rotate__{}", case_name(name, target)), text);
    }
}

#[test]
fn aws_rewrite_is_byte_exact() {
    let d = fixture("aws-deploy-static");
    let o = rotate(d.path(), &["--write"]);
    stdout(&o);
    let after = std::fs::read_to_string(d.path().join(".github/workflows/deploy.yml")).unwrap();
    assert_eq!(
        after,
        "\
name: Deploy site
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - name: Configure AWS credentials
        uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2
        with:
          role-to-assume: arn:aws:iam::123456789012:role/github-actions-deploy
          aws-region: eu-west-1
      - name: Sync to S3
        run: aws s3 sync ./public s3://example-site-bucket --delete
"
    );
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join(".keysweep/aws/trust-policy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["StringEquals"]
            ["token.actions.githubusercontent.com:sub"],
        "repo:example-org/example-repo:environment:production"
    );
}

#[test]
fn second_write_changes_nothing() {
    // every fixture, in one pass: what the first --write leaves, the second leaves alone
    let mut names: Vec<String> = std::fs::read_dir(PIPELINES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let d = fixture(name);
        // placeholders (facts these fixtures do not give) do not change what is written twice
        let write = ["--write", "--allow-placeholders"];
        stdout(&rotate(d.path(), &write));
        let first = files_under(d.path());
        let o = rotate(d.path(), &write);
        stdout(&o);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("nothing to write"),
            "{name}"
        );
        assert_eq!(first, files_under(d.path()), "{name}");
    }
}

/// Removed and added lines of a unified diff, without the `---`/`+++` headers.
fn diff_lines(diff: &str) -> (Vec<String>, Vec<String>) {
    let (mut minus, mut plus) = (Vec::new(), Vec::new());
    for l in diff.lines() {
        if l.starts_with("---") || l.starts_with("+++") {
            continue;
        }
        if let Some(r) = l.strip_prefix('-') {
            minus.push(r.to_string());
        } else if let Some(a) = l.strip_prefix('+') {
            plus.push(a.to_string());
        }
    }
    (minus, plus)
}

#[test]
fn diffs_touch_only_the_lines_the_plan_names() {
    for (name, _) in TARGET_FIXTURES {
        let d = fixture(name);
        let plan = plan_json(d.path(), &[]);
        for repo in plan["repositories"].as_array().unwrap() {
            let secrets: Vec<String> = repo["migrations"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|m| m["secrets"].as_array().unwrap().iter())
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            // every key of every node an edit names (removed subtrees included)
            let mut keys: Vec<String> = Vec::new();
            for m in repo["migrations"].as_array().unwrap() {
                let orig: yaml_serde::Value = yaml_serde::from_str(
                    &std::fs::read_to_string(
                        Path::new(PIPELINES)
                            .join(name)
                            .join(m["workflow"].as_str().unwrap()),
                    )
                    .unwrap(),
                )
                .unwrap();
                for e in m["edits"].as_array().unwrap() {
                    let path = e["path"].as_array().unwrap();
                    let mut cur = Some(&orig);
                    for seg in path {
                        if let Some(k) = seg.as_str() {
                            keys.push(k.to_string());
                            cur = cur.and_then(|c| c.get(k));
                        } else {
                            cur = cur.and_then(|c| c.get(seg.as_u64().unwrap() as usize));
                        }
                    }
                    if e["op"] == "remove" {
                        let mut stack: Vec<&yaml_serde::Value> = cur.into_iter().collect();
                        while let Some(v) = stack.pop() {
                            if let Some(m) = v.as_mapping() {
                                for (k, v) in m {
                                    keys.extend(k.as_str().map(str::to_string));
                                    stack.push(v);
                                }
                            }
                        }
                    }
                }
            }
            for f in repo["files"].as_array().unwrap() {
                let diff = f["diff"].as_str().unwrap();
                let (minus, _) = diff_lines(diff);
                for l in &minus {
                    let t = l.trim_start().trim_start_matches("- ");
                    let key = t.split(':').next().unwrap_or("");
                    // a GitHub secret, or a GitLab CI/CD variable read by a script line
                    let names_secret = secrets.iter().any(|s| {
                        l.to_ascii_lowercase()
                            .contains(&format!("secrets.{}", s.to_ascii_lowercase()))
                            || l.contains(&format!("${s}"))
                            || l.contains(&format!("${{{s}}}"))
                    });
                    assert!(
                        names_secret || keys.iter().any(|k| k == key),
                        "{name}: removed line `{l}` is neither a secret reference nor a node the plan edits\n{diff}"
                    );
                }
                // every original line outside the edits is still there, byte for byte, in order
                let orig = std::fs::read_to_string(
                    Path::new(PIPELINES)
                        .join(name)
                        .join(f["path"].as_str().unwrap()),
                )
                .unwrap();
                let kept: Vec<&str> = orig
                    .lines()
                    .filter(|l| !minus.iter().any(|m| m == l))
                    .collect();
                let new_text = {
                    let d2 = fixture(name);
                    stdout(&rotate(d2.path(), &["--write", "--allow-placeholders"]));
                    std::fs::read_to_string(d2.path().join(f["path"].as_str().unwrap())).unwrap()
                };
                let mut it = new_text.lines();
                for k in kept {
                    assert!(
                        it.any(|n| n == k),
                        "{name}: line `{k}` changed or moved\n{diff}"
                    );
                }
            }
        }
    }
}

fn tool(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.exists())
}

fn require(vars: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = vars.iter().map(|v| tool(v)).collect();
    if found.iter().all(Option::is_some) {
        return Some(found.into_iter().map(Option::unwrap).collect());
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {vars:?} are not all set: run `eval \"$(scripts/workflow-tools.sh)\"` first"
        );
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: rewritten workflows not validated: {vars:?} not all set.\n\
         !!!!!!!! Run `eval \"$(scripts/workflow-tools.sh)\"` first.\n"
    );
    None
}

/// zizmor finding idents (with counts) of one file.
fn zizmor_idents(zizmor: &Path, file: &Path) -> BTreeMap<String, usize> {
    let out = Command::new(zizmor)
        .args(["--offline", "--no-progress", "--format", "json"])
        .arg(file)
        .output()
        .expect("run zizmor");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || (10..=14).contains(&code),
        "zizmor could not read {} (exit {code}): {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut m = BTreeMap::new();
    for f in v.as_array().into_iter().flatten() {
        let id = f["ident"].as_str().unwrap_or("?").to_string();
        *m.entry(id).or_insert(0) += 1;
    }
    m
}

/// actionlint messages (kind: message) of one file, line numbers dropped.
fn actionlint_messages(actionlint: &Path, file: &Path) -> Vec<String> {
    let out = Command::new(actionlint)
        .args([
            "-no-color",
            "-format",
            "{{range $e := .}}{{$e.Kind}}: {{$e.Message}}\n{{end}}",
        ])
        .arg(file)
        .output()
        .expect("run actionlint");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn rewritten_fixtures_pass_the_workflow_validators_and_re_audit_as_migrated() {
    let all = tempfile::tempdir().unwrap();
    copy_dir(Path::new(PIPELINES), all.path());
    let before = files_under(all.path());
    let plan = plan_json(all.path(), &["--write", "--allow-placeholders"]);
    let after = files_under(all.path());
    let changed: Vec<PathBuf> = after
        .iter()
        .filter(|(p, b)| {
            p.to_string_lossy().contains(".github/workflows/") && before.get(*p) != Some(*b)
        })
        .map(|(p, _)| p.clone())
        .collect();
    let migrations: usize = plan["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["migrations"].as_array().unwrap().len())
        .sum();
    assert!(
        changed.len() >= 10,
        "only {} workflows rewritten",
        changed.len()
    );
    assert!(migrations >= changed.len());

    // every rewritten file parses, and the audits see every migrated use as gone
    let report = keysweep::pipeline::analyze(all.path());
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    for r in plan["repositories"].as_array().unwrap() {
        let repo = r["repository"].as_str().unwrap();
        for m in r["migrations"].as_array().unwrap() {
            let wf = format!("{repo}/{}", m["workflow"].as_str().unwrap());
            for s in m["secrets"].as_array().unwrap() {
                let left: Vec<_> = report
                    .findings
                    .iter()
                    .filter(|f| {
                        (f.workflow == wf || f.location.path == wf)
                            && f.secret == s.as_str().unwrap()
                    })
                    .collect();
                assert!(left.is_empty(), "{wf}: `{s}` still reported: {left:?}");
            }
            // and the job now has id-token: write (GitHub) / id_tokens (GitLab)
            if m["target"].as_str().unwrap().starts_with("gitlab-") {
                let text = std::fs::read_to_string(all.path().join(&wf)).unwrap();
                assert!(text.contains("id_tokens:"), "{wf}");
                continue;
            }
            for j in m["jobs"].as_array().unwrap() {
                let ctx_text = std::fs::read_to_string(all.path().join(&wf)).unwrap();
                let v: yaml_serde::Value = yaml_serde::from_str(&ctx_text).unwrap();
                assert_eq!(
                    v["jobs"][j.as_str().unwrap()]["permissions"]["id-token"].as_str(),
                    Some("write"),
                    "{wf} job {j}"
                );
            }
        }
    }

    // GitLab CI files keysweep rewrote validate against GitLab's own CI schema
    let gitlab_changed: Vec<PathBuf> = after
        .iter()
        .filter(|(p, b)| {
            let s = p.to_string_lossy();
            !s.contains(".github/")
                && !s.contains(".keysweep/")
                && (s.ends_with(".yml") || s.ends_with(".yaml"))
                && before.get(*p) != Some(*b)
        })
        .map(|(p, _)| all.path().join(p))
        .collect();
    assert!(
        gitlab_changed.len() >= 4,
        "only {} GitLab CI files rewritten: {gitlab_changed:?}",
        gitlab_changed.len()
    );
    if let Some(t) = require(&["CHECK_JSONSCHEMA"]) {
        let out = Command::new(&t[0])
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .args(&gitlab_changed)
            .output()
            .expect("run check-jsonschema");
        assert!(
            out.status.success(),
            "GitLab's CI schema rejected rewritten files:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "validated {} rewritten GitLab CI files against GitLab's CI schema",
            gitlab_changed.len()
        );
    }

    let Some(tools) = require(&["KEYSWEEP_GHA_VALIDATE", "ACTIONLINT", "ZIZMOR"]) else {
        return;
    };
    let (gha, actionlint, zizmor) = (&tools[0], &tools[1], &tools[2]);
    let abs: Vec<PathBuf> = changed.iter().map(|p| all.path().join(p)).collect();
    let out = Command::new(gha)
        .args(&abs)
        .output()
        .expect("run gha-validate");
    assert!(
        out.status.success(),
        "GitHub's workflow parser rejected rewritten workflows:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let orig_dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(PIPELINES), orig_dir.path());
    for p in &changed {
        let new = all.path().join(p);
        let old = orig_dir.path().join(p);
        let (zo, zn) = (zizmor_idents(zizmor, &old), zizmor_idents(zizmor, &new));
        for (id, n) in &zn {
            assert!(
                zo.get(id).copied().unwrap_or(0) >= *n,
                "{}: new zizmor finding `{id}` (before {zo:?}, after {zn:?})",
                p.display()
            );
        }
        let (ao, an) = (
            actionlint_messages(actionlint, &old),
            actionlint_messages(actionlint, &new),
        );
        for m in &an {
            assert!(
                ao.contains(m),
                "{}: new actionlint error `{m}`",
                p.display()
            );
        }
        assert!(an.is_empty(), "{}: actionlint: {an:?}", p.display());
    }
    eprintln!(
        "validated {} rewritten workflows with gha-validate, actionlint and zizmor --offline",
        changed.len()
    );
}

#[test]
fn unmigratable_uses_are_reported_and_left_untouched() {
    for (name, why) in [
        ("pypi-reusable", "reusable workflow"),
        ("npm-self-hosted", "self-hosted"),
    ] {
        let d = fixture(name);
        let before = files_under(d.path());
        let o = rotate(d.path(), &["--write"]);
        let text = stdout(&o);
        assert!(text.contains("### Left untouched"), "{name}:\n{text}");
        assert!(text.contains(why), "{name}: no `{why}` in\n{text}");
        assert_eq!(before, files_under(d.path()), "{name} was modified");
    }
    // the secret is also read by a script keysweep cannot follow: the whole use stays
    let d = fixture("aws-deploy-static");
    let p = d.path().join(".github/workflows/deploy.yml");
    let text = std::fs::read_to_string(&p).unwrap().replace(
        "        run: aws s3 sync ./public s3://example-site-bucket --delete\n",
        "        run: ./upload.sh \"${{ secrets.AWS_SECRET_ACCESS_KEY }}\"\n",
    );
    std::fs::write(&p, &text).unwrap();
    let o = rotate(d.path(), &["--write"]);
    let out = stdout(&o);
    assert!(out.contains("cannot follow"), "{out}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
}

#[test]
fn every_decline_says_what_kind_of_obstacle_it_is() {
    for (name, blocker) in [
        ("npm-yarn-classic", "analysis"),
        ("gcp-setup-gcloud-legacy", "not-rewritten"),
        ("gitlab-anchors-extends", "anchor"),
        ("pypi-reusable", "analysis"),
        ("aws-reusable-callee", "platform"),
        ("npm-private-registry", "analysis"),
    ] {
        let d = fixture(name);
        let plan = plan_json(d.path(), &["--allow-placeholders"]);
        let skipped: Vec<&serde_json::Value> = plan["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["skipped"].as_array().unwrap())
            .collect();
        assert!(!skipped.is_empty(), "{name}: nothing declined");
        assert!(
            skipped.iter().any(|s| s["blocker"] == blocker),
            "{name}: no `{blocker}` among {skipped:#?}"
        );
        assert!(skipped
            .iter()
            .all(|s| s["reason"].as_str().unwrap().len() > 10));
    }
}

#[test]
fn placeholders_are_named_and_block_write() {
    let d = fixture("aws-deploy-static");
    let o = keysweep()
        .args(["rotate", "--write", "--repo", "o/r"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("<AWS_ACCOUNT_ID> via --aws-account-id"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("arn:aws:iam::<AWS_ACCOUNT_ID>:role/<AWS_ROLE_NAME>"),
        "{text}"
    );
    assert!(text.contains("pass `--aws-role-name`"), "{text}");
    assert!(!d.path().join(".keysweep").exists());
    let before = std::fs::read(d.path().join(".github/workflows/deploy.yml")).unwrap();
    assert_eq!(
        before,
        std::fs::read(Path::new(PIPELINES).join("aws-deploy-static/.github/workflows/deploy.yml"))
            .unwrap()
    );
}

#[test]
fn facts_come_from_the_config_file_and_unknown_keys_fail() {
    let d = fixture("aws-deploy-static");
    std::fs::write(
        d.path().join(".keysweep.toml"),
        "[rotate]\nrepository = \"cfg-org/cfg-repo\"\naws_account_id = \"210987654321\"\naws_role_name = \"from-config\"\n",
    )
    .unwrap();
    let o = keysweep()
        .args(["rotate", "--target", "aws"])
        .arg(d.path())
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("arn:aws:iam::210987654321:role/from-config"),
        "{text}"
    );
    assert!(
        text.contains("repo:cfg-org/cfg-repo:environment:production"),
        "{text}"
    );
    std::fs::write(
        d.path().join(".keysweep.toml"),
        "[rotate]\naws_acount_id = \"1\"\n",
    )
    .unwrap();
    let o = keysweep().arg("rotate").arg(d.path()).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("aws_acount_id"));
}

#[test]
fn immutable_subject_format() {
    let d = fixture("aws-deploy-static");
    let plan = plan_json(
        d.path(),
        &[
            "--subject-format",
            "immutable",
            "--owner-id",
            "111",
            "--repository-id",
            "222",
        ],
    );
    assert_eq!(
        plan["repositories"][0]["migrations"][0]["subjects"][0],
        "repo:example-org@111/example-repo@222:environment:production"
    );
}

#[test]
fn unknown_target_is_an_error() {
    let d = fixture("aws-deploy-static");
    let o = rotate(d.path(), &["--target", "aws,nope"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown target `nope`"));
}

/// All generated trust configuration of every target fixture, written to one directory.
fn all_trust() -> (tempfile::TempDir, Vec<(String, PathBuf)>) {
    trust_with(&[])
}

/// [`all_trust`] with `extra` facts.
fn trust_with(extra: &[&str]) -> (tempfile::TempDir, Vec<(String, PathBuf)>) {
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, target) in TARGET_FIXTURES {
        let d = fixture(name);
        let dst = out.path().join(case_name(name, target));
        let mut args = vec![
            "--write",
            "--out",
            dst.to_str().unwrap(),
            "--target",
            target,
        ];
        args.extend_from_slice(extra);
        stdout(&rotate(d.path(), &args));
        for p in files_under(&dst).keys() {
            files.push((name.to_string(), dst.join(p)));
        }
    }
    (out, files)
}

#[test]
fn terraform_parses_and_names_the_right_resources() {
    let (_keep, files) = all_trust();
    let mut seen = BTreeMap::new();
    for (name, p) in files
        .iter()
        .filter(|(_, p)| p.extension().is_some_and(|e| e == "tf"))
    {
        let text = std::fs::read_to_string(p).unwrap();
        let body: hcl::Body = hcl::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not HCL: {e}\n{text}", p.display()));
        for b in body.blocks() {
            let kind = b.identifier().to_string();
            let ty = b
                .labels()
                .first()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default();
            let attrs: Vec<String> = b.body().attributes().map(|a| a.key().to_string()).collect();
            seen.entry(ty.clone())
                .or_insert_with(Vec::new)
                .push((name.clone(), attrs.clone()));
            let _ = kind;
        }
    }
    let need: &[(&str, &[&str])] = &[
        (
            "aws_iam_openid_connect_provider",
            &["url", "client_id_list"],
        ),
        ("aws_iam_role", &["name", "assume_role_policy"]),
        (
            "google_iam_workload_identity_pool",
            &["workload_identity_pool_id"],
        ),
        (
            "google_iam_workload_identity_pool_provider",
            &[
                "attribute_mapping",
                "attribute_condition",
                "workload_identity_pool_provider_id",
            ],
        ),
        (
            "google_service_account_iam_member",
            &["service_account_id", "role", "member"],
        ),
        ("azuread_application", &["client_id"]),
        (
            "azuread_application_federated_identity_credential",
            &["application_id", "issuer", "audiences", "subject"],
        ),
        (
            "vault_jwt_auth_backend",
            &["oidc_discovery_url", "bound_issuer"],
        ),
        (
            "vault_jwt_auth_backend_role",
            &["role_name", "bound_audiences", "bound_claims", "user_claim"],
        ),
    ];
    for (ty, attrs) in need {
        let found = seen
            .get(*ty)
            .unwrap_or_else(|| panic!("no {ty} in {seen:?}"));
        for (fx, got) in found {
            for a in *attrs {
                assert!(
                    got.iter().any(|g| g == a),
                    "{fx}: {ty} has no `{a}`: {got:?}"
                );
            }
        }
    }
    // the GCP condition pins the repository and the subject
    let gcp = std::fs::read_to_string(
        files
            .iter()
            .find(|(_, p)| p.ends_with("gcp/main.tf"))
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(gcp.contains(
        "attribute_condition = \"assertion.repository == 'example-org/example-repo' && (assertion.sub == 'repo:example-org/example-repo:ref:refs/heads/main')\""
    ), "{gcp}");
    // on GitLab it pins the project path and the subject, and binds the project's identities
    let gl = std::fs::read_to_string(
        &files
            .iter()
            .find(|(_, p)| p.ends_with("gcp-gitlab/main.tf"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(gl.contains(
        "attribute_condition = \"assertion.project_path == 'example-group/example-project' && (assertion.sub == 'project_path:example-group/example-project:ref_type:branch:ref:main')\""
    ), "{gl}");
    assert!(
        gl.contains("/attribute.project_path/example-group/example-project\""),
        "{gl}"
    );
}

#[test]
fn trust_policies_have_exact_conditions() {
    let (_keep, files) = all_trust();
    for (name, p) in files
        .iter()
        .filter(|(_, p)| p.ends_with("aws/trust-policy.json"))
    {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let st = &v["Statement"][0];
        assert_eq!(st["Effect"], "Allow");
        assert_eq!(st["Action"], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(
            st["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
        let cond = st["Condition"].as_object().unwrap();
        assert_eq!(
            cond.keys().collect::<Vec<_>>(),
            vec!["StringEquals"],
            "{name}"
        );
        let eq = cond["StringEquals"].as_object().unwrap();
        let mut keys: Vec<&String> = eq.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                "token.actions.githubusercontent.com:aud",
                "token.actions.githubusercontent.com:sub"
            ]
        );
        assert_eq!(
            eq["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        let text = v.to_string();
        assert!(
            !text.contains("ForAllValues") && !text.contains('*'),
            "{name}: {text}"
        );
    }
    let gl = files
        .iter()
        .find(|(_, p)| p.ends_with("aws-gitlab/trust-policy.json"))
        .expect("GitLab AWS trust policy");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gl.1).unwrap()).unwrap();
    assert_eq!(
        v["Statement"][0]["Condition"],
        serde_json::json!({"StringEquals": {
            "gitlab.com:aud": "sts.amazonaws.com",
            "gitlab.com:sub": "project_path:example-group/example-project:ref_type:branch:ref:main"
        }})
    );
    for (_, p) in files
        .iter()
        .filter(|(_, p)| p.to_string_lossy().contains("federated-credential-"))
    {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(v["audiences"][0], "api://AzureADTokenExchange");
        let (issuer, prefix) = if p.to_string_lossy().contains("azure-gitlab") {
            (
                "https://gitlab.com",
                "project_path:example-group/example-project:",
            )
        } else {
            (
                "https://token.actions.githubusercontent.com",
                "repo:example-org/example-repo:",
            )
        };
        assert_eq!(v["issuer"], issuer);
        assert!(v["subject"].as_str().unwrap().starts_with(prefix), "{v}");
    }
}

#[test]
fn subject_pattern_is_the_only_way_to_a_wildcard() {
    let d = fixture("aws-deploy-static");
    // a tag-triggered job without an environment: no subject without --subject-pattern
    let p = d.path().join(".github/workflows/deploy.yml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("    branches: [main]\n", "    tags: [\"v*\"]\n")
        .replace("    environment: production\n", "");
    std::fs::write(&p, text).unwrap();
    let plan = plan_json(d.path(), &[]);
    assert_eq!(
        plan["repositories"][0]["migrations"][0]["subjects"][0],
        "<SUBJECT_PATTERN>"
    );
    let o = rotate(d.path(), &["--write"]);
    assert!(!o.status.success());
    let plan = plan_json(
        d.path(),
        &[
            "--subject-pattern",
            "repo:example-org/example-repo:ref:refs/tags/v*",
        ],
    );
    let policy = plan["repositories"][0]["trust"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["file"] == "aws/trust-policy.json")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&policy).unwrap();
    let c = &v["Statement"][0]["Condition"];
    assert_eq!(
        c["StringLike"]["token.actions.githubusercontent.com:sub"],
        "repo:example-org/example-repo:ref:refs/tags/v*"
    );
    assert_eq!(
        c["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
}

/// moto's IAM accepts the generated trust policy (CreateRole), and returns it unchanged.
#[test]
fn moto_accepts_the_aws_trust_policy() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let reachable = endpoint
        .as_deref()
        .is_some_and(|e| ureq::get(&format!("{e}/moto-api/")).call().is_ok());
    if !reachable {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but moto is not reachable at AWS_ENDPOINT_URL={endpoint:?}: run `eval \"$(scripts/moto.sh start)\"`");
        }
        eprintln!(
            "\n!!!!!!!! SKIPPED: moto CreateRole test: AWS_ENDPOINT_URL={endpoint:?} not reachable.\n\
             !!!!!!!! Run `eval \"$(scripts/moto.sh start)\"` first.\n"
        );
        return;
    }
    let endpoint = endpoint.unwrap();
    // unsigned query API; moto routes by the credential scope's service, not the signature
    let iam = |form: &[(&str, &str)]| {
        ureq::post(&format!("{endpoint}/"))
            .set(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .send_form(form)
            .map_err(|e| e.to_string())
    };
    let (_keep, files) = all_trust();
    let mut n = 0;
    for (name, p) in files.iter().filter(|(_, p)| {
        p.ends_with("aws/trust-policy.json") || p.ends_with("aws-gitlab/trust-policy.json")
    }) {
        let policy = std::fs::read_to_string(p).unwrap();
        let role = format!("keysweep-test-{name}-{}", std::process::id());
        let resp = iam(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", &role),
            ("AssumeRolePolicyDocument", &policy),
        ])
        .unwrap_or_else(|e| panic!("{name}: CreateRole refused: {e}"));
        let body = resp.into_string().unwrap();
        assert!(body.contains("<CreateRoleResult>"), "{name}: {body}");
        let got = iam(&[
            ("Action", "GetRole"),
            ("Version", "2010-05-08"),
            ("RoleName", &role),
        ])
        .unwrap()
        .into_string()
        .unwrap();
        assert!(got.contains(&role), "{got}");
        // IAM returns the document URL-encoded; it must be the one sent
        let start =
            got.find("<AssumeRolePolicyDocument>").unwrap() + "<AssumeRolePolicyDocument>".len();
        let end = got.find("</AssumeRolePolicyDocument>").unwrap();
        let doc = url_decode(&got[start..end]);
        let sent: serde_json::Value = serde_json::from_str(&policy).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(sent, back);
        let _ = iam(&[
            ("Action", "DeleteRole"),
            ("Version", "2010-05-08"),
            ("RoleName", &role),
        ]);
        n += 1;
    }
    assert!(n >= 4, "only {n} AWS trust policies");
    eprintln!("moto accepted {n} generated AWS trust policies (CreateRole)");
}

fn url_decode(s: &str) -> String {
    let s = s.replace("&quot;", "\"").replace("&amp;", "&");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else if b[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn docs_have_a_worked_example_per_target() {
    let docs = std::fs::read_to_string("docs/rotate.md").unwrap();
    for t in keysweep::rotate::registry::ids() {
        let cmd = format!("keysweep rotate --target {t} ");
        let at = docs
            .find(&cmd)
            .unwrap_or_else(|| panic!("docs/rotate.md: no example for {t}"));
        let section = &docs[at..];
        let end = section.find("\n## ").unwrap_or(section.len());
        for part in ["Before (", "After:", "Trust configuration"] {
            assert!(section[..end].contains(part), "{t}: no `{part}`");
        }
    }
}

/// Anchors, aliases, flow mappings, three quoting styles, blank lines and comments: only the
/// lines the plan names change.
#[test]
fn tricky_formatting_is_kept_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        Path::new("tests/fixtures/rotate/tricky-formatting"),
        t.path(),
    );
    let wf = t.path().join(".github/workflows/release.yml");
    let before = std::fs::read_to_string(&wf).unwrap();
    stdout(&rotate(t.path(), &["--write"]));
    let after = std::fs::read_to_string(&wf).unwrap();
    let expected = before
        .replace(
            "    env: *shared-env\n\n    steps:\n",
            "    env: *shared-env\n    permissions:\n      id-token: write\n\n    steps:\n",
        )
        .replace(
            "          aws-access-key-id: \"${{ secrets.KEY_ID }}\"\n          aws-secret-access-key: '${{ secrets.KEY_SECRET }}'\n",
            "          role-to-assume: arn:aws:iam::123456789012:role/github-actions-deploy\n",
        );
    assert_ne!(before, expected);
    assert_eq!(after, expected);
    if let Some(tools) = require(&["KEYSWEEP_GHA_VALIDATE", "ACTIONLINT", "ZIZMOR"]) {
        let out = Command::new(&tools[0]).arg(&wf).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(actionlint_messages(&tools[1], &wf).is_empty());
        let orig =
            Path::new("tests/fixtures/rotate/tricky-formatting/.github/workflows/release.yml");
        let (zo, zn) = (
            zizmor_idents(&tools[2], orig),
            zizmor_idents(&tools[2], &wf),
        );
        for (id, n) in &zn {
            assert!(
                zo.get(id).copied().unwrap_or(0) >= *n,
                "new zizmor finding {id}"
            );
        }
    }
}

/// One key used by two jobs: both jobs move in one migration, or neither does.
#[test]
fn role_chaining_keeps_the_identity_later_steps_get() {
    let t = fixture("aws-role-chaining");
    let plan = plan_json(t.path(), &["--write"]);
    let text = std::fs::read_to_string(t.path().join(".github/workflows/deploy.yml")).unwrap();
    let wf: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    let steps = |job: &str| wf["jobs"][job]["steps"].as_sequence().unwrap().clone();
    // keys + role-to-assume on one step: the keys go, the same role is assumed through OIDC
    let site = &steps("site")[1];
    assert_eq!(
        site["with"]["role-to-assume"].as_str(),
        Some("arn:aws:iam::210987654321:role/site-deploy")
    );
    assert!(site["with"].get("aws-access-key-id").is_none());
    // keys in `env` read first by a role-assuming step: no step inserted before it
    assert_eq!(steps("images").len(), 3, "{text}");
    assert!(wf["jobs"]["images"].get("env").is_none());
    // a reader before the role-assuming step: the OIDC step goes first, the later role stays
    let report = steps("report");
    assert_eq!(report.len(), 4);
    assert_eq!(
        report[0]["with"]["role-to-assume"].as_str(),
        Some("arn:aws:iam::123456789012:role/github-actions-deploy")
    );
    assert_eq!(report[0]["with"]["aws-region"].as_str(), Some("us-east-2"));
    let manual = plan.to_string();
    for role in [
        "role/site-deploy` (job `site` step 2)",
        "role/ecr-push` (job `images` step 2)",
        "role/reporting` (job `report` step 2)",
    ] {
        assert!(manual.contains(role), "the plan does not name {role}");
    }
    assert!(manual.contains("role-chaining: true"));
}

#[test]
fn a_secret_shared_by_jobs_moves_in_one_migration() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(Path::new("tests/fixtures/rotate/shared-keys"), t.path());
    let plan = plan_json(t.path(), &[]);
    let r = &plan["repositories"][0];
    assert_eq!(r["migrations"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        r["migrations"][0]["jobs"],
        serde_json::json!(["api", "web"])
    );
    assert!(r["skipped"].as_array().unwrap().is_empty(), "{r}");
    // a script reading the key in one job keeps both jobs as they are
    let wf = t.path().join(".github/workflows/deploy.yml");
    let text = std::fs::read_to_string(&wf).unwrap().replace(
        "      - run: aws s3 sync site/ s3://example-web\n",
        "      - run: ./sync.sh \"${{ secrets.AWS_SECRET }}\"\n",
    );
    std::fs::write(&wf, &text).unwrap();
    stdout(&rotate(t.path(), &["--write"]));
    assert_eq!(std::fs::read_to_string(&wf).unwrap(), text);
}

/// The GitLab PyPI rewrite: the exchange line survives YAML quoting exactly, before the upload.
#[test]
fn gitlab_pypi_mints_the_token_right_before_the_upload() {
    let d = fixture("gitlab-registries");
    stdout(&rotate(d.path(), &["--write", "--target", "pypi"]));
    let v: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(d.path().join(".gitlab-ci.yml")).unwrap())
            .unwrap();
    let job = &v["pypi"];
    assert_eq!(
        job["id_tokens"]["PYPI_ID_TOKEN"]["aud"].as_str(),
        Some("pypi")
    );
    assert!(job["variables"].get("TWINE_PASSWORD").is_none());
    let script: Vec<&str> = job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(script[3], "twine upload dist/*");
    assert!(
        script[2].starts_with("export TWINE_PASSWORD=\"$(python3 -c 'import json, os, urllib.request; req = urllib.request.Request(\"https://pypi.org/_/oidc/mint-token\"")
            && script[2].ends_with("[\"token\"])')\""),
        "{}",
        script[2]
    );
    let report = keysweep::pipeline::analyze(d.path());
    assert!(
        !report.findings.iter().any(|f| f.secret == "PYPI_TOKEN"),
        "{:?}",
        report.findings
    );
}

/// Every flag a placeholder names exists.
#[test]
fn placeholder_flags_exist() {
    let all = tempfile::tempdir().unwrap();
    copy_dir(Path::new(PIPELINES), all.path());
    let o = keysweep()
        .args(["rotate", "--format", "json"])
        .arg(all.path())
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let help = stdout(&keysweep().args(["rotate", "--help"]).output().unwrap());
    let mut n = 0;
    for r in plan["repositories"].as_array().unwrap() {
        for p in r["placeholders"].as_array().unwrap() {
            let flag = p["flag"].as_str().unwrap();
            assert!(help.contains(&format!("{flag} ")), "no flag {flag}");
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} placeholders");
}

/// GitLab GCP, Azure and Vault: the key file, the client secret and the token give way to the
/// job's own OIDC token, in the order the commands need it, and the trust names the GitLab
/// project and ref.
#[test]
fn gitlab_gcp_azure_and_vault_move_to_id_tokens() {
    let d = fixture("gitlab-cloud-deploy");
    stdout(&rotate(
        d.path(),
        &[
            "--write",
            "--target",
            "gitlab-gcp,gitlab-azure,gitlab-vault",
        ],
    ));
    let read = |p: &str| std::fs::read_to_string(d.path().join(p)).unwrap();
    let ci: yaml_serde::Value = yaml_serde::from_str(&read(".gitlab-ci.yml")).unwrap();
    let az = &ci["azure-deploy"];
    assert_eq!(
        az["id_tokens"]["AZURE_ID_TOKEN"]["aud"].as_str(),
        Some("api://AzureADTokenExchange")
    );
    assert_eq!(
        az["script"][0].as_str(),
        Some("az login --service-principal --username \"$AZURE_CLIENT_ID\" --federated-token \"$AZURE_ID_TOKEN\" --tenant \"$AZURE_TENANT_ID\"")
    );
    let infra = &ci["infra"];
    assert_eq!(infra["variables"]["ARM_USE_OIDC"].as_str(), Some("true"));
    assert!(infra["variables"].get("ARM_CLIENT_SECRET").is_none());
    assert_eq!(
        infra["id_tokens"]["ARM_OIDC_TOKEN"]["aud"].as_str(),
        Some("api://AzureADTokenExchange")
    );
    let gcp: yaml_serde::Value = yaml_serde::from_str(&read("ci/gcp.yml")).unwrap();
    let tpl = &gcp[".gcloud"];
    let provider = "projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-actions";
    assert_eq!(
        tpl["id_tokens"]["GCP_ID_TOKEN"]["aud"].as_str(),
        Some(format!("https://iam.googleapis.com/{provider}").as_str())
    );
    let lines: Vec<&str> = tpl["before_script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "(umask 077 && echo \"$GCP_ID_TOKEN\" > \"/tmp/gcp-id-token-$CI_JOB_ID\")",
            &format!("gcloud iam workload-identity-pools create-cred-config {provider} --service-account=\"deployer@example-project.iam.gserviceaccount.com\" --credential-source-file=\"/tmp/gcp-id-token-$CI_JOB_ID\" --output-file=\"/tmp/gcp-credentials-$CI_JOB_ID.json\""),
            "gcloud auth login --cred-file=\"/tmp/gcp-credentials-$CI_JOB_ID.json\"",
            "gcloud config set project web-prod",
        ]
    );
    for (f, var) in [
        (".gitlab-ci.yml", "AZURE_CLIENT_SECRET"),
        ("ci/gcp.yml", "GCP_SA_KEY"),
    ] {
        assert!(
            !read(f).contains(&format!("${var}")),
            "{f} still reads {var}"
        );
    }
    // trust: the GitLab issuer, the project and the one branch the jobs run on
    let sub = "project_path:example-group/example-project:ref_type:branch:ref:main";
    let fc: serde_json::Value =
        serde_json::from_str(&read(".keysweep/azure-gitlab/federated-credential-1.json")).unwrap();
    assert_eq!(fc["issuer"], "https://gitlab.com");
    assert_eq!(fc["subject"], sub);
    assert_eq!(
        fc["audiences"],
        serde_json::json!(["api://AzureADTokenExchange"])
    );
    let tf = read(".keysweep/gcp-gitlab/main.tf");
    assert!(
        tf.contains(&format!(
            "attribute_condition = \"assertion.project_path == 'example-group/example-project' && (assertion.sub == '{sub}')\""
        )),
        "{tf}"
    );
    assert!(tf.contains("issuer_uri = \"https://gitlab.com\""), "{tf}");
}

/// Jobs without `rules:` run on any ref: no exact subject exists, so `--write` stops at the
/// placeholder; Azure never gets a pattern credential. The GitLab facts come from the remote.
#[test]
fn gitlab_jobs_on_any_ref_need_a_subject_pattern() {
    let d = fixture("gitlab-azure-gcp");
    let git = |args: &[&str]| {
        assert!(Command::new("git")
            .args(args)
            .current_dir(d.path())
            .output()
            .unwrap()
            .status
            .success());
    };
    git(&["init", "-q"]);
    git(&[
        "remote",
        "add",
        "origin",
        "git@gitlab.com:example-group/cloud.git",
    ]);
    let base = [
        "rotate",
        "--target",
        "gitlab-azure",
        "--azure-client-id",
        "11111111-2222-3333-4444-555555555555",
    ];
    let o = keysweep().args(base).arg(d.path()).output().unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("## Repository `.` (example-group/cloud)"),
        "{text}"
    );
    assert!(
        text.contains("no fixed subject; pass --subject-pattern"),
        "{text}"
    );
    let o = keysweep()
        .args(base)
        .arg(d.path())
        .arg("--write")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("<SUBJECT_PATTERN> via --subject-pattern"));
    let o = keysweep()
        .args(base)
        .arg(d.path())
        .args([
            "--subject-pattern",
            "project_path:example-group/cloud:ref_type:branch:ref:*",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let tf = item_with(
        &plan["repositories"][0]["trust"],
        "file",
        "azure-gitlab/main.tf",
    )
    .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        tf.contains(
            "# NOT CREATED: `project_path:example-group/cloud:ref_type:branch:ref:*` is a pattern"
        ),
        "{tf}"
    );
    assert!(
        !tf.contains("resource \"azuread_application_federated_identity_credential\""),
        "{tf}"
    );
}

/// The object in JSON array `arr` whose `key` is `want`.
fn item_with<'a>(
    arr: &'a serde_json::Value,
    key: &str,
    want: &str,
) -> Option<&'a serde_json::Value> {
    arr.as_array()?.iter().find(|x| x[key] == want)
}

/// The next fenced block that opens after byte `from` of `text`: its language and the byte
/// range of its content (a closing fence, having no language, is passed over).
fn next_fence(text: &str, from: usize) -> (&str, std::ops::Range<usize>) {
    let mut at = from;
    loop {
        let line_start = at + text[at..].find("\n```").expect("a fenced block") + 1;
        let line_end = line_start + text[line_start..].find('\n').expect("a fence line");
        let lang = &text[line_start + 3..line_end];
        if !lang.is_empty() {
            let start = line_end + 1;
            let end = start + text[start..].find("\n```").expect("a closing fence");
            return (lang, start..end);
        }
        at = line_end;
    }
}

/// Copy a fixture without its `# expect:` test markers (the README shows clean files).
fn clean_fixture(name: &str) -> tempfile::TempDir {
    let d = fixture(name);
    let marker = regex::Regex::new(r" +# expect:[^\n]*").unwrap();
    for p in files_under(d.path()).keys() {
        let p = d.path().join(p);
        if let Ok(s) = std::fs::read_to_string(&p) {
            std::fs::write(&p, marker.replace_all(&s, "").as_ref()).unwrap();
        }
    }
    d
}

/// Every worked example in the README is the plan its command prints for the fixture: the
/// command needs no placeholder, and the diff and trust file are byte for byte its output.
/// `KEYSWEEP_UPDATE_README=1` writes the current output into stale blocks instead of failing.
#[test]
fn readme_worked_examples_are_real_plans() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let update = std::env::var_os("KEYSWEEP_UPDATE_README").is_some();
    let mut stale: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut targets = Vec::new();
    for (at, _) in readme.match_indices("<!-- rotate-example: ") {
        let line = &readme[at..at + readme[at..].find(" -->").unwrap()];
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (fx, file, trust) = (parts[2], parts[3], parts[4]);
        let (lang, cmd_at) = next_fence(&readme, at);
        assert_eq!(lang, "sh", "{line}");
        let (lang, diff_at) = next_fence(&readme, cmd_at.end);
        assert_eq!(lang, "diff", "{line}");
        let (_, trust_at) = next_fence(&readme, diff_at.end);
        let (cmd, diff, trust_text) = (
            &readme[cmd_at],
            &readme[diff_at.clone()],
            &readme[trust_at.clone()],
        );
        let args: Vec<&str> = cmd
            .split_whitespace()
            .skip(1)
            .filter(|a| *a != "--write")
            .collect();
        assert_eq!(args[0], "rotate", "{line}");
        targets.push(args[2].to_string());
        let d = clean_fixture(fx);
        let o = keysweep()
            .args(&args)
            .arg(d.path())
            .args(["--format", "json"])
            .output()
            .unwrap();
        let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let r = &plan["repositories"][0];
        assert_eq!(r["placeholders"], serde_json::json!([]), "{line}: {cmd}");
        let f = item_with(&r["files"], "path", file)
            .unwrap_or_else(|| panic!("{line}: no change to {file}"));
        let t = item_with(&r["trust"], "file", trust)
            .unwrap_or_else(|| panic!("{line}: no trust file {trust}"));
        let (want_diff, want_trust) = (
            f["diff"].as_str().unwrap().trim_end(),
            t["content"].as_str().unwrap().trim_end(),
        );
        if update {
            for (range, have, want) in [
                (diff_at, diff, want_diff),
                (trust_at, trust_text, want_trust),
            ] {
                if have != want {
                    stale.push((range, want.to_string()));
                }
            }
            continue;
        }
        assert_eq!(
            want_diff, diff,
            "{line}: README diff is stale (KEYSWEEP_UPDATE_README=1 rewrites it)"
        );
        assert_eq!(
            want_trust, trust_text,
            "{line}: README trust configuration is stale (KEYSWEEP_UPDATE_README=1 rewrites it)"
        );
    }
    if !stale.is_empty() {
        let mut text = readme.clone();
        for (range, want) in stale.into_iter().rev() {
            text.replace_range(range, &want);
        }
        std::fs::write("README.md", text).unwrap();
    }
    for t in keysweep::rotate::registry::ids() {
        assert!(
            targets.iter().any(|x| x == t),
            "README: no worked example for {t}"
        );
    }
}

/// The trust configuration rotate writes passes keysweep's own trust lint: no hole in any
/// target's output (given the numeric ids the lint asks for).
#[test]
fn written_trust_passes_trust_lint() {
    let (out, _) = trust_with(&["--repository-id", "987654321", "--owner-id", "123456789"]);
    let o = keysweep()
        .args(["trust", "lint", "--format", "json"])
        .arg(out.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    assert!(
        report["stats"]["documents"].as_u64().unwrap() >= 6,
        "{report}"
    );
    assert_eq!(o.status.code(), Some(0));
}
