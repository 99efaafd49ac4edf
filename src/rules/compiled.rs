//! A rule's pattern compiled for matching, with the facts the engine needs to size windows.

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{MatchKind, PatternID};
use regex_syntax::hir::{Class, Hir, HirKind, Repetition};

#[derive(Debug)]
pub struct CompiledRule {
    pub regex: Regex,
    /// A looser form of `regex` that is cheap to run first: where it finds no match, `regex`
    /// cannot match either. `None` when the pattern has nothing to loosen.
    ///
    /// Why: a long counted repetition (`[^\s"']{11,127}` after a name of `{0,40}` bytes) makes
    /// the lazy DFA track every count, so new text keeps building new states; that cost most
    /// of the generic rules' time. Unbounded, the same repetition needs a handful of states.
    /// Most windows around a keyword hold no match, and only those that do reach `regex`.
    pub screen: Option<Regex>,
    /// Index of the `secret` capture group.
    pub secret_group: usize,
    /// Longest possible match in bytes; `None` when unbounded.
    pub max_len: Option<usize>,
    /// Most line breaks a match can contain; `None` when unbounded. A match containing a
    /// keyword hit then lies within that many lines either side of it, which bounds the
    /// window far tighter than `max_len` where keywords are dense.
    pub max_newlines: Option<usize>,
}

impl CompiledRule {
    pub fn new(pattern: &str) -> Result<CompiledRule, String> {
        // ASCII semantics for \w, \s, \d and `.`: tokens are ASCII, and Unicode classes
        // inside bounded repetitions make automata (and their compile time) explode.
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .unicode(false)
            .build()
            .parse(pattern)
            .map_err(|e| format!("pattern does not compile: {}", first_line(&e.to_string())))?;
        let max_len = hir.properties().maximum_len();
        let regex = build(pattern, max_len.is_none())
            .map_err(|e| format!("pattern does not compile: {}", first_line(&e)))?;
        let secret_group = regex
            .group_info()
            .to_index(PatternID::ZERO, "secret")
            .ok_or_else(|| "pattern has no named group `secret`".to_string())?;
        if let Some(bound) = largest_bound(&hir).filter(|b| *b > MAX_REPETITION_BOUND) {
            return Err(format!(
                "a repetition bound of {bound} (over {MAX_REPETITION_BOUND}) makes the automaton huge: \
                 use an unbounded repetition (`{{n,}}`), the window then becomes the line or blob"
            ));
        }
        let screen = if !has_long_repetition(&hir) {
            None
        } else {
            Some(
                build(&loosen(&hir).to_string(), max_len.is_none())
                    .map_err(|e| format!("loosened pattern does not compile: {e}"))?,
            )
        };
        Ok(CompiledRule {
            screen,
            max_len,
            max_newlines: max_newlines(&hir),
            regex,
            secret_group,
        })
    }
}

/// The engine behind both a rule's regex and its screen: the `regex` crate's meta engine,
/// used directly so each scanner thread keeps its own caches (no shared pool) and a search
/// can be bounded to a window while look-around still sees the bytes beyond it.
///
/// `prefilter`: whether a literal prefilter runs ahead of the automaton. It pays on long
/// haystacks only; windows of bounded rules are a few lines, where starting it costs more
/// than it saves (Teddy was 6% of a history scan's samples).
fn build(pattern: &str, prefilter: bool) -> Result<Regex, String> {
    // ASCII semantics, bytes not UTF-8, leftmost-first: what `regex::bytes` with
    // `unicode(false)` gives.
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(false)
                .nfa_size_limit(Some(64 << 20))
                .hybrid_cache_capacity(2 << 20)
                .auto_prefilter(prefilter),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// Counted repetitions whose bounds are further apart than this are loosened to unbounded.
const LOOSEN_SPAN: u32 = 8;

/// `hir` with long counted repetitions made unbounded and captures dropped: it matches
/// everything `hir` matches (and more), with a far smaller DFA.
fn loosen(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max.filter(|max| max - r.min <= LOOSEN_SPAN),
            greedy: r.greedy,
            sub: Box::new(loosen(&r.sub)),
        }),
        HirKind::Capture(c) => loosen(&c.sub),
        HirKind::Concat(v) => Hir::concat(v.iter().map(loosen).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(loosen).collect()),
        _ => hir.clone(),
    }
}

fn has_long_repetition(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(r) => {
            r.max.is_some_and(|max| max - r.min > LOOSEN_SPAN) || has_long_repetition(&r.sub)
        }
        HirKind::Capture(c) => has_long_repetition(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(has_long_repetition),
        _ => false,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bounded repetitions are unrolled into automaton states: a `{64,16384}` costs megabytes
/// per rule and per thread. Rules must stay below this.
const MAX_REPETITION_BOUND: u32 = 4096;

fn largest_bound(hir: &Hir) -> Option<u32> {
    match hir.kind() {
        HirKind::Repetition(r) => r.max.into_iter().chain(largest_bound(&r.sub)).max(),
        HirKind::Capture(c) => largest_bound(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().filter_map(largest_bound).max(),
        _ => None,
    }
}

fn max_newlines(hir: &Hir) -> Option<usize> {
    let class_has = |has: bool| Some(usize::from(has));
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(lit) => Some(lit.0.iter().filter(|b| **b == b'\n').count()),
        HirKind::Class(Class::Unicode(c)) => class_has(
            c.ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        ),
        HirKind::Class(Class::Bytes(c)) => class_has(
            c.ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        ),
        HirKind::Repetition(r) => match (max_newlines(&r.sub)?, r.max) {
            (0, _) => Some(0),
            (n, Some(max)) => n.checked_mul(max as usize),
            (_, None) => None,
        },
        HirKind::Capture(c) => max_newlines(&c.sub),
        HirKind::Concat(v) => v
            .iter()
            .try_fold(0usize, |sum, h| sum.checked_add(max_newlines(h)?)),
        HirKind::Alternation(v) => v
            .iter()
            .try_fold(0usize, |most, h| Some(most.max(max_newlines(h)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_single_line() {
        let c = CompiledRule::new(r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b").unwrap();
        assert_eq!(c.max_len, Some(40));
        assert_eq!(c.max_newlines, Some(0));
    }

    #[test]
    fn unbounded_multiline() {
        let c = CompiledRule::new(r"(?P<secret>-----BEGIN[\s\S]+?-----END)").unwrap();
        assert_eq!(c.max_len, None);
        assert_eq!(c.max_newlines, None);
        let c = CompiledRule::new(r"(?P<secret>key=[^\n]+)").unwrap();
        assert_eq!(c.max_newlines, Some(0));
        let c = CompiledRule::new(r"(?m)^key:[ \t]*\r?\n[ \t]{0,20}value: (?P<secret>\S{8,40})$")
            .unwrap();
        assert_eq!(c.max_newlines, Some(1), "a YAML value on the next line");
        let c = CompiledRule::new(r"(?P<secret>(?:[a-z]+\n){2,3}end)").unwrap();
        assert_eq!(
            c.max_newlines,
            Some(3),
            "[a-z]+ is unbounded but has no line break"
        );
        let c = CompiledRule::new(r"(?P<secret>(?:[a-z]{1,4}\n)+end)").unwrap();
        assert_eq!(c.max_newlines, None);
    }

    /// The screen may only widen: on every built-in rule's examples and negative examples,
    /// wherever the exact pattern matches from a position, the screen matches too.
    #[test]
    fn screens_never_miss_an_exact_match() {
        let set = crate::rules::RuleSet::builtin().unwrap();
        let mut screened = 0;
        for rule in set.rules() {
            let c = rule.compiled().unwrap();
            let Some(screen) = &c.screen else { continue };
            screened += 1;
            let texts = rule.spec.examples.iter().map(|e| e.text.as_str());
            for text in texts.chain(rule.spec.negative_examples.iter().map(String::as_str)) {
                for m in c.regex.find_iter(text.as_bytes()) {
                    let from = regex_automata::Input::new(text.as_bytes()).range(m.start()..);
                    assert!(
                        screen.is_match(from),
                        "{}: the screen misses {:?}",
                        rule.id(),
                        &text[m.range()]
                    );
                }
            }
        }
        assert!(screened > 20, "only {screened} rules have a screen");
    }

    #[test]
    fn loosening_unbounds_long_repetitions_only() {
        let c = CompiledRule::new(r"key=(?P<secret>[a-z]{2,4}[0-9]{11,127})").unwrap();
        let screen = c.screen.expect("a 116-wide bound is loosened");
        assert!(screen.is_match(format!("key=ab{}", "1".repeat(300)).as_bytes()));
        assert!(!screen.is_match(b"key=abcde1"), "short bounds stay");
        assert_eq!(c.max_len, Some(4 + 4 + 127), "windows keep the exact bound");
        assert!(CompiledRule::new(r"(?P<secret>ghp_[A-Za-z0-9]{36})")
            .unwrap()
            .screen
            .is_none());
    }

    #[test]
    fn huge_bounds_are_refused() {
        assert!(CompiledRule::new(r"(?P<secret>a[b-z]{64,16384})")
            .unwrap_err()
            .contains("unbounded"));
        assert!(CompiledRule::new(r"(?P<secret>a[b-z]{64,})").is_ok());
    }

    #[test]
    fn missing_secret_group() {
        assert!(CompiledRule::new(r"ghp_[a-z]+")
            .unwrap_err()
            .contains("secret"));
        assert!(CompiledRule::new(r"(").unwrap_err().contains("compile"));
    }
}
