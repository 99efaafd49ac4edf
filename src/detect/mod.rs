//! Detection: from a blob's bytes to filtered rule matches.

pub mod checksum;
pub mod filters;
mod matcher;

pub use matcher::{AhoRegexMatcher, Matcher, RawMatch};

use crate::rules::{Rule, RuleSet};
use std::ops::Range;
use std::sync::Arc;

/// A rule match that passed every filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub rule: usize,
    pub whole: Range<usize>,
    pub secret: Range<usize>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DetectError(String);

pub struct Detector {
    rules: Arc<RuleSet>,
    matcher: Box<dyn Matcher>,
}

impl Detector {
    pub fn new(rules: Arc<RuleSet>) -> Result<Detector, DetectError> {
        let matcher = AhoRegexMatcher::new(rules.clone()).map_err(DetectError)?;
        Ok(Detector {
            rules,
            matcher: Box::new(matcher),
        })
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Every filtered detection in `bytes`, ordered by position, without repeats.
    pub fn detect(&self, bytes: &[u8]) -> Vec<Detection> {
        let mut raw = Vec::new();
        self.matcher.find_all(bytes, &mut raw);
        if raw.is_empty() {
            return Vec::new();
        }
        raw.sort_unstable_by(|a, b| {
            (a.secret.start, a.secret.end, a.rule).cmp(&(b.secret.start, b.secret.end, b.rule))
        });
        raw.dedup_by(|a, b| a.rule == b.rule && a.secret == b.secret);
        let mut found: Vec<Detection> = raw
            .into_iter()
            .filter(|m| accepts(self.rules.get(m.rule), &bytes[m.secret.clone()]))
            .map(|m| Detection {
                rule: m.rule,
                whole: m.whole,
                secret: m.secret,
            })
            .collect();
        self.drop_redundant_generic(&mut found);
        found
    }
}

impl Detector {
    /// A generic (name-keyed) match adds nothing where a specific rule recognised the same
    /// value, and overlapping generic matches are one finding: the most confident, longest.
    fn drop_redundant_generic(&self, found: &mut Vec<Detection>) {
        let generic = |d: &Detection| self.rules.get(d.rule).spec.generic;
        let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
        let rank = |d: &Detection| {
            (
                self.rules.get(d.rule).spec.confidence,
                d.secret.len(),
                std::cmp::Reverse(d.rule),
            )
        };
        let keep: Vec<bool> = found
            .iter()
            .enumerate()
            .map(|(i, d)| {
                !generic(d)
                    || !found.iter().enumerate().any(|(j, o)| {
                        i != j
                            && overlaps(&d.secret, &o.secret)
                            && (!generic(o) || rank(o) > rank(d))
                    })
            })
            .collect();
        let mut it = keep.into_iter();
        found.retain(|_| it.next().unwrap_or(true));
    }
}

/// Whether a rule's filters accept a captured secret.
pub fn accepts(rule: &Rule, secret: &[u8]) -> bool {
    if secret.is_empty() || filters::is_placeholder(secret) {
        return false;
    }
    if let Some(min) = rule.spec.min_entropy {
        if filters::shannon_entropy(secret) < min {
            return false;
        }
    }
    if let Some(name) = &rule.spec.checksum {
        if !checksum::validate(name, secret) {
            return false;
        }
    }
    !(rule.spec.generic && filters::is_generic_decoy(secret))
}

/// The filtered matches of one rule over a whole text (no prefilter): used by rule checks.
pub fn match_rule(rule: &Rule, text: &[u8]) -> Result<Vec<Detection>, String> {
    let compiled = rule.compiled().map_err(str::to_string)?;
    let mut out = Vec::new();
    matcher::search_window(
        &compiled.regex,
        compiled.secret_group,
        text,
        0..text.len(),
        |whole, secret| {
            if accepts(rule, &text[secret.clone()]) {
                out.push(Detection {
                    rule: 0,
                    whole,
                    secret,
                });
            }
        },
    );
    Ok(out)
}
