//! A rule's pattern compiled for matching, with the facts the engine needs to size windows.

use regex::bytes::Regex;
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
    /// Whether a match can cross a line break (decides the window when unbounded).
    pub multiline: bool,
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
        let regex = regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(2 << 20)
            .build()
            .map_err(|e| format!("pattern does not compile: {}", first_line(&e.to_string())))?;
        let secret_group = regex
            .capture_names()
            .position(|n| n == Some("secret"))
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
                regex::bytes::RegexBuilder::new(&loosen(&hir).to_string())
                    .unicode(false)
                    .size_limit(64 << 20)
                    .dfa_size_limit(2 << 20)
                    .build()
                    .map_err(|e| format!("loosened pattern does not compile: {e}"))?,
            )
        };
        Ok(CompiledRule {
            screen,
            max_len: hir.properties().maximum_len(),
            multiline: can_match_newline(&hir),
            regex,
            secret_group,
        })
    }
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

fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(lit) => lit.0.contains(&b'\n'),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Repetition(r) => can_match_newline(&r.sub),
        HirKind::Capture(c) => can_match_newline(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(can_match_newline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_single_line() {
        let c = CompiledRule::new(r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b").unwrap();
        assert_eq!(c.max_len, Some(40));
        assert!(!c.multiline);
    }

    #[test]
    fn unbounded_multiline() {
        let c = CompiledRule::new(r"(?P<secret>-----BEGIN[\s\S]+?-----END)").unwrap();
        assert_eq!(c.max_len, None);
        assert!(c.multiline);
        let c = CompiledRule::new(r"(?P<secret>key=[^\n]+)").unwrap();
        assert!(!c.multiline);
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
                    assert!(
                        screen.is_match_at(text.as_bytes(), m.start()),
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
