//! Retiring one old IAM access key: look it up, [`decide`](super::key::decide) from its state
//! and the ledger, act (with `confirm`), and record what was done.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::key::{self, KeyDecision, EVIDENCE_KEY, EVIDENCE_USER};
use crate::cloud::aws::{key_hint, keys, AwsError};
use crate::ledger::{Ledger, LedgerError, Record};

/// Everything one key's retirement needs besides the key.
pub struct KeyRun<'a> {
    pub iam: &'a aws_sdk_iam::Client,
    pub ledger: &'a Ledger,
    pub actor: &'a str,
    /// `OWNER/REPO` the key served (for the ledger), or empty.
    pub repository: &'a str,
    /// The Actions secret that held it, for the ledger.
    pub secret: Option<&'a str>,
    pub confirm: bool,
    pub now: Timestamp,
    pub delete_after: SignedDuration,
}

/// What happened to the key on this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// `confirm` was not given: what would be done.
    WouldDeactivate,
    Deactivated,
    WouldStartQuietPeriod,
    QuietPeriodStarted,
    Waiting {
        until: Timestamp,
    },
    WouldDelete,
    Deleted,
    /// Deleted on an earlier run.
    AlreadyDeleted,
    /// Refused: used after keysweep deactivated it.
    InUse {
        last_used: Timestamp,
        deactivated_at: Timestamp,
    },
    /// Refused: a person turned it back on after keysweep deactivated it.
    Reactivated {
        deactivated_at: Timestamp,
    },
}

impl KeyOutcome {
    /// 0 done or nothing left, 1 refused, 3 waiting (the quiet period runs).
    pub fn exit_code(&self) -> i32 {
        match self {
            KeyOutcome::InUse { .. } | KeyOutcome::Reactivated { .. } => 1,
            KeyOutcome::Waiting { .. } => 3,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// `…WXYZ`.
    pub key: String,
    pub user: Option<String>,
    pub outcome: KeyOutcome,
}

#[derive(Debug, thiserror::Error)]
pub enum RetireKeyError {
    #[error("access key {0} is not known to IAM (another account, or deleted outside keysweep)")]
    UnknownKey(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// One key: deactivate, or after `delete_after` without use delete, or say why not yet.
pub async fn retire_key(
    run: &KeyRun<'_>,
    key_id: &str,
    user: Option<&str>,
) -> Result<KeyReport, RetireKeyError> {
    let hint = key_hint(key_id);
    let found = keys::lookup(run.iam, key_id, user).await?;
    let owner = found
        .as_ref()
        .map(|k| k.user.clone())
        .or(user.map(str::to_string));
    let entries = run.ledger.entries()?;
    let past = key::history(&entries, owner.as_deref(), &hint);
    let Some(decision) = key::decide(
        found.as_ref().map(|k| &k.state),
        &past,
        run.now,
        run.delete_after,
    ) else {
        return Err(RetireKeyError::UnknownKey(hint));
    };
    let user = owner.unwrap_or_default();
    let report = |outcome| KeyReport {
        key: hint.clone(),
        user: Some(user.clone()),
        outcome,
    };
    let outcome = match decision {
        KeyDecision::Done => KeyOutcome::AlreadyDeleted,
        KeyDecision::Reactivated { deactivated_at } => KeyOutcome::Reactivated { deactivated_at },
        KeyDecision::InUse {
            last_used,
            deactivated_at,
        } => KeyOutcome::InUse {
            last_used,
            deactivated_at,
        },
        KeyDecision::Wait { until } => KeyOutcome::Waiting { until },
        KeyDecision::Deactivate if !run.confirm => KeyOutcome::WouldDeactivate,
        KeyDecision::StartQuietPeriod if !run.confirm => KeyOutcome::WouldStartQuietPeriod,
        KeyDecision::Delete if !run.confirm => KeyOutcome::WouldDelete,
        KeyDecision::Deactivate => {
            let r = keys::deactivate(run.iam, &user, key_id).await;
            record(run, key::DEACTIVATED, &hint, &user, &r, None)?;
            r?;
            KeyOutcome::Deactivated
        }
        KeyDecision::StartQuietPeriod => {
            // inactive already (not by keysweep): the quiet period starts with this record
            record(
                run,
                key::DEACTIVATED,
                &hint,
                &user,
                &Ok(()),
                Some("was inactive already; the quiet period starts now"),
            )?;
            KeyOutcome::QuietPeriodStarted
        }
        KeyDecision::Delete => {
            let r = keys::delete(run.iam, &user, key_id).await;
            record(run, key::DELETED, &hint, &user, &r, None)?;
            r?;
            KeyOutcome::Deleted
        }
    };
    Ok(report(outcome))
}

fn record(
    run: &KeyRun<'_>,
    action: &str,
    hint: &str,
    user: &str,
    result: &Result<(), AwsError>,
    note: Option<&str>,
) -> Result<(), LedgerError> {
    let mut evidence = BTreeMap::from([
        (EVIDENCE_KEY.to_string(), hint.to_string()),
        (EVIDENCE_USER.to_string(), user.to_string()),
    ]);
    if let Some(n) = note {
        evidence.insert("note".into(), n.into());
    }
    run.ledger.append(Record {
        actor: run.actor.to_string(),
        repository: run.repository.to_string(),
        secret: run.secret.map(str::to_string),
        action: action.to_string(),
        result: match result {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        },
        evidence,
    })?;
    Ok(())
}
