//! The rotation plan for people (Markdown, diffs in fenced blocks) and for machines (JSON).

use std::fmt::Write as _;

use crate::rotate::Plan;

impl Plan {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn is_empty(&self) -> bool {
        self.repositories
            .iter()
            .all(|r| r.migrations.is_empty() && r.skipped.is_empty())
    }

    pub fn to_text(&self) -> String {
        let mut o = String::from("# keysweep rotation plan\n");
        if self.is_empty() {
            o.push_str("\nNo long-lived credential uses to rotate.\n");
        }
        for r in &self.repositories {
            if r.migrations.is_empty() && r.skipped.is_empty() {
                continue;
            }
            // GitHub's subject format means nothing to a GitLab-only plan
            let format = match (r.gitlab_only, r.subject_format) {
                (true, _) => "",
                (false, crate::rotate::facts::SubjectFormat::Legacy) => ", legacy subjects",
                (false, crate::rotate::facts::SubjectFormat::Immutable) => ", immutable subjects",
            };
            let _ = write!(
                o,
                "\n## Repository `{}` ({}{format})\n",
                r.repository, r.slug,
            );
            for m in &r.migrations {
                let _ = write!(
                    o,
                    "\n### {}: `{}`{}\n\nReplaces {}:\n",
                    m.target,
                    m.workflow,
                    if m.jobs.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " job{} {}",
                            if m.jobs.len() > 1 { "s" } else { "" },
                            m.jobs
                                .iter()
                                .map(|j| format!("`{j}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                    m.secrets
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for u in &m.uses {
                    let _ = writeln!(o, "- {u}");
                }
                if !m.subjects.is_empty() {
                    o.push_str("\nTrusted subjects:\n");
                    for s in &m.subjects {
                        let _ = writeln!(o, "- `{s}`");
                    }
                }
                o.push_str("\nEdits:\n");
                for e in &m.edits {
                    let _ = writeln!(o, "- {}", e.description);
                }
                if !m.notes.is_empty() {
                    o.push_str("\nNotes:\n");
                    for n in &m.notes {
                        let _ = writeln!(o, "- {n}");
                    }
                }
            }
            if !r.files.is_empty() {
                o.push_str("\n### Workflow changes\n");
                for f in &r.files {
                    let _ = write!(o, "\n```diff\n{}```\n", f.diff);
                }
            }
            if !r.trust.is_empty() {
                o.push_str("\n### Trust configuration (written under `.keysweep/` by `--write`)\n");
                for t in &r.trust {
                    let lang = match t.format {
                        "terraform" => "hcl",
                        "shell" => "sh",
                        other => other,
                    };
                    let _ = write!(
                        o,
                        "\n`{}` ({}):\n\n```{lang}\n{}```\n",
                        t.file, t.format, t.content
                    );
                }
            }
            if !r.manual_steps.is_empty() {
                o.push_str("\n### Manual steps\n\n");
                for (i, m) in r.manual_steps.iter().enumerate() {
                    let _ = writeln!(o, "{}. ({}) {}", i + 1, m.target, m.step);
                }
            }
            if !r.retire.is_empty() {
                o.push_str("\n### Retire afterwards (a separate, explicit step)\n\n");
                for x in &r.retire {
                    let _ = writeln!(o, "- `{}` ({}): {}", x.secret, x.target, x.action);
                }
            }
            if !r.skipped.is_empty() {
                o.push_str("\n### Left untouched\n\n");
                for s in &r.skipped {
                    let _ = writeln!(
                        o,
                        "- `{}` at `{}:{}`{} ({}): {}",
                        s.secret,
                        s.workflow,
                        s.line,
                        s.job
                            .as_deref()
                            .map(|j| format!(" job `{j}`"))
                            .unwrap_or_default(),
                        s.consumer,
                        s.reason
                    );
                }
            }
            if !r.placeholders.is_empty() {
                o.push_str("\n### Placeholders (`--write` refuses them without `--allow-placeholders`)\n\n");
                for p in &r.placeholders {
                    let _ = writeln!(
                        o,
                        "- `{}`: {}; pass `{}` or set `{}` in .keysweep.toml",
                        p.placeholder, p.what, p.flag, p.config_key
                    );
                }
            }
        }
        o
    }
}
