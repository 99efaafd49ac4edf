//! The matching backend: finds raw regex matches of all rules in a blob.
//!
//! `Matcher` is the one boundary a second backend (e.g. Vectorscan behind a feature) would
//! implement; callers only see `RawMatch`es.

use super::keywords::KeywordSet;
use crate::rules::{CompiledRule, RuleSet};
use regex_automata::meta::{Cache, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::Input;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Tells this matcher's per-thread scratch from another's.
    id: u64,
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
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        KeywordRegexMatcher {
            rules,
            keywords: KeywordSet::new(&keywords),
            pattern_rules,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
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
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.owner != Some(self.id) {
                *scratch = Scratch {
                    owner: Some(self.id),
                    ..Scratch::default()
                };
            }
            self.find_all_with(scratch, haystack, out);
        })
    }
}

thread_local! {
    /// Each scanner thread's searching state. Thread-local, not pooled: the regex crate's
    /// shared pool serialises threads other than the first on a lock at every search.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Reused between blobs: keyword hits and, per rule, the regex caches.
#[derive(Default)]
struct Scratch {
    /// The matcher the caches belong to (a cache only works with its own regex).
    owner: Option<u64>,
    hits: Vec<Hit>,
    by_rule: Vec<Hit>,
    rules: Vec<Option<RuleScratch>>,
}

struct RuleScratch {
    regex: Cache,
    captures: Captures,
    screen: Option<Cache>,
}

impl RuleScratch {
    fn new(compiled: &CompiledRule) -> RuleScratch {
        RuleScratch {
            regex: compiled.regex.create_cache(),
            captures: compiled.regex.create_captures(),
            screen: compiled.screen.as_ref().map(Regex::create_cache),
        }
    }
}

impl KeywordRegexMatcher {
    fn find_all_with(&self, scratch: &mut Scratch, haystack: &[u8], out: &mut Vec<RawMatch>) {
        let hits = &mut scratch.hits;
        hits.clear();
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
        group_by_rule(hits, &mut scratch.by_rule);
        if scratch.rules.len() < self.rules.len() {
            scratch.rules.resize_with(self.rules.len(), || None);
        }
        for group in scratch.by_rule.chunk_by(|a, b| a.rule == b.rule) {
            let rule = self.rules.get(group[0].rule);
            let Ok(compiled) = rule.compiled() else {
                continue; // reported by `rules check`; a broken user rule never stops a scan
            };
            let caches =
                scratch.rules[group[0].rule].get_or_insert_with(|| RuleScratch::new(compiled));
            for window in windows(haystack, group, compiled.max_len, compiled.max_newlines) {
                if let (Some(screen), Some(cache)) = (&compiled.screen, caches.screen.as_mut()) {
                    let input = Input::new(haystack).range(window.clone()).earliest(true);
                    if screen.search_half_with(cache, &input).is_none() {
                        continue;
                    }
                }
                search_window(
                    &compiled.regex,
                    &mut caches.regex,
                    &mut caches.captures,
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

/// Orders `hits` into `out` by rule, then by position: a counting sort on the rule (hits
/// arrive in about position order, which the per-rule sort then finds nearly done).
fn group_by_rule(hits: &[Hit], out: &mut Vec<Hit>) {
    let rules = hits.iter().map(|h| h.rule).max().map_or(0, |m| m + 1);
    let mut starts = vec![0usize; rules + 1];
    for h in hits {
        starts[h.rule + 1] += 1;
    }
    for r in 0..rules {
        starts[r + 1] += starts[r];
    }
    out.clear();
    out.resize(hits.len(), hits[0]);
    let mut next = starts.clone();
    for h in hits {
        out[next[h.rule]] = *h;
        next[h.rule] += 1;
    }
    for r in 0..rules {
        out[starts[r]..starts[r + 1]].sort_unstable();
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

/// Merged byte windows in which the rule's regex can produce a match containing a hit. A
/// match holds its hit whole, is at most `max_len` long and crosses at most `max_newlines`
/// line breaks: the window is the tighter of the two bounds around the hit. The line bound is
/// what matters where keywords are dense (one per line in many configs): windows of a few
/// lines instead of hundreds of bytes either side.
fn windows(
    haystack: &[u8],
    hits: &[Hit],
    max_len: Option<usize>,
    max_newlines: Option<usize>,
) -> Vec<Range<usize>> {
    let len = haystack.len();
    if max_len.is_none() && max_newlines.is_none() {
        return std::iter::once(0..len).collect();
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut ahead = Ahead::default();
    for h in hits {
        let (mut lo, mut hi) = match max_len {
            Some(max) => (h.end.saturating_sub(max), (h.start + max).min(len)),
            None => (0, len),
        };
        if let Some(k) = max_newlines {
            let inside = haystack[h.start..h.end]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            let Some(k) = k.checked_sub(inside) else {
                continue; // the hit alone has more line breaks than a match can
            };
            // Unbounded length: a later hit's window cannot start before the previous
            // window's, so the search back stops there (no rescanning of a long line per hit).
            let floor = match (max_len, out.last()) {
                (None, Some(last)) if inside == 0 && last.end >= h.start => last.start,
                _ => lo,
            };
            lo = lo.max(nth_break_before(haystack, floor, h.start, k + 1).map_or(floor, |p| p + 1));
            hi = hi.min(ahead.nth_break_from(haystack, h.end, hi, k + 1));
        }
        match out.last_mut() {
            Some(last) if lo <= last.end => last.end = last.end.max(hi),
            _ => out.push(lo..hi),
        }
    }
    out
}

/// The position of the `n`th line break before `end`, searching no further back than `floor`.
fn nth_break_before(haystack: &[u8], floor: usize, end: usize, n: usize) -> Option<usize> {
    memchr::memrchr_iter(b'\n', &haystack[floor..end])
        .nth(n - 1)
        .map(|p| floor + p)
}

/// The forward line-break search of `windows`, remembered between hits: hits on one long line
/// (minified code) share one search instead of each scanning to the line's end.
#[derive(Default)]
struct Ahead {
    /// The last search: from `from`, the first break at `first`, the `n`th at `found`.
    from: usize,
    first: usize,
    n: usize,
    limit: usize,
    found: usize,
}

impl Ahead {
    /// The position of the `n`th line break at or after `from` (`limit` when there are fewer
    /// before `limit`).
    fn nth_break_from(&mut self, haystack: &[u8], from: usize, limit: usize, n: usize) -> usize {
        if self.n == n && self.limit == limit && self.from <= from && from <= self.first {
            return self.found;
        }
        let mut breaks = memchr::memchr_iter(b'\n', &haystack[from..limit]).map(|p| from + p);
        let first = breaks.next();
        let found = match first {
            Some(p) if n == 1 => Some(p),
            Some(_) => breaks.nth(n - 2),
            None => None,
        };
        *self = Ahead {
            from,
            first: first.unwrap_or(limit),
            n,
            limit,
            found: found.unwrap_or(limit),
        };
        self.found
    }
}

/// Runs `regex` over `window` and reports each match. The search is bounded to the window
/// but its look-around assertions (`\b`, `^`, `$`) see the bytes on either side, so a window
/// edge is never mistaken for a word or line boundary.
pub(crate) fn search_window(
    regex: &Regex,
    cache: &mut Cache,
    captures: &mut Captures,
    secret_group: usize,
    haystack: &[u8],
    window: Range<usize>,
    mut emit: impl FnMut(Range<usize>, Range<usize>),
) {
    let mut input = Input::new(haystack).range(window);
    loop {
        regex.search_captures_with(cache, &input, captures);
        let Some(m) = captures.get_match() else { break };
        if let Some(secret) = captures.get_group(secret_group) {
            emit(m.range(), secret.range());
        }
        let next = if m.is_empty() { m.end() + 1 } else { m.end() };
        if next > input.end() {
            break;
        }
        input.set_start(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// Every occurrence of each keyword, case-insensitive, overlaps included, as rule 0.
    fn hits_of(hay: &[u8], keywords: &[String]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for kw in keywords {
            let kw = kw.as_bytes();
            for start in 0..hay.len().saturating_sub(kw.len() - 1) {
                if hay[start..start + kw.len()].eq_ignore_ascii_case(kw) {
                    hits.push(Hit {
                        rule: 0,
                        start,
                        end: start + kw.len(),
                    });
                }
            }
        }
        hits.sort_unstable();
        hits
    }

    /// Searching from every position of `hay`, each match of `rule` that contains a keyword
    /// hit lies inside one window: the windows never cut a match the whole text has.
    fn assert_windows_cover(rule: &CompiledRule, keywords: &[String], hay: &[u8]) -> usize {
        let hits = hits_of(hay, keywords);
        if hits.is_empty() {
            return 0;
        }
        let ws = windows(hay, &hits, rule.max_len, rule.max_newlines);
        let mut checked = 0;
        for from in 0..=hay.len() {
            let Some(m) = rule.regex.search(&Input::new(hay).range(from..)) else {
                break;
            };
            if m.start() != from || !contains_hit(&hits, &m.range()) {
                continue;
            }
            checked += 1;
            assert!(
                ws.iter().any(|w| w.start <= m.start() && m.end() <= w.end),
                "match {:?} of {:?} is in no window of {ws:?}",
                m.range(),
                String::from_utf8_lossy(&hay[m.range()])
            );
        }
        checked
    }

    #[test]
    fn windows_cover_random_matches_across_lines() {
        // Each pattern with pieces that build its matches across lines often.
        let cases: [(&str, &[&str]); 4] = [
            // bounded length, one line break (a YAML value on the next line)
            (
                r"(?m)key[ \t]*[:=][ \t]*(?:\r?\n[ \t]{0,4}value:[ \t]*)?(?P<secret>[a-z0-9]{4,12})",
                &[
                    "key",
                    "KEY",
                    ": ",
                    "=",
                    "\n",
                    "\r\n",
                    "  value: ",
                    "ab12",
                    "a9",
                    "ey",
                    " ",
                ],
            ),
            // unbounded length, no line break
            (
                r"(?P<secret>key=[^\n]+)",
                &["key=", "key", "ey", "\n", "x", "=", " "],
            ),
            // unbounded length, two line breaks, the keyword inside the secret
            (
                r"k(?:[a-z =]{0,3}\n){0,2}(?P<secret>ey[0-9]+)",
                &["k", "a\n", " \n", "\n", "ey", "9", "x"],
            ),
            // bounded length, line breaks bounded by the length
            (
                r"(?s)key.{0,40}(?P<secret>a9)",
                &["key", "\n", "a9", "ey", "x", "\n\n"],
            ),
        ];
        let keywords = ["key".to_string(), "ey".to_string()];
        let mut rng = XorShift::new(0x9e3779b97f4a7c15);
        let mut checked = 0;
        for (pattern, pieces) in cases {
            let rule = CompiledRule::new(pattern).unwrap();
            for _ in 0..2000 {
                let n = 1 + rng.below(40);
                let hay: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
                checked += assert_windows_cover(&rule, &keywords, hay.as_bytes());
            }
        }
        assert!(checked > 5000, "only {checked} matches were checked");
    }

    /// The built-in rules' examples, among lines dense with their keywords (each line a
    /// candidate, windows merging), are never cut by a window.
    #[test]
    fn windows_cover_rule_examples_among_dense_keywords() {
        let set = RuleSet::builtin().unwrap();
        let mut checked = 0;
        for rule in set.rules() {
            let compiled = rule.compiled().unwrap();
            let kws: Vec<String> = rule
                .spec
                .keywords
                .iter()
                .map(|k| k.to_lowercase())
                .collect();
            let filler: String = kws.iter().map(|k| format!("{k}_hint = 1\n")).collect();
            for ex in &rule.spec.examples {
                let hay = format!("{filler}{}\n{filler}", ex.text);
                checked += assert_windows_cover(compiled, &kws, hay.as_bytes());
            }
        }
        assert!(checked > 200, "only {checked} matches were checked");
    }

    #[test]
    fn grouping_by_rule_orders_as_a_sort() {
        let mut rng = XorShift::new(7);
        for _ in 0..200 {
            let hits: Vec<Hit> = (0..rng.below(50) + 1)
                .map(|_| {
                    let start = rng.below(100);
                    Hit {
                        rule: rng.below(6),
                        start,
                        end: start + 1 + rng.below(5),
                    }
                })
                .collect();
            let mut grouped = Vec::new();
            group_by_rule(&hits, &mut grouped);
            let mut sorted = hits.clone();
            sorted.sort_unstable();
            assert_eq!(grouped, sorted);
        }
    }
}
