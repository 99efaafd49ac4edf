//! Deploy keys of each repository (`GET /repos/{owner}/{repo}/keys`): read-only or write,
//! who added it, when it was last used.

use super::{time, Collector, Credential, Kind};

pub async fn repository(c: &mut Collector<'_>, repo: &str) {
    let listed = c
        .list(
            format!("deploy keys of {repo}"),
            "administration=read",
            &format!("/repos/{repo}/keys"),
        )
        .await;
    for v in listed.unwrap_or_default() {
        let title = v["title"].as_str().unwrap_or("(untitled key)");
        let write = v["read_only"].as_bool() == Some(false);
        let scope = format!("{repo}, {}", if write { "read-write" } else { "read-only" });
        let mut k = Credential::new(Kind::DeployKey, title, scope);
        k.id = v["id"].as_u64();
        k.owner = v["added_by"].as_str().map(str::to_string);
        k.repository = Some(repo.to_string());
        k.write = Some(write);
        k.created_at = time(&v, "created_at");
        k.last_used = time(&v, "last_used");
        // older GitHub versions do not report it at all
        k.last_use_known = v.get("last_used").is_some();
        if v["enabled"].as_bool() == Some(false) {
            k.scope.push_str(", disabled");
        }
        c.push(k);
    }
}
