//! The pipeline secret inventory for people (Markdown, one table per repository) and for
//! machines (JSON).

use std::fmt::Write as _;

use crate::pipeline::inventory::Inventory;
use crate::pipeline::MigrationStatus;

fn status_text(s: MigrationStatus, blocked_by: Option<&str>) -> String {
    match s {
        MigrationStatus::MigratableNow => "migratable now".into(),
        MigrationStatus::Blocked => format!("blocked: {}", blocked_by.unwrap_or("see finding")),
        MigrationStatus::NoOidcAlternative => "no OIDC alternative".into(),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Inventory {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// One table per repository.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Pipeline secret inventory\n");
        if self.repositories.is_empty() {
            out.push_str("\nNo long-lived credentials found in CI configuration.\n");
        }
        for r in &self.repositories {
            let _ = write!(
                out,
                "\n## Repository `{}`\n\n{} secret{} used by pipelines.\n\n",
                r.repository,
                r.secrets.len(),
                if r.secrets.len() == 1 { "" } else { "s" }
            );
            if !r.secrets.is_empty() {
                out.push_str(
                    "| Secret | Status | Provider | Where | Consumer |\n|---|---|---|---|---|\n",
                );
                for s in &r.secrets {
                    for u in &s.uses {
                        let _ = writeln!(
                            out,
                            "| `{}` | {} | {} | `{}:{}`{} | {} |",
                            cell(&s.name),
                            cell(&status_text(u.status, u.blocked_by.as_deref())),
                            u.provider.as_str(),
                            cell(&u.path),
                            u.line,
                            u.job
                                .as_deref()
                                .map(|j| format!(" job `{}`", cell(j)))
                                .unwrap_or_default(),
                            cell(&u.consumer)
                        );
                    }
                }
            }
            if !r.notes.is_empty() {
                out.push_str("\nNotes:\n\n");
                for n in &r.notes {
                    let _ = writeln!(
                        out,
                        "- `{}:{}` ({}): {}",
                        n.path,
                        n.line,
                        n.audit,
                        n.message.replace('\n', " ")
                    );
                }
            }
        }
        out
    }
}
