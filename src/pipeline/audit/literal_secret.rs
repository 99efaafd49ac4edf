//! `literal-secret`: a credential written into the CI file itself. The scanner core finds such
//! values anywhere; this audit attaches the job and step that consume them.

use super::AuditId;

use std::sync::LazyLock;

use regex::Regex;

use super::util::{finding, Hit, Migration};
use super::Audit;
use crate::pipeline::model::{Binding, Resolved, StepKind, WorkflowContext};
use crate::pipeline::secret_ref;
use crate::pipeline::{
    Confidence, Consumer, ConsumerKind, PipelineFinding, Provider, SecretSource,
};

pub struct LiteralSecret;

/// Well-known credential environment variables and the provider they belong to.
const CREDENTIAL_ENV: &[(&str, Provider)] = &[
    ("AWS_SECRET_ACCESS_KEY", Provider::Aws),
    ("AWS_SESSION_TOKEN", Provider::Aws),
    ("GOOGLE_CREDENTIALS", Provider::Gcp),
    ("ARM_CLIENT_SECRET", Provider::Azure),
    ("AZURE_CLIENT_SECRET", Provider::Azure),
    ("TWINE_PASSWORD", Provider::Pypi),
    ("UV_PUBLISH_TOKEN", Provider::Pypi),
    ("POETRY_PYPI_TOKEN_PYPI", Provider::Pypi),
    ("NODE_AUTH_TOKEN", Provider::Npm),
    ("NPM_TOKEN", Provider::Npm),
    ("CARGO_REGISTRY_TOKEN", Provider::CratesIo),
    ("GEM_HOST_API_KEY", Provider::Rubygems),
    ("NUGET_API_KEY", Provider::Nuget),
    ("VAULT_TOKEN", Provider::Vault),
    ("GH_TOKEN", Provider::Github),
    ("GITHUB_TOKEN", Provider::Github),
    ("DOCKER_PASSWORD", Provider::DockerHub),
    ("DOCKERHUB_TOKEN", Provider::DockerHub),
    ("KUBE_TOKEN", Provider::Kubernetes),
];

/// Action inputs that carry a credential.
const CREDENTIAL_INPUTS: &[(&str, &str, Provider)] = &[
    (
        "aws-actions/configure-aws-credentials",
        "aws-secret-access-key",
        Provider::Aws,
    ),
    (
        "google-github-actions/auth",
        "credentials_json",
        Provider::Gcp,
    ),
    ("azure/login", "creds", Provider::Azure),
    ("pypa/gh-action-pypi-publish", "password", Provider::Pypi),
    ("hashicorp/vault-action", "token", Provider::Vault),
    (
        "docker/login-action",
        "password",
        Provider::ContainerRegistry,
    ),
    ("actions/checkout", "token", Provider::Github),
    ("peter-evans/create-pull-request", "token", Provider::Github),
];

/// Token formats that identify their issuer on their own.
static FORMATS: LazyLock<Vec<(Regex, Provider)>> = LazyLock::new(|| {
    [
        (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", Provider::Aws),
        (r"\bghp_[A-Za-z0-9]{36}\b", Provider::Github),
        (r"\bgithub_pat_[A-Za-z0-9_]{60,}", Provider::Github),
        (r"\bnpm_[A-Za-z0-9]{36}\b", Provider::Npm),
        (r"\bpypi-AgE[A-Za-z0-9_-]{50,}", Provider::Pypi),
        (r"\bhvs\.[A-Za-z0-9_-]{24,}", Provider::Vault),
        (r"\bdckr_pat_[A-Za-z0-9_-]{27,}", Provider::DockerHub),
        (r"\brubygems_[a-f0-9]{48}\b", Provider::Rubygems),
        (r"\bcio[A-Za-z0-9]{32}\b", Provider::CratesIo),
        (r"\boy2[a-z0-9]{43}\b", Provider::Nuget),
    ]
    .into_iter()
    .map(|(p, prov)| (Regex::new(p).expect("static regex"), prov))
    .collect()
});

/// AWS's documentation example keys: never real.
const DOC_KEYS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    v.trim().len() < 8
        || v.contains(char::is_whitespace)
        || DOC_KEYS.contains(&v)
        || [
            "xxxx",
            "<",
            "changeme",
            "placeholder",
            "your-",
            "your_",
            "redacted",
            "***",
            "todo",
            "example.com",
        ]
        .iter()
        .any(|p| l.contains(p))
}

fn format_provider(v: &str) -> Option<(Provider, String)> {
    FORMATS.iter().find_map(|(re, p)| {
        re.find(v)
            .filter(|m| !DOC_KEYS.contains(&m.as_str()))
            .map(|m| (*p, m.as_str().to_string()))
    })
}

fn migration(p: Provider) -> Migration {
    let now =
        "revoke it now (it is in the repository history), store the replacement as a CI secret";
    match p {
        Provider::DockerHub
        | Provider::ContainerRegistry
        | Provider::Kubernetes
        | Provider::Codecov
        | Provider::Sigstore
        | Provider::Unknown => Migration::none(now.to_string()),
        _ => Migration::oidc(format!(
            "{now}, then migrate it to OIDC (see the {} audit)",
            p.as_str()
        )),
    }
}

impl Audit for LiteralSecret {
    fn id(&self) -> AuditId {
        AuditId::LiteralSecret
    }
    fn title(&self) -> &'static str {
        "Credential written into a CI file"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut out = Vec::new();
        let mut in_scripts = Vec::new();
        let mut check = |b: &Binding,
                         named: Option<Provider>,
                         job: Option<usize>,
                         step: Option<usize>,
                         consumer: Consumer| {
            if !b.refs.is_empty() || secret_ref::has_any_reference(&b.value) {
                return;
            }
            let (provider, needle, confidence) = match (format_provider(&b.value), named) {
                (Some((p, tok)), _) => (p, tok, Confidence::High),
                (None, Some(p)) if !placeholder(&b.value) => {
                    (p, b.value.clone(), Confidence::Medium)
                }
                _ => return,
            };
            let h = Hit {
                job,
                step,
                resolved: Resolved {
                    name: "<literal>".into(),
                    source: SecretSource::Literal,
                    via_env: consumer.env_var.clone(),
                    loc: b.loc.clone(),
                    needle,
                    anchor: None,
                },
                consumer,
                confidence,
            };
            out.push(finding(
                ctx,
                self.id(),
                self.title(),
                provider,
                &h,
                &migration(provider),
            ));
        };
        let env_consumer = |b: &Binding, step: Option<&str>| Consumer {
            kind: ConsumerKind::EnvVar,
            action: None,
            input: None,
            env_var: Some(b.name.clone()),
            command: None,
            step: step.map(str::to_string),
            description: format!("env `{}`", b.name),
        };
        let named = |b: &Binding| {
            CREDENTIAL_ENV
                .iter()
                .find(|(n, _)| b.name == *n)
                .map(|(_, p)| *p)
        };
        for b in &ctx.env {
            let job = (ctx.jobs.len() == 1).then_some(0);
            check(b, named(b), job, None, env_consumer(b, None));
        }
        for (ji, job) in ctx.jobs.iter().enumerate() {
            for b in &job.env {
                check(b, named(b), Some(ji), None, env_consumer(b, None));
            }
            for step in &job.steps {
                for b in &step.env {
                    check(
                        b,
                        named(b),
                        Some(ji),
                        Some(step.index),
                        env_consumer(b, Some(&step.label)),
                    );
                }
                if let StepKind::Uses { uses, slug, inputs } = &step.kind {
                    for b in inputs {
                        let p = CREDENTIAL_INPUTS
                            .iter()
                            .find(|(a, i, _)| slug == a && b.name.eq_ignore_ascii_case(i))
                            .map(|(_, _, p)| *p);
                        let c = Consumer {
                            kind: ConsumerKind::ActionInput,
                            action: Some(uses.clone()),
                            input: Some(b.name.clone()),
                            env_var: None,
                            command: None,
                            step: Some(step.label.clone()),
                            description: format!("{uses} input `{}`", b.name),
                        };
                        check(b, p, Some(ji), Some(step.index), c);
                    }
                }
                // token formats inside scripts
                for part in step.script_parts() {
                    for (re, p) in FORMATS.iter() {
                        for m in re.find_iter(&part.text) {
                            if DOC_KEYS.contains(&m.as_str()) {
                                continue;
                            }
                            let h = Hit {
                                job: Some(ji),
                                step: Some(step.index),
                                resolved: Resolved {
                                    name: "<literal>".into(),
                                    source: SecretSource::Literal,
                                    via_env: None,
                                    loc: part.loc.clone(),
                                    needle: m.as_str().to_string(),
                                    anchor: None,
                                },
                                consumer: Consumer {
                                    kind: ConsumerKind::Command,
                                    action: None,
                                    input: None,
                                    env_var: None,
                                    command: None,
                                    step: Some(step.label.clone()),
                                    description: format!("a script (step `{}`)", step.label),
                                },
                                confidence: Confidence::High,
                            };
                            in_scripts.push(finding(
                                ctx,
                                self.id(),
                                self.title(),
                                *p,
                                &h,
                                &migration(*p),
                            ));
                        }
                    }
                }
            }
        }
        out.extend(in_scripts);
        out
    }
}
