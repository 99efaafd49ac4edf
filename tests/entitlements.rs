//! `keysweep entitlements`: an org's long-lived credentials listed through the stateful GitHub
//! stub (tests/support/gh_stub_entitlements.py, every request replayed to Prism with GitHub's
//! OpenAPI description), cross-referenced with the workflows read through the API, judged,
//! rendered, and remediated with `--apply ... --confirm` into the evidence ledger.
//!
//! One stub for the whole scenario (CI time): a dormant secret, a stale one, one read by a
//! migratable workflow, an org secret visible to all but read by one repository, a deploy key
//! with write access only used to check out, a token without expiry, a 403 on one listing,
//! and pagination (two items a page).

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};

use crate::common::keysweep;
use crate::support::gh_stub::{writes, Stub};

const API_WORKFLOW: &str = "name: release
on: push
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ssh-key: ${{ secrets.DEPLOY_KEY }}
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
      - run: ./notify.sh
        env:
          SLACK_WEBHOOK: ${{ secrets.SLACK_WEBHOOK }}
          SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}
";

const WEB_WORKFLOW: &str = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
";

/// A webhook URL with a token in its query: only the host may ever be shown.
const HOOK_URL: &str = "https://hooks.example.test/in?token=synthetic-hook-token-not-shown";

fn days_ago(n: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * n)).to_string()
}

fn days_ahead(n: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * n)).to_string()
}

fn seed(stub: &Stub) -> (u64, u64) {
    let api = stub.seed(json!({
        "repo": "acme/api", "id": 501,
        "files": {".github/workflows/release.yml": API_WORKFLOW},
        "environments": ["prod"],
        "secrets": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DEPLOY_KEY",
                    "OLD_DEPLOY_TOKEN", "SENTRY_AUTH_TOKEN"],
        "env_secrets": {"prod": ["PROD_DB_PASSWORD"]},
    }));
    let web = stub.seed(json!({
        "repo": "acme/web", "id": 502,
        "files": {".github/workflows/ci.yml": WEB_WORKFLOW},
    }));
    let recent = days_ago(10);
    stub.control(
        "/__entitlements_seed",
        json!({
            "org": "acme", "repos": ["acme/api", "acme/web"],
            "visibility": {"acme/api": "private", "acme/web": "public"},
            "secrets": [
                {"name": "SLACK_WEBHOOK", "visibility": "all", "created_at": recent, "updated_at": recent},
                {"name": "ORG_DORMANT", "visibility": "selected", "selected": ["acme/web"],
                 "created_at": recent, "updated_at": recent},
            ],
            "dependabot_secrets": [{"name": "NPM_REGISTRY_TOKEN", "updated_at": recent}],
            "pats": [
                {"token_name": "release-bot", "owner": "octocat", "token_expires_at": null,
                 "token_last_used_at": days_ago(2), "access_granted_at": days_ago(30),
                 "permissions": {"repository": {"contents": "read"}},
                 "repositories": ["acme/api"]},
                {"token_name": "old-script", "owner": "hubot", "token_expires_at": days_ahead(60),
                 "token_last_used_at": days_ago(300), "access_granted_at": days_ago(400)},
            ],
            "pat_requests": [
                {"token_name": "new-tool", "owner": "monalisa", "token_expires_at": days_ahead(30),
                 "reason": "release notes"},
            ],
            "credential_authorizations": [
                {"login": "octocat", "credential_accessed_at": days_ago(200),
                 "authorized_credential_expires_at": days_ahead(100)},
            ],
            "installations": [
                {"app_slug": "admin-bot", "repository_selection": "all",
                 "permissions": {"administration": "write", "contents": "read", "metadata": "read"}},
                {"app_slug": "ci-checks", "repository_selection": "selected",
                 "permissions": {"checks": "write", "metadata": "read"}},
            ],
            "hooks": [
                {"url": HOOK_URL, "secret": true, "created_at": days_ago(400), "updated_at": days_ago(200)},
                {"url": "https://no-secret.example.test/x", "secret": false},
            ],
            "repo_meta": {
                "acme/api": {
                    "secret_dates": {
                        "AWS_ACCESS_KEY_ID": recent, "AWS_SECRET_ACCESS_KEY": recent,
                        "DEPLOY_KEY": recent, "OLD_DEPLOY_TOKEN": recent,
                        "SENTRY_AUTH_TOKEN": days_ago(400),
                    },
                    "env_secret_dates": {"prod": {"PROD_DB_PASSWORD": recent}},
                    "deploy_keys": [
                        {"title": "ci-checkout", "read_only": false, "created_at": days_ago(20),
                         "last_used": days_ago(1), "added_by": "octocat"},
                        {"title": "old-mirror", "read_only": true, "created_at": days_ago(30),
                         "last_used": days_ago(200)},
                    ],
                },
                "acme/web": {},
            },
        }),
    );
    (api["id"].as_u64().unwrap(), web["id"].as_u64().unwrap())
}

fn run(stub: &Stub, ledger: &Path, args: &[&str]) -> Output {
    keysweep()
        .args(["entitlements", "--org", "acme"])
        .args(args)
        .arg("--ledger")
        .arg(ledger)
        .env("GITHUB_API_URL", &stub.url)
        .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
        .env("KEYSWEEP_WRITE_SPACING_MS", "0")
        .env("KEYSWEEP_GITHUB_PER_PAGE", "2")
        .env("KEYSWEEP_ACTOR", "entitlement-test")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn state(stub: &Stub) -> Value {
    let body = ureq::get(&format!("{}/__entitlements_state?org=acme", stub.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// `kind name -> [verdicts]` of a JSON review.
fn verdicts(review: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    review["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let key = format!(
                "{} {}",
                c["kind"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            );
            let v = c["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["kind"].as_str().unwrap().to_string())
                .collect();
            (key, v)
        })
        .collect()
}

/// Prism checked every request; the one it cannot know is SAML SSO's, which only GitHub
/// Enterprise Cloud's description has (api.github.com's does not).
fn assert_schema_valid_but_sso(stub: &Stub) {
    let bad: Vec<Value> = stub
        .requests()
        .into_iter()
        .filter(|r| r["violations"].as_array().is_some_and(|v| !v.is_empty()))
        .filter(|r| {
            let sso = r["path"]
                .as_str()
                .unwrap()
                .contains("/credential-authorizations");
            let only_unknown_path = r["violations"].as_array().unwrap().iter().all(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("no operation"))
            });
            !(sso && only_unknown_path)
        })
        .collect();
    assert!(
        bad.is_empty(),
        "requests GitHub's OpenAPI description rejects: {bad:#?}"
    );
}

#[test]
fn review_then_apply() {
    let Some(stub) = Stub::start() else { return };
    let (api_id, _) = seed(&stub);
    // the 403 on one listing: the review says what it needs and goes on
    stub.fail(
        "GET",
        "^/orgs/acme/codespaces/secrets$",
        403,
        json!({"x-accepted-github-permissions": "organization_codespaces_secrets=read"}),
        json!({"message": "Resource not accessible by personal access token"}),
        10,
    );
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");

    let state_file = dir.path().join("entitlements-state.json");
    let state_arg = state_file.to_str().unwrap();
    let o = run(&stub, &ledger, &["--format", "json", "--state", state_arg]);
    assert_eq!(o.status.code(), Some(1), "verdicts: exit 1: {}", text(&o));
    let review: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = verdicts(&review);
    let is = |k: &str, want: &[&str]| {
        assert_eq!(
            v.get(k)
                .map(|x| x.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(want.to_vec()),
            "{k}: {v:#?}"
        )
    };
    is("actions-secret OLD_DEPLOY_TOKEN", &["dormant"]);
    is("environment-secret PROD_DB_PASSWORD", &["dormant"]);
    is("actions-secret SENTRY_AUTH_TOKEN", &["stale"]);
    is("actions-secret AWS_ACCESS_KEY_ID", &["migratable"]);
    is("actions-secret DEPLOY_KEY", &[]);
    is("org-actions-secret SLACK_WEBHOOK", &["over-broad"]);
    is("org-actions-secret ORG_DORMANT", &["dormant"]);
    is("deploy-key ci-checkout", &["over-broad"]);
    is("deploy-key old-mirror", &["unused"]);
    is("fine-grained-token release-bot", &["no-expiry"]);
    is("fine-grained-token old-script", &["unused"]);
    is("token-request new-tool", &[]);
    is("app-installation admin-bot", &["over-broad"]);
    is("app-installation ci-checks", &[]);
    is("org-webhook web → hooks.example.test", &["stale"]);
    is("org-dependabot-secret NPM_REGISTRY_TOKEN", &[]);
    assert!(
        v.keys().any(|k| k.starts_with("sso-authorization ")),
        "{v:#?}"
    );
    assert_eq!(
        v.iter()
            .filter(|(k, _)| k.starts_with("org-webhook"))
            .count(),
        1,
        "only hooks with a secret: {v:#?}"
    );
    let slack = review["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "SLACK_WEBHOOK")
        .unwrap();
    let reason = slack["verdicts"][0]["reason"].as_str().unwrap();
    assert_eq!(
        reason, "visible to 2 repositories (visibility all), read by 1: acme/api",
        "{slack:#}"
    );
    assert!(slack["readers"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("release.yml"));
    let bot = review["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "release-bot")
        .unwrap();
    assert_eq!(bot["scope"], "org acme, 1 repository: acme/api", "{bot:#}");
    assert_eq!(bot["selected_repositories"], json!(["acme/api"]));
    let hidden: Vec<&Value> = review["listings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["not_visible"].is_string())
        .collect();
    assert_eq!(hidden.len(), 1, "{hidden:#?}");
    assert_eq!(
        hidden[0]["not_visible"],
        "not visible with this token (needs organization_codespaces_secrets=read)"
    );
    assert!(review["pipelines_unread"].as_object().unwrap().is_empty());
    // pagination: two secrets a page, five repository secrets -> three pages
    let pages: Vec<String> = stub
        .requests()
        .iter()
        .filter(|r| r["path"] == "/repos/acme/api/actions/secrets")
        .map(|r| r["query"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[2].contains("page=3"), "{pages:?}");
    assert!(writes(&stub.api_calls("acme/api")).is_empty(), "read-only");

    // the human report: grouped by verdict, worst first; the webhook's token never shown
    let o = run(&stub, &ledger, &[]);
    let human = String::from_utf8_lossy(&o.stdout).to_string();
    let at = |s: &str| {
        human
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} missing:\n{human}"))
    };
    assert!(at("== over-broad") < at("== no-expiry"));
    assert!(at("== no-expiry") < at("== dormant"));
    assert!(at("== dormant") < at("== unused"));
    assert!(at("== unused") < at("== stale"));
    assert!(at("== stale") < at("== migratable"));
    assert!(at("== migratable") < at("== no verdict"));
    at("codespaces secrets of org acme: not visible with this token (needs organization_codespaces_secrets=read)");
    at("--apply narrow-org-secret");
    assert!(!human.contains("synthetic-hook-token"), "{human}");

    // remediation: a dry run prints every request and sends nothing (its report, HTML in
    // a file, in the sweep report's style)
    let all = "delete-dormant-secrets,delete-unused-deploy-keys,revoke-token-access,remove-sso-authorization,narrow-org-secret";
    let before = stub.requests().len();
    let html_file = dir.path().join("review.html");
    let o = run(
        &stub,
        &ledger,
        &[
            "--format",
            "html",
            "--output",
            html_file.to_str().unwrap(),
            "--apply",
            all,
        ],
    );
    let out = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(o.stdout.is_empty());
    let html = std::fs::read_to_string(&html_file).unwrap();
    assert!(html.contains("<span class=\"pill s-over-broad\">over-broad</span>"));
    assert!(html.contains("default-src 'none'") && !html.contains("<script"));
    assert!(!html.contains("synthetic-hook-token"));
    for want in [
        "would send DELETE /repos/acme/api/actions/secrets/OLD_DEPLOY_TOKEN",
        "would send DELETE /repos/acme/api/environments/prod/secrets/PROD_DB_PASSWORD",
        "would send DELETE /orgs/acme/actions/secrets/ORG_DORMANT",
        "would send DELETE /repos/acme/api/keys/",
        "would send POST /orgs/acme/personal-access-tokens/",
        "would send DELETE /orgs/acme/credential-authorizations/",
        "would send PUT /orgs/acme/actions/secrets/SLACK_WEBHOOK {\"selected_repository_ids\":[",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    assert!(out.contains("dry run: 8 change(s)"), "{out}");
    let sent: Vec<Value> = stub.requests()[before..]
        .iter()
        .filter(|r| r["method"] != "GET")
        .cloned()
        .collect();
    assert!(sent.is_empty(), "a dry run sends nothing: {sent:#?}");
    assert!(!ledger.exists());

    // with --confirm (and the report as JSON lines, one per credential, for a SIEM)
    let o = run(
        &stub,
        &ledger,
        &["--format", "jsonl", "--apply", all, "--confirm"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("8 change(s) made, 0 failed"), "{out}");
    let jsonl = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!jsonl.contains("synthetic-hook-token"), "{jsonl}");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l["record"] == "credential").count(),
        v.len()
    );
    assert!(lines.iter().all(|l| l["reviewed_at"].is_string()));
    let core = stub.state("acme/api");
    assert!(
        !core["secrets"]
            .as_array()
            .unwrap()
            .contains(&json!("OLD_DEPLOY_TOKEN")),
        "{core}"
    );
    assert_eq!(core["env_secrets"]["prod"], json!([]), "{core}");
    let s = state(&stub);
    // release-bot (no expiry) and old-script (unused) lose their org access
    assert_eq!(s["revoked"], json!(["release-bot", "old-script"]), "{s}");
    assert_eq!(s["removed"], json!(["octocat"]), "{s}");
    assert_eq!(s["deploy_keys"]["acme/api"], json!(["ci-checkout"]), "{s}");
    let slack = s["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "SLACK_WEBHOOK")
        .unwrap();
    assert_eq!(slack["visibility"], "selected", "{s}");
    assert_eq!(slack["selected"], json!(["acme/api"]), "{s}");
    assert!(!s["secrets"].to_string().contains("ORG_DORMANT"), "{s}");
    let put = stub
        .requests()
        .into_iter()
        .find(|r| r["method"] == "PUT")
        .unwrap();
    assert_eq!(
        put["body"],
        json!({"visibility": "selected", "selected_repository_ids": [api_id]})
    );
    assert_schema_valid_but_sso(&stub);

    // the ledger: one chained line per change
    let l = keysweep()
        .args(["ledger", "verify"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert!(l.status.success(), "{}", text(&l));
    let entries: Vec<Value> = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 8);
    assert!(entries.iter().all(|e| e["result"] == "ok"
        && e["actor"] == "entitlement-test"
        && e["action"].as_str().unwrap().starts_with("entitlement-")));
    assert!(entries
        .iter()
        .any(|e| e["action"] == "entitlement-narrow-org-secret"
            && e["evidence"]["repositories"] == "acme/api"));

    // the next review: what was fixed is gone
    let o = run(&stub, &ledger, &["--format", "json", "--state", state_arg]);
    let after: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = verdicts(&after);
    for gone in [
        "actions-secret OLD_DEPLOY_TOKEN",
        "org-actions-secret ORG_DORMANT",
        "deploy-key old-mirror",
        "fine-grained-token release-bot",
        "fine-grained-token old-script",
    ] {
        assert!(!v.contains_key(gone), "{gone}: {v:#?}");
    }
    assert_eq!(v["org-actions-secret SLACK_WEBHOOK"], Vec::<String>::new());
    // tracked across the two reviews with --state: what was fixed is resolved, the rest open
    let mut resolved: Vec<String> = after["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["verdict"].as_str().unwrap(),
                r["credential"].as_str().unwrap()
            )
        })
        .collect();
    resolved.sort();
    assert_eq!(resolved.len(), 8, "{resolved:#?}");
    assert!(
        resolved[0].starts_with("dormant actions-secret OLD_DEPLOY_TOKEN"),
        "{resolved:#?}"
    );
    let sentry = after["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "SENTRY_AUTH_TOKEN")
        .unwrap();
    assert_eq!(sentry["verdicts"][0]["status"], "open", "{sentry:#}");
}

#[test]
fn no_scope_is_a_one_line_error() {
    let o = keysweep()
        .arg("entitlements")
        .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing to review: give --org ORG or --repo OWNER/REPO"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_repository_that_cannot_be_read_is_named_and_the_others_reviewed() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({
        "repo": "solo/one",
        "files": {".github/workflows/ci.yml": WEB_WORKFLOW},
        "secrets": ["UNREAD_TOKEN"],
    }));
    let o = keysweep()
        .args([
            "entitlements",
            "--repo",
            "solo/one",
            "--repo",
            "solo/missing",
        ])
        .env("GITHUB_API_URL", &stub.url)
        .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("keysweep: error: solo/missing: GET /repos/solo/missing: 404 Not Found"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("actions-secret UNREAD_TOKEN  [solo/one]"),
        "{out}"
    );
    assert!(
        out.contains("dormant: no workflow on the default branch reads it"),
        "{out}"
    );
    assert!(out.contains("== not reviewed\n  solo/missing: "), "{out}");
    // no org: no org-level listing is asked for
    assert!(
        stub.requests()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/orgs/")),
        "{:?}",
        stub.requests()
    );
    stub.assert_schema_valid();
}

/// `sweep --entitlements ORG`: the review runs after the sweep, beside each of its reports,
/// and its verdicts are tracked over sweeps (new, then resolved once fixed).
#[cfg(feature = "sweep")]
#[test]
fn the_sweep_tracks_the_review_over_sweeps() {
    let Some(stub) = Stub::start() else { return };
    stub.seed(json!({
        "repo": "sweep-org/app",
        "files": {".github/workflows/ci.yml": WEB_WORKFLOW},
        "secrets": ["FORGOTTEN_TOKEN"],
    }));
    stub.control(
        "/__entitlements_seed",
        json!({"org": "sweep-org", "repos": ["sweep-org/app"], "repo_meta": {"sweep-org/app": {}}}),
    );
    let swept = crate::common::repo::Repo::new();
    swept.commit("init", &[("README.md", "nothing secret\n")]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("repos.txt"),
        format!("{}\n", swept.path.display()),
    )
    .unwrap();
    let sweep = || {
        keysweep()
            .args(["sweep", "--quiet", "--repos"])
            .arg(dir.path().join("repos.txt"))
            .arg("--cache")
            .arg(dir.path().join("cache"))
            .arg("--json")
            .arg(dir.path().join("report.json"))
            .arg("--html")
            .arg(dir.path().join("report.html"))
            .args(["--entitlements", "sweep-org"])
            .env("GITHUB_API_URL", &stub.url)
            .env("GITHUB_TOKEN", "ghp_000000000000000000000000000000000000")
            .output()
            .unwrap()
    };
    let read = || -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("report.entitlements.json")).unwrap(),
        )
        .unwrap()
    };
    let o = sweep();
    assert_eq!(o.status.code(), Some(1), "a verdict: {}", text(&o));
    let r = read();
    let forgotten = &r["credentials"][0];
    assert_eq!(forgotten["name"], "FORGOTTEN_TOKEN", "{r:#}");
    assert_eq!(forgotten["verdicts"][0]["kind"], "dormant");
    assert_eq!(forgotten["verdicts"][0]["status"], "new");
    let html = std::fs::read_to_string(dir.path().join("report.entitlements.html")).unwrap();
    assert!(
        html.contains("<span class=\"pill s-new\">new</span>"),
        "{html}"
    );
    // the verdicts are also a section of the sweep's own reports
    let rep: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let section = &rep["entitlements"];
    assert_eq!(section["org"], "sweep-org", "{rep:#}");
    assert_eq!(section["verdicts"][0]["verdict"], "dormant", "{rep:#}");
    assert_eq!(section["verdicts"][0]["status"], "new");
    assert!(section["verdicts"][0]["credential"]
        .as_str()
        .unwrap()
        .contains("FORGOTTEN_TOKEN"));
    let sweep_html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(sweep_html.contains("Entitlements of <code>sweep-org</code>"));

    // someone deletes the secret; the next sweep says so
    let del = ureq::delete(&format!(
        "{}/repos/sweep-org/app/actions/secrets/FORGOTTEN_TOKEN",
        stub.url
    ))
    .call()
    .unwrap();
    assert_eq!(del.status(), 204);
    let o = sweep();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = read();
    assert_eq!(r["resolved"][0]["verdict"], "dormant", "{r:#}");
    assert!(r["resolved"][0]["credential"]
        .as_str()
        .unwrap()
        .starts_with("actions-secret FORGOTTEN_TOKEN"));
    assert!(dir.path().join("cache/entitlements-state.json").is_file());
    let rep: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(rep["entitlements"]["resolved"], 1, "{rep:#}");
    assert_eq!(rep["entitlements"]["verdicts"].as_array().unwrap().len(), 0);
}
