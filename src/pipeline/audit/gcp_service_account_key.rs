//! `gcp-service-account-key`: a service-account JSON key where Workload Identity Federation
//! would do.

use super::AuditId;

use super::util::{
    command_hits, env_hits, finding, for_each_command, input_hits, seq, site_refs, CmdMatch,
    Migration, Readers,
};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct GcpServiceAccountKey;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["gcloud"],
        &["gsutil"],
        &["bq"],
        &["terraform"],
        &["terragrunt"],
        &["tofu"],
        &["pulumi"],
        &["firebase"],
    ],
    actions: &["google-github-actions", "w9jds/firebase-action"],
};

pub(crate) fn migration(ctx: &WorkflowContext) -> Migration {
    match ctx.ci {
        CiSystem::GithubActions => Migration::oidc(
            "google-github-actions/auth with `workload_identity_provider` (and `service_account` if needed) and `permissions: id-token: write`",
        ),
        CiSystem::GitlabCi => Migration::oidc(
            "`id_tokens:` and a Workload Identity Federation credential config (`gcloud iam workload-identity-pools create-cred-config`)",
        ),
    }
}

impl Audit for GcpServiceAccountKey {
    fn id(&self) -> AuditId {
        AuditId::GcpServiceAccountKey
    }
    fn title(&self) -> &'static str {
        "GCP service-account key used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(ctx, &["google-github-actions/auth"], &["credentials_json"]);
        hits.extend(input_hits(
            ctx,
            &[
                "google-github-actions/setup-gcloud",
                "google-github-actions/get-gke-credentials",
                "google-github-actions/deploy-cloudrun",
            ],
            &["service_account_key", "credentials"],
        ));
        hits.extend(env_hits(
            ctx,
            &[
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_CREDENTIALS",
                "GOOGLE_CLOUD_KEYFILE_JSON",
                "GCLOUD_KEYFILE_JSON",
                "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
            ],
            &READERS,
        ));
        // `gcloud auth activate-service-account --key-file F`: the secret is either in the
        // command itself (a file-type variable, an env var) or written to F by an earlier command
        let activations = command_hits(ctx, |w, _| {
            let key_file = shell::flag_value(w, &["--key-file", "--cred-file"]);
            ((seq(w, &["gcloud", "auth", "activate-service-account"])
                || seq(w, &["gcloud", "auth", "login"]))
                && key_file.is_some())
            .then(|| {
                CmdMatch::new("gcloud auth activate-service-account --key-file")
                    .secret(key_file.clone())
                    .detail(key_file)
            })
        });
        let mut key_files: Vec<(usize, String)> = Vec::new();
        for_each_command(ctx, |site| {
            let w = &site.words;
            if seq(w, &["gcloud", "auth"]) {
                if let Some(f) = shell::flag_value(w, &["--key-file", "--cred-file"]) {
                    key_files.push((site.job, f));
                }
            }
        });
        hits.extend(activations.into_iter().map(|(h, _)| h));
        for_each_command(ctx, |site| {
            let text = &site.command.text;
            if !(text.contains('>') || text.contains("tee ")) {
                return;
            }
            let writes_key = key_files.iter().any(|(j, f)| {
                *j == site.job && {
                    let base = f.rsplit('/').next().unwrap_or(f);
                    !base.is_empty() && text.contains(base)
                }
            });
            if !writes_key {
                return;
            }
            for mut h in site_refs(ctx, site, None) {
                h.consumer.command = Some("gcloud auth activate-service-account --key-file".into());
                h.consumer.description = format!(
                    "key file for `gcloud auth activate-service-account --key-file`, written in step `{}`",
                    ctx.jobs[site.job].steps[site.step].label
                );
                hits.push(h);
            }
        });
        let m = migration(ctx);
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Gcp, h, &m))
            .collect()
    }
}
