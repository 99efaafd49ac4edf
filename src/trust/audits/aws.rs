//! AWS IAM role trust policies for a CI system's OIDC provider: GitHub Actions', or a GitLab
//! instance's (`id_tokens`).

use super::{
    has_wildcard, is_github_issuer, is_gitlab_issuer, subject_scope, SubjectScope, TrustAudit,
};
use crate::trust::model::{AwsCondition, AwsPolicy, AwsStatement, Inventory};
use crate::trust::{Severity, TrustFinding, GITHUB_ISSUER_HOST};

/// An `Allow` statement that lets a CI job's token assume the role.
struct CiStatement<'a> {
    policy: &'a AwsPolicy,
    st: &'a AwsStatement,
    /// The issuer as AWS spells it in condition keys (`token.actions.githubusercontent.com`,
    /// `gitlab.com`).
    issuer: String,
}

impl CiStatement<'_> {
    fn gitlab(&self) -> bool {
        is_gitlab_issuer(&self.issuer)
    }

    /// What one trusted subject stands for: a workflow in a repository, a job in a project.
    fn runs(&self) -> (&'static str, &'static str) {
        if self.gitlab() {
            ("a job", "project")
        } else {
            ("a workflow", "repository")
        }
    }

    fn key(&self, claim: &str) -> String {
        format!("{}:{claim}", self.issuer)
    }

    /// Conditions on `ISSUER:claim` (keys are case-insensitive in IAM). A Terraform key built
    /// from an expression (`"${local.github_host}:sub"`) counts as the claim's key: its prefix
    /// cannot be read, and reporting the claim as missing would be a false alarm.
    fn on<'b>(&'b self, claim: &str) -> impl Iterator<Item = &'b AwsCondition> {
        let key = self.key(claim);
        let suffix = format!(":{claim}");
        self.st.conditions.iter().filter(move |c| {
            let k = &c.key.value;
            k.eq_ignore_ascii_case(&key) || (is_templated(k) && k.ends_with(&suffix))
        })
    }

    fn resource(&self) -> String {
        format!("{} {}", self.policy.resource, self.st.name)
    }
}

fn is_templated(v: &str) -> bool {
    v.contains("${")
}

/// Whether an action pattern covers `sts:AssumeRoleWithWebIdentity` as IAM matches actions:
/// case-insensitively, `*` and `?` as wildcards (`sts:AssumeRole*`, `sts:*`, `*`).
fn is_web_identity(st: &AwsStatement) -> bool {
    st.actions
        .iter()
        .any(|a| action_matches(&a.value, "sts:assumerolewithwebidentity"))
}

fn action_matches(pattern: &str, action: &str) -> bool {
    let re = regex::escape(&pattern.to_ascii_lowercase())
        .replace(r"\*", ".*")
        .replace(r"\?", ".");
    regex::Regex::new(&format!("^{re}$")).is_ok_and(|r| r.is_match(action))
}

/// A condition key naming `claim` misspelled (`...:subject`, a scheme, a trailing slash):
/// the condition fails closed, and `aws-trust-condition-key` reports it on its own.
fn misspelled(g: &CiStatement, claim: &str) -> bool {
    g.st.conditions
        .iter()
        .any(|c| condition_key_error(g, &c.key.value).as_deref() == Some(claim))
}

/// The claim a GitHub condition key meant, when it is not spelled as AWS sets it.
fn condition_key_error(g: &CiStatement, key: &str) -> Option<String> {
    if g.gitlab() || is_templated(key) {
        return None;
    }
    let lower = key.to_ascii_lowercase();
    let (prefix, claim) = lower.rsplit_once(':').unwrap_or((lower.as_str(), ""));
    let github_like = lower.contains("githubusercontent")
        || lower.contains("_services/token")
        || lower.contains("github");
    if !github_like {
        return None;
    }
    let expected_claim = match claim {
        "sub" | "aud" | "amr" => claim,
        "subject" | "sub " | "subs" => "sub",
        "audience" | "aud " | "auds" => "aud",
        _ => return None, // other claims: not ours to judge
    };
    if prefix == g.issuer.to_ascii_lowercase() && claim == expected_claim {
        return None;
    }
    Some(expected_claim.to_string())
}

/// The prefix of a condition key (`token.actions.githubusercontent.com` in
/// `token.actions.githubusercontent.com:sub`).
fn key_prefix(key: &str) -> &str {
    key.rsplit_once(':').map_or(key, |(p, _)| p)
}

fn is_ci_issuer(i: &str) -> bool {
    is_github_issuer(i) || is_gitlab_issuer(i)
}

fn ci_statements(inv: &Inventory) -> Vec<CiStatement<'_>> {
    let mut out = Vec::new();
    for policy in &inv.aws {
        for st in &policy.statements {
            if !st.allow || !is_web_identity(st) {
                continue;
            }
            let from_keys = || {
                st.conditions
                    .iter()
                    .map(|c| key_prefix(&c.key.value))
                    .find(|p| is_ci_issuer(p))
                    .map(str::to_string)
            };
            let issuer = match &st.issuer {
                Some(i) if is_ci_issuer(i) => i.clone(),
                Some(_) => continue,
                None => match from_keys() {
                    Some(i) => i,
                    // A reference we could not resolve, and no condition naming GitHub: only
                    // when the principal text itself names GitHub's issuer.
                    None if st
                        .federated
                        .iter()
                        .any(|f| f.value.contains(GITHUB_ISSUER_HOST)) =>
                    {
                        GITHUB_ISSUER_HOST.to_string()
                    }
                    None => continue,
                },
            };
            out.push(CiStatement {
                policy,
                st,
                issuer: issuer.trim_start_matches("https://").to_string(),
            });
        }
    }
    out
}

/// Whether the same policy holds a web-identity `Deny` that applies unless `sub` matches
/// (`StringNotLike`/`StringNotEquals` on the key): the allow-then-deny way of restricting.
fn denied_unless_sub(g: &CiStatement) -> bool {
    let key = g.key("sub");
    g.policy.statements.iter().any(|st| {
        !st.allow
            && is_web_identity(st)
            && st.conditions.iter().any(|c| {
                let base = c.base_operator().to_ascii_lowercase();
                c.key.value.eq_ignore_ascii_case(&key)
                    && (base == "stringnotlike" || base == "stringnotequals")
            })
    })
}

fn is_for_all_values(c: &AwsCondition) -> bool {
    c.operator
        .value
        .to_ascii_lowercase()
        .starts_with("forallvalues:")
}

pub struct AwsTrustNoSub;

impl TrustAudit for AwsTrustNoSub {
    fn id(&self) -> &'static str {
        "aws-trust-no-sub"
    }
    fn title(&self) -> &'static str {
        "AWS role trusts a CI OIDC issuer (GitHub, GitLab) without a sub condition"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Add `StringEquals` (or `StringLike` for a branch pattern) on `token.actions.githubusercontent.com:sub` with the exact `repo:OWNER/REPO:ref:refs/heads/BRANCH` or `repo:OWNER/REPO:environment:ENV` the workflow runs as (GitLab: on `gitlab.com:sub` with `project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH`)."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            let subs: Vec<&AwsCondition> = g.on("sub").collect();
            if subs.iter().any(|c| c.restricts() || is_for_all_values(c)) {
                continue; // restricted, or reported by aws-trust-forallvalues-allow
            }
            if denied_unless_sub(&g) {
                continue; // a Deny with StringNotLike/StringNotEquals on sub does the restricting
            }
            if misspelled(&g, "sub") {
                continue; // fails closed: aws-trust-condition-key says why
            }
            let why = if subs.is_empty() {
                format!("no condition on `{}`", g.key("sub"))
            } else {
                format!(
                    "the only conditions on `{}` ({}) exclude some subjects and admit the rest",
                    g.key("sub"),
                    subs.iter()
                        .map(|c| c.operator.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push(self.finding(
                &g.resource(),
                &g.st.loc,
                format!(
                    "{} lets {} in any {} that `{}` issues tokens for assume this role: {why}",
                    g.st.name,
                    g.runs().0,
                    g.runs().1,
                    g.issuer
                ),
            ));
        }
        out
    }
}

pub struct AwsTrustWildcardSub;

impl TrustAudit for AwsTrustWildcardSub {
    fn id(&self) -> &'static str {
        "aws-trust-wildcard-sub"
    }
    fn title(&self) -> &'static str {
        "AWS role trusts a sub pattern wider than one repository"
    }
    fn severity(&self) -> Severity {
        Severity::High
    }
    fn fix(&self) -> &'static str {
        "Replace the pattern with the exact subjects of the repositories that need the role (`repo:OWNER/REPO:ref:refs/heads/main`; GitLab: `project_path:GROUP/PROJECT:ref_type:branch:ref:main`), one value per repository; use `StringEquals` where no wildcard is needed."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            for c in g.on("sub").filter(|c| c.is_like()) {
                for v in &c.values {
                    let (severity, what) = match subject_scope(&v.value) {
                        SubjectScope::Anyone if g.gitlab() => {
                            (Severity::Critical, format!("any project on `{}`", g.issuer))
                        }
                        SubjectScope::Anyone => (
                            Severity::Critical,
                            "any repository of any owner on GitHub".to_string(),
                        ),
                        SubjectScope::Owner(owner) => (
                            Severity::High,
                            format!(
                                "every matching {} of `{owner}`, including ones created later",
                                g.runs().1
                            ),
                        ),
                        SubjectScope::Custom if leading_claim_forgeable(&v.value).is_some() => {
                            continue; // aws-trust-sub-template-order
                        }
                        SubjectScope::Custom => (
                            Severity::High,
                            "a wildcard subject in a customised format that keysweep cannot bound"
                                .to_string(),
                        ),
                        SubjectScope::Repository | SubjectScope::AnyContext => continue,
                    };
                    let mut f = self.finding(
                        &g.resource(),
                        &v.loc,
                        format!(
                            "`{}` on `{}` with `{}` admits {what}",
                            c.operator.value, c.key.value, v.value
                        ),
                    );
                    f.severity = severity;
                    out.push(f);
                }
            }
        }
        out
    }
}

pub struct AwsTrustSubAnyRef;

impl TrustAudit for AwsTrustSubAnyRef {
    fn id(&self) -> &'static str {
        "aws-trust-sub-any-ref"
    }
    fn title(&self) -> &'static str {
        "AWS role trusts every branch, tag and environment of a repository"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Pin the context: `repo:OWNER/REPO:ref:refs/heads/main` for the default branch, or `repo:OWNER/REPO:environment:ENV` with a protected environment (GitLab: `project_path:GROUP/PROJECT:ref_type:branch:ref:main`, a protected branch), so an unreviewed branch cannot assume the role."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            for c in g.on("sub").filter(|c| c.is_like()) {
                for v in &c.values {
                    if subject_scope(&v.value) == SubjectScope::AnyContext {
                        out.push(self.finding(
                            &g.resource(),
                            &v.loc,
                            format!(
                                "`{}` admits any {} of the {}: anyone who can push a branch can assume this role",
                                v.value,
                                if g.gitlab() { "branch or tag" } else { "branch, tag or environment" },
                                g.runs().1
                            ),
                        ));
                    }
                }
            }
        }
        out
    }
}

pub struct AwsTrustForAllValuesAllow;

impl TrustAudit for AwsTrustForAllValuesAllow {
    fn id(&self) -> &'static str {
        "aws-trust-forallvalues-allow"
    }
    fn title(&self) -> &'static str {
        "AWS role trust uses ForAllValues: on a CI token claim in an Allow"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Drop the `ForAllValues:` prefix: `sub` and `aud` are single-valued, so use plain `StringEquals`/`StringLike`."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            for c in &g.st.conditions {
                if is_for_all_values(c) && is_ci_issuer(key_prefix(&c.key.value)) {
                    out.push(self.finding(
                        &g.resource(),
                        &c.operator.loc,
                        format!(
                            "`{}` on `{}` in an Allow is true when the request carries no value for the key (the empty set), so it does not restrict who assumes the role",
                            c.operator.value, c.key.value
                        ),
                    ));
                }
            }
        }
        out
    }
}

pub struct AwsTrustAudMissing;

impl TrustAudit for AwsTrustAudMissing {
    fn id(&self) -> &'static str {
        "aws-trust-aud-missing"
    }
    fn title(&self) -> &'static str {
        "AWS role trust does not pin the token audience"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Add `StringEquals` on `token.actions.githubusercontent.com:aud` = `sts.amazonaws.com` (the audience aws-actions/configure-aws-credentials requests; GitLab: `gitlab.com:aud` = the `aud` of the job's `id_tokens`)."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv) {
            let auds: Vec<&AwsCondition> = g
                .on("aud")
                .filter(|c| c.restricts() && !is_for_all_values(c))
                .collect();
            let pinned = auds.iter().any(|c| {
                !c.values.is_empty()
                    && c.values
                        .iter()
                        .all(|v| !c.is_like() || !has_wildcard(&v.value))
            });
            // The OIDC provider's `client_id_list` is an audience pin IAM applies to every
            // role trusting it.
            let provider_pins = !g.st.provider_audiences.is_empty()
                && g.st.provider_audiences.iter().all(|a| !has_wildcard(a));
            if pinned || provider_pins || misspelled(&g, "aud") {
                continue;
            }
            let why = if auds.is_empty() {
                format!("no condition on `{}`", g.key("aud"))
            } else {
                format!("the condition on `{}` is a wildcard", g.key("aud"))
            };
            out.push(self.finding(
                &g.resource(),
                &g.st.loc,
                format!(
                    "{} accepts a {} token minted for any audience ({why}): a token {} sends to another service can be replayed here",
                    g.st.name,
                    if g.gitlab() { "GitLab CI" } else { "GitHub" },
                    g.runs().0
                ),
            ));
        }
        out
    }
}

pub struct AwsTrustConditionKey;

impl TrustAudit for AwsTrustConditionKey {
    fn id(&self) -> &'static str {
        "aws-trust-condition-key"
    }
    fn title(&self) -> &'static str {
        "AWS role trust conditions a key the GitHub provider never sets"
    }
    fn severity(&self) -> Severity {
        Severity::Medium
    }
    fn fix(&self) -> &'static str {
        "Spell the key as the issuer of the federated principal plus the claim, without a scheme or trailing slash: `token.actions.githubusercontent.com:sub` (GHE.com: `token.actions.githubusercontent.com/ENTERPRISE:sub`)."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv).into_iter().filter(|g| !g.gitlab()) {
            for c in &g.st.conditions {
                let key = c.key.value.as_str();
                let Some(claim) = condition_key_error(&g, key) else {
                    continue;
                };
                let expected = format!("{}:{claim}", g.issuer);
                out.push(self.finding(
                    &g.resource(),
                    &c.key.loc,
                    format!(
                        "`{key}` is not a key AWS sets for tokens from `{}` (expected `{expected}`): this condition never checks what it was meant to",
                        g.issuer
                    ),
                ));
            }
        }
        out
    }
}

/// Claims any repository can set to any value: a workflow's name, the actor, a branch, an
/// environment name, the event. As the first claim of a customised subject, a pattern that
/// follows them with a wildcard admits every repository that uses the same template.
const FORGEABLE_CLAIMS: &[&str] = &[
    "workflow",
    "actor",
    "ref",
    "environment",
    "event_name",
    "head_ref",
    "base_ref",
    "context",
    "ref_type",
];

/// The forgeable claim a custom subject starts with, when the wildcard comes before any
/// repository pin (`workflow:deploy:*`, `actor:*:repo:acme/app`).
fn leading_claim_forgeable(v: &str) -> Option<&str> {
    let (first, rest) = v.split_once(':')?;
    if !FORGEABLE_CLAIMS.contains(&first) || !has_wildcard(v) {
        return None;
    }
    let before_wildcard = &rest[..rest.find(['*', '?']).unwrap_or(rest.len())];
    let pinned = ["repo:", "repository:", "repository_id:"]
        .iter()
        .any(|k| before_wildcard.contains(k));
    (!pinned).then_some(first)
}

pub struct AwsTrustSubTemplateOrder;

impl TrustAudit for AwsTrustSubTemplateOrder {
    fn id(&self) -> &'static str {
        "aws-trust-sub-template-order"
    }
    fn title(&self) -> &'static str {
        "AWS role trusts a custom subject whose leading claim any repository controls"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn fix(&self) -> &'static str {
        "Put `repo` (or `repository_owner_id`/`repository_id`) first in the subject template (`include_claim_keys`) and pin it literally: `repo:OWNER/REPO:workflow:deploy`; or use `StringEquals` with the exact subject."
    }
    fn audit(&self, inv: &Inventory) -> Vec<TrustFinding> {
        let mut out = Vec::new();
        for g in ci_statements(inv).into_iter().filter(|g| !g.gitlab()) {
            for c in g.on("sub").filter(|c| c.is_like()) {
                for v in &c.values {
                    let Some(claim) = leading_claim_forgeable(&v.value) else {
                        continue;
                    };
                    out.push(self.finding(
                        &g.resource(),
                        &v.loc,
                        format!(
                            "`{}` starts with `{claim}`, which any repository sets as it likes, and the wildcard comes before a repository pin: every repository of any owner with the same subject template can assume this role",
                            v.value
                        ),
                    ));
                }
            }
        }
        out
    }
}
