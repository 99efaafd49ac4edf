//! Extracting references to secrets from CI values.
//!
//! GitHub Actions: `secrets.NAME` / `secrets['NAME']` anywhere inside a `${{ }}` expression
//! (so also inside `format()`, `||`, `fromJSON()`), `inputs.NAME` (composite actions receive
//! secrets as inputs), `env.NAME` (resolved later against the `env:` in scope). The job's own
//! token (`secrets.GITHUB_TOKEN`, `github.token`) is short-lived and never reported.
//!
//! GitLab CI and shell scripts: `$NAME`, `${NAME}` (and `$env:NAME` for PowerShell), resolved
//! later against `variables:`/`env:` in scope.

use std::sync::LazyLock;

use regex::Regex;

/// What a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `secrets.NAME`
    Secret,
    /// `secrets.GITHUB_TOKEN` or `github.token`: the job's short-lived token.
    JobToken,
    /// `inputs.NAME`
    Input,
    /// `env.NAME` in an expression, or `$NAME` in a script: an environment variable.
    Env,
    /// `steps.ID.outputs.NAME` (`name` is `ID/NAME`): what an earlier step produced.
    StepOutput,
}

/// One reference as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    pub kind: RefKind,
    pub name: String,
    /// The text as written (`secrets.AWS_KEY`, `secrets['AWS_KEY']`, `$AWS_KEY`), used to point
    /// the finding's location at it.
    pub text: String,
}

static EXPR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\$\{\{(.*?)\}\}").expect("static regex"));
static CONTEXT_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[^.\w])((secrets|inputs|env)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])|github\.token\b)"#,
    )
    .expect("static regex")
});
static STEP_OUTPUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[^.\w])(steps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*))",
    )
    .expect("static regex")
});
static SHELL_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\$\$)|(\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\})|(\$(?i:env):([A-Za-z_][A-Za-z0-9_]*))|(\$([A-Za-z_][A-Za-z0-9_]*))")
        .expect("static regex")
});

/// Every reference inside `${{ }}` expressions in `text`.
pub fn github_refs(text: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for expr in EXPR.captures_iter(text) {
        let body = expr.get(1).map_or("", |m| m.as_str());
        out.extend(expression_refs(body));
    }
    out
}

/// Every reference in the body of one expression (without the `${{ }}`), e.g. an `if:`.
pub fn expression_refs(body: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for c in CONTEXT_REF.captures_iter(body) {
        let whole = c.get(1).map_or("", |m| m.as_str()).to_string();
        let Some(ctx) = c.get(2) else {
            out.push(SecretRef {
                kind: RefKind::JobToken,
                name: "github.token".into(),
                text: whole,
            });
            continue;
        };
        let name = c
            .get(3)
            .or_else(|| c.get(4))
            .map_or("", |m| m.as_str())
            .to_string();
        let kind = match ctx.as_str().to_ascii_lowercase().as_str() {
            "secrets" if name.eq_ignore_ascii_case("GITHUB_TOKEN") => RefKind::JobToken,
            "secrets" => RefKind::Secret,
            "inputs" => RefKind::Input,
            _ => RefKind::Env,
        };
        out.push(SecretRef {
            kind,
            name,
            text: whole,
        });
    }
    for c in STEP_OUTPUT.captures_iter(body) {
        let (Some(whole), Some(step), Some(output)) = (c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        out.push(SecretRef {
            kind: RefKind::StepOutput,
            name: format!("{}/{}", step.as_str(), output.as_str()),
            text: whole.as_str().to_string(),
        });
    }
    out
}

/// Every `$NAME`-style variable reference in a script or GitLab value (`$$` is an escape).
pub fn shell_refs(text: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    for c in SHELL_VAR.captures_iter(text) {
        if c.get(1).is_some() {
            continue;
        }
        let (whole, name) = if let Some(m) = c.get(2) {
            (m, c.get(3))
        } else if let Some(m) = c.get(4) {
            (m, c.get(5))
        } else if let Some(m) = c.get(6) {
            (m, c.get(7))
        } else {
            continue;
        };
        let Some(name) = name else { continue };
        out.push(SecretRef {
            kind: RefKind::Env,
            name: name.as_str().to_string(),
            text: whole.as_str().to_string(),
        });
    }
    out
}

/// Whether a whole value is nothing but one expression or variable (so not a literal).
pub fn has_any_reference(text: &str) -> bool {
    text.contains("${{") || SHELL_VAR.is_match(text)
}

/// Variables every GitLab job has (predefined) or that are not settings: never secrets.
pub fn gitlab_predefined(name: &str) -> bool {
    name.starts_with("CI_")
        || name.starts_with("GITLAB_")
        || name.starts_with("RUNNER_")
        || name.starts_with("FF_")
        || matches!(
            name,
            "CI" | "HOME"
                | "PATH"
                | "PWD"
                | "USER"
                | "SHELL"
                | "TMPDIR"
                | "HOSTNAME"
                | "OLDPWD"
                | "RANDOM"
                | "DOCKER_HOST"
                | "DOCKER_TLS_CERTDIR"
                | "DOCKER_DRIVER"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(refs: &[SecretRef]) -> Vec<(RefKind, &str)> {
        refs.iter().map(|r| (r.kind, r.name.as_str())).collect()
    }

    #[test]
    fn plain_and_nested() {
        let r = github_refs("${{ secrets.A }}");
        assert_eq!(names(&r), vec![(RefKind::Secret, "A")]);
        assert_eq!(r[0].text, "secrets.A");
        let r = github_refs("${{ format('{0}:{1}', secrets.USER, secrets['PASS']) }}");
        assert_eq!(
            names(&r),
            vec![(RefKind::Secret, "USER"), (RefKind::Secret, "PASS")]
        );
        let r = github_refs("${{ secrets.PROD_KEY || secrets.STAGING_KEY }}");
        assert_eq!(r.len(), 2);
        let r = github_refs("${{ fromJSON(secrets.CREDS).clientSecret }}");
        assert_eq!(names(&r), vec![(RefKind::Secret, "CREDS")]);
        let r = github_refs("${{ secrets.GITHUB_TOKEN }} ${{ github.token }}");
        assert_eq!(
            names(&r),
            vec![
                (RefKind::JobToken, "GITHUB_TOKEN"),
                (RefKind::JobToken, "github.token")
            ]
        );
        let r = github_refs("${{ github.event.inputs.x }} ${{ inputs.key }} ${{ env.K }}");
        assert_eq!(
            names(&r),
            vec![(RefKind::Input, "key"), (RefKind::Env, "K")]
        );
        assert!(github_refs("secrets.NOT_IN_EXPR").is_empty());
    }

    #[test]
    fn shell() {
        let r = shell_refs("echo $A ${B} $$C $env:D %E% ${F:-x} date +%Y%m%d");
        assert_eq!(
            r.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["A", "B", "D", "F"]
        );
        assert_eq!(r[1].text, "${B}");
    }
}
