//! `keysweep scan`.

use super::{default_paths, output, GlobalArgs};
use anyhow::{bail, Context};
use clap::Args;
use keysweep::ci_findings::{analyze_listed_root, analyze_roots, PipelineUses};
use keysweep::detect::Detector;
use keysweep::report::{write_report, Format, ReportContext};
use keysweep::rules::RuleSet;
use keysweep::scan::{ScanResult, ScanSettings, Scanner};
use keysweep::source::fs::{build_globs, WalkOptions};
use keysweep::source::git::GitMode;
use keysweep::suppress::config::{ByteSize, DEFAULT_CONFIG_FILE};
use keysweep::suppress::{Baseline, Config};

use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input. Default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Output format (default: human).
    #[arg(long, short, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a report in another format to a file, from the same scan (repeatable):
    /// `--report sarif=keysweep.sarif --report json=keysweep.json`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_extra_report)]
    pub reports: Vec<(Format, PathBuf)>,
    /// Print secrets in clear. Without it every output is redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Also scan files that .gitignore and .ignore files hide.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this (e.g. 25MiB, 1GB, 1048576).
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<ByteSize>,
    /// Add rules from a directory of rule files (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Config file (default: .keysweep.toml in the scanned directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report only findings whose fingerprint is not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Never scan paths matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Turn a rule off by id (repeatable).
    #[arg(long, value_name = "RULE_ID")]
    pub disable_rule: Vec<String>,
    /// Only analyse CI configuration (workflows, GitLab CI); do not scan file contents.
    #[arg(long, conflicts_with = "no_pipelines")]
    pub pipelines_only: bool,
    /// Do not analyse CI configuration.
    #[arg(long)]
    pub no_pipelines: bool,
    /// Report only findings at or above this confidence: low, medium or high.
    #[arg(long, value_name = "LEVEL", value_parser = parse_confidence)]
    pub min_confidence: Option<keysweep::rules::Confidence>,
    /// With --range/--staged: what a new long-lived credential use in a CI file does (`fail`:
    /// exit 1 and errors; `warn`: warnings, exit 0; `off`). Default: `pipeline_uses` in the
    /// config, else `fail`.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub pipeline_uses: Option<PipelineUses>,
    /// Scan the git history of the repository at PATH (default: .): every blob ever
    /// committed, including deleted files, other branches and unreachable objects.
    #[arg(long, help_heading = "Git")]
    pub git: bool,
    /// Scan only what the commits in BASE..HEAD introduced (PR mode; BASE...HEAD: from the
    /// merge base). Lines already in BASE are not reported.
    #[arg(long, value_name = "BASE..HEAD", help_heading = "Git", conflicts_with_all = ["since", "staged"])]
    pub range: Option<String>,
    /// Shorthand for --range REV..HEAD.
    #[arg(
        long,
        value_name = "REV",
        help_heading = "Git",
        conflicts_with = "staged"
    )]
    pub since: Option<String>,
    /// Scan the staged changes (the index entries that differ from HEAD), as a pre-commit
    /// hook would: the content `git commit` would record, not the working tree.
    #[arg(long, help_heading = "Git")]
    pub staged: bool,
}

impl ScanArgs {
    /// The git mode the flags ask for, if any.
    pub fn git_mode(&self) -> anyhow::Result<Option<GitMode>> {
        Ok(if let Some(r) = &self.range {
            Some(GitMode::range(r)?)
        } else if let Some(rev) = &self.since {
            Some(GitMode::range(&format!("{rev}..HEAD"))?)
        } else if self.staged {
            Some(GitMode::Staged)
        } else if self.git {
            Some(GitMode::History)
        } else {
            None
        })
    }
}

const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

/// Everything a scan needs, resolved from flags and the config file.
pub struct Prepared {
    pub scanner: Scanner,
    pub rules: Arc<RuleSet>,
    /// From `--baseline` or the config; read by `scan`, not by `baseline`.
    pub baseline_path: Option<PathBuf>,
    pub roots: Vec<PathBuf>,
    pub git: Option<GitMode>,
    /// What new CI credential uses do in the range and staged modes.
    pub pipeline_uses: PipelineUses,
}

pub fn prepare(args: &ScanArgs, global: &GlobalArgs) -> anyhow::Result<Prepared> {
    let roots = default_paths(&args.paths);
    let config = load_config(args, &roots)?;
    let mut rules = RuleSet::builtin().context("built-in rules")?;
    for dir in config
        .rule_dirs
        .iter()
        .map(|d| config.resolve(d))
        .chain(args.rule_dirs.iter().cloned())
    {
        rules.extend(RuleSet::load_path(&dir)?)?;
    }
    for id in config.disabled_rules.iter().chain(&args.disable_rule) {
        if rules.index_of(id).is_none() {
            bail!("cannot disable rule `{id}`: no such rule (see `keysweep rules list`)");
        }
    }
    rules.disable(&config.disabled_rules);
    rules.disable(&args.disable_rule);
    let rules = Arc::new(rules);
    let detector = Detector::new(rules.clone());
    let allow_secrets = config
        .allow_secrets
        .iter()
        .map(|r| regex::Regex::new(r))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = ScanSettings {
        show_secrets: args.show_secrets,
        walk: WalkOptions {
            no_ignore: args.no_ignore,
            exclude: build_globs(
                &config
                    .exclude_paths
                    .iter()
                    .chain(&args.exclude)
                    .cloned()
                    .collect::<Vec<_>>(),
            )?,
            max_file_size: args
                .max_file_size
                .or(config.max_file_size)
                .map_or(DEFAULT_MAX_FILE_SIZE, |b| b.0),
        },
        allow_secrets,
        progress: !global.quiet,
        min_confidence: args.min_confidence,
    };
    let baseline_path = args
        .baseline
        .clone()
        .or_else(|| config.baseline.as_ref().map(|b| config.resolve(b)));
    Ok(Prepared {
        scanner: Scanner::new(detector, settings),
        rules,
        baseline_path,
        roots,
        git: args.git_mode()?,
        pipeline_uses: args
            .pipeline_uses
            .or(config.pipeline_uses)
            .unwrap_or_default(),
    })
}

fn load_config(args: &ScanArgs, roots: &[PathBuf]) -> anyhow::Result<Config> {
    if let Some(path) = &args.config {
        return Ok(Config::load(path)?);
    }
    let dir = roots
        .iter()
        .find(|r| r.as_os_str() != "-" && r.is_dir())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let candidate = dir.join(DEFAULT_CONFIG_FILE);
    if candidate.is_file() {
        Ok(Config::load(&candidate)?)
    } else {
        Ok(Config::default())
    }
}

/// Runs the scan the arguments describe (working tree or stdin).
pub fn execute(prepared: &Prepared) -> anyhow::Result<ScanResult> {
    let roots = &prepared.roots;
    if let Some(mode) = &prepared.git {
        return execute_git(prepared, mode);
    }
    if roots.iter().any(|r| r.as_os_str() == "-") {
        if roots.len() > 1 {
            bail!("`-` (standard input) cannot be combined with other paths");
        }
        return Ok(prepared.scanner.scan_reader(std::io::stdin().lock())?);
    }
    Ok(prepared.scanner.scan_paths(roots)?)
}

/// The content scan and, on working trees, the pipeline analysis, as the flags ask.
pub fn execute_all(args: &ScanArgs, prepared: &Prepared) -> anyhow::Result<ScanResult> {
    let exclude = &prepared.scanner.settings().walk.exclude;
    let tree_pipelines = !args.no_pipelines && prepared.git.is_none() && is_working_tree(args);
    // One directory: the pipeline analysis takes its CI files from the content scan's walk.
    if let [root] = prepared.roots.as_slice() {
        if tree_pipelines && !args.pipelines_only && root.is_dir() {
            let (mut result, analysis) = prepared.scanner.scan_paths_with(
                &prepared.roots,
                &keysweep::pipeline::is_ci_candidate,
                |files| analyze_listed_root(root, &files, exclude),
            )?;
            result.add_pipelines(analysis);
            return Ok(result);
        }
    }
    // The pipeline analysis reads only CI files: it runs beside the content scan, not after it.
    let (result, pipelines) = std::thread::scope(|s| {
        let pipelines = tree_pipelines.then(|| s.spawn(|| analyze_roots(&prepared.roots, exclude)));
        let result = if args.pipelines_only {
            Ok(ScanResult::default())
        } else {
            execute(prepared)
        };
        let pipelines = pipelines.map(|h| h.join().expect("the pipeline analysis does not panic"));
        (result, pipelines)
    });
    let mut result = result?;
    if let Some(analysis) = pipelines {
        result.add_pipelines(analysis);
    }
    if args.no_pipelines {
        return Ok(result);
    }
    if let Some(mode @ (GitMode::Range { .. } | GitMode::Staged)) = &prepared.git {
        if let [repo] = prepared.roots.as_slice() {
            result.add_pipeline_changes(repo, mode, exclude, prepared.pipeline_uses)?;
        }
    }
    Ok(result)
}

/// History, range or staged scan of the one repository in `roots`.
fn execute_git(prepared: &Prepared, mode: &GitMode) -> anyhow::Result<ScanResult> {
    let [repo] = prepared.roots.as_slice() else {
        bail!("git modes scan one repository: give one PATH");
    };
    let mut result = prepared.scanner.scan_git(repo, mode)?;
    result.apply_path_excludes(&prepared.scanner.settings().walk.exclude);
    let quiet = !prepared.scanner.settings().progress;
    if let Some(info) = result.stats.git.as_ref().filter(|i| i.shallow && !quiet) {
        eprintln!(
            "keysweep: warning: {} is a shallow clone: history before its boundary was not scanned \
             (fetch it with `git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)",
            info.git_dir
        );
    }
    Ok(result)
}

/// The whole tree's pipelines are analysed on directories, not on stdin, and not in the git
/// modes (a pre-commit or PR scan reports the uses the change adds, not the tree's).
fn is_working_tree(args: &ScanArgs) -> bool {
    let git = args.git || args.staged || args.range.is_some() || args.since.is_some();
    !git && !args.paths.iter().any(|p| p.as_os_str() == "-")
}

pub fn run(args: &ScanArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let prepared = prepare(args, global)?;
    // Loaded before the scan so a bad baseline fails fast; `keysweep baseline` never loads it
    // (it writes a new one, possibly for the first time).
    let baseline = prepared
        .baseline_path
        .as_deref()
        .map(Baseline::load)
        .transpose()?;
    let mut result = execute_all(args, &prepared)?;
    if let Some(b) = &baseline {
        result.apply_baseline(b);
    }
    emit(args, global, &prepared.rules, &result)?;
    Ok(if result.has_findings() { 1 } else { 0 })
}

pub fn emit(
    args: &ScanArgs,
    global: &GlobalArgs,
    rules: &RuleSet,
    result: &ScanResult,
) -> anyhow::Result<()> {
    let color = output::use_color(global.color, args.output.as_deref());
    let ctx = ReportContext {
        rules,
        show_secrets: args.show_secrets,
        color,
    };
    for (format, path) in &args.reports {
        let plain = ReportContext {
            color: false,
            ..ctx
        };
        output::write_to(Some(path), |w| {
            Ok(write_report(*format, result, &plain, w)?)
        })?;
    }
    output::write_to(args.output.as_deref(), |w| {
        Ok(write_report(args.format, result, &ctx, w)?)
    })?;
    warn_unscanned(global, result);
    Ok(())
}

fn parse_extra_report(value: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = value
        .split_once('=')
        .filter(|(_, p)| !p.is_empty())
        .ok_or_else(|| format!("`{value}`: expected FORMAT=FILE, e.g. sarif=keysweep.sarif"))?;
    let format = <Format as clap::ValueEnum>::from_str(format, true)
        .map_err(|_| format!("`{format}`: unknown format (human, json, jsonl, sarif, github)"))?;
    Ok((format, PathBuf::from(path)))
}

/// Files that could not be read are warnings on stderr whatever the format: a scan that
/// silently skipped them would look cleaner than it is.
fn warn_unscanned(global: &GlobalArgs, result: &ScanResult) {
    use keysweep::source::SkipReason::*;
    if global.quiet {
        return;
    }
    let bad: Vec<_> = result
        .stats
        .skipped
        .iter()
        .filter(|s| matches!(s.reason, Unreadable | Vanished | WalkError | CorruptObject))
        .collect();
    if !bad.is_empty() {
        eprintln!(
            "keysweep: warning: {} input{} could not be read (first: {}: {})",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            bad[0].path,
            bad[0].detail.as_deref().unwrap_or(bad[0].reason.as_str())
        );
    }
}

fn parse_confidence(s: &str) -> Result<keysweep::rules::Confidence, String> {
    use keysweep::rules::Confidence;
    match s {
        "low" => Ok(Confidence::Low),
        "medium" => Ok(Confidence::Medium),
        "high" => Ok(Confidence::High),
        _ => Err(format!(
            "`{s}` is not a confidence: use low, medium or high"
        )),
    }
}
