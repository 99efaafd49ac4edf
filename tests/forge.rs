//! `keysweep::forge::Client` against real counterparts: Prism serving GitHub's OpenAPI
//! description (every request schema-checked) and the stateful stub (tests/support/gh_stub.py)
//! for pagination, typed errors, rate limits and write spacing.
use std::time::{Duration, Instant};

use keysweep::forge::{Client, ClientOptions, Credentials, ForgeError};
use serde_json::{json, Value};

use crate::support::gh_stub::{prism, Stub};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn client(base: &str, spacing_ms: u64, max_wait_s: u64) -> Client {
    Client::new(
        Credentials::Token(
            "ghp_000000000000000000000000000000000000"
                .to_string()
                .into(),
        ),
        ClientOptions {
            base_url: base.to_string(),
            write_spacing: Duration::from_millis(spacing_ms),
            max_wait: Duration::from_secs(max_wait_s),
            retry_base: Duration::from_millis(50),
            max_retries: 3,
        },
    )
    .unwrap()
}

fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("ks-{tag}-{}-{n}", std::process::id())
}

#[test]
fn prism_accepts_every_request_the_client_sends() {
    let Some(prism) = prism() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but Prism is not answering: eval \"$(scripts/fakes.sh start)\"");
        }
        eprintln!("\n!!!!!!!! SKIPPED: Prism not answering; eval \"$(scripts/fakes.sh start)\"\n");
        return;
    };
    let owner = unique("forge");
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&prism, 0, 5);
    rt.block_on(async {
        let repo = c.get(&format!("/repos/{owner}/r")).await.unwrap();
        assert!(repo["default_branch"].is_string(), "{repo}");
        c.get(&format!("/repos/{owner}/r/actions/oidc/customization/sub"))
            .await
            .unwrap();
        // (Prism's example `Link` points at a page that does not exist: no get_all here)
        let labels = c.get(&format!("/repos/{owner}/r/labels")).await.unwrap();
        assert!(labels.as_array().is_some_and(|l| !l.is_empty()), "{labels}");
        c.post(
            &format!("/repos/{owner}/r/issues/1/comments"),
            &json!({"body": "hello"}),
        )
        .await
        .unwrap();
        c.post(
            &format!("/repos/{owner}/r/git/blobs"),
            &json!({"content": "aGVsbG8=", "encoding": "base64"}),
        )
        .await
        .unwrap();
        c.delete(&format!(
            "/repos/{owner}/r/git/refs/heads%2Fkeysweep%2Foidc-migration"
        ))
        .await
        .unwrap();
        // a request GitHub's description refuses is a 422 from Prism, typed
        let e = c
            .post(&format!("/repos/{owner}/r/pulls"), &json!({"title": 5}))
            .await
            .unwrap_err();
        assert!(matches!(e, ForgeError::Unprocessable { .. }), "{e}");
    });
    let recs: Vec<Value> = ureq::get(&format!("{prism}/__requests"))
        .call()
        .unwrap()
        .into_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let mine: Vec<&Value> = recs
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains(&owner))
        .collect();
    assert_eq!(mine.len(), 7, "{mine:#?}");
    // Prism also reports where GitHub's own response examples miss their schema: only the
    // request's violations are ours
    let request_violations = |r: &Value| -> Vec<Value> {
        r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["location"][0] == "request")
            .cloned()
            .collect()
    };
    for r in &mine[..6] {
        assert_eq!(request_violations(r), Vec::<Value>::new(), "{r}");
        assert!(r["authorization"].as_bool().unwrap(), "{r}");
        assert_ne!(r["status"], 422, "{r}");
    }
    assert_ne!(request_violations(mine[6]), Vec::<Value>::new());
}

#[test]
fn get_all_follows_link_next() {
    let Some(stub) = Stub::start() else { return };
    let names: Vec<String> = (0..7).map(|i| format!("SECRET_{i}")).collect();
    stub.seed(json!({"repo": "pg/r", "secrets": names}));
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 5);
    let all = rt
        .block_on(c.get_all("/repos/pg/r/actions/secrets?per_page=3"))
        .unwrap();
    let got: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(stub.api_calls("pg/r").len(), 3);
    stub.assert_schema_valid();
}

#[test]
fn typed_one_line_errors() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "er/r"}));
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 5);
    let e = rt.block_on(c.get("/repos/er/missing")).unwrap_err();
    assert!(matches!(e, ForgeError::NotFound { .. }));
    assert_eq!(e.to_string(), "GET /repos/er/missing: 404 Not Found: Not Found (it does not exist, or the token cannot see it)");

    stub.fail(
        "POST",
        "/git/blobs$",
        403,
        json!({"x-accepted-github-permissions": "contents=write"}),
        json!({"message": "Resource not accessible by integration"}),
        1,
    );
    let e = rt
        .block_on(c.post("/repos/er/r/git/blobs", &json!({"content": "x"})))
        .unwrap_err();
    assert_eq!(e.to_string(), "POST /repos/er/r/git/blobs: 403 Forbidden: Resource not accessible by integration (the token lacks the permission contents=write)");

    stub.fail(
        "GET",
        "/actions/secrets$",
        401,
        json!({}),
        json!({"message": "Bad credentials"}),
        1,
    );
    let e = rt
        .block_on(c.get("/repos/er/r/actions/secrets"))
        .unwrap_err();
    assert!(matches!(e, ForgeError::Unauthorized { .. }), "{e}");

    stub.fail(
        "PATCH",
        "/git/refs/",
        409,
        json!({}),
        json!({"message": "Git Repository is empty."}),
        1,
    );
    let e = rt
        .block_on(c.patch(
            "/repos/er/r/git/refs/heads/x",
            &json!({"sha": "0".repeat(40)}),
        ))
        .unwrap_err();
    assert!(matches!(e, ForgeError::Conflict { .. }), "{e}");

    // the 422 body @octokit/fixtures recorded for an invalid label colour
    let fixtures = std::env::var("KEYSWEEP_OCTOKIT_FIXTURES").unwrap_or_default();
    let recorded: Value = std::fs::read_to_string(format!("{fixtures}/errors/normalized-fixture.json"))
        .map(|t| serde_json::from_str::<Value>(&t).unwrap()[0]["response"].clone())
        .unwrap_or_else(|_| json!({"message": "Validation Failed", "errors": [{"resource": "Label", "code": "invalid", "field": "color"}]}));
    stub.fail("POST", "/labels$", 422, json!({}), recorded, 1);
    let e = rt
        .block_on(c.post("/repos/er/r/labels", &json!({"name": "x", "color": "nope"})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "POST /repos/er/r/labels: 422 Unprocessable: Validation Failed (Label color invalid)"
    );
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn secondary_limit_then_success_waits_retry_after() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "rl/r"}));
    stub.fail("POST", "/git/blobs$", 403, json!({"retry-after": "1"}),
        json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}), 1);
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 10);
    let t = Instant::now();
    let b = rt
        .block_on(c.post(
            "/repos/rl/r/git/blobs",
            &json!({"content": "hi", "encoding": "utf-8"}),
        ))
        .unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(b["sha"].as_str().unwrap().len(), 40);
    let calls = stub.api_calls("rl/r");
    assert_eq!(
        calls,
        ["POST /repos/rl/r/git/blobs", "POST /repos/rl/r/git/blobs"]
    );
    stub.assert_schema_valid();
}

#[test]
fn primary_limit_beyond_the_budget_is_a_clear_error() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "pl/r"}));
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    stub.fail(
        "GET",
        "^/repos/pl/r$",
        403,
        json!({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset.to_string()}),
        json!({"message": "API rate limit exceeded"}),
        1,
    );
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 2);
    let t = Instant::now();
    let e = rt.block_on(c.get("/repos/pl/r")).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(matches!(e, ForgeError::RateLimited { .. }), "{e}");
    assert!(
        e.to_string().contains("KEYSWEEP_GITHUB_MAX_WAIT_SECS"),
        "{e}"
    );
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "se/r"}));
    stub.fail(
        "GET",
        "^/repos/se/r$",
        502,
        json!({}),
        json!({"message": "Server Error"}),
        2,
    );
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 10);
    let repo = rt.block_on(c.get("/repos/se/r")).unwrap();
    assert_eq!(repo["full_name"], "se/r");
    assert_eq!(stub.api_calls("se/r").len(), 3);
}

#[test]
fn writes_are_spaced_and_one_at_a_time() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "sp/r"}));
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 400, 10);
    let t = Instant::now();
    rt.block_on(async {
        let (ba, bb, bc) = (
            json!({"content": "a"}),
            json!({"content": "b"}),
            json!({"content": "c"}),
        );
        let a = c.post("/repos/sp/r/git/blobs", &ba);
        let b = c.post("/repos/sp/r/git/blobs", &bb);
        let d = c.post("/repos/sp/r/git/blobs", &bc);
        let (a, b, d) = tokio::join!(a, b, d);
        a.unwrap();
        b.unwrap();
        d.unwrap();
    });
    // three writes, two gaps of at least 400 ms, even when issued concurrently
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    stub.assert_schema_valid();
}

#[test]
fn the_stub_flags_requests_githubs_description_rejects() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({"repo": "sv/r"}));
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 5);
    // `title` must be a string: the stub still answers, Prism's verdict is recorded
    let _ = rt.block_on(c.post(
        "/repos/sv/r/pulls",
        &json!({"title": 5, "head": "x", "base": "main"}),
    ));
    let recs = stub.requests();
    let v = recs
        .iter()
        .find(|r| r["path"] == "/repos/sv/r/pulls")
        .unwrap();
    assert_ne!(v["violations"], json!([]), "{v}");
}

/// The stub's retire-side state (a merged PR, workflow runs, secrets), driven through the
/// client: what `retire` tests build on.
#[test]
fn stub_serves_merged_prs_runs_and_secret_deletion() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(
        json!({"repo": "rt/r", "files": {"README.md": "x\n"}, "secrets": ["AWS_KEY"],
        "environments": ["prod"], "env_secrets": {"prod": ["NPM_TOKEN"]}}),
    );
    stub.push(
        "rt/r",
        "feature",
        json!({"a.txt": "a\n"}),
        "work",
        "octocat",
    );
    let rt = rt();
    let _in_rt = rt.enter();
    let c = client(&stub.url, 0, 5);
    rt.block_on(async {
        let pr = c
            .post(
                "/repos/rt/r/pulls",
                &json!({"title": "t", "head": "feature", "base": "main", "body": "b"}),
            )
            .await
            .unwrap();
        assert_eq!(pr["number"], 1);
        let merge = stub.merge("rt/r", 1);
        let pr = c.get("/repos/rt/r/pulls/1").await.unwrap();
        assert_eq!(pr["merged"], true);
        assert_eq!(pr["merge_commit_sha"], merge.as_str());
        stub.add_run(
            "rt/r",
            ".github/workflows/deploy.yml",
            &merge,
            "success",
            json!({}),
        );
        let runs = c
            .get_all("/repos/rt/r/actions/workflows/deploy.yml/runs?branch=main")
            .await
            .unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["head_sha"], merge.as_str());
        let cmp = c
            .get(&format!("/repos/rt/r/compare/{merge}...main"))
            .await
            .unwrap();
        assert_eq!(cmp["status"], "identical");
        c.delete("/repos/rt/r/actions/secrets/AWS_KEY")
            .await
            .unwrap();
        c.delete("/repos/rt/r/environments/prod/secrets/NPM_TOKEN")
            .await
            .unwrap();
    });
    let st = stub.state("rt/r");
    assert_eq!(st["secrets"], json!([]));
    assert_eq!(st["env_secrets"]["prod"], json!([]));
    stub.assert_schema_valid();
}
