//! `keysweep rules list|check`.

use anyhow::bail;
use clap::Subcommand;
use keysweep::rules::{check_rules, RuleSet};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules: id, provider, confidence, keywords.
    List {
        /// Also list the rules in these directories.
        #[arg(long = "rules", value_name = "DIR")]
        rule_dirs: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check rule files: each rule's pattern, examples and negative examples.
    Check {
        /// Rule files or directories of rule files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<i32> {
    match cmd {
        RulesCommand::List { rule_dirs, json } => {
            let mut set = RuleSet::builtin()?;
            for d in &rule_dirs {
                set.extend(RuleSet::load_path(d)?)?;
            }
            if json {
                let specs: Vec<_> = set.rules().iter().map(|r| &r.spec).collect();
                println!("{}", serde_json::to_string_pretty(&specs)?);
            } else {
                println!("{:<44} {:<16} {:<7} KEYWORDS", "ID", "PROVIDER", "CONF");
                for r in set.rules() {
                    println!(
                        "{:<44} {:<16} {:<7} {}",
                        r.id(),
                        r.spec.provider,
                        r.spec.confidence.as_str(),
                        r.spec.keywords.join(", ")
                    );
                }
                println!("{} rules", set.len());
            }
            Ok(0)
        }
        RulesCommand::Check { paths } => {
            let mut set = RuleSet::default();
            for p in &paths {
                set.extend(RuleSet::load_path(p)?)?;
            }
            let problems = check_rules(&Arc::new(set));
            for p in &problems {
                println!("{p}");
            }
            if !problems.is_empty() {
                bail!(
                    "{} problem{} in rule files",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
            }
            println!("all rules ok");
            Ok(0)
        }
    }
}
