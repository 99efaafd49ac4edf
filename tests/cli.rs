//! End-to-end behaviour of `keysweep scan` on working trees: exit codes, bad input,
//! suppression, and the never-leak rule.

use crate::common::*;
use predicates::prelude::*;
use tempfile::TempDir;

fn tree() -> TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn clean_tree_exits_0_and_secret_exits_1() {
    let dir = tree();
    write(dir.path(), "src/app.py", "print('hello')\nTIMEOUT = 30\n");
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(findings(&report).is_empty());

    let token = github_pat(1);
    write(
        dir.path(),
        "src/settings.py",
        format!("GITHUB_TOKEN = \"{token}\"\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let f = &findings(&report)[0];
    assert_eq!(f["rule_id"], "github-pat-classic");
    assert_eq!(f["locations"][0]["path"], "src/settings.py");
    assert_eq!(f["locations"][0]["line"], 1);
    assert_eq!(f["locations"][0]["column"], 17);
    assert_eq!(f["locations"][0]["end_column"], 17 + 40);
}

#[test]
fn secrets_are_redacted_everywhere_unless_asked() {
    let dir = tree();
    let token = github_pat(2);
    write(dir.path(), "config.yml", format!("token: {token}\n"));
    for format in ["human", "json", "jsonl", "sarif", "github"] {
        let out = keysweep()
            .current_dir(dir.path())
            .args(["scan", ".", "--quiet", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(
            !text.contains(&token[4..]),
            "{format} leaked the secret:\n{text}"
        );
        assert!(
            text.contains("ghp_"),
            "{format} should show the redacted prefix:\n{text}"
        );
    }
    let (_, report) = scan_json(dir.path(), &["--show-secrets"]);
    assert_eq!(findings(&report)[0]["secret"], token.as_str());
}

#[test]
fn one_secret_many_places_is_one_finding() {
    let dir = tree();
    let token = github_pat(3);
    write(dir.path(), "a.env", format!("A={token}\nB={token}\n"));
    write(dir.path(), "b/c.json", format!("{{\"t\": \"{token}\"}}\n"));
    let (_, report) = scan_json(dir.path(), &[]);
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    let locs: Vec<(String, u64)> = f[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        locs,
        vec![
            ("a.env".into(), 1),
            ("a.env".into(), 2),
            ("b/c.json".into(), 1)
        ]
    );
}

#[test]
fn wrong_checksum_is_not_a_secret() {
    let dir = tree();
    write(
        dir.path(),
        "t.txt",
        format!("token={}\n", github_pat_bad_checksum(4)),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn bad_input_is_counted_and_the_scan_goes_on() {
    let dir = tree();
    let token = github_pat(5);
    write(dir.path(), "empty.txt", "");
    write(
        dir.path(),
        "image.bin",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(),
    );
    write(dir.path(), "big.log", vec![b'a'; 2048]);
    let mut latin1 = b"caf\xe9 = 1\n".to_vec();
    latin1.extend_from_slice(format!("key: {token}\n").as_bytes());
    write(dir.path(), "latin1.txt", latin1);
    // A 10 MB minified line with the secret in the middle.
    let mut line = "var a=1;".repeat(10 << 17);
    line.insert_str(line.len() / 2, &format!("t=\"{token}\";"));
    write(dir.path(), "bundle.min.js", line);
    let (code, report) = scan_json(dir.path(), &["--max-file-size", "20MiB"]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = findings(&report)[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["bundle.min.js", "latin1.txt"]);
    assert_eq!(findings(&report)[0]["locations"][1]["line"], 2);
    assert_eq!(report["stats"]["skipped_counts"]["binary"], 1);
    assert_eq!(report["stats"]["files_scanned"], 4);

    let (_, report) = scan_json(dir.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(
        report["stats"]["skipped_counts"]["too-large"], 2,
        "{report:#}"
    );
    let skipped: Vec<&str> = report["stats"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert!(
        skipped.contains(&"big.log") && skipped.contains(&"bundle.min.js"),
        "{skipped:?}"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_not_followed() {
    let dir = tree();
    write(dir.path(), "real/a.txt", format!("t={}\n", github_pat(6)));
    std::os::unix::fs::symlink(dir.path(), dir.path().join("real/loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("outside")).unwrap();
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        report["stats"]["skipped_counts"]["symlink"], 2,
        "{report:#}"
    );
    assert_eq!(
        findings(&report)[0]["locations"].as_array().unwrap().len(),
        1
    );
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_reported_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    write(dir.path(), "ok.txt", format!("t={}\n", github_pat(7)));
    write(dir.path(), "locked.txt", "secret stuff\n");
    let locked = dir.path().join("locked.txt");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file: drop to an unprivileged user for this scan.
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let out = if is_root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("keysweep");
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin)
            .args(["scan", ".", "--format", "json"])
            .current_dir(dir.path())
            .output()
            .expect("setpriv (util-linux) is needed to test permissions as root")
    } else {
        keysweep()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", "json"])
            .output()
            .unwrap()
    };
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["stats"]["skipped_counts"]["unreadable"], 1,
        "{report:#}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("locked.txt") && stderr.contains("could not be read"),
        "{stderr}"
    );
}

#[test]
fn a_file_gone_before_it_is_read_is_counted() {
    use keysweep::scan::{ScanSettings, Scanner};
    use keysweep::source::fs::FileEntry;
    let rules = std::sync::Arc::new(keysweep::rules::RuleSet::builtin().unwrap());
    let scanner = Scanner::new(
        keysweep::detect::Detector::new(rules),
        ScanSettings::default(),
    );
    let dir = tree();
    let entry = FileEntry {
        path: dir.path().join("deleted.txt"),
        display: "deleted.txt".into(),
        size: 10,
    };
    let result = scanner.scan_files(&[entry]);
    assert_eq!(result.stats.skipped_counts.get("vanished"), Some(&1));
    assert_eq!(result.stats.files_scanned, 0);
}

#[test]
fn gitignore_hidden_and_dot_git() {
    let dir = tree();
    let t = github_pat(8);
    write(dir.path(), ".gitignore", "ignored.txt\n");
    write(dir.path(), "ignored.txt", format!("{t}\n"));
    write(dir.path(), ".hidden/h.txt", format!("{t}\n"));
    write(dir.path(), ".git/config", format!("{t}\n"));
    let (_, report) = scan_json(dir.path(), &[]);
    let paths = |r: &serde_json::Value| -> Vec<String> {
        findings(r)
            .iter()
            .flat_map(|f| {
                f["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["path"].as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(paths(&report), vec![".hidden/h.txt"]);
    let (_, report) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!(paths(&report), vec![".hidden/h.txt", "ignored.txt"]);
}

#[test]
fn stdin_is_scanned_with_dash() {
    let token = github_pat(9);
    keysweep()
        .args(["scan", "-", "--format", "jsonl"])
        .write_stdin(format!("export GH={token}\n"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"path\":\"<stdin>\""));
    keysweep()
        .args(["scan", "-"])
        .write_stdin("nothing here\n")
        .assert()
        .code(0);
}

#[test]
fn inline_allow_markers() {
    let dir = tree();
    write(
        dir.path(),
        "a.py",
        format!(
            "A = '{}'  # keysweep:allow\nB = '{}'  # gitleaks:allow\nC = '{}'  # pragma: allowlist secret\n",
            github_pat(10),
            github_pat(11),
            github_pat(12)
        ),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["suppressed"]["inline"], 3);
}

#[test]
fn config_file_excludes_disables_and_rejects_unknown_keys() {
    let dir = tree();
    write(
        dir.path(),
        "vendor/lib.js",
        format!("t='{}'\n", github_pat(13)),
    );
    write(dir.path(), "src/a.js", format!("t='{}'\n", github_pat(14)));
    write(
        dir.path(),
        ".keysweep.toml",
        "exclude_paths = [\"vendor/**\"]\n",
    );
    let (_, report) = scan_json(dir.path(), &[]);
    assert_eq!(findings(&report).len(), 1);
    assert_eq!(findings(&report)[0]["locations"][0]["path"], "src/a.js");

    write(
        dir.path(),
        ".keysweep.toml",
        "disabled_rules = [\"github-pat-classic\"]\n",
    );
    let (code, _) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);

    write(
        dir.path(),
        ".keysweep.toml",
        "# settings\nexclude_paths = []\nmax_filesize = 10\n",
    );
    keysweep()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(".keysweep.toml:3:")
                .and(predicate::str::contains("max_filesize")),
        );
}

#[test]
fn baseline_reports_only_new_findings() {
    let dir = tree();
    write(dir.path(), "old.txt", format!("t={}\n", github_pat(15)));
    keysweep()
        .current_dir(dir.path())
        .args(["baseline", ".", "--quiet"])
        .assert()
        .code(0);
    let baseline = std::fs::read_to_string(dir.path().join(".keysweep-baseline.json")).unwrap();
    assert!(
        !baseline.contains(&github_pat(15)[4..]),
        "baseline must not hold the secret"
    );
    let (code, report) = scan_json(dir.path(), &["--baseline", ".keysweep-baseline.json"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["suppressed"]["baseline"], 1);
    write(dir.path(), "new.txt", format!("t={}\n", github_pat(16)));
    let (code, report) = scan_json(dir.path(), &["--baseline", ".keysweep-baseline.json"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report)[0]["locations"][0]["path"], "new.txt");
}

#[test]
fn baseline_named_by_the_config_is_created_by_the_baseline_command() {
    let dir = tree();
    write(dir.path(), "old.txt", format!("t={}\n", github_pat(17)));
    write(
        dir.path(),
        ".keysweep.toml",
        "baseline = \"ci/accepted.json\"\n",
    );
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    // A scan cannot use a baseline that does not exist: one clear line, the cause once.
    let out = keysweep()
        .current_dir(dir.path())
        .args(["scan", ".", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("accepted.json"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    // The baseline command writes the file the config names, without reading it first.
    keysweep()
        .current_dir(dir.path())
        .args(["baseline", ".", "--quiet"])
        .assert()
        .code(0);
    assert!(dir.path().join("ci/accepted.json").is_file());
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["suppressed"]["baseline"], 1);
}

#[test]
fn errors_exit_2_with_one_clear_line() {
    keysweep().args(["scan", "--no-such-flag"]).assert().code(2);
    keysweep()
        .args(["scan", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
    let dir = tree();
    write(
        dir.path(),
        "rules/bad.yml",
        "rules:\n  - id: x\n    name: [unclosed\n",
    );
    keysweep()
        .current_dir(dir.path())
        .args(["scan", ".", "--rules", "rules"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yml:3"));
    write(
        dir.path(),
        "rules/bad.yml",
        "rules:\n  - id: x\n    nme: typo\n",
    );
    keysweep()
        .current_dir(dir.path())
        .args(["rules", "check", "rules"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yml").and(predicate::str::contains("nme")));
}

#[test]
fn user_rules_are_checked_like_builtin_ones() {
    let dir = tree();
    write(
        dir.path(),
        "rules/acme.yml",
        r#"rules:
  - id: acme-api-key
    name: Acme API key
    provider: acme
    confidence: high
    keywords: ["acme_"]
    pattern: '\b(?P<secret>acme_[a-z0-9]{24})\b'
    references: ["https://acme.invalid/docs/keys"]
    examples:
      - text: 'ACME_KEY=acme_q8zr2lmx9vtp4ksw7nbc3d1f'
        secret: 'acme_q8zr2lmx9vtp4ksw7nbc3d1f'
    negative_examples:
      - 'acme_short'
"#,
    );
    keysweep()
        .current_dir(dir.path())
        .args(["rules", "check", "rules"])
        .assert()
        .code(0);
    write(
        dir.path(),
        "app/x.env",
        "ACME=acme_k2j4h6g8f1d3s5a7p9o0i2u4\n",
    );
    let (code, report) = scan_json(dir.path(), &["--rules", "rules"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report)[0]["rule_id"], "acme-api-key");
    // A failing example is reported with the file and rule.
    let broken = std::fs::read_to_string(dir.path().join("rules/acme.yml"))
        .unwrap()
        .replace(
            "secret: 'acme_q8zr2lmx9vtp4ksw7nbc3d1f'",
            "secret: 'acme_wrong'",
        );
    write(dir.path(), "rules/acme.yml", broken);
    keysweep()
        .current_dir(dir.path())
        .args(["rules", "check", "rules"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "acme.yml: rule `acme-api-key`: example 1 captures",
        ));
}

#[test]
fn output_is_deterministic_across_thread_counts() {
    let dir = tree();
    for i in 0..40 {
        write(
            dir.path(),
            &format!("d{}/f{i}.txt", i % 7),
            format!("x\nt={}\n", github_pat(100 + i)),
        );
    }
    let run = |threads: &str| {
        let out = keysweep()
            .current_dir(dir.path())
            .args(["--threads", threads, "scan", ".", "--format", "jsonl"])
            .output()
            .unwrap();
        out.stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
    assert_eq!(String::from_utf8(one).unwrap().lines().count(), 40);
}

#[test]
fn output_file_and_github_annotations() {
    let dir = tree();
    write(dir.path(), "w.yml", format!("token: {}\n", github_pat(17)));
    keysweep()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "github", "--output", "out.txt"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let text = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert!(
        text.starts_with(
            "::error file=w.yml,line=1,col=8,endLine=1,endColumn=48,title=keysweep%3A GitHub"
        ),
        "{text}"
    );
}

#[test]
fn ledger_verify_detects_an_edited_line_and_a_missing_file() {
    use keysweep::ledger::{Ledger, Record};
    let dir = tree();
    let path = dir.path().join("ledger.jsonl");
    let ledger = Ledger::new(&path);
    for action in ["pr-opened", "run-verified", "secret-deleted"] {
        ledger
            .append(Record {
                actor: "app:1".into(),
                repository: "example-org/app".into(),
                secret: Some("AWS_SECRET_ACCESS_KEY".into()),
                action: action.into(),
                result: "ok".into(),
                ..Record::default()
            })
            .unwrap();
    }
    keysweep()
        .args(["ledger", "verify"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("3 entries, chain intact"));

    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("run-verified", "run-skipped", 1)).unwrap();
    keysweep()
        .args(["ledger", "verify"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(":3: the chain is broken"));

    keysweep()
        .args(["ledger", "verify"])
        .arg(dir.path().join("missing.jsonl"))
        .assert()
        .code(2);
}
