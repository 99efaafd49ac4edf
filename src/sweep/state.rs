//! The sweep's state in one SQLite file: repositories and their last sweep, the object ids
//! already scanned in each repository, and each finding's lifecycle (keyed by fingerprint and
//! repository) with every transition and the sweep that made it. Everything one repository's
//! sweep learns is written in one transaction, so a killed sweep loses nothing it finished.

use super::pipelines::PipelineUse;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("sweep state: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The cache's scratch space cannot be created.
    #[error("sweep scratch space: {0}")]
    Scratch(String),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sweeps (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT);
CREATE TABLE IF NOT EXISTS repos (
  name TEXT PRIMARY KEY, source TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
  last_sweep INTEGER, objects INTEGER NOT NULL DEFAULT 0, scanned_last INTEGER NOT NULL DEFAULT 0,
  refs_hash TEXT);
CREATE TABLE IF NOT EXISTS scanned (repo TEXT NOT NULL, oid BLOB NOT NULL, PRIMARY KEY (repo, oid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS findings (
  repo TEXT NOT NULL, fingerprint TEXT NOT NULL, rule_id TEXT NOT NULL, confidence TEXT NOT NULL,
  redacted TEXT NOT NULL, path TEXT NOT NULL, commit_id TEXT NOT NULL, status TEXT NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, key_hint TEXT, PRIMARY KEY (repo, fingerprint));
CREATE TABLE IF NOT EXISTS finding_blobs (repo TEXT NOT NULL, fingerprint TEXT NOT NULL, blob BLOB NOT NULL,
  PRIMARY KEY (repo, fingerprint, blob)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS transitions (repo TEXT NOT NULL, fingerprint TEXT NOT NULL, sweep INTEGER NOT NULL,
  from_status TEXT, to_status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trend (sweep INTEGER PRIMARY KEY, open INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pipeline_uses (repo TEXT NOT NULL, sweep INTEGER NOT NULL, secret TEXT NOT NULL,
  provider TEXT NOT NULL, path TEXT NOT NULL, line INTEGER NOT NULL, job TEXT, status TEXT NOT NULL,
  replacement TEXT NOT NULL, blocked_by TEXT);
CREATE INDEX IF NOT EXISTS pipeline_uses_repo ON pipeline_uses (repo);
CREATE TABLE IF NOT EXISTS pull_requests (repo TEXT PRIMARY KEY, sweep INTEGER NOT NULL, status TEXT NOT NULL,
  url TEXT, number INTEGER, targets TEXT NOT NULL, dry_run INTEGER NOT NULL, detail TEXT,
  merged INTEGER NOT NULL DEFAULT 0);
";

/// A finding's place in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Fixed,
    Rotated,
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Fixed => "fixed",
            Status::Rotated => "rotated",
            Status::Retired => "retired",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "new" => Status::New,
            "fixed" => Status::Fixed,
            "rotated" => Status::Rotated,
            "retired" => Status::Retired,
            _ => Status::Open,
        }
    }
    /// Still in a ref tip: needs removing and rotating.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Open)
    }
}

/// One secret found in one repository (never the secret itself: its redacted form).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FindingRow {
    pub repo: String,
    pub fingerprint: String,
    pub rule_id: String,
    pub confidence: String,
    pub redacted: String,
    pub path: String,
    pub commit: String,
    pub status: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RepoRow {
    pub name: String,
    pub source: String,
    /// `ok`, `failed`, `not-found` or `gone` (no longer listed).
    pub status: String,
    pub reason: Option<String>,
    pub last_sweep: Option<i64>,
    pub objects: i64,
    /// Objects scanned by the repository's last sweep (0 when nothing was new).
    pub scanned_last: i64,
}

/// One repository's migration pull request as this sweep left it (or would, in a dry run).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PrRow {
    pub repo: String,
    pub sweep: i64,
    /// `opened`, `updated`, `reopened`, `unchanged`, `closed`, `nothing-to-do`, `skipped`,
    /// `stopped`, `deferred` (over `--max-prs`), `failed`.
    pub status: String,
    pub url: Option<String>,
    pub number: Option<i64>,
    /// The providers the migration moves to OIDC (`aws`, `gcp`...), comma-separated.
    pub targets: String,
    pub dry_run: bool,
    /// Why it was skipped, stopped, deferred or failed.
    pub detail: Option<String>,
    /// GitHub reports the pull request merged.
    pub merged: bool,
}

/// One lifecycle step of a finding, and the sweep that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub fingerprint: String,
    pub sweep: i64,
    pub from: Option<String>,
    pub to: String,
}

/// A newly found secret, before it is stored.
pub struct NewFinding {
    pub fingerprint: String,
    pub rule_id: String,
    pub confidence: String,
    pub redacted: String,
    pub path: String,
    pub commit: String,
    pub blobs: Vec<Vec<u8>>,
    /// An AWS access key id's last four characters (`…WXYZ`), as retire's ledger records
    /// name the key: how a finding is matched to its key's deletion.
    pub key_hint: Option<String>,
}

/// What one repository's sweep learned, written at once.
pub struct RepoOutcome {
    pub name: String,
    pub source: String,
    pub objects: i64,
    pub scanned: Vec<Vec<u8>>,
    pub found: Vec<NewFinding>,
    /// Fingerprints some ref tip still contains.
    pub at_tips: HashSet<String>,
    /// The default branch's pipeline credential uses (replace the repository's previous ones).
    pub pipelines: Vec<PipelineUse>,
    /// The mirror's refs digest after this sweep's fetch.
    pub refs_hash: Option<String>,
}

pub struct State {
    conn: Connection,
}

impl State {
    pub fn open(path: &Path) -> Result<State, StateError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(SCHEMA)?;
        // states from before the refs digest: add its column (last, as in a new state)
        let has_refs: i64 = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('repos') WHERE name = 'refs_hash'",
            [],
            |r| r.get(0),
        )?;
        if has_refs == 0 {
            conn.execute_batch("ALTER TABLE repos ADD COLUMN refs_hash TEXT")?;
        }
        // states from before the ledger statuses: the AWS key hint of each finding
        let has_hint: i64 = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('findings') WHERE name = 'key_hint'",
            [],
            |r| r.get(0),
        )?;
        if has_hint == 0 {
            conn.execute_batch("ALTER TABLE findings ADD COLUMN key_hint TEXT")?;
        }
        Ok(State { conn })
    }

    /// The unfinished sweep to resume, or a new one.
    pub fn begin_sweep(&self, now: &str) -> Result<(i64, bool), StateError> {
        let open: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM sweeps WHERE finished IS NULL ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = open {
            return Ok((id, true));
        }
        self.conn
            .execute("INSERT INTO sweeps (started) VALUES (?1)", [now])?;
        Ok((self.conn.last_insert_rowid(), false))
    }

    /// Closes the sweep and records its open-findings total for the trend.
    pub fn finish_sweep(&self, sweep: i64, now: &str) -> Result<(), StateError> {
        self.record_trend(sweep)?;
        self.conn.execute(
            "UPDATE sweeps SET finished = ?2 WHERE id = ?1",
            params![sweep, now],
        )?;
        Ok(())
    }

    /// The open-findings total after `sweep`, for the trend.
    pub fn record_trend(&self, sweep: i64) -> Result<(), StateError> {
        let open: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM findings WHERE status IN ('new','open')",
            [],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO trend (sweep, open) VALUES (?1, ?2)",
            params![sweep, open],
        )?;
        Ok(())
    }

    /// Moves findings to `retired` (their key's deletion is in the ledger) and `rotated`
    /// (their repository's migration to OIDC for their provider is merged), each transition
    /// kept with `sweep`; both are final. Returns how many moved; the trend is refreshed if any.
    pub fn apply_evidence(
        &mut self,
        sweep: i64,
        evidence: &super::evidence::Evidence,
    ) -> Result<usize, StateError> {
        let migrated: Vec<(String, Vec<String>)> = self
            .pull_requests()?
            .into_iter()
            .filter(|p| p.merged || evidence.verified.contains(&p.repo))
            .map(|p| (p.repo, p.targets.split(',').map(str::to_string).collect()))
            .collect();
        let tx = self.conn.transaction()?;
        let rows: Vec<(String, String, String, String, Option<String>)> = {
            let mut q = tx.prepare(
                "SELECT repo, fingerprint, rule_id, status, key_hint FROM findings
                 WHERE status NOT IN ('rotated','retired')",
            )?;
            let rows = q.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        // a key id whose deletion the ledger records, and the AWS secrets found in the same
        // blobs as it (the deleted key's own secret access key)
        let mut retired: HashSet<(String, String)> = HashSet::new();
        {
            let mut partners = tx.prepare_cached(
                "SELECT DISTINCT b2.fingerprint FROM finding_blobs b1 JOIN finding_blobs b2
                 ON b1.repo = b2.repo AND b1.blob = b2.blob
                 WHERE b1.repo = ?1 AND b1.fingerprint = ?2",
            )?;
            for (repo, fp, _, _, hint) in &rows {
                let Some(h) = hint else { continue };
                if !evidence.deleted_keys.contains(&(repo.clone(), h.clone())) {
                    continue;
                }
                retired.insert((repo.clone(), fp.clone()));
                for p in partners.query_map(params![repo, fp], |r| r.get::<_, String>(0))? {
                    retired.insert((repo.clone(), p?));
                }
            }
        }
        let mut moved = 0;
        for (repo, fp, rule, status, _) in rows {
            let key = (repo.clone(), fp.clone());
            let rotated = migrated.iter().any(|(r, targets)| {
                *r == repo
                    && targets
                        .iter()
                        .any(|t| !t.is_empty() && rule.starts_with(&format!("{t}-")))
            });
            let to = if retired.contains(&key) && rule.starts_with("aws-") {
                Status::Retired
            } else if rotated {
                Status::Rotated
            } else {
                continue;
            };
            tx.execute(
                "UPDATE findings SET status = ?3 WHERE repo = ?1 AND fingerprint = ?2",
                params![repo, fp, to.as_str()],
            )?;
            tx.execute(
                "INSERT INTO transitions (repo, fingerprint, sweep, from_status, to_status) VALUES (?1,?2,?3,?4,?5)",
                params![repo, fp, sweep, status, to.as_str()],
            )?;
            moved += 1;
        }
        tx.commit()?;
        // (a merge's trend is the shards' sums: left alone when nothing moved)
        if moved > 0 {
            self.record_trend(sweep)?;
        }
        Ok(moved)
    }

    /// Every transition of one repository's findings, oldest first.
    pub fn transitions(&self, repo: &str) -> Result<Vec<Transition>, StateError> {
        let mut q = self.conn.prepare(
            "SELECT fingerprint, sweep, from_status, to_status FROM transitions WHERE repo = ?1
             ORDER BY rowid",
        )?;
        let rows = q.query_map([repo], |r| {
            Ok(Transition {
                fingerprint: r.get(0)?,
                sweep: r.get(1)?,
                from: r.get(2)?,
                to: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Whether this sweep already completed the repository (resume).
    pub fn done_in(&self, repo: &str, sweep: i64) -> Result<bool, StateError> {
        let last: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT last_sweep FROM repos WHERE name = ?1",
                [repo],
                |r| r.get(0),
            )
            .optional()?;
        Ok(last.flatten() == Some(sweep))
    }

    /// The refs digest of the repository's last successful sweep.
    pub fn last_refs_hash(&self, repo: &str) -> Result<Option<String>, StateError> {
        let h: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT refs_hash FROM repos WHERE name = ?1 AND status = 'ok'",
                [repo],
                |r| r.get(0),
            )
            .optional()?;
        Ok(h.flatten())
    }

    /// What a sweep learns from a repository whose refs did not move: no new object, the same
    /// findings in its tips, the same pipelines.
    pub fn unchanged_outcome(
        &self,
        name: &str,
        source: &str,
        refs_hash: String,
    ) -> Result<RepoOutcome, StateError> {
        let objects: i64 = self
            .conn
            .query_row("SELECT objects FROM repos WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        let mut q = self.conn.prepare_cached(
            "SELECT fingerprint FROM findings WHERE repo = ?1 AND status IN ('new','open')",
        )?;
        let at_tips = q
            .query_map([name], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        let pipelines = self.pipeline_uses_where(Some(name))?;
        Ok(RepoOutcome {
            name: name.to_string(),
            source: source.to_string(),
            objects,
            scanned: Vec::new(),
            found: Vec::new(),
            at_tips,
            pipelines,
            refs_hash: Some(refs_hash),
        })
    }

    pub fn scanned(&self, repo: &str) -> Result<HashSet<Vec<u8>>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT oid FROM scanned WHERE repo = ?1")?;
        let rows = stmt.query_map([repo], |r| r.get::<_, Vec<u8>>(0))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Every blob known to carry one of the repository's findings: fingerprint per blob.
    pub fn finding_blobs(&self, repo: &str) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT fingerprint, blob FROM finding_blobs WHERE repo = ?1")?;
        let rows = stmt.query_map([repo], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Writes one repository's sweep and moves its findings through their lifecycle.
    pub fn record(&mut self, sweep: i64, out: &RepoOutcome) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        {
            let mut ins =
                tx.prepare_cached("INSERT OR IGNORE INTO scanned (repo, oid) VALUES (?1, ?2)")?;
            for oid in &out.scanned {
                ins.execute(params![out.name, oid])?;
            }
            let mut blob = tx.prepare_cached(
                "INSERT OR IGNORE INTO finding_blobs (repo, fingerprint, blob) VALUES (?1, ?2, ?3)",
            )?;
            let mut add = tx.prepare_cached(
                "INSERT OR IGNORE INTO findings (repo, fingerprint, rule_id, confidence, redacted, path,
                 commit_id, status, first_seen, last_seen, key_hint) VALUES (?1,?2,?3,?4,?5,?6,?7,'',?8,?8,?9)",
            )?;
            for f in &out.found {
                add.execute(params![
                    out.name,
                    f.fingerprint,
                    f.rule_id,
                    f.confidence,
                    f.redacted,
                    f.path,
                    f.commit,
                    sweep,
                    f.key_hint
                ])?;
                for b in &f.blobs {
                    blob.execute(params![out.name, f.fingerprint, b])?;
                }
            }
            let existing: Vec<(String, String, i64)> = {
                let mut q = tx.prepare_cached(
                    "SELECT fingerprint, status, first_seen FROM findings WHERE repo = ?1",
                )?;
                let rows = q.query_map([&out.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut set = tx.prepare_cached(
                "UPDATE findings SET status = ?3, last_seen = CASE WHEN ?4 THEN ?5 ELSE last_seen END
                 WHERE repo = ?1 AND fingerprint = ?2",
            )?;
            let mut log = tx.prepare_cached(
                "INSERT INTO transitions (repo, fingerprint, sweep, from_status, to_status) VALUES (?1,?2,?3,?4,?5)",
            )?;
            for (fp, status, first_seen) in existing {
                let present = out.at_tips.contains(&fp);
                let from = (!status.is_empty()).then(|| Status::parse(&status));
                let to = next_status(from, present, first_seen == sweep);
                if from != Some(to) {
                    log.execute(params![
                        out.name,
                        fp,
                        sweep,
                        from.map(Status::as_str),
                        to.as_str()
                    ])?;
                }
                set.execute(params![out.name, fp, to.as_str(), present, sweep])?;
            }
            tx.execute("DELETE FROM pipeline_uses WHERE repo = ?1", [&out.name])?;
            let mut pipe = tx.prepare_cached(
                "INSERT INTO pipeline_uses (repo, sweep, secret, provider, path, line, job, status,
                 replacement, blocked_by) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?;
            for u in &out.pipelines {
                pipe.execute(params![
                    out.name,
                    sweep,
                    u.secret,
                    u.provider,
                    u.path,
                    u.line,
                    u.job,
                    u.status,
                    u.replacement,
                    u.blocked_by
                ])?;
            }
            tx.execute(
                "INSERT INTO repos (name, source, status, reason, last_sweep, objects, scanned_last, refs_hash)
                 VALUES (?1, ?2, 'ok', NULL, ?3, ?4, ?5, ?6)
                 ON CONFLICT(name) DO UPDATE SET source = ?2, status = 'ok', reason = NULL,
                 last_sweep = ?3, objects = ?4, scanned_last = ?5, refs_hash = ?6",
                params![
                    out.name,
                    out.source,
                    sweep,
                    out.objects,
                    out.scanned.len() as i64,
                    out.refs_hash
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A repository that could not be swept: its reason, and nothing else changes.
    pub fn record_failure(
        &self,
        sweep: i64,
        name: &str,
        source: &str,
        status: &str,
        reason: &str,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "INSERT INTO repos (name, source, status, reason, last_sweep, scanned_last)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT(name) DO UPDATE SET source = ?2, status = ?3, reason = ?4, last_sweep = ?5, scanned_last = 0",
            params![name, source, status, reason, sweep],
        )?;
        Ok(())
    }

    /// Repositories in the state that the source no longer lists.
    pub fn mark_gone(&self, listed: &HashSet<String>) -> Result<Vec<String>, StateError> {
        let gone: Vec<String> = self
            .repos()?
            .into_iter()
            .filter(|r| !listed.contains(&r.name) && r.status != "gone")
            .map(|r| r.name)
            .collect();
        for name in &gone {
            self.conn.execute(
                "UPDATE repos SET status = 'gone', reason = 'no longer listed by the source' WHERE name = ?1",
                [name],
            )?;
        }
        Ok(gone)
    }

    pub fn repos(&self) -> Result<Vec<RepoRow>, StateError> {
        let mut q = self.conn.prepare(
            "SELECT name, source, status, reason, last_sweep, objects, scanned_last FROM repos ORDER BY name",
        )?;
        let rows = q.query_map([], |r| {
            Ok(RepoRow {
                name: r.get(0)?,
                source: r.get(1)?,
                status: r.get(2)?,
                reason: r.get(3)?,
                last_sweep: r.get(4)?,
                objects: r.get(5)?,
                scanned_last: r.get(6)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    pub fn findings(&self) -> Result<Vec<FindingRow>, StateError> {
        let mut q = self.conn.prepare(
            "SELECT repo, fingerprint, rule_id, confidence, redacted, path, commit_id, status, first_seen, last_seen
             FROM findings ORDER BY repo, fingerprint",
        )?;
        let rows = q.query_map([], |r| {
            Ok(FindingRow {
                repo: r.get(0)?,
                fingerprint: r.get(1)?,
                rule_id: r.get(2)?,
                confidence: r.get(3)?,
                redacted: r.get(4)?,
                path: r.get(5)?,
                commit: r.get(6)?,
                status: r.get(7)?,
                first_seen: r.get(8)?,
                last_seen: r.get(9)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Every repository's pipeline credential uses, as of its last successful sweep.
    pub fn pipeline_uses(&self) -> Result<Vec<PipelineUse>, StateError> {
        self.pipeline_uses_where(None)
    }

    fn pipeline_uses_where(&self, repo: Option<&str>) -> Result<Vec<PipelineUse>, StateError> {
        let mut q = self.conn.prepare_cached(
            "SELECT repo, secret, provider, path, line, job, status, replacement, blocked_by
             FROM pipeline_uses WHERE ?1 IS NULL OR repo = ?1 ORDER BY repo, secret, path, line",
        )?;
        let rows = q.query_map([repo], |r| {
            Ok(PipelineUse {
                repo: r.get(0)?,
                secret: r.get(1)?,
                provider: r.get(2)?,
                path: r.get(3)?,
                line: r.get(4)?,
                job: r.get(5)?,
                status: r.get(6)?,
                replacement: r.get(7)?,
                blocked_by: r.get(8)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// The `--open-prs` results of a sweep. A dry run never forgets a real pull request: the
    /// number and URL an earlier run recorded stay until another one replaces them.
    pub fn record_prs(&self, rows: &[PrRow]) -> Result<(), StateError> {
        let mut q = self.conn.prepare_cached(
            "INSERT INTO pull_requests (repo, sweep, status, url, number, targets, dry_run, detail, merged)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)
             ON CONFLICT(repo) DO UPDATE SET sweep = ?2, status = ?3, url = COALESCE(?4, url),
             number = COALESCE(?5, number), targets = ?6, dry_run = ?7, detail = ?8,
             merged = merged OR ?9",
        )?;
        for r in rows {
            q.execute(params![
                r.repo, r.sweep, r.status, r.url, r.number, r.targets, r.dry_run, r.detail,
                r.merged
            ])?;
        }
        Ok(())
    }

    pub fn pull_requests(&self) -> Result<Vec<PrRow>, StateError> {
        let mut q = self.conn.prepare(
            "SELECT repo, sweep, status, url, number, targets, dry_run, detail, merged
             FROM pull_requests ORDER BY repo",
        )?;
        let rows = q.query_map([], |r| {
            Ok(PrRow {
                repo: r.get(0)?,
                sweep: r.get(1)?,
                status: r.get(2)?,
                url: r.get(3)?,
                number: r.get(4)?,
                targets: r.get(5)?,
                dry_run: r.get(6)?,
                detail: r.get(7)?,
                merged: r.get(8)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// GitHub reports the repository's migration pull request merged.
    pub fn set_merged(&self, repo: &str) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE pull_requests SET merged = 1, status = 'merged' WHERE repo = ?1",
            [repo],
        )?;
        Ok(())
    }

    /// Open findings after each of the last `n` sweeps, oldest first.
    pub fn trend(&self, n: i64) -> Result<Vec<(i64, i64)>, StateError> {
        let mut q = self
            .conn
            .prepare("SELECT sweep, open FROM trend ORDER BY sweep DESC LIMIT ?1")?;
        let rows = q.query_map([n], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut v: Vec<(i64, i64)> = rows.collect::<Result<_, _>>()?;
        v.reverse();
        Ok(v)
    }

    /// Adds every row of another state (a shard's) to this one. Shards hold disjoint
    /// repositories, so rows never collide; the trend is summed per sweep number.
    pub fn merge_from(&mut self, other: &Path) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        tx.execute("ATTACH DATABASE ?1 AS shard", [other.to_string_lossy()])?;
        tx.execute_batch(
            "INSERT OR REPLACE INTO repos SELECT * FROM shard.repos;
             INSERT OR IGNORE INTO scanned SELECT * FROM shard.scanned;
             INSERT OR REPLACE INTO findings SELECT * FROM shard.findings;
             INSERT OR IGNORE INTO finding_blobs SELECT * FROM shard.finding_blobs;
             INSERT INTO transitions SELECT * FROM shard.transitions;
             INSERT INTO pipeline_uses SELECT * FROM shard.pipeline_uses;
             INSERT OR IGNORE INTO sweeps SELECT * FROM shard.sweeps;
             INSERT OR REPLACE INTO pull_requests SELECT * FROM shard.pull_requests;
             INSERT INTO trend (sweep, open) SELECT sweep, open FROM shard.trend WHERE true
               ON CONFLICT(sweep) DO UPDATE SET open = open + excluded.open;",
        )?;
        tx.commit()?;
        self.conn.execute("DETACH DATABASE shard", [])?;
        Ok(())
    }
}

/// The lifecycle: a secret in a ref tip is `new` the sweep it is first seen and `open` after;
/// one no tip contains is `fixed` (still in history, still to rotate). `rotated` and `retired`
/// are only ever set from the ledger and never undone by a sweep.
pub fn next_status(from: Option<Status>, present: bool, first_seen_now: bool) -> Status {
    match (from, present) {
        (Some(s @ (Status::Rotated | Status::Retired)), _) => s,
        (_, false) => Status::Fixed,
        (None, true) | (Some(Status::New), true) if first_seen_now => Status::New,
        (_, true) => Status::Open,
    }
}
