//! The trust keysweep does not create itself: for each target other than AWS, the exact
//! commands or API calls that create it, taken from (or built from) the plan's trust files.
//! `trust apply` prints them and says it did not run them.

use serde_json::Value;

use crate::cloud::plan_file::PlannedRepo;
use crate::rotate::trust::sh;

/// What to run by hand for one target of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualTrust {
    pub repository: String,
    pub target: String,
    /// How it is applied: `commands` (a shell script), `api` (an HTTP call), `web` (a form).
    pub kind: &'static str,
    /// Commands or steps, ready to copy.
    pub text: String,
}

/// Every target of `repo` keysweep does not apply, in plan order; targets in `skip` (the
/// ones applied through their API) are left out.
pub fn manual_steps(repo: &PlannedRepo, skip: &[&str]) -> Vec<ManualTrust> {
    let mut targets: Vec<&str> = repo.trust.iter().map(|t| t.target.as_str()).collect();
    targets.dedup();
    let mut out = Vec::new();
    for target in targets {
        if skip.contains(&target) {
            continue;
        }
        let item = |kind, text: String| ManualTrust {
            repository: repo.slug.clone(),
            target: target.to_string(),
            kind,
            text,
        };
        let publisher = repo
            .artifact(target, "trusted-publisher.json")
            .and_then(|a| serde_json::from_str::<Value>(&a.content).ok());
        match (target, publisher) {
            ("npm", Some(p)) => out.push(item("commands", npm_commands(&p))),
            ("crates-io", Some(p)) => out.push(item("api", crates_io_calls(&p))),
            ("pypi", Some(p)) => out.push(item("web", pypi_steps(&p))),
            _ => {
                if let Some(cmds) = repo.artifact(target, "commands.sh") {
                    out.push(item("commands", cmds.content.clone()));
                } else if let Some(form) = repo.artifact(target, "trusted-publisher.md") {
                    out.push(item("web", form.content.clone()));
                } else {
                    // octo-sts: a policy file committed to the repository it grants access to
                    let files: Vec<String> = repo
                        .trust
                        .iter()
                        .filter(|t| t.target == target)
                        .map(|t| format!("- .keysweep/{}", t.file))
                        .collect();
                    out.push(item(
                        "web",
                        format!(
                            "Commit these files (written by `keysweep rotate --write`) into the repository they grant access to, at the path after the scope:\n{}\n",
                            files.join("\n")
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn publishers(p: &Value) -> Vec<(String, Option<String>)> {
    p.get("publishers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x.get("workflow")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        x.get("environment")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn field<'a>(p: &'a Value, key: &str) -> &'a str {
    p.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `npm trust github` (npm >= 11.10; `--allow-publish` from npm 11.15).
fn npm_commands(p: &Value) -> String {
    let slug = format!("{}/{}", field(p, "owner"), field(p, "repository"));
    let mut s = String::from(
        "# npm >= 11.10, logged in with 2FA as a maintainer of the package; one trusted publisher per package.\n",
    );
    for (wf, env) in publishers(p) {
        s.push_str(&format!(
            "npm trust github {} --repository {} --file {}{} --allow-publish\n",
            sh(field(p, "package")),
            sh(&slug),
            sh(&wf),
            env.map(|e| format!(" --environment {}", sh(&e)))
                .unwrap_or_default()
        ));
    }
    s
}

/// crates.io's trusted-publishing API (the crate must exist; the token needs the
/// `trusted-publishing` scope or be an owner's).
fn crates_io_calls(p: &Value) -> String {
    let mut s = String::from(
        "# An API token of a crate owner in CRATES_IO_TOKEN (never on the command line).\n",
    );
    for (wf, env) in publishers(p) {
        let body = serde_json::json!({
            "github_config": {
                "crate": field(p, "crate"),
                "repository_owner": field(p, "owner"),
                "repository_name": field(p, "repository"),
                "workflow_filename": wf,
                "environment": env,
            }
        });
        s.push_str(&format!(
            "curl --fail-with-body -X POST https://crates.io/api/v1/trusted_publishing/github_configs \\\n  -H \"Authorization: $CRATES_IO_TOKEN\" -H 'Content-Type: application/json' -H 'User-Agent: keysweep' \\\n  --data {}\n",
            sh(&body.to_string())
        ));
    }
    s
}

/// PyPI has no API for trusted publishers: the form, field by field.
fn pypi_steps(p: &Value) -> String {
    let name = field(p, "project");
    let mut s = format!(
        "PyPI has no API for trusted publishers. Open https://pypi.org/manage/project/{name}/settings/publishing/ (a new project: https://pypi.org/manage/account/publishing/) and add a GitHub publisher:\n"
    );
    for (wf, env) in publishers(p) {
        s.push_str(&format!(
            "- owner `{}`, repository `{}`, workflow `{wf}`, environment `{}`\n",
            field(p, "owner"),
            field(p, "repository"),
            env.as_deref().unwrap_or("(none)")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::plan_file::PlanFile;

    fn repo(trust: &str) -> PlannedRepo {
        PlanFile::parse(&format!(
            r#"{{"repositories":[{{"repository":".","slug":"o/r","trust":{trust}}}]}}"#
        ))
        .unwrap()
        .repositories
        .remove(0)
    }

    fn publisher(target: &str, key: &str) -> String {
        let content = serde_json::json!({
            "provider": "github", key: "pkg", "owner": "o", "repository": "r",
            "publishers": [{"workflow": "release.yml", "environment": "release"}],
        })
        .to_string();
        serde_json::json!([{"target": target, "file": format!("{target}/trusted-publisher.json"), "format": "json", "content": content}]).to_string()
    }

    #[test]
    fn npm_trust_command() {
        let m = manual_steps(&repo(&publisher("npm", "package")), &[]);
        assert_eq!(m.len(), 1);
        assert!(m[0].text.contains(
            "npm trust github 'pkg' --repository 'o/r' --file 'release.yml' --environment 'release' --allow-publish"
        ), "{}", m[0].text);
    }

    #[test]
    fn crates_io_api_call() {
        let m = manual_steps(&repo(&publisher("crates-io", "crate")), &[]);
        assert_eq!(m[0].kind, "api");
        assert!(m[0]
            .text
            .contains("https://crates.io/api/v1/trusted_publishing/github_configs"));
        assert!(
            m[0].text.contains(r#""workflow_filename":"release.yml""#),
            "{}",
            m[0].text
        );
        assert!(!m[0].text.contains("cio"), "no token in the text");
    }

    #[test]
    fn commands_sh_is_printed_and_aws_skipped() {
        let trust = r#"[{"target":"gcp","file":"gcp/commands.sh","format":"shell","content":"gcloud iam workload-identity-pools create x\n"},
                        {"target":"aws","file":"aws/commands.sh","format":"shell","content":"aws iam create-role\n"}]"#;
        let m = manual_steps(&repo(trust), &["aws"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].target, "gcp");
        assert_eq!(m[0].text, "gcloud iam workload-identity-pools create x\n");
    }
}
