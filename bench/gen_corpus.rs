//! Generate keysweep benchmark / accuracy corpora.
//!
//! ```text
//! cargo run --release --example gen-corpus -- accuracy OUT_DIR [--seed N] [--truth PATH] [--force]
//! cargo run --release --example gen-corpus -- bulk OUT_DIR [--size 300MB] [--seed N] [--force]
//! ```
//!
//! std-only: also builds with `rustc --edition 2021 -O bench/gen_corpus.rs -o gen_corpus`.
//! Sizes accept B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024).
//! For `accuracy` the planted true secrets are written as JSON to
//! `OUT_DIR/../<basename(OUT_DIR)>.truth.json` unless `--truth PATH` is given.
// Test and benchmark code: unwrap is the failure message, printing is the output.
#![allow(clippy::unwrap_used, clippy::print_stdout, unreachable_pub)]

#[path = "corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen-corpus (accuracy|bulk) OUT_DIR [--size 300MB] [--seed N] [--truth PATH] [--force]\n\
         \n  accuracy  realistic repos with planted true secrets + hard decoys; writes a truth JSON\n  \
         bulk      large realistic tree for throughput benchmarks (default --size 300MB)\n  \
         --force   delete OUT_DIR first if it exists"
    );
    ExitCode::from(2)
}

fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * mult) as u64)
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn truth_json(planted: &[corpus::Planted]) -> String {
    let mut s = String::from("[\n");
    for (i, p) in planted.iter().enumerate() {
        s.push_str(&format!(
            "  {{\"path\": {}, \"family\": {}, \"secret\": {}}}{}\n",
            json_str(&p.path),
            json_str(&p.family),
            json_str(&p.secret),
            if i + 1 < planted.len() { "," } else { "" }
        ));
    }
    s.push_str("]\n");
    s
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos: Vec<String> = Vec::new();
    let mut size: u64 = 300_000_000;
    let mut seed: u64 = 1;
    let mut truth: Option<PathBuf> = None;
    let mut force = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut val = || -> Option<String> {
            i += 1;
            args.get(i).cloned()
        };
        match a {
            "--size" => match val().as_deref().and_then(parse_size) {
                Some(v) => size = v,
                None => return usage(),
            },
            "--seed" => match val().and_then(|v| v.parse().ok()) {
                Some(v) => seed = v,
                None => return usage(),
            },
            "--truth" => match val() {
                Some(v) => truth = Some(PathBuf::from(v)),
                None => return usage(),
            },
            "--force" => force = true,
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ if a.starts_with("--") => return usage(),
            _ => pos.push(a.to_string()),
        }
        i += 1;
    }
    if pos.len() != 2 || !(pos[0] == "accuracy" || pos[0] == "bulk") {
        return usage();
    }
    let out = PathBuf::from(&pos[1]);
    if out.exists() {
        let empty = std::fs::read_dir(&out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            if !force {
                eprintln!(
                    "gen-corpus: {} exists and is not empty (use --force to replace it)",
                    out.display()
                );
                return ExitCode::from(2);
            }
            if let Err(e) = std::fs::remove_dir_all(&out) {
                eprintln!("gen-corpus: cannot remove {}: {e}", out.display());
                return ExitCode::from(2);
            }
        }
    }
    let t0 = Instant::now();
    if pos[0] == "bulk" {
        match corpus::bulk_corpus(&out, size, seed) {
            Ok(n) => {
                let secs = t0.elapsed().as_secs_f64();
                eprintln!(
                    "gen-corpus: bulk corpus {} : {:.1} MB in {:.1}s (seed {seed})",
                    out.display(),
                    n as f64 / 1e6,
                    secs
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gen-corpus: error writing {}: {e}", out.display());
                ExitCode::FAILURE
            }
        }
    } else {
        let planted = match corpus::accuracy_corpus(&out, seed) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("gen-corpus: error writing {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
        };
        let truth_path = truth.unwrap_or_else(|| {
            let base = out
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "accuracy".into());
            let parent = out
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            parent.join(format!("{base}.truth.json"))
        });
        if let Some(parent) = truth_path.parent() {
            if !parent.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        if let Err(e) = std::fs::write(&truth_path, truth_json(&planted)) {
            eprintln!("gen-corpus: cannot write {}: {e}", truth_path.display());
            return ExitCode::FAILURE;
        }
        let mut counts: Vec<(String, usize)> = Vec::new();
        for f in corpus::FAMILIES {
            counts.push((
                f.to_string(),
                planted.iter().filter(|p| p.family == f).count(),
            ));
        }
        eprintln!(
            "gen-corpus: accuracy corpus {} : {} planted secrets in {:.1}s (seed {seed}); truth: {}",
            out.display(),
            planted.len(),
            t0.elapsed().as_secs_f64(),
            truth_path.display()
        );
        for (f, n) in counts {
            eprintln!("  {f:<20} {n}");
        }
        ExitCode::SUCCESS
    }
}
