//! The one list of rotate targets. Every list of target ids (the `--target` help, the unknown
//! target error, `rules check`'s rotation targets) is derived from [`TARGETS`]; a new target
//! is one file and one line here.

use super::target::Target;
use super::{aws, azure, crates_io, gcp, gitlab, npm, octo_sts, pypi, vault};
use crate::pipeline::{CiSystem, PipelineFinding};

/// Every target, GitHub Actions ones first; the GitLab CI ones are named `gitlab-<provider>`.
pub static TARGETS: &[&dyn Target] = &[
    &aws::Aws,
    &gcp::Gcp,
    &azure::Azure,
    &pypi::Pypi,
    &npm::Npm,
    &crates_io::CratesIo,
    &vault::Vault,
    &octo_sts::OctoSts,
    &gitlab::GitlabAws,
    &gitlab::GitlabGcp,
    &gitlab::GitlabAzure,
    &gitlab::GitlabPypi,
    &gitlab::GitlabVault,
];

/// The prefix of GitLab CI targets' ids.
pub const GITLAB_PREFIX: &str = "gitlab-";

/// Every target id, in registry order.
pub fn ids() -> impl Iterator<Item = &'static str> {
    TARGETS.iter().map(|t| t.id())
}

/// `aws, gcp, ...`: the ids for help and error texts.
pub fn ids_joined() -> String {
    ids().collect::<Vec<_>>().join(", ")
}

pub fn by_id(id: &str) -> Option<&'static dyn Target> {
    TARGETS.iter().copied().find(|t| t.id() == id)
}

/// Is `id` a GitLab CI target?
pub fn is_gitlab(id: &str) -> bool {
    id.starts_with(GITLAB_PREFIX)
}

/// Is target `id` selected by `--target` values `wanted` (empty: all; `aws` includes
/// `gitlab-aws`)?
pub fn selected(id: &str, wanted: &[String]) -> bool {
    let hit = |id: &str| wanted.iter().any(|t| t == id);
    wanted.is_empty() || hit(id) || id.strip_prefix(GITLAB_PREFIX).is_some_and(hit)
}

/// The target that migrates a finding: the one for its CI system, else any that handles it
/// (which then reports that its CI system is not supported yet).
pub fn target_for(f: &PipelineFinding) -> Option<&'static dyn Target> {
    let gitlab = f.ci == CiSystem::GitlabCi;
    TARGETS
        .iter()
        .copied()
        .find(|t| t.handles(f) && is_gitlab(t.id()) == gitlab)
        .or_else(|| TARGETS.iter().copied().find(|t| t.handles(f)))
}
