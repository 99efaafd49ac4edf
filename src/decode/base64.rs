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
    let n = input.len();
    let mut from = 0;
    while let Some(body) = next_run(input, from) {
        let mut i = body.end;
        while i < n && input[i] == b'=' && i - body.end < 2 {
            i += 1;
        }
        from = i;
        let span = body.start..i;
        if body.len() > MAX_RUN || !want(&span) {
            continue;
        }
        let kinds = input[body.clone()]
            .iter()
            .fold(0u8, |k, &c| k | CLASS[c as usize]);
        if kinds & 6 == 6 {
            continue;
        }
        if let Some(text) = decode(input, body.clone(), kinds) {
            let mut b = replace_in_line(input, span, &text);
            b.text.shrink_to_fit();
            out.push((b, "base64"));
        }
    }
}

/// The first maximal run of alphabet bytes at least `MIN_RUN` long that starts at or after
/// `from`, where `from` is 0 or follows a byte outside the alphabet.
///
/// Why masks: almost no text holds such a run, so the cost is classifying every byte. A
/// 64-byte block is classified in straight-line code the compiler turns into SIMD compares,
/// and runs are then found with bit operations rather than a branch per byte.
fn next_run(input: &[u8], from: usize) -> Option<Range<usize>> {
    let start = next_run_start(input, from)?;
    let mut pos = start;
    while pos < input.len() {
        let (mask, len) = mask_at(input, pos);
        let first_outside = (!mask).trailing_zeros() as usize;
        if first_outside < len {
            return Some(start..pos + first_outside);
        }
        pos += len;
    }
    Some(start..input.len())
}

fn next_run_start(input: &[u8], from: usize) -> Option<usize> {
    // Alphabet bytes just before `pos`, the tail of a run that started at `pos - carry`.
    let mut carry = 0;
    let mut pos = from;
    while pos < input.len() {
        let (mask, len) = mask_at(input, pos);
        if carry + mask.trailing_ones() as usize >= MIN_RUN {
            return Some(pos - carry);
        }
        // Bit k of `m` set when bytes k..k + 2^j of the block all are (j = 1, 2, 3, 4).
        let mut m = mask & (mask >> 1);
        m &= m >> 2;
        m &= m >> 4;
        m &= m >> 8;
        const _: () = assert!(MIN_RUN == 16, "the shifts above count 16 bytes");
        if m != 0 {
            return Some(pos + m.trailing_zeros() as usize);
        }
        carry = if mask.trailing_ones() as usize == len {
            carry + len
        } else {
            (mask << (64 - len)).leading_ones() as usize
        };
        pos += len;
    }
    None
}

/// Bit k set when `input[pos + k]` is in either alphabet, for the (up to) 64 bytes from `pos`,
/// and how many bytes that is.
#[inline]
fn mask_at(input: &[u8], pos: usize) -> (u64, usize) {
    match input[pos..].first_chunk::<64>() {
        Some(block) => (alphabet_mask(block), 64),
        None => {
            let rest = &input[pos..];
            let mask = rest.iter().enumerate().fold(0u64, |m, (k, &c)| {
                m | ((CLASS[c as usize] != 0) as u64) << k
            });
            (mask, rest.len())
        }
    }
}

#[inline]
fn alphabet_mask(block: &[u8; 64]) -> u64 {
    // Arithmetic rather than the CLASS table: comparisons vectorise, table lookups do not.
    let lanes = block.map(|c| {
        let letter = (c | 0x20).wrapping_sub(b'a') < 26;
        let digit = c.wrapping_sub(b'0') < 10;
        (letter | digit | (c | 4 == b'/') | (c == b'-') | (c == b'_')) as u8
    });
    let mut mask = 0u64;
    for (q, eight) in lanes.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // Gathers the low bit of each byte into the top byte.
        mask |= (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * q);
    }
    mask
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

    /// The mask-based run finder agrees with a byte-by-byte one, runs across block edges and
    /// at the end of the input included.
    #[test]
    fn runs_match_a_byte_by_byte_search() {
        fn naive(input: &[u8]) -> Vec<Range<usize>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < input.len() {
                let start = i;
                while i < input.len() && CLASS[input[i] as usize] != 0 {
                    i += 1;
                }
                if i - start >= MIN_RUN {
                    out.push(start..i);
                }
                i = i.max(start + 1);
            }
            out
        }
        fn ours(input: &[u8]) -> Vec<Range<usize>> {
            let mut out = Vec::new();
            let mut from = 0;
            while let Some(r) = next_run(input, from) {
                from = r.end;
                out.push(r);
            }
            out
        }
        let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next_u64();
        for c in 0..=255u8 {
            let in_alphabet = CLASS[c as usize] != 0;
            assert_eq!(alphabet_mask(&[c; 64]) == u64::MAX, in_alphabet, "{c:#x}");
        }
        for _ in 0..3000 {
            let len = (next() % 400) as usize;
            // Mostly alphabet bytes with a varying density of breaks, so runs of every length
            // near MIN_RUN and near the 64-byte blocks occur.
            let breaks = 2 + next() % 40;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    if next() % breaks == 0 {
                        b" =.\n\xff\"@"[(next() % 7) as usize]
                    } else {
                        b"aZ09+/-_Qx"[(next() % 10) as usize]
                    }
                })
                .collect();
            assert_eq!(
                ours(&input),
                naive(&input),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
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
