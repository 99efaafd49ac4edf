//! Actions, Dependabot and Codespaces secrets: of each repository, of its environments, and of
//! the organisation (with visibility and selected repositories). Names and dates only.

use serde_json::Value;

use super::{time, Collector, Credential, Kind};
use crate::forge::pr::remote::enc;

fn secret(kind: Kind, v: &Value, scope: String) -> Option<Credential> {
    let mut c = Credential::new(kind, v["name"].as_str()?, scope);
    c.created_at = time(v, "created_at");
    c.updated_at = time(v, "updated_at");
    Some(c)
}

/// Repository and environment secrets of `repo`.
pub async fn repository(c: &mut Collector<'_>, repo: &str) {
    let kinds = [
        (Kind::ActionsSecret, "actions", "secrets=read"),
        (
            Kind::DependabotSecret,
            "dependabot",
            "dependabot_secrets=read",
        ),
        (
            Kind::CodespacesSecret,
            "codespaces",
            "codespaces_secrets=read",
        ),
    ];
    for (kind, area, needs) in kinds {
        let what = format!("{area} secrets of {repo}");
        let path = format!("/repos/{repo}/{area}/secrets");
        for v in c.list(what, needs, &path).await.unwrap_or_default() {
            if let Some(mut s) = secret(kind, &v, repo.to_string()) {
                s.repository = Some(repo.to_string());
                c.push(s);
            }
        }
    }
    let envs = c
        .list(
            format!("environments of {repo}"),
            "actions=read",
            &format!("/repos/{repo}/environments"),
        )
        .await
        .unwrap_or_default();
    for e in envs {
        let Some(env) = e["name"].as_str() else {
            continue;
        };
        let what = format!("secrets of environment {env} of {repo}");
        let path = format!("/repos/{repo}/environments/{}/secrets", enc(env));
        for v in c
            .list(what, "environments=read", &path)
            .await
            .unwrap_or_default()
        {
            let scope = format!("{repo} environment {env}");
            if let Some(mut s) = secret(Kind::EnvironmentSecret, &v, scope) {
                s.repository = Some(repo.to_string());
                s.environment = Some(env.to_string());
                c.push(s);
            }
        }
    }
}

/// Organisation secrets of the three kinds, with the repositories each is shared with.
pub async fn organization(c: &mut Collector<'_>, org: &str) {
    let kinds = [
        (
            Kind::OrgActionsSecret,
            "actions",
            "organization_secrets=read",
        ),
        (
            Kind::OrgDependabotSecret,
            "dependabot",
            "organization_dependabot_secrets=read",
        ),
        (
            Kind::OrgCodespacesSecret,
            "codespaces",
            "organization_codespaces_secrets=read",
        ),
    ];
    for (kind, area, needs) in kinds {
        let what = format!("{area} secrets of org {org}");
        let path = format!("/orgs/{org}/{area}/secrets");
        for v in c.list(what.clone(), needs, &path).await.unwrap_or_default() {
            let visibility = v["visibility"].as_str().unwrap_or("all").to_string();
            let Some(mut s) = secret(kind, &v, String::new()) else {
                continue;
            };
            s.owner = Some(org.to_string());
            if visibility == "selected" {
                let what = format!("repositories of {area} secret {} of org {org}", s.name);
                let path = format!("/orgs/{org}/{area}/secrets/{}/repositories", enc(&s.name));
                match c.list(what, needs, &path).await {
                    Some(repos) => {
                        s.selected_repositories = repos
                            .iter()
                            .filter_map(|r| r["full_name"].as_str().map(str::to_string))
                            .collect();
                    }
                    // who can see it is unknown: it must not look dormant
                    None => s.incomplete = true,
                }
                let n = s.selected_repositories.len();
                s.scope = format!(
                    "org {org}, {n} selected repositor{}",
                    if n == 1 { "y" } else { "ies" }
                );
            } else {
                s.scope = format!("org {org}, visibility {visibility}");
            }
            s.visibility = Some(visibility);
            // the listing it came from, not the nested one of its repositories
            s.listing = what.clone();
            c.credentials.push(s);
        }
    }
}
