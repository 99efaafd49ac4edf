//! What the evidence ledger says about the sweep's findings: the AWS keys `retire` deleted
//! (keyed by repository and the key id's last four characters, as retire records them) and
//! the repositories whose migrated workflows ran green after the merge (`run-verified`).

use crate::ledger::Entry;
use std::collections::HashSet;

/// retire's action names and evidence key (`retire::key::DELETED`, `retire::plan::RUN_VERIFIED`,
/// `retire::key::EVIDENCE_KEY`; `retire` needs the `rotate` feature, the sweep does not).
pub const KEY_DELETED: &str = "key-deleted";
pub const RUN_VERIFIED: &str = "run-verified";
pub const EVIDENCE_KEY: &str = "key";

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// (repository, `…WXYZ`) of every key the ledger records deleted.
    pub deleted_keys: HashSet<(String, String)>,
    /// Repositories whose migration retire verified after the merge.
    pub verified: HashSet<String>,
}

impl Evidence {
    pub fn from_entries(entries: &[Entry]) -> Evidence {
        let mut ev = Evidence::default();
        for r in entries
            .iter()
            .map(|e| &e.record)
            .filter(|r| r.result == "ok")
        {
            match r.action.as_str() {
                KEY_DELETED => {
                    if let Some(k) = r.evidence.get(EVIDENCE_KEY) {
                        ev.deleted_keys.insert((r.repository.clone(), k.clone()));
                    }
                }
                RUN_VERIFIED => {
                    ev.verified.insert(r.repository.clone());
                }
                _ => {}
            }
        }
        ev
    }
}

/// `…WXYZ` for a secret that starts with an AWS access key id (`AKIA`/`ASIA` and 16 more
/// upper-case letters or digits): the form retire's ledger records name the key by.
pub fn aws_key_hint(secret: &[u8]) -> Option<String> {
    let id = secret.get(..20)?;
    let prefix = id.starts_with(b"AKIA") || id.starts_with(b"ASIA");
    let body = id[4..]
        .iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    (prefix && body).then(|| format!("…{}", String::from_utf8_lossy(&id[16..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_as_retire_records_them() {
        assert_eq!(
            aws_key_hint(b"AKIAIOSFODNN7EXAMPLE").as_deref(),
            Some("…MPLE")
        );
        assert_eq!(aws_key_hint(b"ghp_0123456789abcdefghij"), None);
        assert_eq!(aws_key_hint(b"AKIA"), None);
        #[cfg(feature = "rotate")]
        {
            assert_eq!(
                aws_key_hint(b"AKIAIOSFODNN7EXAMPLE"),
                Some(crate::cloud::aws::key_hint("AKIAIOSFODNN7EXAMPLE"))
            );
            assert_eq!(KEY_DELETED, crate::retire::key::DELETED);
            assert_eq!(RUN_VERIFIED, crate::retire::plan::RUN_VERIFIED);
            assert_eq!(EVIDENCE_KEY, crate::retire::key::EVIDENCE_KEY);
        }
    }

    #[test]
    fn a_verified_migration_rotates_its_providers_findings_only() {
        use crate::sweep::state::{NewFinding, PrRow, RepoOutcome, State};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut st = State::open(&dir.path().join("s.db")).expect("state");
        let (sweep, _) = st.begin_sweep("1").expect("sweep");
        let finding = |fp: &str, rule: &str| NewFinding {
            fingerprint: fp.into(),
            rule_id: rule.into(),
            confidence: "high".into(),
            redacted: "AKIA*****".into(),
            path: "config.txt".into(),
            commit: "c0ffee".into(),
            blobs: vec![fp.as_bytes().to_vec()],
            key_hint: None,
        };
        st.record(
            sweep,
            &RepoOutcome {
                name: "acme/a".into(),
                source: "/srv/a.git".into(),
                objects: 3,
                scanned: Vec::new(),
                found: vec![
                    finding("f1", "aws-access-key-id"),
                    finding("f2", "github-pat"),
                ],
                at_tips: ["f1".to_string(), "f2".to_string()].into(),
                pipelines: Vec::new(),
                refs_hash: None,
            },
        )
        .expect("record");
        st.record_prs(&[PrRow {
            repo: "acme/a".into(),
            sweep,
            status: "opened".into(),
            url: None,
            number: None,
            targets: "aws".into(),
            dry_run: false,
            detail: None,
            merged: false,
        }])
        .expect("prs");
        // not verified yet: nothing moves
        assert_eq!(
            st.apply_evidence(sweep, &Evidence::default())
                .expect("apply"),
            0
        );
        let ev = Evidence {
            verified: ["acme/a".to_string()].into(),
            ..Default::default()
        };
        assert_eq!(st.apply_evidence(sweep, &ev).expect("apply"), 1);
        let status: Vec<(String, String)> = st
            .findings()
            .expect("findings")
            .into_iter()
            .map(|f| (f.rule_id, f.status))
            .collect();
        assert_eq!(
            status,
            [
                ("aws-access-key-id".to_string(), "rotated".to_string()),
                ("github-pat".to_string(), "new".to_string())
            ]
        );
        let t = st.transitions("acme/a").expect("transitions");
        let last = t.last().expect("a transition");
        assert_eq!(
            (
                last.fingerprint.as_str(),
                last.sweep,
                last.from.as_deref(),
                last.to.as_str()
            ),
            ("f1", sweep, Some("new"), "rotated")
        );
    }
}
