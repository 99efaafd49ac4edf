//! Verdicts tracked across reviews (`--state FILE`, and the sweep's `--entitlements`): each
//! verdict is `new` the first review it appears in, `open` while it stays, and `resolved` the
//! first review it is gone from. Absence of evidence is not resolution: a verdict whose listing
//! was not visible this time, or that needs the pipelines of a repository that could not be
//! read, stays as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Credential, Kind, Review, VerdictKind};

#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an entitlement state file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// One verdict's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub credential: String,
    pub verdict: VerdictKind,
    pub reason: String,
    pub listing: String,
    /// It depends on the workflows of these repositories.
    #[serde(default)]
    pub needs_pipelines: bool,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

/// The state file: every verdict ever seen, by a stable key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub reviews: u64,
    pub verdicts: BTreeMap<String, Seen>,
}

/// `new`, `open` or `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    New,
    Open,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }
}

/// A verdict gone since the last review.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub credential: String,
    pub verdict: VerdictKind,
    pub reason: String,
    pub first_seen: String,
}

/// The key of a credential's verdict: stable across reviews (ids and names, not dates).
pub fn key(c: &Credential, verdict: VerdictKind) -> String {
    let id =
        c.id.map(|i| i.to_string())
            .unwrap_or_else(|| c.name.clone());
    format!(
        "{}|{}|{}|{}|{}|{}",
        c.kind.as_str(),
        c.repository.as_deref().unwrap_or(""),
        c.environment.as_deref().unwrap_or(""),
        c.owner.as_deref().unwrap_or(""),
        id,
        verdict.as_str()
    )
}

fn needs_pipelines(c: &Credential, v: VerdictKind) -> bool {
    c.kind.is_actions_secret() || (c.kind == Kind::DeployKey && v == VerdictKind::OverBroad)
}

impl State {
    pub fn load(path: &Path) -> Result<State, TrackError> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|source| TrackError::Parse {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(TrackError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Written next to `path` then renamed over it: a crash leaves the old state whole.
    pub fn save(&self, path: &Path) -> Result<(), TrackError> {
        let io = |source| TrackError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self).map_err(|source| TrackError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Marks each verdict of `review` new or open, records what was resolved, and returns the
    /// verdicts resolved by this review.
    pub fn update(&mut self, review: &mut Review) -> Vec<Resolved> {
        let now = review.generated_at.clone();
        self.reviews += 1;
        let mut current = BTreeMap::new();
        for c in &mut review.credentials {
            let label = format!("{} {} ({})", c.kind.as_str(), c.name, c.scope);
            let listing = c.listing.clone();
            let keys: Vec<(String, bool)> = c
                .verdicts
                .iter()
                .map(|v| (key(c, v.kind), needs_pipelines(c, v.kind)))
                .collect();
            for (v, (k, needs)) in c.verdicts.iter_mut().zip(keys) {
                let status = match self.verdicts.get_mut(&k) {
                    Some(s) if s.resolved_at.is_none() => {
                        s.last_seen = now.clone();
                        s.reason = v.reason.clone();
                        Status::Open
                    }
                    _ => {
                        self.verdicts.insert(
                            k.clone(),
                            Seen {
                                credential: label.clone(),
                                verdict: v.kind,
                                reason: v.reason.clone(),
                                listing: listing.clone(),
                                needs_pipelines: needs,
                                first_seen: now.clone(),
                                last_seen: now.clone(),
                                resolved_at: None,
                            },
                        );
                        Status::New
                    }
                };
                v.status = Some(status);
                current.insert(k, ());
            }
        }
        let hidden: Vec<&str> = review
            .listings
            .iter()
            .filter(|l| l.not_visible.is_some())
            .map(|l| l.what.as_str())
            .collect();
        let pipelines_partial =
            !review.pipelines_unread.is_empty() || !review.repositories_failed.is_empty();
        let mut resolved = Vec::new();
        for (k, s) in &mut self.verdicts {
            if s.resolved_at.is_some() || current.contains_key(k) {
                continue;
            }
            if hidden.contains(&s.listing.as_str()) || (s.needs_pipelines && pipelines_partial) {
                continue;
            }
            s.resolved_at = Some(now.clone());
            resolved.push(Resolved {
                credential: s.credential.clone(),
                verdict: s.verdict,
                reason: s.reason.clone(),
                first_seen: s.first_seen.clone(),
            });
        }
        review.resolved = resolved.clone();
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::super::verdict::tests as vt;
    use super::super::{Credential, Kind, Listing, Verdict};
    use super::*;

    fn verdict(kind: VerdictKind) -> Verdict {
        Verdict {
            kind,
            reason: "r".into(),
            action: "a".into(),
            apply: None,
            status: None,
        }
    }

    fn cred(name: &str, listing: &str, kinds: &[VerdictKind]) -> Credential {
        let mut c = Credential::new(Kind::DeployKey, name, "o/a");
        c.repository = Some("o/a".into());
        c.listing = listing.into();
        c.verdicts = kinds.iter().map(|k| verdict(*k)).collect();
        c
    }

    fn status(r: &Review, name: &str) -> Vec<Option<Status>> {
        r.credentials
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .verdicts
            .iter()
            .map(|v| v.status)
            .collect()
    }

    #[test]
    fn new_then_open_then_resolved_but_not_when_hidden() {
        let mut st = State::default();
        let mut r1 = vt::review(
            vec![
                cred(
                    "a",
                    "keys of o/a",
                    &[VerdictKind::Unused, VerdictKind::Stale],
                ),
                cred("b", "keys of o/b", &[VerdictKind::Unused]),
            ],
            &[],
        );
        assert!(st.update(&mut r1).is_empty());
        assert_eq!(status(&r1, "a"), vec![Some(Status::New), Some(Status::New)]);

        // a's stale verdict is gone; b's listing was not visible this time
        let mut r2 = vt::review(vec![cred("a", "keys of o/a", &[VerdictKind::Unused])], &[]);
        r2.listings.push(Listing {
            what: "keys of o/b".into(),
            needs: "administration=read".into(),
            count: 0,
            not_visible: Some("not visible".into()),
        });
        let resolved = st.update(&mut r2);
        assert_eq!(status(&r2, "a"), vec![Some(Status::Open)]);
        assert_eq!(resolved.len(), 1, "{resolved:?}");
        assert_eq!(resolved[0].verdict, VerdictKind::Stale);
        assert_eq!(r2.resolved.len(), 1);

        // b visible again and fixed: resolved; a's stale verdict back: new again
        let mut r3 = vt::review(
            vec![cred(
                "a",
                "keys of o/a",
                &[VerdictKind::Unused, VerdictKind::Stale],
            )],
            &[],
        );
        let resolved = st.update(&mut r3);
        assert_eq!(resolved.len(), 1);
        assert!(resolved[0].credential.starts_with("deploy-key b "));
        assert_eq!(
            status(&r3, "a"),
            vec![Some(Status::Open), Some(Status::New)]
        );
        assert_eq!(st.reviews, 3);

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s/entitlements.json");
        st.save(&p).unwrap();
        let back = State::load(&p).unwrap();
        assert_eq!(back.verdicts, st.verdicts);
        std::fs::write(&p, "{").unwrap();
        assert!(State::load(&p)
            .unwrap_err()
            .to_string()
            .contains("not an entitlement state file"));
    }
}
