//! `keysweep trust apply --plan FILE`: the trust side of a rotation plan. AWS is applied
//! through IAM (dry run unless `--confirm`, idempotent); every other target is printed as the
//! exact commands or API calls, which keysweep does not run.

use std::path::PathBuf;

use clap::Args;
use keysweep::cloud::manual::manual_steps;
use keysweep::cloud::plan_file::PlanFile;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan, as `keysweep rotate --format json` writes it (`-`: standard input). The plan
    /// is the one source of the trust policy: what was reviewed is what is applied.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// Only these targets (default: every target in the plan).
    #[arg(long, value_delimiter = ',', value_name = "T,...")]
    pub target: Vec<String>,
    /// AWS: attach this managed policy to the role (repeatable).
    #[arg(long = "policy-arn", value_name = "ARN")]
    pub policy_arns: Vec<String>,
    /// Make the changes (default: print what would be done).
    #[arg(long)]
    pub confirm: bool,
    /// The evidence ledger every change is appended to.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

pub fn run(args: &ApplyArgs) -> anyhow::Result<i32> {
    let plan = PlanFile::load(&args.plan)?;
    let wanted = |t: &str| args.target.is_empty() || args.target.iter().any(|w| w == t);
    let mut errors = 0;
    let mut any = false;
    for repo in &plan.repositories {
        if wanted("aws") && repo.has_target("aws") {
            any = true;
            if let Err(e) = aws(repo, args) {
                eprintln!("keysweep: error: {}: aws: {e:#}", repo.slug);
                errors += 1;
            }
        }
        let manual: Vec<_> = manual_steps(repo, &["aws"])
            .into_iter()
            .filter(|m| wanted(&m.target))
            .collect();
        for m in manual {
            any = true;
            let how = match m.kind {
                "api" => "API calls",
                "web" => "steps",
                _ => "commands",
            };
            println!(
                "\n{}: {} — keysweep did not run these {how}; run them yourself:\n",
                m.target, m.repository
            );
            print!("{}", m.text);
        }
    }
    if !any {
        println!("The plan has no trust to apply for the selected targets.");
    }
    Ok(if errors > 0 { 2 } else { 0 })
}

#[cfg(not(feature = "aws"))]
fn aws(_repo: &keysweep::cloud::plan_file::PlannedRepo, _args: &ApplyArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no AWS client (the `aws` feature); run aws/commands.sh of the plan, or install the full build: cargo install keysweep --features full"
    )
}

#[cfg(feature = "aws")]
fn aws(repo: &keysweep::cloud::plan_file::PlannedRepo, args: &ApplyArgs) -> anyhow::Result<()> {
    use keysweep::cloud::aws::{iam_client, trust};
    use keysweep::ledger::{Ledger, Record};
    use std::collections::BTreeMap;

    let Some(want) = trust::from_plan(repo, "aws")? else {
        return Ok(());
    };
    println!(
        "\naws: {} — role {} in account {}, trusting {}",
        want.repository, want.role_name, want.account_id, want.issuer_url
    );
    let rt = super::retire::runtime()?;
    rt.block_on(async {
        let iam = iam_client().await;
        let steps = trust::observe(&iam, &want, &args.policy_arns).await?;
        if steps.is_empty() {
            println!("  nothing to do: the OIDC provider, the role, its trust policy and policies are as planned");
            return Ok(());
        }
        let ledger = Ledger::new(super::retire::ledger_path(args.ledger.as_deref()));
        for step in &steps {
            let verb = if args.confirm { "" } else { "would " };
            println!("  {verb}{}", step.describe());
            if let trust::Step::UpdateTrust { diff, .. } = step {
                for l in diff.lines() {
                    println!("    {l}");
                }
            }
            if !args.confirm {
                continue;
            }
            let result = trust::apply_step(&iam, step).await;
            ledger.append(Record {
                actor: super::retire::actor(),
                repository: want.repository.clone(),
                secret: None,
                action: step.action().to_string(),
                result: match &result {
                    Ok(_) => "ok".into(),
                    Err(e) => e.to_string(),
                },
                evidence: BTreeMap::from_iter(
                    [("role".to_string(), want.role_name.clone())].into_iter().chain(
                        result
                            .as_ref()
                            .ok()
                            .filter(|a| !a.is_empty())
                            .map(|a| ("arn".to_string(), a.clone())),
                    ),
                ),
            })?;
            result?;
        }
        if !args.confirm {
            println!("  dry run: nothing was changed; run again with --confirm to apply");
        }
        Ok(())
    })
}
