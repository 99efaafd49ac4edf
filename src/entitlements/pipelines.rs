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
    let envs: BTreeMap<&str, BTreeMap<String, String>> = files
        .iter()
        .map(|(p, t)| (p.as_str(), job_environments(t)))
        .collect();
    for s in inv.repositories.iter().flat_map(|r| r.secrets.iter()) {
        if s.source != crate::pipeline::SecretSource::GithubSecret {
            continue;
        }
        let readers = out.entry(s.name.clone()).or_default();
        for u in &s.uses {
            let environment = u
                .job
                .as_ref()
                .and_then(|j| envs.get(u.workflow.as_str()).and_then(|e| e.get(j)))
                .cloned();
            let reader = Reader {
                repository: repo.to_string(),
                path: u.path.clone(),
                line: u.line,
                environment,
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

/// `job id -> environment name` of a workflow (`environment: prod` or `environment: {name:
/// prod}`); `*` when an expression picks it at run time.
pub fn job_environments(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(v) = yaml_serde::from_str::<yaml_serde::Value>(text) else {
        return out;
    };
    let Some(jobs) = v.get("jobs").and_then(|j| j.as_mapping()) else {
        return out;
    };
    for (id, job) in jobs {
        let (Some(id), Some(env)) = (id.as_str(), job.get("environment")) else {
            continue;
        };
        let name = env
            .as_str()
            .or_else(|| env.get("name").and_then(|n| n.as_str()));
        if let Some(n) = name {
            let n = if n.contains("${{") { "*" } else { n };
            out.insert(id.to_string(), n.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_of_jobs() {
        let e = job_environments(
            "on: push\njobs:\n  a:\n    environment: prod\n    runs-on: x\n  b:\n    environment:\n      name: staging\n      url: https://x\n  c:\n    environment: ${{ inputs.env }}\n  d:\n    runs-on: x\n",
        );
        assert_eq!(
            e.into_iter().collect::<Vec<_>>(),
            vec![
                ("a".to_string(), "prod".to_string()),
                ("b".to_string(), "staging".to_string()),
                ("c".to_string(), "*".to_string()),
            ]
        );
    }

    #[test]
    fn readers_carry_their_job_environment() {
        let files = BTreeMap::from([(
            ".github/workflows/deploy.yml".to_string(),
            "on: push\njobs:\n  deploy:\n    environment: prod\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./deploy\n        env:\n          DB_PASSWORD: ${{ secrets.DB_PASSWORD }}\n".to_string(),
        )]);
        let r = analyze("o/r", &files);
        let readers = &r["DB_PASSWORD"];
        assert_eq!(readers.len(), 1, "{r:?}");
        assert_eq!(readers[0].environment.as_deref(), Some("prod"));
    }
}
