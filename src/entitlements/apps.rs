//! GitHub App installations on the organisation (`GET /orgs/{org}/installations`): the
//! permissions each was granted and the repositories it reaches.

use super::{login, time, Collector, Credential, Kind};

pub async fn organization(c: &mut Collector<'_>, org: &str) {
    let listed = c
        .list(
            format!("GitHub App installations of org {org}"),
            "organization_administration=read",
            &format!("/orgs/{org}/installations"),
        )
        .await;
    for v in listed.unwrap_or_default() {
        let slug = v["app_slug"].as_str().unwrap_or("(unknown app)");
        let selection = v["repository_selection"].as_str().unwrap_or("selected");
        let scope = match selection {
            "all" => format!("org {org}, all repositories"),
            _ => format!("org {org}, selected repositories"),
        };
        let mut a = Credential::new(Kind::AppInstallation, slug, scope);
        a.id = v["id"].as_u64();
        a.owner = login(&v["account"]);
        a.visibility = Some(selection.to_string());
        if let Some(p) = v["permissions"].as_object() {
            for (k, level) in p {
                if let Some(l) = level.as_str() {
                    a.permissions.insert(k.clone(), l.to_string());
                }
            }
        }
        a.created_at = time(&v, "created_at");
        a.updated_at = time(&v, "updated_at");
        if v["suspended_at"].as_str().is_some() {
            a.scope.push_str(", suspended");
        }
        c.push(a);
    }
}
