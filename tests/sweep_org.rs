//! `keysweep sweep --org/--user` against the stateful GitHub stub (tests/support/gh_stub_org.py:
//! paginated repository lists with `Link` headers, @octokit/fixtures bodies, every request
//! replayed to Prism with GitHub's OpenAPI description), with two of the listed repositories
//! served over HTTPS by `git http-backend` behind basic auth that only the API token opens.
#![cfg(all(feature = "sweep", feature = "github"))]

use crate::common::{aws_key_pair, github_pat, keysweep};
use crate::support::gh_stub::Stub;
use crate::sweep::{repo, walk};
use crate::sweep_http::{contains, serve, tls};
use serde_json::{json, Value};
use std::path::Path;

pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// `keysweep sweep ARGS --cache ROOT/CACHE --json ROOT/report.json` with the stub as the API.
pub(crate) fn run(
    stub: &Stub,
    root: &Path,
    cache: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Out {
    let mut c = keysweep();
    c.arg("sweep")
        .args(args)
        .arg("--cache")
        .arg(root.join(cache))
        .arg("--json")
        .arg(root.join("report.json"))
        .env("GITHUB_API_URL", &stub.url)
        .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
        .env("KEYSWEEP_WRITE_SPACING_MS", "0")
        .env("KEYSWEEP_RETRY_BASE_MS", "10")
        .env_remove("GH_TOKEN")
        .env_remove("KEYSWEEP_APP_ID")
        .env_remove("KEYSWEEP_GIT_TOKEN")
        .env_remove("KEYSWEEP_GIT_USERNAME");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("keysweep runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub(crate) fn report(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("report.json")).expect("report");
    serde_json::from_str(&text).expect("json")
}

/// The repositories of a report with their status.
pub(crate) fn names(report: &Value) -> Vec<(String, String)> {
    report["repos"]
        .as_array()
        .expect("repos")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn org_and_user_listing_paginated_filtered_and_fetched_with_the_api_token() {
    let Some(stub) = Stub::start() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).expect("srv");
    let secret = github_pat(51);
    repo(&srv, "a", &format!("token = \"{secret}\"\n"));
    repo(&srv, "b", "clean\n");
    let local = root.join("local");
    std::fs::create_dir_all(&local).expect("local");
    let c = repo(&local, "c", "archived\n");
    let d = repo(&local, "d", "a fork\n");
    let e = repo(&local, "legacy-e", "excluded\n");
    // the API token is the git password: generated for this run, so it is nowhere by accident
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let token = format!("ghp_{nanos:036x}");
    let ca = tls(&root.join("tls"));
    let server = serve(root, &root.join("tls"), "x-access-token", &token);
    let url = |n: &str| format!("https://127.0.0.1:{}/{n}.git", server.port);
    let path = |p: &Path| p.display().to_string();
    stub.control(
        "/__seed_org",
        json!({"org": "acme", "page_size": 2, "repos": [
            {"name": "a", "clone_url": url("a"), "topics": ["prod"]},
            {"name": "b", "clone_url": url("b"), "topics": ["prod", "web"]},
            {"name": "c", "clone_url": path(&c), "archived": true, "topics": ["web"]},
            {"name": "d", "clone_url": path(&d), "fork": true},
            {"name": "legacy-e", "clone_url": path(&e), "topics": ["prod"]},
        ]}),
    );
    let ca = ca.to_str().expect("utf-8");
    let env = [("SSL_CERT_FILE", ca), ("GITHUB_TOKEN", token.as_str())];

    // archived, fork and excluded left out; three pages followed
    let o = run(
        &stub,
        root,
        "cache",
        &["--org", "acme", "--exclude-repo", "acme/legacy-*"],
        &env,
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let r = report(root);
    assert_eq!(
        names(&r),
        pairs(&[("acme/a", "ok"), ("acme/b", "ok")]),
        "{r}"
    );
    assert_eq!(r["open_findings"], 1);
    let pages: Vec<String> = stub
        .requests()
        .iter()
        .filter(|q| q["path"] == "/orgs/acme/repos")
        .map(|q| q["query"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        pages,
        [
            "type=all&per_page=100",
            "per_page=2&page=2",
            "per_page=2&page=3"
        ]
    );
    // fetched with the API token, which is nowhere on disk and in no output
    let log = std::fs::read_to_string(root.join("http.log")).expect("log");
    assert!(
        log.contains("POST /a.git/git-upload-pack auth=ok 200"),
        "{log}"
    );
    for f in walk(&root.join("cache")) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !contains(&bytes, token.as_bytes()),
            "token in {}",
            f.display()
        );
    }
    assert!(!o.stdout.contains(&token) && !o.stderr.contains(&token));
    let json = std::fs::read_to_string(root.join("report.json")).expect("report");
    assert!(!json.contains(&token) && !json.contains(&secret));

    // --topic keeps repositories carrying every topic given; --include-archived
    let o = run(
        &stub,
        root,
        "cache2",
        &["--org", "acme", "--topic", "web", "--include-archived"],
        &env,
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        names(&report(root)),
        pairs(&[("acme/b", "ok"), ("acme/c", "ok")])
    );
    let o = run(
        &stub,
        root,
        "cache3",
        &["--org", "acme", "--topic", "web", "--topic", "prod"],
        &env,
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(names(&report(root)), pairs(&[("acme/b", "ok")]));

    // a user's repositories; forks only with --include-forks
    let f = repo(&local, "f", "forked\n");
    stub.control(
        "/__seed_org",
        json!({"user": "octocat", "repos": [{"name": "f", "clone_url": path(&f), "fork": true}]}),
    );
    let o = run(&stub, root, "cache4", &["--user", "octocat"], &env);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(names(&report(root)), pairs(&[]));
    let o = run(
        &stub,
        root,
        "cache4",
        &["--user", "octocat", "--include-forks"],
        &env,
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(names(&report(root)), pairs(&[("octocat/f", "ok")]));

    // an organisation the API does not know: one line, exit 2, nothing swept
    let o = run(&stub, root, "cache5", &["--org", "nobody"], &env);
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("--org nobody"), "{}", o.stderr);
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);

    // a GitHub App's JWT cannot list an organisation: refused in one line, nothing sent
    let key = std::process::Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl runs");
    let pem = String::from_utf8(key.stdout).expect("pem");
    let before = stub.requests().len();
    let o = run(
        &stub,
        root,
        "cache6",
        &["--org", "acme"],
        &[
            ("KEYSWEEP_APP_ID", "1"),
            ("KEYSWEEP_APP_PRIVATE_KEY", pem.as_str()),
        ],
    );
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("not a GitHub App"), "{}", o.stderr);
    assert_eq!(stub.requests().len(), before);
    stub.assert_schema_valid();
}

pub(crate) const DEPLOY: &str =
    include_str!("fixtures/pipelines/aws-deploy-static/.github/workflows/deploy.yml");
pub(crate) const WF: &str = ".github/workflows/deploy.yml";
const HARMLESS: &str =
    "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n";
const MARKER: &str = "<!-- keysweep:dashboard -->";

/// Writes (anything but GET) on `repo`, as `METHOD /path`.
pub(crate) fn writes_on(stub: &Stub, repo: &str) -> Vec<String> {
    crate::support::gh_stub::writes(&stub.api_calls(repo))
}

fn issues(stub: &Stub, repo: &str) -> Vec<Value> {
    stub.control("/__issues", json!({"repo": repo}))
        .as_array()
        .expect("issues")
        .clone()
}

#[test]
fn dashboard_issue_created_then_updated_in_place_then_says_nothing_open() {
    let Some(stub) = Stub::start() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let secret = github_pat(52);
    let a = repo(root, "a", &format!("token = \"{secret}\"\n"));
    let b = repo(root, "b", "clean\n");
    crate::sweep::commit(&root.join("b"), WF, DEPLOY);
    let path = |p: &Path| p.display().to_string();
    stub.control(
        "/__seed_org",
        json!({"org": "acme", "repos": [
            {"name": "a", "clone_url": path(&a)}, {"name": "b", "clone_url": path(&b)}]}),
    );
    // someone else's issue that quotes the marker, and one of ours without it: neither is
    // the dashboard
    stub.control(
        "/__seed_issues",
        json!({"repo": "acme/security", "issues": [
            {"title": "copied", "body": format!("{MARKER} pasted"), "user": "someone"},
            {"title": "other", "body": "unrelated", "user": "keysweep-test-user"}]}),
    );
    let args = ["--org", "acme", "--dashboard", "acme/security"];
    let confirm = ["--org", "acme", "--dashboard", "acme/security", "--confirm"];

    // dry run: reads only, prints what it would send
    let o = run(&stub, root, "cache", &args, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("would create the issue"), "{}", o.stderr);
    assert!(o.stdout.contains(MARKER), "{}", o.stdout);
    assert_eq!(writes_on(&stub, "acme/security"), Vec::<String>::new());

    // first confirmed run creates it: one line per repository, counts only
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("issue #3 created"), "{}", o.stderr);
    let all = issues(&stub, "acme/security");
    assert_eq!(all.len(), 3);
    let body = all[2]["body"].as_str().expect("body").to_string();
    assert_eq!(all[2]["title"], "keysweep: secret sweep dashboard");
    assert!(body.contains("- [ ] `acme/a`: 1 open finding ("), "{body}");
    assert!(
        body.contains("- [ ] `acme/b`: 2 pipeline credential uses migratable to OIDC now"),
        "{body}"
    );
    let redacted = report(root)["findings"][0]["redacted"]
        .as_str()
        .expect("redacted")
        .to_string();
    assert!(
        !body.contains(&secret) && !body.contains(&redacted),
        "{body}"
    );

    // the secret removed, the workflow migrated: the same issue, now saying so
    crate::sweep::commit(&root.join("a"), "config.txt", "clean now\n");
    crate::sweep::commit(&root.join("b"), WF, HARMLESS);
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("issue #3 updated"), "{}", o.stderr);
    let all = issues(&stub, "acme/security");
    assert_eq!(all.len(), 3, "never a second issue");
    let body = all[2]["body"].as_str().expect("body");
    assert!(body.contains("Nothing open"), "{body}");
    assert!(!body.contains("- [ ]"), "{body}");
    assert_eq!(all[0]["body"], format!("{MARKER} pasted"));

    // nothing changed: nothing sent, nor from a merge of the state (as the merge job does)
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert!(
        o.stderr.contains("issue #3 already up to date"),
        "{}",
        o.stderr
    );
    let merged = keysweep()
        .args(["sweep", "merge"])
        .arg(root.join("cache/sweep.db"))
        .arg("--state")
        .arg(root.join("merged.db"))
        .args(["--dashboard", "acme/security", "--confirm"])
        .env("GITHUB_API_URL", &stub.url)
        .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
        .env("KEYSWEEP_WRITE_SPACING_MS", "0")
        .env_remove("GH_TOKEN")
        .env_remove("KEYSWEEP_APP_ID")
        .output()
        .expect("keysweep runs");
    let err = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(merged.status.code(), Some(0), "{err}");
    assert!(err.contains("issue #3 already up to date"), "{err}");
    assert_eq!(
        writes_on(&stub, "acme/security"),
        [
            "POST /repos/acme/security/issues",
            "PATCH /repos/acme/security/issues/3"
        ]
    );
    stub.assert_schema_valid();
}

fn pr_rows(report: &Value) -> Vec<(String, String)> {
    report["pull_requests"]
        .as_array()
        .expect("pull_requests")
        .iter()
        .map(|p| {
            (
                p["repo"].as_str().unwrap_or_default().to_string(),
                p["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn count(calls: &[String], call: &str) -> usize {
    calls.iter().filter(|c| c.as_str() == call).count()
}

#[test]
fn open_prs_at_most_max_new_per_run_never_a_duplicate() {
    let Some(stub) = Stub::start() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let path = |p: &Path| p.display().to_string();
    let mut listed = Vec::new();
    let mut key_ids = Vec::new();
    for (seed, name) in [(61, "one"), (62, "two")] {
        // an AWS key pair committed: the key the migration replaces
        let (id, secret) = aws_key_pair(seed);
        key_ids.push(id.clone());
        let config = format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
        let bare = repo(root, name, &config);
        crate::sweep::commit(&root.join(name), WF, DEPLOY);
        listed.push(json!({"name": name, "clone_url": path(&bare)}));
        stub.seed(json!({
            "repo": format!("acme/{name}"),
            "files": {WF: DEPLOY, "config.txt": "# demo\n"},
            "environments": ["production"],
            "env_secrets": {"production": ["AWS_SECRET_ACCESS_KEY"]},
            "secrets": ["AWS_ACCESS_KEY_ID"],
        }));
    }
    stub.control("/__seed_org", json!({"org": "acme", "repos": listed}));
    let ledger = root.join("ledger.jsonl");
    let ledger_arg = path(&ledger);
    let base = [
        "--org",
        "acme",
        "--open-prs",
        "--max-prs",
        "1",
        "--aws-account-id",
        "123456789012",
        "--aws-role-name",
        "deploy",
        "--ledger",
        ledger_arg.as_str(),
    ];
    let confirm: Vec<&str> = base.iter().copied().chain(["--confirm"]).collect();

    // dry run: what it would open, nothing sent
    let o = run(&stub, root, "cache", &base, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("pull request acme/one: would be opened"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("pull request acme/two: deferred"),
        "{}",
        o.stderr
    );
    assert_eq!(writes_on(&stub, "acme/one"), Vec::<String>::new());
    assert!(!ledger.exists(), "a dry run records nothing");

    // one new pull request per run, recorded in the state and the report
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        pr_rows(&report(root)),
        pairs(&[("acme/one", "opened"), ("acme/two", "deferred")])
    );
    assert_eq!(report(root)["pull_requests"][0]["targets"], "aws");
    assert_eq!(writes_on(&stub, "acme/two"), Vec::<String>::new());
    assert_eq!(stub.state("acme/one")["pulls"][0]["state"], "open");

    // the open one does not count and is not duplicated: the next repository gets its own
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        pr_rows(&report(root)),
        pairs(&[("acme/one", "unchanged"), ("acme/two", "opened")])
    );
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        pr_rows(&report(root)),
        pairs(&[("acme/one", "unchanged"), ("acme/two", "unchanged")])
    );
    for r in ["acme/one", "acme/two"] {
        let calls = stub.api_calls(r);
        assert_eq!(
            count(&calls, &format!("POST /repos/{r}/pulls")),
            1,
            "{calls:#?}"
        );
        assert_eq!(stub.state(r)["pulls"].as_array().map(Vec::len), Some(1));
    }
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    assert_eq!(text.matches("\"pr-opened\"").count(), 2, "{text}");
    let md = std::fs::read_to_string(root.join("report.json")).expect("report");
    assert!(md.contains("/pull/"), "{md}");

    // acme/one's pull request merged, acme/two's key deleted by retire (as its ledger records
    // it): rotated and retired, each transition with this sweep's id, nothing open
    stub.merge("acme/one", 1);
    let hint = format!("…{}", &key_ids[1][16..]);
    keysweep::ledger::Ledger::new(&ledger)
        .append(keysweep::ledger::Record {
            actor: "someone".into(),
            repository: "acme/two".into(),
            secret: Some("AWS_ACCESS_KEY_ID".into()),
            action: "key-deleted".into(),
            result: "ok".into(),
            evidence: [
                ("key".to_string(), hint),
                ("iam-user".to_string(), "deploy".to_string()),
            ]
            .into(),
        })
        .expect("ledger");
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r = report(root);
    let statuses: Vec<(String, String, String)> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["repo"].as_str().unwrap_or_default().to_string(),
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut statuses = statuses;
    statuses.sort();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        statuses,
        [
            s("acme/one", "aws-access-key-id", "rotated"),
            s("acme/one", "aws-secret-access-key", "rotated"),
            s("acme/two", "aws-access-key-id", "retired"),
            s("acme/two", "aws-secret-access-key", "retired"),
        ]
    );
    assert_eq!(
        pr_rows(&r),
        pairs(&[("acme/one", "merged"), ("acme/two", "unchanged")])
    );
    let sweep = r["trend"].as_array().and_then(|t| t.last()).expect("trend")[0]
        .as_i64()
        .expect("sweep id");
    assert_eq!(
        r["trend"][r["trend"].as_array().map_or(0, Vec::len) - 1][1],
        0
    );
    let db = rusqlite::Connection::open(root.join("cache/sweep.db")).expect("state");
    let moved: Vec<(String, String, i64)> = db
        .prepare("SELECT repo, to_status, sweep FROM transitions WHERE to_status IN ('rotated','retired') ORDER BY repo")
        .expect("sql")
        .query_map([], |q| Ok((q.get(0)?, q.get(1)?, q.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let t = |a: &str, b: &str| (a.to_string(), b.to_string(), sweep);
    assert_eq!(
        moved,
        [
            t("acme/one", "rotated"),
            t("acme/one", "rotated"),
            t("acme/two", "retired"),
            t("acme/two", "retired")
        ]
    );
    // final: a later sweep keeps them so and sends nothing new
    let before = stub.requests().len();
    let o = run(&stub, root, "cache", &confirm, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(report(root)["open_findings"], 0);
    let after: Vec<Value> = stub.requests()[before..].to_vec();
    assert!(after.iter().all(|q| q["method"] == "GET"), "{after:#?}");
    stub.assert_schema_valid();
}
