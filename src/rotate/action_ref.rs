//! The reference of an inserted action: always a full commit SHA with its version comment,
//! the repository's own pin where it is at least keysweep's major.

use super::pins::PINS;

/// `(major, minor, patch)` of `v4`, `v4.0.2`, `4.1`.
pub fn parse_version(t: &str) -> Option<(u64, u64, u64)> {
    let t = t.trim().strip_prefix('v').unwrap_or(t.trim());
    let mut it = t.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u64>()
    });
    let major = it.next()?.ok()?;
    let minor = it.next().and_then(Result::ok).unwrap_or(0);
    let patch = it.next().and_then(Result::ok).unwrap_or(0);
    Some((major, minor, patch))
}

fn is_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `(ref, version, comment)` of one `uses:` line.
type ActionUse = (String, Option<Version>, Option<String>);
type Version = (u64, u64, u64);

/// The references of `slug` a workflow's text already writes: `(ref, version)`, the version from
/// a tag ref or from the comment after a SHA.
fn uses_in(text: &str, slug: &str) -> Vec<ActionUse> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().trim_start_matches("- ").trim_start();
            let rest = rest.strip_prefix("uses:")?.trim_start();
            let rest = rest.trim_start_matches(['"', '\'']);
            let (name, tail) = rest.split_once('@')?;
            if !name.eq_ignore_ascii_case(slug) {
                return None;
            }
            let r: String = tail
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
                .collect();
            let comment = tail
                .split_once('#')
                .map(|(_, c)| c.trim().to_string())
                .filter(|c| !c.is_empty());
            let version = if is_sha(&r) {
                comment.as_deref().and_then(parse_version)
            } else {
                parse_version(&r)
            };
            Some((r, version, comment))
        })
        .collect()
}

/// `owner/repo@ref` for an inserted step: always a full commit SHA. The workflow's own SHA pin
/// of that action when it is at least keysweep's major (the repository chose that release),
/// else keysweep's pin.
pub fn pinned_ref(text: &str, slug: &str) -> String {
    let (_, sha, v) = PINS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .expect("every inserted action is pinned");
    let ours = parse_version(v);
    let best = uses_in(text, slug)
        .into_iter()
        .filter(|(r, ver, _)| is_sha(r) && ver.is_some() && ver.map(|x| x.0) >= ours.map(|x| x.0))
        .max_by_key(|(_, ver, _)| *ver);
    match best {
        Some((r, _, _)) => format!("{slug}@{r}"),
        None => format!("{slug}@{sha}"),
    }
}

/// A newer major of `slug` the workflow uses by tag only, which keysweep cannot pin by SHA.
fn newer_unpinned_major(text: &str, slug: &str) -> Option<u64> {
    let ours = PINS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .and_then(|(_, _, v)| parse_version(v))?;
    let (_, sha, _) = PINS.iter().find(|(s, _, _)| *s == slug)?;
    if pinned_ref(text, slug) != format!("{slug}@{sha}") {
        return None;
    }
    uses_in(text, slug)
        .into_iter()
        .filter_map(|(r, ver, _)| (!is_sha(&r)).then_some(ver?.0))
        .filter(|m| *m > ours.0)
        .max()
}

/// The version comment for a rendered `uses:` line ending in a SHA: the one the workflow
/// already writes after that SHA, else keysweep's pin's.
pub fn version_comment(line: &str, text: &str) -> Option<String> {
    let sha = line.rsplit_once('@')?.1.trim();
    if !is_sha(sha) {
        return None;
    }
    let needle = format!("@{sha}");
    text.lines()
        .filter_map(|l| l.split_once(&needle).map(|(_, t)| t))
        .find_map(|t| t.split_once('#').map(|(_, c)| c.trim().to_string()))
        .filter(|c| !c.is_empty())
        .or_else(|| {
            PINS.iter()
                .find(|(_, s, _)| *s == sha)
                .map(|(_, _, v)| v.to_string())
        })
}

/// The note for a plan whose workflow uses a newer major of an inserted action by tag only.
pub fn newer_major_note(text: &str, slug: &str) -> Option<String> {
    let (_, _, v) = PINS.iter().find(|(s, _, _)| *s == slug)?;
    newer_unpinned_major(text, slug).map(|m| {
        format!("the workflow uses {slug} v{m} by tag; keysweep inserted {v} pinned by SHA: pin v{m} by its commit SHA and use it for both")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "aws-actions/configure-aws-credentials";

    #[test]
    fn the_workflows_own_pin_of_a_newer_major_wins() {
        let sha = "7474bc4690e29a8392af63c5b98e7449536d5c3a";
        let text = format!("      - uses: {OURS}@{sha} # v5.0.0\n");
        assert_eq!(pinned_ref(&text, OURS), format!("{OURS}@{sha}"));
        let line = format!("  uses: {OURS}@{sha}");
        assert_eq!(version_comment(&line, &text).as_deref(), Some("v5.0.0"));
        assert_eq!(newer_major_note(&text, OURS), None);
    }

    #[test]
    fn an_older_pin_or_a_tag_never_replaces_keysweeps_pin() {
        let (_, sha, v) = PINS.iter().find(|(s, _, _)| *s == OURS).unwrap();
        let older =
            format!("    - uses: {OURS}@0123456789abcdef0123456789abcdef01234567 # v1.7.0\n");
        assert_eq!(pinned_ref(&older, OURS), format!("{OURS}@{sha}"));
        let line = format!("  uses: {OURS}@{sha}");
        assert_eq!(version_comment(&line, &older).as_deref(), Some(*v));
        let tag = format!("    - uses: {OURS}@v6\n");
        assert_eq!(pinned_ref(&tag, OURS), format!("{OURS}@{sha}"));
        assert!(newer_major_note(&tag, OURS).unwrap().contains("v6 by tag"));
        assert_eq!(newer_major_note(&older, OURS), None);
    }

    #[test]
    fn versions_parse_like_tags_and_comments() {
        assert_eq!(parse_version("v4.0.2"), Some((4, 0, 2)));
        assert_eq!(parse_version("v5"), Some((5, 0, 0)));
        assert_eq!(parse_version("2.1"), Some((2, 1, 0)));
        assert_eq!(parse_version("main"), None);
    }
}
