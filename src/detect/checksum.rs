//! Offline structural checks for token formats that carry a checksum or a decodable body.
//! A token that fails its check is a typo, a test fixture or a decoy — not a secret.

use base64::Engine as _;

/// The validator names a rule may use in its `checksum` field.
pub const VALIDATORS: &[&str] = &[
    "github-crc32",
    "npm-crc32",
    "pypi-macaroon",
    "jwt",
    "nkey-crc16",
];

/// Runs the named validator. Unknown names are rejected when rules are checked.
pub fn validate(name: &str, secret: &[u8]) -> bool {
    match name {
        "github-crc32" | "npm-crc32" => crc32_base62_tail(secret),
        "pypi-macaroon" => pypi_macaroon(secret),
        "jwt" => jwt(secret),
        "nkey-crc16" => nkey_crc16(secret),
        _ => true,
    }
}

/// NATS NKEYs: base32 (RFC 4648, no padding) of the prefix bytes and key, then its CRC-16
/// (XMODEM), little-endian.
fn nkey_crc16(secret: &[u8]) -> bool {
    let Some(raw) = base32_decode(secret) else {
        return false;
    };
    if raw.len() < 4 {
        return false;
    }
    let (body, crc) = raw.split_at(raw.len() - 2);
    crc16_xmodem(body) == u16::from_le_bytes([crc[0], crc[1]])
}

fn base32_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Canonical encodings leave the unused low bits zero.
    (acc == 0).then_some(out)
}

/// CRC-16/XMODEM (polynomial 0x1021, initial 0), as the NATS nkeys library computes it.
pub fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 encoding of `n`, left-padded with '0' to `width`.
pub fn base62(mut n: u64, width: usize) -> String {
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base62 is ASCII")
}

/// GitHub (`ghp_` ...) and npm (`npm_`) tokens: `prefix_` + 30 random base62 characters + the
/// 6-character base62 CRC32 of those 30 characters.
fn crc32_base62_tail(secret: &[u8]) -> bool {
    let Some(us) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() < 7 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (random, tail) = body.split_at(body.len() - 6);
    base62(u64::from(crc32fast::hash(random)), 6).as_bytes() == tail
}

fn b64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = s.iter().copied().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&trimmed))
        .ok()
}

/// PyPI API tokens are `pypi-` + a base64url macaroon whose location is (test.)pypi.org.
fn pypi_macaroon(secret: &[u8]) -> bool {
    let Some(body) = secret.strip_prefix(b"pypi-") else {
        return false;
    };
    let Some(bytes) = b64url_decode(body) else {
        return false;
    };
    // Macaroon v2 binary: version byte 2, then field 1 (location) with a varint length.
    bytes.len() > 32
        && bytes[0] == 2
        && bytes[1] == 1
        && (bytes[3..].starts_with(b"pypi.org") || bytes[3..].starts_with(b"test.pypi.org"))
}

/// A JWT: header and payload are base64url JSON objects, the header names its `alg`.
fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(_sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let json_object = |part: &[u8]| -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(&b64url_decode(part)?).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    };
    matches!(json_object(header), Some(h) if h.contains_key("alg"))
        && json_object(payload).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github_token(prefix: &str, random: &str) -> String {
        format!(
            "{prefix}_{random}{}",
            base62(u64::from(crc32fast::hash(random.as_bytes())), 6)
        )
    }

    #[test]
    fn github_checksum_roundtrip() {
        let t = github_token("ghp", "Zq3kP9xWvT2mLr8sYb4nHc7dJf1gKa");
        assert_eq!(t.len(), 40);
        assert!(validate("github-crc32", t.as_bytes()));
        let mut bad = t.into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert!(!validate("github-crc32", &bad));
    }

    #[test]
    fn base62_pads() {
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 2), "0z");
        assert_eq!(base62(62, 1), "10");
    }

    #[test]
    fn jwt_shape() {
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"42"}"#);
        assert!(validate("jwt", format!("{h}.{p}.c2lnbmF0dXJl").as_bytes()));
        assert!(!validate("jwt", format!("{p}.{p}.c2ln").as_bytes()));
        assert!(!validate("jwt", b"eyJhbGciOi.eyJzdWIi"));
    }

    #[test]
    fn pypi_shape() {
        let mut mac = vec![2u8, 1, 8];
        mac.extend_from_slice(b"pypi.org");
        mac.extend_from_slice(&[7u8; 60]);
        let tok = format!(
            "pypi-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac)
        );
        assert!(validate("pypi-macaroon", tok.as_bytes()));
        assert!(!validate("pypi-macaroon", b"pypi-AgEIcHlwaS5vcmc"));
    }
}
