//! `.keysweep.toml`: the repository's scan settings. Unknown keys are errors, so a typo never
//! silently turns a setting off.

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_FILE: &str = ".keysweep.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path globs never scanned (relative to the scanned root), e.g. `vendor/**`.
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// Rule ids turned off.
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    /// Extra rule directories, relative to the config file.
    #[serde(default)]
    pub rule_dirs: Vec<PathBuf>,
    /// Largest file scanned: bytes, or a size such as "25MiB".
    #[serde(default)]
    pub max_file_size: Option<ByteSize>,
    /// Regexes: a secret matching one is accepted (test fixtures, known public values).
    #[serde(default)]
    pub allow_secrets: Vec<String>,
    /// Baseline file, relative to the config file.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// What a new long-lived CI credential use in a PR or commit does: `fail` (default),
    /// `warn` or `off`.
    #[serde(default)]
    pub pipeline_uses: Option<crate::ci_findings::PipelineUses>,
    /// `keysweep rotate` facts (account ids, role names, pools); unknown keys are errors too.
    #[serde(default)]
    pub rotate: Option<RotateFacts>,
    /// The directory holding the config file (rule_dirs and baseline are relative to it).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[cfg(feature = "rotate")]
pub type RotateFacts = crate::rotate::facts::Facts;
/// A build without `rotate` still accepts a config file written for one (the table is unused).
#[cfg(not(feature = "rotate"))]
pub type RotateFacts = toml::Table;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
            path: shown.clone(),
            error,
        })?;
        Config::parse(&shown, &text).map(|mut c| {
            c.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            c
        })
    }

    pub fn parse(shown: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: shown.to_string(),
            line: e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            }),
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        })?;
        for re in &config.allow_secrets {
            if let Err(e) = regex::Regex::new(re) {
                return Err(ConfigError::Invalid {
                    path: shown.to_string(),
                    line: text
                        .lines()
                        .position(|l| l.contains(re.as_str()))
                        .map_or(0, |n| n + 1),
                    message: format!(
                        "allow_secrets: bad regex {re:?}: {}",
                        e.to_string().lines().last().unwrap_or("")
                    ),
                });
            }
        }
        Ok(config)
    }

    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// A byte count written as a number or as "25MiB", "10MB", "512k".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<ByteSize, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}: expected a number with an optional unit (KiB, MiB, GiB, KB, MB, GB)"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "kb" => 1000,
            "m" | "mib" => 1 << 20,
            "mb" => 1_000_000,
            "g" | "gib" => 1 << 30,
            "gb" => 1_000_000_000,
            other => return Err(format!("bad size {s:?}: unknown unit {other:?}")),
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("bad size {s:?}: too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!("25MiB".parse::<ByteSize>().unwrap().0, 25 << 20);
        assert_eq!("1000".parse::<ByteSize>().unwrap().0, 1000);
        assert_eq!("2 GB".parse::<ByteSize>().unwrap().0, 2_000_000_000);
        assert!("ten".parse::<ByteSize>().is_err());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = Config::parse("c.toml", "exclude_paths = []\nmax_filesize = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
        assert!(e.contains("max_filesize"), "{e}");
    }
}
