//! `keysweep sweep` under faults: killed with SIGKILL mid-sweep and resumed (nothing lost,
//! completed repositories not rescanned), and corrupt repositories (a truncated pack at the
//! source, a damaged mirror in the cache) among good ones.
#![cfg(feature = "sweep")]

use crate::common::github_pat;
use crate::sweep::{git, repo, walk};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn keysweep_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("keysweep")
}

fn count(db: &Path, sql: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    let conn = rusqlite::Connection::open(db).expect("state opens");
    conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

/// The integer just before `phrase` in the summary line.
fn number_before(text: &str, phrase: &str) -> i64 {
    let head = &text[..text
        .find(phrase)
        .unwrap_or_else(|| panic!("{phrase:?} not in {text}"))];
    let digits: String = head
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number before {phrase:?} in {text}"))
}

#[test]
fn killed_mid_sweep_then_resumed_loses_nothing_and_rescans_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let n = 60;
    let list: String = (0..n)
        .map(|i| {
            let p = repo(
                root,
                &format!("r{i:02}"),
                &format!("t = \"{}\"\n", github_pat(300 + i)),
            );
            format!("{}\n", p.display())
        })
        .collect();
    std::fs::write(root.join("repos.txt"), list).expect("list");
    let db = root.join("cache/sweep.db");
    let args = |c: &mut Command| {
        c.args(["sweep", "--jobs", "1", "--repos"])
            .arg(root.join("repos.txt"))
            .arg("--cache")
            .arg(root.join("cache"))
            .arg("--json")
            .arg(root.join("report.json"));
    };
    let mut cmd = Command::new(keysweep_bin());
    args(&mut cmd);
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while count(&db, "SELECT COUNT(*) FROM repos WHERE status = 'ok'") < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the sweep made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let done = count(&db, "SELECT COUNT(*) FROM repos WHERE status = 'ok'");
    assert!(
        done >= 5 && done < n as i64,
        "kill landed mid-sweep: {done} of {n} done"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM sweeps WHERE finished IS NULL"),
        1
    );
    // what a completed repository wrote is all there: its finding and its three objects
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings"), done);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM scanned"), done * 3);

    // the killed run's scratch space is left behind (its lock is free now); plant what an
    // older version's killed run leaves too: the next run removes both
    let tmp = root.join("cache/tmp");
    let killed: Vec<_> = std::fs::read_dir(&tmp)
        .expect("the killed run's scratch space")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        killed
            .iter()
            .any(|n| n.to_string_lossy().ends_with(".lock")),
        "{killed:?}"
    );
    std::fs::create_dir_all(tmp.join("keysweep-ci-killed/.github/workflows")).expect("old");
    std::fs::write(
        tmp.join("keysweep-ci-killed/.github/workflows/ci.yml"),
        format!("env:\n  T: {}\n", github_pat(399)),
    )
    .expect("old");

    // just running again resumes the same sweep and skips what it completed
    let mut cmd = Command::new(keysweep_bin());
    args(&mut cmd);
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(resumed)"), "{stderr}");
    assert_eq!(number_before(&stderr, "already done"), done, "{stderr}");
    assert_eq!(
        number_before(&stderr, "objects scanned"),
        (n as i64 - done) * 3,
        "{stderr}"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM findings WHERE status = 'new'"),
        n as i64
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM scanned"), n as i64 * 3);
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "stale scratch space left: {left:?}");
    // one transition per finding (none -> new): no repository was recorded twice
    assert_eq!(count(&db, "SELECT COUNT(*) FROM transitions"), n as i64);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sweeps"), 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM sweeps WHERE finished IS NULL"),
        0
    );

    // the next sweep is a new one and reads nothing
    let mut cmd = Command::new(keysweep_bin());
    args(&mut cmd);
    let out = cmd.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("(resumed)"), "{stderr}");
    assert_eq!(number_before(&stderr, "objects scanned"), 0, "{stderr}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM findings WHERE status = 'open'"),
        n as i64
    );
}

fn sweep_json(root: &Path, list: &[&Path]) -> serde_json::Value {
    let text: String = list.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(root.join("repos.txt"), text).expect("list");
    let out = Command::new(keysweep_bin())
        .args(["sweep", "--quiet", "--repos"])
        .arg(root.join("repos.txt"))
        .arg("--cache")
        .arg(root.join("cache"))
        .arg("--json")
        .arg(root.join("report.json"))
        .output()
        .expect("runs");
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).expect("report"))
        .expect("json")
}

fn status_of(report: &serde_json::Value, p: &Path) -> (String, String) {
    let r = report["repos"]
        .as_array()
        .expect("repos")
        .iter()
        .find(|r| r["name"] == p.display().to_string())
        .expect("listed");
    (
        r["status"].as_str().unwrap_or_default().into(),
        r["reason"].as_str().unwrap_or_default().into(),
    )
}

/// Overwrites the middle of every pack under `dir` with garbage.
fn damage_packs(dir: &Path) -> usize {
    let packs: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pack"))
        .collect();
    for p in &packs {
        let mut bytes = std::fs::read(p).expect("pack");
        let mid = bytes.len() / 2;
        let end = (mid + 64).min(bytes.len() - 20);
        bytes[mid..end].iter_mut().for_each(|b| *b = 0x5a);
        std::fs::write(p, bytes).expect("write pack");
    }
    packs.len()
}

#[test]
fn a_truncated_pack_and_a_damaged_mirror_among_good_repositories() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let good = repo(root, "good", &format!("t = \"{}\"\n", github_pat(61)));
    let other = repo(root, "other", &format!("t = \"{}\"\n", github_pat(62)));
    // a source whose pack is damaged: the fetch or the scan fails, named with its reason
    let packed = repo(root, "packed", &"line of text\n".repeat(2000));
    git(&packed, &["repack", "-a", "-d", "-q"]);
    assert!(damage_packs(&packed.join("objects")) > 0);
    let r = sweep_json(root, &[&good, &packed, &other]);
    let (status, reason) = status_of(&r, &packed);
    assert_eq!(status, "failed", "{r}");
    assert!(!reason.is_empty());
    assert_eq!(status_of(&r, &good).0, "ok");
    assert_eq!(status_of(&r, &other).0, "ok");
    assert_eq!(r["failed"], 1);
    assert_eq!(r["open_findings"], 2);

    // a mirror damaged in the cache after a good sweep: rebuilt from its source, nothing
    // rescanned (its objects were scanned before), nothing lost; the others unaffected
    crate::sweep::commit(&root.join("other"), "more.txt", &"x\n".repeat(5000));
    // good moves too, so its (damaged) mirror must be read
    crate::sweep::commit(&root.join("good"), "more.txt", "y\n");
    let good_mirror = std::fs::read_dir(root.join("cache/mirrors"))
        .expect("mirrors")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("good-"))
        })
        .expect("good's mirror");
    let mut damaged = damage_packs(&good_mirror.join("objects"));
    for f in walk(&good_mirror.join("objects")) {
        if f.parent()
            .is_some_and(|d| d.file_name().is_some_and(|n| n.len() == 2))
        {
            std::fs::write(&f, b"not zlib").expect("damage");
            damaged += 1;
        }
    }
    assert!(damaged > 0);
    let r = sweep_json(root, &[&good, &packed, &other]);
    assert_eq!(status_of(&r, &good), ("ok".into(), String::new()), "{r}");
    assert_eq!(status_of(&r, &other).0, "ok", "{r}");
    assert_eq!(status_of(&r, &packed).0, "failed", "{r}");
    let scanned_last = |p: &Path| {
        r["repos"]
            .as_array()
            .expect("repos")
            .iter()
            .find(|x| x["name"] == p.display().to_string())
            .expect("row")["scanned_last"]
            .as_i64()
            .expect("count")
    };
    // the rebuilt mirror reads only the new commit's objects (blob, tree, commit)
    assert_eq!(scanned_last(&good), 3);
    assert_eq!(scanned_last(&other), 3);
    assert_eq!(r["failed"], 1);
    let statuses: Vec<_> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["status"].clone())
        .collect();
    assert_eq!(statuses, ["open", "open"]);
}
