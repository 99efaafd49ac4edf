//! Accuracy test: scan a generated corpus with planted true secrets and hard decoys
//! (bench/corpus.rs) and check recall and precision against the planted list.
//!
//! Matching: a planted secret is FOUND when some finding has a location whose path
//! (relative to the scanned directory) is the planted path and whose secret equals the
//! planted secret, or one contains the other with the shorter at least 8 characters.
//! A finding location that matches a planted secret that way is a true positive,
//! otherwise a false positive.
//!
//! Run with `cargo test --test main accuracy:: -- --nocapture` to see the per-family table.
//! Environment:
//!   KEYSWEEP_ACCURACY_SEED=N        corpus seed (default 1)
//!   KEYSWEEP_ACCURACY_REPORT_ONLY=1 print the tables but do not assert the thresholds
//!   KEYSWEEP_ACCURACY_KEEP=DIR      also write the corpus to DIR (for debugging rules)

#[path = "../bench/corpus.rs"]
mod corpus;
#[path = "../bench/depth.rs"]
mod depth;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const MIN_PRECISION: f64 = 0.97;
const MIN_RECALL: f64 = 0.97;
const MIN_FAMILY_RECALL: f64 = 0.9;

/// One reported location of one finding.
struct Reported {
    path: String,
    secret: String,
    rule_id: String,
    family: String,
}

fn same_secret(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 8 && long.contains(short)
}

/// Path relative to the scanned directory, '/' separated, without a leading "./" or "/".
fn norm_path(p: &str, roots: &[String]) -> String {
    let mut s = p.replace('\\', "/");
    for r in roots {
        let r = r.trim_end_matches('/');
        if !r.is_empty() && (s == r || s.starts_with(&format!("{r}/"))) {
            s = s[r.len()..].to_string();
            break;
        }
    }
    loop {
        if let Some(rest) = s.strip_prefix("./") {
            s = rest.to_string();
        } else if let Some(rest) = s.strip_prefix('/') {
            s = rest.to_string();
        } else {
            return s;
        }
    }
}

/// First 8 characters and the length: enough to find the secret, not enough to leak it.
fn redact(s: &str) -> String {
    let head: String = s.chars().take(8).collect();
    format!(
        "{}...({} chars)",
        head.replace('\n', "\\n"),
        s.chars().count()
    )
}

/// Rule id -> family (rule file stem), read from rules/*.yml, for findings without a family.
fn rule_families() -> HashMap<String, String> {
    let mut map = HashMap::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return map;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("yml") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|x| x.to_str())
            .unwrap_or("")
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("- id:") {
                let id = rest.trim().trim_matches(|c| c == '"' || c == '\'');
                map.insert(id.to_string(), stem.clone());
            }
        }
    }
    map
}

fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key).and_then(|x| x.as_str()).unwrap_or("")
}

#[test]
fn accuracy_against_planted_corpus() {
    let seed: u64 = std::env::var("KEYSWEEP_ACCURACY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let report_only = std::env::var("KEYSWEEP_ACCURACY_REPORT_ONLY")
        .map(|v| v == "1")
        .unwrap_or(false);
    let tmp = tempfile::tempdir().expect("create temp dir");
    let root = tmp.path().join("corpus");
    let mut planted = corpus::accuracy_corpus(&root, seed).expect("generate accuracy corpus");
    planted.extend(depth::depth_corpus(&root, seed).expect("generate depth corpus"));
    if let Ok(keep) = std::env::var("KEYSWEEP_ACCURACY_KEEP") {
        corpus::accuracy_corpus(Path::new(&keep), seed)
            .expect("write KEYSWEEP_ACCURACY_KEEP corpus");
        depth::depth_corpus(Path::new(&keep), seed).expect("write KEYSWEEP_ACCURACY_KEEP corpus");
    }
    assert!(!planted.is_empty(), "the generator planted nothing");
    // Self-check of the generator: every planted secret is in its file, verbatim (encoded
    // and split ones, in the depth corpus, are not: their file must exist).
    for p in planted
        .iter()
        .filter(|p| depth::class_of(&p.path).is_none())
    {
        let bytes = std::fs::read(root.join(&p.path)).expect("read a planted file");
        assert!(
            String::from_utf8_lossy(&bytes).contains(&p.secret),
            "corpus generator bug: planted secret {} is not in {}",
            redact(&p.secret),
            p.path
        );
    }

    let output = assert_cmd::Command::cargo_bin("keysweep")
        .expect("keysweep binary")
        .arg("scan")
        .arg(&root)
        .args(["--format", "json", "--show-secrets", "--no-ignore"])
        .output()
        .expect("run keysweep");
    let code = output.status.code();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "keysweep scan failed with exit code {code:?}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "keysweep did not print a JSON report: {e}\nstdout starts with: {}",
            String::from_utf8_lossy(&output.stdout[..output.stdout.len().min(500)])
        )
    });

    let rule_fams = rule_families();
    let mut roots = vec![root.to_string_lossy().into_owned()];
    if let Ok(c) = std::fs::canonicalize(&root) {
        roots.push(c.to_string_lossy().into_owned());
    }
    let mut reported = Vec::new();
    for f in report
        .get("findings")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let rule_id = str_field(&f, "rule_id").to_string();
        let family = match str_field(&f, "family") {
            "" => rule_fams
                .get(&rule_id)
                .cloned()
                .unwrap_or_else(|| str_field(&f, "provider").to_string()),
            fam => fam.to_string(),
        };
        let secret = str_field(&f, "secret").to_string();
        for loc in f
            .get("locations")
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
        {
            reported.push(Reported {
                path: norm_path(str_field(&loc, "path"), &roots),
                secret: secret.clone(),
                rule_id: rule_id.clone(),
                family: family.clone(),
            });
        }
    }

    // Score.
    let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in planted.iter().enumerate() {
        by_path.entry(p.path.as_str()).or_default().push(i);
    }
    let mut found = vec![false; planted.len()];
    let mut tp = 0usize;
    let mut false_pos: Vec<&Reported> = Vec::new();
    for r in &reported {
        let mut hit = false;
        for &i in by_path
            .get(r.path.as_str())
            .map(|v| v.as_slice())
            .unwrap_or(&[])
        {
            if same_secret(&planted[i].secret, &r.secret) {
                found[i] = true;
                hit = true;
            }
        }
        if hit {
            tp += 1;
        } else {
            false_pos.push(r);
        }
    }

    // Per-family table.
    let mut fams: BTreeMap<usize, (&str, usize, usize, usize)> = BTreeMap::new();
    // Rows: the rule families, then the depth corpus's classes (encoded, split, wrapped).
    let rows: Vec<&str> = corpus::FAMILIES
        .iter()
        .chain(depth::CLASSES.iter())
        .copied()
        .collect();
    let order = |fam: &str| rows.iter().position(|f| *f == fam).unwrap_or(rows.len());
    for f in &rows {
        fams.insert(order(f), (f, 0, 0, 0));
    }
    for (i, p) in planted.iter().enumerate() {
        let e = fams.entry(order(&p.family)).or_insert(("other", 0, 0, 0));
        e.1 += 1;
        if found[i] {
            e.2 += 1;
        }
    }
    for r in &false_pos {
        let row = depth::class_of(&r.path).unwrap_or(&r.family);
        fams.entry(order(row)).or_insert(("other", 0, 0, 0)).3 += 1;
    }
    let n_found = found.iter().filter(|x| **x).count();
    let recall = n_found as f64 / planted.len() as f64;
    let fp = false_pos.len();
    let precision = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };

    println!(
        "\naccuracy corpus (seed {seed}): {} planted secrets, {} reported locations",
        planted.len(),
        reported.len()
    );
    println!(
        "{:<20} {:>7} {:>6} {:>7} {:>16}",
        "family", "planted", "found", "recall", "false positives"
    );
    let mut failures = Vec::new();
    for (fam, n, f, fpn) in fams.values() {
        if *n == 0 && *fpn == 0 {
            continue;
        }
        let rec = if *n == 0 { 1.0 } else { *f as f64 / *n as f64 };
        println!("{fam:<20} {n:>7} {f:>6} {rec:>7.3} {fpn:>16}");
        if *n > 0 && rec < MIN_FAMILY_RECALL {
            failures.push(format!(
                "family {fam}: recall {rec:.3} < {MIN_FAMILY_RECALL}"
            ));
        }
    }
    println!(
        "{:<20} {:>7} {:>6} {:>7.3} {:>16}",
        "TOTAL",
        planted.len(),
        n_found,
        recall,
        fp
    );
    println!("precision {precision:.3} (TP {tp}, FP {fp}), recall {recall:.3}");
    if recall < MIN_RECALL {
        failures.push(format!("overall recall {recall:.3} < {MIN_RECALL}"));
    }
    if precision < MIN_PRECISION {
        failures.push(format!(
            "overall precision {precision:.3} < {MIN_PRECISION}"
        ));
    }

    if !failures.is_empty() || report_only {
        let missed: Vec<usize> = (0..planted.len()).filter(|i| !found[*i]).collect();
        if !missed.is_empty() {
            println!("\nmissed secrets ({}):", missed.len());
            for i in missed {
                let p = &planted[i];
                println!("  MISSED [{}] {}: {}", p.family, p.path, redact(&p.secret));
            }
        }
        if !false_pos.is_empty() {
            println!("\nfalse positives ({}):", false_pos.len());
            for r in &false_pos {
                println!("  FP [{}] {}: {}", r.rule_id, r.path, redact(&r.secret));
            }
        }
    }
    if report_only {
        println!("\nKEYSWEEP_ACCURACY_REPORT_ONLY=1: thresholds not enforced");
        return;
    }
    assert!(
        failures.is_empty(),
        "accuracy below thresholds:\n  {}",
        failures.join("\n  ")
    );
}

/// Runs `keysweep scan DIR --format json --show-secrets` plus `extra`, returns the findings.
fn scan_json(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let output = assert_cmd::Command::cargo_bin("keysweep")
        .expect("keysweep binary")
        .arg("scan")
        .arg(dir)
        .args(["--format", "json", "--show-secrets", "--no-ignore"])
        .args(extra)
        .output()
        .expect("run keysweep");
    assert!(
        matches!(output.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json report");
    report["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn decoded_findings_point_at_the_encoded_span_and_say_how() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = corpus::Rng::new(7);
    let pw = rng.chars(corpus::B62, 20) + "Q7";
    let enc = corpus::base64(format!("deploy:{pw}").as_bytes(), false, true);
    let text = format!("{{\n  \"auths\": {{\n    \"registry.acme.test\": {{\n      \"auth\": \"{enc}\"\n    }}\n  }}\n}}\n");
    std::fs::write(tmp.path().join("config.json"), &text).unwrap();
    let findings = scan_json(tmp.path(), &[]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule_id"], "docker-config-auth");
    assert_eq!(f["secret"], format!("deploy:{pw}"));
    let reasons: Vec<&str> = f["reason"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(reasons.contains(&"decoded"), "{reasons:?}");
    let loc = &f["locations"][0];
    assert_eq!(loc["decoded"], "base64");
    assert_eq!(loc["line"], 4);
    // The column is that of the encoded text, 1-based.
    let col = text.lines().nth(3).unwrap().find(&enc).unwrap() + 1;
    assert_eq!(loc["column"], col);
    assert_eq!(loc["end_column"], col + enc.len());
    let snippet = loc["snippet"].as_str().unwrap();
    assert!(
        snippet.contains(&enc),
        "the snippet shows the file's line: {snippet}"
    );
}

#[test]
fn encrypted_keys_are_low_and_min_confidence_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = corpus::Rng::new(11);
    let body = corpus::base64(&rng.bytes(300), false, true);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----\n",
        lines.join("\n")
    );
    std::fs::write(tmp.path().join("server.key"), pem).unwrap();
    let token = corpus::crc_token("ghp_", &rng.chars(corpus::B62, 30));
    std::fs::write(tmp.path().join("ci.env"), format!("GH_TOKEN={token}\n")).unwrap();
    let all = scan_json(tmp.path(), &[]);
    let key = all
        .iter()
        .find(|f| f["rule_id"] == "private-key-encrypted")
        .expect("the encrypted key is reported");
    assert_eq!(key["confidence"], "low");
    assert_eq!(key["encrypted"], true);
    let high = scan_json(tmp.path(), &["--min-confidence", "high"]);
    let ids: Vec<&str> = high.iter().filter_map(|f| f["rule_id"].as_str()).collect();
    assert_eq!(ids, ["github-pat-classic"], "{high:#?}");
}

/// Shapes real repositories are full of, written as our own fixtures: none is a finding.
#[test]
fn real_repository_shapes_are_not_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = corpus::Rng::new(3);
    let hex40 = |rng: &mut corpus::Rng| rng.chars(b"0123456789abcdef", 40);
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // detect-secrets baseline: hashes of what it found, keyed `hashed_secret`.
    let mut results = String::new();
    for (i, file) in [
        "config/settings.py",
        "tests/test_auth.py",
        "docker-compose.yml",
    ]
    .iter()
    .enumerate()
    {
        results.push_str(&format!(
            "    \"{file}\": [\n      {{\n        \"type\": \"Secret Keyword\",\n        \"filename\": \"{file}\",\n        \"hashed_secret\": \"{}\",\n        \"is_verified\": false,\n        \"line_number\": {}\n      }}\n    ]{}\n",
            hex40(&mut rng),
            10 + i,
            if i < 2 { "," } else { "" }
        ));
    }
    write(
        ".secrets.baseline",
        &format!("{{\n  \"version\": \"1.5.0\",\n  \"plugins_used\": [\n    {{\"name\": \"KeywordDetector\"}}\n  ],\n  \"results\": {{\n{results}  }},\n  \"generated_at\": \"2026-11-30T10:00:00Z\"\n}}\n"),
    );
    // Locale bundles: labels about passwords and keys, translated.
    write(
        "web/src/locales/de.json",
        "{\n  \"One-Time Password\": \"Einmalpasswort42\",\n  \"password_too_short\": \"Das Passwort ist zu kurz\",\n  \"api_key_label\": \"API-Schluessel\",\n  \"secret_token_help\": \"Token aus den Einstellungen kopieren\"\n}\n",
    );
    write(
        "app/config/locales/fr.yml",
        "fr:\n  devise:\n    password: \"Mot2passe!\"\n    reset_password_token: \"Jeton de reinitialisation\"\n",
    );
    // A notebook with placeholder connection URLs and a key read from the environment.
    write(
        "notebooks/explore.ipynb",
        "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"source\": [\n    \"engine = create_engine(\\\"postgresql://username:my_password@localhost:5432/analytics\\\")\\n\",\n    \"client = OpenAI(api_key=os.environ[\\\"OPENAI_API_KEY\\\"])\\n\",\n    \"redis_url = \\\"redis://:your-password-here@localhost:6379/0\\\"\\n\"\n   ]\n  }\n ],\n \"nbformat\": 4\n}\n",
    );
    // Typed settings classes and code that names secrets without holding one.
    write(
        "service/settings.py",
        "from typing import Optional\nfrom pydantic import BaseSettings, Field, SecretStr\n\n\nclass Settings(BaseSettings):\n    db_password: Optional[str] = None\n    api_key: SecretStr = Field(..., env=\"API_KEY\")\n    jwt_secret: str = Field(default_factory=lambda: os.environ[\"JWT_SECRET\"])\n    password: str = \"{password}\"\n    dsn: str = f\"postgresql://{user}:{password}@{host}/app\"\n",
    );
    write(
        "internal/config/config.go",
        "package config\n\ntype PrivateKey = ed25519.PrivateKey\n\ntype Config struct {\n\tPassword string `json:\"password\" yaml:\"password\"`\n\tToken    string `env:\"API_TOKEN\"`\n}\n\nfunc (c Config) check(flags int) bool {\n\thasPassword := flags&0x4 != 0\n\treturn hasPassword\n}\n",
    );
    write(
        "src/types.ts",
        "export interface Credentials {\n  username: string;\n  password?: string;\n  apiKey: string | undefined;\n}\nconst password = process.env.DB_PASSWORD ?? '';\n",
    );
    write(
        "scripts/deploy.ps1",
        "$Token = $env:DEPLOY_TOKEN\n$pw = ConvertTo-SecureString $env:DEPLOY_PASSWORD -AsPlainText -Force\nInvoke-RestMethod -Headers @{ Authorization = \"Bearer `$Token\" }\n",
    );
    // A test suite with stub headers and dummy credentials.
    let stub = corpus::base64(b"user:password", false, true);
    let admin = corpus::base64(b"admin:admin", false, true);
    write(
        "tests/test_client.py",
        &format!("STUB_HEADERS = {{\"Authorization\": \"Basic {stub}\"}}\nADMIN = {{\"Authorization\": \"Basic {admin}\"}}\n\ndef test_signed_url():\n    url = \"https://bucket.s3.amazonaws.com/k?X-Amz-Credential=test/20260101/us-east-1/s3/aws4_request\"\n    assert sign(url, password=\"changeme\")\n\ndef test_login(client):\n    client.login(username=\"alice\", password=\"test1234\")\n"),
    );
    // A lockfile: integrity hashes everywhere.
    let integrity = corpus::base64(&rng.bytes(64), false, true);
    write(
        "web/package-lock.json",
        &format!("{{\n  \"name\": \"web\",\n  \"lockfileVersion\": 3,\n  \"packages\": {{\n    \"node_modules/token-bucket\": {{\n      \"version\": \"1.2.3\",\n      \"resolved\": \"https://registry.npmjs.org/token-bucket/-/token-bucket-1.2.3.tgz\",\n      \"integrity\": \"sha512-{integrity}\"\n    }}\n  }}\n}}\n"),
    );
    let findings = scan_json(root, &[]);
    let shown: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["rule_id"], f["locations"][0]["path"], f["locations"][0]["snippet"]
            )
        })
        .collect();
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        shown.join("\n")
    );
}
