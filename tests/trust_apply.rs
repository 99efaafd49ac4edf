//! `keysweep trust apply`: the plan's AWS trust created in moto's IAM (create, reuse, update
//! with a diff, idempotent second run); the other targets printed, never run. Each moto test
//! works in its own AWS account (moto keys state by account), so tests share the server
//! without sharing state.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::keysweep;

/// One fresh AWS account in the shared moto server, with an admin user's key.
pub struct Moto {
    pub endpoint: String,
    pub account: String,
    pub key_id: String,
    secret: String,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

impl Moto {
    /// `None` (and a loud skip message) when moto is not running outside CI; in CI a
    /// missing moto fails the test.
    pub fn account() -> Option<Moto> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
        let reachable = endpoint
            .as_deref()
            .is_some_and(|e| ureq::get(&format!("{e}/moto-api/")).call().is_ok());
        if !reachable {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but moto is not reachable at AWS_ENDPOINT_URL={endpoint:?}: run `eval \"$(scripts/moto.sh start)\"`");
            }
            eprintln!(
                "\n!!!!!!!! SKIPPED: moto test: AWS_ENDPOINT_URL={endpoint:?} not reachable.\n\
                 !!!!!!!! Run `eval \"$(scripts/moto.sh start)\"` first.\n"
            );
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let n = (nanos / 1000
            + u64::from(std::process::id()) * 7919
            + NEXT.fetch_add(1, Ordering::SeqCst) * 104_729)
            % 900_000_000_000
            + 100_000_000_000;
        let mut m = Moto {
            endpoint: endpoint.unwrap(),
            account: n.to_string(),
            key_id: String::new(),
            secret: String::new(),
        };
        m.call(&[("Action", "CreateUser"), ("UserName", "keysweep-admin")]);
        let (id, secret) = m.create_key("keysweep-admin");
        m.key_id = id;
        m.secret = secret;
        Some(m)
    }

    /// An IAM query API call in this account, unsigned (moto checks no signatures; it takes
    /// the service from the credential scope and records `as_key` as used).
    pub fn call_as(&self, as_key: &str, form: &[(&str, &str)]) -> Result<String, String> {
        let mut f: Vec<(&str, &str)> = vec![("Version", "2010-05-08")];
        f.extend_from_slice(form);
        ureq::post(&format!("{}/", self.endpoint))
            .set("x-moto-account-id", &self.account)
            .set(
                "Authorization",
                &format!("AWS4-HMAC-SHA256 Credential={as_key}/20261202/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .send_form(&f)
            .map_err(|e| match e {
                ureq::Error::Status(_, r) => r.into_string().unwrap_or_default(),
                e => e.to_string(),
            })
            .map(|r| r.into_string().unwrap())
    }

    pub fn call(&self, form: &[(&str, &str)]) -> String {
        self.call_as("testing", form)
            .unwrap_or_else(|e| panic!("{form:?}: {e}"))
    }

    /// (access key id, secret) of a new key of `user`.
    pub fn create_key(&self, user: &str) -> (String, String) {
        let body = self.call(&[("Action", "CreateAccessKey"), ("UserName", user)]);
        (
            xml(&body, "AccessKeyId").unwrap(),
            xml(&body, "SecretAccessKey").unwrap(),
        )
    }

    /// A new IAM user and its key (id, secret).
    pub fn create_key_for_new_user(&self, user: &str) -> (String, String) {
        self.call(&[("Action", "CreateUser"), ("UserName", user)]);
        self.create_key(user)
    }

    /// keysweep with this account's admin credentials.
    pub fn keysweep(&self) -> assert_cmd::Command {
        let mut c = keysweep();
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("KEYSWEEP_ACTOR", "test-actor");
        c
    }
}

/// The text of the first `<tag>` element (XML entities decoded).
pub fn xml(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(
        body[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn all_xml(body: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(v) = xml(rest, tag) {
        out.push(v);
        let close = format!("</{tag}>");
        rest = &rest[rest.find(&close).unwrap() + close.len()..];
    }
    out
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

const FIXTURES: &str = "tests/fixtures/pipelines";

/// `rotate --format json` of a fixture, for `account` and `role`.
pub fn plan(dir: &Path, fixture: &str, account: &str, role: &str) -> std::path::PathBuf {
    let out = keysweep()
        .args([
            "rotate",
            "--format",
            "json",
            "--repo",
            "example-org/example-repo",
        ])
        .args(["--aws-account-id", account, "--aws-role-name", role])
        .args(["--aws-region", "us-east-1", "--default-branch", "main"])
        .arg(Path::new(FIXTURES).join(fixture))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = dir.join(format!("{fixture}-{role}.json"));
    std::fs::write(&p, &out.stdout).unwrap();
    p
}

fn planned_policy(plan: &Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(plan).unwrap()).unwrap();
    let art = v["repositories"][0]["trust"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["file"] == "aws/trust-policy.json")
        .unwrap();
    serde_json::from_str(art["content"].as_str().unwrap()).unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn apply(m: &Moto, plan: &Path, ledger: &Path, extra: &[&str]) -> Output {
    m.keysweep()
        .args(["trust", "apply", "--plan"])
        .arg(plan)
        .arg("--ledger")
        .arg(ledger)
        .args(extra)
        .output()
        .unwrap()
}

fn role_policy(m: &Moto, role: &str) -> Option<serde_json::Value> {
    let body = m
        .call_as("testing", &[("Action", "GetRole"), ("RoleName", role)])
        .ok()?;
    let doc = xml(&body, "AssumeRolePolicyDocument")?;
    Some(serde_json::from_str(&url_decode(&doc)).unwrap())
}

fn providers(m: &Moto) -> Vec<String> {
    all_xml(&m.call(&[("Action", "ListOpenIDConnectProviders")]), "Arn")
}

fn ledger_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const GITHUB: &str = "https://token.actions.githubusercontent.com";

#[test]
fn create_then_nothing_to_do() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let p = plan(dir.path(), "aws-deploy-static", &m.account, "deploy-fresh");
    let pol = m.call(&[
        ("Action", "CreatePolicy"),
        ("PolicyName", "deploy-site"),
        ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#),
    ]);
    let policy_arn = xml(&pol, "Arn").unwrap();

    // dry run: says what it would do, changes nothing
    let o = apply(&m, &p, &ledger, &["--policy-arn", &policy_arn]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "would create the IAM OIDC provider {GITHUB} with audience sts.amazonaws.com"
        )),
        "{out}"
    );
    assert!(out.contains("would create role deploy-fresh"), "{out}");
    assert!(out.contains(&format!("would attach {policy_arn}")), "{out}");
    assert!(providers(&m).is_empty());
    assert_eq!(role_policy(&m, "deploy-fresh"), None);
    assert!(!ledger.exists(), "a dry run records nothing");

    let o = apply(&m, &p, &ledger, &["--policy-arn", &policy_arn, "--confirm"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let arn = format!(
        "arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com",
        m.account
    );
    assert_eq!(providers(&m), vec![arn.clone()]);
    let prov = m.call(&[
        ("Action", "GetOpenIDConnectProvider"),
        ("OpenIDConnectProviderArn", &arn),
    ]);
    assert_eq!(
        all_xml(&prov, "member"),
        vec!["sts.amazonaws.com"],
        "{prov}"
    );
    assert_eq!(role_policy(&m, "deploy-fresh"), Some(planned_policy(&p)));
    let attached = m.call(&[
        ("Action", "ListAttachedRolePolicies"),
        ("RoleName", "deploy-fresh"),
    ]);
    assert_eq!(all_xml(&attached, "PolicyArn"), vec![policy_arn.clone()]);
    let actions: Vec<String> = ledger_lines(&ledger)
        .iter()
        .map(|l| format!("{} {} {}", l["action"], l["result"], l["actor"]))
        .collect();
    assert_eq!(
        actions,
        [
            r#""oidc-provider-created" "ok" "test-actor""#,
            r#""role-created" "ok" "test-actor""#,
            r#""role-policy-attached" "ok" "test-actor""#,
        ]
    );
    let v = keysweep()
        .args(["ledger", "verify"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));

    // second run: nothing to do, no write, no ledger line
    let o = apply(&m, &p, &ledger, &["--policy-arn", &policy_arn, "--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
    assert!(
        !out.contains("would") && !out.contains("  create") && !out.contains("  attach"),
        "{out}"
    );
    assert_eq!(ledger_lines(&ledger).len(), 3);
    assert_eq!(providers(&m).len(), 1);
}

#[test]
fn reuses_an_existing_provider() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    m.call(&[
        ("Action", "CreateOpenIDConnectProvider"),
        ("Url", GITHUB),
        ("ClientIDList.member.1", "sts.amazonaws.com"),
        (
            "ThumbprintList.member.1",
            "6938fd4d98bab03faadb97b34396831e3780aea1",
        ),
    ]);
    let before = providers(&m);
    let p = plan(dir.path(), "aws-workflow-env", &m.account, "deploy-reuse");
    let o = apply(&m, &p, &ledger, &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("OIDC provider"), "{out}");
    assert!(out.contains("create role deploy-reuse"), "{out}");
    assert_eq!(
        providers(&m),
        before,
        "the provider is reused, not duplicated"
    );
    assert_eq!(role_policy(&m, "deploy-reuse"), Some(planned_policy(&p)));
    let o = apply(&m, &p, &ledger, &["--confirm"]);
    assert!(text(&o).contains("nothing to do"), "{}", text(&o));
    assert_eq!(ledger_lines(&ledger).len(), 1, "role-created only");
}

/// A provider without the `sts.amazonaws.com` audience gets it added (reused, not
/// duplicated). moto 5 does not implement AddClientIDToOpenIDConnectProvider, so this checks
/// the dry run's reading; the call itself is the SDK's.
#[test]
fn a_provider_without_the_audience_gets_it() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    m.call(&[
        ("Action", "CreateOpenIDConnectProvider"),
        ("Url", GITHUB),
        ("ClientIDList.member.1", "api://some-other-audience"),
        (
            "ThumbprintList.member.1",
            "6938fd4d98bab03faadb97b34396831e3780aea1",
        ),
    ]);
    let arn = providers(&m).remove(0);
    let p = plan(
        dir.path(),
        "aws-workflow-env",
        &m.account,
        "deploy-audience",
    );
    let o = apply(&m, &p, &ledger, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("would add audience sts.amazonaws.com to {arn}")),
        "{out}"
    );
    assert!(!out.contains("create the IAM OIDC provider"), "{out}");
}

#[test]
fn shows_the_diff_and_updates_an_existing_role() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let p = plan(dir.path(), "aws-deploy-static", &m.account, "deploy-update");
    // the role exists, trusting every ref of the repository (the hole keysweep closes)
    let mut loose = planned_policy(&p);
    let cond = &mut loose["Statement"][0]["Condition"];
    cond["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove("token.actions.githubusercontent.com:sub");
    cond["StringLike"] = serde_json::json!({"token.actions.githubusercontent.com:sub": "repo:example-org/example-repo:*"});
    m.call(&[
        ("Action", "CreateRole"),
        ("RoleName", "deploy-update"),
        ("AssumeRolePolicyDocument", &loose.to_string()),
    ]);

    let o = apply(&m, &p, &ledger, &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("would replace the trust policy of role deploy-update"),
        "{out}"
    );
    assert!(out.contains("--- current trust policy"), "{out}");
    assert!(out.contains("+++ planned trust policy"), "{out}");
    assert!(out.contains(r#"-          "token.actions.githubusercontent.com:sub": "repo:example-org/example-repo:*""#), "{out}");
    assert!(out.contains(r#"+          "token.actions.githubusercontent.com:sub": "repo:example-org/example-repo:environment:production""#), "{out}");
    assert_eq!(role_policy(&m, "deploy-update"), Some(loose), "dry run");

    let o = apply(&m, &p, &ledger, &["--confirm"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(role_policy(&m, "deploy-update"), Some(planned_policy(&p)));
    let actions: Vec<String> = ledger_lines(&ledger)
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["oidc-provider-created", "role-trust-updated"]);
    let o = apply(&m, &p, &ledger, &["--confirm"]);
    assert!(text(&o).contains("nothing to do"), "{}", text(&o));
}

#[test]
fn another_accounts_plan_is_refused() {
    let Some(m) = Moto::account() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    m.call(&[
        ("Action", "CreateOpenIDConnectProvider"),
        ("Url", GITHUB),
        ("ClientIDList.member.1", "sts.amazonaws.com"),
        (
            "ThumbprintList.member.1",
            "6938fd4d98bab03faadb97b34396831e3780aea1",
        ),
    ]);
    let p = plan(
        dir.path(),
        "aws-deploy-static",
        "999999999999",
        "deploy-elsewhere",
    );
    let o = apply(&m, &p, &ledger, &["--confirm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("the plan trusts arn:aws:iam::999999999999:oidc-provider/"),
        "{out}"
    );
    assert!(
        out.contains(&format!("plan with --aws-account-id {}", m.account)),
        "{out}"
    );
    assert_eq!(role_policy(&m, "deploy-elsewhere"), None);
}

/// No moto needed: refused before any call.
#[test]
fn a_plan_with_placeholders_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = keysweep()
        .args(["rotate", "--format", "json", "--repo", "o/r"])
        .arg(Path::new(FIXTURES).join("aws-deploy-static"))
        .output()
        .unwrap();
    let p = dir.path().join("plan.json");
    std::fs::write(&p, &out.stdout).unwrap();
    let o = keysweep()
        .args(["trust", "apply", "--target", "aws", "--plan"])
        .arg(&p)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("o/r: aws: o/r: the plan still has placeholders: <AWS_ACCOUNT_ID> (--aws-account-id), <AWS_ROLE_NAME> (--aws-role-name)"), "{t}");

    let o = keysweep()
        .args(["trust", "apply", "--plan"])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing.json"), "{}", text(&o));
}

/// GCP, Azure, Vault, npm, crates.io: the exact commands, said not to be run.
#[test]
fn other_targets_are_printed_not_run() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture, target, expect) in [
        ("gcp-deploy-key", "gcp", "gcloud iam workload-identity-pools create"),
        ("azure-login-creds", "azure", "az ad app federated-credential create --id"),
        ("vault-token", "vault", "vault write auth/jwt/role/"),
        ("npm-publish-token", "npm", "npm trust github '@example-org/widgets' --repository 'example-org/example-repo' --file 'npm-publish.yml' --allow-publish"),
        ("crates-publish", "crates-io", "https://crates.io/api/v1/trusted_publishing/github_configs"),
    ] {
        let out = keysweep()
            .args(["rotate", "--format", "json", "--repo", "example-org/example-repo"])
            .args(["--gcp-project-number", "123456789012", "--gcp-pool", "github", "--gcp-provider", "github"])
            .args(["--gcp-service-account", "deploy@example-project.iam.gserviceaccount.com"])
            .args(["--azure-client-id", "00000000-0000-0000-0000-000000000001"])
            .args(["--azure-tenant-id", "00000000-0000-0000-0000-000000000002"])
            .args(["--azure-subscription-id", "00000000-0000-0000-0000-000000000003"])
            .args(["--vault-role", "deploy", "--vault-audience", "https://vault.example.com"])
            .arg(Path::new(FIXTURES).join(fixture))
            .output()
            .unwrap();
        assert!(out.status.success());
        let p = dir.path().join(format!("{fixture}.json"));
        std::fs::write(&p, &out.stdout).unwrap();
        let o = keysweep()
            .args(["trust", "apply", "--confirm", "--plan"])
            .arg(&p)
            .output()
            .unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{fixture}: {t}");
        assert!(t.contains(&format!("{target}: example-org/example-repo — keysweep did not run these")), "{fixture}: {t}");
        assert!(t.contains(expect), "{fixture}: {t}");
    }
}
