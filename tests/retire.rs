//! `keysweep retire`: the old AWS access key in moto's IAM — deactivated, deleted once the
//! quiet period has passed without use (the clock moved with the test-only `KEYSWEEP_NOW`),
//! refused while something still uses it, and a clear error for a key IAM does not know.

use std::path::Path;
use std::process::Output;

use crate::trust_apply::{xml, Moto};

fn retire(m: &Moto, ledger: &Path, key: &str, now: Option<&str>, extra: &[&str]) -> Output {
    let mut c = m.keysweep();
    c.args(["retire", "--aws-access-key-id", key])
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
                "{} {} {} {}",
                l["action"], l["result"], l["evidence"]["key"], l["evidence"]["iam-user"]
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            format!(r#""key-deactivated" "ok" "…{last4}" "legacy-deploy""#),
            format!(r#""key-deleted" "ok" "…{last4}" "legacy-deploy""#),
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

/// The whole retire of one repository against the stateful GitHub stub (every request also
/// checked against GitHub's OpenAPI description by Prism) and moto: what it waits for, then
/// the secrets deleted and the key deactivated, a run stopped halfway resumed from the ledger.
#[cfg(feature = "github")]
mod github {
    use super::*;
    use crate::support::gh_stub::{writes, Stub};
    use keysweep::forge::marker::{Marker, MarkerSecret, SecretScope};
    use serde_json::{json, Value};

    const WF: &str = ".github/workflows/deploy.yml";
    const BRANCH: &str = "keysweep/oidc-migration";

    fn run_retire(stub: &Stub, m: &Moto, ledger: &Path, repo: &str, extra: &[&str]) -> Output {
        m.keysweep()
            .args(["retire", "--repo", repo, "--ledger"])
            .arg(ledger)
            .args(extra)
            .env("GITHUB_API_URL", &stub.url)
            .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
            .env("KEYSWEEP_WRITE_SPACING_MS", "0")
            .env("KEYSWEEP_RETRY_BASE_MS", "10")
            .output()
            .unwrap()
    }

    fn marker() -> String {
        Marker {
            version: 1,
            plan_hash: "ab".repeat(32),
            workflows: vec![WF.into()],
            secrets: vec![
                MarkerSecret {
                    name: "AWS_ACCESS_KEY_ID".into(),
                    scope: SecretScope::Repository,
                },
                MarkerSecret {
                    name: "AWS_SECRET_ACCESS_KEY".into(),
                    scope: SecretScope::Repository,
                },
                MarkerSecret {
                    name: "AWS_ACCESS_KEY_ID".into(),
                    scope: SecretScope::Environment {
                        environment: "production".into(),
                    },
                },
                MarkerSecret {
                    name: "LEGACY_DEPLOY_TOKEN".into(),
                    scope: SecretScope::Unknown,
                },
            ],
            targets: vec!["aws".into()],
        }
        .render()
    }

    fn request_violations(stub: &Stub) -> Vec<Value> {
        stub.requests()
            .into_iter()
            .filter(|r| {
                r["violations"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| x["location"][0] == "request"))
                    || r["status"] == 422
            })
            .collect()
    }

    #[test]
    fn waits_then_retires_then_resumes() {
        let Some(m) = Moto::account() else { return };
        let Some(stub) = Stub::start() else { return };
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.jsonl");
        let repo = "retire-org/site";
        let key = old_key(&m, "site-deployer");
        let seeded = stub.seed(json!({
            "repo": repo, "environments": ["production"],
            "files": {WF: "on: push\njobs: {}\n"},
            "secrets": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "UNRELATED"],
            "env_secrets": {"production": ["AWS_ACCESS_KEY_ID"]},
        }));
        let before_merge = seeded["head"].as_str().unwrap().to_string();
        let key_arg = ["--aws-access-key-id", key.as_str()];

        // no pull request yet
        let o = run_retire(&stub, &m, &ledger, repo, &key_arg);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert!(
            text(&o).contains(&format!(
                "waiting: no migration pull request from branch `{BRANCH}`"
            )),
            "{}",
            text(&o)
        );

        // open, not merged
        stub.control(
            "/__push",
            json!({"repo": repo, "branch": BRANCH, "files": {WF: "on: push\njobs: {}\n# oidc\n"}}),
        );
        let pr: Value = serde_json::from_str(
            &ureq::post(&format!("{}/repos/{repo}/pulls", stub.url))
                .set("Content-Type", "application/json")
                .send_string(
                    &json!({"title": "Move CI credentials to OIDC", "head": BRANCH, "base": "main",
                                     "body": format!("keysweep migration\n\n{}\n", marker())})
                    .to_string(),
                )
                .unwrap()
                .into_string()
                .unwrap(),
        )
        .unwrap();
        let number = pr["number"].as_u64().unwrap();
        let o = run_retire(&stub, &m, &ledger, repo, &key_arg);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert!(
            text(&o).contains("waiting: the migration pull request is not merged yet"),
            "{}",
            text(&o)
        );

        // merged; runs that do not count: failed, and green at a commit before the merge
        let merge = stub.control("/__merge", json!({"repo": repo, "number": number}))["sha"]
            .as_str()
            .unwrap()
            .to_string();
        stub.control(
            "/__run",
            json!({"repo": repo, "path": WF, "head_sha": merge, "conclusion": "failure"}),
        );
        stub.control(
            "/__run",
            json!({"repo": repo, "path": WF, "head_sha": before_merge, "conclusion": "success"}),
        );
        let writes_before = writes(&stub.api_calls(repo)).len();
        let o = run_retire(&stub, &m, &ledger, repo, &key_arg);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(3), "{out}");
        assert!(out.contains(&format!("waiting: `{WF}` has no successful run on the default branch at the merge commit or later, started after the merge")), "{out}");
        assert!(!out.contains("would delete"), "{out}");
        assert_eq!(
            writes(&stub.api_calls(repo)).len(),
            writes_before,
            "waiting writes nothing"
        );

        // a green run at the merge commit: the dry run says everything, changes nothing
        let green = stub.control(
            "/__run",
            json!({"repo": repo, "path": WF, "head_sha": merge, "conclusion": "success"}),
        );
        let run_url = green["html_url"].as_str().unwrap().to_string();
        let o = run_retire(&stub, &m, &ledger, repo, &key_arg);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(
            out.contains(&format!(
                "verified: `{WF}` ran green after the merge: {run_url}"
            )),
            "{out}"
        );
        assert!(
            out.contains("would delete the repository secret `AWS_ACCESS_KEY_ID`"),
            "{out}"
        );
        assert!(
            out.contains("would delete the environment `production` secret `AWS_ACCESS_KEY_ID`"),
            "{out}"
        );
        assert!(out.contains("kept secret `LEGACY_DEPLOY_TOKEN`"), "{out}");
        assert!(out.contains("aws: would deactivate access key"), "{out}");
        assert_eq!(
            writes(&stub.api_calls(repo)).len(),
            writes_before,
            "a dry run writes nothing"
        );
        assert!(!ledger.exists());

        // stopped halfway: one deletion fails
        stub.fail(
            "DELETE",
            "AWS_SECRET_ACCESS_KEY$",
            403,
            json!({}),
            json!({"message": "Resource not accessible by integration"}),
            1,
        );
        let o = run_retire(
            &stub,
            &m,
            &ledger,
            repo,
            &[&key_arg[..], &["--confirm"]].concat(),
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}");
        let state = stub.state(repo);
        assert_eq!(
            state["secrets"],
            json!(["AWS_SECRET_ACCESS_KEY", "UNRELATED"]),
            "{out}"
        );
        assert_eq!(state["env_secrets"]["production"], json!([]));
        assert_eq!(
            status(&m, "site-deployer", &key).as_deref(),
            Some("Active"),
            "the key waits for every secret"
        );

        // the next run resumes: only the failed deletion is sent again, then the key
        let calls_before = stub.api_calls(repo).len();
        let o = run_retire(
            &stub,
            &m,
            &ledger,
            repo,
            &[&key_arg[..], &["--confirm"]].concat(),
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(
            out.contains("verified: `.github/workflows/deploy.yml` ran green after the merge")
                && out.contains("(from the ledger)"),
            "{out}"
        );
        assert!(
            out.contains("the repository secret `AWS_ACCESS_KEY_ID` was deleted on an earlier run"),
            "{out}"
        );
        let new_writes = writes(&stub.api_calls(repo)[calls_before..]);
        assert_eq!(
            new_writes,
            [format!(
                "DELETE /repos/{repo}/actions/secrets/AWS_SECRET_ACCESS_KEY"
            )]
        );
        assert_eq!(stub.state(repo)["secrets"], json!(["UNRELATED"]));
        assert_eq!(
            status(&m, "site-deployer", &key).as_deref(),
            Some("Inactive")
        );

        let lines: Vec<Value> = std::fs::read_to_string(&ledger)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let got: Vec<String> = lines
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}",
                    l["action"].as_str().unwrap(),
                    l["secret"].as_str().unwrap_or("-"),
                    if l["result"] == "ok" { "ok" } else { "error" }
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "run-verified - ok",
                "secret-deleted AWS_ACCESS_KEY_ID ok",
                "secret-deleted AWS_ACCESS_KEY_ID ok",
                "secret-deleted AWS_SECRET_ACCESS_KEY error",
                "secret-deleted AWS_SECRET_ACCESS_KEY ok",
                "key-deactivated AWS_ACCESS_KEY_ID ok",
            ]
        );
        assert_eq!(lines[0]["evidence"]["run"], run_url.as_str());
        assert_eq!(lines[0]["repository"], repo);
        let v = crate::common::keysweep()
            .args(["ledger", "verify"])
            .arg(&ledger)
            .output()
            .unwrap();
        assert!(v.status.success(), "{}", text(&v));
        assert_eq!(request_violations(&stub), Vec::<Value>::new());
    }

    /// From leaked key to OIDC, end to end: a scan finds the key and the CI use, `rotate
    /// --open-pr` opens the migration in the stub, a person merges it and the workflow runs
    /// green, `retire` deletes the secrets in the stub and deactivates the key in moto, and
    /// the ledger of it all verifies, until a line is edited.
    #[test]
    fn scan_plan_pr_merge_retire_ledger() {
        let Some(m) = Moto::account() else { return };
        let Some(stub) = Stub::start() else { return };
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.jsonl");
        let repo = "e2e-org/site";
        let deploy = std::fs::read_to_string(
            "tests/fixtures/pipelines/aws-deploy-static/.github/workflows/deploy.yml",
        )
        .unwrap();
        let (key, secret) = m.create_key_for_new_user("e2e-deployer");

        // scan: the leaked key in a checkout, and the CI's use of the secrets
        let checkout = dir.path().join("checkout");
        crate::common::write(&checkout, WF, &deploy);
        crate::common::write(
            &checkout,
            "deploy.env",
            format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
        );
        let o = crate::common::keysweep()
            .args(["scan", "--format", "json", "--show-secrets"])
            .arg(&checkout)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        let found_key = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|f| {
                f["secret"]
                    .as_str()
                    .filter(|s| s.starts_with("AKIA"))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no AWS key id found: {report}"));
        assert_eq!(found_key, key);

        // plan -> PR in the stub
        stub.seed(json!({
            "repo": repo, "files": {WF: deploy}, "environments": ["production"],
            "secrets": ["AWS_ACCESS_KEY_ID", "UNRELATED"],
            "env_secrets": {"production": ["AWS_SECRET_ACCESS_KEY"]},
        }));
        let gh = |c: &mut assert_cmd::Command| {
            c.env("GITHUB_API_URL", &stub.url)
                .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
                .env("KEYSWEEP_WRITE_SPACING_MS", "0")
                .env("KEYSWEEP_RETRY_BASE_MS", "10")
                .arg("--ledger")
                .arg(&ledger);
        };
        let mut c = m.keysweep();
        c.args([
            "rotate",
            "--open-pr",
            "--confirm",
            "--repo",
            repo,
            "--aws-account-id",
            &m.account,
            "--aws-role-name",
            "site-deploy",
        ]);
        gh(&mut c);
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let pulls = stub.state(repo)["pulls"].clone();
        assert_eq!(pulls.as_array().unwrap().len(), 1, "{pulls} {}", text(&o));
        let number = pulls[0]["number"].as_u64().unwrap();

        // a person merges; the migrated workflow runs green on the merge commit
        let merge = stub.control("/__merge", json!({"repo": repo, "number": number}))["sha"]
            .as_str()
            .unwrap()
            .to_string();
        stub.control(
            "/__run",
            json!({"repo": repo, "path": WF, "head_sha": merge, "conclusion": "success"}),
        );

        // retire
        let mut c = m.keysweep();
        c.args([
            "retire",
            "--repo",
            repo,
            "--aws-access-key-id",
            &found_key,
            "--confirm",
        ]);
        gh(&mut c);
        let o = c.output().unwrap();
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(
            !out.contains(&key),
            "the key id is shown by its last 4 only: {out}"
        );
        let state = stub.state(repo);
        assert_eq!(state["secrets"], json!(["UNRELATED"]), "{out}");
        assert_eq!(state["env_secrets"]["production"], json!([]), "{out}");
        assert_eq!(
            status(&m, "e2e-deployer", &key).as_deref(),
            Some("Inactive")
        );

        // the ledger: the PR, the verified run, the deleted secrets, the key; chained
        let text_ledger = std::fs::read_to_string(&ledger).unwrap();
        assert!(!text_ledger.contains(&key) && !text_ledger.contains(&secret));
        let actions: Vec<String> = text_ledger
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["action"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        for a in ["run-verified", "secret-deleted", "key-deactivated"] {
            assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
        }
        assert!(
            actions.iter().any(|x| x.starts_with("pr")),
            "no PR line: {actions:?}"
        );
        let verify = || {
            crate::common::keysweep()
                .args(["ledger", "verify"])
                .arg(&ledger)
                .output()
                .unwrap()
        };
        assert_eq!(verify().status.code(), Some(0), "{}", text(&verify()));
        let edited = text_ledger.replacen("\"secret-deleted\"", "\"secret-kept\"", 1);
        std::fs::write(&ledger, edited).unwrap();
        let v = verify();
        assert_eq!(v.status.code(), Some(1), "{}", text(&v));
        assert!(text(&v).contains("the chain is broken"), "{}", text(&v));
        assert_eq!(request_violations(&stub), Vec::<Value>::new());
    }

    /// Organization secrets: kept without --include-org-secrets; with it, deleted only when
    /// no other repository it is shared with reads it (their workflows read through the
    /// contents API). The stub has no organization endpoints: their answers are fed to it
    /// (`/__fail` with a 200 body) in the shapes GitHub's description gives.
    #[test]
    fn org_secrets_only_when_included_and_unread() {
        let Some(m) = Moto::account() else { return };
        let Some(stub) = Stub::start() else { return };
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.jsonl");
        let repo = "orgx/app";
        stub.seed(json!({"repo": repo, "files": {WF: "on: push\njobs: {}\n"}}));
        stub.control(
            "/__push",
            json!({"repo": repo, "branch": BRANCH, "files": {WF: "on: push\njobs: {}\n# oidc\n"}}),
        );
        let mk = Marker {
            version: 1,
            plan_hash: "cd".repeat(32),
            workflows: vec![WF.into()],
            secrets: vec![
                MarkerSecret {
                    name: "ORG_DEPLOY_TOKEN".into(),
                    scope: SecretScope::Organization,
                },
                MarkerSecret {
                    name: "ORG_UNUSED".into(),
                    scope: SecretScope::Organization,
                },
            ],
            targets: vec!["npm".into()],
        };
        let pr: Value = serde_json::from_str(
            &ureq::post(&format!("{}/repos/{repo}/pulls", stub.url))
                .set("Content-Type", "application/json")
                .send_string(
                    &json!({"title": "OIDC", "head": BRANCH, "base": "main", "body": mk.render()})
                        .to_string(),
                )
                .unwrap()
                .into_string()
                .unwrap(),
        )
        .unwrap();
        let merge = stub.control("/__merge", json!({"repo": repo, "number": pr["number"]}))["sha"]
            .as_str()
            .unwrap()
            .to_string();
        stub.control(
            "/__run",
            json!({"repo": repo, "path": WF, "head_sha": merge, "conclusion": "success"}),
        );

        let o = run_retire(&stub, &m, &ledger, repo, &[]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("kept the organization secret `ORG_DEPLOY_TOKEN`: organization secrets are deleted only with --include-org-secrets"), "{out}");
        assert!(out.contains("manual: npm: `npm token list`"), "{out}");

        let secret = |name: &str| {
            json!({"name": name, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "visibility": "selected", "selected_repositories_url": format!("https://api.github.com/orgs/orgx/actions/secrets/{name}/repositories")})
        };
        let repos = |names: &[&str]| json!({"total_count": names.len(), "repositories": names.iter().map(|n| json!({"full_name": n})).collect::<Vec<_>>()});
        let reader = "on: push\njobs:\n  ci:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./deploy\n        env:\n          TOKEN: ${{ secrets.ORG_DEPLOY_TOKEN }}\n";
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(reader);
        stub.fail(
            "GET",
            "^/orgs/orgx/actions/secrets/ORG_DEPLOY_TOKEN$",
            200,
            json!({}),
            secret("ORG_DEPLOY_TOKEN"),
            1,
        );
        stub.fail(
            "GET",
            "^/orgs/orgx/actions/secrets/ORG_DEPLOY_TOKEN/repositories$",
            200,
            json!({}),
            repos(&["orgx/app", "orgx/web"]),
            1,
        );
        stub.fail(
            "GET",
            "^/repos/orgx/web/contents/.github/workflows$",
            200,
            json!({}),
            json!([{"name": "ci.yml", "path": ".github/workflows/ci.yml", "type": "file"}]),
            1,
        );
        stub.fail("GET", "^/repos/orgx/web/contents/.github/workflows/ci.yml$", 200, json!({}),
                  json!({"name": "ci.yml", "path": ".github/workflows/ci.yml", "type": "file", "encoding": "base64", "content": b64}), 1);
        stub.fail(
            "GET",
            "^/orgs/orgx/actions/secrets/ORG_UNUSED$",
            200,
            json!({}),
            secret("ORG_UNUSED"),
            1,
        );
        stub.fail(
            "GET",
            "^/orgs/orgx/actions/secrets/ORG_UNUSED/repositories$",
            200,
            json!({}),
            repos(&["orgx/app"]),
            1,
        );
        stub.fail(
            "DELETE",
            "^/orgs/orgx/actions/secrets/ORG_UNUSED$",
            204,
            json!({}),
            json!({}),
            1,
        );
        let o = run_retire(
            &stub,
            &m,
            &ledger,
            repo,
            &["--include-org-secrets", "--confirm"],
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}");
        assert!(out.contains("kept the organization secret `ORG_DEPLOY_TOKEN`: still read by orgx/web:.github/workflows/ci.yml"), "{out}");
        assert!(
            out.contains("deleted the organization secret `ORG_UNUSED`"),
            "{out}"
        );
        let deletes: Vec<String> = stub
            .requests()
            .iter()
            .filter(|r| r["method"] == "DELETE")
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(deletes, ["/orgs/orgx/actions/secrets/ORG_UNUSED"]);
        let l = std::fs::read_to_string(&ledger).unwrap();
        assert!(l.contains(r#""secret":"ORG_UNUSED","action":"secret-deleted","result":"ok","evidence":{"scope":"organization"}"#), "{l}");
        assert_eq!(request_violations(&stub), Vec::<Value>::new());
    }

    /// One repository's error never stops another.
    #[test]
    fn one_repository_error_does_not_stop_the_others() {
        let Some(m) = Moto::account() else { return };
        let Some(stub) = Stub::start() else { return };
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.jsonl");
        stub.seed(json!({"repo": "many-org/waiting"}));
        let list = dir.path().join("repos.txt");
        std::fs::write(
            &list,
            "# repositories\nmany-org/missing\nmany-org/waiting\nnot-a-slug\n",
        )
        .unwrap();
        let o = run_retire(
            &stub,
            &m,
            &ledger,
            "many-org/waiting",
            &["--repos", list.to_str().unwrap()],
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}");
        assert!(out.contains("many-org/missing"), "{out}");
        assert!(out.contains("`not-a-slug`: not OWNER/REPO"), "{out}");
        assert!(
            out.contains("many-org/waiting: waiting: no migration pull request"),
            "{out}"
        );
    }
}
