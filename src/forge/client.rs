//! [`Client`]: JSON requests to GitHub's REST API with keysweep's policy — writes one at a
//! time and spaced apart, bounded retries on 5xx and rate limits, one-line typed errors.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method};
use octocrab::Octocrab;
use serde_json::Value;

use super::{Credentials, ForgeError};

const DEFAULT_API: &str = "https://api.github.com";

/// Tunables; [`ClientOptions::from_env`] reads the overrides tests use.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// API base (`https://api.github.com`, `https://ghe.example.com/api/v3`).
    pub base_url: String,
    /// Minimum time between two write requests (GitHub: content-creating requests at most
    /// 80 a minute; one a second keeps clear of it). `KEYSWEEP_WRITE_SPACING_MS`, default 1000.
    pub write_spacing: Duration,
    /// Total time one request may spend waiting for rate limits and retries before it fails.
    /// `KEYSWEEP_GITHUB_MAX_WAIT_SECS`, default 300.
    pub max_wait: Duration,
    /// First backoff after a 5xx or a transport error, doubled each time.
    /// `KEYSWEEP_RETRY_BASE_MS`, default 1000.
    pub retry_base: Duration,
    /// Attempts after the first one for 5xx and transport errors.
    pub max_retries: u32,
}

impl ClientOptions {
    /// `base_override` (`--github-url`) wins over `GITHUB_API_URL`, which wins over
    /// api.github.com.
    pub fn from_env(base_override: Option<&str>) -> ClientOptions {
        let num = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(d)
        };
        let base_url = base_override
            .map(str::to_string)
            .or_else(|| {
                std::env::var("GITHUB_API_URL")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_API.to_string());
        ClientOptions {
            base_url,
            write_spacing: Duration::from_millis(num("KEYSWEEP_WRITE_SPACING_MS", 1000)),
            max_wait: Duration::from_secs(num("KEYSWEEP_GITHUB_MAX_WAIT_SECS", 300)),
            retry_base: Duration::from_millis(num("KEYSWEEP_RETRY_BASE_MS", 1000)),
            max_retries: 4,
        }
    }
}

/// One answer: status, headers and the JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A GitHub API client. Cheap to clone; clones share the write queue. Build it inside a
/// tokio runtime. `Debug` shows the base URL and the kind of credentials, never a token.
#[derive(Clone)]
pub struct Client {
    crab: Octocrab,
    creds: Credentials,
    opts: ClientOptions,
    /// Path part of the base URL (`/api/v3`), stripped from `Link` URLs.
    base_path: String,
    /// Held for the whole of a write: one at a time; the time the last one finished.
    writes: Arc<tokio::sync::Mutex<Option<Instant>>>,
    /// Set on a client for one App installation.
    installation: Option<u64>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.opts.base_url)
            .field("credentials", &self.creds)
            .field("installation", &self.installation)
            .finish()
    }
}

fn build_crab(creds: &Credentials, base: &str) -> Result<Octocrab, ForgeError> {
    let bad = || ForgeError::BadBaseUrl(base.to_string());
    let b = Octocrab::builder()
        .base_uri(base)
        .map_err(|_| bad())?
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(60)));
    let b = match creds {
        Credentials::Token(t) => b.personal_token(t.clone()),
        Credentials::App { app_id, key } => b.app(octocrab::models::AppId(*app_id), key.clone()),
    };
    b.build().map_err(|e| ForgeError::Transport {
        method: "client".into(),
        path: base.to_string(),
        message: e.to_string(),
    })
}

impl Client {
    /// Credentials from the environment ([`Credentials::from_env`]), options from
    /// [`ClientOptions::from_env`].
    pub fn from_env(base_override: Option<&str>) -> Result<Client, ForgeError> {
        Client::new(
            Credentials::from_env()?,
            ClientOptions::from_env(base_override),
        )
    }

    pub fn new(creds: Credentials, opts: ClientOptions) -> Result<Client, ForgeError> {
        let base = opts.base_url.trim_end_matches('/').to_string();
        let uri: http::Uri = base
            .parse()
            .map_err(|_| ForgeError::BadBaseUrl(base.clone()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(ForgeError::BadBaseUrl(base));
        }
        let base_path = uri.path().trim_end_matches('/').to_string();
        let crab = build_crab(&creds, &base)?;
        Ok(Client {
            crab,
            creds,
            opts: ClientOptions {
                base_url: base,
                ..opts
            },
            base_path,
            writes: Arc::new(tokio::sync::Mutex::new(None)),
            installation: None,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The client to use for `owner/repo`: the same one for a token; for a GitHub App, one
    /// authenticated as the App's installation on that repository
    /// (`GET /repos/{owner}/{repo}/installation`, then its installation token).
    pub async fn for_repository(&self, owner_repo: &str) -> Result<Client, ForgeError> {
        if !matches!(self.creds, Credentials::App { .. }) {
            return Ok(self.clone());
        }
        let inst = match self.get(&format!("/repos/{owner_repo}/installation")).await {
            Err(ForgeError::NotFound { method, path, .. }) => {
                return Err(ForgeError::NotFound {
                    method,
                    path,
                    message: format!(
                        "the GitHub App (KEYSWEEP_APP_ID) is not installed on {owner_repo}"
                    ),
                })
            }
            r => r?,
        };
        let id = inst["id"].as_u64().ok_or_else(|| ForgeError::Response {
            method: "GET".into(),
            path: format!("/repos/{owner_repo}/installation"),
            message: "no numeric `id`".into(),
        })?;
        let crab = self
            .crab
            .installation(octocrab::models::InstallationId(id))
            .map_err(|e| ForgeError::Transport {
                method: "POST".into(),
                path: format!("/app/installations/{id}/access_tokens"),
                message: e.to_string(),
            })?;
        Ok(Client {
            crab,
            installation: Some(id),
            ..self.clone()
        })
    }

    /// Who acts, for the ledger: `app:ID` for an App, else the token's login (`GET /user`),
    /// or `token` when the token may not read it (an Actions `GITHUB_TOKEN`).
    pub async fn actor(&self) -> String {
        if let Some(a) = self.creds.app_actor() {
            return a;
        }
        match self.get("/user").await {
            Ok(u) => u["login"].as_str().unwrap_or("token").to_string(),
            Err(_) => "token".to_string(),
        }
    }

    /// `GET path` (relative to the API base: `/repos/o/r`).
    pub async fn get(&self, path: &str) -> Result<Value, ForgeError> {
        Ok(self.request(Method::GET, path, None).await?.body)
    }

    /// `GET path`, `None` on 404.
    pub async fn get_opt(&self, path: &str) -> Result<Option<Value>, ForgeError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paginated list, following `Link: <...>; rel="next"`. A page that is
    /// an array contributes its elements; a page that is an object (`{"total_count": 2,
    /// "secrets": [...]}`) contributes the elements of its array-valued field.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, ForgeError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(p) = next.take() {
            let r = self.request(Method::GET, &p, None).await?;
            match r.body {
                Value::Array(items) => out.extend(items),
                Value::Object(map) => {
                    if let Some(Value::Array(items)) =
                        map.into_iter().map(|(_, v)| v).find(Value::is_array)
                    {
                        out.extend(items);
                    }
                }
                _ => {}
            }
            pages += 1;
            // a server that links a page to itself must not loop forever
            if pages < 1000 {
                next = next_link(&r.headers).map(|u| self.relative(&u));
            }
        }
        Ok(out)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ForgeError> {
        Ok(self.request(Method::POST, path, Some(body)).await?.body)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ForgeError> {
        Ok(self.request(Method::PATCH, path, Some(body)).await?.body)
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ForgeError> {
        Ok(self.request(Method::PUT, path, Some(body)).await?.body)
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ForgeError> {
        Ok(self.request(Method::DELETE, path, None).await?.body)
    }

    /// Any request, with the policy: writes (anything but GET/HEAD) wait their turn and
    /// their spacing; 5xx, transport errors and rate limits are retried within
    /// [`ClientOptions::max_wait`]; other 4xx are typed errors.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ForgeError> {
        if method == Method::GET || method == Method::HEAD {
            return self.with_retries(&method, path, body).await;
        }
        let mut last = self.writes.lock().await;
        if let Some(t) = *last {
            let due = t + self.opts.write_spacing;
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        let r = self.with_retries(&method, path, body).await;
        *last = Some(Instant::now());
        r
    }

    async fn with_retries(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ForgeError> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            let (wait, err) = match self.send_once(method, path, body).await {
                Ok(r) if r.status < 400 => return Ok(r),
                Ok(r) => match retry_after(&r) {
                    Some(w) => (w, error_for(method, path, &r)),
                    None if r.status >= 500 && attempt < self.opts.max_retries => {
                        (self.backoff(attempt), error_for(method, path, &r))
                    }
                    None => return Err(error_for(method, path, &r)),
                },
                Err(e) if attempt < self.opts.max_retries => (self.backoff(attempt), e),
                Err(e) => return Err(e),
            };
            if waited + wait > self.opts.max_wait {
                return Err(match err {
                    ForgeError::Forbidden { .. } | ForgeError::Status { status: 429, .. } => {
                        ForgeError::RateLimited {
                            method: method.to_string(),
                            path: path.to_string(),
                            waited_secs: waited.as_secs(),
                            next_secs: wait.as_secs(),
                            limit_secs: self.opts.max_wait.as_secs(),
                        }
                    }
                    e => e,
                });
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.opts.retry_base * 2u32.saturating_pow(attempt.min(6))
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, ForgeError> {
        let transport = |message: String| ForgeError::Transport {
            method: method.to_string(),
            path: path.to_string(),
            message,
        };
        let builder = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::ACCEPT, "application/vnd.github+json");
        let req = self
            .crab
            .build_request(builder, body)
            .map_err(|e| transport(e.to_string()))?;
        let resp = self
            .crab
            .execute(req)
            .await
            .map_err(|e| transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = self
            .crab
            .body_to_string(resp)
            .await
            .map_err(|e| transport(e.to_string()))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                // a non-JSON error page still becomes a one-line error below
                Err(_) if status >= 400 => Value::String(text.chars().take(200).collect()),
                Err(e) => {
                    return Err(ForgeError::Response {
                        method: method.to_string(),
                        path: path.to_string(),
                        message: e.to_string(),
                    })
                }
            }
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// A `Link` URL as a path relative to the API base.
    fn relative(&self, url: &str) -> String {
        let pq = url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.path_and_query().map(|p| p.as_str().to_string()))
            .unwrap_or_else(|| url.to_string());
        match pq.strip_prefix(&self.base_path) {
            Some(rest) if !self.base_path.is_empty() && rest.starts_with('/') => rest.to_string(),
            _ => pq,
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(h: &HeaderMap) -> Option<String> {
    let link = header(h, "link")?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// How long to wait before retrying a rate-limited answer; `None` when it is not one.
fn retry_after(r: &Response) -> Option<Duration> {
    if r.status != 403 && r.status != 429 {
        return None;
    }
    if let Some(s) = header(&r.headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(s.max(1)));
    }
    if header(&r.headers, "x-ratelimit-remaining").map(str::trim) == Some("0") {
        let reset =
            header(&r.headers, "x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Some(Duration::from_secs(
            reset.map_or(60, |t| t.saturating_sub(now) + 1),
        ));
    }
    let msg = message_of(&r.body).to_ascii_lowercase();
    // GitHub: without a header, wait at least a minute after a secondary limit
    (msg.contains("secondary rate limit") || r.status == 429).then(|| Duration::from_secs(60))
}

fn message_of(body: &Value) -> String {
    match body {
        Value::Object(m) => m
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Value::String(s) => s.lines().next().unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// GitHub's `errors` array, one line each (`field: code`, or its message).
fn errors_of(body: &Value) -> Vec<String> {
    let Some(errs) = body.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errs.iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                if let Some(m) = o.get("message").and_then(Value::as_str) {
                    return m.to_string();
                }
                let g = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                [g("resource"), g("field"), g("code")]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            v => v.to_string(),
        })
        .collect()
}

pub(crate) fn error_for(method: &Method, path: &str, r: &Response) -> ForgeError {
    let method = method.to_string();
    let path = path.to_string();
    let mut message = message_of(&r.body);
    if message.is_empty() {
        message = "(no message)".into();
    }
    match r.status {
        401 => ForgeError::Unauthorized {
            method,
            path,
            message,
        },
        403 => ForgeError::Forbidden {
            permission: header(&r.headers, "x-accepted-github-permissions")
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().to_string()),
            workflow_files: path.contains(".github/workflows/")
                || message.to_ascii_lowercase().contains("workflow"),
            method,
            path,
            message,
        },
        404 => ForgeError::NotFound {
            method,
            path,
            message,
        },
        409 => ForgeError::Conflict {
            method,
            path,
            message,
        },
        422 => ForgeError::Unprocessable {
            errors: errors_of(&r.body),
            method,
            path,
            message,
        },
        status => ForgeError::Status {
            method,
            path,
            status,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: Value) -> Response {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Response {
            status,
            headers: h,
            body,
        }
    }

    #[test]
    fn link_next() {
        let r = resp(
            200,
            &[(
                "link",
                r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#,
            )],
            Value::Null,
        );
        assert_eq!(
            next_link(&r.headers).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        let last_only = resp(
            200,
            &[("link", r#"<https://x/y?page=1>; rel="prev""#)],
            Value::Null,
        );
        assert_eq!(next_link(&last_only.headers), None);
    }

    #[test]
    fn rate_limits() {
        let secondary = resp(
            403,
            &[("retry-after", "7")],
            serde_json::json!({"message": "You have exceeded a secondary rate limit"}),
        );
        assert_eq!(retry_after(&secondary), Some(Duration::from_secs(7)));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let reset = (now + 30).to_string();
        let primary = resp(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ],
            Value::Null,
        );
        let w = retry_after(&primary).unwrap().as_secs();
        assert!((29..=32).contains(&w), "{w}");
        let plain = resp(
            403,
            &[("x-ratelimit-remaining", "4999")],
            serde_json::json!({"message": "Resource not accessible by integration"}),
        );
        assert_eq!(retry_after(&plain), None);
        assert_eq!(retry_after(&resp(500, &[], Value::Null)), None);
    }

    #[test]
    fn typed_errors_are_one_line() {
        let m = Method::PATCH;
        let e = error_for(
            &m,
            "/repos/o/r/git/refs/heads/b",
            &resp(
                403,
                &[(
                    "x-accepted-github-permissions",
                    "contents=write; workflows=write",
                )],
                serde_json::json!({"message": "Resource not accessible by integration"}),
            ),
        );
        let s = e.to_string();
        assert!(s.contains("contents=write; workflows=write"), "{s}");
        assert!(!s.contains('\n'));
        let e = error_for(
            &m,
            "/repos/o/r/contents/.github/workflows/ci.yml",
            &resp(403, &[], serde_json::json!({"message": "refused"})),
        );
        assert!(e.to_string().contains("workflows: write"), "{e}");
        let e = error_for(
            &Method::POST,
            "/repos/o/r/labels",
            &resp(
                422,
                &[],
                serde_json::json!({"message": "Validation Failed", "errors": [{"resource": "Label", "code": "invalid", "field": "color"}]}),
            ),
        );
        assert_eq!(
            e.to_string(),
            "POST /repos/o/r/labels: 422 Unprocessable: Validation Failed (Label color invalid)"
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let creds = Credentials::Token(octocrab::secrecy::SecretString::from(
            "ghp_synthetic_do_not_show".to_string(),
        ));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = rt.block_on(async {
            Client::new(creds, ClientOptions::from_env(Some("http://127.0.0.1:9"))).unwrap()
        });
        let d = format!("{c:?}");
        assert!(!d.contains("ghp_synthetic"), "{d}");
        assert!(d.contains("redacted"), "{d}");
    }
}
