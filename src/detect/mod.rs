//! Detection: from a blob's bytes to filtered rule matches.

pub mod checksum;
mod common_trigrams;
pub mod files;
pub mod filters;
mod keywords;
mod matcher;

pub use matcher::{KeywordRegexMatcher, Matcher, RawMatch};

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

pub struct Detector {
    rules: Arc<RuleSet>,
    matcher: Box<dyn Matcher>,
}

impl Detector {
    pub fn new(rules: Arc<RuleSet>) -> Detector {
        let matcher = KeywordRegexMatcher::new(rules.clone());
        Detector {
            rules,
            matcher: Box::new(matcher),
        }
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
            .filter(|m| {
                let rule = self.rules.get(m.rule);
                accepts(rule, &bytes[m.secret.clone()])
                    && accepts_context(rule, bytes, &m.whole, &m.secret)
            })
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
    !(rule.spec.generic
        && (filters::is_generic_decoy(secret) || filters::is_weak_short_value(secret)))
}

/// How far before a value `accepts_context` looks for a UI label's key.
const LABEL_LOOKBACK: usize = 512;

/// Whether the text around a generic (name-keyed) match says it is a credential: the name is
/// not that of a hash, pagination token or search-only key, and not a UI label.
pub fn accepts_context(
    rule: &Rule,
    bytes: &[u8],
    whole: &Range<usize>,
    secret: &Range<usize>,
) -> bool {
    if !rule.spec.generic {
        return true;
    }
    let name = &bytes[whole.start..secret.start.max(whole.start)];
    // A label's key sits just before its value; on a minified line the rest is noise.
    let lookback = secret.start.saturating_sub(LABEL_LOOKBACK);
    let line_start = memchr::memrchr(b'\n', &bytes[lookback..secret.start])
        .map_or(lookback, |i| lookback + i + 1);
    !(filters::is_generic_name_decoy(name)
        || filters::is_label_key(&bytes[line_start..secret.start])
        || filters::value_names_itself(name, &bytes[secret.clone()])
        || filters::is_type_argument_head(&bytes[secret.clone()], &bytes[secret.end..]))
}

/// The filtered matches of one rule over a whole text (no prefilter): used by rule checks.
pub fn match_rule(rule: &Rule, text: &[u8]) -> Result<Vec<Detection>, String> {
    let compiled = rule.compiled().map_err(str::to_string)?;
    let mut out = Vec::new();
    matcher::search_window(
        &compiled.regex,
        &mut compiled.regex.create_cache(),
        &mut compiled.regex.create_captures(),
        compiled.secret_group,
        text,
        0..text.len(),
        |whole, secret| {
            if accepts(rule, &text[secret.clone()]) && accepts_context(rule, text, &whole, &secret)
            {
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
