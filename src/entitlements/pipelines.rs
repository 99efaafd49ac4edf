//! The pipelines of each repository's default branch, read through the API (the head's tree,
//! then the CI files' blobs) and analysed as `keysweep inventory` does: which workflows read
//! each secret, and whether an OIDC path replaces it.

use std::collections::BTreeMap;

use super::Reader;
use crate::forge::pr::remote;
use crate::forge::Client;
use crate::pipeline::scratch::Scratch;
use crate::pipeline::MigrationStatus;

/// `repo -> secret name -> its readers`.
pub type Reads = BTreeMap<String, BTreeMap<String, Vec<Reader>>>;

pub fn status_str(s: MigrationStatus) -> &'static str {
    match s {
        MigrationStatus::MigratableNow => "migratable-now",
        MigrationStatus::Blocked => "blocked",
        MigrationStatus::NoOidcAlternative => "no-oidc-alternative",
    }
}

/// The reads of every repository; the ones that could not be read, with why.
pub async fn read_all(client: &Client, repos: &[String]) -> (Reads, BTreeMap<String, String>) {
    let mut reads = Reads::new();
    let mut unread = BTreeMap::new();
    for repo in repos {
        match read_one(client, repo).await {
            Ok(r) => {
                reads.insert(repo.clone(), r);
            }
            Err(why) => {
                unread.insert(repo.clone(), why);
            }
        }
    }
    (reads, unread)
}

async fn read_one(client: &Client, repo: &str) -> Result<BTreeMap<String, Vec<Reader>>, String> {
    let r = remote::read(client, repo)
        .await
        .map_err(|e| e.to_string())?;
    let files = remote::read_files(client, &r)
        .await
        .map_err(|e| e.to_string())?;
    Ok(analyze(repo, &files))
}

/// The readers of each secret in `files` (path -> text) of `repo`.
pub fn analyze(repo: &str, files: &BTreeMap<String, String>) -> BTreeMap<String, Vec<Reader>> {
    let mut out: BTreeMap<String, Vec<Reader>> = BTreeMap::new();
    let Ok(scratch) = Scratch::new(None) else {
        return out;
    };
    let mut any = false;
    for (path, text) in files {
        any |= scratch.write(path, text.as_bytes()).unwrap_or(false);
    }
    if !any {
        return out;
    }
    let report = crate::pipeline::analyze(scratch.path());
    let inv = crate::pipeline::inventory(&report);
    for s in inv.repositories.iter().flat_map(|r| r.secrets.iter()) {
        if s.source != crate::pipeline::SecretSource::GithubSecret {
            continue;
        }
        let readers = out.entry(s.name.clone()).or_default();
        for u in &s.uses {
            let reader = Reader {
                repository: repo.to_string(),
                path: u.path.clone(),
                line: u.line,
                consumer: u.consumer.clone(),
                status: status_str(u.status),
                replacement: u.replacement.clone(),
            };
            if !readers.contains(&reader) {
                readers.push(reader);
            }
        }
    }
    out
}
