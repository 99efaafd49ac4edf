//! The matching backend: finds raw regex matches of all rules in a blob.
//!
//! `Matcher` is the one boundary a second backend (e.g. Vectorscan behind a feature) would
//! implement; callers only see `RawMatch`es.

use super::keywords::KeywordSet;
use crate::rules::RuleSet;
use std::ops::Range;
use std::sync::Arc;

/// A pattern match before filters: which rule, the whole match and the `secret` capture.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawMatch {
    pub rule: usize,
    pub whole: Range<usize>,
    pub secret: Range<usize>,
}

pub trait Matcher: Send + Sync {
    /// Appends every match of every rule in `haystack` to `out` (unordered, may repeat).
    fn find_all(&self, haystack: &[u8], out: &mut Vec<RawMatch>);
}

/// Keyword prefilter, then each hit rule's regex over windows around its hits.
pub struct KeywordRegexMatcher {
    rules: Arc<RuleSet>,
    keywords: KeywordSet,
    /// For each keyword, the rules that listed it.
    pattern_rules: Vec<Vec<usize>>,
}

impl KeywordRegexMatcher {
    pub fn new(rules: Arc<RuleSet>) -> KeywordRegexMatcher {
        let mut keywords: Vec<String> = Vec::new();
        let mut pattern_rules: Vec<Vec<usize>> = Vec::new();
        for (idx, rule) in rules.rules().iter().enumerate() {
            for kw in &rule.spec.keywords {
                let kw = kw.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == kw) {
                    Some(p) => {
                        if !pattern_rules[p].contains(&idx) {
                            pattern_rules[p].push(idx)
                        }
                    }
                    None => {
                        keywords.push(kw);
                        pattern_rules.push(vec![idx]);
                    }
                }
            }
        }
        // Every occurrence counts, overlaps included: a short keyword must not hide a longer
        // one that starts at the same place.
        KeywordRegexMatcher {
            rules,
            keywords: KeywordSet::new(&keywords),
            pattern_rules,
        }
    }
}

/// A keyword hit for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
}

impl Matcher for KeywordRegexMatcher {
    fn find_all(&self, haystack: &[u8], out: &mut Vec<RawMatch>) {
        let mut hits: Vec<Hit> = Vec::new();
        self.keywords.find_all(haystack, |m| {
            for &rule in &self.pattern_rules[m.keyword] {
                hits.push(Hit {
                    rule,
                    start: m.start,
                    end: m.end,
                });
            }
        });
        if hits.is_empty() {
            return;
        }
        hits.sort_unstable();
        for group in hits.chunk_by(|a, b| a.rule == b.rule) {
            let rule = self.rules.get(group[0].rule);
            let Ok(compiled) = rule.compiled() else {
                continue; // reported by `rules check`; a broken user rule never stops a scan
            };
            for window in windows(haystack, group, compiled.max_len, compiled.multiline) {
                if let Some(screen) = &compiled.screen {
                    if !screen.is_match_at(&haystack[..window.end], window.start) {
                        continue;
                    }
                }
                search_window(
                    &compiled.regex,
                    compiled.secret_group,
                    haystack,
                    window,
                    |whole, secret| {
                        // Every match must contain one of the rule's keyword hits: this keeps
                        // matches found in a window consistent with a whole-blob search.
                        if contains_hit(group, &whole) {
                            out.push(RawMatch {
                                rule: group[0].rule,
                                whole,
                                secret,
                            });
                        }
                    },
                );
            }
        }
    }
}

fn contains_hit(hits: &[Hit], whole: &Range<usize>) -> bool {
    // `hits` is sorted by start: find the first hit starting at or after the match start.
    let i = hits.partition_point(|h| h.start < whole.start);
    hits[i..]
        .iter()
        .take_while(|h| h.start < whole.end)
        .any(|h| h.end <= whole.end)
}

/// Merged byte windows in which the rule's regex can produce a match containing a hit.
fn windows(
    haystack: &[u8],
    hits: &[Hit],
    max_len: Option<usize>,
    multiline: bool,
) -> Vec<Range<usize>> {
    let len = haystack.len();
    let mut out: Vec<Range<usize>> = Vec::new();
    for h in hits {
        let w = match (max_len, multiline) {
            (Some(max), _) => h.start.saturating_sub(max)..(h.end + max).min(len),
            (None, false) => line_bounds(haystack, h.start, h.end),
            (None, true) => return std::iter::once(0..len).collect(),
        };
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

fn line_bounds(haystack: &[u8], start: usize, end: usize) -> Range<usize> {
    let s = memchr::memrchr(b'\n', &haystack[..start]).map_or(0, |p| p + 1);
    let e = memchr::memchr(b'\n', &haystack[end..]).map_or(haystack.len(), |p| end + p);
    s..e
}

/// Runs `regex` over `window`, with the bytes before the window visible to look-behind
/// assertions such as `\b`, and reports each match.
pub(crate) fn search_window(
    regex: &regex::bytes::Regex,
    secret_group: usize,
    haystack: &[u8],
    window: Range<usize>,
    mut emit: impl FnMut(Range<usize>, Range<usize>),
) {
    let hay = &haystack[..window.end];
    let mut pos = window.start;
    let mut locs = regex.capture_locations();
    while pos <= hay.len() {
        let Some(m) = regex.captures_read_at(&mut locs, hay, pos) else {
            break;
        };
        if let Some((s, e)) = locs.get(secret_group) {
            emit(m.start()..m.end(), s..e);
        }
        pos = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + 1
        };
    }
}
