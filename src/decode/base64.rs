//! Base64 runs (standard or URL-safe alphabet, padded or not) long enough to hold a secret,
//! kept only when they decode to text.

use super::{mostly_printable, replace_in_line, Builder};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use std::ops::Range;

/// Shorter runs decode to fewer than 12 bytes: too little for a credential worth decoding.
const MIN_RUN: usize = 16;
/// Longer runs are data (images, archives), not a wrapped secret.
const MAX_RUN: usize = 64 * 1024;

const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

/// Byte classes: 1 both alphabets, 2 standard only (`+/`), 4 URL-safe only (`-_`).
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_alphanumeric() {
            1
        } else if c == b'+' || c == b'/' {
            2
        } else if c == b'-' || c == b'_' {
            4
        } else {
            0
        };
        i += 1;
    }
    t
};

pub(super) fn views(
    input: &[u8],
    want: &dyn Fn(&Range<usize>) -> bool,
    out: &mut Vec<(Builder, &'static str)>,
) {
    // `i` always starts a possible run (it follows a byte outside the alphabet). A run of
    // MIN_RUN bytes from `i` needs every byte of `i..i + MIN_RUN`: looking backwards from the
    // window's end for one that is not, and jumping past it, skips most text unread.
    let mut i = 0;
    let n = input.len();
    while i + MIN_RUN <= n {
        if let Some(q) = input[i..i + MIN_RUN]
            .iter()
            .rposition(|&c| CLASS[c as usize] == 0)
        {
            i += q + 1;
            continue;
        }
        let start = i;
        let mut kinds = 0u8;
        while i < n && CLASS[input[i] as usize] != 0 {
            kinds |= CLASS[input[i] as usize];
            i += 1;
        }
        let body = start..i;
        while i < n && input[i] == b'=' && i - body.end < 2 {
            i += 1;
        }
        let span = start..i;
        if body.len() < MIN_RUN || body.len() > MAX_RUN || kinds & 6 == 6 || !want(&span) {
            continue;
        }
        if let Some(text) = decode(input, body.clone(), kinds) {
            let mut b = replace_in_line(input, span, &text);
            b.text.shrink_to_fit();
            out.push((b, "base64"));
        }
    }
}

/// The decoded text of a run, if it plausibly is base64 of text.
fn decode(input: &[u8], body: Range<usize>, kinds: u8) -> Option<Vec<u8>> {
    let run = &input[body.clone()];
    // DER starts with a SEQUENCE (`MI...`, `MH...`); a key takes well over 100 characters.
    let der_like = run.len() >= 100 && (run.starts_with(b"MI") || run.starts_with(b"MH"));
    if run.len() % 4 == 1 || !(der_like || text_shaped(run)) || is_jwt_segment(input, &body) {
        return None;
    }
    let engine = if kinds & 4 != 0 { &URL_SAFE } else { &STANDARD };
    let bytes = engine.decode(run).ok()?;
    if mostly_printable(&bytes) {
        return Some(bytes);
    }
    if !der_like {
        return None;
    }
    // A bare DER private key (a PEM body without its armour, as code embeds it): shown to
    // the rules in its PEM form.
    private_key_label(&bytes).map(|label| armour(label, run))
}

/// The PEM label of a DER private key: PKCS#1 RSA, SEC1 EC or PKCS#8 (a SEQUENCE whose first
/// element is the version INTEGER, where public keys and certificates start with a SEQUENCE).
fn private_key_label(der: &[u8]) -> Option<&'static str> {
    let body = match der {
        [0x30, 0x82, _, _, rest @ ..] => rest,
        [0x30, 0x81, _, rest @ ..] => rest,
        [0x30, n, rest @ ..] if *n < 0x80 => rest,
        _ => return None,
    };
    match body {
        [0x02, 0x01, 0x00, 0x02, ..] => Some("RSA PRIVATE KEY"),
        [0x02, 0x01, 0x01, 0x04, ..] => Some("EC PRIVATE KEY"),
        [0x02, 0x01, 0x00 | 0x01, 0x30, ..] => Some("PRIVATE KEY"),
        _ => None,
    }
}

fn armour(label: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("-----BEGIN {label}-----\n").into_bytes();
    for line in body.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {label}-----").as_bytes());
    out
}

/// Base64 of printable ASCII starts every 4-character group with one of `I-Za-f` (the top
/// six bits of a byte in 0x20..0x7f): identifiers, hex and words almost never do.
fn text_shaped(run: &[u8]) -> bool {
    let groups = run.chunks(4).take(16);
    let (mut total, mut good) = (0, 0);
    for g in groups {
        total += 1;
        if matches!(g[0], b'I'..=b'Z' | b'a'..=b'f') {
            good += 1;
        }
    }
    // Case and digits mixed, as base64 of text always is.
    let upper = run.iter().any(u8::is_ascii_uppercase);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    upper && lower && good * 10 >= total * 9
}

/// The header or claims of a JWT decode to JSON that holds no secret: the token is for the
/// JWT rules.
fn is_jwt_segment(input: &[u8], body: &Range<usize>) -> bool {
    let before = body.start.checked_sub(1).map(|i| input[i]);
    let after = input.get(body.end).copied();
    before == Some(b'.') || (after == Some(b'.') && input[body.clone()].starts_with(b"eyJ"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<String> {
        crate::decode::texts_of(views, s)
    }

    #[test]
    fn decodes_padded_unpadded_and_url_safe() {
        let plain = "svc:Zk3pQ9wV2mLr8sYb4nHq?>";
        let std = base64::engine::general_purpose::STANDARD.encode(plain);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain);
        assert_eq!(run(&format!("auth: {std}")), [format!("auth: {plain}")]);
        assert_eq!(run(&format!("auth: {url}")), [format!("auth: {plain}")]);
    }

    #[test]
    fn bare_der_private_keys_are_armoured_public_keys_are_not() {
        let mut der = vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0d];
        der.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let views = run(&format!("key = \"{b64}\""));
        assert!(
            views[0].contains("-----BEGIN PRIVATE KEY-----\n"),
            "{views:?}"
        );
        let mut spki = vec![0x30, 0x82, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09];
        spki.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&spki);
        assert!(run(&format!("key = \"{b64}\"")).is_empty());
    }

    #[test]
    fn leaves_binary_identifiers_and_hex_alone() {
        assert!(run("AbstractSingletonProxyFactoryBean extends Base").is_empty());
        assert!(run("sha = e2d2edcd081bedf05361dad0a7355a1f2ab34c88").is_empty());
        let bin = base64::engine::general_purpose::STANDARD.encode([
            0x89u8, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ]);
        assert!(run(&format!("img: {bin}")).is_empty());
        assert!(run("x = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig").is_empty());
    }
}
