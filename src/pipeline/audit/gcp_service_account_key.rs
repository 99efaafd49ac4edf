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
        // the files a job uses as a service-account key: `gcloud auth --key-file F`,
        // `GOOGLE_APPLICATION_CREDENTIALS=F` (exported or appended to $GITHUB_ENV, or bound in
        // `env:`), Terraform's `-backend-config=credentials=F`
        let mut key_files: Vec<(usize, String, &'static str)> = Vec::new();
        for_each_command(ctx, |site| {
            let w = &site.words;
            if seq(w, &["gcloud", "auth"]) {
                if let Some(f) = shell::flag_value(w, &["--key-file", "--cred-file"]) {
                    key_files.push((
                        site.job,
                        f,
                        "gcloud auth activate-service-account --key-file",
                    ));
                }
            }
            for word in w {
                if let Some((_, f)) = word.split_once("GOOGLE_APPLICATION_CREDENTIALS=") {
                    key_files.push((site.job, f.to_string(), "GOOGLE_APPLICATION_CREDENTIALS"));
                }
                if word.contains("backend-config") || word.starts_with("credentials=") {
                    if let Some((_, f)) = word.rsplit_once("credentials=") {
                        key_files.push((
                            site.job,
                            f.to_string(),
                            "terraform -backend-config=credentials",
                        ));
                    }
                }
            }
        });
        for (ji, job) in ctx.jobs.iter().enumerate() {
            for b in job
                .env
                .iter()
                .chain(job.steps.iter().flat_map(|s| s.env.iter()))
                .chain(ctx.env.iter())
            {
                if b.name == "GOOGLE_APPLICATION_CREDENTIALS" && b.refs.is_empty() {
                    key_files.push((ji, b.value.clone(), "GOOGLE_APPLICATION_CREDENTIALS"));
                }
            }
        }
        key_files.retain(|(_, f, _)| {
            let base = f.trim_matches(['"', '\'']).rsplit('/').next().unwrap_or("");
            !base.is_empty() && !base.starts_with('$')
        });
        hits.extend(activations.into_iter().map(|(h, _)| h));
        for_each_command(ctx, |site| {
            let text = &site.command.text;
            if !(text.contains('>') || text.contains("tee ")) {
                return;
            }
            let used_as = key_files.iter().find_map(|(j, f, how)| {
                let base = f.trim_matches(['"', '\'']).rsplit('/').next().unwrap_or(f);
                (*j == site.job
                    && text.contains(base)
                    && !text.contains("GOOGLE_APPLICATION_CREDENTIALS="))
                .then_some(*how)
            });
            let Some(how) = used_as else {
                return;
            };
            let decoded = text.contains("base64 -d") || text.contains("base64 --decode");
            for mut h in site_refs(ctx, site, None) {
                h.consumer.command = Some(how.into());
                h.consumer.description = format!(
                    "key file for `{how}`, written{} in step `{}`",
                    if decoded { " (base64-decoded)" } else { "" },
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
