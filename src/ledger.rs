//! The evidence ledger: one JSON object per line, appended only, each line carrying the
//! sha256 of the line before it, so an edited, removed or reordered line breaks the chain.
//!
//! Every action the bot takes (PR opened/updated/closed, trust applied, run verified, secret
//! deleted, key deactivated/deleted, revoke sent) is recorded here, and `retire` resumes from it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `prev` of the first line: no line came before it.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the caller records; the ledger adds the time and the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// App id (`app:123`) or login that acted.
    pub actor: String,
    /// `OWNER/REPO`.
    pub repository: String,
    /// The secret's name (never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// e.g. `pr-opened`, `trust-applied`, `run-verified`, `secret-deleted`, `key-deactivated`.
    pub action: String,
    /// `ok`, `dry-run`, `waiting`, or an error's one-line message.
    pub result: String,
    /// PR URL, run URL, the key id's last 4 characters, ...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, String>,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    #[serde(flatten)]
    pub record: Record,
    /// sha256 (hex) of the previous line's bytes, without its newline.
    pub prev: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a ledger entry: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{path}:{line}: the chain is broken: this line does not follow the line before it (a line was edited, removed or reordered)")]
    Broken { path: PathBuf, line: usize },
    #[error("could not serialise a ledger entry: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// sha256 (hex) of one line's bytes.
pub fn line_hash(line: &str) -> String {
    let digest = Sha256::digest(line.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// An append-only ledger file.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` after the current last line, chained to it.
    pub fn append(&self, record: Record) -> Result<Entry, LedgerError> {
        let io = |source| LedgerError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let prev = match fs::read_to_string(&self.path) {
            Ok(text) => text
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .map_or_else(|| GENESIS.to_string(), line_hash),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => GENESIS.to_string(),
            Err(e) => return Err(io(e)),
        };
        let entry = Entry {
            time: jiff::Timestamp::now().to_string(),
            record,
            prev,
        };
        let line = serde_json::to_string(&entry)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        writeln!(file, "{line}").map_err(io)?;
        Ok(entry)
    }

    /// Every entry, in order. A missing file is an empty ledger.
    pub fn entries(&self) -> Result<Vec<Entry>, LedgerError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(LedgerError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        self.parse(&text)
    }

    /// Checks the chain; returns the number of entries.
    pub fn verify(&self) -> Result<usize, LedgerError> {
        let text = fs::read_to_string(&self.path).map_err(|source| LedgerError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.parse(&text)?.len())
    }

    fn parse(&self, text: &str) -> Result<Vec<Entry>, LedgerError> {
        let mut expected = GENESIS.to_string();
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(line).map_err(|source| LedgerError::Parse {
                path: self.path.clone(),
                line: i + 1,
                source,
            })?;
            if entry.prev != expected {
                return Err(LedgerError::Broken {
                    path: self.path.clone(),
                    line: i + 1,
                });
            }
            expected = line_hash(line);
            entries.push(entry);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str) -> Record {
        Record {
            actor: "app:1".into(),
            repository: "o/r".into(),
            secret: Some("AWS_ACCESS_KEY_ID".into()),
            action: action.into(),
            result: "ok".into(),
            evidence: BTreeMap::from([("key".into(), "…WXYZ".into())]),
        }
    }

    fn three() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = Ledger::new(dir.path().join("sub/ledger.jsonl"));
        for a in ["pr-opened", "run-verified", "secret-deleted"] {
            ledger.append(record(a)).expect("append");
        }
        (dir, ledger)
    }

    fn rewrite(ledger: &Ledger, f: impl FnOnce(&mut Vec<String>)) {
        let mut lines: Vec<String> = fs::read_to_string(ledger.path())
            .expect("read")
            .lines()
            .map(str::to_string)
            .collect();
        f(&mut lines);
        fs::write(ledger.path(), lines.join("\n") + "\n").expect("write");
    }

    #[test]
    fn intact_chain_verifies() {
        let (_d, ledger) = three();
        assert_eq!(ledger.verify().expect("verifies"), 3);
        let e = ledger.entries().expect("entries");
        assert_eq!(e[0].prev, GENESIS);
        assert_eq!(e[2].record.action, "secret-deleted");
    }

    #[test]
    fn edited_line_is_detected() {
        let (_d, ledger) = three();
        rewrite(&ledger, |l| l[1] = l[1].replace("\"ok\"", "\"failed\""));
        let err = ledger.verify().expect_err("edited");
        assert!(matches!(err, LedgerError::Broken { line: 3, .. }), "{err}");
    }

    #[test]
    fn removed_line_is_detected() {
        let (_d, ledger) = three();
        rewrite(&ledger, |l| {
            l.remove(1);
        });
        assert!(matches!(
            ledger.verify(),
            Err(LedgerError::Broken { line: 2, .. })
        ));
    }

    #[test]
    fn reordered_lines_are_detected() {
        let (_d, ledger) = three();
        rewrite(&ledger, |l| l.swap(1, 2));
        assert!(matches!(
            ledger.verify(),
            Err(LedgerError::Broken { line: 2, .. })
        ));
    }

    #[test]
    fn removed_first_line_is_detected() {
        let (_d, ledger) = three();
        rewrite(&ledger, |l| {
            l.remove(0);
        });
        assert!(matches!(
            ledger.verify(),
            Err(LedgerError::Broken { line: 1, .. })
        ));
    }
}
