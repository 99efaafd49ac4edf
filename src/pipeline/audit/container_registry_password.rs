//! `container-registry-password`: a registry password where the job token or cloud OIDC would
//! do (GHCR, ECR, GAR, ACR), or a long-lived Docker Hub token that has no OIDC alternative.

use super::AuditId;

use super::util::{command_hits, finding, seq, CmdMatch, Hit, Migration};
use super::Audit;
use crate::pipeline::model::{StepKind, WorkflowContext};
use crate::pipeline::{CiSystem, Confidence, Consumer, ConsumerKind, PipelineFinding, Provider};

pub struct ContainerRegistryPassword;

/// The migration in the words of the CI system the job runs on: [`classify_registry`] speaks
/// GitHub Actions; GitLab jobs mint `id_tokens:` and have no Actions job token.
fn for_ci(ci: CiSystem, p: Provider, m: Migration) -> Migration {
    match (ci, p) {
        (CiSystem::GithubActions, Provider::Gitlab) => Migration::none(
            "a GitLab deploy token with only `read_registry`/`write_registry`, rotated regularly (GitLab's registry does not accept GitHub's OIDC tokens)",
        ),
        (CiSystem::GithubActions, _) => m,
        (CiSystem::GitlabCi, Provider::Github) => Migration::oidc(
            "a GitHub App installation token, or octo-sts trusting this GitLab instance's `id_tokens` (the Actions job token exists on GitHub only)",
        ),
        (CiSystem::GitlabCi, Provider::Aws) => Migration::oidc(
            "`id_tokens:` (aud sts.amazonaws.com) and `aws sts assume-role-with-web-identity`, then `aws ecr get-login-password`",
        ),
        (CiSystem::GitlabCi, Provider::Gcp) => Migration::oidc(
            "`id_tokens:` and a Workload Identity Federation credential config, then `gcloud auth print-access-token` as the `oauth2accesstoken` password",
        ),
        (CiSystem::GitlabCi, Provider::Azure) => Migration::oidc(
            "`id_tokens:` (aud api://AzureADTokenExchange) and `az login --service-principal --federated-token`, then `az acr login --name <registry>`",
        ),
        (CiSystem::GitlabCi, _) => m,
    }
}

/// Provider and migration for a registry host (`""` is Docker Hub).
pub(crate) fn classify_registry(host: &str) -> (Provider, Migration) {
    let h = host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if h.is_empty()
        || matches!(
            h.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
        )
    {
        (
            Provider::DockerHub,
            Migration::none("an organization access token scoped to the repositories this job pushes (read/write only where needed), rotated regularly; Docker Hub has no OIDC federation for CI"),
        )
    } else if h == "ghcr.io" || h == "docker.pkg.github.com" {
        (
            Provider::Github,
            Migration::oidc("the job's GITHUB_TOKEN (`password: ${{ secrets.GITHUB_TOKEN }}`) with `permissions: packages: write`"),
        )
    } else if (h.contains(".dkr.ecr.") && h.contains("amazonaws.com")) || h == "public.ecr.aws" {
        (
            Provider::Aws,
            Migration::oidc("aws-actions/configure-aws-credentials with `role-to-assume` (OIDC), then aws-actions/amazon-ecr-login"),
        )
    } else if h.ends_with("-docker.pkg.dev") || h == "gcr.io" || h.ends_with(".gcr.io") {
        (
            Provider::Gcp,
            Migration::oidc("google-github-actions/auth with Workload Identity Federation and `token_format: access_token`, then log in as `oauth2accesstoken`"),
        )
    } else if h.ends_with(".azurecr.io") {
        (
            Provider::Azure,
            Migration::oidc("azure/login via OIDC, then `az acr login --name <registry>`"),
        )
    } else if h == "registry.gitlab.com" || h.contains("ci_registry") {
        (
            Provider::Gitlab,
            Migration::oidc("the job token: `$CI_REGISTRY_USER` / `$CI_REGISTRY_PASSWORD`"),
        )
    } else {
        (
            Provider::ContainerRegistry,
            Migration::none(format!("a robot or service-account token for `{h}` scoped to the needed repositories, rotated regularly")),
        )
    }
}

/// The registry argument of `docker login [flags] [SERVER]`.
fn login_server(words: &[String]) -> String {
    let Some(i) = words.iter().position(|w| w == "login") else {
        return String::new();
    };
    let mut it = words[i + 1..].iter();
    while let Some(w) = it.next() {
        if w.starts_with('-') {
            if !w.contains('=') && matches!(w.as_str(), "-u" | "--username" | "-p" | "--password") {
                it.next();
            }
            continue;
        }
        if w == "|" || w.starts_with('>') {
            break;
        }
        return w.clone();
    }
    String::new()
}

impl Audit for ContainerRegistryPassword {
    fn id(&self) -> AuditId {
        AuditId::ContainerRegistryPassword
    }
    fn title(&self) -> &'static str {
        "Container registry password used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut out = Vec::new();
        let mut emit = |h: &Hit, host: &str| {
            let (p, m) = classify_registry(host);
            let m = for_ci(ctx.ci, p, m);
            out.push(finding(ctx, self.id(), self.title(), p, h, &m));
        };
        // docker/login-action and azure/docker-login
        for (ji, job) in ctx.jobs.iter().enumerate() {
            for step in &job.steps {
                let StepKind::Uses { uses, slug, inputs } = &step.kind else {
                    continue;
                };
                let (server_input, secret_inputs): (&str, &[&str]) = match slug.as_str() {
                    "docker/login-action" => ("registry", &["password", "username"]),
                    "azure/docker-login" => ("login-server", &["password"]),
                    _ => continue,
                };
                let scope = ctx.scope(ji, Some(step.index));
                let host = step
                    .input(server_input)
                    .map(|b| ctx.expand_literal(&scope, &b.value))
                    .unwrap_or_default();
                let (provider, _) = classify_registry(&host);
                for b in inputs {
                    if !secret_inputs.iter().any(|i| b.name.eq_ignore_ascii_case(i)) {
                        continue;
                    }
                    // the username is a credential only for ECR (an access key id)
                    if b.name.eq_ignore_ascii_case("username") && provider != Provider::Aws {
                        continue;
                    }
                    for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
                        let h = Hit {
                            job: Some(ji),
                            step: Some(step.index),
                            consumer: Consumer {
                                kind: ConsumerKind::ActionInput,
                                action: Some(uses.clone()),
                                input: Some(b.name.clone()),
                                env_var: r.via_env.clone(),
                                command: None,
                                step: Some(step.label.clone()),
                                description: format!(
                                    "{uses} input `{}` for registry `{}` (step `{}`)",
                                    b.name,
                                    if host.is_empty() { "docker.io" } else { &host },
                                    step.label
                                ),
                            },
                            resolved: r,
                            confidence: Confidence::High,
                        };
                        emit(&h, &host);
                    }
                }
            }
            // job and service containers
            let scope = ctx.scope(ji, None);
            for c in &job.containers {
                let Some(b) = &c.password else { continue };
                let image = ctx.expand_literal(&scope, &c.image);
                let first = image.split('/').next().unwrap_or("");
                let host = if image.contains('/') && (first.contains('.') || first.contains(':')) {
                    first.to_string()
                } else {
                    String::new()
                };
                for r in ctx.resolve(&b.refs, &b.loc, None, &scope) {
                    let h = Hit {
                        job: Some(ji),
                        step: None,
                        consumer: Consumer {
                            kind: ConsumerKind::ContainerCredentials,
                            action: None,
                            input: Some(format!("{}.credentials.password", c.which)),
                            env_var: r.via_env.clone(),
                            command: None,
                            step: None,
                            description: format!(
                                "`{}` credentials for image `{}`",
                                c.which, c.image
                            ),
                        },
                        resolved: r,
                        confidence: Confidence::High,
                    };
                    emit(&h, &host);
                }
            }
        }
        // docker/podman/helm login in scripts
        for (h, m) in command_hits(ctx, |w, _| {
            let tool = ["docker", "podman", "buildah", "skopeo", "crane", "nerdctl"]
                .into_iter()
                .find(|t| seq(w, &[t, "login"]) || seq(w, &[t, "auth", "login"]))
                .or_else(|| seq(w, &["helm", "registry", "login"]).then_some("helm registry"))?;
            let server = login_server(w);
            // the username is a credential only for ECR (`-u AWS` aside, an access key id)
            let keep_user = classify_registry(&server).0 == Provider::Aws;
            let mut secret_words = Vec::new();
            let mut skip = false;
            for x in w {
                if skip {
                    skip = false;
                    continue;
                }
                if !keep_user && (x == "-u" || x == "--username") {
                    skip = true;
                    continue;
                }
                if !keep_user && x.starts_with("--username=") {
                    continue;
                }
                secret_words.push(x.clone());
            }
            let label = format!(
                "{tool} login {}",
                if server.is_empty() {
                    "docker.io"
                } else {
                    &server
                }
            );
            Some(
                CmdMatch::new(label)
                    .secret(Some(secret_words.join(" ")))
                    .detail(Some(server)),
            )
        }) {
            let scope = h.job.map(|j| ctx.scope(j, h.step)).unwrap_or_default();
            let host = ctx.expand_literal(&scope, m.detail.as_deref().unwrap_or(""));
            emit(&h, &host);
        }
        out
    }
}
