//! Git modes (history, range, staged) on repositories the tests build with the `git` CLI.
//! Every token is synthetic: `kstest_` + 30 random characters + a CRC32 tail, generated here,
//! matched by the test-only rule in tests/fixtures/git-rules/.

use crate::common::repo::Repo;
use crate::common::{checksummed_token, keysweep};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULE: &str = "kstest-token";

fn token(seed: u64) -> String {
    checksummed_token("kstest", seed)
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/git-rules")
}

struct Scan {
    code: i32,
    json: Value,
    stderr: String,
}

impl Scan {
    fn findings(&self) -> &Vec<Value> {
        self.json["findings"].as_array().expect("findings")
    }

    /// The findings of the test rule (built-in rules may see other things).
    fn ours(&self) -> Vec<&Value> {
        self.findings()
            .iter()
            .filter(|f| f["rule_id"] == RULE)
            .collect()
    }

    fn finding(&self, secret: &str) -> &Value {
        self.findings()
            .iter()
            .find(|f| f["secret"] == secret)
            .unwrap_or_else(|| panic!("no finding for {secret}: {:#}", self.json))
    }

    fn has(&self, secret: &str) -> bool {
        self.findings().iter().any(|f| f["secret"] == secret)
    }

    fn skipped(&self, reason: &str) -> u64 {
        self.json["stats"]["skipped_counts"][reason]
            .as_u64()
            .unwrap_or(0)
    }
}

fn scan(dir: &Path, args: &[&str]) -> Scan {
    let out = keysweep()
        .arg("scan")
        .args(args)
        .arg(dir)
        .args(["--format", "json", "--show-secrets", "--rules"])
        .arg(rules_dir())
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {code}; stdout: {}; stderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Scan { code, json, stderr }
}

fn history(dir: &Path) -> Scan {
    scan(dir, &["--git", "--quiet"])
}

fn locations(f: &Value) -> &Vec<Value> {
    f["locations"].as_array().unwrap()
}

fn paths(f: &Value) -> Vec<String> {
    locations(f)
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- history mode

#[test]
fn secret_added_then_deleted_is_found_with_provenance() {
    let r = Repo::new();
    let t = token(1);
    r.commit("initial", &[("README.md", "hello\n")]);
    let added = r.commit(
        "add config\n\nlong body",
        &[("conf/app.env", &format!("A=1\nTOKEN={t}\n"))],
    );
    r.git(["rm", "-q", "conf/app.env"]);
    r.commit("remove config", &[]);
    let s = history(&r.path);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert_eq!(s.ours().len(), 1);
    let f = s.finding(&t);
    let locs = locations(f);
    assert_eq!(locs.len(), 1);
    let l = &locs[0];
    assert_eq!(l["path"], "conf/app.env");
    assert_eq!(l["line"], 2);
    assert_eq!(l["column"], 7);
    let p = &l["provenance"];
    assert_eq!(p["commit"], added);
    assert_eq!(p["author_name"], "Test Author");
    assert_eq!(p["author_email"], "author@example.test");
    assert_eq!(p["summary"], "add config");
    assert!(
        p["date"].as_str().unwrap().starts_with("2023-11-14T"),
        "{p}"
    );
    assert_eq!(p["present_at_head"], false);
    assert!(p.get("unreachable").is_none());
    assert_eq!(l["blob"].as_str().unwrap().len(), 40);
    assert_eq!(s.json["stats"]["git"]["mode"], "history");
    assert_eq!(s.json["stats"]["git"]["shallow"], false);

    // The human report says where it came from and that it is gone.
    let out = keysweep()
        .args(["scan", "--git", "--quiet", "--color", "never", "--rules"])
        .arg(rules_dir())
        .arg(&r.path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("introduced in {}", &added[..12])),
        "{text}"
    );
    assert!(text.contains("Test Author"), "{text}");
    assert!(text.contains("removed"), "{text}");
    assert!(!text.contains(&t), "redacted by default: {text}");
}

#[test]
fn secret_still_in_head_is_marked_present() {
    let r = Repo::new();
    let t = token(2);
    r.commit("add", &[("a.txt", &format!("x {t}\n"))]);
    r.commit("edit elsewhere", &[("a.txt", &format!("x {t}\nmore\n"))]);
    let s = history(&r.path);
    let f = s.finding(&t);
    // Same secret, same path, two blobs: one location, the first introduction.
    assert_eq!(locations(f).len(), 1, "{f:#}");
    let p = &locations(f)[0]["provenance"];
    assert_eq!(p["summary"], "add");
    assert_eq!(p["present_at_head"], true);
}

#[test]
fn renamed_file_reports_every_path_once() {
    let r = Repo::new();
    let t = token(3);
    let c1 = r.commit("add", &[("old/name.txt", &format!("k {t}\n"))]);
    r.git(["mv", "old/name.txt", "new name.txt"]);
    let c2 = r.commit("rename", &[]);
    let s = history(&r.path);
    assert_eq!(s.ours().len(), 1);
    let f = s.finding(&t);
    let mut by_path: Vec<(String, String)> = locations(f)
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["provenance"]["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_path.sort();
    assert_eq!(
        by_path,
        vec![
            ("new name.txt".to_string(), c2),
            ("old/name.txt".to_string(), c1)
        ]
    );
    assert!(locations(f)
        .iter()
        .all(|l| l["provenance"]["present_at_head"] == true));
}

#[test]
fn same_secret_in_many_commits_is_one_finding() {
    // 300 commits via fast-import, each changing another line of the file holding the token.
    let r = Repo::new();
    let t = token(4);
    let mut stream = String::new();
    for i in 0..300 {
        let content = format!("token {t}\ncounter {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter T <t@e> {} +0000\ndata 2\nc\nM 100644 inline cfg.txt\ndata {}\n{}\n",
            1_600_000_000 + i,
            content.len(),
            content
        ));
    }
    fast_import(&r, &stream);
    let s = history(&r.path);
    assert_eq!(s.ours().len(), 1);
    let f = s.finding(&t);
    assert_eq!(locations(f).len(), 1);
    assert_eq!(s.json["stats"]["files_scanned"], 300);
}

fn fast_import(r: &Repo, stream: &str) {
    use std::io::Write;
    let mut child = Command::new("git")
        .current_dir(&r.path)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn merges_attribute_the_side_commit_and_list_refs() {
    let r = Repo::new();
    let t = token(5);
    r.commit("base", &[("base.txt", "b\n")]);
    r.git(["checkout", "-q", "-b", "feature"]);
    let side = r.commit("feature work", &[("feat.txt", &format!("t={t}\n"))]);
    r.git(["checkout", "-q", "main"]);
    r.commit("main work", &[("main.txt", "m\n")]);
    r.git(["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let s = history(&r.path);
    let f = s.finding(&t);
    assert_eq!(locations(f).len(), 1);
    let p = &locations(f)[0]["provenance"];
    assert_eq!(p["commit"], side, "the merge does not introduce it");
    let refs: Vec<&str> = p["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(refs, vec!["HEAD", "refs/heads/feature", "refs/heads/main"]);
    assert_eq!(p["present_at_head"], true);
}

#[test]
fn tags_and_unmerged_branches_are_scanned() {
    let r = Repo::new();
    let (on_tag, on_branch) = (token(6), token(7));
    r.commit("base", &[("a.txt", "a\n")]);
    r.commit("tagged", &[("t.txt", &format!("{on_tag}\n"))]);
    r.git(["tag", "-a", "-m", "release", "v1.0"]);
    r.git(["reset", "-q", "--hard", "HEAD~1"]);
    r.git(["checkout", "-q", "-b", "wip"]);
    r.commit("wip", &[("w.txt", &format!("{on_branch}\n"))]);
    r.git(["checkout", "-q", "main"]);
    let s = history(&r.path);
    let tag_refs = &locations(s.finding(&on_tag))[0]["provenance"]["refs"];
    assert_eq!(tag_refs, &serde_json::json!(["refs/tags/v1.0"]));
    let p = &locations(s.finding(&on_branch))[0]["provenance"];
    assert_eq!(p["refs"], serde_json::json!(["refs/heads/wip"]));
    assert_eq!(p["present_at_head"], false);
}

#[test]
fn unreachable_objects_are_scanned_and_marked() {
    let r = Repo::new();
    let t = token(8);
    r.commit("base", &[("a.txt", "a\n")]);
    r.commit("oops", &[("secret.txt", &format!("{t}\n"))]);
    r.git(["reset", "-q", "--hard", "HEAD~1"]);
    r.git(["reflog", "expire", "--expire=now", "--all"]);
    let s = history(&r.path);
    assert_eq!(s.code, 1);
    let l = &locations(s.finding(&t))[0];
    assert_eq!(l["provenance"]["unreachable"], true);
    assert!(l["path"].as_str().unwrap().contains("unreachable"), "{l}");
}

#[test]
fn packed_and_loose_objects_duplicated_packs_each_once() {
    let r = Repo::new();
    let (packed, loose) = (token(9), token(10));
    r.commit("one", &[("p.txt", &format!("{packed}\n"))]);
    r.git(["gc", "-q"]);
    // A second pack holding the same objects again: ids repeat across packs.
    r.commit("two", &[("q.txt", "q\n")]);
    r.git(["repack", "-q", "-a"]);
    r.commit("three", &[("l.txt", &format!("{loose}\n"))]);
    let packs = std::fs::read_dir(r.path.join(".git/objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pack")
        })
        .count();
    assert!(packs >= 2, "want duplicated packs, have {packs}");
    let s = history(&r.path);
    assert_eq!(locations(s.finding(&packed)).len(), 1);
    assert_eq!(locations(s.finding(&loose)).len(), 1);
    let blobs = r
        .git(["cat-file", "--batch-all-objects", "--batch-check"])
        .lines()
        .filter(|l| l.contains(" blob "))
        .count();
    assert_eq!(s.json["stats"]["git"]["blobs"], blobs as u64);
    assert_eq!(s.json["stats"]["files_scanned"], blobs as u64);
}

#[test]
fn bare_repositories_and_alternates() {
    let r = Repo::new();
    let t = token(11);
    r.commit("add", &[("a.txt", &format!("{t}\n"))]);
    let bare = r.path.parent().unwrap().join("bare.git");
    r.git([
        OsStr::new("clone"),
        OsStr::new("-q"),
        OsStr::new("--bare"),
        r.path.as_os_str(),
        bare.as_os_str(),
    ]);
    let s = history(&bare);
    assert!(s.has(&t), "bare: {:#}", s.json);

    // --shared: the clone borrows every object through objects/info/alternates.
    let shared = r.path.parent().unwrap().join("shared");
    r.git([
        OsStr::new("clone"),
        OsStr::new("-q"),
        OsStr::new("--shared"),
        r.path.as_os_str(),
        shared.as_os_str(),
    ]);
    assert!(shared.join(".git/objects/info/alternates").is_file());
    let s = history(&shared);
    assert!(s.has(&t), "alternates: {:#}", s.json);
    assert!(locations(s.finding(&t))[0]["provenance"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "refs/remotes/origin/main"));
}

#[test]
fn gitlinks_lfs_pointers_and_large_blobs_are_counted_skips() {
    let r = Repo::new();
    let t = token(12);
    let big = format!("{}\n{t}\n", "x".repeat(4096));
    r.commit(
        "stuff",
        &[
            ("big.txt", &big),
            (
                "model.bin",
                "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
            ),
        ],
    );
    let sub = r.git(["rev-parse", "HEAD"]);
    r.git([
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{sub},vendor/lib"),
    ]);
    r.git(["commit", "-q", "-m", "submodule"]);
    let s = scan(&r.path, &["--git", "--quiet", "--max-file-size", "1KiB"]);
    assert_eq!(s.code, 0, "{:#}", s.json);
    assert_eq!(s.skipped("too-large"), 1);
    assert_eq!(s.skipped("lfs-pointer"), 1);
    assert_eq!(s.skipped("submodule"), 1);
    let s = history(&r.path);
    assert!(s.has(&t), "found without the size limit");
}

#[test]
fn corrupt_object_is_reported_and_the_scan_goes_on() {
    let r = Repo::new();
    let t = token(13);
    r.commit("good", &[("good.txt", &format!("{t}\n"))]);
    r.commit("bad", &[("bad.txt", "will be corrupted\n")]);
    let id = r.git(["rev-parse", "HEAD:bad.txt"]);
    let file = r.path.join(".git/objects").join(&id[..2]).join(&id[2..]);
    let mut perm = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&file, perm).unwrap();
    std::fs::write(&file, b"this is not zlib data at all").unwrap();
    let s = scan(&r.path, &["--git"]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert!(s.has(&t));
    assert!(s.skipped("corrupt-object") >= 1, "{:#}", s.json["stats"]);
    assert!(s.stderr.contains("could not be read"), "{}", s.stderr);
}

#[test]
fn shallow_clone_history_scan_says_so_and_range_fails_with_fetch_hint() {
    let r = Repo::new();
    let old = token(14);
    r.commit("old", &[("a.txt", &format!("{old}\n"))]);
    r.git(["rm", "-q", "a.txt"]);
    let base = r.commit("second", &[("b.txt", "b\n")]);
    r.commit("third", &[("c.txt", "c\n")]);
    let shallow = r.path.parent().unwrap().join("shallow");
    let url = format!("file://{}", r.path.display());
    r.git([
        OsStr::new("clone"),
        OsStr::new("-q"),
        OsStr::new("--depth"),
        OsStr::new("1"),
        OsStr::new(&url),
        shallow.as_os_str(),
    ]);
    let s = scan(&shallow, &["--git"]);
    assert_eq!(s.json["stats"]["git"]["shallow"], true);
    assert!(s.stderr.contains("shallow"), "{}", s.stderr);
    assert!(!s.has(&old), "not in the clone");

    let out = keysweep()
        .args(["scan", "--range", &format!("{base}..HEAD"), "--rules"])
        .arg(rules_dir())
        .arg(&shallow)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fetch-depth: 0"), "{err}");
    assert!(err.contains(&format!("git fetch origin {base}")), "{err}");
    assert!(err.contains("shallow"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn empty_repository_is_clean() {
    let r = Repo::new();
    let s = history(&r.path);
    assert_eq!(s.code, 0);
    assert!(s.findings().is_empty());
    let s = scan(&r.path, &["--staged", "--quiet"]);
    assert_eq!(s.code, 0);
}

#[test]
fn detached_head() {
    let r = Repo::new();
    let t = token(15);
    r.commit("one", &[("a.txt", "a\n")]);
    r.commit("two", &[("s.txt", &format!("{t}\n"))]);
    r.git(["checkout", "-q", "--detach", "HEAD~1"]);
    let s = history(&r.path);
    let p = &locations(s.finding(&t))[0]["provenance"];
    assert_eq!(p["present_at_head"], false);
    assert_eq!(p["refs"], serde_json::json!(["refs/heads/main"]));
}

#[test]
fn paths_with_spaces_and_non_utf8_names() {
    let r = Repo::named("my repo with spaces");
    let t = token(16);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = OsStr::from_bytes(b"caf\xe9 notes.txt");
        std::fs::write(r.path.join(name), format!("{t}\n")).unwrap();
    }
    r.commit("latin-1 name", &[]);
    let s = history(&r.path);
    assert_eq!(s.code, 1);
    let p = paths(s.finding(&t));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("caf") && p[0].ends_with(" notes.txt"),
        "{p:?}"
    );
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = keysweep()
        .args(["scan", "--git"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a git repository"), "{err}");
}

#[test]
fn baselines_and_inline_allows_work_in_git_modes() {
    let r = Repo::new();
    let (t, allowed) = (token(17), token(18));
    r.commit(
        "add",
        &[("a.txt", &format!("{t}\n{allowed} # keysweep:allow\n"))],
    );
    let s = history(&r.path);
    assert_eq!(s.ours().len(), 1);
    assert_eq!(s.json["stats"]["suppressed"]["inline"], 1);
    let baseline = r.path.parent().unwrap().join("baseline.json");
    keysweep()
        .args(["baseline", "--git", "--quiet", "--rules"])
        .arg(rules_dir())
        .arg("--baseline-file")
        .arg(&baseline)
        .arg(&r.path)
        .assert()
        .success();
    let s = scan(
        &r.path,
        &["--git", "--quiet", "--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(s.code, 0, "{:#}", s.json);
    assert_eq!(s.json["stats"]["suppressed"]["baseline"], 1);
}

#[test]
fn excluded_paths_apply_in_git_modes() {
    let r = Repo::new();
    let (vendored, both) = (token(42), token(43));
    r.commit(
        "add",
        &[
            ("vendor/lib.txt", &format!("{vendored}\n{both}\n")),
            ("src/app.txt", &format!("{both}\n")),
        ],
    );
    let s = scan(&r.path, &["--git", "--quiet", "--exclude", "vendor/**"]);
    assert!(!s.has(&vendored), "{:#}", s.json);
    assert_eq!(paths(s.finding(&both)), ["src/app.txt"]);
    assert_eq!(s.json["stats"]["suppressed"]["allowlist"], 1);
    // The staged index too: what a pre-commit hook sees.
    r.write("vendor/new.txt", format!("{}\n", token(44)));
    r.git(["add", "-A"]);
    let s = scan(&r.path, &["--staged", "--quiet", "--exclude", "vendor/**"]);
    assert_eq!(s.code, 0, "{:#}", s.json);
}

// ---------------------------------------------------------------- range mode

#[test]
fn range_reports_only_what_the_commits_introduced() {
    let r = Repo::new();
    let (old, added, transient) = (token(19), token(20), token(21));
    r.commit("base", &[("cfg.txt", &format!("first\n{old}\n"))]);
    let base = r.git(["rev-parse", "HEAD"]);
    r.git(["checkout", "-q", "-b", "pr"]);
    let c1 = r.commit(
        "add token",
        &[("cfg.txt", &format!("new line\nfirst\n{old}\n{added}\n"))],
    );
    r.commit("oops", &[("tmp.txt", &format!("{transient}\n"))]);
    r.git(["rm", "-q", "tmp.txt"]);
    r.commit("remove oops", &[]);
    let s = scan(&r.path, &["--range", &format!("{base}..pr"), "--quiet"]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert!(!s.has(&old), "already in BASE: {:#}", s.json);
    let l = &locations(s.finding(&added))[0];
    assert_eq!(l["path"], "cfg.txt");
    assert_eq!(l["line"], 4, "line in the new file");
    assert_eq!(l["provenance"]["commit"], c1);
    let l = &locations(s.finding(&transient))[0];
    assert_eq!(l["provenance"]["present_at_head"], false);
    assert_eq!(s.json["stats"]["git"]["commits"], 3);

    // --since is REV..HEAD; with --git too.
    r.git(["checkout", "-q", "pr"]);
    let s = scan(&r.path, &["--git", "--since", &base, "--quiet"]);
    assert!(s.has(&added) && !s.has(&old));
    // An empty range is clean.
    let s = scan(&r.path, &["--range", "HEAD..HEAD", "--quiet"]);
    assert_eq!(s.code, 0);
}

#[test]
fn range_excludes_what_a_merge_brought_from_base() {
    let r = Repo::new();
    let (upstream, mine) = (token(22), token(23));
    r.commit("base", &[("a.txt", "a\n")]);
    r.git(["checkout", "-q", "-b", "pr"]);
    r.commit("mine", &[("mine.txt", &format!("{mine}\n"))]);
    r.git(["checkout", "-q", "main"]);
    r.commit("upstream", &[("up.txt", &format!("{upstream}\n"))]);
    r.git(["checkout", "-q", "pr"]);
    r.git(["merge", "-q", "--no-ff", "-m", "merge main", "main"]);
    let s = scan(&r.path, &["--range", "main..pr", "--quiet"]);
    assert!(s.has(&mine));
    assert!(!s.has(&upstream), "{:#}", s.json);
}

#[test]
fn range_walk_with_equal_commit_dates_stops_at_the_base() {
    // Scripted histories often share one timestamp. A PR forked from an old commit of main,
    // with main far ahead: the hidden walk from main must reach the fork point before the
    // pre-fork history (which holds an old secret) can count as part of the PR.
    let r = Repo::new();
    let (old, mine) = (token(40), token(41));
    let mut stream = String::new();
    let commit = |stream: &mut String,
                  branch: &str,
                  from: Option<&str>,
                  mark: usize,
                  file: &str,
                  body: &str| {
        stream.push_str(&format!(
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter T <t@e> 1700000000 +0000\ndata 2\nc\n"
        ));
        if let Some(f) = from {
            stream.push_str(&format!("from {f}\n"));
        }
        stream.push_str(&format!(
            "M 100644 inline {file}\ndata {}\n{body}\n",
            body.len()
        ));
    };
    commit(&mut stream, "main", None, 1, "old.txt", &format!("{old}\n"));
    // Deleted again before the fork: only a walk that strays below the fork point sees it.
    stream.push_str("commit refs/heads/main\nmark :2\ncommitter T <t@e> 1700000000 +0000\ndata 2\nc\nD old.txt\n");
    for i in 3..=60 {
        commit(
            &mut stream,
            "main",
            None,
            i,
            "log.txt",
            &format!("pre-fork {i}\n"),
        );
    }
    commit(
        &mut stream,
        "pr",
        Some(":60"),
        61,
        "mine.txt",
        &format!("{mine}\n"),
    );
    for i in 62..=200 {
        commit(
            &mut stream,
            "main",
            Some(&format!(":{}", i - 1).replace(":61", ":60")),
            i,
            "log.txt",
            &format!("post-fork {i}\n"),
        );
    }
    fast_import(&r, &stream);
    let s = scan(&r.path, &["--range", "main..pr", "--quiet"]);
    assert!(s.has(&mine), "{}", s.stderr);
    assert!(
        !s.has(&old),
        "pre-fork history reported as part of the PR: {:#}",
        s.json
    );
    assert_eq!(s.json["stats"]["git"]["commits"], 1);
}

#[test]
fn range_with_unknown_base_fails_with_fetch_hint() {
    let r = Repo::new();
    r.commit("one", &[("a.txt", "a\n")]);
    let out = keysweep()
        .args(["scan", "--range", "origin/main..HEAD"])
        .arg(&r.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("git fetch origin main:refs/remotes/origin/main"),
        "{err}"
    );
    assert!(err.contains("fetch-depth: 0"), "{err}");
}

// ---------------------------------------------------------------- staged mode

#[test]
fn staged_reads_the_index_not_the_work_tree() {
    let r = Repo::new();
    let (staged, unstaged, old) = (token(24), token(25), token(26));
    r.commit("base", &[("keep.txt", &format!("{old}\n"))]);
    r.write("keep.txt", format!("{old}\nplus a line\n"));
    r.write("new.txt", format!("{staged}\n"));
    r.git(["add", "keep.txt", "new.txt"]);
    // Edited away in the work tree after staging: the commit would still record it.
    r.write("new.txt", "clean now\n");
    r.write("other.txt", format!("{unstaged}\n"));
    let s = scan(&r.path, &["--staged", "--quiet"]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert!(s.has(&staged));
    assert!(!s.has(&unstaged), "not staged");
    assert!(!s.has(&old), "line already in HEAD");
    let l = &locations(s.finding(&staged))[0];
    assert_eq!(l["path"], "new.txt");
    assert!(l.get("provenance").is_none());
    assert_eq!(s.json["stats"]["files_scanned"], 2);
}

#[test]
fn staged_in_a_repository_without_commits() {
    let r = Repo::new();
    let t = token(27);
    r.write("first.txt", format!("{t}\n"));
    r.git(["add", "first.txt"]);
    let s = scan(&r.path, &["--staged", "--quiet"]);
    assert_eq!(s.code, 1);
    assert!(s.has(&t));
}

#[test]
fn staged_on_a_bare_repository_is_an_error() {
    let r = Repo::new();
    r.commit("one", &[("a.txt", "a\n")]);
    let bare = r.path.parent().unwrap().join("b.git");
    r.git([
        OsStr::new("clone"),
        OsStr::new("-q"),
        OsStr::new("--bare"),
        r.path.as_os_str(),
        bare.as_os_str(),
    ]);
    let out = keysweep()
        .args(["scan", "--staged"])
        .arg(&bare)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn staged_is_fast_on_ten_thousand_files() {
    // 10,000 committed files (fast-import), then a few staged changes.
    let r = Repo::new();
    let mut stream =
        String::from("commit refs/heads/main\ncommitter T <t@e> 1600000000 +0000\ndata 5\nmany\n");
    for i in 0..10_000 {
        let content = format!("file {i}\n");
        stream.push_str(&format!(
            "M 100644 inline d{}/s{}/f{i}.txt\ndata {}\n{content}\n",
            i % 20,
            i % 7,
            content.len()
        ));
    }
    fast_import(&r, &stream);
    r.git(["reset", "-q", "--hard", "main"]);
    let t = token(28);
    r.write("d3/s1/f3.txt", format!("file 3\n{t}\n"));
    r.write("d4/new.txt", "new\n");
    r.git(["add", "d3/s1/f3.txt", "d4/new.txt"]);
    let s = scan(&r.path, &["--staged", "--quiet"]);
    assert!(s.has(&t));
    assert_eq!(s.json["stats"]["files_scanned"], 2);
    // The work is comparing 10,001 index entries with HEAD's tree; no work-tree hashing.
    // (Release builds take a few ms; the bound is loose for debug builds on busy CI.)
    let ms = s.json["stats"]["elapsed_ms"].as_u64().unwrap();
    assert!(ms < 1000, "staged scan took {ms} ms");
}

/// The org-wide sweep's entry point: list a repository's blobs cheaply, scan a chosen subset
/// with the same provenance as the full-history scan, and skip what was already scanned.
#[test]
fn a_chosen_subset_of_blobs_is_scanned_with_provenance() {
    use keysweep::scan::{ScanSettings, Scanner};
    let r = Repo::new();
    let (t1, t2) = (token(41), token(42));
    let first = r.commit("one", &[("a.env", &format!("A={t1}\n"))]);
    r.commit("two", &[("b.env", &format!("B={t2}\n"))]);
    let mut rules = keysweep::rules::RuleSet::builtin().unwrap();
    rules
        .extend(keysweep::rules::RuleSet::load_path(&rules_dir()).unwrap())
        .unwrap();
    let scanner = Scanner::new(
        keysweep::detect::Detector::new(std::sync::Arc::new(rules)),
        ScanSettings::default(),
    );
    let all = keysweep::source::git::blob_ids(&r.path).unwrap();
    assert_eq!(all.len(), 2, "two blobs: {all:?}");
    let blob_a: keysweep::source::git::ObjectId = r
        .git(["rev-parse", &format!("{first}:a.env")])
        .parse()
        .unwrap();
    assert!(all.contains(&blob_a));

    let full = scanner
        .scan_git(&r.path, &keysweep::source::git::GitMode::History)
        .unwrap();
    assert_eq!(full.findings.len(), 2);
    // Blob a.env was scanned already: only the rest.
    let rest = scanner
        .scan_git_blobs(&r.path, all.iter().copied().filter(|id| *id != blob_a))
        .unwrap();
    assert_eq!(rest.findings.len(), 1);
    let from_full = full
        .findings
        .iter()
        .find(|f| f.locations[0].path == "b.env")
        .unwrap();
    assert_eq!(rest.findings[0].locations, from_full.locations);
    assert_eq!(rest.findings[0].fingerprint, from_full.fingerprint);
    assert_eq!(rest.stats.files_scanned, 1);
    assert_eq!(rest.stats.git.as_ref().unwrap().mode, "blobs");
}
