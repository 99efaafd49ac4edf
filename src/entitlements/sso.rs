//! Classic tokens and SSH keys authorised for the organisation's SAML single sign-on
//! (`GET /orgs/{org}/credential-authorizations`, GitHub Enterprise Cloud; an org owner's
//! classic token with `read:org`). Not in api.github.com's OpenAPI description: in GHEC's.

use super::{time, Collector, Credential, Kind};

/// What `GET /orgs/{org}/credential-authorizations` needs (no App or fine-grained permission
/// reaches it).
pub const NEEDS: &str = "an org owner's classic token with read:org, on an org with SAML SSO";

pub async fn organization(c: &mut Collector<'_>, org: &str) {
    let listed = c
        .list(
            format!("SAML SSO credential authorisations of org {org}"),
            NEEDS,
            &format!("/orgs/{org}/credential-authorizations"),
        )
        .await;
    for v in listed.unwrap_or_default() {
        let kind_text = v["credential_type"].as_str().unwrap_or("credential");
        let label = v["authorized_credential_title"]
            .as_str()
            .or(v["authorized_credential_note"].as_str())
            .map(str::to_string)
            .or_else(|| v["token_last_eight"].as_str().map(|l| format!("…{l}")))
            .or_else(|| v["fingerprint"].as_str().map(str::to_string))
            .unwrap_or_else(|| "(unnamed)".into());
        let mut cred = Credential::new(
            Kind::SsoAuthorization,
            format!("{kind_text} {label}"),
            format!("org {org}, SSO"),
        );
        cred.id = v["credential_id"].as_u64();
        cred.owner = v["login"].as_str().map(str::to_string);
        if let Some(scopes) = v["scopes"].as_array() {
            for s in scopes.iter().filter_map(|s| s.as_str()) {
                cred.permissions
                    .insert(format!("scope {s}"), "granted".into());
            }
        }
        cred.created_at = time(&v, "credential_authorized_at");
        cred.last_used = time(&v, "credential_accessed_at");
        cred.last_use_known = true;
        cred.expires_at = time(&v, "authorized_credential_expires_at");
        // SSH keys have no expiry to set; tokens do
        cred.never_expires = cred.expires_at.is_none() && !kind_text.contains("SSH");
        c.push(cred);
    }
}
