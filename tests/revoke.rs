//! `keysweep revoke`: leaked GitHub tokens found by a scan, sent to GitHub's credential
//! revocation API served by Prism from GitHub's OpenAPI description (the request is checked
//! against the real schema: no 422, no `sl-violations`), unauthenticated, only with
//! `--confirm`, and printed redacted first.

use std::path::Path;
use std::process::Output;

use crate::common::{checksummed_token, github_pat, keysweep, write};

/// The GitHub stand-in (scripts/fakes.sh), or a loud skip outside CI.
fn prism() -> Option<String> {
    let api = std::env::var("KEYSWEEP_GH_API").ok();
    let up = api
        .as_deref()
        .is_some_and(|a| ureq::get(&format!("{a}/__requests")).call().is_ok());
    if up {
        return api;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the GitHub stand-in is not reachable at KEYSWEEP_GH_API={api:?}: run `eval \"$(scripts/fakes.sh start)\"`");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: revoke test: KEYSWEEP_GH_API={api:?} not reachable.\n\
         !!!!!!!! Run `eval \"$(scripts/fakes.sh start)\"` first.\n"
    );
    None
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id())
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The stand-in's recorded requests whose body mentions `needle`.
fn requests_with(api: &str, needle: &str) -> Vec<serde_json::Value> {
    let body = ureq::get(&format!("{api}/__requests"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    all.into_iter()
        .filter(|r| r["body"].to_string().contains(needle))
        .collect()
}

fn revoke(dir: &Path, api: &str, ledger: &Path, extra: &[&str]) -> Output {
    keysweep()
        .arg("revoke")
        .arg(dir)
        .arg("--ledger")
        .arg(ledger)
        .args(extra)
        .env("GITHUB_API_URL", api)
        // a token in the environment must not be sent: the API refuses authenticated calls
        .env("GITHUB_TOKEN", "ghp_notsentnotsentnotsentnotsentnotsent00")
        .output()
        .unwrap()
}

#[test]
fn prints_redacted_then_sends_only_with_confirm() {
    let Some(api) = prism() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("state/ledger.jsonl");
    let pat = github_pat(seed());
    let oauth = checksummed_token("gho", seed() ^ 0x5555);
    write(dir.path(), "repo/.env", format!("GH_TOKEN={pat}\n"));
    write(dir.path(), "repo/notes.txt", format!("oauth {oauth}\n"));
    let repo = dir.path().join("repo");

    let o = revoke(&repo, &api, &ledger, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("would send POST"), "{out}");
    assert!(
        out.contains("/credentials/revoke (unauthenticated)"),
        "{out}"
    );
    assert!(
        !out.contains(&pat) && !out.contains(&oauth),
        "never in clear: {out}"
    );
    assert!(out.contains("ghp_"), "{out}");
    assert!(
        requests_with(&api, &pat).is_empty(),
        "a dry run sends nothing"
    );
    assert!(!ledger.exists());

    let o = revoke(&repo, &api, &ledger, &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("accepted (HTTP 202)"), "{out}");
    assert!(!out.contains(&pat), "{out}");
    let sent = requests_with(&api, &pat);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let r = &sent[0];
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/credentials/revoke");
    assert_eq!(r["status"], 202, "{r}");
    // the request must satisfy GitHub's schema; Prism's own 202 example is not an object,
    // which it reports as a response violation
    let request_violations: Vec<&serde_json::Value> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["location"][0] != "response")
        .collect();
    assert!(request_violations.is_empty(), "{r}");
    assert_eq!(r["authorization"], false, "sent unauthenticated: {r}");
    let mut creds: Vec<String> = r["body"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    creds.sort();
    let mut want = vec![pat.clone(), oauth.clone()];
    want.sort();
    assert_eq!(creds, want);

    let l = std::fs::read_to_string(&ledger).unwrap();
    assert!(!l.contains(&pat) && !l.contains(&oauth), "{l}");
    let e: serde_json::Value = serde_json::from_str(l.lines().next().unwrap()).unwrap();
    assert_eq!(e["action"], "revoke-sent");
    assert_eq!(e["result"], "ok");
    assert_eq!(e["evidence"]["count"], "2");
}

#[test]
fn nothing_revocable_is_exit_1_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "nothing secret here\n");
    let o = keysweep()
        .args(["revoke", "--confirm"])
        .arg(dir.path())
        .arg("--ledger")
        .arg(dir.path().join("l.jsonl"))
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("No GitHub token the revocation API accepts"));
    assert!(!dir.path().join("l.jsonl").exists());
}
