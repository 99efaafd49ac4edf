//! Driver for `tests/support/gh_stub.py`, the stateful GitHub stand-in (see its docstring
//! for the state and the control endpoints). Each test starts its own stub:
//!
//! ```ignore
//! let Some(stub) = Stub::start() else { return }; // skipped (loudly) outside CI without fakes
//! stub.seed(json!({"repo": "o/r", "files": {".github/workflows/ci.yml": "..."}}));
//! // run keysweep with GITHUB_API_URL=stub.url, then:
//! let calls = stub.api_calls("o/r"); // ["GET /repos/o/r", "POST /repos/o/r/git/blobs", ...]
//! stub.assert_schema_valid();        // Prism found no violation in any request
//! ```
//!
//! Retire tests: seed `secrets`/`env_secrets`/`org_secrets`, open the PR with keysweep, then
//! [`Stub::merge`] and [`Stub::add_run`] on the merge commit; [`Stub::state`] shows what is left.
//!
//! Needs `eval "$(scripts/fakes.sh start)"`: `KEYSWEEP_OCTOKIT_FIXTURES` (the recorded bodies)
//! and `KEYSWEEP_GH_API` (Prism with GitHub's OpenAPI description, which checks every request).
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub struct Stub {
    child: Child,
    pub url: String,
}

fn fakes_missing(what: &str) -> Option<Stub> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {what}: run `eval \"$(scripts/fakes.sh start)\"`");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: GitHub stub test: {what}.\n!!!!!!!! Run `eval \"$(scripts/fakes.sh start)\"` first.\n"
    );
    None
}

/// Prism (behind the recording proxy), if it answers.
pub fn prism() -> Option<String> {
    let url = std::env::var("KEYSWEEP_GH_API").unwrap_or_else(|_| "http://127.0.0.1:4711".into());
    ureq::get(&format!("{url}/__requests"))
        .timeout(std::time::Duration::from_secs(3))
        .call()
        .is_ok()
        .then_some(url)
}

impl Stub {
    pub fn start() -> Option<Stub> {
        let fixtures = std::env::var("KEYSWEEP_OCTOKIT_FIXTURES").map(PathBuf::from).unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(
                ".cache/keysweep-tools/octokit-fixtures/node_modules/@octokit/fixtures/scenarios/api.github.com",
            )
        });
        if !fixtures.join("git-refs").is_dir() {
            return fakes_missing(&format!(
                "@octokit/fixtures not found at {}",
                fixtures.display()
            ));
        }
        let Some(prism) = prism() else {
            return fakes_missing("Prism (KEYSWEEP_GH_API) is not answering");
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/gh_stub.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--fixtures")
            .arg(&fixtures)
            .arg("--validate")
            .arg(&prism)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts the stub");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .expect("the stub prints its port");
        Some(Stub {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    pub fn control(&self, path: &str, body: Value) -> Value {
        let r = ureq::post(&format!("{}{path}", self.url))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        match r {
            Ok(r) => serde_json::from_str(&r.into_string().unwrap()).unwrap(),
            Err(ureq::Error::Status(s, r)) => {
                panic!("stub {path}: {s} {}", r.into_string().unwrap())
            }
            Err(e) => panic!("stub {path}: {e}"),
        }
    }

    pub fn seed(&self, spec: Value) -> Value {
        self.control("/__seed", spec)
    }

    /// Answer the next `times` requests matching `method` and the `path` regex with this.
    pub fn fail(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: Value,
        body: Value,
        times: u32,
    ) {
        self.control(
            "/__fail",
            json!({"method": method, "path": path, "status": status, "headers": headers, "body": body, "times": times}),
        );
    }

    /// A commit on top of `branch` (created from the default branch when missing), as a
    /// person's push; `files` maps paths to contents (`null` deletes). Returns its sha.
    pub fn push(
        &self,
        repo: &str,
        branch: &str,
        files: Value,
        message: &str,
        author: &str,
    ) -> String {
        let v = self.control(
            "/__push",
            json!({"repo": repo, "branch": branch, "files": files, "message": message, "author": author}),
        );
        v["sha"].as_str().unwrap().to_string()
    }

    /// Merge PR `number` into its base (a merge commit); returns the merge commit's sha.
    pub fn merge(&self, repo: &str, number: u64) -> String {
        let v = self.control("/__merge", json!({"repo": repo, "number": number}));
        v["sha"].as_str().unwrap().to_string()
    }

    /// Close PR `number` unmerged, as a person would.
    pub fn close(&self, repo: &str, number: u64) {
        self.control("/__close", json!({"repo": repo, "number": number}));
    }

    /// A workflow run of `path` on the default branch at `head_sha` (`conclusion`:
    /// `success`, `failure`, ...; `extra` may set `created_at`, `status`, `branch`, `event`).
    pub fn add_run(
        &self,
        repo: &str,
        path: &str,
        head_sha: &str,
        conclusion: &str,
        extra: Value,
    ) -> Value {
        let mut b =
            json!({"repo": repo, "path": path, "head_sha": head_sha, "conclusion": conclusion});
        if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.control("/__run", b)
    }

    pub fn requests(&self) -> Vec<Value> {
        ureq::get(&format!("{}/__requests", self.url))
            .call()
            .unwrap()
            .into_string()
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap()
    }

    pub fn state(&self, repo: &str) -> Value {
        ureq::get(&format!("{}/__state?repo={repo}", self.url))
            .call()
            .unwrap()
            .into_string()
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap()
    }

    /// `METHOD /path` of every API call on `repo` so far (its path, without the query).
    pub fn api_calls(&self, repo: &str) -> Vec<String> {
        let prefix = format!("/repos/{repo}");
        self.requests()
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(&prefix)))
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// Every request was valid against GitHub's OpenAPI description (checked by Prism).
    pub fn assert_schema_valid(&self) {
        let bad: Vec<Value> = self
            .requests()
            .into_iter()
            .filter(|r| r["violations"].as_array().is_some_and(|v| !v.is_empty()))
            .collect();
        assert!(
            bad.is_empty(),
            "requests GitHub's OpenAPI description rejects: {bad:#?}"
        );
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes in `calls` (anything but GET).
pub fn writes(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| !c.starts_with("GET "))
        .cloned()
        .collect()
}
