//! An old cloud access key's retirement: deactivate it, wait `--delete-after` with no use,
//! delete it. The deactivation time comes from the ledger (not from the cloud, which does
//! not keep it), so the decision is a pure function of the key's state, the ledger and now.

use jiff::{SignedDuration, Timestamp};

use crate::ledger::Entry;

/// Ledger action names for keys.
pub const DEACTIVATED: &str = "key-deactivated";
pub const DELETED: &str = "key-deleted";
/// Evidence keys: the key id's last 4 characters (`…WXYZ`) and the IAM user owning it.
pub const EVIDENCE_KEY: &str = "key";
pub const EVIDENCE_USER: &str = "iam-user";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// What the cloud says about the key now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub status: KeyStatus,
    pub last_used: Option<Timestamp>,
}

/// What the ledger says keysweep did to the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHistory {
    /// The last successful deactivation.
    pub deactivated_at: Option<Timestamp>,
    pub deleted: bool,
}

/// The ledger's history of one key (by its last 4 characters and its user; any user when
/// IAM no longer knows the key and no user was given).
pub fn history(entries: &[Entry], user: Option<&str>, hint: &str) -> KeyHistory {
    let mut h = KeyHistory::default();
    for e in entries {
        let r = &e.record;
        let ours = r.result == "ok"
            && r.evidence.get(EVIDENCE_KEY).map(String::as_str) == Some(hint)
            && user.is_none_or(|u| r.evidence.get(EVIDENCE_USER).map(String::as_str) == Some(u));
        if !ours {
            continue;
        }
        match r.action.as_str() {
            DEACTIVATED => h.deactivated_at = e.time.parse().ok().or(h.deactivated_at),
            DELETED => h.deleted = true,
            _ => {}
        }
    }
    h
}

/// What to do with the key on this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// Active and never deactivated by keysweep.
    Deactivate,
    /// Inactive, but the ledger has no deactivation: someone else did it; the quiet period
    /// starts now (recorded as a deactivation).
    StartQuietPeriod,
    /// Active again after keysweep deactivated it: a person turned it back on; keysweep
    /// leaves it alone and says so.
    Reactivated {
        deactivated_at: Timestamp,
    },
    /// Inactive, the quiet period runs until `until`.
    Wait {
        until: Timestamp,
    },
    /// Used after its deactivation: something still holds it.
    InUse {
        last_used: Timestamp,
        deactivated_at: Timestamp,
    },
    Delete,
    /// Gone, and the ledger says keysweep deleted it: nothing left to do.
    Done,
}

/// `state` is `None` when the cloud does not know the key.
pub fn decide(
    state: Option<&KeyState>,
    past: &KeyHistory,
    now: Timestamp,
    delete_after: SignedDuration,
) -> Option<KeyDecision> {
    let Some(state) = state else {
        return past.deleted.then_some(KeyDecision::Done);
    };
    Some(match (state.status, past.deactivated_at) {
        (KeyStatus::Active, None) => KeyDecision::Deactivate,
        (KeyStatus::Active, Some(at)) => KeyDecision::Reactivated { deactivated_at: at },
        (KeyStatus::Inactive, None) => KeyDecision::StartQuietPeriod,
        (KeyStatus::Inactive, Some(at)) => match state.last_used {
            Some(used) if used > at => KeyDecision::InUse {
                last_used: used,
                deactivated_at: at,
            },
            _ => {
                let until = at.saturating_add(delete_after).unwrap_or(at);
                if now < until {
                    KeyDecision::Wait { until }
                } else {
                    KeyDecision::Delete
                }
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Record;
    use std::collections::BTreeMap;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    const WEEK: SignedDuration = SignedDuration::from_hours(168);

    fn inactive(last: Option<&str>) -> KeyState {
        KeyState {
            status: KeyStatus::Inactive,
            last_used: last.map(t),
        }
    }

    #[test]
    fn decisions() {
        let none = KeyHistory::default();
        let at = KeyHistory {
            deactivated_at: Some(t("2026-12-01T00:00:00Z")),
            deleted: false,
        };
        let now = t("2026-12-02T00:00:00Z");
        let active = KeyState {
            status: KeyStatus::Active,
            last_used: None,
        };
        assert_eq!(
            decide(Some(&active), &none, now, WEEK),
            Some(KeyDecision::Deactivate)
        );
        assert!(matches!(
            decide(Some(&active), &at, now, WEEK),
            Some(KeyDecision::Reactivated { .. })
        ));
        assert_eq!(
            decide(Some(&inactive(None)), &none, now, WEEK),
            Some(KeyDecision::StartQuietPeriod)
        );
        assert_eq!(
            decide(
                Some(&inactive(Some("2026-11-30T10:00:00Z"))),
                &at,
                now,
                WEEK
            ),
            Some(KeyDecision::Wait {
                until: t("2026-12-08T00:00:00Z")
            })
        );
        assert_eq!(
            decide(Some(&inactive(None)), &at, t("2026-12-08T00:00:00Z"), WEEK),
            Some(KeyDecision::Delete)
        );
        assert_eq!(
            decide(
                Some(&inactive(Some("2026-12-01T08:00:00Z"))),
                &at,
                t("2026-12-09T00:00:00Z"),
                WEEK
            ),
            Some(KeyDecision::InUse {
                last_used: t("2026-12-01T08:00:00Z"),
                deactivated_at: t("2026-12-01T00:00:00Z"),
            })
        );
        assert_eq!(decide(None, &none, now, WEEK), None);
        let gone = KeyHistory {
            deleted: true,
            ..at.clone()
        };
        assert_eq!(decide(None, &gone, now, WEEK), Some(KeyDecision::Done));
    }

    fn entry(time: &str, action: &str, result: &str, key: &str, user: &str) -> Entry {
        Entry {
            time: time.into(),
            record: Record {
                actor: "a".into(),
                repository: "o/r".into(),
                secret: None,
                action: action.into(),
                result: result.into(),
                evidence: BTreeMap::from([
                    (EVIDENCE_KEY.into(), key.into()),
                    (EVIDENCE_USER.into(), user.into()),
                ]),
            },
            prev: String::new(),
        }
    }

    #[test]
    fn history_from_the_ledger() {
        let entries = vec![
            entry("2026-12-01T00:00:00Z", DEACTIVATED, "ok", "…WXYZ", "ci"),
            entry("2026-12-01T01:00:00Z", DEACTIVATED, "ok", "…WXYZ", "other"),
            entry(
                "2026-12-01T02:00:00Z",
                DEACTIVATED,
                "AccessDenied",
                "…WXYZ",
                "ci",
            ),
            entry("2026-12-01T03:00:00Z", DEACTIVATED, "ok", "…ABCD", "ci"),
        ];
        let h = history(&entries, Some("ci"), "…WXYZ");
        assert_eq!(h.deactivated_at, Some(t("2026-12-01T00:00:00Z")));
        assert!(!h.deleted);
        let mut more = entries.clone();
        more.push(entry("2026-12-09T00:00:00Z", DELETED, "ok", "…WXYZ", "ci"));
        assert!(history(&more, Some("ci"), "…WXYZ").deleted);
        assert_eq!(
            history(&entries, Some("nobody"), "…WXYZ"),
            KeyHistory::default()
        );
        assert!(history(&more, None, "…WXYZ").deleted);
    }
}
