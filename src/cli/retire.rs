//! `keysweep retire`: remove what a merged OIDC migration replaced. Dry run unless
//! `--confirm`; every change is appended to the evidence ledger, and a run that stopped
//! halfway resumes from it. Exit 0 done (or nothing left), 1 refused (the key is still used,
//! or was turned back on), 2 error, 3 waiting (the quiet period before deleting the key).

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, Args)]
pub struct RetireArgs {
    /// A repository whose merged migration to retire (repeatable). Without it, only the
    /// AWS key given is retired, with no preconditions checked.
    #[arg(long = "repo", value_name = "OWNER/REPO")]
    pub repos: Vec<String>,
    /// A file of repositories, one per line: `OWNER/REPO [AWS_ACCESS_KEY_ID]` (`#` comments).
    #[arg(long = "repos", value_name = "FILE")]
    pub repos_file: Option<PathBuf>,
    /// The migration pull request's branch.
    #[arg(long, value_name = "BRANCH", default_value = "keysweep/oidc-migration")]
    pub branch: String,
    /// Also delete organization secrets the migration replaced, when no other repository
    /// they are shared with still reads them.
    #[arg(long)]
    pub include_org_secrets: bool,
    /// GitHub API base (default: $GITHUB_API_URL, else https://api.github.com).
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
    /// AWS: the old access key's id (from the scan finding; with one repository). Never the
    /// secret key.
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

/// The worst of several exit codes: an error, then a refusal, then waiting.
#[cfg(feature = "github")]
fn worst(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        2 => 3,
        1 => 2,
        3 => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// `--repo`s and the `--repos` file's lines, with each one's AWS key id.
fn repositories(args: &RetireArgs) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> =
        args.repos.iter().map(|r| (r.clone(), None)).collect();
    if let Some(f) = &args.repos_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("--repos {}: {e}", f.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let mut parts = line.split_whitespace();
            let Some(repo) = parts.next() else { continue };
            out.push((repo.to_string(), parts.next().map(str::to_string)));
            if parts.next().is_some() {
                anyhow::bail!(
                    "--repos {}:{}: expected `OWNER/REPO [AWS_ACCESS_KEY_ID]`",
                    f.display(),
                    i + 1
                );
            }
        }
    }
    if let Some(k) = &args.aws_access_key_id {
        match out.as_mut_slice() {
            [] => {}
            [(_, key @ None)] => *key = Some(k.clone()),
            _ => anyhow::bail!("--aws-access-key-id names one key: with several repositories, put each key after its repository in the --repos file"),
        }
    }
    Ok(out)
}

pub fn run(args: &RetireArgs) -> anyhow::Result<i32> {
    let delete_after = keysweep::retire::clock::parse_duration(&args.delete_after)
        .map_err(|e| anyhow::anyhow!("--delete-after {e}"))?;
    let repos = repositories(args)?;
    if repos.is_empty() {
        let Some(key) = &args.aws_access_key_id else {
            anyhow::bail!("nothing to retire: give --repo OWNER/REPO (or --repos FILE), or --aws-access-key-id");
        };
        return aws_key(args, "", None, key, delete_after);
    }
    github(args, &repos, delete_after)
}

#[cfg(not(feature = "github"))]
fn github(
    _args: &RetireArgs,
    _repos: &[(String, Option<String>)],
    _after: jiff::SignedDuration,
) -> anyhow::Result<i32> {
    anyhow::bail!(
        "this build has no GitHub client (the `github` feature): install the full build: cargo install keysweep --features full"
    )
}

#[cfg(feature = "github")]
fn github(
    args: &RetireArgs,
    repos: &[(String, Option<String>)],
    delete_after: jiff::SignedDuration,
) -> anyhow::Result<i32> {
    use keysweep::retire::github::GitHub;
    use keysweep::retire::manual::manual_step;
    use keysweep::retire::plan::SecretScope;
    use keysweep::retire::run::{retire_repo, Options};

    let rt = runtime()?;
    // octocrab's client spawns its service on the runtime it is built in
    let _in_rt = rt.enter();
    let client = keysweep::forge::Client::from_env(args.github_url.as_deref())?;
    let ledger = keysweep::ledger::Ledger::new(ledger_path(args.ledger.as_deref()));
    let actor = std::env::var("KEYSWEEP_ACTOR")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| rt.block_on(client.actor()));
    let opts = Options {
        branch: args.branch.clone(),
        include_org_secrets: args.include_org_secrets,
        confirm: args.confirm,
        actor: actor.clone(),
    };
    let mut code = 0;
    for (repo, key) in repos {
        if keysweep::forge::split_repo(repo).is_none() {
            eprintln!("keysweep: error: `{repo}`: not OWNER/REPO");
            code = worst(code, 2);
            continue;
        }
        let outcome = rt.block_on(async {
            let c = client.for_repository(repo).await?;
            anyhow::Ok(retire_repo(&GitHub { client: &c }, &ledger, repo, &opts).await?)
        });
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                eprintln!("keysweep: error: {repo}: {e:#}");
                code = worst(code, 2);
                continue;
            }
        };
        for e in &outcome.events {
            println!("{repo}: {e}");
        }
        code = worst(code, outcome.exit_code());
        // the key only after every secret is gone: a run stopped here resumes there
        if !outcome.ready || outcome.exit_code() != 0 {
            continue;
        }
        let mut key_done = false;
        for target in &outcome.migrated.targets {
            let aws = target == "aws" || target == "gitlab-aws";
            if aws && key_done {
                continue;
            }
            if aws {
                key_done = true;
                if let Some(k) = key {
                    let secret = outcome
                        .migrated
                        .secrets
                        .iter()
                        .find(|s| {
                            s.name.contains("ACCESS_KEY_ID") && s.scope != SecretScope::Organization
                        })
                        .or(outcome.migrated.secrets.first())
                        .map(|s| s.name.clone());
                    let c = aws_key(args, repo, secret.as_deref(), k, delete_after).unwrap_or_else(
                        |e| {
                            eprintln!("keysweep: error: {repo}: aws: {e:#}");
                            2
                        },
                    );
                    code = worst(code, c);
                    continue;
                }
            }
            if let Some(step) = manual_step(target, key.is_some()) {
                println!("{repo}: manual: {step}");
            }
        }
        if !args.confirm {
            println!("{repo}: dry run: nothing was changed; run again with --confirm");
        }
    }
    Ok(code)
}

#[cfg(not(feature = "aws"))]
fn aws_key(
    _args: &RetireArgs,
    _repo: &str,
    _secret: Option<&str>,
    _key: &str,
    _after: jiff::SignedDuration,
) -> anyhow::Result<i32> {
    anyhow::bail!(
        "this build has no AWS client (the `aws` feature): deactivate the key with `aws iam update-access-key --status Inactive`, or install the full build: cargo install keysweep --features full"
    )
}

#[cfg(feature = "aws")]
fn aws_key(
    args: &RetireArgs,
    repository: &str,
    secret: Option<&str>,
    key: &str,
    delete_after: jiff::SignedDuration,
) -> anyhow::Result<i32> {
    use keysweep::retire::aws_key::{retire_key, KeyOutcome, KeyRun};

    let now = keysweep::retire::clock::now()?;
    let ledger = keysweep::ledger::Ledger::new(ledger_path(args.ledger.as_deref()));
    let actor = actor();
    let rt = runtime()?;
    let report = rt.block_on(async {
        let iam = keysweep::cloud::aws::iam_client().await;
        let run = KeyRun {
            iam: &iam,
            ledger: &ledger,
            actor: &actor,
            repository,
            secret,
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
    if repository.is_empty() {
        println!("aws: {line}");
    } else {
        println!("{repository}: aws: {line}");
    }
    Ok(report.outcome.exit_code())
}
