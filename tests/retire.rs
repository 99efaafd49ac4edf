//! `keysweep retire`: the old AWS access key in moto's IAM — deactivated, deleted once the
//! quiet period has passed without use (the clock moved with the test-only `KEYSWEEP_NOW`),
//! refused while something still uses it, and a clear error for a key IAM does not know.

use std::path::Path;
use std::process::Output;

use crate::trust_apply::{xml, Moto};

fn retire(m: &Moto, ledger: &Path, key: &str, now: Option<&str>, extra: &[&str]) -> Output {
    let mut c = m.keysweep();
    c.args([
        "retire",
        "--repo",
        "example-org/example-repo",
        "--aws-access-key-id",
        key,
    ])
    .arg("--ledger")
    .arg(ledger)
    .args(extra);
    if let Some(n) = now {
        c.env("KEYSWEEP_NOW", n);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `Active`, `Inactive`, or `None` when the key is gone.
fn status(m: &Moto, user: &str, key: &str) -> Option<String> {
    let body = m.call(&[("Action", "ListAccessKeys"), ("UserName", user)]);
    body.split("<member>")
        .find(|s| s.contains(key))
        .and_then(|s| xml(s, "Status"))
}

fn later(hours: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(hours);
    t.to_string()
}

fn old_key(m: &Moto, user: &str) -> String {
    m.call(&[("Action", "CreateUser"), ("UserName", user)]);
    m.create_key(user).0
}

#[test]
fn deactivate_then_delete_after_the_quiet_period() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let key = old_key(&m, "legacy-deploy");
    let last4 = &key[key.len() - 4..];

    let o = retire(&m, &ledger, &key, None, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "would deactivate access key …{last4} of IAM user legacy-deploy"
        )),
        "{out}"
    );
    assert_eq!(status(&m, "legacy-deploy", &key).as_deref(), Some("Active"));

    let o = retire(&m, &ledger, &key, None, &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("deactivated access key …{last4}")),
        "{out}"
    );
    assert!(!out.contains(&key), "the full key id is never shown: {out}");
    assert_eq!(
        status(&m, "legacy-deploy", &key).as_deref(),
        Some("Inactive")
    );

    // a day later: still waiting (exit 3), nothing deleted
    let o = retire(&m, &ledger, &key, Some(&later(24)), &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert!(out.contains("waiting: access key"), "{out}");
    assert!(out.contains("can be deleted after"), "{out}");
    assert_eq!(
        status(&m, "legacy-deploy", &key).as_deref(),
        Some("Inactive")
    );

    // a shorter --delete-after is honoured; a dry run deletes nothing
    let o = retire(
        &m,
        &ledger,
        &key,
        Some(&later(37)),
        &["--delete-after", "36h"],
    );
    assert!(text(&o).contains("would delete access key"), "{}", text(&o));
    assert_eq!(
        status(&m, "legacy-deploy", &key).as_deref(),
        Some("Inactive")
    );

    // eight days later, unused since: deleted
    let o = retire(&m, &ledger, &key, Some(&later(8 * 24)), &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("deleted access key …{last4}")),
        "{out}"
    );
    assert_eq!(status(&m, "legacy-deploy", &key), None);

    // the ledger has both steps, the key's last 4 characters only, and resumes to "done"
    let text_ledger = std::fs::read_to_string(&ledger).unwrap();
    assert!(!text_ledger.contains(&key), "{text_ledger}");
    let lines: Vec<serde_json::Value> = text_ledger
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {}",
                l["action"],
                l["result"],
                l["repository"],
                l["evidence"]["key"],
                l["evidence"]["iam-user"]
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            format!(
                r#""key-deactivated" "ok" "example-org/example-repo" "…{last4}" "legacy-deploy""#
            ),
            format!(r#""key-deleted" "ok" "example-org/example-repo" "…{last4}" "legacy-deploy""#),
        ]
    );
    let o = retire(&m, &ledger, &key, Some(&later(9 * 24)), &["--confirm"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("deleted on an earlier run"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_key_used_after_deactivation_is_not_deleted() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let key = old_key(&m, "legacy-ci");
    let o = retire(
        &m,
        &ledger,
        &key,
        None,
        &["--confirm", "--aws-user", "legacy-ci"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // something still signs requests with the old key (moto records it as used)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let _ = m.call_as(&key, &[("Action", "GetUser"), ("UserName", "legacy-ci")]);
    let o = retire(&m, &ledger, &key, Some(&later(8 * 24)), &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("refused: access key"), "{out}");
    assert!(out.contains("was used at 20"), "{out}");
    assert!(out.contains("after keysweep deactivated it at"), "{out}");
    assert_eq!(status(&m, "legacy-ci", &key).as_deref(), Some("Inactive"));
}

#[test]
fn an_unknown_key_is_a_clear_error() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let o = retire(&m, &ledger, "AKIAKEYSWEEPNOSUCHKY", None, &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("access key …CHKY is not known to IAM"),
        "{out}"
    );
    assert!(!ledger.exists());

    // a key of another user than the one named
    let key = old_key(&m, "legacy-owner");
    let o = retire(&m, &ledger, &key, None, &["--aws-user", "someone-else"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("belongs to IAM user legacy-owner, not someone-else"),
        "{out}"
    );
}

#[test]
fn bad_durations_and_times_are_one_line_errors() {
    let o = crate::common::keysweep()
        .args([
            "retire",
            "--aws-access-key-id",
            "AKIAEXAMPLE",
            "--delete-after",
            "7w",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("--delete-after `7w`: not a duration"),
        "{}",
        text(&o)
    );
}
