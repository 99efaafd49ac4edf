//! GitLab CI: static AWS keys in a job's (or template's) `variables:` -> `id_tokens:` and the
//! AWS SDKs' own web-identity login (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`).
//!
//! Only AWS so far; GCP, Azure and PyPI on GitLab are reported as left untouched.

use regex::Regex;
use yaml_serde::Value;

use super::aws::{trust_policy_for, AUDIENCE};
use super::facts::Lookup;
use super::rewrite::{k, map, s, EditOp, Seg};
use super::targets::{hcl_str, replace_key, sh, Target};
use super::trust::header;
use super::{
    rewrite_route, Site, SiteKind, TrustArtifact, TrustInput, Unmigratable, Use, UsePlan, Workflow,
};
use crate::pipeline::{CiSystem, PipelineFinding};

pub struct GitlabAws;

const TOKEN_VAR: &str = "AWS_ID_TOKEN";
const TOKEN_FILE: &str = "/tmp/aws-web-identity-token-$CI_JOB_ID";
const WRITE_TOKEN: &str = "echo \"$AWS_ID_TOKEN\" > \"$AWS_WEB_IDENTITY_TOKEN_FILE\"";

/// The node a GitLab finding's reference is written in (any top-level job or template).
pub fn locate(wf: &Workflow, f: &PipelineFinding) -> Option<Site> {
    let doc = yamlpath::Document::new(wf.text.clone()).ok()?;
    let line_of = |b: usize| wf.text[..b.min(wf.text.len())].matches('\n').count() + 1;
    let line = f.location.line;
    let mut best: Option<(Site, usize)> = None;
    let top = wf.value.as_mapping()?;
    for (name, body) in top {
        let Some(name) = name.as_str() else { continue };
        let mut cands: Vec<(SiteKind, Vec<Seg>, String)> = Vec::new();
        if name == "variables" {
            for key in body.as_mapping().into_iter().flat_map(|m| m.keys()) {
                if let Some(key) = key.as_str() {
                    cands.push((
                        SiteKind::WorkflowEnv,
                        vec![k("variables"), k(key)],
                        key.to_string(),
                    ));
                }
            }
        } else if body.is_mapping() {
            if let Some(vars) = body.get("variables").and_then(Value::as_mapping) {
                for key in vars.keys().filter_map(Value::as_str) {
                    cands.push((
                        SiteKind::JobEnv,
                        vec![k(name), k("variables"), k(key)],
                        key.to_string(),
                    ));
                }
            }
            for sect in ["before_script", "script", "after_script"] {
                if body.get(sect).is_some() {
                    cands.push((SiteKind::Run, vec![k(name), k(sect)], sect.to_string()));
                }
            }
        }
        for (kind, path, key) in cands {
            let Ok(feat) = doc.query_pretty(&rewrite_route(&path)) else {
                continue;
            };
            let (a, b) = (
                line_of(feat.location.byte_span.0),
                line_of(feat.location.byte_span.1.saturating_sub(1)),
            );
            if a <= line && line <= b && best.as_ref().is_none_or(|(_, w)| b - a < *w) {
                best = Some((
                    Site {
                        kind,
                        job: Some(name.to_string()),
                        step: None,
                        key,
                        path,
                    },
                    b - a,
                ));
            }
        }
    }
    best.map(|(s, _)| s)
}

/// Fails when the rewritten text still reads one of `vars` (`$NAME`, `${NAME}`).
pub fn leftover(after: &str, vars: &[String]) -> Result<String, String> {
    for v in vars {
        let re = Regex::new(&format!(r"\$\{{?{}\b", regex::escape(v))).expect("escaped");
        if let Some(m) = re.find(after) {
            let line = after[..m.start()].matches('\n').count() + 1;
            return Err(format!(
                "CI/CD variable `{v}` is also read elsewhere in this file (line {line}), a use keysweep cannot follow"
            ));
        }
    }
    Ok(after.to_string())
}

/// The refs a GitLab job runs on, from `rules: - if:` and `only:`; `Err` with why when the
/// job can run on refs that are not one fixed branch.
fn job_refs(job: &Value, default_branch: Option<&str>) -> Result<Vec<String>, String> {
    let branch_eq =
        Regex::new(r#"^\$CI_COMMIT_BRANCH\s*==\s*(?:"([^"]+)"|'([^']+)'|\$CI_DEFAULT_BRANCH)$"#)
            .expect("static regex");
    let mut out = Vec::new();
    if let Some(rules) = job.get("rules").and_then(Value::as_sequence) {
        for r in rules {
            if r.get("when").and_then(Value::as_str) == Some("never") {
                continue;
            }
            let Some(cond) = r.get("if").and_then(Value::as_str) else {
                return Err("a rule without `if:` (runs on any ref)".into());
            };
            let Some(c) = branch_eq.captures(cond.trim()) else {
                return Err(format!("rule `if: {cond}` (not one fixed branch)"));
            };
            let b = c.get(1).or(c.get(2)).map(|m| m.as_str().to_string());
            match b.or_else(|| default_branch.map(str::to_string)) {
                Some(b) => out.push(b),
                None => return Err(format!("rule `if: {cond}`: pass --default-branch")),
            }
        }
        return if out.is_empty() {
            Err("no rule lets the job run".into())
        } else {
            Ok(out)
        };
    }
    if let Some(only) = job.get("only") {
        let refs = match only {
            Value::Sequence(s) => s.clone(),
            Value::Mapping(_) => only
                .get("refs")
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for r in refs {
            match r.as_str() {
                Some(b)
                    if !b.starts_with('/')
                        && !matches!(
                            b,
                            "branches"
                                | "tags"
                                | "merge_requests"
                                | "api"
                                | "external"
                                | "pipelines"
                                | "pushes"
                                | "schedules"
                                | "triggers"
                                | "web"
                        ) =>
                {
                    out.push(b.to_string())
                }
                _ => return Err(format!("`only: {r:?}` (not one fixed branch)")),
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
    }
    Err("no `rules:`/`only:` (runs on any branch or tag)".into())
}

/// The job named `name` in the pipeline's root file or in the file the binding is in.
fn find_job(u: &Use, name: &str) -> Option<Value> {
    if let Some(j) = u.wf.value.get(name) {
        return Some(j.clone());
    }
    // the pipeline's root file is `.gitlab-ci.yml` at the repository root
    {
        let c = u.root.join(".gitlab-ci.yml");
        let v: Value = yaml_serde::from_str(&std::fs::read_to_string(c).ok()?).ok()?;
        if let Some(j) = v.get(name) {
            return Some(j.clone());
        }
        // local includes
        let incs: Vec<String> = match v.get("include") {
            Some(Value::Sequence(s)) => s
                .iter()
                .filter_map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .or_else(|| i.get("local").and_then(Value::as_str).map(str::to_string))
                })
                .collect(),
            _ => Vec::new(),
        };
        for inc in incs {
            let p = u.root.join(inc.trim_start_matches('/'));
            if let Some(j) = std::fs::read_to_string(p)
                .ok()
                .and_then(|t| yaml_serde::from_str::<Value>(&t).ok())
                .and_then(|v| v.get(name).cloned())
            {
                return Some(j);
            }
        }
    }
    None
}

impl Target for GitlabAws {
    fn id(&self) -> &'static str {
        "gitlab-aws"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == "aws-static-keys" && f.ci == CiSystem::GitlabCi
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        for (f, s) in u.findings.iter().zip(&u.sites) {
            if s.kind != SiteKind::JobEnv {
                return Err(Unmigratable::new(format!(
                    "`{}`: {}; keysweep rewrites AWS keys bound in a job's or template's `variables:` only",
                    f.secret,
                    match s.kind {
                        SiteKind::Run => "a script line reads it (`aws configure set`)",
                        SiteKind::WorkflowEnv => "it is bound in the global `variables:`",
                        _ => "it is bound elsewhere",
                    }
                )));
            }
        }
        let mut p = UsePlan::default();
        let mut containers: Vec<String> = u.sites.iter().filter_map(|s| s.job.clone()).collect();
        containers.sort();
        containers.dedup();
        let arn = super::aws::role_arn(look);
        for c in &containers {
            let body =
                u.wf.value
                    .get(c.as_str())
                    .ok_or_else(|| Unmigratable::new("job not found"))?;
            if body.get("id_tokens").is_some() {
                return Err(Unmigratable::new(format!(
                    "`{c}` has `id_tokens:` already; finish that migration by hand"
                )));
            }
            let sites: Vec<&Site> = u
                .sites
                .iter()
                .filter(|s| s.job.as_deref() == Some(c))
                .collect();
            let first = sites
                .iter()
                .find(|s| s.key == "AWS_ACCESS_KEY_ID")
                .or(sites.first())
                .copied()
                .ok_or_else(|| Unmigratable::new("no binding"))?;
            for op in replace_key(
                &first.path,
                vec![
                    ("AWS_ROLE_ARN".into(), s(arn.clone())),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE".into(), s(TOKEN_FILE)),
                ],
            ) {
                let d = match &op {
                    EditOp::Remove { .. } => format!("`{c}`: remove `{}`", first.key),
                    EditOp::AddBefore { key, .. } => {
                        format!("`{c}`: `{key}` for the AWS SDKs' web-identity login")
                    }
                    _ => String::new(),
                };
                p.edits.push((d, op));
            }
            for s2 in sites.iter().filter(|s2| s2.key != first.key) {
                p.edits.push((
                    format!("`{c}`: remove `{}`", s2.key),
                    EditOp::Remove {
                        path: s2.path.clone(),
                    },
                ));
            }
            let cp = vec![k(c)];
            let id_tokens = map([(TOKEN_VAR, map([("aud", s(AUDIENCE))]))]);
            let anchor_key = ["before_script", "script"]
                .into_iter()
                .find(|k2| body.get(*k2).is_some());
            p.edits.push((
                format!("`{c}`: an OIDC token for AWS (`id_tokens: {TOKEN_VAR}`, aud {AUDIENCE})"),
                match anchor_key {
                    Some(b) => EditOp::AddBefore {
                        path: cp.clone(),
                        before: b.into(),
                        key: "id_tokens".into(),
                        value: id_tokens,
                    },
                    None => EditOp::Add {
                        path: cp.clone(),
                        key: "id_tokens".into(),
                        value: id_tokens,
                    },
                },
            ));
            // the token must be in the file before anything reads AWS credentials
            match body.get("before_script") {
                Some(Value::Sequence(_)) => {
                    let mut bp = cp.clone();
                    bp.push(k("before_script"));
                    p.edits.push((
                        format!("`{c}`: write the token to AWS_WEB_IDENTITY_TOKEN_FILE first"),
                        EditOp::InsertItem {
                            path: bp,
                            index: 0,
                            value: s(WRITE_TOKEN),
                        },
                    ));
                }
                Some(_) => {
                    return Err(Unmigratable::new(format!(
                        "`{c}` has a `before_script:` that is not a list"
                    )))
                }
                None => {
                    // a job that extends this template and has its own before_script replaces it
                    for f in &u.findings {
                        if let Some(j) = f.job.as_deref().filter(|j| j != c) {
                            if find_job(u, j).is_some_and(|jv| jv.get("before_script").is_some()) {
                                return Err(Unmigratable::new(format!(
                                    "job `{j}` has its own `before_script:`, which replaces `{c}`'s; add the token line there by hand"
                                )));
                            }
                        }
                    }
                    let value = Value::Sequence(vec![s(WRITE_TOKEN)]);
                    p.edits.push((
                        format!("`{c}`: write the token to AWS_WEB_IDENTITY_TOKEN_FILE first"),
                        match body.get("script") {
                            Some(_) => EditOp::AddBefore {
                                path: cp.clone(),
                                before: "script".into(),
                                key: "before_script".into(),
                                value,
                            },
                            None => EditOp::Add {
                                path: cp.clone(),
                                key: "before_script".into(),
                                value,
                            },
                        },
                    ));
                }
            }
        }
        // subjects: project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH
        let project = look.get("gitlab_project");
        let default_branch = look.facts.and_then(|f| f.default_branch.clone());
        let pattern = look.facts.and_then(|f| f.subject_pattern.clone());
        let mut subjects: Vec<String> = Vec::new();
        let mut is_pattern = false;
        for j in &u.jobs {
            let refs = find_job(u, j)
                .ok_or_else(|| "the job's definition was not found".to_string())
                .and_then(|jv| job_refs(&jv, default_branch.as_deref()));
            match refs {
                Ok(bs) => {
                    for b in bs {
                        let sub = format!("project_path:{project}:ref_type:branch:ref:{b}");
                        if !subjects.contains(&sub) {
                            subjects.push(sub);
                        }
                    }
                }
                Err(why) => match &pattern {
                    Some(pt) => {
                        is_pattern = true;
                        if !subjects.contains(pt) {
                            subjects.push(pt.clone());
                        }
                        p.notes.push(format!(
                            "job `{j}`: {why}: trusted through --subject-pattern"
                        ));
                    }
                    None => {
                        subjects.push(look.get("subject_pattern"));
                        p.notes.push(format!(
                            "job `{j}`: {why}: no fixed subject; pass --subject-pattern (e.g. `project_path:{project}:ref_type:branch:ref:main`) or restrict the job with `rules:`"
                        ));
                    }
                },
            }
        }
        p.subjects = Some((subjects, is_pattern));
        p.notes.push(
            "the AWS CLI and SDKs (Terraform too) exchange the token themselves through AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE".into(),
        );
        p.manual.push(format!(
            "Give role `{}` the permissions the old IAM user had, least privilege first; then remove the CI/CD variables from the project settings.",
            look.get("aws_role_name")
        ));
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let url = look.get("gitlab_url");
        let host = url
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        let account = look.get("aws_account_id");
        let role = look.get("aws_role_name");
        let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{host}");
        let native = trust_policy_for(&host, &provider_arn, &t.subjects, t.pattern);
        let marker = "__KEYSWEEP_PROVIDER_ARN__";
        let tf_policy =
            serde_json::to_string_pretty(&trust_policy_for(&host, marker, &t.subjects, t.pattern))
                .unwrap_or_default()
                .replace(
                    &format!("\"{marker}\""),
                    "aws_iam_openid_connect_provider.gitlab.arn",
                )
                .replace('\n', "\n  ");
        let tf = format!(
            "{}\
# The GitLab instance's OIDC provider: one per AWS account and instance. If it exists, import it:
#   terraform import aws_iam_openid_connect_provider.gitlab {provider_arn}
resource \"aws_iam_openid_connect_provider\" \"gitlab\" {{
  url            = {url_s}
  client_id_list = [{aud}]
}}

# Assumed by GitLab CI jobs through id_tokens; trusted subjects only.
resource \"aws_iam_role\" \"gitlab_ci\" {{
  name                 = {role_s}
  max_session_duration = 3600
  assume_role_policy = jsonencode({tf_policy})
}}
",
            header("#", &t.repo_slug, "aws, GitLab CI"),
            url_s = hcl_str(&url),
            aud = hcl_str(AUDIENCE),
            role_s = hcl_str(&role),
        );
        let cmds = format!(
            "#!/bin/sh\n{}set -eu\ncd \"$(dirname \"$0\")\"\n# Skip the first command if the account has this GitLab instance's OIDC provider already.\naws iam create-open-id-connect-provider --url {} --client-id-list {}\naws iam create-role --role-name {} --max-session-duration 3600 --assume-role-policy-document file://trust-policy.json\n",
            header("#", &t.repo_slug, "aws, GitLab CI"),
            sh(&url),
            sh(AUDIENCE),
            sh(&role),
        );
        vec![
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/main.tf".into(),
                format: "terraform",
                content: tf,
            },
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/trust-policy.json".into(),
                format: "json",
                content: serde_json::to_string_pretty(&native).unwrap_or_default() + "\n",
            },
            TrustArtifact {
                target: "gitlab-aws",
                file: "aws-gitlab/commands.sh".into(),
                format: "shell",
                content: cmds,
            },
        ]
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green OIDC pipeline: delete the CI/CD variable `{secret}`; deactivate the IAM user's access key, watch for failures, then delete it"
        )
    }
}

/// GitLab CI: a PyPI token for `twine upload` -> `id_tokens` (aud `pypi`) exchanged for a
/// short-lived upload token right before the upload.
pub struct GitlabPypi;

const PYPI_TOKEN_VAR: &str = "PYPI_ID_TOKEN";
/// Mints a short-lived upload token from the job's OIDC token (PyPI's documented exchange).
const MINT: &str = "export TWINE_PASSWORD=\"$(python3 -c 'import json, os, urllib.request; req = urllib.request.Request(\"https://pypi.org/_/oidc/mint-token\", data=json.dumps({\"token\": os.environ[\"PYPI_ID_TOKEN\"]}).encode(), headers={\"Content-Type\": \"application/json\"}); print(json.load(urllib.request.urlopen(req))[\"token\"])')\"";

impl Target for GitlabPypi {
    fn id(&self) -> &'static str {
        "gitlab-pypi"
    }
    fn handles(&self, f: &PipelineFinding) -> bool {
        f.audit == "pypi-token" && f.ci == CiSystem::GitlabCi
    }
    fn needs_subject(&self) -> bool {
        false
    }
    fn plan(&self, u: &Use, look: &mut Lookup) -> Result<UsePlan, Unmigratable> {
        let mut p = UsePlan::default();
        for (f, site) in u.findings.iter().zip(&u.sites) {
            let cmd = f.consumer.command.as_deref().unwrap_or("");
            if site.kind != SiteKind::JobEnv
                || site.key != "TWINE_PASSWORD"
                || cmd != "twine upload"
            {
                return Err(Unmigratable::new(format!(
                    "`{}`: keysweep rewrites `TWINE_PASSWORD` in a job's `variables:` read by `twine upload` only",
                    f.secret
                )));
            }
            let c = site.job.clone().unwrap_or_default();
            let body =
                u.wf.value
                    .get(c.as_str())
                    .ok_or_else(|| Unmigratable::new("job not found"))?;
            if body.get("id_tokens").is_some() {
                return Err(Unmigratable::new(format!(
                    "`{c}` has `id_tokens:` already; finish that migration by hand"
                )));
            }
            let Some(script) = body.get("script").and_then(Value::as_sequence) else {
                return Err(Unmigratable::new(format!(
                    "`{c}` has no `script:` list here"
                )));
            };
            let Some(at) = script
                .iter()
                .position(|l| l.as_str().is_some_and(|l| l.contains("twine upload")))
            else {
                return Err(Unmigratable::new(format!(
                    "`{c}`'s own `script:` has no `twine upload` line"
                )));
            };
            let vars = body.get("variables").and_then(Value::as_mapping);
            if vars.is_some_and(|v| v.contains_key("TWINE_USERNAME")) {
                p.edits.push((
                    format!("`{c}`: remove `TWINE_PASSWORD`"),
                    EditOp::Remove {
                        path: site.path.clone(),
                    },
                ));
            } else {
                for op in replace_key(&site.path, vec![("TWINE_USERNAME".into(), s("__token__"))]) {
                    p.edits.push((
                        format!("`{c}`: `TWINE_USERNAME: __token__` in place of `TWINE_PASSWORD`"),
                        op,
                    ));
                }
            }
            let cp = vec![k(&c)];
            p.edits.push((
                format!("`{c}`: an OIDC token for PyPI (`id_tokens: {PYPI_TOKEN_VAR}`, aud pypi)"),
                EditOp::AddBefore {
                    path: cp.clone(),
                    before: if body.get("before_script").is_some() {
                        "before_script".into()
                    } else {
                        "script".into()
                    },
                    key: "id_tokens".into(),
                    value: map([(PYPI_TOKEN_VAR, map([("aud", s("pypi"))]))]),
                },
            ));
            let mut sp = cp.clone();
            sp.push(k("script"));
            p.edits.push((
                format!(
                    "`{c}`: exchange it for a short-lived upload token right before `twine upload`"
                ),
                EditOp::InsertItem {
                    path: sp,
                    index: at,
                    value: s(MINT),
                },
            ));
            if let Some(env) = body
                .get("environment")
                .and_then(|e| e.as_str().or_else(|| e.get("name").and_then(Value::as_str)))
            {
                p.trust_info.push(("environment".into(), env.to_string()));
            }
        }
        p.manual.push(format!(
            "Add a GitLab trusted publisher on pypi.org (project → Settings → Publishing → GitLab) for `{}`, top-level pipeline file `.gitlab-ci.yml`, with the values in pypi-gitlab/trusted-publisher.md.",
            look.get("gitlab_project")
        ));
        p.notes.push(
            "the minted token lives 15 minutes and is scoped to the projects this publisher may upload".into(),
        );
        Ok(p)
    }

    fn trust(&self, t: &TrustInput, look: &mut Lookup) -> Vec<TrustArtifact> {
        let project = look.get("gitlab_project");
        let (ns, name) = project.rsplit_once('/').unwrap_or((&project, ""));
        let package = t
            .info("package")
            .first()
            .map_or("<PyPI project name>".to_string(), |s| s.to_string());
        let env = t.info("environment").first().map(|e| e.to_string());
        let md = format!(
            "<!-- Generated by `keysweep rotate` for {project} (pypi, GitLab CI). -->\n# GitLab trusted publisher for {package}\n\nEnter these values at https://pypi.org/manage/project/PROJECT/settings/publishing/ (GitLab tab).\n\n| field | value |\n|---|---|\n| project | `{package}` |\n| namespace | `{ns}` |\n| project name | `{name}` |\n| top-level pipeline file | `.gitlab-ci.yml` |\n| environment | {} |\n",
            env.as_deref()
                .map(|e| format!("`{e}`"))
                .unwrap_or_else(|| "(none; a protected environment is recommended)".into())
        );
        let json = serde_json::json!({
            "provider": "gitlab",
            "project": package,
            "namespace": ns,
            "project_name": name,
            "workflow_filepath": ".gitlab-ci.yml",
            "environment": env,
        });
        vec![
            TrustArtifact {
                target: "gitlab-pypi",
                file: "pypi-gitlab/trusted-publisher.md".into(),
                format: "markdown",
                content: md,
            },
            TrustArtifact {
                target: "gitlab-pypi",
                file: "pypi-gitlab/trusted-publisher.json".into(),
                format: "json",
                content: serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
            },
        ]
    }

    fn retire_action(&self, secret: &str) -> String {
        format!(
            "after a green trusted-publishing release: delete the CI/CD variable `{secret}` and remove the API token on pypi.org"
        )
    }
}
