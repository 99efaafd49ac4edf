//! Every built-in rule proves itself: pattern compiles, examples match with the right
//! `secret`, negative examples do not, keywords occur in the examples, and the full scanner
//! finds each example inside a larger file.

use keysweep::rules::{check_rules, RuleSet};
use std::collections::BTreeMap;
use std::sync::Arc;

#[test]
fn builtin_rules_pass_their_own_examples() {
    let set = Arc::new(RuleSet::builtin().expect("built-in rules load"));
    let problems = check_rules(&set);
    let listing: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "{} rule problems:\n{}",
        problems.len(),
        listing.join("\n")
    );
}

#[test]
fn builtin_rules_cover_the_field() {
    let set = RuleSet::builtin().unwrap();
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for r in set.rules() {
        *per_family.entry(r.family.as_str()).or_default() += 1;
    }
    println!("{per_family:#?}");
    assert!(set.len() >= 120, "only {} rules", set.len());
    for family in [
        "aws",
        "gcp",
        "azure",
        "cloud",
        "github",
        "gitlab",
        "forges",
        "registries",
        "messaging",
        "payments",
        "observability",
        "ai",
        "devops",
        "private-keys",
        "connection-strings",
        "generic",
    ] {
        assert!(
            per_family.get(family).copied().unwrap_or(0) > 0,
            "no rules for {family}"
        );
    }
}

#[test]
fn checksum_rules_reject_a_wrong_checksum() {
    let set = RuleSet::builtin().unwrap();
    let checksummed: Vec<_> = set
        .rules()
        .iter()
        .filter(|r| {
            matches!(
                r.spec.checksum.as_deref(),
                Some("github-crc32" | "npm-crc32")
            )
        })
        .collect();
    assert!(
        checksummed.len() >= 6,
        "GitHub and npm token rules carry checksums"
    );
    for rule in checksummed {
        let ex = &rule.spec.examples[0];
        let mut bad = ex.secret.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'Q' { b'R' } else { b'Q' };
        let text = ex
            .text
            .replace(&ex.secret, std::str::from_utf8(&bad).unwrap());
        let found = keysweep::detect::match_rule(rule, text.as_bytes()).unwrap();
        assert!(
            found.is_empty(),
            "{}: a token with a wrong checksum was accepted",
            rule.id()
        );
    }
}
