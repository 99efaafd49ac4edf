//! What a file's name says it holds: files whose values are hashes, translations or
//! dependency pins, where a name-keyed (generic) match is noise by construction.

/// Other scanners' baselines and ignore files: hashes and fingerprints of secrets.
const SCANNER_FILES: &[&str] = &[
    ".secrets.baseline",
    ".gitleaksignore",
    ".gitleaks-baseline.json",
    "gitleaks-baseline.json",
    ".trufflehogignore",
    ".talismanrc",
    ".gitguardian.yaml",
    ".gitguardian.yml",
    ".cache_ggshield",
    ".betterleaksignore",
    ".keysweep-baseline.json",
];

/// Dependency lockfiles: integrity hashes and resolved versions.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "Cargo.lock",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "pdm.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "packages.lock.json",
    "gradle.lockfile",
    "flake.lock",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "Package.resolved",
];

/// Directories of UI translations.
const LOCALE_DIRS: &[&str] = &[
    "locales",
    "locale",
    "i18n",
    "l10n",
    "lang",
    "langs",
    "translations",
    "messages",
];

/// Extensions of translation catalogues.
const LOCALE_EXTS: &[&str] = &["po", "pot", "xliff", "xlf", "strings", "arb"];

/// Why the generic rules stay silent in a file, if they do.
pub fn generic_quiet_reason(path: &str) -> Option<&'static str> {
    let norm = path.replace('\\', "/");
    let name = norm.rsplit('/').next().unwrap_or(&norm);
    if SCANNER_FILES.contains(&name) {
        return Some("scanner baseline");
    }
    if LOCKFILES.contains(&name) {
        return Some("lockfile");
    }
    if name.ends_with(".min.js") || name.ends_with(".min.mjs") {
        return Some("minified bundle");
    }
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    if LOCALE_EXTS.contains(&ext) || is_locale_bundle(&norm, name, ext) {
        return Some("locale bundle");
    }
    None
}

/// `locales/de.json`, `i18n/pt-BR.yml`, `messages_fr.properties`, `en-US.json`.
fn is_locale_bundle(path: &str, name: &str, ext: &str) -> bool {
    if !matches!(
        ext,
        "json" | "yml" | "yaml" | "properties" | "toml" | "js" | "ts"
    ) {
        return false;
    }
    let stem = &name[..name.len() - ext.len() - 1];
    let in_locale_dir = path
        .split('/')
        .rev()
        .skip(1)
        .any(|d| LOCALE_DIRS.contains(&d.to_ascii_lowercase().as_str()));
    in_locale_dir
        || is_language_tag(stem)
        || stem
            .rsplit_once('_')
            .is_some_and(|(base, tag)| base == "messages" && is_language_tag(tag))
}

/// Common ISO 639-1 codes, for translation files named by a bare language (`de.json`).
const LANGUAGES: &[&str] = &[
    "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "he", "hi",
    "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "nb", "nl", "no", "pl", "pt", "ro", "ru",
    "sk", "sl", "sr", "sv", "th", "tr", "uk", "vi", "zh",
];

/// `de`, `pt-BR`, `zh_Hant`, `en-US`: a language tag, as translation files are named.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let lang = parts.next().unwrap_or("");
    let region: Vec<&str> = parts.collect();
    LANGUAGES.contains(&lang)
        && region.len() <= 1
        && region
            .iter()
            .all(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_silence_generic_rules() {
        for p in [
            ".secrets.baseline",
            "web/package-lock.json",
            "app/locales/de.json",
            "src/i18n/pt-BR.yml",
            "res/messages_fr.properties",
            "static/vendor.min.js",
            "po/fr.po",
            "public/en-US.json",
        ] {
            assert!(generic_quiet_reason(p).is_some(), "{p}");
        }
        for p in [
            "config/settings.json",
            ".env",
            "app.yml",
            "src/main.rs",
            "deploy/values.yaml",
            "secrets.json",
        ] {
            assert!(generic_quiet_reason(p).is_none(), "{p}");
        }
    }
}
