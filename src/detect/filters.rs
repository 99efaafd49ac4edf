//! Filters that drop matches which are not secrets: low entropy, placeholders, template
//! references and, for generic (name-keyed) rules, values that are code rather than secrets.

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Substrings (compared lower-case) that mark documentation values and placeholders.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "xxxx",
    "****",
    "changeme",
    "change_me",
    "your_",
    "your-",
    "yourkey",
    "redacted",
    "dummy",
    "placeholder",
    "sample",
    "insert",
    "replace_me",
    "replaceme",
    "notreal",
    "not_real",
    "not-a-real",
    "fake",
    "my_password",
    "mypassword",
    "my-password",
    "my_secret",
    "my-secret",
    "mysecret",
];

/// Template and variable references: the value is looked up elsewhere, not written here.
const TEMPLATE_MARKERS: &[&str] = &["${", "{{", "$(", "<%", "%(", "#{"];

/// Runs of ordered characters that people type as fake values.
const SEQUENCES: &[&str] = &[
    "0123456789",
    "abcdefghij",
    "1234567890",
    "qwertyuiop",
    "abcdef123456",
];

/// Credentials published on purpose for local emulators: the same in every installation, so
/// finding them says nothing (Azurite and the Azure Storage Emulator share this account key).
const PUBLIC_EMULATOR_KEYS: &[&str] =
    &["Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="];

/// Values vendors print in their documentation: the same in every copy of the docs, so they
/// are never someone's credential (jwt.io's example token, Stripe's docs test keys).
const DOCUMENTATION_VALUES: &[&str] = &[
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "T00000000/B00000000/",
];

/// True when the value is a placeholder, documentation value or template reference.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if PUBLIC_EMULATOR_KEYS
        .iter()
        .chain(DOCUMENTATION_VALUES)
        .any(|k| memchr::memmem::find(secret, k.as_bytes()).is_some())
    {
        return true;
    }
    let lower: Vec<u8> = secret.to_ascii_lowercase();
    let has = |needle: &str| memchr::memmem::find(&lower, needle.as_bytes()).is_some();
    if has("...") || TEMPLATE_MARKERS.iter().any(|m| has(m)) {
        return true;
    }
    // Long values (key blocks) contain any short marker by chance; only the above apply.
    if secret.len() > 256 {
        return false;
    }
    if PLACEHOLDER_MARKERS.iter().any(|m| has(m)) || SEQUENCES.iter().any(|m| has(m)) {
        return true;
    }
    // `<token>`-style markers, and `{password}` / `{0}` format-string fields.
    if lower.contains(&b'<') && lower.contains(&b'>') || has_format_field(&lower) {
        return true;
    }
    // One repeated character, ignoring a known prefix up to the first separator.
    let body = secret
        .iter()
        .rposition(|&b| b == b'_' || b == b'-')
        .filter(|&p| p + 1 < secret.len() && p < 16)
        .map_or(secret, |p| &secret[p + 1..]);
    body.len() >= 4 && body.iter().all(|&b| b == body[0])
}

/// `{name}`, `{0}`, `{db.password}`: a format-string field filled in at run time.
fn has_format_field(s: &[u8]) -> bool {
    let mut rest = s;
    while let Some(open) = memchr::memchr(b'{', rest) {
        let after = &rest[open + 1..];
        let Some(close) = memchr::memchr(b'}', after) else {
            return false;
        };
        let field = &after[..close];
        if !field.is_empty()
            && field.len() <= 40
            && field
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'))
        {
            return true;
        }
        rest = &after[close..];
    }
    false
}

/// Dictionary words people and tutorials use as stand-in passwords, after undoing leetspeak
/// and dropping trailing digits and symbols (`Passw0rd!`, `admin123`, `hunter2`).
const WEAK_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "changeme",
    "changeit",
    "secret",
    "admin",
    "administrator",
    "test",
    "tester",
    "testing",
    "root",
    "toor",
    "qwerty",
    "letmein",
    "welcome",
    "example",
    "default",
    "guest",
    "user",
    "username",
    "demo",
    "dummy",
    "sample",
    "foobar",
    "foo",
    "bar",
    "mysql",
    "postgres",
    "redis",
    "hunter",
    "abc",
    "abcdef",
    "pwd",
    "mypassword",
    "mysecret",
    "dev",
    "local",
    "sa",
    "oracle",
    "master",
    "login",
    "s3cret",
    "iloveyou",
    "monkey",
    "dragon",
];

/// A short value (under 12 characters) for a name-keyed rule is only a credential when it
/// mixes a letter with a digit or a symbol, is not a stand-in word, and is not code
/// (`self.pw`, `pw_value`).
pub fn is_weak_short_value(secret: &[u8]) -> bool {
    if secret.len() >= 12 {
        return false;
    }
    let letter = secret.iter().any(u8::is_ascii_alphabetic);
    let digit = secret.iter().any(u8::is_ascii_digit);
    let symbol = secret.iter().any(|b| b"!@#$%^&*+=~?".contains(b));
    if !letter || !(digit || symbol) || secret.contains(&b'.') {
        return true;
    }
    let word: String = secret
        .iter()
        .map(|&b| match b.to_ascii_lowercase() {
            b'0' => 'o',
            b'1' => 'i',
            b'3' => 'e',
            b'4' | b'@' => 'a',
            b'5' | b'$' => 's',
            b'7' => 't',
            c => c as char,
        })
        .collect();
    let core = word.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
    let core_digits = String::from_utf8_lossy(secret)
        .to_ascii_lowercase()
        .trim_end_matches(|c: char| !c.is_ascii_alphabetic())
        .to_string();
    WEAK_WORDS
        .iter()
        .any(|w| core == *w || core_digits == *w || core.replace('i', "l") == *w)
}

/// Words that, as a whole value, are code or configuration rather than a secret.
const STOPWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "password",
    "secret",
    "token",
    "string",
    "required",
    "optional",
    "default",
    "empty",
    "test",
    "testing",
    "development",
    "production",
];

/// Extra checks for rules keyed on a variable name (`generic: true`): the value must look like
/// a credential, not like code, a path, a reference, an identifier, a UUID or a hash name.
pub fn is_generic_decoy(secret: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(secret) else {
        return true;
    };
    if fails_its_checksum(secret) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    // Go and C pointer or reference types (`*rsa.PrivateKey`, `&tls.Config`) are names too.
    let name = s.trim_start_matches(['*', '&']);
    STOPWORDS.contains(&lower.as_str())
        || is_reference(s, &lower)
        || is_path_or_url(s)
        || is_uuid(s)
        || is_identifier(name)
        || is_qualified_type(name)
        || is_generic_type(name)
        || is_public_by_design(&lower)
        || lower.contains("aws4_request")
        || is_nats_jwt(s)
        || is_dummy_basic_credentials(s)
}

/// A GitHub or npm token shape whose CRC32 tail is wrong is not a token: its specific rule
/// rejected it, and a generic rule must not report it either.
fn fails_its_checksum(secret: &[u8]) -> bool {
    const CHECKSUMMED: &[&[u8]] = &[b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"npm_"];
    secret.len() == 40
        && CHECKSUMMED.iter().any(|p| secret.starts_with(p))
        && secret[4..].iter().all(u8::is_ascii_alphanumeric)
        && !super::checksum::validate("github-crc32", secret)
}

/// Keys their vendors publish in client code on purpose: a PostHog project key (`phc_`) only
/// sends events; it grants no read or admin access.
fn is_public_by_design(lower: &str) -> bool {
    lower.starts_with("phc_")
}

/// Test stubs in `Basic` headers: base64 of `user:password` where the password is a dummy
/// word (`password`, `pass`, `secret`, `test`...) or repeats the user name.
fn is_dummy_basic_credentials(secret: &str) -> bool {
    use base64::Engine;
    const DUMMY: &[&str] = &[
        "password", "pass", "passwd", "secret", "test", "testing", "admin", "changeme", "foo",
        "bar", "pwd", "1234", "12345", "123456", "passw0rd", "p@ssw0rd", "letmein",
    ];
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(secret) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&decoded) else {
        return false;
    };
    text.split_once(':').is_some_and(|(user, pass)| {
        let pass = pass.to_ascii_lowercase();
        DUMMY.contains(&pass.as_str()) || pass == user.to_ascii_lowercase()
    })
}

/// Names that hold something other than a credential although they contain a credential
/// word: hashes of secrets (`hashed_secret` in a detect-secrets baseline, `password_hash`),
/// pagination and CSRF tokens, and search-only keys (Algolia's are public by design).
pub fn is_generic_name_decoy(name: &[u8]) -> bool {
    const NOT_CREDENTIALS: &[&str] = &[
        "hash",
        "digest",
        "checksum",
        "fingerprint",
        "sha1",
        "sha256",
        "sha512",
        "md5",
        "next_token",
        "nexttoken",
        "next-token",
        "page_token",
        "pagetoken",
        "page-token",
        "continuation",
        "cursor",
        "pagination",
        "sync_token",
        "synctoken",
        "csrf",
        "xsrf",
    ];
    let lower = name.to_ascii_lowercase();
    let has = |needle: &str| memchr::memmem::find(&lower, needle.as_bytes()).is_some();
    NOT_CREDENTIALS.iter().any(|n| has(n)) || is_search_key_name(name)
}

/// `search_key`, `searchApiKey`, `ALGOLIA_SEARCH_ONLY_KEY`; not `elasticsearch_api_key`
/// (there `search` does not start a word).
fn is_search_key_name(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    memchr::memmem::find_iter(&lower, b"search").any(|i| {
        let starts_word = i == 0
            || !name[i - 1].is_ascii_alphanumeric()
            || (name[i].is_ascii_uppercase() && name[i - 1].is_ascii_lowercase());
        let rest = &lower[i + 6..];
        let rest = rest
            .strip_prefix(b"_")
            .or_else(|| rest.strip_prefix(b"-"))
            .unwrap_or(rest);
        starts_word
            && (rest.starts_with(b"key")
                || rest.starts_with(b"api")
                || rest.starts_with(b"only")
                || rest.starts_with(b"token"))
    })
}

/// A quoted key with words in it (`"One-Time Password": "..."`): a UI string in a locale file
/// or a label, not a variable. `line_prefix` runs from the start of the line to the value.
pub fn is_label_key(line_prefix: &[u8]) -> bool {
    // Walk back from the value: its opening quote, the `:`/`=`, then the quoted key.
    let mut rest = line_prefix;
    while let [head @ .., b'"' | b'\'' | b' ' | b'\t'] = rest {
        rest = head;
    }
    let (&[ref head @ .., b':' | b'='] | &[ref head @ .., b'=', b'>']) = rest else {
        return false;
    };
    let head = head.trim_ascii_end();
    let [inner @ .., quote @ (b'"' | b'\'')] = head else {
        return false;
    };
    let Some(open) = inner.iter().rposition(|b| b == quote) else {
        return false;
    };
    inner[open + 1..].trim_ascii().contains(&b' ')
}

/// `$VAR`, `%VAR%`, `env.X`, `os.getenv(...)`, `a::b`, calls: the value is looked up elsewhere.
fn is_reference(s: &str, lower: &str) -> bool {
    const LOOKUPS: &[&str] = &[
        "env.", "environ", "getenv", "process.", "secrets.", "vars.", "var.", "local.", "data.",
        "module.", "params.",
    ];
    s.starts_with('$')
        || (s.starts_with('%') && s.ends_with('%'))
        || s.contains("()")
        || s.contains("::")
        || LOOKUPS
            .iter()
            .any(|m| lower.starts_with(m) || lower.contains(&format!("({m}")))
}

/// Filesystem paths and credential-free URLs.
fn is_path_or_url(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    ["/", "./", "../", "~/"].iter().any(|p| s.starts_with(p))
        || s.contains("://")
        || (s.split('/').count() > 2 && !s.contains('+') && digits < 3)
}

/// Names rather than values: no digit and a single letter case, or words joined by
/// separators / camel case (`getPasswordFromVault`, `db_password`, `config.auth.key`).
/// A NATS user or account JWT (`alg: ed25519-nkey`) is a signed, public claim: connecting
/// needs the NKEY seed beside it, which its own rule reports.
fn is_nats_jwt(s: &str) -> bool {
    use base64::Engine as _;
    let Some(header) = s
        .strip_prefix("eyJ")
        .map(|_| s.split('.').next().unwrap_or(""))
    else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .is_ok_and(|h| memchr::memmem::find(&h, b"ed25519-nkey").is_some())
}

/// `ed25519.PrivateKey`, `crypto.Signer`, `pkcs8.EncryptedPrivateKeyInfo`: a type named
/// through its package, as in Go type aliases and annotations.
/// A generic type in a type annotation (`Cow<'_>`, `Option<String>`, `Vec<u8>`).
fn is_generic_type(s: &str) -> bool {
    let Some((head, rest)) = s.split_once('<') else {
        return false;
    };
    !head.is_empty()
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.'))
        && head.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && rest.ends_with('>')
}

/// An identifier followed by `<` is a generic type in an annotation
/// (`raw_private_key: Curve25519SeedBin<'_> = ...`), not a value.
pub fn is_type_argument_head(secret: &[u8], after: &[u8]) -> bool {
    // `<` opening a type argument, not `</` closing an XML element
    after.first() == Some(&b'<')
        && after.get(1).is_some_and(|c| *c != b'/')
        && secret.first().is_some_and(u8::is_ascii_uppercase)
        && secret
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The value spells the name it is assigned to (`X_AWS_EC2_METADATA_TOKEN =
/// "x-aws-ec2-metadata-token"`): a header or parameter name, not a secret.
pub fn value_names_itself(name: &[u8], secret: &[u8]) -> bool {
    let norm = |b: &[u8]| -> Vec<u8> {
        b.iter()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(u8::to_ascii_lowercase)
            .collect()
    };
    let v = norm(secret);
    v.len() >= 6
        && name
            .split(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))
            .any(|word| norm(word) == v)
}

fn is_qualified_type(s: &str) -> bool {
    let segments: Vec<&str> = s.split('.').collect();
    let ident = |p: &str| {
        p.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let Some(last) = segments.last() else {
        return false;
    };
    segments.len() >= 2
        && segments.iter().all(|p| ident(p) && p.len() <= 40)
        && last.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && last.bytes().skip(1).any(|b| b.is_ascii_lowercase())
        && !last.bytes().any(|b| b.is_ascii_digit())
}

fn is_identifier(s: &str) -> bool {
    if s.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let mixed_case =
        s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase());
    let wordy = s
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.'))
        && word_count(s) >= 2;
    !mixed_case || wordy
}

fn word_count(s: &str) -> usize {
    let mut words = 1;
    let mut prev_lower = false;
    for b in s.bytes() {
        if (b.is_ascii_uppercase() && prev_lower) || matches!(b, b'_' | b'-' | b'.') {
            words += 1;
        }
        prev_lower = b.is_ascii_lowercase();
    }
    words
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_must_look_like_passwords() {
        for weak in [
            "changeme",
            "Passw0rd!",
            "admin123",
            "hunter2",
            "pw_value",
            "self.pw1",
            "12345678",
            "password",
            "test1234",
        ] {
            assert!(is_weak_short_value(weak.as_bytes()), "{weak}");
        }
        for ok in ["Tr0ub4dor", "k9Xq2mLp", "zQ7!wr4vB"] {
            assert!(!is_weak_short_value(ok.as_bytes()), "{ok}");
        }
    }

    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "${{ secrets.TOKEN }}",
            "${DB_PASSWORD}",
            "$(cat /run/secrets/x)",
            "<your-token>",
            "changeme",
            "sk_live_000000000000000000000000",
            "{password}",
            "{db_pass}@localhost",
            "my_password",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for s in ["ghp_Zq3kP9xWvT2mLr8sYb4nHc7dJf1gKa0aBcDe", "hunter2Qx9!"] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn generic_decoys() {
        for d in [
            "get_password_from_vault",
            "getPasswordFromVault",
            "os.environ.get",
            "/etc/secrets/token",
            "123e4567-e89b-12d3-a456-426614174000",
            "process.env.API_TOKEN",
            "$API_TOKEN",
            "true",
            "password",
        ] {
            assert!(is_generic_decoy(d.as_bytes()), "{d}");
        }
        for s in ["q8Zr2LmX9vTp4KsW7nBc", "Xk29fLq7ZpR3wB8mYt5v"] {
            assert!(!is_generic_decoy(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn values_that_are_names_or_types() {
        assert!(value_names_itself(
            b"const X_AWS_EC2_METADATA_TOKEN: &str = \"",
            b"x-aws-ec2-metadata-token"
        ));
        assert!(!value_names_itself(b"API_TOKEN = \"", b"q8Zt2kLw9xVb4nRm"));
        assert!(is_type_argument_head(b"Curve25519SeedBin", b"<'_> = key"));
        assert!(!is_type_argument_head(b"q8Zt2kLw9xVb4nRm", b"\";"));
        assert!(!is_type_argument_head(b"HiNUhOMajvVCUrPQ", b"</apiToken>"));
        assert!(is_generic_type("Option<String>"));
        assert!(!is_generic_type("a<b"));
    }

    #[test]
    fn context_decoys() {
        for n in [
            "\"hashed_secret\": \"",
            "password_hash = ",
            "NextToken: ",
            "continuation_token=",
            "ALGOLIA_SEARCH_KEY=",
            "algoliaSearchApiKey: ",
            "csrf_token = ",
        ] {
            assert!(is_generic_name_decoy(n.as_bytes()), "{n}");
        }
        for n in ["ELASTICSEARCH_API_KEY=", "api_key = ", "researchToken="] {
            assert!(!is_generic_name_decoy(n.as_bytes()), "{n}");
        }
        assert!(is_label_key(b"    \"One-Time Password\": \""));
        assert!(is_label_key(b"{\"One-Time Password\": \""));
        assert!(is_label_key(b"  'Admin password' => '"));
        assert!(!is_label_key(b"  \"password\": \""));
        assert!(!is_label_key(b"export API_TOKEN="));
        assert!(is_generic_decoy(b"*rsa.PrivateKey"));
        assert!(is_generic_decoy(b"phc_4Lq2Zr8XkT1vWm9PbN3sYc7Jd5Hf0Ga6"));
        assert!(is_generic_decoy(b"test/20240101/us-east-1/s3/aws4_request"));
        assert!(is_generic_decoy(b"dXNlcjpwYXNzd29yZA=="));
    }
}
