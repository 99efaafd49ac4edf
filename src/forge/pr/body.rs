//! The migration PR's body: what was found, per target what changes and why, the trust
//! configuration (collapsed), the manual checklist, how to verify, what `retire` will do,
//! and the hidden marker. GitHub refuses bodies over 65,536 characters: long parts move to
//! files under `.keysweep/` in the same commit, and the body links them.

use std::fmt::Write as _;

use crate::forge::marker::{Marker, MarkerSecret, SecretScope};
use crate::rotate::RepoPlan;

/// GitHub's limit on a pull request body.
pub const MAX_BODY: usize = 65_536;

pub(super) struct Rendered {
    pub body: String,
    /// Files the body links instead of inlining them (path, content).
    pub overflow: Vec<(String, String)>,
}

fn scope_text(s: &SecretScope) -> String {
    match s {
        SecretScope::Repository => "repository secret".into(),
        SecretScope::Environment { environment } => {
            format!("secret of environment `{environment}`")
        }
        SecretScope::Organization => "organisation secret".into(),
        SecretScope::Unknown => "secret (scope not visible to the token)".into(),
    }
}

fn found(plan: &RepoPlan, secrets: &[MarkerSecret]) -> String {
    let mut o = String::from("### What keysweep found\n\nLong-lived credentials these workflows read (names only, never values):\n\n| Secret | Defined as | Workflow | Job(s) | Moves to |\n|---|---|---|---|---|\n");
    for m in &plan.migrations {
        for s in &m.secrets {
            let defined: Vec<String> = secrets
                .iter()
                .filter(|x| &x.name == s)
                .map(|x| scope_text(&x.scope))
                .collect();
            let _ = writeln!(
                o,
                "| `{s}` | {} | `{}` | {} | {} |",
                defined.join(", "),
                m.workflow,
                m.jobs.join(", "),
                m.target
            );
        }
    }
    if !plan.skipped.is_empty() {
        o.push_str("\nLeft as they are (keysweep could not migrate them safely):\n\n");
        for s in &plan.skipped {
            let _ = writeln!(
                o,
                "- `{}` in `{}`:{}: {}",
                s.secret, s.workflow, s.line, s.reason
            );
        }
    }
    o
}

fn changes(plan: &RepoPlan) -> String {
    let mut o = String::from("### What changes, per target\n");
    for m in &plan.migrations {
        let _ = write!(o, "\n#### {} — `{}`\n\n", m.target, m.workflow);
        if !m.jobs.is_empty() {
            let _ = writeln!(o, "- Jobs: {}", m.jobs.join(", "));
        }
        let _ =
            writeln!(
            o,
            "- Stops reading {} and requests a short-lived OIDC token instead (`id-token: write`).",
            m.secrets.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        );
        if !m.subjects.is_empty() {
            let _ = writeln!(
                o,
                "- Trusted subjects: {}",
                m.subjects
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for n in &m.notes {
            let _ = writeln!(o, "- {n}");
        }
    }
    o
}

fn trust_inline(plan: &RepoPlan) -> String {
    let mut o = String::from("### Trust configuration\n\nThe cloud side must trust this repository's OIDC tokens before the new workflows can run:\n");
    for t in &plan.trust {
        let lang = match t.format {
            "terraform" => "hcl",
            "shell" => "sh",
            f => f,
        };
        let fence = if t.content.contains("```") {
            "````"
        } else {
            "```"
        };
        let _ = write!(
            o,
            "\n<details><summary>{}: <code>.keysweep/{}</code></summary>\n\n{fence}{lang}\n{}\n{fence}\n\n</details>\n",
            t.target,
            t.file,
            t.content.trim_end()
        );
    }
    o
}

fn trust_linked(plan: &RepoPlan, blob_base: &str) -> String {
    let mut o = String::from("### Trust configuration\n\nThe cloud side must trust this repository's OIDC tokens before the new workflows can run. The files are in this pull request:\n\n");
    for t in &plan.trust {
        let _ = writeln!(
            o,
            "- {}: [`.keysweep/{}`]({blob_base}/.keysweep/{})",
            t.target, t.file, t.file
        );
    }
    o
}

fn checklist(plan: &RepoPlan) -> String {
    let mut o = String::from("### Before merging (manual checklist)\n\n");
    for s in &plan.manual_steps {
        let _ = writeln!(o, "- [ ] {}: {}", s.target, s.step);
    }
    if plan.manual_steps.is_empty() {
        o.push_str("- [ ] Apply the trust configuration above (`keysweep trust apply`, Terraform, or the commands shown).\n");
    }
    for p in &plan.placeholders {
        let _ = writeln!(
            o,
            "- [ ] Replace `{}` ({}); `{}` fills it.",
            p.placeholder, p.what, p.flag
        );
    }
    o
}

fn verify(plan: &RepoPlan, default_branch: &str) -> String {
    let mut wf: Vec<&str> = plan
        .migrations
        .iter()
        .map(|m| m.workflow.as_str())
        .collect();
    wf.sort();
    wf.dedup();
    format!(
        "### How to verify\n\n1. Merge this pull request once the trust configuration is applied.\n2. Each migrated workflow ({}) must then pass on `{default_branch}`: the run proves that the OIDC exchange works without the old secret.\n3. `keysweep retire --repo {}` checks exactly that (a successful run on the merge commit or later) and says what it still waits for.\n",
        wf.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "),
        plan.slug
    )
}

fn retire(plan: &RepoPlan, secrets: &[MarkerSecret]) -> String {
    let mut o = String::from("### What `keysweep retire` will do afterwards\n\nOnly after the checks above, and only with `--confirm`:\n\n");
    for s in secrets {
        let what = match &s.scope {
            SecretScope::Organization => "delete the organisation secret only with `--include-org-secrets`, and only when no other repository still reads it".to_string(),
            SecretScope::Unknown => "delete it where it is defined".to_string(),
            sc => format!("delete the {}", scope_text(sc)),
        };
        let _ = writeln!(o, "- `{}`: {what}", s.name);
    }
    for r in &plan.retire {
        let _ = writeln!(o, "- {} `{}`: {}", r.target, r.secret, r.action);
    }
    o
}

/// The body for `plan`; `blob_base` is the branch's file URL
/// (`https://github.com/o/r/blob/keysweep/oidc-migration`) for the links.
pub(super) fn render(
    plan: &RepoPlan,
    secrets: &[MarkerSecret],
    marker: &Marker,
    notes: &[String],
    default_branch: &str,
    blob_base: &str,
) -> Rendered {
    let head = format!(
        "## Move CI credentials to OIDC\n\nkeysweep found long-lived credentials in this repository's workflows and replaced them with short-lived OIDC credentials. Review the changes, apply the trust configuration, then merge.\n{}\n",
        notes.iter().map(|n| format!("\n> **Note:** {n}\n")).collect::<String>()
    );
    let tail = format!(
        "{}\n{}\n{}\n---\n<sub>Opened by `keysweep rotate --open-pr`. It updates this pull request when the plan changes and closes it when nothing is left to migrate; a push by anyone else to this branch makes it stop touching it.</sub>\n\n{}\n",
        checklist(plan),
        verify(plan, default_branch),
        retire(plan, secrets),
        marker.render()
    );
    let (found, changes) = (found(plan, secrets), changes(plan));
    let full = format!("{head}\n{found}\n{changes}\n{}\n{tail}", trust_inline(plan));
    if full.chars().count() <= MAX_BODY {
        return Rendered {
            body: full,
            overflow: Vec::new(),
        };
    }
    // too long: the trust files go into the commit and are linked
    let mut overflow: Vec<(String, String)> = plan
        .trust
        .iter()
        .map(|t| (format!(".keysweep/{}", t.file), t.content.clone()))
        .collect();
    let linked = format!(
        "{head}\n{found}\n{changes}\n{}\n{tail}",
        trust_linked(plan, blob_base)
    );
    if linked.chars().count() <= MAX_BODY {
        return Rendered {
            body: linked,
            overflow,
        };
    }
    // still too long: the findings and the per-target changes move to a file too
    let detail = ".keysweep/migration.md";
    overflow.push((
        detail.to_string(),
        format!("# Migration details\n\n{found}\n{changes}"),
    ));
    let body = format!(
        "{head}\nThe findings and the per-target changes are too long for a pull request body: see [`{detail}`]({blob_base}/{detail}).\n\n{}\n{tail}",
        trust_linked(plan, blob_base)
    );
    Rendered { body, overflow }
}
