//! One-line errors for everything the GitHub API can refuse.

/// What went wrong talking to GitHub. Every variant renders as one line naming the request
/// (`GET /repos/o/r`), never a token.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("GitHub API URL {0:?} is not a valid http(s) URL (GITHUB_API_URL or --github-url)")]
    BadBaseUrl(String),
    #[error("no GitHub credentials: set GITHUB_TOKEN or GH_TOKEN, or KEYSWEEP_APP_ID with KEYSWEEP_APP_PRIVATE_KEY (PEM text) or KEYSWEEP_APP_PRIVATE_KEY_FILE")]
    NoCredentials,
    #[error("GitHub App credentials: {0}")]
    AppKey(String),
    #[error("{method} {path}: 401 Unauthorized: {message} (the token is invalid or expired)")]
    Unauthorized {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: 403 Forbidden: {message}{}", forbidden_hint(.permission, *.workflow_files))]
    Forbidden {
        method: String,
        path: String,
        message: String,
        /// From `x-accepted-github-permissions` (`contents=write`).
        permission: Option<String>,
        /// The refused change touches `.github/workflows/`.
        workflow_files: bool,
    },
    #[error(
        "{method} {path}: 404 Not Found: {message} (it does not exist, or the token cannot see it)"
    )]
    NotFound {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: 409 Conflict: {message}")]
    Conflict {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: 422 Unprocessable: {message}{}", errors_suffix(.errors))]
    Unprocessable {
        method: String,
        path: String,
        message: String,
        /// GitHub's `errors` array, one line each.
        errors: Vec<String>,
    },
    #[error("{method} {path}: {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{method} {path}: rate limited by GitHub: waited {waited_secs} s in all, the next wait ({next_secs} s) would pass the limit of {limit_secs} s (KEYSWEEP_GITHUB_MAX_WAIT_SECS)")]
    RateLimited {
        method: String,
        path: String,
        waited_secs: u64,
        next_secs: u64,
        limit_secs: u64,
    },
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: the response is not the JSON expected: {message}")]
    Response {
        method: String,
        path: String,
        message: String,
    },
}

fn forbidden_hint(permission: &Option<String>, workflow_files: bool) -> String {
    let mut s = String::new();
    if let Some(p) = permission {
        s.push_str(&format!(" (the token lacks the permission {p})"));
    }
    if workflow_files {
        s.push_str(
            "; an Actions GITHUB_TOKEN can never change files under .github/workflows/: \
             use a GitHub App installation token with `workflows: write` (docs/github-app.md)",
        );
    }
    s
}

fn errors_suffix(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" ({})", errors.join("; "))
    }
}

impl ForgeError {
    /// The HTTP status GitHub answered, when the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Unauthorized { .. } => Some(401),
            ForgeError::Forbidden { .. } => Some(403),
            ForgeError::NotFound { .. } => Some(404),
            ForgeError::Conflict { .. } => Some(409),
            ForgeError::Unprocessable { .. } => Some(422),
            ForgeError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The same error, saying that the refused change touches workflow files (a 403 on a
    /// commit or ref whose tree edits `.github/workflows/`).
    pub fn on_workflow_files(self) -> Self {
        match self {
            ForgeError::Forbidden {
                method,
                path,
                message,
                permission,
                ..
            } => ForgeError::Forbidden {
                method,
                path,
                message,
                permission,
                workflow_files: true,
            },
            e => e,
        }
    }
}
