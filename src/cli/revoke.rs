//! `keysweep revoke PATH...`: scan for leaked GitHub tokens and, with `--confirm`, send them to
//! GitHub's credential revocation API. Always prints what it sends first (redacted). Exit 0
//! sent (or a dry run), 1 nothing revocable found, 2 error.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use keysweep::retire::revoke::{select, shown_body, MAX_PER_REQUEST};

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Files or directories to scan for GitHub tokens (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Send the revocation request. Revocation cannot be undone; the owners are notified.
    #[arg(long)]
    pub confirm: bool,
    /// API base (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
    /// The evidence ledger (default: $XDG_STATE_HOME/keysweep/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

pub fn run(args: &RevokeArgs) -> anyhow::Result<i32> {
    let rules = Arc::new(keysweep::rules::RuleSet::builtin()?);
    let detector = keysweep::detect::Detector::new(rules);
    let settings = keysweep::scan::ScanSettings {
        walk: keysweep::source::fs::WalkOptions {
            max_file_size: 25 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let scanner = keysweep::scan::Scanner::new(detector, settings);
    let result = scanner.scan_paths(&super::default_paths(&args.paths))?;
    let (revocable, other) = select(&result.findings);
    for f in &other {
        eprintln!(
            "keysweep: {} ({}) is not accepted by the revocation API; {}",
            f.secret.redacted(),
            f.rule_id,
            if f.rule_id.contains("installation") || f.rule_id.contains("server-to-server") {
                "installation tokens expire within an hour"
            } else {
                "rotate it where it was issued"
            }
        );
    }
    if revocable.is_empty() {
        println!("No GitHub token the revocation API accepts was found.");
        return Ok(1);
    }
    let base = args
        .github_url
        .clone()
        .or_else(|| {
            std::env::var("GITHUB_API_URL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| "https://api.github.com".into());
    let base = base.trim_end_matches('/').to_string();
    for f in &revocable {
        let at = f
            .locations
            .first()
            .map(|l| format!(" at {}:{}", l.path, l.line))
            .unwrap_or_default();
        println!("{} ({}){at}", f.secret.redacted(), f.rule_id);
    }
    let batches: Vec<&[&keysweep::finding::Finding]> = revocable.chunks(MAX_PER_REQUEST).collect();
    for batch in &batches {
        println!(
            "{} POST {base}/credentials/revoke (unauthenticated)\n{}",
            if args.confirm {
                "sending"
            } else {
                "would send"
            },
            serde_json::to_string_pretty(&shown_body(batch))?
        );
    }
    if !args.confirm {
        println!(
            "dry run: nothing was sent; run again with --confirm to revoke (it cannot be undone)"
        );
        return Ok(0);
    }
    send(args, &base, &batches)
}

#[cfg(not(feature = "github"))]
fn send(
    _args: &RevokeArgs,
    _base: &str,
    _batches: &[&[&keysweep::finding::Finding]],
) -> anyhow::Result<i32> {
    anyhow::bail!(
        "this build has no GitHub client (the `github` feature): install the full build: cargo install keysweep --features full"
    )
}

#[cfg(feature = "github")]
fn send(
    args: &RevokeArgs,
    base: &str,
    batches: &[&[&keysweep::finding::Finding]],
) -> anyhow::Result<i32> {
    use keysweep::ledger::{Ledger, Record};
    use std::collections::BTreeMap;

    let ledger = Ledger::new(super::retire::ledger_path(args.ledger.as_deref()));
    let rt = super::retire::runtime()?;
    let mut failed = 0;
    for batch in batches {
        let result = rt.block_on(keysweep::retire::revoke::send(base, batch));
        let shown: Vec<String> = batch.iter().map(|f| f.secret.redacted()).collect();
        ledger.append(Record {
            actor: super::retire::actor(),
            repository: String::new(),
            secret: None,
            action: "revoke-sent".into(),
            result: match &result {
                Ok(_) => "ok".into(),
                Err(e) => e.to_string(),
            },
            evidence: BTreeMap::from([
                ("credentials".to_string(), shown.join(", ")),
                ("count".to_string(), batch.len().to_string()),
            ]),
        })?;
        match result {
            Ok(status) => println!(
                "accepted (HTTP {status}): GitHub revokes the tokens and notifies their owners"
            ),
            Err(e) => {
                eprintln!("keysweep: error: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { 2 } else { 0 })
}
