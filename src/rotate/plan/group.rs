//! Phase 1: each finding to its target and file, or to the skipped list with why.

use std::collections::BTreeMap;

use super::skipped;
use crate::pipeline::{CiSystem, MigrationStatus, PipelineFinding};
use crate::rotate::registry;
use crate::rotate::target::{Blocker, Unmigratable};
use crate::rotate::Skipped;

/// The uses of one target in one file (a GitLab include, or the workflow itself).
pub(super) type Groups<'f> = BTreeMap<(&'static str, String), Vec<&'f PipelineFinding>>;

pub(super) fn group<'f>(
    findings: &[&'f PipelineFinding],
    wanted: &[String],
    out: &mut Vec<Skipped>,
) -> Groups<'f> {
    let mut groups: Groups<'f> = BTreeMap::new();
    for f in findings {
        if matches!(
            f.audit,
            crate::pipeline::audit::AuditId::SecretsInherit
                | crate::pipeline::audit::AuditId::HalfMigratedOidc
        ) {
            continue;
        }
        let Some(t) = registry::target_for(f) else {
            if f.oidc_replacement {
                out.push(skipped(
                    f,
                    None,
                    Unmigratable::new(
                        Blocker::NoTarget,
                        format!("no rotate target for this use yet ({})", f.replacement),
                    ),
                ));
            }
            continue;
        };
        if !registry::selected(t.id(), wanted) {
            continue;
        }
        if f.ci == CiSystem::GitlabCi && !registry::is_gitlab(t.id()) {
            out.push(skipped(
                f,
                Some(t.id()),
                Unmigratable::new(
                    Blocker::NoTarget,
                    "GitLab CI `id_tokens` rewrites are implemented for AWS, GCP, Azure, PyPI and Vault only so far",
                ),
            ));
            continue;
        }
        match f.status() {
            MigrationStatus::NoOidcAlternative => {
                out.push(skipped(
                    f,
                    Some(t.id()),
                    Unmigratable::new(
                        Blocker::Analysis,
                        format!("no OIDC alternative here: {}", f.replacement),
                    ),
                ));
                continue;
            }
            MigrationStatus::Blocked if t.accepts_blocked(f) => {}
            MigrationStatus::Blocked => {
                out.push(skipped(
                    f,
                    Some(t.id()),
                    Unmigratable::new(Blocker::Analysis, f.blocked_by.clone().unwrap_or_default()),
                ));
                continue;
            }
            MigrationStatus::MigratableNow => {}
        }
        groups
            .entry((t.id(), super::file_of(f).to_string()))
            .or_default()
            .push(f);
    }
    groups
}
