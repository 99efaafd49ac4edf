//! `keysweep retire`: remove what a merged OIDC migration replaced. Dry run unless
//! `--confirm`; every change is appended to the evidence ledger, and a run that stopped
//! halfway resumes from it. Exit 0 done (or nothing left), 1 refused (the key is still used,
//! or was turned back on), 2 error, 3 waiting (the quiet period before deleting the key).

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The repository the retired credentials served (recorded in the ledger).
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    pub repos: Vec<String>,
    /// AWS: the old access key's id (from the scan finding). Never the secret key.
    #[arg(long, value_name = "AKIA...")]
    pub aws_access_key_id: Option<String>,
    /// AWS: the IAM user owning the key (default: found with GetAccessKeyLastUsed).
    #[arg(long, value_name = "NAME")]
    pub aws_user: Option<String>,
    /// Delete a deactivated key once this long has passed with no use (`7d`, `36h`).
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub delete_after: String,
    /// Make the changes (default: print what would be done).
    #[arg(long)]
    pub confirm: bool,
    /// The evidence ledger (default: $XDG_STATE_HOME/keysweep/ledger.jsonl).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

/// One tokio runtime for a command's API calls, made at the CLI edge.
#[cfg(any(feature = "aws", feature = "github"))]
pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[cfg_attr(not(any(feature = "aws", feature = "github")), allow(dead_code))]
/// `--ledger`, else `$KEYSWEEP_STATE_DIR`, `$XDG_STATE_HOME/keysweep` or
/// `~/.local/state/keysweep`, then `ledger.jsonl`: outside any repository's tree.
pub(super) fn ledger_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = env("KEYSWEEP_STATE_DIR")
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("keysweep")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/keysweep")))
        .unwrap_or_else(|| PathBuf::from(".keysweep"));
    dir.join("ledger.jsonl")
}

#[cfg_attr(not(any(feature = "aws", feature = "github")), allow(dead_code))]
/// Who acts, for the ledger: `KEYSWEEP_ACTOR`, the Actions actor, or the local user.
pub(super) fn actor() -> String {
    ["KEYSWEEP_ACTOR", "GITHUB_ACTOR", "USER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

pub fn run(args: &RetireArgs) -> anyhow::Result<i32> {
    let delete_after = keysweep::retire::clock::parse_duration(&args.delete_after)
        .map_err(|e| anyhow::anyhow!("--delete-after {e}"))?;
    let Some(key) = &args.aws_access_key_id else {
        anyhow::bail!("nothing to retire: give --aws-access-key-id (the old key's id)");
    };
    aws_key(args, key, delete_after)
}

#[cfg(not(feature = "aws"))]
fn aws_key(_args: &RetireArgs, _key: &str, _after: jiff::SignedDuration) -> anyhow::Result<i32> {
    anyhow::bail!(
        "this build has no AWS client (the `aws` feature): deactivate the key with `aws iam update-access-key --status Inactive`, or install the full build: cargo install keysweep --features full"
    )
}

#[cfg(feature = "aws")]
fn aws_key(
    args: &RetireArgs,
    key: &str,
    delete_after: jiff::SignedDuration,
) -> anyhow::Result<i32> {
    use keysweep::retire::aws_key::{retire_key, KeyOutcome, KeyRun};

    let now = keysweep::retire::clock::now()?;
    let ledger = keysweep::ledger::Ledger::new(ledger_path(args.ledger.as_deref()));
    let actor = actor();
    let repository = args.repos.first().cloned().unwrap_or_default();
    let rt = runtime()?;
    let report = rt.block_on(async {
        let iam = keysweep::cloud::aws::iam_client().await;
        let run = KeyRun {
            iam: &iam,
            ledger: &ledger,
            actor: &actor,
            repository: &repository,
            secret: None,
            confirm: args.confirm,
            now,
            delete_after,
        };
        retire_key(&run, key, args.aws_user.as_deref()).await
    })?;
    let who = report
        .user
        .as_deref()
        .map(|u| format!(" of IAM user {u}"))
        .unwrap_or_default();
    let k = format!("access key {}{who}", report.key);
    let line = match &report.outcome {
        KeyOutcome::WouldDeactivate => format!("would deactivate {k} (UpdateAccessKey Inactive); run with --confirm"),
        KeyOutcome::Deactivated => format!("deactivated {k}; it is deleted by a run after {} without use", args.delete_after),
        KeyOutcome::WouldStartQuietPeriod => format!("{k} is inactive already (not by keysweep): would start the {} quiet period now; run with --confirm", args.delete_after),
        KeyOutcome::QuietPeriodStarted => format!("{k} is inactive already: the {} quiet period starts now", args.delete_after),
        KeyOutcome::Waiting { until } => format!("waiting: {k} is inactive; it can be deleted after {until} if it stays unused"),
        KeyOutcome::WouldDelete => format!("would delete {k} (inactive, unused since its deactivation); run with --confirm"),
        KeyOutcome::Deleted => format!("deleted {k}"),
        KeyOutcome::AlreadyDeleted => format!("{k} was deleted on an earlier run; nothing left to do"),
        KeyOutcome::InUse { last_used, deactivated_at } => format!("refused: {k} was used at {last_used}, after keysweep deactivated it at {deactivated_at}; find what still uses it before deleting it"),
        KeyOutcome::Reactivated { deactivated_at } => format!("refused: {k} is active again after keysweep deactivated it at {deactivated_at}; someone turned it back on"),
    };
    println!("aws: {line}");
    Ok(report.outcome.exit_code())
}
