//! Time for retire's waiting periods, and the `--delete-after` durations.

use jiff::{SignedDuration, Timestamp};

/// Test override of the current time (RFC 3339). Hidden on purpose: tests use it to run
/// "seven days later" without waiting; it is documented in docs/retire.md as test-only.
pub const NOW_OVERRIDE_ENV: &str = "KEYSWEEP_NOW";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    #[error("{NOW_OVERRIDE_ENV}={value}: not an RFC 3339 time ({why})")]
    BadNow { value: String, why: String },
    #[error("`{0}`: not a duration (a number and a unit: `7d`, `36h`, `90m`, `1d12h`)")]
    BadDuration(String),
}

/// Now, or the test override.
pub fn now() -> Result<Timestamp, ClockError> {
    match std::env::var(NOW_OVERRIDE_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim()
                .parse()
                .map_err(|e: jiff::Error| ClockError::BadNow {
                    value: v.clone(),
                    why: e.to_string(),
                })
        }
        _ => Ok(Timestamp::now()),
    }
}

/// `7d`, `36h`, `90m`, `45s`, or a sum of them (`1d12h`); days are 24 hours.
pub fn parse_duration(text: &str) -> Result<SignedDuration, ClockError> {
    let bad = || ClockError::BadDuration(text.to_string());
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        any = true;
    }
    if !digits.is_empty() || !any {
        return Err(bad());
    }
    Ok(SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("7d").unwrap(),
            SignedDuration::from_hours(168)
        );
        assert_eq!(
            parse_duration("36h").unwrap(),
            SignedDuration::from_hours(36)
        );
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            SignedDuration::from_hours(36)
        );
        assert_eq!(
            parse_duration("90m").unwrap(),
            SignedDuration::from_mins(90)
        );
        for bad in ["", "7", "d", "7w", "-1d", "7d3", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
