//! The part of retiring an old credential no API keysweep calls can do: the exact step for a
//! person, per rotate target (the Actions secret itself is deleted by keysweep).

/// The manual step for `target`'s old credential, or `None` where keysweep does it all
/// (AWS with `--aws-access-key-id`).
pub fn manual_step(target: &str, have_aws_key: bool) -> Option<String> {
    let provider = target
        .strip_prefix(crate::rotate::registry::GITLAB_PREFIX)
        .unwrap_or(target);
    Some(match provider {
        "aws" if have_aws_key => return None,
        "aws" => "AWS: give --aws-access-key-id (the key id from the scan finding) and keysweep deactivates the old access key, then deletes it after --delete-after without use; or `aws iam update-access-key --user-name USER --access-key-id KEY --status Inactive`".into(),
        "pypi" => "PyPI has no API for tokens: remove the old API token at https://pypi.org/manage/account/ (API tokens → Options → Remove token)".into(),
        "npm" => "npm: `npm token list`, then `npm token revoke TOKEN_ID` for the old publish token (or https://www.npmjs.com/settings/USER/tokens); then set the package's publishing access to disallow tokens".into(),
        "crates-io" => "crates.io: revoke the old API token at https://crates.io/settings/tokens".into(),
        "gcp" => "GCP: `gcloud iam service-accounts keys disable KEY_ID --iam-account SA_EMAIL`, and after a quiet period `gcloud iam service-accounts keys delete KEY_ID --iam-account SA_EMAIL`".into(),
        "azure" => "Azure: `az ad app credential delete --id CLIENT_ID --key-id KEY_ID` for the old client secret".into(),
        "vault" => "Vault: `vault token revoke -accessor ACCESSOR` for the old static token".into(),
        "octo-sts" => "GitHub: revoke the old personal access token (its owner's Settings → Developer settings → Personal access tokens), or `keysweep revoke` if a scan found its value".into(),
        other => format!("{other}: revoke the old credential where it was issued"),
    })
}

#[cfg(test)]
mod tests {
    use super::manual_step;

    #[test]
    fn steps() {
        assert_eq!(manual_step("aws", true), None);
        assert!(manual_step("aws", false)
            .unwrap()
            .contains("--aws-access-key-id"));
        assert!(manual_step("pypi", false)
            .unwrap()
            .contains("https://pypi.org/manage/account/"));
        assert!(manual_step("gitlab-pypi", false)
            .unwrap()
            .contains("pypi.org"));
        assert!(manual_step("crates-io", true)
            .unwrap()
            .contains("https://crates.io/settings/tokens"));
    }
}
