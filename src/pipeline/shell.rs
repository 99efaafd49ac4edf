//! Just enough shell to find credential-consuming commands in `run:` / `script:` text.
//!
//! No attempt at a real parser: a script becomes logical commands (continuation lines joined,
//! split on `&&`, `||` and `;`, comments dropped), and a command becomes words (quotes
//! respected and stripped). Pipelines (`echo $T | docker login --password-stdin`) stay one
//! command, so that the secret fed into a pipe belongs to the command that reads it.

/// One logical command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub text: String,
    /// The first physical line's text (trimmed), used to find the command in the source.
    pub first_line: String,
}

/// Split a script into logical commands.
pub fn commands(script: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut first = String::new();
    let mut heredoc_end: Option<String> = None;
    for raw in script.lines() {
        let line = raw.trim();
        if let Some(end) = &heredoc_end {
            // heredoc bodies belong to the command that opened them
            buf.push('\n');
            buf.push_str(line);
            if line == end {
                heredoc_end = None;
                flush(&mut buf, &first, &mut out);
            }
            continue;
        }
        if buf.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if buf.is_empty() {
            first = line.to_string();
        }
        let (content, continued) = match line
            .strip_suffix('\\')
            .or_else(|| line.strip_suffix('`'))
            .or_else(|| line.strip_suffix(" ^"))
        {
            Some(c) => (c, true),
            None => (line, false),
        };
        if !buf.is_empty() {
            buf.push(' ');
        }
        buf.push_str(content.trim_end());
        if let Some(end) = heredoc_marker(content) {
            heredoc_end = Some(end);
            continue;
        }
        if !continued {
            flush(&mut buf, &first, &mut out);
        }
    }
    flush(&mut buf, &first, &mut out);
    out
}

fn heredoc_marker(line: &str) -> Option<String> {
    let i = line.find("<<")?;
    let rest = line[i + 2..].trim_start_matches(['-', '~']).trim_start();
    let word: String = rest
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

fn flush(buf: &mut String, first: &str, out: &mut Vec<Command>) {
    if buf.trim().is_empty() {
        buf.clear();
        return;
    }
    for part in split_separators(buf) {
        let part = part.trim();
        if !part.is_empty() {
            out.push(Command {
                text: part.to_string(),
                first_line: first.to_string(),
            });
        }
    }
    buf.clear();
}

/// Split on `&&`, `||`, `;` outside quotes and `${{ }}` expressions.
fn split_separators(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if depth == 0 && quote.is_none() && c == '$' && next == Some('{') {
            if chars.get(i + 2) == Some(&'{') {
                depth += 1;
            }
        } else if depth > 0 && c == '}' && next == Some('}') {
            depth -= 1;
            cur.push_str("}}");
            i += 2;
            continue;
        }
        if depth == 0 {
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '\'' || c == '"' => quote = Some(c),
                // a trailing comment ends the line
                None if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                None if c == ';' => {
                    parts.push(std::mem::take(&mut cur));
                    i += 1;
                    continue;
                }
                None if (c == '&' && next == Some('&')) || (c == '|' && next == Some('|')) => {
                    parts.push(std::mem::take(&mut cur));
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
}

/// Words of a command: whitespace-separated outside quotes, quotes stripped. A `${{ }}`
/// expression stays inside one word.
pub fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut started = false;
    let chars: Vec<char> = cmd.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'{') && chars.get(i + 2) == Some(&'{') {
            depth += 1;
            cur.push_str("${{");
            started = true;
            i += 3;
            continue;
        }
        if depth > 0 {
            if c == '}' && chars.get(i + 1) == Some(&'}') {
                depth -= 1;
                cur.push_str("}}");
                i += 2;
            } else {
                cur.push(c);
                i += 1;
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                started = true;
            }
            None if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            None => {
                cur.push(c);
                started = true;
            }
        }
        i += 1;
    }
    if started {
        out.push(cur);
    }
    out
}

/// The value of the first of `flags` in `words`: `--flag value` or `--flag=value`.
pub fn flag_value(words: &[String], flags: &[&str]) -> Option<String> {
    for (i, w) in words.iter().enumerate() {
        for f in flags {
            if w == f {
                return words.get(i + 1).cloned();
            }
            if let Some(v) = w.strip_prefix(f).and_then(|r| r.strip_prefix('=')) {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// Whether `words` contain the subcommand sequence `seq` (e.g. `["npm", "publish"]`), allowing
/// flags and a path prefix on the program (`./node_modules/.bin/semantic-release`).
pub fn has_sequence(words: &[String], seq: &[&str]) -> bool {
    let Some((prog, rest)) = seq.split_first() else {
        return false;
    };
    for (i, w) in words.iter().enumerate() {
        let base = w.rsplit('/').next().unwrap_or(w);
        if base.eq_ignore_ascii_case(prog) {
            let mut it = words[i + 1..].iter().filter(|w| !w.starts_with('-'));
            if rest
                .iter()
                .all(|want| it.next().is_some_and(|w| w.eq_ignore_ascii_case(want)))
            {
                return true;
            }
        }
    }
    false
}

/// Names assigned in the script itself (`NAME=...`, `export NAME=...`, `read NAME`,
/// `for NAME in`): such variables are not settings.
pub fn assigned_names(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cmd in commands(script) {
        let w = words(&cmd.text);
        let mut it = w.iter();
        while let Some(word) = it.next() {
            if word == "export" || word == "local" || word == "declare" || word == "readonly" {
                continue;
            }
            if word == "read" || word == "for" {
                out.extend(
                    it.take_while(|w| w.as_str() != "in")
                        .filter(|w| !w.starts_with('-'))
                        .cloned(),
                );
                break;
            }
            if let Some((n, _)) = word.split_once('=') {
                if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push(n.to_string());
                    continue;
                }
            }
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_commands() {
        let s = "set -e\n# comment\naws s3 sync . s3://b \\\n  --delete && echo ok\necho \"a;b #1\"; npm publish # note\n";
        let c: Vec<String> = commands(s).into_iter().map(|c| c.text).collect();
        assert_eq!(
            c,
            vec![
                "set -e",
                "aws s3 sync . s3://b --delete",
                "echo ok",
                "echo \"a;b #1\"",
                "npm publish"
            ]
        );
    }

    #[test]
    fn words_and_flags() {
        let w = words("docker login -u me --password=\"${{ secrets.X }}\" ghcr.io");
        assert_eq!(
            w,
            vec![
                "docker",
                "login",
                "-u",
                "me",
                "--password=${{ secrets.X }}",
                "ghcr.io"
            ]
        );
        assert_eq!(
            flag_value(&w, &["-p", "--password"]).as_deref(),
            Some("${{ secrets.X }}")
        );
        assert!(has_sequence(
            &words("npm publish --access public"),
            &["npm", "publish"]
        ));
        assert!(has_sequence(
            &words("dotnet nuget push x.nupkg"),
            &["nuget", "push"]
        ));
        assert!(!has_sequence(&words("npm ci"), &["npm", "publish"]));
    }

    #[test]
    fn assignments() {
        assert_eq!(
            assigned_names("KEY_FILE=key.json\nexport A=1 B=2\nread -r X"),
            vec!["KEY_FILE", "A", "B", "X"]
        );
    }
}
