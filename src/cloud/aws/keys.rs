//! IAM access keys: who owns one, its status and last use; deactivate and delete.

use aws_sdk_iam::types::StatusType;

use super::{key_hint, AwsError};
use crate::retire::key::{KeyState, KeyStatus};

/// One IAM user access key as IAM reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub user: String,
    pub state: KeyState,
}

fn timestamp(d: &aws_sdk_iam::primitives::DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(d.secs(), d.subsec_nanos() as i32).ok()
}

/// The key's owner (from `GetAccessKeyLastUsed`, or `user` when given), status and last use.
/// `None` when IAM does not know the key.
pub async fn lookup(
    iam: &aws_sdk_iam::Client,
    key_id: &str,
    user: Option<&str>,
) -> Result<Option<AccessKey>, AwsError> {
    let last = match iam
        .get_access_key_last_used()
        .access_key_id(key_id)
        .send()
        .await
    {
        Ok(out) => Some(out),
        Err(e) => {
            let e = AwsError::from_sdk("GetAccessKeyLastUsed", e);
            if e.code() != Some("NoSuchEntity") {
                return Err(e);
            }
            None
        }
    };
    let owner = last
        .as_ref()
        .and_then(|l| l.user_name())
        .map(str::to_string);
    let user = match (user, owner) {
        (Some(u), Some(o)) if u != o => {
            return Err(AwsError::Refused(format!(
                "access key {} belongs to IAM user {o}, not {u}",
                key_hint(key_id)
            )))
        }
        (Some(u), _) => u.to_string(),
        (None, Some(o)) => o,
        (None, None) => return Ok(None),
    };
    let keys = match iam.list_access_keys().user_name(&user).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk("ListAccessKeys", e);
            if e.code() == Some("NoSuchEntity") {
                return Ok(None);
            }
            return Err(e);
        }
    };
    let Some(meta) = keys
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key_id))
    else {
        return Ok(None);
    };
    let status = match meta.status() {
        Some(StatusType::Active) => KeyStatus::Active,
        _ => KeyStatus::Inactive,
    };
    let last_used = last
        .as_ref()
        .and_then(|l| l.access_key_last_used())
        .and_then(|u| u.last_used_date())
        .and_then(timestamp);
    Ok(Some(AccessKey {
        user,
        state: KeyState { status, last_used },
    }))
}

/// `UpdateAccessKey` to Inactive: the key stops working at once and can be turned back on.
pub async fn deactivate(
    iam: &aws_sdk_iam::Client,
    user: &str,
    key_id: &str,
) -> Result<(), AwsError> {
    iam.update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UpdateAccessKey", e))?;
    Ok(())
}

pub async fn delete(iam: &aws_sdk_iam::Client, user: &str, key_id: &str) -> Result<(), AwsError> {
    iam.delete_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("DeleteAccessKey", e))?;
    Ok(())
}
