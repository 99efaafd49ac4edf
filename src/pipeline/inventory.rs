//! `keysweep inventory`: per repository, every secret the pipelines use, where, for what, and
//! its migration status.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{MigrationStatus, PipelineFinding, PipelineReport, Provider, SecretSource};

/// The `audit` of a use no audit recognised (the inventory lists it all the same).
pub const UNRECOGNISED: &str = "secret-read";

/// Secrets no audit covers whose service accepts the job's OIDC identity instead: the provider
/// and what replaces them (by hand: keysweep has no rotate target for these).
fn known_replacement(r: &super::reads::SecretRead) -> Option<(Provider, &'static str)> {
    let name = r.name.to_ascii_uppercase();
    let consumer = r.consumer.to_ascii_lowercase();
    if name.contains("CODECOV") || consumer.contains("codecov/codecov-action") {
        return Some((
            Provider::Codecov,
            "codecov/codecov-action (v4+) with `use_oidc: true` and `permissions: id-token: write`, no token",
        ));
    }
    if name.starts_with("COSIGN_") && (name.contains("KEY") || name.contains("PASSWORD")) {
        return Some((
            Provider::Sigstore,
            "Sigstore keyless signing: `cosign sign --yes` with the job's OIDC identity (`permissions: id-token: write`), no key and no password",
        ));
    }
    None
}

/// Audits whose findings are about how secrets are passed, not one credential each.
const NOTE_AUDITS: &[&str] = &["secrets-inherit", "half-migrated-oidc"];

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub repositories: Vec<RepositoryInventory>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepositoryInventory {
    /// The repository's root, relative to the analysed root (`.` for the root itself).
    pub repository: String,
    pub secrets: Vec<SecretEntry>,
    /// `secrets: inherit` and half-finished migrations.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretEntry {
    /// The secret (or GitLab variable) name; `<literal>` for values written into files.
    pub name: String,
    pub source: SecretSource,
    pub providers: Vec<Provider>,
    /// The secret can be deleted only when every use is migrated: `no-oidc-alternative` if any
    /// use has none, else `blocked` if any use is blocked, else `migratable-now`.
    pub status: MigrationStatus,
    pub uses: Vec<SecretUse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretUse {
    pub workflow: String,
    pub job: Option<String>,
    pub path: String,
    pub line: usize,
    pub audit: &'static str,
    pub provider: Provider,
    pub consumer: String,
    pub status: MigrationStatus,
    pub replacement: String,
    pub blocked_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub audit: &'static str,
    pub path: String,
    pub line: usize,
    pub job: Option<String>,
    pub message: String,
}

/// Group a report's findings by repository and secret.
pub fn inventory(report: &PipelineReport) -> Inventory {
    let mut repos: BTreeMap<String, RepositoryInventory> = BTreeMap::new();
    for f in &report.findings {
        let repo = repos
            .entry(f.repository.clone())
            .or_insert_with(|| RepositoryInventory {
                repository: f.repository.clone(),
                secrets: Vec::new(),
                notes: Vec::new(),
            });
        if NOTE_AUDITS.contains(&f.audit.as_str()) {
            repo.notes.push(Note {
                audit: f.audit.as_str(),
                path: f.location.path.clone(),
                line: f.location.line,
                job: f.job.clone(),
                message: f.message.clone(),
            });
            continue;
        }
        let entry = match repo
            .secrets
            .iter_mut()
            .position(|s| s.name == f.secret && s.source == f.secret_source)
        {
            Some(i) => &mut repo.secrets[i],
            None => {
                repo.secrets.push(SecretEntry {
                    name: f.secret.clone(),
                    source: f.secret_source,
                    providers: Vec::new(),
                    status: MigrationStatus::MigratableNow,
                    uses: Vec::new(),
                });
                repo.secrets.last_mut().expect("just pushed")
            }
        };
        add_use(entry, f);
    }
    // Secrets no audit recognises are long-lived credentials too: listed, with what reads them.
    for r in &report.reads {
        let repo = repos
            .entry(r.repository.clone())
            .or_insert_with(|| RepositoryInventory {
                repository: r.repository.clone(),
                secrets: Vec::new(),
                notes: Vec::new(),
            });
        let (provider, status, replacement) = match known_replacement(r) {
            Some((p, text)) => (p, MigrationStatus::MigratableNow, text.to_string()),
            None => (
                Provider::Unknown,
                MigrationStatus::NoOidcAlternative,
                "long-lived, no short-lived replacement known".to_string(),
            ),
        };
        let known = |s: &SecretEntry| s.name == r.name && s.source == r.source;
        let entry = match repo.secrets.iter().position(known) {
            Some(i) if repo.secrets[i].uses.iter().any(|u| u.audit != UNRECOGNISED) => continue,
            Some(i) => &mut repo.secrets[i],
            None => {
                repo.secrets.push(SecretEntry {
                    name: r.name.clone(),
                    source: r.source,
                    providers: vec![provider],
                    status,
                    uses: Vec::new(),
                });
                repo.secrets.last_mut().expect("just pushed")
            }
        };
        entry.uses.push(SecretUse {
            workflow: r.workflow.clone(),
            job: r.job.clone(),
            path: r.path.clone(),
            line: r.line,
            audit: UNRECOGNISED,
            provider,
            consumer: r.consumer.clone(),
            status,
            replacement,
            blocked_by: None,
        });
    }
    let mut repositories: Vec<RepositoryInventory> = repos.into_values().collect();
    for r in &mut repositories {
        r.secrets.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Inventory { repositories }
}

fn add_use(entry: &mut SecretEntry, f: &PipelineFinding) {
    if !entry.providers.contains(&f.provider) {
        entry.providers.push(f.provider);
        entry.providers.sort();
    }
    let status = f.status();
    entry.status = match (entry.status, status) {
        (MigrationStatus::NoOidcAlternative, _) | (_, MigrationStatus::NoOidcAlternative) => {
            MigrationStatus::NoOidcAlternative
        }
        (MigrationStatus::Blocked, _) | (_, MigrationStatus::Blocked) => MigrationStatus::Blocked,
        _ => MigrationStatus::MigratableNow,
    };
    entry.uses.push(SecretUse {
        workflow: f.workflow.clone(),
        job: f.job.clone(),
        path: f.location.path.clone(),
        line: f.location.line,
        audit: f.audit.as_str(),
        provider: f.provider,
        consumer: f.consumer.description.clone(),
        status,
        replacement: f.replacement.clone(),
        blocked_by: f.blocked_by.clone(),
    });
}
