//! `keysweep sweep` over smart HTTPS: `git http-backend` behind basic auth on 127.0.0.1
//! (tests/sweep_git_server.py, TLS with a CA made for the test). The credential comes from the
//! environment and is proved never to land on disk: not in the cache (mirrors, configs, the
//! state database and its journal), not in the reports, not in the stored URLs.
#![cfg(feature = "sweep")]

use crate::common::{github_pat, keysweep};
use crate::sweep::{commit, repo, walk};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it; returns the CA file.
pub(crate) fn tls(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("tls dir");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=keysweep test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
    );
    dir.join("ca.pem")
}

pub(crate) fn serve(root: &Path, tls: &Path, user: &str, token: &str) -> Server {
    let port_file = root.join("port");
    let log = root.join("http.log");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sweep_git_server.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(root.join("srv"))
        .arg(&port_file)
        .arg(&log)
        .arg(tls.join("server.pem"))
        .arg(tls.join("server.key"))
        .args([user, token])
        .spawn()
        .expect("python3 runs");
    let mut server = Server {
        child,
        port: 0,
        log,
    };
    for _ in 0..200 {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            server.port = p.trim().parse().expect("port");
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the git server did not start");
}

fn sweep(root: &Path, urls: &[String], env: &[(&str, &str)]) -> (Value, String) {
    std::fs::write(root.join("repos.txt"), urls.join("\n")).expect("list");
    let mut cmd = keysweep();
    cmd.args(["sweep", "--repos"])
        .arg(root.join("repos.txt"))
        .arg("--cache")
        .arg(root.join("cache"))
        .arg("--json")
        .arg(root.join("report.json"))
        .arg("--markdown")
        .arg(root.join("report.md"))
        .env_remove("KEYSWEEP_GIT_TOKEN")
        .env_remove("KEYSWEEP_GIT_USERNAME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("keysweep runs");
    let code = out.status.code().unwrap_or(-1);
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(code == 0 || code == 1, "exit {code}: {output}");
    let report = std::fs::read_to_string(root.join("report.json")).expect("report");
    (serde_json::from_str(&report).expect("json"), output)
}

fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["repos"]
        .as_array()
        .expect("repos")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

#[test]
fn https_with_basic_auth_and_the_credential_never_on_disk() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).expect("srv");
    let secret = github_pat(41);
    repo(&srv, "a", &format!("token = \"{secret}\"\n"));
    repo(&srv, "b", "clean\n");
    let ca = tls(&root.join("tls"));
    // generated for this run, so it cannot be anywhere by accident
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let token = format!("ksgit{nanos:x}");
    let user = "sweeper";
    let server = serve(root, &root.join("tls"), user, &token);
    let url = |name: &str| format!("https://127.0.0.1:{}/{name}.git", server.port);
    let ca = ca.to_str().expect("utf-8");

    // no credential in the environment: both refused, recorded, the sweep goes on
    let (r, _) = sweep(root, &[url("a"), url("b")], &[("SSL_CERT_FILE", ca)]);
    assert_eq!(row(&r, &url("a"))["status"], "auth-failed", "{r}");
    assert_eq!(r["failed"], 2);
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(log.contains("auth=missing 401"), "{log}");

    // the credential from the environment: fetched, scanned, the secret found
    let env = [
        ("SSL_CERT_FILE", ca),
        ("KEYSWEEP_GIT_TOKEN", token.as_str()),
        ("KEYSWEEP_GIT_USERNAME", user),
    ];
    let (r, out1) = sweep(root, &[url("a"), url("b")], &env);
    assert_eq!(row(&r, &url("a"))["status"], "ok", "{r}");
    assert_eq!(row(&r, &url("b"))["status"], "ok", "{r}");
    assert_eq!(row(&r, &url("a"))["scanned_last"], 3);
    assert_eq!(r["open_findings"], 1);
    assert_eq!(r["failed"], 0);
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(
        log.contains("POST /a.git/git-upload-pack auth=ok 200"),
        "{log}"
    );

    // incremental over HTTP: one new commit, three new objects
    commit(&srv.join("a"), "other.txt", "more\n");
    let (r, out2) = sweep(root, &[url("a"), url("b")], &env);
    assert_eq!(row(&r, &url("a"))["scanned_last"], 3);
    assert_eq!(row(&r, &url("b"))["scanned_last"], 0);

    // a list that puts the token in a URL: refused, and the URL is stored without it
    let with_cred = format!("https://{user}:{token}@127.0.0.1:{}/b.git", server.port);
    let (r, out3) = sweep(root, &[url("a"), with_cred], &env);
    assert_eq!(row(&r, &url("b"))["status"], "auth-failed", "{r}");

    // nowhere on disk, in no form: not the token, not the basic-auth header value
    let basic = base64_of(&format!("{user}:{token}"));
    let mut files = walk(&root.join("cache"));
    files.extend([root.join("report.json"), root.join("report.md")]);
    assert!(files.iter().any(|f| f.ends_with("sweep.db")));
    assert!(files.iter().any(|f| f.ends_with("config")));
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        for needle in [token.as_bytes(), basic.as_bytes()] {
            assert!(!contains(&bytes, needle), "credential in {}", f.display());
        }
    }
    for out in [&out1, &out2, &out3] {
        assert!(!out.contains(&token), "credential in the output: {out}");
    }
    // the mirrors' configs name no remote at all
    for f in files.iter().filter(|f| f.ends_with("config")) {
        let config = std::fs::read_to_string(f).expect("config");
        assert!(
            !config.contains("url") && !config.contains("127.0.0.1"),
            "{config}"
        );
    }
    let report = std::fs::read_to_string(root.join("report.json")).expect("report");
    assert!(
        !report.contains(&secret),
        "the secret itself is in the report"
    );
    for r in r["repos"].as_array().expect("repos") {
        let source = r["source"].as_str().expect("source");
        assert!(!source.contains('@'), "{source}");
    }
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
