//! `hashicorp/vault-action` steps of GitHub workflows, read from the pipeline model: the role
//! and the audience each step asks for, located at the step's `uses:`.

use crate::pipeline::model::StepKind;
use crate::trust::model::{VaultActionUse, VAULT_ACTION_DEFAULT_AUDIENCE};
use crate::trust::source::SrcFile;
use crate::trust::Loc;
use std::path::Path;

/// Every `hashicorp/vault-action` step with `method: jwt` in one workflow file. A workflow
/// that does not load is not ours to report: `keysweep scan` and the pipeline audits do.
pub(super) fn vault_action_uses(src: &SrcFile, out: &mut Vec<VaultActionUse>) {
    let Ok(ctx) = crate::pipeline::load_workflow_text(&src.path, &src.text, Path::new(".")) else {
        return;
    };
    for step in ctx.jobs.iter().flat_map(|j| &j.steps) {
        let StepKind::Uses { slug, .. } = &step.kind else {
            continue;
        };
        if slug != "hashicorp/vault-action" {
            continue;
        }
        let input = |k: &str| step.input(k).map(|b| b.value.clone());
        if input("method").as_deref() != Some("jwt") {
            continue;
        }
        let at = ctx.location(&step.loc.key("uses"), None, None);
        let explicit = input("jwtGithubAudience");
        out.push(VaultActionUse {
            loc: Loc {
                path: src.path.clone(),
                line: at.line,
                column: at.column,
                end_line: at.end_line,
                end_column: at.end_column,
            },
            role: input("role"),
            audience_explicit: explicit.is_some(),
            audience: explicit.unwrap_or_else(|| VAULT_ACTION_DEFAULT_AUDIENCE.to_string()),
        });
    }
}
