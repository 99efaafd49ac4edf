//! Fine-grained personal access tokens with access to the organisation
//! (`GET /orgs/{org}/personal-access-tokens`) and the requests still pending
//! (`GET /orgs/{org}/personal-access-token-requests`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{login, time, Collector, Credential, Kind};

/// `{"organization": {"members": "read"}, "repository": {"contents": "write"}}` flattened to
/// `organization.members -> read`.
pub(crate) fn permissions(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(groups) = v.as_object() {
        for (group, perms) in groups {
            match perms {
                Value::Object(m) => {
                    for (k, level) in m {
                        if let Some(l) = level.as_str() {
                            out.insert(format!("{group}.{k}"), l.to_string());
                        }
                    }
                }
                Value::String(l) => {
                    out.insert(group.clone(), l.clone());
                }
                _ => {}
            }
        }
    }
    out
}

fn token(kind: Kind, v: &Value, org: &str) -> Option<Credential> {
    let name = v["token_name"].as_str().unwrap_or("(unnamed token)");
    let selection = v["repository_selection"].as_str().unwrap_or("none");
    let scope = match selection {
        "all" => format!("org {org}, all repositories"),
        "subset" => format!("org {org}, selected repositories"),
        _ => format!("org {org}, no repositories"),
    };
    let mut c = Credential::new(kind, name, scope);
    c.id = v["id"].as_u64();
    c.owner = login(&v["owner"]);
    c.permissions = permissions(&v["permissions"]);
    c.created_at = time(v, "access_granted_at").or_else(|| time(v, "created_at"));
    c.last_used = time(v, "token_last_used_at");
    c.last_use_known = true;
    c.expires_at = time(v, "token_expires_at");
    c.never_expires = c.expires_at.is_none();
    Some(c)
}

/// The repositories of a token limited to some (`repository_selection: subset`), into its
/// scope: `org o, 2 repositories: o/a, o/b`.
async fn repositories(
    c: &mut Collector<'_>,
    t: &mut Credential,
    org: &str,
    area: &str,
    needs: &str,
) {
    let Some(id) = t.id.filter(|_| t.scope.ends_with("selected repositories")) else {
        return;
    };
    let what = format!(
        "repositories of {} {} of org {org}",
        t.kind.as_str(),
        t.name
    );
    let path = format!("/orgs/{org}/{area}/{id}/repositories");
    if let Some(repos) = c.list(what, needs, &path).await {
        t.selected_repositories = repos
            .iter()
            .filter_map(|r| r["full_name"].as_str().map(str::to_string))
            .collect();
        let n = t.selected_repositories.len();
        t.scope = format!(
            "org {org}, {n} repositor{}: {}",
            if n == 1 { "y" } else { "ies" },
            t.selected_repositories.join(", ")
        );
    }
}

pub async fn organization(c: &mut Collector<'_>, org: &str) {
    let grants = c
        .list(
            format!("fine-grained tokens with access to org {org}"),
            "organization_personal_access_tokens=read",
            &format!("/orgs/{org}/personal-access-tokens"),
        )
        .await;
    let live: Vec<Value> = grants
        .unwrap_or_default()
        .into_iter()
        // an expired token can do nothing: not a live entitlement
        .filter(|v| v["token_expired"].as_bool() != Some(true))
        .collect();
    let what = c
        .listings
        .last()
        .map(|l| l.what.clone())
        .unwrap_or_default();
    for v in live {
        if let Some(mut t) = token(Kind::FineGrainedToken, &v, org) {
            repositories(
                c,
                &mut t,
                org,
                "personal-access-tokens",
                "organization_personal_access_tokens=read",
            )
            .await;
            t.listing = what.clone();
            c.credentials.push(t);
        }
    }
    let requests = c
        .list(
            format!("pending fine-grained token requests for org {org}"),
            "organization_personal_access_token_requests=read",
            &format!("/orgs/{org}/personal-access-token-requests"),
        )
        .await;
    let what = c
        .listings
        .last()
        .map(|l| l.what.clone())
        .unwrap_or_default();
    for v in requests.unwrap_or_default() {
        if let Some(mut t) = token(Kind::TokenRequest, &v, org) {
            repositories(
                c,
                &mut t,
                org,
                "personal-access-token-requests",
                "organization_personal_access_token_requests=read",
            )
            .await;
            t.listing = what.clone();
            c.credentials.push(t);
        }
    }
}
