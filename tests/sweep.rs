//! `keysweep sweep` on local bare repositories: mirrors, incremental scans (object counts),
//! force-push and new tags, the finding lifecycle, failure isolation, shard/merge equivalence.
#![cfg(feature = "sweep")]

use crate::common::{github_pat, keysweep};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub(crate) fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// A bare repository `name.git` under `root` with a work tree `name` pushing to it.
pub(crate) fn repo(root: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let bare = root.join(format!("{name}.git"));
    let work = root.join(name);
    git(
        root,
        &["init", "-q", "--bare", bare.to_str().expect("utf-8")],
    );
    git(root, &["init", "-q", work.to_str().expect("utf-8")]);
    commit(&work, "config.txt", content);
    bare
}

pub(crate) fn commit(work: &Path, file: &str, content: &str) {
    if let Some(parent) = work.join(file).parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(work.join(file), content).expect("write");
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", "change"]);
    let bare = work.with_extension("git");
    git(
        work,
        &[
            "push",
            "-q",
            "-f",
            bare.to_str().expect("utf-8"),
            "HEAD:refs/heads/main",
        ],
    );
}

fn sweep(root: &Path, list: &[&Path], extra: &[&str]) -> (i32, Value) {
    let text: String = list.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(root.join("repos.txt"), text).expect("write list");
    let out = keysweep()
        .args(["sweep", "--quiet", "--repos"])
        .arg(root.join("repos.txt"))
        .arg("--cache")
        .arg(root.join("cache"))
        .arg("--json")
        .arg(root.join("report.json"))
        .args(extra)
        .output()
        .expect("keysweep runs");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(root.join("report.json")).expect("report");
    (code, serde_json::from_str(&report).expect("json"))
}

pub(crate) fn repo_row<'a>(report: &'a Value, path: &Path) -> &'a Value {
    report["repos"]
        .as_array()
        .expect("repos")
        .iter()
        .find(|r| r["name"] == path.display().to_string())
        .expect("repo listed")
}

fn statuses(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn second_sweep_scans_only_new_objects_and_lifecycle_moves() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let secret = github_pat(11);
    let a = repo(root, "a", &format!("token = \"{secret}\"\n"));
    let b = repo(root, "b", "nothing here\n");
    let (code, first) = sweep(root, &[&a, &b], &[]);
    assert_eq!(code, 1);
    // one blob, one tree, one commit each
    assert_eq!(repo_row(&first, &a)["scanned_last"], 3);
    assert_eq!(statuses(&first), ["new"]);
    let mode = std::fs::metadata(root.join("cache"))
        .expect("cache")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );

    let (code, second) = sweep(root, &[&a, &b], &[]);
    assert_eq!(code, 1);
    assert_eq!(repo_row(&second, &a)["scanned_last"], 0);
    assert_eq!(repo_row(&second, &b)["scanned_last"], 0);
    assert_eq!(statuses(&second), ["open"]);

    // the secret leaves every tip: fixed, and nothing is open any more
    commit(
        &root.join("a"),
        "config.txt",
        "token = \"${{ secrets.TOKEN }}\"\n",
    );
    let (code, third) = sweep(root, &[&a, &b], &[]);
    assert_eq!(repo_row(&third, &a)["scanned_last"], 3);
    assert_eq!(statuses(&third), ["fixed"]);
    assert_eq!(code, 0);
    // the mirror never holds the source path
    let mirrors = std::fs::read_dir(root.join("cache/mirrors")).expect("mirrors");
    for m in mirrors.flatten() {
        let config = std::fs::read_to_string(m.path().join("config")).expect("config");
        assert!(!config.contains(&root.display().to_string()), "{config}");
    }
}

#[test]
fn force_push_and_new_tag_never_hide_an_object() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let a = repo(root, "a", "clean\n");
    let (code, _) = sweep(root, &[&a], &[]);
    assert_eq!(code, 0);
    let work = root.join("a");
    // rewritten history: the commit is replaced by one carrying a secret, force-pushed
    std::fs::write(
        work.join("config.txt"),
        format!("t = \"{}\"\n", github_pat(3)),
    )
    .expect("write");
    git(&work, &["commit", "-q", "-a", "--amend", "-m", "rewritten"]);
    git(
        &work,
        &[
            "push",
            "-q",
            "-f",
            a.to_str().expect("utf-8"),
            "HEAD:refs/heads/main",
        ],
    );
    let (code, r) = sweep(root, &[&a], &[]);
    assert_eq!(code, 1);
    assert_eq!(r["findings"].as_array().expect("findings").len(), 1);
    // a tag on an orphan commit with another secret
    git(&work, &["checkout", "-q", "--orphan", "other"]);
    std::fs::write(
        work.join("config.txt"),
        format!("t = \"{}\"\n", github_pat(4)),
    )
    .expect("write");
    git(&work, &["commit", "-q", "-a", "-m", "tagged"]);
    git(&work, &["tag", "v1"]);
    git(
        &work,
        &["push", "-q", a.to_str().expect("utf-8"), "refs/tags/v1"],
    );
    let (_, r) = sweep(root, &[&a], &[]);
    assert_eq!(r["findings"].as_array().expect("findings").len(), 2);
    assert_eq!(repo_row(&r, &a)["scanned_last"], 3);
}

#[test]
fn a_missing_and_a_corrupt_repository_do_not_stop_the_sweep() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let good = repo(root, "good", &format!("t = \"{}\"\n", github_pat(5)));
    let corrupt = repo(root, "corrupt", "x\n");
    // truncate every object of the corrupt one
    for e in walk(&corrupt.join("objects")) {
        let _ = std::fs::remove_file(&e);
        std::fs::write(&e, b"garbage").expect("corrupt");
    }
    let missing = root.join("missing.git");
    let (code, r) = sweep(root, &[&corrupt, &missing, &good], &[]);
    assert_eq!(code, 1);
    assert_eq!(repo_row(&r, &good)["status"], "ok");
    assert_eq!(repo_row(&r, &missing)["status"], "not-found");
    assert_eq!(repo_row(&r, &corrupt)["status"], "failed");
    assert_eq!(r["failed"], 2);
}

pub(crate) fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn three_shards_merged_equal_one_sweep() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let repos: Vec<_> = (0..6)
        .map(|i| {
            repo(
                root,
                &format!("r{i}"),
                &format!("t = \"{}\"\n", github_pat(20 + i)),
            )
        })
        .collect();
    let list: Vec<&Path> = repos.iter().map(|p| p.as_path()).collect();
    let (_, whole) = sweep(
        root,
        &list,
        &["--state", root.join("whole.db").to_str().expect("utf-8")],
    );
    let mut states = Vec::new();
    for i in 0..3 {
        let db = root.join(format!("shard{i}.db"));
        sweep(
            root,
            &list,
            &[
                "--shard",
                &format!("{i}/3"),
                "--state",
                db.to_str().expect("utf-8"),
            ],
        );
        states.push(db);
    }
    let merged = root.join("merged.json");
    let out = keysweep()
        .args(["sweep", "--quiet", "merge"])
        .args(&states)
        .arg("--state")
        .arg(root.join("merged.db"))
        .arg("--json")
        .arg(&merged)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("merged")).expect("json");
    let key = |r: &Value| -> Vec<(String, String, String)> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["repo"].to_string(),
                    f["fingerprint"].to_string(),
                    f["status"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(key(&merged), key(&whole));
    assert_eq!(merged["repositories"], whole["repositories"]);
    assert_eq!(merged["open_findings"], 6);
}

/// On a terminal (a pty from util-linux `script`): the progress bar with repositories
/// done/total, objects and MB/s, then the summary line; `--quiet` prints nothing at all.
#[test]
fn progress_bar_on_a_terminal_summary_line_and_quiet() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let a = repo(root, "a", &format!("t = \"{}\"\n", github_pat(91)));
    let b = repo(root, "b", "clean\n");
    let list = format!(
        "{}\n{}\n{}\n",
        a.display(),
        b.display(),
        root.join("gone.git").display()
    );
    std::fs::write(root.join("repos.txt"), list).expect("list");
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let run = |extra: &str| {
        let cmd = format!(
            "{} sweep --repos {} --cache {} --json {} {extra}",
            bin.display(),
            root.join("repos.txt").display(),
            root.join("cache").display(),
            root.join("r.json").display()
        );
        let out = Command::new("script")
            .args(["-qfec", &cmd, "/dev/null"])
            .output()
            .expect("script runs");
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let shown = run("");
    assert!(shown.contains("/3 repositories"), "{shown}");
    assert!(shown.contains("MB/s"), "{shown}");
    assert!(shown.contains("1 failed"), "{shown}");
    assert!(
        shown.contains("sweep 1: 3 repositories (0 already done), 1 failed, 6 objects scanned"),
        "{shown}"
    );
    let quiet = run("--quiet");
    assert_eq!(quiet.trim(), "", "--quiet printed: {quiet}");
    // off a terminal: the summary line only, no bar
    let out = keysweep()
        .args(["sweep", "--repos"])
        .arg(root.join("repos.txt"))
        .arg("--cache")
        .arg(root.join("cache"))
        .arg("--json")
        .arg(root.join("r.json"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("MB/s") && stderr.contains("sweep 3: 3 repositories"),
        "{stderr}"
    );
}

#[test]
fn sarif_per_repository_validates_and_carries_no_secret() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let secret = github_pat(71);
    let a = repo(root, "a", &format!("token = \"{secret}\"\n"));
    let b = repo(root, "b", "nothing here\n");
    let dir = root.join("sarif");
    let dir_arg = dir.to_str().expect("utf-8");
    let (code, report) = sweep(root, &[&a, &b], &["--sarif", dir_arg]);
    assert_eq!(code, 1);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("sarif dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let validator = crate::common::sarif_validator();
    let fp = report["findings"][0]["fingerprint"].clone();
    let mut results = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("sarif");
        assert!(!text.contains(&secret), "the secret in {}", f.display());
        let doc: Value = serde_json::from_str(&text).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        assert_eq!(doc["runs"][0]["tool"]["driver"]["name"], "keysweep");
        results.push(
            doc["runs"][0]["results"]
                .as_array()
                .expect("results")
                .clone(),
        );
    }
    // a.git sorts first: its one finding, fingerprinted as the scan does; b's log is empty
    assert!(
        files[0].to_string_lossy().ends_with("a.git.sarif"),
        "{files:?}"
    );
    assert_eq!(results[0].len(), 1);
    assert_eq!(
        results[0][0]["partialFingerprints"]["keysweepSecret/v1"],
        fp
    );
    assert_eq!(results[0][0]["ruleId"], report["findings"][0]["rule_id"]);
    assert_eq!(results[0][0]["properties"]["status"], "new");
    assert_eq!(
        results[0][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "config.txt"
    );
    assert!(results[1].is_empty());
}
