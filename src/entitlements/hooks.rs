//! Organisation webhooks that carry a secret (`GET /orgs/{org}/hooks`; GitHub shows a set
//! secret as `********`): a shared HMAC key someone has to rotate.

use super::{time, Collector, Credential, Kind};

pub async fn organization(c: &mut Collector<'_>, org: &str) {
    let listed = c
        .list(
            format!("webhooks of org {org}"),
            "organization_hooks=read",
            &format!("/orgs/{org}/hooks"),
        )
        .await;
    let mut with_secret = 0;
    for v in listed.unwrap_or_default() {
        let config = &v["config"];
        if config["secret"].as_str().is_none_or(str::is_empty) {
            continue;
        }
        with_secret += 1;
        // the host only: a webhook URL may carry a token in its path or query
        let host = config["url"]
            .as_str()
            .and_then(|u| u.parse::<http::Uri>().ok())
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_else(|| "(no url)".into());
        let name = format!("{} → {host}", v["name"].as_str().unwrap_or("web"));
        let mut h = Credential::new(Kind::OrgWebhook, name, format!("org {org}"));
        h.id = v["id"].as_u64();
        h.owner = Some(org.to_string());
        h.created_at = time(&v, "created_at");
        h.updated_at = time(&v, "updated_at");
        if v["active"].as_bool() == Some(false) {
            h.scope.push_str(", inactive");
        }
        c.push(h);
    }
    c.recount(with_secret);
}
