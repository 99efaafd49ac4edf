//! The sweep's HTML report: one self-contained file (totals, per-repository table with the
//! pipelines' credential uses and OIDC status, failures with reasons, the open-findings trend
//! as inline SVG, no secret value), opened in headless Chromium (Debian `chromium`, from
//! scripts/chromium.sh): it renders (the screenshot is not blank) and loads nothing from the
//! network (Chromium's own net log shows no request but the file itself; a control page
//! proves the log would show one).
#![cfg(feature = "sweep")]

use crate::common::{github_pat, keysweep};
use crate::sweep::{commit, repo};
use std::path::{Path, PathBuf};
use std::process::Command;

const WORKFLOW: &str = "name: deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2
        with:
          aws-access-key-id: ${{ secrets.AWS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET }}
          aws-region: us-east-1
      - run: aws s3 sync site/ s3://example-web
";

fn sweep(root: &Path, list: &[&Path]) {
    let mut text: String = list.iter().map(|p| format!("{}\n", p.display())).collect();
    text.push_str(&format!("{}\n", root.join("missing.git").display()));
    std::fs::write(root.join("repos.txt"), text).expect("list");
    let out = keysweep()
        .args(["sweep", "--quiet", "--repos"])
        .arg(root.join("repos.txt"))
        .arg("--cache")
        .arg(root.join("cache"))
        .arg("--html")
        .arg(root.join("report.html"))
        .arg("--json")
        .arg(root.join("report.json"))
        .output()
        .expect("runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chromium() -> Option<PathBuf> {
    match std::env::var_os("KEYSWEEP_CHROMIUM") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let found = ["chromium", "chromium-browser"].iter().find_map(|c| {
                Command::new("sh")
                    .args(["-c", &format!("command -v {c}")])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            });
            if found.is_none() {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "chromium missing (scripts/chromium.sh installs it)"
                );
                eprintln!("skip: chromium missing (eval \"$(scripts/chromium.sh)\")");
            }
            found
        }
    }
}

/// Opens `page` in headless Chromium: (screenshot, net log, dumped DOM).
fn render(browser: &Path, dir: &Path, page: &Path) -> (PathBuf, String, String) {
    let profile = tempfile::tempdir().expect("profile");
    let shot = dir.join("shot.png");
    let netlog = dir.join("netlog.json");
    let _ = std::fs::remove_file(&shot);
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--hide-scrollbars",
    ];
    let url = format!("file://{}", page.display());
    let out = Command::new(browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(["--window-size=1000,1100"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = Command::new(browser)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    (shot, log, String::from_utf8_lossy(&dom.stdout).into_owned())
}

/// `WIDTHxHEIGHT COLOURS INK` from tests/sweep_png.py.
fn ink(shot: &Path) -> (usize, f64) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sweep_png.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(shot)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        parts.len(),
        3,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        parts[1].parse().expect("colours"),
        parts[2].parse().expect("ink"),
    )
}

/// Every URL the page itself asked for, from Chromium's net log: requests whose initiator is
/// an origin (a file page's is `null`); the browser's own service requests (update checks,
/// accounts) have none (`not an origin`) and are not the page's doing.
fn requested(netlog: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(netlog).expect("net log is JSON");
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| &e["type"] == start_job)
        .filter(|e| {
            e["params"]["initiator"]
                .as_str()
                .is_some_and(|i| i != "not an origin")
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .filter(|u| !u.starts_with("file:"))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

#[test]
fn the_html_report_renders_in_chromium_and_loads_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = t.path();
    let secret = github_pat(71);
    let other = github_pat(72);
    let app = repo(root, "app", &format!("token = \"{secret}\"\n"));
    commit(&root.join("app"), ".github/workflows/deploy.yml", WORKFLOW);
    let lib = repo(root, "lib", &format!("t = \"{other}\"\n"));
    sweep(root, &[&app, &lib]);
    // the trend moves: lib's secret leaves its tip, then a new one arrives in app
    commit(
        &root.join("lib"),
        "config.txt",
        "t = \"${{ secrets.T }}\"\n",
    );
    sweep(root, &[&app, &lib]);
    commit(
        &root.join("app"),
        "more.txt",
        &format!("k = \"{}\"\n", github_pat(73)),
    );
    sweep(root, &[&app, &lib]);

    let html = std::fs::read_to_string(root.join("report.html")).expect("html");
    // self-contained: a CSP that forbids every load, and nothing that would load
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    for banned in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<iframe", "<img",
    ] {
        assert!(
            !html.to_lowercase().contains(banned),
            "{banned} in the report"
        );
    }
    // no secret value; the redacted forms are there
    for s in [&secret, &other] {
        assert!(!html.contains(s.as_str()), "a secret in the HTML");
        assert!(!html.contains(&s[8..]), "part of a secret in the HTML");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("report.json")).expect("json"))
            .expect("json");
    for f in report["findings"].as_array().expect("findings") {
        assert!(html.contains(f["redacted"].as_str().expect("redacted")));
    }
    // totals, the failure and its reason, the pipelines' credentials and their OIDC status
    assert!(html.contains("<b>3</b><span>repositories</span>"), "{html}");
    assert!(html.contains("Failed repositories (1)"));
    assert!(html.contains("missing.git") && html.contains("no such path"));
    assert!(
        html.contains("<code>AWS_KEY_ID</code>") && html.contains("<code>AWS_SECRET</code>"),
        "{html}"
    );
    assert!(html.contains("migratable-now"));
    // the trend: three sweeps, open 2 -> 1 -> 2
    let trend: Vec<i64> = report["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .map(|t| t[1].as_i64().expect("n"))
        .collect();
    assert_eq!(trend, [2, 1, 2]);
    assert_eq!(html.matches("<circle").count(), 3);
    assert!(html.contains("<title>sweep 2: 1 open</title>"));

    let Some(browser) = chromium() else { return };
    let page = root.join("report.html");
    let (shot, netlog, dom) = render(&browser, root, &page);
    let (colours, share) = ink(&shot);
    assert!(
        colours > 20 && share > 0.05,
        "blank screenshot: {colours} colours, {share} ink"
    );
    assert!(!netlog.is_empty(), "chromium wrote no net log");
    let urls = requested(&netlog);
    assert!(urls.is_empty(), "the report made requests: {urls:?}");
    assert!(
        dom.contains("Open findings over the last sweeps") && dom.contains("<polyline"),
        "{dom}"
    );

    // control: the same check sees a page that does load something, and a blank page is blank
    let control = root.join("control.html");
    std::fs::write(
        &control,
        "<!doctype html><img src=\"http://127.0.0.1:9/pixel.png\">",
    )
    .expect("control");
    let (shot, netlog, _) = render(&browser, root, &control);
    assert!(
        requested(&netlog)
            .iter()
            .any(|u| u.contains("127.0.0.1:9/pixel.png")),
        "the net log check is blind"
    );
    let (_, share) = ink(&shot);
    assert!(share < 0.01, "a blank page counted as ink: {share}");
}
