//! Deterministic synthetic corpora for keysweep's accuracy test and benchmarks.
//!
//! std-only on purpose (own PRNG, CRC32 and base64) so that it can be included
//! with `#[path = ...] mod corpus;` from an integration test, from the
//! `gen-corpus` example, or compiled stand-alone with plain `rustc`.
//!
//! * [`accuracy_corpus`] writes a few thousand realistic files (many languages
//!   and config formats) with planted TRUE secrets (valid formats/checksums) and
//!   about as many HARD DECOYS, and returns the list of true secrets.
//! * [`bulk_corpus`] writes a large realistic tree for throughput benchmarks.
//!
//! Same seed => byte-identical output. All secrets are synthetic random strings.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One planted true secret. `path` is relative to the corpus root with '/'
/// separators; `secret` is exactly what a scanner should report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planted {
    pub path: String,
    pub secret: String,
    pub family: String,
}

/// Rule families (rule file stems).
pub const FAMILIES: [&str; 16] = [
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
];

// ---------------------------------------------------------------------------
// PRNG (splitmix64)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Rng {
    s: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            s: seed ^ 0x6A09_E667_F3BC_C908,
        }
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.s = self.s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (0 when n <= 1).
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// Uniform in lo..=hi.
    #[inline]
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }
    #[inline]
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub fn fork(&mut self) -> Rng {
        Rng { s: self.next_u64() }
    }
    pub fn chars(&mut self, alpha: &[u8], n: usize) -> String {
        let mut s = String::with_capacity(n);
        for _ in 0..n {
            s.push(alpha[self.below(alpha.len())] as char);
        }
        s
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }
    /// Index chosen with the given relative weights.
    pub fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u32 = w.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, &wi) in w.iter().enumerate() {
            if x < wi {
                return i;
            }
            x -= wi;
        }
        w.len() - 1
    }
    /// Log-uniform integer in lo..=hi.
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (l, h) = ((lo.max(1)) as f64, (hi.max(lo + 1)) as f64);
        let u = ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64);
        (l * (h / l).powf(u)) as u64
    }
}

// ---------------------------------------------------------------------------
// CRC32 (IEEE), base64, base62
// ---------------------------------------------------------------------------

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC_TABLE: [u32; 256] = crc_table();

pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn base64(data: &[u8], url: bool, pad: bool) -> String {
    let a = if url { B64_URL } else { B64_STD };
    let mut s = String::with_capacity(data.len() * 4 / 3 + 4);
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        s.push(a[(n >> 18) as usize & 63] as char);
        s.push(a[(n >> 12) as usize & 63] as char);
        if ch.len() > 1 {
            s.push(a[(n >> 6) as usize & 63] as char);
        } else if pad {
            s.push('=');
        }
        if ch.len() > 2 {
            s.push(a[n as usize & 63] as char);
        } else if pad {
            s.push('=');
        }
    }
    s
}

pub const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const HEXU: &[u8] = b"0123456789ABCDEF";
const B32U: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPAN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOAN: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64C: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PWCH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+@%^";
const BECH32U: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// Base62 (0-9A-Za-z) of `n`, left-padded with '0' to `width`.
pub fn base62(mut n: u32, width: usize) -> String {
    let mut v = Vec::new();
    while n > 0 {
        v.push(B62[(n % 62) as usize]);
        n /= 62;
    }
    while v.len() < width {
        v.push(b'0');
    }
    v.reverse();
    String::from_utf8(v).unwrap()
}

/// GitHub / npm style token: prefix + 30 base62 + base62(CRC32(those 30), 6).
pub fn crc_token(prefix: &str, body30: &str) -> String {
    format!("{prefix}{body30}{}", base62(crc32(body30.as_bytes()), 6))
}

// ---------------------------------------------------------------------------
// Placeholder avoidance for true secrets
// ---------------------------------------------------------------------------

const PLACEHOLDER_MARKERS: [&str; 20] = [
    "example",
    "xxxx",
    "****",
    "changeme",
    "your_",
    "your-",
    "<",
    ">",
    "${",
    "{{",
    "$(",
    "redacted",
    "dummy",
    "placeholder",
    "test",
    "fake",
    "sample",
    "demo",
    "secret",
    "password",
];

/// Conservative superset of the engine's placeholder filter: anything that
/// matches must never be used as a TRUE secret.
pub fn looks_placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS.iter().any(|m| l.contains(m)) {
        return true;
    }
    let b = s.as_bytes();
    for w in b.windows(4) {
        if w[0] == w[1] && w[1] == w[2] && w[2] == w[3] {
            return true;
        }
    }
    for w in b.windows(5) {
        let up = (1..5).all(|i| w[i] == w[i - 1].wrapping_add(1));
        let down = (1..5).all(|i| w[i] == w[i - 1].wrapping_sub(1));
        if up || down {
            return true;
        }
    }
    false
}

/// Only the markers the engine documents, for long blobs (PEM bodies).
fn engine_placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    [
        "example",
        "xxxx",
        "changeme",
        "your_",
        "your-",
        "redacted",
        "dummy",
        "placeholder",
        "****",
    ]
    .iter()
    .any(|m| l.contains(m))
}

/// Random clean string from `alpha`.
fn rs(rng: &mut Rng, alpha: &[u8], n: usize) -> String {
    loop {
        let s = rng.chars(alpha, n);
        if !looks_placeholder(&s) {
            return s;
        }
    }
}

/// Random clean string with at least one upper, one lower and one digit.
fn rsm(rng: &mut Rng, alpha: &[u8], n: usize) -> String {
    loop {
        let s = rng.chars(alpha, n);
        let b = s.as_bytes();
        let ok = b.iter().any(|c| c.is_ascii_uppercase())
            && b.iter().any(|c| c.is_ascii_lowercase())
            && b.iter().any(|c| c.is_ascii_digit());
        if ok && !looks_placeholder(&s) {
            return s;
        }
    }
}

fn hexs(rng: &mut Rng, n: usize) -> String {
    loop {
        let s = rng.chars(HEX, n);
        // hex strings need both letters and digits to look like a real token
        let b = s.as_bytes();
        if b.iter().any(|c| c.is_ascii_digit())
            && b.iter().any(|c| c.is_ascii_lowercase())
            && !looks_placeholder(&s)
        {
            return s;
        }
    }
}

fn uuid(rng: &mut Rng) -> String {
    let h = rng.chars(HEX, 32);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        *rng.pick(&["8", "9", "a", "b"]),
        &h[17..20],
        &h[20..32]
    )
}

fn digits(rng: &mut Rng, n: usize) -> String {
    let mut s = String::new();
    s.push((b'1' + rng.below(9) as u8) as char);
    s.push_str(&rng.chars(DIGITS, n - 1));
    s
}

// ---------------------------------------------------------------------------
// Structured secrets: PEM keys, JWTs, macaroons
// ---------------------------------------------------------------------------

fn wrap(b: &str, width: usize) -> String {
    let mut s = String::with_capacity(b.len() + b.len() / width + 1);
    for (i, ch) in b.as_bytes().chunks(width).enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(std::str::from_utf8(ch).unwrap());
    }
    s
}

fn pem_block(label: &str, body_b64: &str, width: usize) -> String {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----",
        wrap(body_b64, width)
    )
}

fn der_with_prefix(rng: &mut Rng, prefix: &[u8], total: usize) -> Vec<u8> {
    let mut v = prefix.to_vec();
    let r = rng.bytes(total - prefix.len());
    v.extend_from_slice(&r);
    v
}

fn ssh_string(v: &mut Vec<u8>, s: &[u8]) {
    v.extend_from_slice(&(s.len() as u32).to_be_bytes());
    v.extend_from_slice(s);
}

/// A private key PEM block (multi-line, BEGIN..END, no trailing newline).
/// kind: 0 RSA PKCS#1, 1 PKCS#8 RSA, 2 EC, 3 PKCS#8 EC, 4 OpenSSH ed25519, 5 PGP
pub fn private_key_pem(rng: &mut Rng, kind: usize) -> String {
    loop {
        let p = match kind {
            0 => {
                let der = der_with_prefix(
                    rng,
                    &[
                        0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00,
                    ],
                    1192,
                );
                pem_block("RSA PRIVATE KEY", &base64(&der, false, true), 64)
            }
            1 => {
                let der = der_with_prefix(
                    rng,
                    &[
                        0x30, 0x82, 0x04, 0xbe, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a,
                        0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x82,
                        0x04, 0xa8, 0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01,
                        0x01, 0x00,
                    ],
                    1218,
                );
                pem_block("PRIVATE KEY", &base64(&der, false, true), 64)
            }
            2 => {
                let mut der = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
                der.extend(rng.bytes(32));
                der.extend_from_slice(&[
                    0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0xa1,
                    0x44, 0x03, 0x42, 0x00, 0x04,
                ]);
                der.extend(rng.bytes(64));
                pem_block("EC PRIVATE KEY", &base64(&der, false, true), 64)
            }
            3 => {
                let mut der = vec![
                    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
                    0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
                ];
                der.extend(rng.bytes(32));
                der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00, 0x04]);
                der.extend(rng.bytes(64));
                pem_block("PRIVATE KEY", &base64(&der, false, true), 64)
            }
            4 => {
                let pubk = rng.bytes(32);
                let privk = rng.bytes(32);
                let mut pubblob = Vec::new();
                ssh_string(&mut pubblob, b"ssh-ed25519");
                ssh_string(&mut pubblob, &pubk);
                let mut v = b"openssh-key-v1\0".to_vec();
                ssh_string(&mut v, b"none");
                ssh_string(&mut v, b"none");
                ssh_string(&mut v, b"");
                v.extend_from_slice(&1u32.to_be_bytes());
                ssh_string(&mut v, &pubblob);
                let mut prv = Vec::new();
                let check = rng.bytes(4);
                prv.extend_from_slice(&check);
                prv.extend_from_slice(&check);
                ssh_string(&mut prv, b"ssh-ed25519");
                ssh_string(&mut prv, &pubk);
                let mut full = privk.clone();
                full.extend_from_slice(&pubk);
                ssh_string(&mut prv, &full);
                let comment = format!(
                    "{}@{}",
                    rng.pick(&["deploy", "ci", "jenkins", "admin", "build"]),
                    rng.pick(&["bastion", "runner-03", "build-host", "laptop", "ops"])
                );
                ssh_string(&mut prv, comment.as_bytes());
                let mut i = 1u8;
                while prv.len() % 8 != 0 {
                    prv.push(i);
                    i += 1;
                }
                ssh_string(&mut v, &prv);
                pem_block("OPENSSH PRIVATE KEY", &base64(&v, false, true), 70)
            }
            _ => {
                let mut pkt = vec![0x95, 0x03, 0x98, 0x04];
                pkt.extend(rng.bytes(4 + 900));
                let b = base64(&pkt, false, true);
                let crc = rng.bytes(3);
                format!(
                    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n={}\n-----END PGP PRIVATE KEY BLOCK-----",
                    wrap(&b, 64),
                    base64(&crc, false, true)
                )
            }
        };
        if !engine_placeholder(&p) {
            return p;
        }
    }
}

/// Non-secret PEM: public keys and certificates (decoys).
pub fn public_pem(rng: &mut Rng, kind: usize) -> String {
    match kind % 3 {
        0 => {
            let der = der_with_prefix(
                rng,
                &[
                    0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                    0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82,
                    0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00,
                ],
                294,
            );
            pem_block("PUBLIC KEY", &base64(&der, false, true), 64)
        }
        1 => {
            let der = der_with_prefix(
                rng,
                &[
                    0x30, 0x82, 0x03, 0x6b, 0x30, 0x82, 0x02, 0x53, 0xa0, 0x03, 0x02, 0x01, 0x02,
                    0x02, 0x14,
                ],
                879,
            );
            pem_block("CERTIFICATE", &base64(&der, false, true), 64)
        }
        _ => {
            let der = der_with_prefix(
                rng,
                &[
                    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
                    0x04,
                ],
                91,
            );
            pem_block("PUBLIC KEY", &base64(&der, false, true), 64)
        }
    }
}

pub fn ssh_public_key(rng: &mut Rng) -> String {
    let user = *rng.pick(&[
        "deploy@ci",
        "alice@laptop",
        "ops@bastion",
        "jenkins@build-01",
        "git@runner",
    ]);
    if rng.chance(0.5) {
        let mut v = Vec::new();
        ssh_string(&mut v, b"ssh-rsa");
        ssh_string(&mut v, &[1, 0, 1]);
        let mut n = vec![0u8];
        n.extend(rng.bytes(256));
        n[1] |= 0x80;
        ssh_string(&mut v, &n);
        format!("ssh-rsa {} {user}", base64(&v, false, true))
    } else {
        let mut v = Vec::new();
        ssh_string(&mut v, b"ssh-ed25519");
        ssh_string(&mut v, &rng.bytes(32));
        format!("ssh-ed25519 {} {user}", base64(&v, false, true))
    }
}

fn b64url_json(s: &str) -> String {
    base64(s.as_bytes(), true, false)
}

/// Kubernetes service-account style JWT (RS256).
pub fn jwt_k8s(rng: &mut Rng) -> String {
    let kid = rs(rng, URLSAFE, 43);
    let ns = *rng.pick(&[
        "ci",
        "deploy",
        "argocd",
        "monitoring",
        "kube-system",
        "payments",
    ]);
    let sa = *rng.pick(&[
        "deployer",
        "ci-bot",
        "release-manager",
        "argocd-manager",
        "prometheus",
    ]);
    let iat = 1_700_000_000 + rng.below(60_000_000) as u64;
    let header = format!("{{\"alg\":\"RS256\",\"kid\":\"{kid}\"}}");
    let payload = format!(
        "{{\"aud\":[\"https://kubernetes.default.svc.cluster.local\"],\"exp\":{},\"iat\":{iat},\"iss\":\"https://kubernetes.default.svc.cluster.local\",\"kubernetes.io\":{{\"namespace\":\"{ns}\",\"serviceaccount\":{{\"name\":\"{sa}\",\"uid\":\"{}\"}}}},\"nbf\":{iat},\"sub\":\"system:serviceaccount:{ns}:{sa}\"}}",
        iat + 31_536_000,
        uuid(rng)
    );
    format!(
        "{}.{}.{}",
        b64url_json(&header),
        b64url_json(&payload),
        base64(&rng.bytes(256), true, false)
    )
}

fn varint(v: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        v.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    v.push(n as u8);
}

fn mac_field(v: &mut Vec<u8>, ty: u8, data: &[u8]) {
    v.push(ty);
    varint(v, data.len());
    v.extend_from_slice(data);
}

/// PyPI API token: `pypi-` + base64url(macaroon v2 with location pypi.org).
pub fn pypi_token(rng: &mut Rng) -> String {
    let mut v = vec![0x02];
    mac_field(&mut v, 1, b"pypi.org");
    let id = format!("{{\"nonce\": \"{}\", \"version\": 1}}", rng.chars(HEX, 32));
    let id = if rng.chance(0.5) { uuid(rng) } else { id };
    mac_field(&mut v, 2, id.as_bytes());
    v.push(0);
    let cav = if rng.chance(0.5) {
        "{\"version\": 1, \"permissions\": \"user\"}".to_string()
    } else {
        format!(
            "{{\"version\": 1, \"permissions\": {{\"projects\": [\"{}\"]}}}}",
            rng.pick(&[
                "acme-client",
                "billing-sdk",
                "ledgerkit",
                "orbit-cli",
                "tidy-schemas"
            ])
        )
    };
    mac_field(&mut v, 2, cav.as_bytes());
    v.push(0);
    if rng.chance(0.5) {
        let c2 = format!(
            "{{\"nbf\": {}, \"exp\": {}}}",
            1_700_000_000 + rng.below(1000),
            1_800_000_000 + rng.below(1000)
        );
        mac_field(&mut v, 2, c2.as_bytes());
        v.push(0);
    }
    v.push(0);
    mac_field(&mut v, 6, &rng.bytes(32));
    format!("pypi-{}", base64(&v, true, false))
}

// ---------------------------------------------------------------------------
// Items: values to embed in files (true secrets and decoys)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Val {
    /// Single-line literal.
    Lit(String),
    /// Multi-line PEM literal (BEGIN..END, no trailing newline).
    Pem(String),
    /// Read from the environment / template reference (never a secret).
    Env(String),
}

#[derive(Clone, Debug)]
struct Item {
    /// Canonical UPPER_SNAKE variable name, restyled per file format.
    name: String,
    val: Val,
    /// Some(family) for a TRUE secret.
    fam: Option<&'static str>,
    /// What the scanner should report (true secrets only).
    secret: String,
    /// Detection depends on the variable name: keep name and value on one line.
    keyed: bool,
    /// Item must go into a file of this kind.
    only: Option<Kind>,
}

fn tru(name: &str, v: String, fam: &'static str, keyed: bool) -> Item {
    Item {
        name: name.to_string(),
        secret: v.clone(),
        val: Val::Lit(v),
        fam: Some(fam),
        keyed,
        only: None,
    }
}
fn tru_in(name: &str, v: String, secret: String, fam: &'static str) -> Item {
    Item {
        name: name.to_string(),
        secret,
        val: Val::Lit(v),
        fam: Some(fam),
        keyed: false,
        only: None,
    }
}
fn tru_pem(name: &str, pem: String, fam: &'static str) -> Item {
    Item {
        name: name.to_string(),
        secret: pem.clone(),
        val: Val::Pem(pem),
        fam: Some(fam),
        keyed: false,
        only: None,
    }
}
fn dec(name: &str, v: String) -> Item {
    Item {
        name: name.to_string(),
        secret: String::new(),
        val: Val::Lit(v),
        fam: None,
        keyed: false,
        only: None,
    }
}
fn dec_pem(name: &str, pem: String) -> Item {
    Item {
        name: name.to_string(),
        secret: String::new(),
        val: Val::Pem(pem),
        fam: None,
        keyed: false,
        only: None,
    }
}
fn dec_env(name: &str) -> Item {
    Item {
        name: name.to_string(),
        secret: String::new(),
        val: Val::Env(name.to_string()),
        fam: None,
        keyed: false,
        only: None,
    }
}

fn only(mut v: Vec<Item>, k: Kind) -> Vec<Item> {
    for it in v.iter_mut() {
        it.only = Some(k);
    }
    v
}

fn pname<'a>(rng: &mut Rng, xs: &'a [&'a str]) -> &'a str {
    xs[rng.below(xs.len())]
}

fn db_password(rng: &mut Rng) -> String {
    let n = rng.range(16, 28);
    loop {
        let mut s = rsm(rng, B62, n);
        if rng.chance(0.3) {
            let pos = rng.range(2, n - 2);
            let c = *rng.pick(&["-", "_", "."]);
            s.replace_range(pos..pos + 1, c);
        }
        if !looks_placeholder(&s) {
            return s;
        }
    }
}

fn generic_value(rng: &mut Rng) -> String {
    match rng.weighted(&[6, 2, 2]) {
        0 => {
            let n = rng.range(32, 48);
            rsm(rng, B62, n)
        }
        1 => loop {
            let n = rng.range(24, 40);
            let s = base64(&rng.bytes(n), false, true);
            if !looks_placeholder(&s) && s.bytes().any(|c| c.is_ascii_digit()) {
                return s;
            }
        },
        _ => loop {
            let n = rng.range(20, 30);
            let s = rsm(rng, PWCH, n);
            let first = s.as_bytes()[0];
            if first.is_ascii_alphanumeric() && !looks_placeholder(&s) {
                return s;
            }
        },
    }
}

const GENERIC_NAMES: [&str; 26] = [
    "API_SECRET",
    "APP_SECRET",
    "CLIENT_SECRET",
    "SECRET_KEY",
    "AUTH_TOKEN",
    "ACCESS_TOKEN",
    "API_KEY",
    "PRIVATE_TOKEN",
    "SIGNING_SECRET",
    "ENCRYPTION_KEY",
    "JWT_SECRET",
    "SESSION_SECRET",
    "WEBHOOK_SECRET",
    "MASTER_KEY",
    "DB_PASSWORD",
    "ADMIN_PASSWORD",
    "SMTP_PASSWORD",
    "REDIS_PASSWORD",
    "PARTNER_API_KEY",
    "INTERNAL_SERVICE_TOKEN",
    "HMAC_SECRET",
    "OAUTH_CLIENT_SECRET",
    "LDAP_BIND_PASSWORD",
    "SERVICE_ACCOUNT_PASSWORD",
    "API_SECRET_KEY",
    "APP_KEY_SECRET",
];

const HOSTS: [&str; 8] = [
    "db.internal",
    "10.0.3.12",
    "pg-primary.data.svc.cluster.local",
    "orders-db.prod.acme.io",
    "127.0.0.1",
    "db",
    "mysql-0.mysql.default.svc",
    "warehouse.internal.acme.io",
];

fn rds_host(rng: &mut Rng) -> String {
    let c = rs(rng, LOAN, 12);
    format!(
        "{}.cluster-{c}.{}.rds.amazonaws.com",
        rng.pick(&["orders-prod", "billing", "core-db", "analytics"]),
        rng.pick(&["us-east-1", "eu-west-1", "ap-southeast-2"])
    )
}

/// Generate one group of TRUE secrets of the given family (1..=2 items).
fn gen_true(fam: &'static str, rng: &mut Rng) -> Vec<Item> {
    match fam {
        "aws" => {
            let temp = rng.chance(0.1);
            let id = format!(
                "{}{}",
                if temp { "ASIA" } else { "AKIA" },
                rs(rng, B32U, 16)
            );
            let sk = rsm(rng, B64C, 40);
            let (a, b) = *rng.pick(&[
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                ("AWS_ACCESS_KEY", "AWS_SECRET_KEY"),
                ("S3_AWS_ACCESS_KEY_ID", "S3_AWS_SECRET_ACCESS_KEY"),
                ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY"),
                ("AWS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ]);
            let v = vec![tru(a, id, fam, false), tru(b, sk, fam, true)];
            if rng.chance(0.3) {
                only(v, Kind::AwsCreds)
            } else if rng.chance(0.12) {
                vec![v[0].clone()]
            } else {
                v
            }
        }
        "gcp" => match rng.weighted(&[5, 2, 3]) {
            0 => {
                let k = format!("AIzaSy{}", rs(rng, URLSAFE, 33));
                vec![tru(
                    pname(
                        rng,
                        &[
                            "GOOGLE_API_KEY",
                            "GOOGLE_MAPS_API_KEY",
                            "FIREBASE_API_KEY",
                            "GEMINI_API_KEY",
                            "YOUTUBE_API_KEY",
                            "GCP_API_KEY",
                        ],
                    ),
                    k,
                    fam,
                    false,
                )]
            }
            1 => {
                let k = format!("GOCSPX-{}", rs(rng, URLSAFE, 28));
                vec![tru(
                    pname(
                        rng,
                        &[
                            "GOOGLE_CLIENT_SECRET",
                            "GOOGLE_OAUTH_CLIENT_SECRET",
                            "GCP_OAUTH_SECRET",
                        ],
                    ),
                    k,
                    fam,
                    false,
                )]
            }
            _ => {
                let pem = private_key_pem(rng, 1);
                only(vec![tru_pem("private_key", pem, fam)], Kind::GcpSa)
            }
        },
        "azure" => match rng.weighted(&[4, 4, 3, 3, 2]) {
            0 => {
                let acct = format!(
                    "st{}{}",
                    rng.pick(&["acme", "orders", "media", "logs", "backup"]),
                    rng.range(10, 99)
                );
                let key = format!("{}==", rsm(rng, B64C, 86));
                let v = format!("DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};EndpointSuffix=core.windows.net");
                vec![tru_in(
                    pname(
                        rng,
                        &[
                            "AZURE_STORAGE_CONNECTION_STRING",
                            "STORAGE_CONNECTION_STRING",
                            "AZURE_WEB_JOBS_STORAGE",
                            "BLOB_CONNECTION_STRING",
                        ],
                    ),
                    v,
                    key,
                    fam,
                )]
            }
            1 => {
                let k = format!(
                    "{}{}Q~{}",
                    rs(
                        rng,
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
                        3
                    ),
                    rng.below(10),
                    rs(
                        rng,
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~.-",
                        34
                    )
                );
                vec![tru(
                    pname(
                        rng,
                        &[
                            "AZURE_CLIENT_SECRET",
                            "ARM_CLIENT_SECRET",
                            "AAD_CLIENT_SECRET",
                            "ENTRA_CLIENT_SECRET",
                        ],
                    ),
                    k,
                    fam,
                    false,
                )]
            }
            2 => {
                let ns = format!(
                    "{}-{}",
                    rng.pick(&["acme", "orders", "events", "telemetry"]),
                    rng.pick(&["bus", "hub", "prod", "eastus"])
                );
                let key = format!("{}=", rsm(rng, B64C, 43));
                let hub = rng.chance(0.4);
                let v = if hub {
                    format!("Endpoint=sb://{ns}.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={key};EntityPath={}", rng.pick(&["orders", "telemetry", "audit"]))
                } else {
                    format!("Endpoint=sb://{ns}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}")
                };
                vec![tru_in(
                    pname(
                        rng,
                        &[
                            "SERVICEBUS_CONNECTION_STRING",
                            "EVENTHUB_CONNECTION_STRING",
                            "AZURE_SERVICEBUS_CONNECTION",
                        ],
                    ),
                    v,
                    key,
                    fam,
                )]
            }
            3 => {
                let year = *rng.pick(&["B", "C", "D"]);
                let month = (b'A' + rng.below(12) as u8) as char;
                // Microsoft common annotated key layout: 52 random, "JQQJ99", year, month,
                // 16 more, the provider signature "AZDO" and 4 more (84 chars in all)
                let k = format!(
                    "{}JQQJ99{year}{month}AA{}AAAAZDO{}",
                    rsm(rng, B62, 52),
                    rs(rng, B62, 11),
                    rs(rng, B62, 4)
                );
                vec![tru(
                    pname(
                        rng,
                        &[
                            "AZURE_DEVOPS_PAT",
                            "AZURE_DEVOPS_EXT_PAT",
                            "ADO_PAT",
                            "AZDO_PERSONAL_ACCESS_TOKEN",
                        ],
                    ),
                    k,
                    fam,
                    false,
                )]
            }
            _ => {
                let acct = format!("cosmos-{}", rng.pick(&["orders", "catalog", "sessions"]));
                let key = format!("{}==", rsm(rng, B64C, 86));
                let v = format!(
                    "AccountEndpoint=https://{acct}.documents.azure.com:443/;AccountKey={key};"
                );
                vec![tru_in(
                    pname(
                        rng,
                        &[
                            "COSMOS_CONNECTION_STRING",
                            "COSMOSDB_CONNECTION",
                            "AZURE_COSMOS_CONNECTION_STRING",
                        ],
                    ),
                    v,
                    key,
                    fam,
                )]
            }
        },
        "cloud" => match rng.weighted(&[4, 2, 3, 3, 3, 3, 3, 2]) {
            0 => vec![tru(
                pname(
                    rng,
                    &[
                        "DIGITALOCEAN_ACCESS_TOKEN",
                        "DO_TOKEN",
                        "DIGITALOCEAN_TOKEN",
                    ],
                ),
                format!("dop_v1_{}", hexs(rng, 64)),
                fam,
                false,
            )],
            1 => vec![tru(
                "DIGITALOCEAN_OAUTH_TOKEN",
                format!("doo_v1_{}", hexs(rng, 64)),
                fam,
                false,
            )],
            2 => {
                let id = format!("LTAI5t{}", rsm(rng, B62, 18));
                let sec = rsm(rng, B62, 30);
                vec![
                    tru("ALIBABA_CLOUD_ACCESS_KEY_ID", id, fam, false),
                    tru("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sec, fam, true),
                ]
            }
            3 => vec![tru(
                pname(rng, &["HEROKU_API_KEY", "HEROKU_API_TOKEN"]),
                format!("HRKU-AA{}", rs(rng, URLSAFE, 58)),
                fam,
                false,
            )],
            4 => vec![tru(
                pname(rng, &["FLY_API_TOKEN", "FLY_ACCESS_TOKEN"]),
                format!("fo1_{}", rs(rng, URLSAFE, 43)),
                fam,
                false,
            )],
            5 => vec![tru(
                pname(rng, &["SUPABASE_ACCESS_TOKEN", "SUPABASE_TOKEN"]),
                format!("sbp_{}", hexs(rng, 40)),
                fam,
                false,
            )],
            6 => vec![tru(
                pname(rng, &["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"]),
                rsm(rng, URLSAFE, 40),
                fam,
                true,
            )],
            _ => vec![tru(
                pname(rng, &["IBMCLOUD_API_KEY", "IBM_CLOUD_API_KEY"]),
                rsm(rng, URLSAFE, 44),
                fam,
                true,
            )],
        },
        "github" => {
            let name = pname(
                rng,
                &[
                    "GITHUB_TOKEN",
                    "GH_TOKEN",
                    "GITHUB_PAT",
                    "GH_PAT",
                    "GITHUB_ACCESS_TOKEN",
                    "GITHUB_API_TOKEN",
                    "RELEASE_PLEASE_TOKEN",
                    "HOMEBREW_GITHUB_API_TOKEN",
                    "DANGER_GITHUB_API_TOKEN",
                    "GH_ENTERPRISE_TOKEN",
                ],
            );
            let t = match rng.weighted(&[8, 3, 2, 3, 1, 6]) {
                0 => crc_token("ghp_", &rs(rng, B62, 30)),
                1 => crc_token("gho_", &rs(rng, B62, 30)),
                2 => crc_token("ghu_", &rs(rng, B62, 30)),
                3 => crc_token("ghs_", &rs(rng, B62, 30)),
                4 => crc_token("ghr_", &rs(rng, B62, 30)),
                _ => format!("github_pat_11{}_{}", rs(rng, UPAN, 20), rsm(rng, B62, 59)),
            };
            vec![tru(name, t, fam, false)]
        }
        "gitlab" => {
            let (name, t) = match rng.weighted(&[5, 4, 2, 2, 1, 2, 2, 1, 1, 1, 1, 1]) {
                0 => ("GITLAB_TOKEN", format!("glpat-{}", rsm(rng, URLSAFE, 20))),
                1 => (
                    "GITLAB_PRIVATE_TOKEN",
                    format!(
                        "glpat-{}.01{}",
                        {
                            let n = rng.range(27, 40);
                            rsm(rng, URLSAFE, n)
                        },
                        rs(rng, LOAN, 7)
                    ),
                ),
                2 => ("CI_DEPLOY_TOKEN", format!("gldt-{}", rsm(rng, URLSAFE, 20))),
                3 => ("RUNNER_TOKEN", format!("glrt-{}", rsm(rng, URLSAFE, 20))),
                4 => (
                    "CI_RUNNER_AUTH_TOKEN",
                    format!(
                        "glrt-t{}_{}.01{}",
                        rng.range(1, 3),
                        rsm(rng, URLSAFE, 27),
                        rs(rng, LOAN, 7)
                    ),
                ),
                5 => (
                    "REGISTRATION_TOKEN",
                    format!("GR1348941{}", rsm(rng, URLSAFE, 20)),
                ),
                6 => ("GITLAB_TRIGGER_TOKEN", format!("glptt-{}", hexs(rng, 40))),
                7 => (
                    "GITLAB_FEED_TOKEN",
                    format!("glft-{}", rsm(rng, URLSAFE, 20)),
                ),
                8 => (
                    "GITLAB_SCIM_TOKEN",
                    format!("glsoat-{}", rsm(rng, URLSAFE, 20)),
                ),
                9 => (
                    "GITLAB_AGENT_TOKEN",
                    format!("glagent-{}", rsm(rng, URLSAFE, 50)),
                ),
                10 => (
                    "GITLAB_OAUTH_SECRET",
                    format!("gloas-{}", rsm(rng, URLSAFE, 64)),
                ),
                _ => (
                    "GITLAB_INCOMING_EMAIL_TOKEN",
                    format!("glimt-{}", rsm(rng, URLSAFE, 25)),
                ),
            };
            let name = if rng.chance(0.3) {
                pname(rng, &["GL_TOKEN", "GITLAB_API_TOKEN", "GITLAB_TOKEN"])
            } else {
                name
            };
            vec![tru(name, t, fam, false)]
        }
        "forges" => match rng.weighted(&[4, 4, 3, 2]) {
            0 => vec![tru(
                pname(rng, &["BITBUCKET_APP_PASSWORD", "BB_APP_PASSWORD"]),
                format!("ATBB{}{}", rsm(rng, B62, 24), rng.chars(HEXU, 8)),
                fam,
                false,
            )],
            1 => vec![tru(
                pname(
                    rng,
                    &[
                        "ATLASSIAN_API_TOKEN",
                        "JIRA_API_TOKEN",
                        "CONFLUENCE_API_TOKEN",
                    ],
                ),
                format!(
                    "ATATT3xFfGF0{}={}",
                    rsm(rng, URLSAFE, 171),
                    rng.chars(HEXU, 8)
                ),
                fam,
                false,
            )],
            2 => vec![tru(
                pname(rng, &["BITBUCKET_ACCESS_TOKEN", "BITBUCKET_REPO_TOKEN"]),
                format!(
                    "ATCTT3xFfGN0{}={}",
                    rsm(rng, URLSAFE, 171),
                    rng.chars(HEXU, 8)
                ),
                fam,
                false,
            )],
            _ => vec![tru(
                pname(rng, &["GITEA_TOKEN", "FORGEJO_TOKEN", "GITEA_ACCESS_TOKEN"]),
                hexs(rng, 40),
                fam,
                true,
            )],
        },
        "registries" => match rng.weighted(&[6, 5, 3, 3, 3, 3, 3, 2, 1]) {
            0 => {
                let v = vec![tru(
                    pname(rng, &["NPM_TOKEN", "NODE_AUTH_TOKEN", "NPM_AUTH_TOKEN"]),
                    crc_token("npm_", &rs(rng, B62, 30)),
                    fam,
                    false,
                )];
                if rng.chance(0.35) {
                    only(v, Kind::Npmrc)
                } else {
                    v
                }
            }
            1 => {
                let v = vec![tru(
                    pname(rng, &["PYPI_TOKEN", "PYPI_API_TOKEN", "TWINE_PASSWORD"]),
                    pypi_token(rng),
                    fam,
                    false,
                )];
                if rng.chance(0.4) {
                    only(v, Kind::Pypirc)
                } else {
                    v
                }
            }
            2 => {
                let v = vec![tru(
                    "CARGO_REGISTRY_TOKEN",
                    format!("cio{}", rsm(rng, B62, 32)),
                    fam,
                    false,
                )];
                if rng.chance(0.4) {
                    only(v, Kind::CargoCreds)
                } else {
                    v
                }
            }
            3 => vec![tru(
                pname(
                    rng,
                    &[
                        "DOCKERHUB_TOKEN",
                        "DOCKER_PASSWORD",
                        "DOCKER_HUB_ACCESS_TOKEN",
                    ],
                ),
                format!("dckr_pat_{}", rsm(rng, URLSAFE, 27)),
                fam,
                false,
            )],
            4 => vec![tru(
                pname(rng, &["GEM_HOST_API_KEY", "RUBYGEMS_API_KEY"]),
                format!("rubygems_{}", hexs(rng, 48)),
                fam,
                false,
            )],
            5 => vec![tru(
                pname(rng, &["NUGET_API_KEY", "NUGET_TOKEN"]),
                format!("oy2{}", rs(rng, LOAN, 43)),
                fam,
                false,
            )],
            6 => {
                let v = vec![tru(
                    pname(rng, &["ARTIFACTORY_API_KEY", "JFROG_API_KEY"]),
                    format!("AKCp{}", rsm(rng, B62, 69)),
                    fam,
                    false,
                )];
                if rng.chance(0.4) {
                    only(v, Kind::SettingsXml)
                } else {
                    v
                }
            }
            7 => {
                let raw = format!(
                    "reftkn:01:{}:{}",
                    1_790_000_000 + rng.below(90_000_000),
                    rsm(rng, B62, 27)
                );
                vec![tru(
                    pname(rng, &["JFROG_ACCESS_TOKEN", "ARTIFACTORY_TOKEN"]),
                    base64(raw.as_bytes(), false, false),
                    fam,
                    false,
                )]
            }
            _ => vec![tru(
                "CLOJARS_TOKEN",
                format!("CLOJARS_{}", rs(rng, LOAN, 60)),
                fam,
                false,
            )],
        },
        "messaging" => match rng.weighted(&[5, 2, 2, 4, 3, 2, 3, 4, 2, 2, 2]) {
            0 => vec![tru(
                pname(rng, &["SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_API_TOKEN"]),
                format!(
                    "xoxb-{}-{}-{}",
                    {
                        let n = rng.range(10, 13);
                        digits(rng, n)
                    },
                    {
                        let n = rng.range(12, 13);
                        digits(rng, n)
                    },
                    rsm(rng, B62, 24)
                ),
                fam,
                false,
            )],
            1 => vec![tru(
                "SLACK_USER_TOKEN",
                format!(
                    "xoxp-{}-{}-{}-{}",
                    digits(rng, 12),
                    digits(rng, 12),
                    digits(rng, 13),
                    hexs(rng, 32)
                ),
                fam,
                false,
            )],
            2 => vec![tru(
                "SLACK_APP_TOKEN",
                format!(
                    "xapp-1-A{}-{}-{}",
                    rs(rng, UPAN, 10),
                    digits(rng, 13),
                    hexs(rng, 64)
                ),
                fam,
                false,
            )],
            3 => vec![tru(
                pname(
                    rng,
                    &["SLACK_WEBHOOK_URL", "SLACK_WEBHOOK", "ALERTS_WEBHOOK_URL"],
                ),
                format!(
                    "https://hooks.slack.com/services/T{}/B{}/{}",
                    {
                        let n = rng.range(8, 10);
                        rs(rng, UPAN, n)
                    },
                    {
                        let n = rng.range(8, 10);
                        rs(rng, UPAN, n)
                    },
                    rsm(rng, B62, 24)
                ),
                fam,
                false,
            )],
            4 => {
                let id = {
                    let n = rng.range(18, 19);
                    digits(rng, n)
                };
                let t = format!(
                    "{}.{}.{}",
                    base64(id.as_bytes(), true, false),
                    rs(rng, URLSAFE, 6),
                    rsm(rng, URLSAFE, 38)
                );
                // the bare format is weak: detection needs the variable name next to it
                vec![tru(
                    pname(rng, &["DISCORD_BOT_TOKEN", "DISCORD_TOKEN"]),
                    t,
                    fam,
                    true,
                )]
            }
            5 => vec![tru(
                "DISCORD_WEBHOOK_URL",
                format!(
                    "https://discord.com/api/webhooks/{}/{}",
                    digits(rng, 19),
                    rsm(rng, URLSAFE, 68)
                ),
                fam,
                false,
            )],
            6 => vec![tru(
                pname(rng, &["TELEGRAM_BOT_TOKEN", "TG_BOT_TOKEN"]),
                format!(
                    "{}:AA{}",
                    {
                        let n = rng.range(9, 10);
                        digits(rng, n)
                    },
                    rsm(rng, URLSAFE, 33)
                ),
                fam,
                false,
            )],
            7 => vec![tru(
                pname(rng, &["SENDGRID_API_KEY", "SENDGRID_KEY"]),
                format!("SG.{}.{}", rsm(rng, URLSAFE, 22), rsm(rng, URLSAFE, 43)),
                fam,
                false,
            )],
            8 => vec![tru(
                "MAILGUN_API_KEY",
                format!("key-{}", hexs(rng, 32)),
                fam,
                false,
            )],
            9 => vec![tru(
                "MAILCHIMP_API_KEY",
                format!("{}-us{}", hexs(rng, 32), rng.range(1, 21)),
                fam,
                false,
            )],
            _ => vec![tru("TWILIO_AUTH_TOKEN", hexs(rng, 32), fam, true)],
        },
        "payments" => match rng.weighted(&[5, 4, 2, 3, 3, 3, 2, 2, 1, 1]) {
            0 => vec![tru(
                pname(rng, &["STRIPE_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_KEY"]),
                format!("sk_live_{}", rsm(rng, B62, 24)),
                fam,
                false,
            )],
            1 => vec![tru(
                pname(rng, &["STRIPE_SECRET_KEY", "STRIPE_API_KEY"]),
                format!("sk_live_51{}", rsm(rng, B62, 97)),
                fam,
                false,
            )],
            2 => {
                let n = *rng.pick(&[24usize, 97]);
                vec![tru(
                    "STRIPE_RESTRICTED_KEY",
                    format!(
                        "rk_live_{}{}",
                        if n == 97 { "51" } else { "" },
                        rsm(rng, B62, n)
                    ),
                    fam,
                    false,
                )]
            }
            3 => vec![tru(
                "STRIPE_WEBHOOK_SECRET",
                format!("whsec_{}", rsm(rng, B62, 32)),
                fam,
                false,
            )],
            4 => {
                if rng.chance(0.5) {
                    vec![tru(
                        "SQUARE_ACCESS_TOKEN",
                        format!("sq0atp-{}", rsm(rng, URLSAFE, 22)),
                        fam,
                        false,
                    )]
                } else {
                    vec![tru(
                        "SQUARE_APPLICATION_SECRET",
                        format!("sq0csp-{}", rsm(rng, URLSAFE, 43)),
                        fam,
                        false,
                    )]
                }
            }
            5 => {
                let p = *rng.pick(&["shpat_", "shpss_", "shpca_", "shppa_"]);
                vec![tru(
                    pname(
                        rng,
                        &[
                            "SHOPIFY_ACCESS_TOKEN",
                            "SHOPIFY_API_SECRET",
                            "SHOPIFY_ADMIN_TOKEN",
                        ],
                    ),
                    format!("{p}{}", hexs(rng, 32)),
                    fam,
                    false,
                )]
            }
            6 => vec![tru(
                "BRAINTREE_ACCESS_TOKEN",
                format!(
                    "access_token$production${}${}",
                    rs(rng, LOAN, 16),
                    hexs(rng, 32)
                ),
                fam,
                false,
            )],
            7 => vec![tru(
                "FLUTTERWAVE_SECRET_KEY",
                format!("FLWSECK-{}-X", hexs(rng, 32)),
                fam,
                false,
            )],
            8 => vec![tru(
                "PAYSTACK_SECRET_KEY",
                format!("sk_live_{}", hexs(rng, 40)),
                fam,
                false,
            )],
            _ => vec![tru(
                "PAYPAL_CLIENT_SECRET",
                rsm(rng, URLSAFE, 80),
                fam,
                true,
            )],
        },
        "observability" => match rng.weighted(&[4, 2, 3, 2, 3, 2, 3, 2, 3, 1]) {
            0 => vec![tru(
                pname(rng, &["DD_API_KEY", "DATADOG_API_KEY"]),
                hexs(rng, 32),
                fam,
                true,
            )],
            1 => vec![tru(
                pname(
                    rng,
                    &["DD_APP_KEY", "DATADOG_APP_KEY", "DD_APPLICATION_KEY"],
                ),
                hexs(rng, 40),
                fam,
                true,
            )],
            2 => vec![tru(
                pname(rng, &["NEW_RELIC_API_KEY", "NEWRELIC_USER_KEY"]),
                format!("NRAK-{}", rs(rng, UPAN, 27)),
                fam,
                false,
            )],
            3 => vec![tru(
                pname(rng, &["NEW_RELIC_LICENSE_KEY", "NRIA_LICENSE_KEY"]),
                format!("{}NRAL", hexs(rng, 36)),
                fam,
                false,
            )],
            4 => {
                let j = format!(
                    "{{\"iat\":{}.{},\"url\":\"https://sentry.io\",\"region_url\":\"https://{}.sentry.io\",\"org\":\"{}\"}}",
                    1_700_000_000 + rng.below(90_000_000),
                    rng.range(100000, 999999),
                    rng.pick(&["us", "de"]),
                    rng.pick(&["acme", "acme-inc", "orbit-labs", "northwind"])
                );
                vec![tru(
                    "SENTRY_AUTH_TOKEN",
                    format!(
                        "sntrys_{}_{}",
                        base64(j.as_bytes(), false, true),
                        rsm(rng, B62, 43)
                    ),
                    fam,
                    false,
                )]
            }
            5 => vec![tru(
                "SENTRY_AUTH_TOKEN",
                format!("sntryu_{}", hexs(rng, 64)),
                fam,
                false,
            )],
            6 => vec![tru(
                pname(
                    rng,
                    &[
                        "GRAFANA_SERVICE_ACCOUNT_TOKEN",
                        "GRAFANA_TOKEN",
                        "GF_API_TOKEN",
                    ],
                ),
                format!("glsa_{}_{}", rsm(rng, B62, 32), rng.chars(HEX, 8)),
                fam,
                false,
            )],
            7 => {
                let j = format!(
                    "{{\"o\":\"{}\",\"n\":\"stack-{}-hm-read-{}\",\"k\":\"{}\",\"m\":{{\"r\":\"{}\"}}}}",
                    rng.range(100000, 999999),
                    rng.range(100000, 999999),
                    rng.pick(&["metrics", "logs", "traces"]),
                    rsm(rng, B62, 24),
                    rng.pick(&["us", "eu", "prod-us-east-0"])
                );
                vec![tru(
                    "GRAFANA_CLOUD_API_KEY",
                    format!("glc_{}", base64(j.as_bytes(), false, true)),
                    fam,
                    false,
                )]
            }
            8 => vec![tru(
                pname(rng, &["DT_API_TOKEN", "DYNATRACE_API_TOKEN"]),
                format!("dt0c01.{}.{}", rs(rng, UPAN, 24), rs(rng, UPAN, 64)),
                fam,
                false,
            )],
            _ => vec![tru("HONEYCOMB_API_KEY", rsm(rng, B62, 32), fam, true)],
        },
        "ai" => match rng.weighted(&[6, 2, 2, 5, 1, 4, 2, 2, 1, 1, 1, 2, 2]) {
            0 => vec![tru(
                pname(rng, &["OPENAI_API_KEY", "OPENAI_KEY"]),
                format!(
                    "sk-proj-{}T3BlbkFJ{}",
                    rsm(rng, URLSAFE, 74),
                    rsm(rng, URLSAFE, 74)
                ),
                fam,
                false,
            )],
            1 => vec![tru(
                "OPENAI_API_KEY",
                format!("sk-{}T3BlbkFJ{}", rsm(rng, B62, 20), rsm(rng, B62, 20)),
                fam,
                false,
            )],
            2 => vec![tru(
                "OPENAI_API_KEY",
                format!(
                    "sk-svcacct-{}T3BlbkFJ{}",
                    rsm(rng, URLSAFE, 74),
                    rsm(rng, URLSAFE, 74)
                ),
                fam,
                false,
            )],
            3 => vec![tru(
                pname(rng, &["ANTHROPIC_API_KEY", "CLAUDE_API_KEY"]),
                format!("sk-ant-api03-{}AA", rsm(rng, URLSAFE, 93)),
                fam,
                false,
            )],
            4 => vec![tru(
                "ANTHROPIC_ADMIN_KEY",
                format!("sk-ant-admin01-{}AA", rsm(rng, URLSAFE, 93)),
                fam,
                false,
            )],
            5 => vec![tru(
                pname(
                    rng,
                    &["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN"],
                ),
                format!("hf_{}", rs(rng, ALPHA, 34)),
                fam,
                false,
            )],
            6 => vec![tru(
                "GROQ_API_KEY",
                format!("gsk_{}", rsm(rng, B62, 52)),
                fam,
                false,
            )],
            7 => vec![tru(
                "REPLICATE_API_TOKEN",
                format!("r8_{}", rsm(rng, B62, 37)),
                fam,
                false,
            )],
            8 => vec![tru(
                "PERPLEXITY_API_KEY",
                format!("pplx-{}", rsm(rng, B62, 48)),
                fam,
                false,
            )],
            9 => vec![tru(
                "XAI_API_KEY",
                format!("xai-{}", rsm(rng, B62, 80)),
                fam,
                false,
            )],
            10 => vec![tru(
                "OPENROUTER_API_KEY",
                format!("sk-or-v1-{}", hexs(rng, 64)),
                fam,
                false,
            )],
            11 => vec![tru(
                pname(rng, &["LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"]),
                format!(
                    "lsv2_{}_{}_{}",
                    rng.pick(&["pt", "sk"]),
                    hexs(rng, 32),
                    hexs(rng, 10)
                ),
                fam,
                false,
            )],
            _ => {
                if rng.chance(0.5) {
                    vec![tru("COHERE_API_KEY", rsm(rng, B62, 40), fam, true)]
                } else {
                    vec![tru("MISTRAL_API_KEY", rsm(rng, B62, 32), fam, true)]
                }
            }
        },
        "devops" => match rng.weighted(&[4, 1, 3, 3, 2, 2, 2, 3, 2, 3, 2, 1]) {
            0 => vec![tru(
                pname(rng, &["VAULT_TOKEN", "VAULT_ROOT_TOKEN"]),
                format!("hvs.CAES{}", rsm(rng, URLSAFE, 90)),
                fam,
                false,
            )],
            1 => {
                let n = rng.range(138, 160);
                vec![tru(
                    "VAULT_BATCH_TOKEN",
                    format!("hvb.{}", rsm(rng, URLSAFE, n)),
                    fam,
                    false,
                )]
            }
            2 => vec![tru(
                pname(rng, &["TFE_TOKEN", "TF_API_TOKEN", "TERRAFORM_CLOUD_TOKEN"]),
                format!("{}.atlasv1.{}", rsm(rng, B62, 14), rsm(rng, B62, 67)),
                fam,
                false,
            )],
            3 => {
                let t = if rng.chance(0.5) {
                    format!("dp.pt.{}", rsm(rng, B62, 43))
                } else {
                    format!(
                        "dp.st.{}.{}",
                        rng.pick(&["prd", "stg", "dev"]),
                        rsm(rng, B62, 40)
                    )
                };
                vec![tru("DOPPLER_TOKEN", t, fam, false)]
            }
            4 => vec![tru(
                "PULUMI_ACCESS_TOKEN",
                format!("pul-{}", hexs(rng, 40)),
                fam,
                false,
            )],
            5 => vec![tru(
                "BUILDKITE_API_TOKEN",
                format!("bkua_{}", hexs(rng, 40)),
                fam,
                false,
            )],
            6 => vec![tru(
                "POSTMAN_API_KEY",
                format!("PMAK-{}-{}", hexs(rng, 24), hexs(rng, 34)),
                fam,
                false,
            )],
            7 => {
                let p = *rng.pick(&["squ_", "sqp_", "sqa_"]);
                vec![tru(
                    pname(rng, &["SONAR_TOKEN", "SONARQUBE_TOKEN"]),
                    format!("{p}{}", hexs(rng, 40)),
                    fam,
                    false,
                )]
            }
            8 => vec![tru(
                pname(rng, &["SOPS_AGE_KEY", "AGE_SECRET_KEY"]),
                format!("AGE-SECRET-KEY-1{}", rs(rng, BECH32U, 58)),
                fam,
                false,
            )],
            9 => only(
                vec![tru("token", jwt_k8s(rng), fam, false)],
                Kind::Kubeconfig,
            ),
            10 => vec![tru(
                "LINEAR_API_KEY",
                format!("lin_api_{}", rsm(rng, B62, 40)),
                fam,
                false,
            )],
            _ => vec![tru(
                "CIRCLECI_TOKEN",
                format!("CCIPAT_{}_{}", rsm(rng, B62, 22), hexs(rng, 40)),
                fam,
                false,
            )],
        },
        "private-keys" => {
            let kind = rng.weighted(&[5, 4, 3, 1, 4, 2]);
            let pem = private_key_pem(rng, kind);
            let name = pname(
                rng,
                &[
                    "PRIVATE_KEY",
                    "SSH_PRIVATE_KEY",
                    "JWT_SIGNING_KEY",
                    "TLS_KEY",
                    "GITHUB_APP_PRIVATE_KEY",
                    "SIGNING_KEY",
                    "DEPLOY_KEY",
                ],
            );
            let v = vec![tru_pem(name, pem, fam)];
            if rng.chance(0.4) {
                only(v, Kind::PemFile)
            } else {
                v
            }
        }
        "connection-strings" => {
            let pw = db_password(rng);
            let user = *rng.pick(&[
                "app",
                "svc_orders",
                "admin",
                "billing_rw",
                "postgres",
                "api",
                "reporting",
                "etl_user",
            ]);
            let host = if rng.chance(0.3) {
                rds_host(rng)
            } else {
                rng.pick(&HOSTS).to_string()
            };
            let db = *rng.pick(&[
                "orders",
                "app_production",
                "billing",
                "inventory",
                "analytics",
                "core",
            ]);
            let (name, v) = match rng.weighted(&[6, 3, 3, 3, 3, 2, 2, 1, 1]) {
                0 => (
                    pname(rng, &["DATABASE_URL", "POSTGRES_URL", "DB_URL", "PG_DSN"]),
                    format!("{}://{user}:{pw}@{host}:5432/{db}{}", rng.pick(&["postgres", "postgresql"]), if rng.chance(0.4) { "?sslmode=require" } else { "" }),
                ),
                1 => (pname(rng, &["MYSQL_URL", "DATABASE_URL"]), format!("mysql://{user}:{pw}@{host}:3306/{db}")),
                2 => (
                    pname(rng, &["MONGODB_URI", "MONGO_URL"]),
                    format!("mongodb+srv://{user}:{pw}@cluster0.{}.mongodb.net/{db}?retryWrites=true&w=majority", rs(rng, LOAN, 5)),
                ),
                3 => (pname(rng, &["REDIS_URL", "CACHE_URL"]), format!("{}://{}:{pw}@{}:6379/0", rng.pick(&["redis", "rediss"]), rng.pick(&["default", ""]), rng.pick(&["redis-master", "cache.internal", "10.0.4.7"]))),
                4 => (
                    pname(rng, &["RABBITMQ_URL", "AMQP_URL", "CELERY_BROKER_URL"]),
                    format!("{}://{user}:{pw}@{}:5672/{}", rng.pick(&["amqp", "amqps"]), rng.pick(&["rabbitmq", "mq.internal"]), rng.pick(&["%2F", "orders", "events"])),
                ),
                5 => (
                    pname(rng, &["JDBC_URL", "SPRING_DATASOURCE_URL"]),
                    format!("jdbc:postgresql://{host}:5432/{db}?user={user}&password={pw}&ssl=true"),
                ),
                6 => (
                    pname(rng, &["SQL_CONNECTION_STRING", "DEFAULT_CONNECTION", "SQLAZURECONNSTR_DEFAULT"]),
                    format!(
                        "Server=tcp:{}.database.windows.net,1433;Initial Catalog={db};Persist Security Info=False;User ID={user};Password={pw};MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;",
                        rng.pick(&["acme-sql", "orders-sql-prod", "sqlsrv-eastus"])
                    ),
                ),
                7 => (pname(rng, &["SMTP_URL", "EMAIL_URL"]), format!("smtps://{user}:{pw}@smtp.{}:465", rng.pick(&["mailgun.org", "sendgrid.net", "office365.com"]))),
                _ => (pname(rng, &["MSSQL_URL", "SQLSERVER_URL"]), format!("sqlserver://{user}:{pw}@{host}:1433?database={db}")),
            };
            vec![tru_in(name, v, pw, fam)]
        }
        _ => {
            // generic
            let name = pname(rng, &GENERIC_NAMES);
            let mut v = vec![tru(name, generic_value(rng), "generic", true)];
            if rng.chance(0.08) && name.contains("PASSWORD") {
                v = only(v, Kind::SettingsXml);
            }
            v
        }
    }
}

fn corrupt_checksum(rng: &mut Rng, tok: &str) -> String {
    let mut b = tok.as_bytes().to_vec();
    let i = b.len() - 1 - rng.below(3);
    let old = b[i];
    loop {
        let c = B62[rng.below(62)];
        if c != old {
            b[i] = c;
            break;
        }
    }
    String::from_utf8(b).unwrap()
}

fn png_data_uri(rng: &mut Rng) -> String {
    let mut v = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    let n = rng.range(60, 400);
    v.extend(rng.bytes(n));
    format!("data:image/png;base64,{}", base64(&v, false, true))
}

const ENV_NAMES: [&str; 16] = [
    "API_KEY",
    "STRIPE_SECRET_KEY",
    "GITHUB_TOKEN",
    "DB_PASSWORD",
    "OPENAI_API_KEY",
    "SECRET_KEY",
    "SLACK_BOT_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "DATABASE_URL",
    "SENTRY_AUTH_TOKEN",
    "JWT_SECRET",
    "CLIENT_SECRET",
    "NPM_TOKEN",
    "ANTHROPIC_API_KEY",
    "REDIS_PASSWORD",
    "DD_API_KEY",
];

/// Generate one group of DECOYS (never reported).
fn gen_decoy(rng: &mut Rng) -> Vec<Item> {
    match rng.weighted(&[4, 10, 9, 7, 8, 6, 6, 8, 4, 3, 3, 6, 3, 3, 3, 3]) {
        0 => vec![
            dec("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".into()),
            dec(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            ),
        ],
        1 => {
            let (n, v): (&str, String) = match rng.below(24) {
                0 => ("GITHUB_TOKEN", format!("ghp_{}", "x".repeat(36))),
                1 => ("GITHUB_TOKEN", format!("ghp_{}", "X".repeat(36))),
                2 => ("GITHUB_TOKEN", "<YOUR_GITHUB_TOKEN>".into()),
                3 => ("STRIPE_SECRET_KEY", format!("sk_live_{}", "x".repeat(24))),
                4 => ("SLACK_BOT_TOKEN", "xoxb-your-bot-token".into()),
                5 => ("GITLAB_TOKEN", format!("glpat-{}", "x".repeat(20))),
                6 => ("API_KEY", "your-api-key-here".into()),
                7 => ("API_KEY", "<YOUR_API_KEY>".into()),
                8 => ("SECRET_KEY", "changeme".into()),
                9 => ("DB_PASSWORD", "changeme".into()),
                10 => ("OPENAI_API_KEY", format!("sk-proj-{}", "x".repeat(48))),
                11 => (
                    "ANTHROPIC_API_KEY",
                    format!("sk-ant-api03-{}AA", "x".repeat(93)),
                ),
                12 => ("HF_TOKEN", format!("hf_{}", "x".repeat(34))),
                13 => ("NPM_TOKEN", format!("npm_{}", "X".repeat(36))),
                14 => ("GOOGLE_API_KEY", format!("AIzaSy{}", "X".repeat(33))),
                15 => (
                    "SENDGRID_API_KEY",
                    format!("SG.{}.{}", "x".repeat(22), "x".repeat(43)),
                ),
                16 => ("CLIENT_SECRET", "your_client_secret".into()),
                17 => ("JWT_SECRET", "your-256-bit-secret".into()),
                18 => ("AUTH_TOKEN", "dummy-token".into()),
                19 => ("API_TOKEN", "placeholder".into()),
                20 => ("AWS_ACCESS_KEY_ID", "AKIAXXXXXXXXXXXXXXXX".into()),
                21 => ("AWS_SECRET_ACCESS_KEY", "<your-secret-access-key>".into()),
                22 => (
                    "STRIPE_SECRET_KEY",
                    format!("sk_live_EXAMPLE{}", rsm(rng, B62, 17)),
                ),
                _ => ("DISCORD_TOKEN", "YOUR_DISCORD_BOT_TOKEN".into()),
            };
            vec![dec(n, v)]
        }
        2 => {
            let (n, v) = *rng.pick(&[
                ("NPM_TOKEN", "${{ secrets.NPM_TOKEN }}"),
                ("GITHUB_TOKEN", "${{ secrets.GITHUB_TOKEN }}"),
                ("DB_PASSWORD", "${DB_PASSWORD}"),
                ("DB_PASSWORD", "$(cat /run/secrets/db_password)"),
                ("PASSWORD", "{{ .Values.postgresql.auth.password }}"),
                ("API_KEY", "${env:API_KEY}"),
                ("SECRET_KEY_BASE", "<%= ENV['SECRET_KEY_BASE'] %>"),
                ("SLACK_WEBHOOK_URL", "${{ secrets.SLACK_WEBHOOK }}"),
                ("DATADOG_API_KEY", "{{ datadog_api_key }}"),
                ("AWS_SECRET_ACCESS_KEY", "${AWS_SECRET_ACCESS_KEY}"),
                ("CLIENT_SECRET", "${OAUTH_CLIENT_SECRET:?missing}"),
                ("DATABASE_URL", "postgres://app:${DB_PASSWORD}@db:5432/app"),
                (
                    "STRIPE_SECRET_KEY",
                    "{{ vault \"secret/data/stripe\" \"api_key\" }}",
                ),
                ("VAULT_TOKEN", "$(vault print token)"),
                ("SENTRY_AUTH_TOKEN", "${SENTRY_AUTH_TOKEN}"),
                (
                    "REDIS_PASSWORD",
                    "{{ .Values.redis.auth.password | quote }}",
                ),
                (
                    "MONGO_URI",
                    "mongodb://${MONGO_USER}:${MONGO_PASS}@mongo:27017/app",
                ),
                ("DOCKER_PASSWORD", "${{ secrets.DOCKERHUB_TOKEN }}"),
                ("ACCESS_TOKEN", "{{ access_token }}"),
                ("API_SECRET", "${{ env.API_SECRET }}"),
            ]);
            vec![dec(n, v.to_string())]
        }
        3 => vec![dec_env(pname(rng, &ENV_NAMES))],
        4 => {
            let n = pname(
                rng,
                &[
                    "SHA",
                    "SHA256",
                    "CHECKSUM",
                    "DIGEST",
                    "COMMIT_SHA",
                    "GIT_COMMIT",
                    "SHA1",
                    "IMAGE_DIGEST",
                    "ETAG",
                    "MD5",
                    "TARBALL_SHA256",
                    "BUILD_SHA",
                    "REVISION",
                    "CONTENT_HASH",
                ],
            );
            let v = match rng.below(4) {
                0 => hexs(rng, 40),
                1 => hexs(rng, 64),
                2 => format!("sha256:{}", hexs(rng, 64)),
                _ => hexs(rng, 32),
            };
            vec![dec(n, v)]
        }
        5 => {
            let n = pname(
                rng,
                &[
                    "CLIENT_ID",
                    "TENANT_ID",
                    "SUBSCRIPTION_ID",
                    "AZURE_CLIENT_ID",
                    "AZURE_TENANT_ID",
                    "REQUEST_ID",
                    "TRACE_ID",
                    "PROJECT_ID",
                    "KEY_ID",
                    "API_KEY_ID",
                    "INSTANCE_ID",
                    "CORRELATION_ID",
                    "APPLICATION_ID",
                    "WORKSPACE_ID",
                ],
            );
            vec![dec(n, uuid(rng))]
        }
        6 => {
            let (n, t) = match rng.below(4) {
                0 => ("GITHUB_TOKEN", crc_token("ghp_", &rs(rng, B62, 30))),
                1 => ("GH_TOKEN", crc_token("gho_", &rs(rng, B62, 30))),
                2 => ("GITHUB_TOKEN", crc_token("ghs_", &rs(rng, B62, 30))),
                _ => ("NPM_TOKEN", crc_token("npm_", &rs(rng, B62, 30))),
            };
            vec![dec(n, corrupt_checksum(rng, &t))]
        }
        7 => {
            let (n, v): (&str, String) = match rng.below(22) {
                0 => ("CACHE_NAMESPACE", "orders-cache-v2".into()),
                1 => ("SESSION_COOKIE_NAME", "__Host-session".into()),
                2 => ("CSRF_HEADER_NAME", "X-CSRF-Token".into()),
                3 => (
                    "TOKEN_ENDPOINT",
                    "https://oauth2.googleapis.com/token".into(),
                ),
                4 => ("SECRET_NAME", "prod/payments/db-credentials".into()),
                5 => ("PASSWORD_RESET_PATH", "/account/password/reset".into()),
                6 => ("API_KEY_HEADER", "X-Api-Key".into()),
                7 => ("TOKEN_TYPE", "Bearer".into()),
                8 => (
                    "SECRET_ARN",
                    format!(
                        "arn:aws:secretsmanager:us-east-1:{}:secret:prod/db-{}",
                        digits(rng, 12),
                        rs(rng, B62, 6)
                    ),
                ),
                9 => (
                    "KEY_VAULT_URI",
                    "https://kv-acme-prod.vault.azure.net/".into(),
                ),
                10 => ("AUTH_HANDLER", "getAccessTokenForServiceAccount".into()),
                11 => ("PASSWORD_HASHER", "Argon2PasswordHasherWithPepper".into()),
                12 => ("SECRET_KEY_FILE", "/etc/acme/secrets/signing.key".into()),
                13 => ("KMS_KEY_ID", "alias/acme-prod-secrets".into()),
                14 => (
                    "GOOGLE_CLIENT_ID",
                    format!(
                        "{}-{}.apps.googleusercontent.com",
                        digits(rng, 12),
                        rs(rng, LOAN, 32)
                    ),
                ),
                15 => ("STRIPE_PRICE_ID", format!("price_1{}", rsm(rng, B62, 23))),
                16 => ("GA_MEASUREMENT_ID", format!("G-{}", rs(rng, UPAN, 10))),
                17 => ("SLACK_CHANNEL_ID", format!("C0{}", rs(rng, UPAN, 9))),
                18 => ("TOKEN_TTL_SECONDS", "3600".into()),
                19 => ("SIGNING_ALGORITHM", "RS256".into()),
                20 => (
                    "TOKEN_REFRESH_HANDLER",
                    "refreshAccessTokenWithRetryAndBackoff".into(),
                ),
                _ => (
                    "API_CLIENT_CLASS",
                    "PaymentIntentConfirmationHandlerFactory".into(),
                ),
            };
            vec![dec(n, v)]
        }
        8 => {
            let v = vec![dec_pem(
                pname(
                    rng,
                    &[
                        "PUBLIC_KEY",
                        "JWT_PUBLIC_KEY",
                        "CA_CERT",
                        "TLS_CERT",
                        "ROOT_CA",
                    ],
                ),
                {
                    let k = rng.below(3);
                    public_pem(rng, k)
                },
            )];
            if rng.chance(0.35) {
                only(v, Kind::PemFile)
            } else {
                v
            }
        }
        9 => vec![dec(
            pname(
                rng,
                &["SSH_PUBLIC_KEY", "DEPLOY_PUBLIC_KEY", "AUTHORIZED_KEY"],
            ),
            ssh_public_key(rng),
        )],
        10 => vec![dec(
            pname(rng, &["LOGO_DATA_URI", "PLACEHOLDER_IMAGE", "FAVICON_DATA"]),
            png_data_uri(rng),
        )],
        11 => {
            let (n, v) = *rng.pick(&[
                ("POSTGRES_PASSWORD", "postgres"),
                ("MYSQL_ROOT_PASSWORD", "root"),
                ("PASSWORD", "password"),
                ("ADMIN_PASSWORD", "admin"),
                ("RABBITMQ_DEFAULT_PASS", "guest"),
                (
                    "DATABASE_URL",
                    "postgres://postgres:postgres@localhost:5432/app_dev",
                ),
                ("AMQP_URL", "amqp://guest:guest@localhost:5672/"),
                ("REDIS_URL", "redis://localhost:6379/0"),
                ("MONGO_URL", "mongodb://localhost:27017/app_test"),
                ("DATABASE_URL", "postgres://user:password@localhost/mydb"),
                ("MYSQL_URL", "mysql://root:changeme@127.0.0.1:3306/app"),
                ("DB_PASSWORD", "secret"),
                ("KEYCLOAK_ADMIN_PASSWORD", "admin"),
                ("SMTP_URL", "smtp://localhost:1025"),
            ]);
            vec![dec(n, v.to_string())]
        }
        12 => {
            let (n, v) = *rng.pick(&[
                ("PASSWORD", "********"),
                ("API_KEY", "***"),
                ("TOKEN", "<redacted>"),
                ("SECRET", "REDACTED"),
                ("DB_PASSWORD", ""),
            ]);
            vec![dec(n, v.to_string())]
        }
        13 => {
            if rng.chance(0.5) {
                let n = *rng.pick(&[24usize, 99]);
                vec![dec(
                    pname(
                        rng,
                        &[
                            "STRIPE_PUBLISHABLE_KEY",
                            "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY",
                        ],
                    ),
                    format!(
                        "pk_live_{}{}",
                        if n == 99 { "51" } else { "" },
                        rsm(rng, B62, n)
                    ),
                )]
            } else {
                vec![dec(
                    pname(rng, &["SENTRY_DSN", "NEXT_PUBLIC_SENTRY_DSN"]),
                    format!(
                        "https://{}@o{}.ingest.sentry.io/{}",
                        hexs(rng, 32),
                        digits(rng, 6),
                        digits(rng, 7)
                    ),
                )]
            }
        }
        14 => {
            let (n, v) = *rng.pick(&[
                ("GITHUB_TOKEN", "ghp_..."),
                ("OPENAI_API_KEY", "sk-..."),
                ("AWS_ACCESS_KEY_ID", "AKIA..."),
                ("SLACK_BOT_TOKEN", "xoxb-..."),
                ("ANTHROPIC_API_KEY", "sk-ant-api03-..."),
                ("STRIPE_SECRET_KEY", "sk_live_..."),
            ]);
            vec![dec(n, v.to_string())]
        }
        _ => {
            if rng.chance(0.5) {
                vec![dec(
                    "INTEGRITY",
                    format!("sha512-{}", base64(&rng.bytes(64), false, true)),
                )]
            } else {
                vec![dec(
                    "SRI_HASH",
                    format!("sha384-{}", base64(&rng.bytes(48), false, true)),
                )]
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Vocabulary and template filling
// ---------------------------------------------------------------------------

const ENTITIES: [&str; 48] = [
    "user",
    "order",
    "invoice",
    "payment",
    "customer",
    "product",
    "cart",
    "session",
    "account",
    "report",
    "shipment",
    "notification",
    "subscription",
    "tenant",
    "project",
    "workspace",
    "document",
    "message",
    "event",
    "metric",
    "job",
    "task",
    "build",
    "release",
    "deployment",
    "cluster",
    "volume",
    "bucket",
    "policy",
    "role",
    "team",
    "comment",
    "review",
    "coupon",
    "refund",
    "ledger_entry",
    "price_plan",
    "webhook_event",
    "audit_log",
    "feature_flag",
    "warehouse",
    "supplier",
    "category",
    "address",
    "profile",
    "upload",
    "attachment",
    "reminder",
];
const FIELDS: [&str; 30] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "email",
    "amount",
    "currency",
    "quantity",
    "description",
    "owner_id",
    "region",
    "priority",
    "retries",
    "timeout",
    "version",
    "label",
    "source",
    "kind",
    "count",
    "total",
    "tags",
    "enabled",
    "expires_at",
    "parent_id",
    "slug",
    "title",
    "score",
    "weight",
    "notes",
];
const VERBS: [&str; 20] = [
    "load",
    "sync",
    "refresh",
    "validate",
    "archive",
    "publish",
    "reconcile",
    "export",
    "import",
    "notify",
    "schedule",
    "resolve",
    "enqueue",
    "process",
    "render",
    "compute",
    "merge",
    "split",
    "retry",
    "cancel",
];
const ADJS: [&str; 13] = [
    "pending",
    "active",
    "stale",
    "failed",
    "archived",
    "primary",
    "default",
    "cached",
    "remote",
    "local",
    "scheduled",
    "expired",
    "verified",
];
const SERVICES: [&str; 20] = [
    "billing",
    "checkout",
    "inventory",
    "notifications",
    "auth",
    "gateway",
    "analytics",
    "search",
    "reports",
    "ledger",
    "catalog",
    "shipping",
    "identity",
    "pricing",
    "payments",
    "scheduler",
    "media",
    "profiles",
    "webhooks",
    "audit",
];
const MESSAGES: [&str; 12] = [
    "failed to load",
    "unable to process",
    "received",
    "skipping invalid",
    "retrying",
    "completed",
    "could not find",
    "updated",
    "created new",
    "dropping duplicate",
    "timed out waiting for",
    "rejected",
];
const WORDS: [&str; 40] = [
    "the",
    "service",
    "worker",
    "queue",
    "request",
    "response",
    "cache",
    "database",
    "retry",
    "timeout",
    "config",
    "deploy",
    "cluster",
    "metrics",
    "dashboard",
    "latency",
    "throughput",
    "release",
    "feature",
    "flag",
    "rollout",
    "migration",
    "schema",
    "index",
    "backup",
    "restore",
    "incident",
    "alert",
    "owner",
    "team",
    "budget",
    "region",
    "replica",
    "primary",
    "endpoint",
    "client",
    "server",
    "batch",
    "stream",
    "event",
];

fn push_pascal(out: &mut String, s: &str) {
    for w in s.split(['_', '-']) {
        let mut c = w.chars();
        if let Some(f) = c.next() {
            out.push(f.to_ascii_uppercase());
            out.push_str(c.as_str());
        }
    }
}
fn push_camel(out: &mut String, s: &str) {
    for (i, w) in s.split(['_', '-']).enumerate() {
        let mut c = w.chars();
        if let Some(f) = c.next() {
            if i == 0 {
                out.push(f);
            } else {
                out.push(f.to_ascii_uppercase());
            }
            out.push_str(c.as_str());
        }
    }
}
fn plural(s: &str) -> String {
    if let Some(p) = s.strip_suffix('y') {
        if !p.ends_with(['a', 'e', 'o', 'u']) {
            return format!("{p}ies");
        }
    }
    if s.ends_with('s') || s.ends_with("ch") || s.ends_with('x') {
        return format!("{s}es");
    }
    format!("{s}s")
}
fn pascal(s: &str) -> String {
    let mut o = String::new();
    push_pascal(&mut o, s);
    o
}
fn camel(s: &str) -> String {
    let mut o = String::new();
    push_camel(&mut o, s);
    o
}

struct Vars {
    e: &'static str,
    a: &'static str,
    f: &'static str,
    v: &'static str,
    d: &'static str,
    s: &'static str,
    m: &'static str,
    n: usize,
    nn: usize,
}

impl Vars {
    fn new(rng: &mut Rng) -> Vars {
        let e = *rng.pick(&ENTITIES);
        let mut a = *rng.pick(&ENTITIES);
        if a == e {
            a = ENTITIES[(rng.below(ENTITIES.len() - 1)
                + 1
                + ENTITIES.iter().position(|x| *x == e).unwrap())
                % ENTITIES.len()];
        }
        Vars {
            e,
            a,
            f: pname(rng, &FIELDS[1..]),
            v: pname(rng, &VERBS),
            d: pname(rng, &ADJS),
            s: pname(rng, &SERVICES),
            m: pname(rng, &MESSAGES),
            n: rng.range(2, 500),
            nn: rng.range(1000, 65000),
        }
    }
}

/// Expand a template: `§X` markers are replaced by vocabulary picked once per call.
fn fill_with(out: &mut String, tpl: &str, v: &Vars) {
    let mut parts = tpl.split('§');
    out.push_str(parts.next().unwrap_or(""));
    for p in parts {
        let mut cs = p.chars();
        let c = cs.next().unwrap_or(' ');
        match c {
            'E' => push_pascal(out, v.e),
            'e' => out.push_str(v.e),
            'c' => push_camel(out, v.e),
            'P' => out.push_str(&plural(v.e)),
            'Q' => push_pascal(out, &plural(v.e)),
            'A' => push_pascal(out, v.a),
            'a' => out.push_str(v.a),
            'F' => out.push_str(v.f),
            'f' => push_camel(out, v.f),
            'G' => push_pascal(out, v.f),
            'n' => {
                let _ = write!(out, "{}", v.n);
            }
            'N' => {
                let _ = write!(out, "{}", v.nn);
            }
            'V' => out.push_str(v.v),
            'v' => push_pascal(out, v.v),
            'd' => out.push_str(v.d),
            's' => out.push_str(v.s),
            'S' => push_pascal(out, v.s),
            'k' => out.push_str(&v.e.replace('_', "-")),
            'U' => out.push_str(&v.e.to_ascii_uppercase()),
            'm' => out.push_str(v.m),
            _ => {
                out.push('§');
                out.push(c);
            }
        }
        out.push_str(cs.as_str());
    }
}

fn fill(out: &mut String, tpl: &str, rng: &mut Rng) {
    let v = Vars::new(rng);
    fill_with(out, tpl, &v);
}

fn sentence(rng: &mut Rng, out: &mut String) {
    let n = rng.range(8, 20);
    for i in 0..n {
        let w = *rng.pick(&WORDS);
        if i == 0 {
            push_pascal(out, w);
        } else {
            out.push(' ');
            out.push_str(w);
        }
    }
    out.push_str(". ");
}

// ---------------------------------------------------------------------------
// Code templates
// ---------------------------------------------------------------------------

const PY_HEAD: &str = r##""""§s: §e helpers."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

import httpx
from sqlalchemy.orm import Session

from .models import §E, §A

logger = logging.getLogger(__name__)

"##;
const PY_BODY: [&str; 6] = [
    r##"
def §V_§e(§e_id: int, session: Session) -> Optional[§E]:
    """§v the §e identified by ``§e_id``."""
    §e = session.get(§E, §e_id)
    if §e is None:
        logger.warning("§e %s not found", §e_id)
        return None
    §e.§F = compute_§F(§e)
    session.add(§e)
    return §e

"##,
    r##"
class §E§vService:
    """Service object that handles §P for the §s service."""

    def __init__(self, repository: "§ERepository", timeout: float = §n.0) -> None:
        self._repository = repository
        self._timeout = timeout
        self._cache: dict[int, §E] = {}

    def list_§P(self, limit: int = §n, offset: int = 0) -> list[§E]:
        rows = self._repository.find_all(limit=limit, offset=offset)
        return [row for row in rows if row.§F is not None]

    def §V(self, §e: §E) -> bool:
        if §e.id in self._cache:
            return False
        self._cache[§e.id] = §e
        logger.info("§m %s", §e.id)
        return True

"##,
    r##"
async def fetch_§P(client: httpx.AsyncClient, §a_id: int) -> list[dict]:
    response = await client.get(f"/api/v1/§a/{§a_id}/§P", params={"page_size": §n})
    response.raise_for_status()
    payload = response.json()
    return [item for item in payload.get("results", []) if item.get("§F")]

"##,
    r##"
@dataclass(frozen=True)
class §E§A:
    §e_id: int
    §F: str
    §a_id: Optional[int] = None
    retries: int = §n

    def as_dict(self) -> dict:
        return {"§e_id": self.§e_id, "§F": self.§F, "§a_id": self.§a_id}

"##,
    r##"
def test_§V_§e_returns_§d(§e_factory, db_session):
    §e = §e_factory(§F="§d")
    result = §V_§e(§e.id, db_session)
    assert result is not None
    assert result.§F == "§d"

"##,
    r##"
def validate_§F(value: str) -> str:
    if not value or len(value) > §n:
        raise ValueError("invalid §F for §e")
    return value.strip().lower()

"##,
];

const JS_HEAD: [&str; 2] = [
    r##"'use strict';

const express = require('express');
const axios = require('axios');
const logger = require('../lib/logger');
const { §E, §A } = require('../models');

const router = express.Router();

"##,
    r##"import axios from 'axios';
import { useEffect, useState } from 'react';
import { logger } from '../lib/logger';
import { §c§vService } from '../services/§k';

"##,
];
const JS_BODY: [&str; 6] = [
    r##"
async function §V§Q(req, res, next) {
  try {
    const { page = 1, limit = §n } = req.query;
    const §P = await §E.findAll({ where: { §f: req.params.§f }, offset: (page - 1) * limit, limit });
    res.json({ data: §P, page });
  } catch (err) {
    logger.error('§m §P', err);
    next(err);
  }
}
"##,
    r##"
class §E§vClient {
  constructor(baseUrl, options = {}) {
    this.baseUrl = baseUrl;
    this.timeout = options.timeout || §N;
    this.http = axios.create({ baseURL: baseUrl, timeout: this.timeout });
  }

  async get§E(id) {
    const { data } = await this.http.get(`/§k/${id}`);
    return data;
  }

  async §V§E(id, §f) {
    const { data } = await this.http.post(`/§k/${id}/§V`, { §f });
    return data;
  }
}
"##,
    r##"
const §V§G = (items = []) =>
  items
    .filter((item) => item && item.§f !== undefined)
    .map((item) => ({ ...item, §f: String(item.§f).trim() }))
    .sort((a, b) => (a.§f > b.§f ? 1 : -1));
"##,
    r##"
router.get('/§k/:id', async (req, res) => {
  const §c = await §E.findByPk(req.params.id, { include: [§A] });
  if (!§c) {
    return res.status(404).json({ error: '§e not found' });
  }
  return res.json(§c);
});
"##,
    r##"
export function §E§vPanel({ §c, on§v }) {
  const [§f, set§G] = useState(§c?.§f ?? '');
  useEffect(() => {
    set§G(§c?.§f ?? '');
  }, [§c]);
  return (
    <section className="§k-panel">
      <h2>{§c?.name}</h2>
      <button type="button" onClick={() => on§v(§f)}>§v</button>
    </section>
  );
}
"##,
    r##"
describe('§E§vClient', () => {
  it('handles a §d §e', async () => {
    const client = new §E§vClient('http://localhost:§N');
    nock('http://localhost:§N').post('/§k/§n/§V').reply(200, { ok: true });
    await expect(client.§V§E(§n, '§d')).resolves.toEqual({ ok: true });
  });
});
"##,
];

const TS_HEAD: &str = r##"import { Injectable, Logger } from '@nestjs/common';
import { HttpService } from '@nestjs/axios';
import { Repository } from 'typeorm';
import type { §A } from './§a.entity';

"##;
const TS_BODY: [&str; 4] = [
    r##"
export interface §E {
  id: string;
  §f: string;
  §a?: §A;
  createdAt: Date;
  retries: number;
}
"##,
    r##"
@Injectable()
export class §E§vService {
  private readonly logger = new Logger(§E§vService.name);

  constructor(private readonly repo: Repository<§E>, private readonly http: HttpService) {}

  async §V(id: string): Promise<§E | undefined> {
    const §c = await this.repo.findOne({ where: { id } });
    if (!§c) {
      this.logger.warn(`§e ${id} not found`);
      return undefined;
    }
    §c.§f = §c.§f ?? '§d';
    return this.repo.save(§c);
  }
}
"##,
    r##"
export function group§QBy§G(items: §E[]): Record<string, §E[]> {
  return items.reduce<Record<string, §E[]>>((acc, item) => {
    const key = String(item.§f);
    (acc[key] ||= []).push(item);
    return acc;
  }, {});
}
"##,
    r##"
export type §E§vResult = { ok: true; value: §E } | { ok: false; error: string };

export const DEFAULT_§U_LIMIT = §n;
"##,
];

const GO_HEAD: &str = r##"package §a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

"##;
const GO_BODY: [&str; 5] = [
    r##"
// §E is a §e as stored by the §s service.
type §E struct {
	ID        int64     `json:"id"`
	§G        string    `json:"§F"`
	§AID      int64     `json:"§a_id"`
	CreatedAt time.Time `json:"created_at"`
}
"##,
    r##"
// §v§E handles the given §e.
func (s *§E§vService) §v§E(ctx context.Context, id int64) (*§E, error) {
	ctx, cancel := context.WithTimeout(ctx, §n*time.Second)
	defer cancel()
	§c, err := s.repo.Find(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("§V §e %d: %w", id, err)
	}
	if §c.§G == "" {
		return nil, errors.New("§e has no §F")
	}
	return §c, nil
}
"##,
    r##"
func (h *Handler) handle§Q(w http.ResponseWriter, r *http.Request) {
	§P, err := h.store.List§Q(r.Context(), §n)
	if err != nil {
		http.Error(w, "§m §P", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(§P)
}
"##,
    r##"
type §E§vService struct {
	repo    §ERepository
	client  *http.Client
	timeout time.Duration
}

func New§E§vService(repo §ERepository) *§E§vService {
	return &§E§vService{repo: repo, client: &http.Client{Timeout: §n * time.Second}}
}
"##,
    r##"
func Test§v§E(t *testing.T) {
	svc := New§E§vService(newFake§ERepository())
	got, err := svc.§v§E(context.Background(), §n)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if got.§G != "§d" {
		t.Errorf("§F = %q, want %q", got.§G, "§d")
	}
}
"##,
];

const JAVA_HEAD: &str = r##"package com.acme.§s.§a;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.domain.PageRequest;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

@Service
public class §E§vService {

    private static final Logger log = LoggerFactory.getLogger(§E§vService.class);

    private final §ERepository repository;

"##;
const JAVA_BODY: [&str; 4] = [
    r##"
    public Optional<§E> find§EBy§G(String §f) {
        log.debug("looking up §e by §F={}", §f);
        return repository.findBy§G(§f).filter(e -> e.get§G() != null);
    }
"##,
    r##"
    public List<§E> §V§Q(int limit) {
        List<§E> §P = repository.findAll(PageRequest.of(0, limit)).getContent();
        §P.forEach(e -> e.set§G("§d"));
        return repository.saveAll(§P);
    }
"##,
    r##"
    @Transactional
    public §E update§G(long id, String value) {
        §E §c = repository.findById(id)
                .orElseThrow(() -> new EntityNotFoundException("§e " + id));
        §c.set§G(value);
        §c.setUpdatedAt(Instant.now());
        return repository.save(§c);
    }
"##,
    r##"
    private static boolean is§v(§E §c) {
        return §c != null && "§d".equalsIgnoreCase(§c.get§G()) && §c.getRetries() < §n;
    }
"##,
];

const RB_HEAD: &str = r##"# frozen_string_literal: true

require "json"

class §E§vJob < ApplicationJob
  queue_as :§s

"##;
const RB_BODY: [&str; 4] = [
    r##"
  def §V_§P(scope = §E.all)
    scope.where(§F: nil).find_each(batch_size: §n) do |§e|
      §e.update!(§F: "§d")
    end
  end
"##,
    r##"
  def find_§e!(id)
    §E.find_by!(id: id)
  rescue ActiveRecord::RecordNotFound => e
    Rails.logger.warn("§m §e #{id}: #{e.message}")
    raise
  end
"##,
    r##"
  def perform(§e_id, options = {})
    §e = find_§e!(§e_id)
    return if §e.§F.present? && !options[:force]

    §e.with_lock do
      §e.update!(§F: §A.default_§F, retries: §e.retries + 1)
    end
  end
"##,
    r##"
  def §d?(§e)
    §e.status == "§d" && §e.retries < §n
  end
"##,
];

const RS_HEAD: &str = r##"use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

"##;
const RS_BODY: [&str; 4] = [
    r##"
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct §E {
    pub id: u64,
    pub §F: String,
    pub §a_id: Option<u64>,
    pub retries: u32,
}
"##,
    r##"
impl §E {
    pub fn is_§d(&self) -> bool {
        self.retries < §n && !self.§F.is_empty()
    }

    pub fn §V(&mut self, value: &str) -> Result<(), §EError> {
        if value.len() > §N {
            return Err(§EError::TooLong(value.len()));
        }
        self.§F = value.to_owned();
        Ok(())
    }
}
"##,
    r##"
pub fn group_by_§F(items: &[§E]) -> HashMap<&str, Vec<&§E>> {
    let mut map: HashMap<&str, Vec<&§E>> = HashMap::new();
    for item in items {
        map.entry(item.§F.as_str()).or_default().push(item);
    }
    map
}
"##,
    r##"
pub async fn §V_with_retry(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let mut delay = Duration::from_millis(§n);
    for _ in 0..5 {
        match client.get(url).send().await {
            Ok(resp) if resp.status().is_success() => return Ok(resp.text().await?),
            _ => tokio::time::sleep(delay).await,
        }
        delay *= 2;
    }
    anyhow::bail!("§m {url}")
}
"##,
];

const PHP_HEAD: &str = r##"<?php

namespace App\Services;

use App\Models\§E;
use Illuminate\Support\Facades\Log;

class §E§vService
{
"##;
const PHP_BODY: [&str; 3] = [
    r##"
    public function §V§E(int $id): ?§E
    {
        $§c = §E::find($id);
        if ($§c === null) {
            Log::warning('§m §e', ['id' => $id]);
            return null;
        }
        $§c->§F = '§d';
        $§c->save();
        return $§c;
    }
"##,
    r##"
    public function list§Q(int $limit = §n): array
    {
        return §E::query()
            ->whereNotNull('§F')
            ->orderByDesc('created_at')
            ->limit($limit)
            ->get()
            ->all();
    }
"##,
    r##"
    private function is§v(§E $§c): bool
    {
        return $§c->status === '§d' && $§c->retries < §n;
    }
"##,
];

const CS_HEAD: &str = r##"using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Acme.§S.Services
{
    public class §E§vService
    {
        private readonly ILogger<§E§vService> _logger;
        private readonly AppDbContext _context;

"##;
const CS_BODY: [&str; 3] = [
    r##"
        public async Task<§E?> Get§EAsync(int id)
        {
            var §c = await _context.§Q.FindAsync(id);
            if (§c == null)
            {
                _logger.LogWarning("§e {Id} not found", id);
            }
            return §c;
        }
"##,
    r##"
        public IEnumerable<§E> Filter§Q(IEnumerable<§E> items, string §f)
        {
            foreach (var item in items)
            {
                if (string.Equals(item.§G, §f, StringComparison.OrdinalIgnoreCase) && item.Retries < §n)
                {
                    yield return item;
                }
            }
        }
"##,
    r##"
        public async Task §v§EAsync(§E §c)
        {
            §c.§G = "§d";
            §c.UpdatedAt = DateTime.UtcNow;
            _context.Update(§c);
            await _context.SaveChangesAsync();
            _logger.LogInformation("§m §e {Id}", §c.Id);
        }
"##,
];

const SH_HEAD: &str = r##"#!/usr/bin/env bash
# §V §P for the §s service
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

"##;
const SH_BODY: [&str; 4] = [
    r##"
log "§m §P for §s"
for i in $(seq 1 §n); do
  if curl -fsS "http://localhost:§N/healthz" >/dev/null; then
    break
  fi
  sleep 2
done
"##,
    r##"
§V_§P() {
  local target="${1:-§d}"
  echo "==> §V §P (${target})"
  kubectl -n "§s" rollout status "deployment/§s-§k" --timeout=§ns
}
"##,
    r##"
if [[ -z "${ENVIRONMENT:-}" ]]; then
  echo "ENVIRONMENT is not set" >&2
  exit 1
fi
aws s3 sync "./build/§P" "s3://acme-§s-${ENVIRONMENT}/§P" --delete
"##,
    r##"
docker build -t "acme/§s-§k:${VERSION:-latest}" -f "${SCRIPT_DIR}/../Dockerfile" .
docker push "acme/§s-§k:${VERSION:-latest}"
"##,
];

const MD_BODY: [&str; 5] = [
    r##"
## §v §P

The §s service handles §P every §n minutes. When a §e is §d, the worker moves it to the §a queue and records the `§F`.

"##,
    r##"
### Running locally

1. Start the dependencies with `docker compose up -d postgres redis`.
2. Run the migrations: `make migrate`.
3. Start the API with `make run` and open http://localhost:§N/§k.

"##,
    r##"
| Field | Type | Description |
|-------|------|-------------|
| `id` | integer | Primary key of the §e |
| `§F` | string | §v state, see below |
| `§a_id` | integer | Owning §a |

"##,
    r##"
```bash
make test
./scripts/§V-§P.sh --env staging
```

"##,
    r##"
> **Note**
> §P older than §n days are archived by the nightly job. See the §a runbook for details.

"##,
];

const SQL_BODY: [&str; 2] = [
    r##"
CREATE TABLE IF NOT EXISTS §P (
    id BIGSERIAL PRIMARY KEY,
    §F TEXT NOT NULL,
    §a_id BIGINT REFERENCES §a (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_§P_§F ON §P (§F);
"##,
    r##"
ALTER TABLE §P ADD COLUMN IF NOT EXISTS retries INTEGER NOT NULL DEFAULT 0;
UPDATE §P SET status = '§d' WHERE updated_at < now() - interval '§n days';
"##,
];

// ---------------------------------------------------------------------------
// File kinds and rendering
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Py,
    Js,
    Ts,
    Go,
    Java,
    Rb,
    Rs,
    Php,
    Cs,
    Env,
    EnvExample,
    Sh,
    Dockerfile,
    K8s,
    K8sSecret,
    Compose,
    Workflow,
    GitlabCi,
    Helm,
    HelmTpl,
    YamlApp,
    JsonConfig,
    AppSettings,
    PackageJson,
    LockJson,
    YarnLock,
    GoSum,
    CargoLock,
    Properties,
    GradleProps,
    SettingsXml,
    PomXml,
    Csproj,
    Tf,
    Tfvars,
    Toml,
    CargoCreds,
    Ini,
    AwsCreds,
    Npmrc,
    Pypirc,
    Kubeconfig,
    GcpSa,
    Md,
    MinJs,
    Html,
    Css,
    PemFile,
    SshPub,
    Sql,
    Log,
    Csv,
    Misc,
    Binary,
}

use Kind::*;

/// Can `it` be embedded in a file of kind `k`?
fn accepts(k: Kind, it: &Item) -> bool {
    if let Some(o) = it.only {
        return o == k;
    }
    match &it.val {
        Val::Pem(_) => matches!(
            k,
            Py | Js
                | Ts
                | Go
                | Java
                | Rb
                | Rs
                | Php
                | Cs
                | Sh
                | K8sSecret
                | YamlApp
                | Helm
                | Tf
                | Md
                | JsonConfig
        ),
        Val::Env(_) => matches!(
            k,
            Py | Js
                | Ts
                | Go
                | Java
                | Rb
                | Rs
                | Php
                | Cs
                | Env
                | Sh
                | Dockerfile
                | Compose
                | Workflow
                | GitlabCi
                | Helm
                | YamlApp
                | K8s
                | Tf
                | Properties
                | JsonConfig
                | AppSettings
        ),
        Val::Lit(_) => match k {
            Py | Js | Ts | Go | Java | Rb | Rs | Php | Cs | Env | Sh | Dockerfile | Compose
            | Workflow | GitlabCi | Helm | YamlApp | K8s | K8sSecret | JsonConfig | AppSettings
            | Properties | GradleProps | Tf | Tfvars | Toml | Ini | Md | MinJs | Html => true,
            Log => !it.keyed,
            EnvExample => it.fam.is_none(),
            _ => false,
        },
    }
}

#[derive(Clone, Copy)]
enum St {
    Up,
    Lo,
    Camel,
    Pascal,
    Kebab,
    Dot,
}

fn sty(name: &str, st: St) -> String {
    let lower = name.to_ascii_lowercase();
    match st {
        St::Up => lower.to_ascii_uppercase(),
        St::Lo => lower,
        St::Camel => camel(&lower),
        St::Pascal => pascal(&lower),
        St::Kebab => lower.replace('_', "-"),
        St::Dot => lower.replace('_', "."),
    }
}

struct Doc {
    s: String,
    planted: Vec<(String, &'static str)>,
}

fn esc_nl(s: &str) -> String {
    s.replace('\n', "\\n")
}

impl Doc {
    /// Text of the item for embedding; records the planted secret.
    /// PEM item inside a YAML block scalar: every line indented by `n` spaces.
    /// The planted secret is the text as it appears in the file from BEGIN to END
    /// (continuation lines keep their indentation).
    fn raw_indented(&mut self, it: &Item, n: usize) -> String {
        let text = match &it.val {
            Val::Pem(s) | Val::Lit(s) => indent(s, n),
            Val::Env(x) => format!("{}${{{x}}}", " ".repeat(n)),
        };
        if let Some(f) = it.fam {
            self.planted.push((text[n..].to_string(), f));
        }
        text
    }

    fn raw(&mut self, it: &Item, json_escape: bool) -> String {
        if let Some(f) = it.fam {
            let sec = if json_escape {
                esc_nl(&it.secret)
            } else {
                it.secret.clone()
            };
            self.planted.push((sec, f));
        }
        match &it.val {
            Val::Lit(s) => s.clone(),
            Val::Pem(s) => {
                if json_escape {
                    esc_nl(s)
                } else {
                    s.clone()
                }
            }
            Val::Env(n) => format!("${{{n}}}"),
        }
    }
}

fn esc_q(v: &str, q: char) -> String {
    let mut o = String::with_capacity(v.len() + 2);
    o.push(q);
    for c in v.chars() {
        if c == q || c == '\\' {
            o.push('\\');
        }
        o.push(c);
    }
    o.push(q);
    o
}

fn json_s(v: &str) -> String {
    esc_q(v, '"')
}

fn xml_esc(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// YAML scalar, quoted when needed (and sometimes anyway).
fn yq(rng: &mut Rng, v: &str) -> String {
    let special = v.is_empty()
        || v.contains([
            ':', '#', '{', '}', '[', ']', '&', '*', '!', '|', '>', '\'', '"', '%', '@', ',', '`',
            '$', '?',
        ])
        || v.starts_with(['-', ' ', '.', '~'])
        || v.parse::<f64>().is_ok()
        || matches!(v, "true" | "false" | "yes" | "no" | "null" | "on" | "off");
    if special || rng.chance(0.5) {
        if v.contains('"') {
            format!("'{v}'")
        } else {
            format!("\"{v}\"")
        }
    } else {
        v.to_string()
    }
}

/// Shell / dotenv value with appropriate quoting.
fn shq(rng: &mut Rng, v: &str) -> String {
    if v.contains('"') || v.contains('$') && !v.contains("${") && !v.contains("$(") {
        format!("'{v}'")
    } else if v.contains('\'') || v.contains(' ') || v.contains("${") || v.contains("$(") {
        format!("\"{v}\"")
    } else {
        match rng.below(3) {
            0 => format!("\"{v}\""),
            1 => format!("'{v}'"),
            _ => v.to_string(),
        }
    }
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut o = String::with_capacity(text.len() + 64);
    for (i, l) in text.lines().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.push_str(&pad);
        o.push_str(l);
    }
    o
}

fn code_expr(k: Kind, it: &Item, d: &mut Doc, rng: &mut Rng) -> String {
    match &it.val {
        Val::Env(n) => match k {
            Py => {
                if rng.chance(0.5) {
                    format!("os.environ[\"{n}\"]")
                } else {
                    format!("os.getenv(\"{n}\", \"\")")
                }
            }
            Js | Ts => format!("process.env.{n}"),
            Go => format!("os.Getenv(\"{n}\")"),
            Java => format!("System.getenv(\"{n}\")"),
            Rb => format!("ENV.fetch(\"{n}\")"),
            Rs => format!("std::env::var(\"{n}\").unwrap_or_default()"),
            Php => format!("env('{n}')"),
            Cs => format!("Environment.GetEnvironmentVariable(\"{n}\")"),
            _ => format!("\"${{{n}}}\""),
        },
        Val::Lit(_) => {
            let v = d.raw(it, false);
            match k {
                Php => esc_q(&v, '\''),
                Py | Rb | Js if rng.chance(0.4) => esc_q(&v, '\''),
                _ => esc_q(&v, '"'),
            }
        }
        Val::Pem(_) => {
            let v = d.raw(it, false);
            match k {
                Py => format!("\"\"\"{v}\n\"\"\""),
                Js | Ts | Go => format!("`{v}\n`"),
                Java => format!("\"\"\"\n{v}\n\"\"\""),
                Rb => format!("<<~PEM\n{v}\nPEM"),
                Rs => format!("r#\"{v}\n\"#"),
                Php => format!("<<<'PEM'\n{v}\nPEM"),
                Cs => format!("@\"{v}\n\""),
                _ => format!("\"{}\"", esc_nl(&v)),
            }
        }
    }
}

fn code_item(k: Kind, ind: &str, it: &Item, rng: &mut Rng, d: &mut Doc) {
    let lit = matches!(it.val, Val::Lit(_));
    let env = matches!(it.val, Val::Env(_));
    let n = it.name.as_str();
    let e = code_expr(k, it, d, rng);
    let line = match k {
        Py => match if lit { rng.below(4) } else { 0 } {
            0 => format!("{} = {e}\n", sty(n, St::Up)),
            1 => format!("{} = {e}\n", sty(n, St::Lo)),
            2 if !it.keyed && n.contains('_') => {
                let (a, b) = n.split_once('_').unwrap();
                format!(
                    "{}_client = {}Client({}={e}, timeout=30)\n",
                    a.to_ascii_lowercase(),
                    pascal(&a.to_ascii_lowercase()),
                    b.to_ascii_lowercase()
                )
            }
            _ => format!("os.environ.setdefault(\"{}\", {e})\n", sty(n, St::Up)),
        },
        Js => match if lit { rng.below(4) } else { rng.below(2) } {
            0 => format!("const {} = {e};\n", sty(n, St::Camel)),
            1 => format!("export const {} = {e};\n", sty(n, St::Up)),
            2 => format!(
                "const {} = process.env.{} || {e};\n",
                sty(n, St::Camel),
                sty(n, St::Up)
            ),
            _ => format!("module.exports.{} = {e};\n", sty(n, St::Camel)),
        },
        Ts => match if lit { rng.below(3) } else { rng.below(2) } {
            0 => format!("export const {}: string = {e};\n", sty(n, St::Camel)),
            1 => format!("const {} = {e};\n", sty(n, St::Up)),
            _ => format!(
                "const {} = process.env.{} ?? {e};\n",
                sty(n, St::Camel),
                sty(n, St::Up)
            ),
        },
        Go => {
            if env {
                format!("var {} = {e}\n", sty(n, St::Camel))
            } else if rng.chance(0.5) {
                format!("const {} = {e}\n", sty(n, St::Camel))
            } else {
                format!("var default{} = {e}\n", sty(n, St::Pascal))
            }
        }
        Java => {
            if rng.chance(0.6) {
                format!(
                    "{ind}private static final String {} = {e};\n",
                    sty(n, St::Up)
                )
            } else {
                format!("{ind}static final String {} = {e};\n", sty(n, St::Up))
            }
        }
        Rb => {
            if lit && rng.chance(0.4) {
                format!("{ind}{} = {e}.freeze\n", sty(n, St::Up))
            } else {
                format!("{ind}{} = {e}\n", sty(n, St::Up))
            }
        }
        Rs => {
            if env {
                format!("fn {}() -> String {{\n    {e}\n}}\n", sty(n, St::Lo))
            } else if rng.chance(0.5) {
                format!("pub const {}: &str = {e};\n", sty(n, St::Up))
            } else {
                format!("const {}: &str = {e};\n", sty(n, St::Up))
            }
        }
        Php => {
            if env {
                format!("{ind}protected function {}(): ?string\n{ind}{{\n{ind}    return {e};\n{ind}}}\n", sty(n, St::Camel))
            } else if rng.chance(0.5) {
                format!("{ind}private const {} = {e};\n", sty(n, St::Up))
            } else {
                format!("{ind}public const {} = {e};\n", sty(n, St::Up))
            }
        }
        Cs => {
            if env || !lit {
                format!(
                    "{ind}private static readonly string {} = {e};\n",
                    sty(n, St::Pascal)
                )
            } else if rng.chance(0.5) {
                format!("{ind}private const string {} = {e};\n", sty(n, St::Pascal))
            } else {
                format!(
                    "{ind}public static readonly string {} = {e};\n",
                    sty(n, St::Pascal)
                )
            }
        }
        _ => String::new(),
    };
    d.s.push_str(&line);
}

fn render_code(k: Kind, rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let js_head = rng.below(2);
    let (head, bodies, foot, ind): (&str, &[&str], &str, &str) = match k {
        Py => (PY_HEAD, &PY_BODY, "", ""),
        Js => (
            JS_HEAD[js_head],
            &JS_BODY,
            if js_head == 0 {
                "\nmodule.exports = router;\n"
            } else {
                ""
            },
            "",
        ),
        Ts => (TS_HEAD, &TS_BODY, "", ""),
        Go => (GO_HEAD, &GO_BODY, "", ""),
        Java => (JAVA_HEAD, &JAVA_BODY, "}\n", "    "),
        Rb => (RB_HEAD, &RB_BODY, "end\n", "  "),
        Rs => (RS_HEAD, &RS_BODY, "", ""),
        Php => (PHP_HEAD, &PHP_BODY, "}\n", "    "),
        _ => (CS_HEAD, &CS_BODY, "    }\n}\n", "        "),
    };
    fill(&mut d.s, head, rng);
    let mut top: Vec<&Item> = Vec::new();
    let mut mid: Vec<&Item> = Vec::new();
    for it in items {
        if rng.chance(0.7) {
            top.push(it)
        } else {
            mid.push(it)
        }
    }
    for it in &top {
        code_item(k, ind, it, rng, d);
    }
    let remaining = target.saturating_sub(d.s.len()).max(1);
    let mut mid_at = if mid.is_empty() {
        usize::MAX
    } else {
        d.s.len() + rng.below(remaining)
    };
    loop {
        if d.s.len() >= mid_at {
            d.s.push('\n');
            for it in mid.drain(..) {
                code_item(k, ind, it, rng, d);
            }
            mid_at = usize::MAX;
        }
        if d.s.len() >= target && mid.is_empty() {
            break;
        }
        let t = *rng.pick(bodies);
        fill(&mut d.s, t, rng);
    }
    d.s.push_str(foot);
}

const ENV_LINES: [&str; 30] = [
    "APP_ENV=production",
    "NODE_ENV=production",
    "LOG_LEVEL=info",
    "PORT=8080",
    "HOST=0.0.0.0",
    "DATABASE_POOL_SIZE=10",
    "REDIS_HOST=redis",
    "REDIS_PORT=6379",
    "AWS_REGION=us-east-1",
    "S3_BUCKET=acme-uploads-prod",
    "FEATURE_NEW_CHECKOUT=true",
    "SENTRY_ENVIRONMENT=production",
    "TZ=UTC",
    "WORKERS=4",
    "CACHE_TTL=300",
    "CORS_ORIGINS=https://app.acme.io,https://admin.acme.io",
    "SMTP_HOST=smtp.mailgun.org",
    "SMTP_PORT=587",
    "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4317",
    "PUBLIC_URL=https://app.acme.io",
    "MAX_UPLOAD_MB=25",
    "RATE_LIMIT_PER_MINUTE=600",
    "JWT_ISSUER=https://auth.acme.io",
    "ENABLE_METRICS=true",
    "DEBUG=false",
    "QUEUE_NAME=orders-events",
    "KAFKA_BROKERS=kafka-0:9092,kafka-1:9092",
    "ELASTICSEARCH_URL=http://elasticsearch:9200",
    "GRPC_PORT=9090",
    "SESSION_TTL_MINUTES=120",
];

fn env_item_line(it: &Item, rng: &mut Rng, d: &mut Doc) -> String {
    let n = sty(&it.name, St::Up);
    match &it.val {
        Val::Env(x) => format!("{n}=${{VAULT_{x}}}\n"),
        _ => {
            let v = d.raw(it, false);
            let q = shq(rng, &v);
            if rng.chance(0.15) {
                format!("export {n}={q}\n")
            } else {
                format!("{n}={q}\n")
            }
        }
    }
}

fn render_env(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let mut pool: Vec<&str> = ENV_LINES.to_vec();
    shuffle(&mut pool, rng);
    let n = (target / 40).clamp(5, pool.len());
    let mut lines: Vec<String> = Vec::new();
    for (i, l) in pool.iter().take(n).enumerate() {
        if i % 7 == 0 && i > 0 && rng.chance(0.6) {
            lines.push(format!("\n# --- {} ---\n", rng.pick(&WORDS)));
        }
        lines.push(format!("{l}\n"));
    }
    for it in items {
        let l = env_item_line(it, rng, d);
        let pos = rng.below(lines.len() + 1);
        lines.insert(pos, l);
    }
    d.s.push_str("# Environment configuration\n");
    for l in lines {
        d.s.push_str(&l);
    }
}

fn render_sh(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    fill(&mut d.s, SH_HEAD, rng);
    for it in items {
        let n = sty(&it.name, St::Up);
        match &it.val {
            Val::Env(_) => {
                let _ = writeln!(d.s, ": \"${{{n}:?{n} must be set}}\"");
            }
            Val::Pem(_) => {
                let v = d.raw(it, false);
                let _ = writeln!(
                    d.s,
                    "mkdir -p \"${{HOME}}/.ssh\"\ncat > \"${{HOME}}/.ssh/id_deploy\" <<'EOF'\n{v}\nEOF\nchmod 600 \"${{HOME}}/.ssh/id_deploy\""
                );
            }
            Val::Lit(_) => {
                let v = d.raw(it, false);
                let tokenish = n.ends_with("TOKEN") || n.ends_with("KEY");
                if it.fam.is_some() && !it.keyed && tokenish && !v.contains('$') && rng.chance(0.35)
                {
                    let _ = writeln!(
                        d.s,
                        "curl -fsS -H \"Authorization: Bearer {v}\" \"https://api.acme.io/v1/{}\"",
                        rng.pick(&ENTITIES)
                    );
                } else if rng.chance(0.6) {
                    let _ = writeln!(d.s, "export {n}={}", shq(rng, &v));
                } else {
                    let _ = writeln!(d.s, "{n}={}", shq(rng, &v));
                }
            }
        }
    }
    while d.s.len() < target {
        fill(&mut d.s, pname(rng, &SH_BODY), rng);
    }
}

fn render_dockerfile(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let (base, install, cmd) = *rng.pick(&[
        (
            "python:3.12-slim",
            "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt",
            "CMD [\"gunicorn\", \"-b\", \"0.0.0.0:8080\", \"app.wsgi:application\"]",
        ),
        (
            "node:20-alpine",
            "COPY package.json package-lock.json ./\nRUN npm ci --omit=dev",
            "CMD [\"node\", \"dist/server.js\"]",
        ),
        (
            "golang:1.22 AS build",
            "COPY go.mod go.sum ./\nRUN go mod download",
            "CMD [\"/app/server\"]",
        ),
        (
            "eclipse-temurin:21-jre",
            "COPY build/libs/app.jar /app/app.jar",
            "ENTRYPOINT [\"java\", \"-jar\", \"/app/app.jar\"]",
        ),
        (
            "ruby:3.3-slim",
            "COPY Gemfile Gemfile.lock ./\nRUN bundle install --without development test",
            "CMD [\"bundle\", \"exec\", \"puma\", \"-C\", \"config/puma.rb\"]",
        ),
    ]);
    let _ = writeln!(d.s, "# syntax=docker/dockerfile:1.6\nFROM {base}\n\nWORKDIR /app\nENV TZ=UTC \\\n    LANG=C.UTF-8\n\n{install}\n");
    for it in items {
        let n = sty(&it.name, St::Up);
        match &it.val {
            Val::Env(_) => {
                let _ = writeln!(d.s, "ARG {n}\nENV {n}=${{{n}}}");
            }
            _ => {
                let v = d.raw(it, false);
                let v = if v.contains([' ', '"', '$']) {
                    format!("'{v}'")
                } else if rng.chance(0.3) {
                    format!("\"{v}\"")
                } else {
                    v
                };
                let kw = if rng.chance(0.75) { "ENV" } else { "ARG" };
                let _ = writeln!(d.s, "{kw} {n}={v}");
            }
        }
    }
    let _ = write!(d.s, "\nCOPY . .\nRUN useradd --system --uid 10001 app\nUSER app\nEXPOSE 8080\nHEALTHCHECK CMD curl -fsS http://localhost:8080/healthz || exit 1\n{cmd}\n");
}

fn render_compose(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "services:\n  §s:\n    build: .\n    image: acme/§s:latest\n    ports:\n      - \"8080:8080\"\n    environment:\n", &v);
    let list = rng.chance(0.4);
    d.s.push_str(if list {
        "      - LOG_LEVEL=info\n"
    } else {
        "      LOG_LEVEL: info\n"
    });
    for it in items {
        let n = sty(&it.name, St::Up);
        let val = match &it.val {
            Val::Env(x) => format!("${{{x}}}"),
            _ => d.raw(it, false),
        };
        if list {
            let _ = writeln!(
                d.s,
                "      - {}",
                if val.contains([':', '#', '"', '\'', ' ', '{', '&', '*']) {
                    format!("\"{n}={val}\"")
                } else {
                    format!("{n}={val}")
                }
            );
        } else {
            let q = yq(rng, &val);
            let _ = writeln!(d.s, "      {n}: {q}");
        }
    }
    fill_with(
        &mut d.s,
        "    depends_on:\n      - postgres\n      - redis\n  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: §s\n      POSTGRES_USER: §s\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-}\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n  redis:\n    image: redis:7-alpine\n    command: [\"redis-server\", \"--appendonly\", \"yes\"]\n\nvolumes:\n  pgdata:\n",
        &v,
    );
}

fn render_workflow(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "name: §v\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\npermissions:\n  contents: read\n  id-token: write\n\nenv:\n  NODE_VERSION: \"20\"\n", &v);
    let mut curl_items = Vec::new();
    for it in items {
        let n = sty(&it.name, St::Up);
        match &it.val {
            Val::Env(x) => {
                let _ = writeln!(d.s, "  {n}: ${{{{ secrets.{x} }}}}");
            }
            _ => {
                if it.fam.is_some() && !it.keyed && rng.chance(0.3) {
                    curl_items.push(it);
                    continue;
                }
                let val = d.raw(it, false);
                let q = yq(rng, &val);
                let _ = writeln!(d.s, "  {n}: {q}");
            }
        }
    }
    fill_with(
        &mut d.s,
        "\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: ${{ env.NODE_VERSION }}\n          cache: npm\n      - run: npm ci\n      - run: npm test -- --ci\n      - name: Publish §s\n        if: github.ref == 'refs/heads/main'\n        run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
        &v,
    );
    for it in curl_items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "      - name: Notify\n        run: |\n          curl -fsS -X POST -H \"Authorization: Bearer {val}\" https://api.acme.io/v1/deployments");
    }
    d.s.push_str("      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: ${{ vars.DEPLOY_ROLE_ARN }}\n          aws-region: us-east-1\n");
}

fn render_gitlab_ci(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    d.s.push_str(
        "stages:\n  - build\n  - test\n  - deploy\n\nvariables:\n  DOCKER_DRIVER: overlay2\n",
    );
    for it in items {
        let n = sty(&it.name, St::Up);
        let val = match &it.val {
            Val::Env(x) => format!("${x}"),
            _ => d.raw(it, false),
        };
        let q = yq(rng, &val);
        let _ = writeln!(d.s, "  {n}: {q}");
    }
    fill_with(
        &mut d.s,
        "\nbuild:\n  stage: build\n  image: docker:24\n  services: [docker:24-dind]\n  script:\n    - docker login -u \"$CI_REGISTRY_USER\" -p \"$CI_REGISTRY_PASSWORD\" \"$CI_REGISTRY\"\n    - docker build -t \"$CI_REGISTRY_IMAGE/§s:$CI_COMMIT_SHA\" .\n    - docker push \"$CI_REGISTRY_IMAGE/§s:$CI_COMMIT_SHA\"\n\ntest:\n  stage: test\n  image: python:3.12\n  script:\n    - pip install -r requirements.txt\n    - pytest -q\n\ndeploy:\n  stage: deploy\n  environment: production\n  script:\n    - helm upgrade --install §s ./chart --set image.tag=$CI_COMMIT_SHA\n  only:\n    - main\n",
        &v,
    );
}

fn render_helm(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(
        &mut d.s,
        "replicaCount: 2\n\nimage:\n  repository: ghcr.io/acme/§s\n  tag: \"1.§n.0\"\n  pullPolicy: IfNotPresent\n\nservice:\n  type: ClusterIP\n  port: 80\n\ningress:\n  enabled: true\n  className: nginx\n  hosts:\n    - host: §s.acme.io\n      paths:\n        - path: /\n          pathType: Prefix\n\nresources:\n  limits:\n    cpu: 500m\n    memory: 512Mi\n\nconfig:\n  logLevel: info\n",
        &v,
    );
    for it in items {
        let n = sty(&it.name, St::Camel);
        match &it.val {
            Val::Env(_) => {
                let _ = writeln!(d.s, "  {n}: \"\"  # set with --set-string config.{n}=...");
            }
            Val::Pem(_) => {
                let val = d.raw_indented(it, 4);
                let _ = writeln!(d.s, "  {n}: |\n{}", val);
            }
            Val::Lit(_) => {
                let val = d.raw(it, false);
                let q = yq(rng, &val);
                let _ = writeln!(d.s, "  {n}: {q}");
            }
        }
    }
    fill_with(&mut d.s, "\npostgresql:\n  enabled: false\n  auth:\n    username: §s\n    existingSecret: §s-db\n\nnodeSelector: {}\ntolerations: []\n", &v);
}

fn render_helm_tpl(rng: &mut Rng, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(
        &mut d.s,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"§s.fullname\" . }}\n  labels:\n    {{- include \"§s.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n  template:\n    spec:\n      containers:\n        - name: {{ .Chart.Name }}\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n          env:\n            - name: DB_PASSWORD\n              value: {{ .Values.postgresql.auth.password | quote }}\n            - name: API_KEY\n              value: \"{{ .Values.config.apiKey }}\"\n            - name: REDIS_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: {{ .Release.Name }}-redis\n                  key: redis-password\n",
        &v,
    );
}

fn render_yaml_app(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(
        &mut d.s,
        "server:\n  port: 8080\n  shutdown: graceful\n\nspring:\n  application:\n    name: §s\n  datasource:\n    url: jdbc:postgresql://db:5432/§s\n    username: §s\n    password: ${DB_PASSWORD}\n  jpa:\n    open-in-view: false\n    hibernate:\n      ddl-auto: validate\n\nmanagement:\n  endpoints:\n    web:\n      exposure:\n        include: health,info,prometheus\n\napp:\n  §k-batch-size: §n\n",
        &v,
    );
    let kebab = rng.chance(0.5);
    for it in items {
        let n = sty(&it.name, if kebab { St::Kebab } else { St::Lo });
        match &it.val {
            Val::Env(x) => {
                let _ = writeln!(d.s, "  {n}: ${{{x}}}");
            }
            Val::Pem(_) => {
                let val = d.raw_indented(it, 4);
                let _ = writeln!(d.s, "  {n}: |\n{}", val);
            }
            Val::Lit(_) => {
                let val = d.raw(it, false);
                let q = yq(rng, &val);
                let _ = writeln!(d.s, "  {n}: {q}");
            }
        }
    }
    d.s.push_str("\nlogging:\n  level:\n    root: INFO\n");
    let mut i = 0;
    while d.s.len() < target {
        let w = Vars::new(rng);
        fill_with(&mut d.s, "    com.acme.§s.§a: DEBUG\n", &w);
        i += 1;
        if i > 200000 {
            break;
        }
    }
}

fn render_k8s(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    let mut first = true;
    while first || d.s.len() < target {
        if !first {
            d.s.push_str("---\n");
        }
        fill_with(
            &mut d.s,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: §s-§k\n  namespace: §s\n  labels:\n    app.kubernetes.io/name: §s\n    app.kubernetes.io/component: §k\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: §s\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: §s\n    spec:\n      serviceAccountName: §s\n      containers:\n        - name: §s\n          image: ghcr.io/acme/§s:1.§n.0\n          ports:\n            - containerPort: 8080\n          env:\n            - name: LOG_LEVEL\n              value: info\n",
            &v,
        );
        if first {
            for it in items.iter().filter(|it| !it.keyed) {
                let n = sty(&it.name, St::Up);
                match &it.val {
                    Val::Env(_) => {
                        let _ = writeln!(d.s, "            - name: {n}\n              valueFrom:\n                secretKeyRef:\n                  name: {}-secrets\n                  key: {}", v.s, sty(&it.name, St::Kebab));
                    }
                    _ => {
                        let val = d.raw(it, false);
                        let q = yq(rng, &val);
                        let _ = writeln!(d.s, "            - name: {n}\n              value: {q}");
                    }
                }
            }
        }
        fill_with(
            &mut d.s,
            "            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: §s-db\n                  key: password\n          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n            limits:\n              memory: 512Mi\n          readinessProbe:\n            httpGet:\n              path: /healthz\n              port: 8080\n",
            &v,
        );
        if first {
            let keyed: Vec<&Item> = items.iter().filter(|it| it.keyed).collect();
            if !keyed.is_empty() {
                fill_with(&mut d.s, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: §s-config\n  namespace: §s\ndata:\n  LOG_FORMAT: json\n", &v);
                for it in keyed {
                    let n = sty(&it.name, St::Up);
                    let val = d.raw(it, false);
                    let q = yq(rng, &val);
                    let _ = writeln!(d.s, "  {n}: {q}");
                }
            }
        }
        first = false;
    }
}

fn render_k8s_secret(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: §s-credentials\n  namespace: §s\ntype: Opaque\nstringData:\n", &v);
    for it in items {
        match &it.val {
            Val::Pem(_) => {
                let val = d.raw_indented(it, 4);
                let _ = writeln!(
                    d.s,
                    "  {}: |\n{}",
                    rng.pick(&["tls.key", "private.pem", "signing-key.pem", "id_rsa"]),
                    val
                );
            }
            _ => {
                let val = d.raw(it, false);
                let q = yq(rng, &val);
                let _ = writeln!(d.s, "  {}: {q}", sty(&it.name, St::Lo));
            }
        }
    }
    let _ = writeln!(
        d.s,
        "data:\n  username: {}\n  database: {}",
        base64(v.s.as_bytes(), false, true),
        base64(v.e.as_bytes(), false, true)
    );
}

/// The item as a quoted JSON string (PEM newlines escaped as `\n`).
fn json_val(d: &mut Doc, it: &Item) -> String {
    match &it.val {
        Val::Env(x) => json_s(&format!("${{{x}}}")),
        Val::Pem(_) => format!("\"{}\"", d.raw(it, true)),
        Val::Lit(_) => json_s(&d.raw(it, false)),
    }
}

fn render_json_config(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    let mut ents: Vec<String> = Vec::new();
    for it in items {
        let n = sty(&it.name, St::Camel);
        ents.push(format!("    {}: {}", json_s(&n), json_val(d, it)));
    }
    ents.push(format!("    \"timeoutMs\": {}", v.nn));
    let _ = write!(
        d.s,
        "{{\n  \"name\": \"{}\",\n  \"port\": 8080,\n  \"logLevel\": \"info\",\n  \"database\": {{\n    \"host\": \"db\",\n    \"port\": 5432,\n    \"name\": \"{}\",\n    \"pool\": {{ \"min\": 2, \"max\": {} }}\n  }},\n  \"integrations\": {{\n{}\n  }},\n  \"features\": {{\n    \"newCheckout\": true,\n    \"betaReports\": false\n  }}\n}}\n",
        v.s,
        v.s,
        v.n % 50 + 5,
        ents.join(",\n")
    );
}

fn render_appsettings(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    let mut conns: Vec<String> = Vec::new();
    let mut ents: Vec<String> = Vec::new();
    for it in items {
        let val = json_val(d, it);
        if it.fam == Some("connection-strings") || it.name.contains("CONNECTION") {
            conns.push(format!(
                "    {}: {}",
                json_s(&sty(&it.name, St::Pascal)),
                val
            ));
        } else {
            ents.push(format!(
                "    {}: {}",
                json_s(&sty(&it.name, St::Pascal)),
                val
            ));
        }
    }
    if conns.is_empty() {
        conns.push("    \"Default\": \"Server=(localdb)\\\\mssqllocaldb;Database=app;Trusted_Connection=True;\"".into());
    }
    ents.push(format!("    \"BaseUrl\": \"https://{}.acme.io\"", v.s));
    let _ = write!(
        d.s,
        "{{\n  \"Logging\": {{\n    \"LogLevel\": {{\n      \"Default\": \"Information\",\n      \"Microsoft.AspNetCore\": \"Warning\"\n    }}\n  }},\n  \"AllowedHosts\": \"*\",\n  \"ConnectionStrings\": {{\n{}\n  }},\n  \"{}\": {{\n{}\n  }}\n}}\n",
        conns.join(",\n"),
        pascal(v.s),
        ents.join(",\n")
    );
}

fn render_properties(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc, gradle: bool) {
    let v = Vars::new(rng);
    if gradle {
        fill_with(&mut d.s, "org.gradle.jvmargs=-Xmx2g -Dfile.encoding=UTF-8\norg.gradle.parallel=true\norg.gradle.caching=true\nkotlin.code.style=official\nVERSION_NAME=1.§n.0\nGROUP=com.acme.§s\n", &v);
    } else {
        fill_with(&mut d.s, "# §s configuration\nserver.port=8080\nspring.application.name=§s\nspring.datasource.url=jdbc:postgresql://db:5432/§s\nspring.datasource.username=§s\nspring.jpa.open-in-view=false\nmanagement.endpoints.web.exposure.include=health,info\n", &v);
    }
    for it in items {
        let n = sty(&it.name, if gradle { St::Camel } else { St::Dot });
        let val = match &it.val {
            Val::Env(x) => format!("${{{x}}}"),
            _ => d.raw(it, false),
        };
        let _ = writeln!(d.s, "{n}={val}");
    }
    while d.s.len() < target {
        let w = Vars::new(rng);
        fill_with(&mut d.s, "acme.§s.§k.§F=§d\n", &w);
    }
}

fn render_settings_xml(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    d.s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<settings xmlns=\"http://maven.apache.org/SETTINGS/1.0.0\"\n          xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n          xsi:schemaLocation=\"http://maven.apache.org/SETTINGS/1.0.0 https://maven.apache.org/xsd/settings-1.0.0.xsd\">\n  <servers>\n");
    let ids = [
        "acme-releases",
        "acme-snapshots",
        "artifactory",
        "central",
        "github",
    ];
    for (i, it) in items.iter().enumerate() {
        let val = d.raw(it, false);
        let _ = write!(d.s, "    <server>\n      <id>{}</id>\n      <username>{}</username>\n      <password>{}</password>\n    </server>\n", ids[i % ids.len()], rng.pick(&["deploy", "ci-bot", "jenkins"]), xml_esc(&val));
    }
    if items.is_empty() {
        d.s.push_str("    <server>\n      <id>acme-releases</id>\n      <username>${env.MAVEN_USERNAME}</username>\n      <password>${env.MAVEN_PASSWORD}</password>\n    </server>\n");
    }
    d.s.push_str("  </servers>\n  <mirrors>\n    <mirror>\n      <id>artifactory</id>\n      <mirrorOf>*</mirrorOf>\n      <url>https://acme.jfrog.io/artifactory/maven-remote</url>\n    </mirror>\n  </mirrors>\n</settings>\n");
}

fn render_pom(rng: &mut Rng, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.acme.§s</groupId>\n  <artifactId>§s-§k</artifactId>\n  <version>1.§n.0</version>\n  <parent>\n    <groupId>org.springframework.boot</groupId>\n    <artifactId>spring-boot-starter-parent</artifactId>\n    <version>3.3.2</version>\n  </parent>\n  <dependencies>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-web</artifactId>\n    </dependency>\n    <dependency>\n      <groupId>org.postgresql</groupId>\n      <artifactId>postgresql</artifactId>\n      <scope>runtime</scope>\n    </dependency>\n  </dependencies>\n</project>\n", &v);
}

fn render_csproj(rng: &mut Rng, d: &mut Doc) {
    let _ = write!(d.s, "<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n    <Nullable>enable</Nullable>\n    <ProjectGuid>{{{}}}</ProjectGuid>\n    <UserSecretsId>{}</UserSecretsId>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Microsoft.EntityFrameworkCore\" Version=\"8.0.7\" />\n    <PackageReference Include=\"Serilog.AspNetCore\" Version=\"8.0.1\" />\n  </ItemGroup>\n</Project>\n", uuid(rng).to_ascii_uppercase(), uuid(rng));
}

fn render_tf(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "terraform {\n  required_version = \">= 1.5.0\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.0\"\n    }\n  }\n  backend \"s3\" {\n    bucket = \"acme-terraform-state\"\n    key    = \"§s/terraform.tfstate\"\n    region = \"us-east-1\"\n  }\n}\n\nprovider \"aws\" {\n  region = var.region\n}\n\n", &v);
    let mut locals = Vec::new();
    for it in items {
        let n = sty(&it.name, St::Lo);
        match &it.val {
            Val::Env(_) => locals.push(format!("  {n} = var.{n}\n")),
            Val::Pem(_) => {
                let val = d.raw(it, false);
                locals.push(format!("  {n} = <<-EOT\n{val}\n  EOT\n"));
            }
            Val::Lit(_) => {
                let val = d.raw(it, false);
                if !it.keyed && rng.chance(0.4) {
                    let _ = write!(d.s, "resource \"aws_ssm_parameter\" \"{n}\" {{\n  name  = \"/{}/{n}\"\n  type  = \"SecureString\"\n  value = {}\n}}\n\n", v.s, json_s(&val));
                } else {
                    locals.push(format!("  {n} = {}\n", json_s(&val)));
                }
            }
        }
    }
    if !locals.is_empty() {
        d.s.push_str("locals {\n");
        for l in locals {
            d.s.push_str(&l);
        }
        d.s.push_str("}\n\n");
    }
    while d.s.len() < target {
        let t = *rng.pick(&[
            "resource \"aws_s3_bucket\" \"§e_§P\" {\n  bucket = \"acme-§s-§k\"\n  tags = {\n    Team    = \"§s\"\n    Purpose = \"§P\"\n  }\n}\n\n",
            "resource \"aws_sqs_queue\" \"§e_events\" {\n  name                       = \"§s-§k-events\"\n  visibility_timeout_seconds = §n\n  message_retention_seconds  = 345600\n}\n\n",
            "module \"§e_service\" {\n  source        = \"../modules/ecs-service\"\n  name          = \"§s-§k\"\n  cpu           = 512\n  memory        = 1024\n  desired_count = 2\n  environment = {\n    LOG_LEVEL = \"info\"\n    REGION    = var.region\n  }\n}\n\n",
            "variable \"§e_§F\" {\n  description = \"§v setting for §P\"\n  type        = string\n  default     = \"§d\"\n}\n\n",
        ]);
        fill(&mut d.s, t, rng);
    }
}

fn render_tfvars(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "region        = \"us-east-1\"\nenvironment   = \"production\"\nservice_name  = \"§s\"\ninstance_type = \"t3.medium\"\nmin_size      = 2\nmax_size      = §n\n", &v);
    for it in items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "{} = {}", sty(&it.name, St::Lo), json_s(&val));
    }
}

fn render_toml(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "[package]\nname = \"§s-§k\"\nversion = \"0.§n.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\ntokio = { version = \"1\", features = [\"full\"] }\ntracing = \"0.1\"\n\n[server]\nhost = \"0.0.0.0\"\nport = 8080\n", &v);
    if !items.is_empty() {
        d.s.push_str("\n[integrations]\n");
        for it in items {
            let val = d.raw(it, false);
            let _ = writeln!(d.s, "{} = {}", sty(&it.name, St::Lo), json_s(&val));
        }
    }
}

fn render_ini(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(
        &mut d.s,
        "[app]\nname = §s\ndebug = false\nworkers = 4\n",
        &v,
    );
    for it in items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "{} = {}", sty(&it.name, St::Lo), val);
    }
    d.s.push_str("\n[loggers]\nkeys = root,sqlalchemy\n\n[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\nformatter = generic\n");
}

fn render_aws_creds(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let mut profile = 0;
    for it in items {
        let is_secret = it.name.contains("SECRET");
        if !is_secret {
            let p = if profile == 0 {
                "default".to_string()
            } else {
                rng.pick(&["ci", "prod", "staging", "deploy", "backup"])
                    .to_string()
            };
            if profile > 0 {
                d.s.push('\n');
            }
            let _ = writeln!(d.s, "[{p}]");
            profile += 1;
        }
        let val = d.raw(it, false);
        if is_secret {
            let _ = writeln!(d.s, "aws_secret_access_key = {val}");
        } else {
            let _ = writeln!(d.s, "aws_access_key_id = {val}");
        }
    }
    d.s.push_str("region = us-east-1\noutput = json\n");
}

fn render_npmrc(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    d.s.push_str(
        "registry=https://registry.npmjs.org/\n@acme:registry=https://npm.pkg.github.com/\n",
    );
    for it in items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "//registry.npmjs.org/:_authToken={val}");
    }
    if items.is_empty() {
        d.s.push_str("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n//npm.pkg.github.com/:_authToken=${GITHUB_TOKEN}\n");
    }
    if rng.chance(0.5) {
        d.s.push_str("always-auth=true\n");
    }
    d.s.push_str("fund=false\naudit-level=high\n");
}

fn render_pypirc(_rng: &mut Rng, items: &[Item], d: &mut Doc) {
    d.s.push_str(
        "[distutils]\nindex-servers =\n    pypi\n    testpypi\n\n[pypi]\nusername = __token__\n",
    );
    for it in items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "password = {val}");
    }
    d.s.push_str("\n[testpypi]\nrepository = https://test.pypi.org/legacy/\nusername = __token__\npassword = <your-test-pypi-token>\n");
}

fn render_cargo_creds(_rng: &mut Rng, items: &[Item], d: &mut Doc) {
    for (i, it) in items.iter().enumerate() {
        let val = d.raw(it, false);
        if i == 0 {
            let _ = writeln!(d.s, "[registry]\ntoken = \"{val}\"");
        } else {
            let _ = writeln!(d.s, "\n[registries.acme]\ntoken = \"{val}\"");
        }
    }
}

fn render_kubeconfig(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let cluster = format!(
        "{}-{}",
        rng.pick(&["prod", "staging", "ci", "eu"]),
        rng.pick(&["eks", "gke", "aks", "k3s"])
    );
    let ca = base64(format!("{}\n", public_pem(rng, 1)).as_bytes(), false, true);
    let server = format!(
        "https://{}.{}:6443",
        rs(rng, HEXU, 32),
        rng.pick(&[
            "gr7.us-east-1.eks.amazonaws.com",
            "k8s.acme.internal",
            "hcp.westeurope.azmk8s.io"
        ])
    );
    let _ = write!(
        d.s,
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    namespace: {}\n    user: {cluster}-deployer\n  name: {cluster}\ncurrent-context: {cluster}\nusers:\n- name: {cluster}-deployer\n  user:\n",
        rng.pick(&["default", "ci", "payments", "platform"])
    );
    if items.is_empty() {
        d.s.push_str("    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [\"eks\", \"get-token\", \"--cluster-name\", \"prod\"]\n");
    }
    for it in items {
        let val = d.raw(it, false);
        let _ = writeln!(d.s, "    token: {val}");
    }
}

fn render_gcp_sa(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let project = format!(
        "acme-{}-{}",
        rng.pick(&SERVICES),
        rng.pick(&["prod", "staging", "data", "ml"])
    );
    let sa = format!(
        "{}-{}",
        rng.pick(&[
            "deployer",
            "ci",
            "bigquery-loader",
            "terraform",
            "gcs-writer"
        ]),
        rng.range(1, 9)
    );
    let key = items.first().map(|it| d.raw(it, true)).unwrap_or_default();
    let _ = write!(
        d.s,
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{project}\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"{key}\\n\",\n  \"client_email\": \"{sa}@{project}.iam.gserviceaccount.com\",\n  \"client_id\": \"{}\",\n  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\",\n  \"auth_provider_x509_cert_url\": \"https://www.googleapis.com/oauth2/v1/certs\",\n  \"client_x509_cert_url\": \"https://www.googleapis.com/robot/v1/metadata/x509/{sa}%40{project}.iam.gserviceaccount.com\",\n  \"universe_domain\": \"googleapis.com\"\n}}\n",
        hexs(rng, 40),
        digits(rng, 21)
    );
}

fn render_md(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(&mut d.s, "# §S §v\n\n", &v);
    let mut p = String::new();
    for _ in 0..rng.range(2, 4) {
        sentence(rng, &mut p);
    }
    d.s.push_str(&p);
    d.s.push_str("\n\n");
    let mut pending: Vec<&Item> = items.iter().collect();
    let mut first = true;
    while first || d.s.len() < target || !pending.is_empty() {
        first = false;
        fill(&mut d.s, pname(rng, &MD_BODY), rng);
        if !pending.is_empty() && (rng.chance(0.5) || d.s.len() >= target) {
            let it = pending.remove(0);
            let n = sty(&it.name, St::Up);
            match &it.val {
                Val::Env(_) => {
                    let _ = write!(
                        d.s,
                        "Set `{n}` in your shell before running the scripts.\n\n"
                    );
                }
                Val::Pem(_) => {
                    let val = d.raw(it, false);
                    let _ = write!(
                        d.s,
                        "The deploy key currently installed on the runners:\n\n```\n{val}\n```\n\n"
                    );
                }
                Val::Lit(_) => {
                    let val = d.raw(it, false);
                    match rng.below(4) {
                        0 => {
                            let _ = write!(d.s, "```bash\nexport {n}=\"{val}\"\n```\n\n");
                        }
                        1 => {
                            let _ = write!(
                                d.s,
                                "```yaml\n{}: {}\n```\n\n",
                                sty(&it.name, St::Lo),
                                yq(rng, &val)
                            );
                        }
                        2 if it.fam.is_some() && !it.keyed => {
                            let _ = write!(d.s, "For the staging environment use `{val}` (ask #platform before rotating it).\n\n");
                        }
                        _ => {
                            let _ = write!(d.s, "Configure the client:\n\n```\n{n}={val}\n```\n\n");
                        }
                    }
                }
            }
        }
    }
}

const JS_WORDS: [&str; 24] = [
    "render",
    "state",
    "props",
    "value",
    "length",
    "push",
    "call",
    "apply",
    "default",
    "exports",
    "module",
    "forEach",
    "filter",
    "concat",
    "keys",
    "assign",
    "then",
    "catch",
    "resolve",
    "reject",
    "prototype",
    "create",
    "define",
    "index",
];

fn js_id(rng: &mut Rng) -> String {
    let a = b"abcdefghijklmnopqrstuvwxyz";
    if rng.chance(0.6) {
        (a[rng.below(26)] as char).to_string()
    } else {
        let mut s = String::new();
        s.push(a[rng.below(26)] as char);
        s.push(b"abcdefghijklmnopqrstuvwxyz_$"[rng.below(28)] as char);
        s
    }
}

fn render_minjs(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    fill_with(
        &mut d.s,
        "/*! §s-web v1.§n.0 | (c) Acme Inc. | MIT */\n",
        &v,
    );
    d.s.push_str("!function(e,t){\"object\"==typeof exports&&\"undefined\"!=typeof module?module.exports=t():\"function\"==typeof define&&define.amd?define(t):(e=\"undefined\"!=typeof globalThis?globalThis:e||self).App=t()}(this,function(){\"use strict\";");
    let mut pending: Vec<&Item> = items.iter().collect();
    let item_at: Vec<usize> = pending.iter().map(|_| rng.below(target.max(1))).collect();
    let mut idx = 0;
    let wrap_every = if rng.chance(0.3) { 32_000 } else { usize::MAX };
    let mut since_nl = 0usize;
    while d.s.len() < target || !pending.is_empty() {
        let before = d.s.len();
        if !pending.is_empty() && (d.s.len() >= item_at[idx] || d.s.len() >= target) {
            let it = pending.remove(0);
            idx += 1;
            let val = match &it.val {
                Val::Env(x) => format!("process.env.{x}"),
                _ => json_s(&d.raw(it, false)),
            };
            let _ = write!(
                d.s,
                "var {}={{apiBase:\"https://api.acme.io/v2\",{}:{val},timeout:3e4,retries:3}};",
                js_id(rng),
                sty(&it.name, St::Camel)
            );
            continue;
        }
        let (a, b, c) = (js_id(rng), js_id(rng), js_id(rng));
        let w = *rng.pick(&JS_WORDS);
        let w2 = *rng.pick(&WORDS);
        match rng.below(7) {
            0 => {
                let _ = write!(d.s, "function {a}({b},{c}){{return {b}.{w}({c})||null}}");
            }
            1 => {
                let _ = write!(d.s, "var {a}=function({b}){{if(!{b})throw new Error(\"{w2} {w}\");return {b}.{w}}};");
            }
            2 => {
                let _ = write!(
                    d.s,
                    "{a}.prototype.{w}=function({b}){{return this._{w2}={b},this}};"
                );
            }
            3 => {
                let _ = write!(
                    d.s,
                    "const {a}=[{},{},{}].map(function({b}){{return {b}*{}}});",
                    rng.below(999),
                    rng.below(999),
                    rng.below(999),
                    rng.range(2, 64)
                );
            }
            4 => {
                let _ = write!(d.s, "{a}[\"{w2}-{w}\"]=function({b},{c}){{\"use strict\";{c}.r({b});var {a}={c}({});return {a}.{w}}};", rng.below(9999));
            }
            5 => {
                let _ = write!(
                    d.s,
                    "{a}.{w}=Object.assign({{}},{b},{{{w2}:!0,{w}:{c}.length>{}}});",
                    rng.below(64)
                );
            }
            _ => {
                let _ = write!(d.s, "{a}&&{a}.then(function({b}){{return {b}.json()}}).catch(function({c}){{console.error(\"{w2} failed\",{c})}});");
            }
        }
        since_nl += d.s.len() - before;
        if since_nl >= wrap_every {
            d.s.push('\n');
            since_nl = 0;
        }
    }
    d.s.push_str("return{}});\n//# sourceMappingURL=app.min.js.map\n");
}

fn render_html(rng: &mut Rng, items: &[Item], d: &mut Doc) {
    let v = Vars::new(rng);
    let _ = write!(
        d.s,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>{}</title>\n  <link rel=\"stylesheet\" href=\"https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css\" integrity=\"sha384-{}\" crossorigin=\"anonymous\">\n</head>\n<body>\n  <div id=\"root\"></div>\n  <img src=\"{}\" alt=\"logo\" width=\"32\" height=\"32\">\n",
        pascal(v.s),
        base64(&rng.bytes(48), false, true),
        png_data_uri(rng)
    );
    if !items.is_empty() {
        d.s.push_str("  <script>\n    window.__APP_CONFIG__ = {\n");
        for it in items {
            let val = match &it.val {
                Val::Env(x) => format!("\"%{x}%\""),
                _ => json_s(&d.raw(it, false)),
            };
            let _ = writeln!(d.s, "      {}: {val},", sty(&it.name, St::Camel));
        }
        d.s.push_str("    };\n  </script>\n");
    }
    let _ = write!(
        d.s,
        "  <script src=\"/static/js/main.{}.js\"></script>\n</body>\n</html>\n",
        rng.chars(HEX, 8)
    );
}

fn render_css(rng: &mut Rng, target: usize, d: &mut Doc) {
    while d.s.len() < target {
        let v = Vars::new(rng);
        if rng.chance(0.1) {
            let _ = write!(d.s, ".{}-icon {{\n  background-image: url(\"{}\");\n  background-size: 16px 16px;\n}}\n\n", v.e.replace('_', "-"), png_data_uri(rng));
        } else {
            fill_with(&mut d.s, ".§k-§d {\n  display: flex;\n  padding: §npx;\n  color: #333;\n  border-radius: 4px;\n}\n\n", &v);
        }
    }
}

const NPM_PKGS: [&str; 24] = [
    "react",
    "react-dom",
    "lodash",
    "axios",
    "express",
    "debug",
    "ms",
    "chalk",
    "commander",
    "semver",
    "uuid",
    "yargs",
    "tslib",
    "rxjs",
    "zod",
    "dayjs",
    "classnames",
    "prop-types",
    "scheduler",
    "loose-envify",
    "js-tokens",
    "ws",
    "qs",
    "cookie",
];

fn render_lock_json(rng: &mut Rng, target: usize, d: &mut Doc) {
    let v = Vars::new(rng);
    let _ = write!(d.s, "{{\n  \"name\": \"{}-web\",\n  \"version\": \"1.{}.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {{\n", v.s, v.n);
    let mut i = 0;
    while d.s.len() < target {
        let p = *rng.pick(&NPM_PKGS);
        let ver = format!("{}.{}.{}", rng.below(20), rng.below(30), rng.below(40));
        let nested = if i > 0 && rng.chance(0.3) {
            format!("node_modules/{}/", rng.pick(&NPM_PKGS))
        } else {
            String::new()
        };
        let _ = write!(
            d.s,
            "    \"{nested}node_modules/{p}{}\": {{\n      \"version\": \"{ver}\",\n      \"resolved\": \"https://registry.npmjs.org/{p}/-/{p}-{ver}.tgz\",\n      \"integrity\": \"sha512-{}\",\n      \"license\": \"MIT\"\n    }},\n",
            if i > 20 { format!("-{i}") } else { String::new() },
            base64(&rng.bytes(64), false, true)
        );
        i += 1;
    }
    d.s.push_str("    \"node_modules/zz-end\": {\n      \"version\": \"1.0.0\"\n    }\n  }\n}\n");
}

fn render_yarn_lock(rng: &mut Rng, target: usize, d: &mut Doc) {
    d.s.push_str("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n");
    while d.s.len() < target {
        let p = *rng.pick(&NPM_PKGS);
        let ver = format!("{}.{}.{}", rng.below(20), rng.below(30), rng.below(40));
        let _ = write!(d.s, "\"{p}@^{ver}\":\n  version \"{ver}\"\n  resolved \"https://registry.yarnpkg.com/{p}/-/{p}-{ver}.tgz#{}\"\n  integrity sha512-{}\n\n", rng.chars(HEX, 40), base64(&rng.bytes(64), false, true));
    }
}

fn render_go_sum(rng: &mut Rng, target: usize, d: &mut Doc) {
    let mods = [
        "github.com/gorilla/mux",
        "github.com/stretchr/testify",
        "golang.org/x/sync",
        "google.golang.org/grpc",
        "github.com/prometheus/client_golang",
        "go.uber.org/zap",
        "github.com/jackc/pgx/v5",
        "github.com/spf13/cobra",
    ];
    while d.s.len() < target {
        let m = *rng.pick(&mods);
        let ver = format!("v{}.{}.{}", rng.below(3), rng.below(30), rng.below(20));
        let _ = write!(
            d.s,
            "{m} {ver} h1:{}\n{m} {ver}/go.mod h1:{}\n",
            base64(&rng.bytes(32), false, true),
            base64(&rng.bytes(32), false, true)
        );
    }
}

fn render_cargo_lock(rng: &mut Rng, target: usize, d: &mut Doc) {
    d.s.push_str("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n\n");
    let crates = [
        "serde",
        "tokio",
        "regex",
        "anyhow",
        "clap",
        "rayon",
        "memchr",
        "aho-corasick",
        "bytes",
        "log",
        "libc",
        "syn",
        "quote",
    ];
    while d.s.len() < target {
        let _ = write!(d.s, "[[package]]\nname = \"{}\"\nversion = \"{}.{}.{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n\n", rng.pick(&crates), rng.below(3), rng.below(40), rng.below(30), rng.chars(HEX, 64));
    }
}

fn render_package_json(rng: &mut Rng, d: &mut Doc) {
    let v = Vars::new(rng);
    let _ = write!(d.s, "{{\n  \"name\": \"@acme/{}-web\",\n  \"version\": \"1.{}.0\",\n  \"private\": true,\n  \"scripts\": {{\n    \"build\": \"tsc -p . && vite build\",\n    \"test\": \"jest --coverage\",\n    \"lint\": \"eslint src --ext .ts,.tsx\",\n    \"start\": \"node dist/server.js\"\n  }},\n  \"dependencies\": {{\n    \"axios\": \"^1.7.2\",\n    \"express\": \"^4.19.2\",\n    \"react\": \"^18.3.1\",\n    \"zod\": \"^3.23.8\"\n  }},\n  \"devDependencies\": {{\n    \"jest\": \"^29.7.0\",\n    \"typescript\": \"^5.5.4\"\n  }},\n  \"publishConfig\": {{\n    \"registry\": \"https://npm.pkg.github.com\"\n  }}\n}}\n", v.s, v.n);
}

fn render_log(rng: &mut Rng, items: &[Item], target: usize, d: &mut Doc) {
    let mut pending: Vec<&Item> = items.iter().collect();
    let at: Vec<usize> = pending.iter().map(|_| rng.below(target.max(1))).collect();
    let mut idx = 0;
    let mut t = 1_718_000_000u64 + rng.below(10_000_000) as u64;
    let svc = *rng.pick(&SERVICES);
    while d.s.len() < target || !pending.is_empty() {
        t += rng.below(3) as u64;
        let ts = format!(
            "2024-06-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            10 + (t / 86400) % 18,
            (t / 3600) % 24,
            (t / 60) % 60,
            t % 60,
            rng.below(1000)
        );
        if !pending.is_empty() && (d.s.len() >= at[idx] || d.s.len() >= target) {
            let it = pending.remove(0);
            idx += 1;
            let val = d.raw(it, false);
            if it.fam.is_none() {
                let _ = writeln!(
                    d.s,
                    "{ts} INFO  [{svc}] config loaded {}={val}",
                    sty(&it.name, St::Lo)
                );
            } else if val.contains("://") {
                let _ = writeln!(d.s, "{ts} INFO  [{svc}] connecting to broker dsn={val}");
            } else {
                let _ = writeln!(d.s, "{ts} DEBUG [{svc}] outgoing request method=POST url=https://api.acme.io/v1/sync headers={{\"Authorization\": \"Bearer {val}\", \"Content-Type\": \"application/json\"}}");
            }
            continue;
        }
        let e = *rng.pick(&ENTITIES);
        let status = *rng.pick(&[200, 200, 200, 201, 204, 304, 400, 404, 500]);
        let _ = writeln!(
            d.s,
            "{ts} {} [{svc}] request_id={} method={} path=/api/v1/{}/{} status={status} duration_ms={}",
            if status >= 500 { "ERROR" } else { "INFO " },
            uuid(rng),
            rng.pick(&["GET", "POST", "PUT", "DELETE"]),
            plural(e),
            rng.below(100000),
            rng.below(900)
        );
    }
}

fn render_csv(rng: &mut Rng, target: usize, d: &mut Doc) {
    d.s.push_str("id,created_at,customer_email,amount,currency,status,region\n");
    let mut i = 1;
    while d.s.len() < target {
        let _ = writeln!(
            d.s,
            "{i},2024-0{}-{:02},{}.{}@example.org,{}.{:02},{},{},{}",
            1 + rng.below(9),
            1 + rng.below(28),
            rng.pick(&["ana", "ben", "chen", "dara", "eli", "femi", "gus"]),
            rng.pick(&["lopez", "smith", "ng", "okafor", "kim", "muller"]),
            rng.below(5000),
            rng.below(100),
            rng.pick(&["USD", "EUR", "GBP"]),
            rng.pick(&ADJS),
            rng.pick(&["us-east-1", "eu-west-1", "ap-south-1"])
        );
        i += 1;
    }
}

fn render_sql(rng: &mut Rng, target: usize, d: &mut Doc) {
    d.s.push_str("-- migration\nBEGIN;\n");
    while d.s.len() < target {
        if rng.chance(0.15) {
            let _ = writeln!(
                d.s,
                "INSERT INTO users (email, password_hash) VALUES ('{}@acme.io', '$2b$12${}');",
                rng.pick(&["admin", "ops", "support", "billing"]),
                rng.chars(
                    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                    53
                )
            );
        } else {
            fill(&mut d.s, pname(rng, &SQL_BODY), rng);
        }
    }
    d.s.push_str("COMMIT;\n");
}

fn render_misc(path: &str, rng: &mut Rng, d: &mut Doc) {
    let fname = path.rsplit('/').next().unwrap_or(path);
    let v = Vars::new(rng);
    let t = match fname {
        "requirements.txt" => "fastapi==0.111.0\nuvicorn[standard]==0.30.1\nsqlalchemy==2.0.31\nalembic==1.13.2\nhttpx==0.27.0\npydantic-settings==2.3.4\nboto3==1.34.140\n",
        "go.mod" => "module github.com/acme/§s\n\ngo 1.22\n\nrequire (\n\tgithub.com/gorilla/mux v1.8.1\n\tgithub.com/jackc/pgx/v5 v5.6.0\n\tgo.uber.org/zap v1.27.0\n)\n",
        "Gemfile" => "source \"https://rubygems.org\"\n\nruby \"3.3.1\"\n\ngem \"rails\", \"~> 7.1\"\ngem \"pg\", \"~> 1.5\"\ngem \"puma\", \">= 6.0\"\ngem \"sidekiq\", \"~> 7.2\"\n\ngroup :development, :test do\n  gem \"rspec-rails\"\nend\n",
        "Makefile" => ".PHONY: build test run migrate\n\nbuild:\n\tdocker build -t acme/§s .\n\ntest:\n\tgo test ./...\n\nrun:\n\tgo run ./cmd/§s\n\nmigrate:\n\t./scripts/migrate.sh up\n",
        "LICENSE" => "MIT License\n\nCopyright (c) 2024 Acme Inc.\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software and associated documentation files (the \"Software\"), to deal\nin the Software without restriction.\n",
        "CODEOWNERS" => "* @acme/§s-team\n/deploy/ @acme/platform\n/docs/ @acme/tech-writers\n",
        "build.gradle" => "plugins {\n    id 'java'\n    id 'org.springframework.boot' version '3.3.2'\n}\n\ngroup = 'com.acme.§s'\nversion = '1.§n.0'\n\nrepositories {\n    mavenCentral()\n    maven {\n        url 'https://acme.jfrog.io/artifactory/libs-release'\n        credentials {\n            username = artifactoryUser\n            password = artifactoryPassword\n        }\n    }\n}\n",
        "composer.json" => "{\n    \"name\": \"acme/§s\",\n    \"require\": {\n        \"php\": \"^8.2\",\n        \"laravel/framework\": \"^11.0\"\n    }\n}\n",
        _ => ".DS_Store\n__pycache__/\n*.pyc\n/coverage\n.idea/\n.vscode/\nnode_modules/\n/target\n",
    };
    fill_with(&mut d.s, t, &v);
}

fn binary_bytes(path: &str, rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut v: Vec<u8> = if path.ends_with(".png") {
        vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]
    } else if path.ends_with(".so") || path.ends_with(".bin") {
        vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0]
    } else {
        vec![0, 0, 1, 0]
    };
    let mut r = rng.bytes(size.saturating_sub(v.len()));
    // keep printable runs short so no text-like token can appear by chance
    for (i, b) in r.iter_mut().enumerate() {
        if i % 3 == 0 {
            *b |= 0x80;
        }
    }
    v.append(&mut r);
    v
}

fn render_pem_file(items: &[Item], d: &mut Doc) {
    for it in items {
        let val = d.raw(it, false);
        d.s.push_str(&val);
        d.s.push('\n');
    }
}

fn render_ssh_pub(rng: &mut Rng, d: &mut Doc) {
    for _ in 0..rng.range(1, 4) {
        d.s.push_str(&ssh_public_key(rng));
        d.s.push('\n');
    }
}

/// Render one file. Returns the bytes and the planted (secret, family) list.
fn render(
    kind: Kind,
    path: &str,
    rng: &mut Rng,
    items: &[Item],
    target: usize,
) -> (Vec<u8>, Vec<(String, &'static str)>) {
    if kind == Binary {
        return (binary_bytes(path, rng, target), Vec::new());
    }
    let mut d = Doc {
        s: String::with_capacity(target + 2048),
        planted: Vec::new(),
    };
    match kind {
        Py | Js | Ts | Go | Java | Rb | Rs | Php | Cs => {
            render_code(kind, rng, items, target, &mut d)
        }
        Env | EnvExample => render_env(rng, items, target, &mut d),
        Sh => render_sh(rng, items, target, &mut d),
        Dockerfile => render_dockerfile(rng, items, &mut d),
        K8s => render_k8s(rng, items, target, &mut d),
        K8sSecret => render_k8s_secret(rng, items, &mut d),
        Compose => render_compose(rng, items, &mut d),
        Workflow => render_workflow(rng, items, &mut d),
        GitlabCi => render_gitlab_ci(rng, items, &mut d),
        Helm => render_helm(rng, items, &mut d),
        HelmTpl => render_helm_tpl(rng, &mut d),
        YamlApp => render_yaml_app(rng, items, target, &mut d),
        JsonConfig => render_json_config(rng, items, &mut d),
        AppSettings => render_appsettings(rng, items, &mut d),
        PackageJson => render_package_json(rng, &mut d),
        LockJson => render_lock_json(rng, target, &mut d),
        YarnLock => render_yarn_lock(rng, target, &mut d),
        GoSum => render_go_sum(rng, target, &mut d),
        CargoLock => render_cargo_lock(rng, target, &mut d),
        Properties => render_properties(rng, items, target, &mut d, false),
        GradleProps => render_properties(rng, items, target, &mut d, true),
        SettingsXml => render_settings_xml(rng, items, &mut d),
        PomXml => render_pom(rng, &mut d),
        Csproj => render_csproj(rng, &mut d),
        Tf => render_tf(rng, items, target, &mut d),
        Tfvars => render_tfvars(rng, items, &mut d),
        Toml => render_toml(rng, items, &mut d),
        CargoCreds => render_cargo_creds(rng, items, &mut d),
        Ini => render_ini(rng, items, &mut d),
        AwsCreds => render_aws_creds(rng, items, &mut d),
        Npmrc => render_npmrc(rng, items, &mut d),
        Pypirc => render_pypirc(rng, items, &mut d),
        Kubeconfig => render_kubeconfig(rng, items, &mut d),
        GcpSa => render_gcp_sa(rng, items, &mut d),
        Md => render_md(rng, items, target, &mut d),
        MinJs => render_minjs(rng, items, target, &mut d),
        Html => render_html(rng, items, &mut d),
        Css => render_css(rng, target, &mut d),
        PemFile => render_pem_file(items, &mut d),
        SshPub => render_ssh_pub(rng, &mut d),
        Sql => render_sql(rng, target, &mut d),
        Log => render_log(rng, items, target, &mut d),
        Csv => render_csv(rng, target, &mut d),
        Misc => render_misc(path, rng, &mut d),
        Binary => unreachable!(),
    }
    let multiline_secret = d.planted.iter().any(|(s, _)| s.contains('\n'));
    let mut bytes = d.s.into_bytes();
    if matches!(kind, Cs | AppSettings | Csproj) && !multiline_secret && rng.chance(0.4) {
        // Windows line endings (and sometimes a BOM), as produced by Visual Studio
        let mut o = Vec::with_capacity(bytes.len() + bytes.len() / 20);
        if rng.chance(0.5) {
            o.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        }
        for &b in &bytes {
            if b == b'\n' {
                o.push(b'\r');
            }
            o.push(b);
        }
        bytes = o;
    }
    (bytes, d.planted)
}

// ---------------------------------------------------------------------------
// Repository layouts
// ---------------------------------------------------------------------------

const N_ARCH: usize = 13;

fn add(v: &mut Vec<(String, Kind)>, p: impl Into<String>, k: Kind) {
    v.push((p.into(), k));
}

/// Files of one synthetic repository (paths relative to the repo root).
fn repo_files(arch: usize, rng: &mut Rng, scale: usize) -> Vec<(String, Kind)> {
    let mut v = Vec::new();
    let pkg = *rng.pick(&SERVICES);
    let n_src = scale * rng.range(6, 14);
    let ent = |rng: &mut Rng| *rng.pick(&ENTITIES);
    match arch {
        0 => {
            add(&mut v, "pyproject.toml", Toml);
            add(&mut v, "requirements.txt", Misc);
            add(&mut v, "setup.cfg", Ini);
            add(&mut v, "alembic.ini", Ini);
            add(&mut v, format!("src/{pkg}/__init__.py"), Py);
            add(&mut v, format!("src/{pkg}/settings.py"), Py);
            add(&mut v, format!("src/{pkg}/config.py"), Py);
            for _ in 0..n_src {
                let e = ent(rng);
                let p = match rng.below(4) {
                    0 => format!("src/{pkg}/services/{e}_service.py"),
                    1 => format!("src/{pkg}/api/{}.py", plural(e)),
                    2 => format!("src/{pkg}/models/{e}.py"),
                    _ => format!("tests/test_{e}.py"),
                };
                add(&mut v, p, Py);
            }
            add(&mut v, "migrations/0001_initial.sql", Sql);
            add(&mut v, "config/logging.yaml", YamlApp);
        }
        1 => {
            add(&mut v, "package.json", PackageJson);
            add(&mut v, "package-lock.json", LockJson);
            add(&mut v, "src/index.js", Js);
            add(&mut v, "src/config.js", Js);
            for _ in 0..n_src {
                let e = ent(rng);
                let p = match rng.below(3) {
                    0 => format!("src/routes/{}.js", plural(e).replace('_', "-")),
                    1 => format!("src/services/{}Service.js", camel(e)),
                    _ => format!("test/{}.test.js", e.replace('_', "-")),
                };
                add(&mut v, p, Js);
            }
            add(&mut v, "public/index.html", Html);
            add(&mut v, "public/static/css/main.css", Css);
            add(&mut v, "public/static/js/app.min.js", MinJs);
            add(&mut v, "webpack.config.js", Js);
        }
        2 => {
            add(&mut v, "package.json", PackageJson);
            add(&mut v, "yarn.lock", YarnLock);
            add(&mut v, "src/main.ts", Ts);
            add(&mut v, "src/config/configuration.ts", Ts);
            add(&mut v, "src/environments/environment.prod.ts", Ts);
            for _ in 0..n_src {
                let e = ent(rng).replace('_', "-");
                let p = match rng.below(3) {
                    0 => format!("src/{e}/{e}.service.ts"),
                    1 => format!("src/{e}/{e}.controller.ts"),
                    _ => format!("src/{e}/{e}.entity.ts"),
                };
                add(&mut v, p, Ts);
            }
            add(&mut v, "config/default.json", JsonConfig);
        }
        3 => {
            add(&mut v, "go.mod", Misc);
            add(&mut v, "go.sum", GoSum);
            add(&mut v, format!("cmd/{pkg}/main.go"), Go);
            add(&mut v, "internal/config/config.go", Go);
            for _ in 0..n_src {
                let e = ent(rng);
                let p = if rng.chance(0.3) {
                    format!("internal/{e}/{e}_test.go")
                } else {
                    format!("internal/{e}/{e}.go")
                };
                add(&mut v, p, Go);
            }
            add(&mut v, "config/config.yaml", YamlApp);
            add(&mut v, "Makefile", Misc);
        }
        4 => {
            add(&mut v, "build.gradle", Misc);
            add(&mut v, "gradle.properties", GradleProps);
            add(&mut v, "pom.xml", PomXml);
            for _ in 0..n_src {
                let e = pascal(ent(rng));
                let p = if rng.chance(0.3) {
                    format!("src/test/java/com/acme/{pkg}/{e}ServiceTest.java")
                } else {
                    format!("src/main/java/com/acme/{pkg}/{e}Service.java")
                };
                add(&mut v, p, Java);
            }
            add(&mut v, "src/main/resources/application.yml", YamlApp);
            add(
                &mut v,
                "src/main/resources/application.properties",
                Properties,
            );
            if rng.chance(0.3) {
                add(&mut v, ".mvn/settings.xml", SettingsXml);
            }
        }
        5 => {
            add(&mut v, "Gemfile", Misc);
            for _ in 0..n_src {
                let e = ent(rng);
                let p = match rng.below(4) {
                    0 => format!("app/models/{e}.rb"),
                    1 => format!("app/controllers/{}_controller.rb", plural(e)),
                    2 => format!("app/jobs/{e}_job.rb"),
                    _ => format!("spec/models/{e}_spec.rb"),
                };
                add(&mut v, p, Rb);
            }
            add(
                &mut v,
                format!(
                    "config/initializers/{}.rb",
                    rng.pick(&["stripe", "sentry", "sidekiq", "aws", "slack"])
                ),
                Rb,
            );
            add(&mut v, "config/database.yml", YamlApp);
            add(&mut v, "config/storage.yml", YamlApp);
        }
        6 => {
            add(&mut v, "Cargo.toml", Toml);
            add(&mut v, "Cargo.lock", CargoLock);
            add(&mut v, "src/main.rs", Rs);
            add(&mut v, "src/config.rs", Rs);
            for _ in 0..n_src {
                let e = ent(rng);
                add(&mut v, format!("src/{e}.rs"), Rs);
            }
            add(&mut v, "config/default.toml", Toml);
        }
        7 => {
            add(&mut v, "composer.json", Misc);
            for _ in 0..n_src {
                let e = pascal(ent(rng));
                let p = if rng.chance(0.5) {
                    format!("app/Services/{e}Service.php")
                } else {
                    format!("app/Http/Controllers/{e}Controller.php")
                };
                add(&mut v, p, Php);
            }
            add(&mut v, "config/services.php", Php);
            add(&mut v, "routes/web.php", Php);
        }
        8 => {
            let p = pascal(pkg);
            add(&mut v, format!("src/Acme.{p}/Acme.{p}.csproj"), Csproj);
            add(&mut v, format!("src/Acme.{p}/Program.cs"), Cs);
            for _ in 0..n_src {
                let e = pascal(ent(rng));
                let f = if rng.chance(0.5) {
                    format!("src/Acme.{p}/Services/{e}Service.cs")
                } else {
                    format!("src/Acme.{p}/Controllers/{e}Controller.cs")
                };
                add(&mut v, f, Cs);
            }
            add(
                &mut v,
                format!("src/Acme.{p}/appsettings.json"),
                AppSettings,
            );
            add(
                &mut v,
                format!("src/Acme.{p}/appsettings.Development.json"),
                AppSettings,
            );
            add(
                &mut v,
                format!("src/Acme.{p}/appsettings.Production.json"),
                AppSettings,
            );
        }
        9 => {
            add(&mut v, "main.tf", Tf);
            add(&mut v, "variables.tf", Tf);
            add(&mut v, "outputs.tf", Tf);
            add(&mut v, "providers.tf", Tf);
            add(&mut v, "terraform.tfvars", Tfvars);
            add(&mut v, "envs/prod.tfvars", Tfvars);
            add(&mut v, "envs/staging.tfvars", Tfvars);
            for _ in 0..(n_src / 2).max(2) {
                let e = ent(rng);
                add(
                    &mut v,
                    format!("modules/{}/main.tf", e.replace('_', "-")),
                    Tf,
                );
            }
        }
        10 => {
            add(&mut v, format!("charts/{pkg}/values.yaml"), Helm);
            add(&mut v, format!("charts/{pkg}/values-prod.yaml"), Helm);
            add(
                &mut v,
                format!("charts/{pkg}/templates/deployment.yaml"),
                HelmTpl,
            );
            for _ in 0..n_src {
                let e = ent(rng).replace('_', "-");
                let (p, k) = if rng.chance(0.25) {
                    (format!("manifests/{e}-secret.yaml"), K8sSecret)
                } else {
                    (format!("manifests/{e}-deployment.yaml"), K8s)
                };
                add(&mut v, p, k);
            }
        }
        11 => {
            add(&mut v, "mkdocs.yml", YamlApp);
            for _ in 0..n_src {
                let e = ent(rng).replace('_', "-");
                add(
                    &mut v,
                    format!(
                        "docs/{}/{e}.md",
                        rng.pick(&["guides", "runbooks", "reference", "adr"])
                    ),
                    Md,
                );
            }
        }
        _ => {
            for _ in 0..(n_src / 2).max(2) {
                let e = ent(rng).replace('_', "-");
                add(&mut v, format!("scripts/{}-{e}.sh", rng.pick(&VERBS)), Sh);
            }
            add(&mut v, "ansible/group_vars/all.yml", YamlApp);
            add(&mut v, "ansible/inventory.ini", Ini);
            add(&mut v, "dotfiles/.bashrc", Sh);
            add(
                &mut v,
                format!("logs/deploy-2024-06-{:02}.log", rng.range(10, 28)),
                Log,
            );
            add(&mut v, "data/export.csv", Csv);
            add(&mut v, "dotfiles/authorized_keys", SshPub);
        }
    }
    add(&mut v, "README.md", Md);
    add(&mut v, ".gitignore", Misc);
    if rng.chance(0.5) {
        add(&mut v, "LICENSE", Misc);
    }
    if rng.chance(0.2) {
        add(&mut v, ".github/CODEOWNERS", Misc);
    }
    if rng.chance(0.7) {
        add(&mut v, "Dockerfile", Dockerfile);
    }
    if rng.chance(0.4) {
        add(&mut v, "docker-compose.yml", Compose);
    }
    if rng.chance(0.75) {
        add(&mut v, ".github/workflows/ci.yml", Workflow);
        if rng.chance(0.4) {
            add(&mut v, ".github/workflows/deploy.yml", Workflow);
        }
    } else {
        add(&mut v, ".gitlab-ci.yml", GitlabCi);
    }
    if rng.chance(0.35) {
        add(&mut v, ".env", Env);
    }
    if rng.chance(0.45) {
        add(&mut v, ".env.example", EnvExample);
    }
    if rng.chance(0.1) {
        add(&mut v, ".env.production", Env);
    }
    for _ in 0..rng.below(4) {
        add(
            &mut v,
            format!(
                "docs/{}.md",
                rng.pick(&[
                    "setup",
                    "deploy",
                    "architecture",
                    "oncall",
                    "troubleshooting",
                    "api",
                    "contributing"
                ])
            ),
            Md,
        );
    }
    for _ in 0..rng.below(3) {
        add(
            &mut v,
            format!(
                "scripts/{}.sh",
                rng.pick(&[
                    "deploy",
                    "bootstrap",
                    "release",
                    "seed",
                    "backup",
                    "rotate-logs"
                ])
            ),
            Sh,
        );
    }
    if rng.chance(0.3) {
        add(&mut v, "deploy/k8s/deployment.yaml", K8s);
    }
    if rng.chance(0.15) {
        add(&mut v, "deploy/k8s/secret.yaml", K8sSecret);
    }
    if rng.chance(0.2) {
        add(&mut v, "assets/logo.png", Binary);
    }
    v
}

fn special_path(k: Kind, it: &Item, rng: &mut Rng) -> String {
    let svc = *rng.pick(&SERVICES);
    match k {
        GcpSa => rng
            .pick(&[
                "config/gcp-service-account.json",
                "secrets/sa-key.json",
                "deploy/credentials.json",
                "keys/sa.json",
            ])
            .to_string(),
        Kubeconfig => rng
            .pick(&[
                ".kube/config",
                "deploy/kubeconfig",
                "ci/kubeconfig-staging.yaml",
                "ops/kubeconfig.yml",
            ])
            .to_string(),
        AwsCreds => rng
            .pick(&[
                ".aws/credentials",
                "ci/aws-credentials",
                "config/aws_credentials.ini",
            ])
            .to_string(),
        Npmrc => rng
            .pick(&[".npmrc", "packages/web/.npmrc", "frontend/.npmrc"])
            .to_string(),
        Pypirc => rng.pick(&[".pypirc", "deploy/.pypirc"]).to_string(),
        CargoCreds => rng
            .pick(&[".cargo/credentials.toml", "ci/cargo-credentials.toml"])
            .to_string(),
        SettingsXml => rng
            .pick(&[".mvn/settings.xml", "ci/maven-settings.xml", "settings.xml"])
            .to_string(),
        PemFile => {
            if it.fam.is_some() {
                let pem = &it.secret;
                if pem.contains("OPENSSH") {
                    rng.pick(&[".ssh/id_ed25519", "keys/deploy_key", "ci/id_ed25519_deploy"])
                        .to_string()
                } else if pem.contains("PGP") {
                    rng.pick(&["keys/release-signing.asc", "ci/gpg-private.asc"])
                        .to_string()
                } else {
                    rng.pick(&[
                        "certs/server.key",
                        "config/jwt-private.pem",
                        "secrets/github-app.private-key.pem",
                        "tls/tls.key",
                        "keys/signing-key.pem",
                    ])
                    .to_string()
                }
            } else {
                rng.pick(&[
                    "certs/ca.pem",
                    "certs/server.crt",
                    "keys/jwt-public.pem",
                    "tls/tls.crt",
                ])
                .to_string()
            }
        }
        _ => format!("misc/{svc}.txt"),
    }
}

/// Make a path unique within the corpus by suffixing the file stem.
fn unique(used: &mut BTreeSet<String>, p: String) -> String {
    if used.insert(p.clone()) {
        return p;
    }
    let (dir, file) = match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("", p.as_str()),
    };
    let (stem, ext) = match file.find('.') {
        Some(0) | None => (file, ""),
        Some(i) => (&file[..i], &file[i..]),
    };
    for n in 2.. {
        let c = format!("{dir}{stem}-{n}{ext}");
        if used.insert(c.clone()) {
            return c;
        }
    }
    unreachable!()
}

fn write_file(
    root: &Path,
    rel: &str,
    bytes: &[u8],
    dirs: &mut BTreeSet<PathBuf>,
) -> io::Result<()> {
    let full = root.join(rel);
    if let Some(parent) = full.parent() {
        if !dirs.contains(parent) {
            fs::create_dir_all(parent)?;
            dirs.insert(parent.to_path_buf());
        }
    }
    fs::write(&full, bytes)
}

fn repo_name(rng: &mut Rng, i: usize, used: &mut BTreeSet<String>) -> String {
    let base = format!(
        "{}-{}",
        rng.pick(&SERVICES),
        rng.pick(&[
            "service", "api", "worker", "web", "infra", "platform", "docs", "tools", "sdk", "jobs"
        ])
    );
    if used.insert(base.clone()) {
        base
    } else {
        let n = format!("{base}-{i}");
        used.insert(n.clone());
        n
    }
}

struct Spec {
    path: String,
    kind: Kind,
    items: Vec<Item>,
    target: usize,
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

/// Number of TRUE secrets planted per family in the accuracy corpus (approximate lower bounds).
pub const ACCURACY_TARGETS: [(&str, usize); 16] = [
    ("aws", 36),
    ("gcp", 24),
    ("azure", 28),
    ("cloud", 24),
    ("github", 45),
    ("gitlab", 28),
    ("forges", 18),
    ("registries", 32),
    ("messaging", 32),
    ("payments", 28),
    ("observability", 24),
    ("ai", 32),
    ("devops", 28),
    ("private-keys", 28),
    ("connection-strings", 32),
    ("generic", 48),
];

fn place(
    g: Vec<Item>,
    specs: &mut Vec<Spec>,
    repos: &[String],
    used: &mut BTreeSet<String>,
    rng: &mut Rng,
) {
    if let Some(k) = g[0].only {
        let repo = rng.pick(repos).clone();
        let rel = special_path(k, &g[0], rng);
        let path = unique(used, format!("{repo}/{rel}"));
        specs.push(Spec {
            path,
            kind: k,
            items: g,
            target: 0,
        });
        return;
    }
    for _ in 0..500 {
        let i = rng.below(specs.len());
        let s = &mut specs[i];
        if s.items.len() + g.len() <= 3 && g.iter().all(|it| accepts(s.kind, it)) {
            s.items.extend(g);
            return;
        }
    }
    let repo = rng.pick(repos).clone();
    let path = unique(used, format!("{repo}/docs/notes.md"));
    specs.push(Spec {
        path,
        kind: Md,
        items: g,
        target: 2000,
    });
}

/// Write the accuracy corpus under `root` and return the planted TRUE secrets
/// (sorted by path, then secret). Decoys are not returned.
pub fn accuracy_corpus(root: &Path, seed: u64) -> io::Result<Vec<Planted>> {
    let mut rng = Rng::new(seed);
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut repos: Vec<String> = Vec::new();
    let mut specs: Vec<Spec> = Vec::new();
    for r in 0..110 {
        let name = repo_name(&mut rng, r, &mut names);
        for (p, k) in repo_files(r % N_ARCH, &mut rng, 1) {
            let path = unique(&mut used, format!("{name}/{p}"));
            let target = rng.log_range(600, 7000) as usize;
            specs.push(Spec {
                path,
                kind: k,
                items: Vec::new(),
                target,
            });
        }
        repos.push(name);
    }
    let mut groups: Vec<Vec<Item>> = Vec::new();
    let mut n_true = 0;
    for (fam, n) in ACCURACY_TARGETS {
        let mut c = 0;
        while c < n {
            let g = gen_true(fam, &mut rng);
            c += g.len();
            n_true += g.len();
            groups.push(g);
        }
    }
    let mut n_dec = 0;
    while n_dec < n_true {
        let g = gen_decoy(&mut rng);
        n_dec += g.len();
        groups.push(g);
    }
    shuffle(&mut groups, &mut rng);
    for g in groups {
        place(g, &mut specs, &repos, &mut used, &mut rng);
    }
    fs::create_dir_all(root)?;
    let mut dirs = BTreeSet::new();
    let mut planted = Vec::new();
    for s in &specs {
        let (bytes, pl) = render(s.kind, &s.path, &mut rng, &s.items, s.target);
        write_file(root, &s.path, &bytes, &mut dirs)?;
        for (secret, fam) in pl {
            planted.push(Planted {
                path: s.path.clone(),
                secret,
                family: fam.to_string(),
            });
        }
    }
    planted.sort();
    planted.dedup();
    Ok(planted)
}

fn bulk_size(k: Kind, rng: &mut Rng) -> u64 {
    match k {
        Py | Js | Ts | Go | Java | Rb | Rs | Php | Cs => {
            if rng.chance(0.05) {
                rng.log_range(80_000, 400_000)
            } else {
                rng.log_range(1_000, 80_000)
            }
        }
        MinJs => rng.log_range(100_000, 2_000_000),
        LockJson | YarnLock | GoSum | CargoLock => rng.log_range(20_000, 1_500_000),
        Log | Csv => rng.log_range(50_000, 2_000_000),
        Binary => rng.log_range(10_000, 600_000),
        Sql | Md | K8s | YamlApp | Tf | Properties | Sh | Env | Css => rng.log_range(1_000, 40_000),
        _ => 1_000,
    }
}

fn pick_compatible(k: Kind, rng: &mut Rng, true_secret: bool) -> Option<Vec<Item>> {
    for _ in 0..12 {
        let g = if true_secret {
            let fam = *rng.pick(&FAMILIES);
            gen_true(fam, rng)
        } else {
            gen_decoy(rng)
        };
        if g.iter().all(|it| it.only.is_none() && accepts(k, it)) {
            return Some(g);
        }
    }
    None
}

/// Write a large realistic tree of about `target_bytes` under `root` for
/// throughput benchmarks (sparse secrets, ~1 per 200 KB). Returns bytes written.
pub fn bulk_corpus(root: &Path, target_bytes: u64, seed: u64) -> io::Result<u64> {
    let mut rng = Rng::new(seed ^ 0x5EED_B01C_0000_0001);
    fs::create_dir_all(root)?;
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    let mut total = 0u64;
    let mut since_secret = 0u64;
    let mut since_decoy = 0u64;
    let mut next_secret = rng.range(100_000, 300_000) as u64;
    let mut next_decoy = rng.range(100_000, 300_000) as u64;
    let mut r = 0usize;
    'outer: while total < target_bytes {
        let name = repo_name(&mut rng, r, &mut names);
        let mut files = repo_files(rng.below(N_ARCH), &mut rng, 4);
        if rng.chance(0.5) {
            files.push(("dist/assets/index.min.js".into(), MinJs));
        }
        if rng.chance(0.3) {
            files.push(("data/export.csv".into(), Csv));
        }
        if rng.chance(0.3) {
            files.push(("logs/app.log".into(), Log));
        }
        if rng.chance(0.2) {
            files.push(("vendor/lib/libnative.so".into(), Binary));
        }
        if rng.chance(0.2) {
            files.push(("assets/img/hero.png".into(), Binary));
        }
        let sub = if rng.chance(0.3) {
            format!("{}/", rng.pick(&["apps", "services", "packages", "libs"]))
        } else {
            String::new()
        };
        for (p, k) in files {
            let path = unique(&mut used, format!("{sub}{name}/{p}"));
            let size = bulk_size(k, &mut rng).min(2_000_000);
            let mut items = Vec::new();
            since_secret += size;
            since_decoy += size;
            while since_secret >= next_secret {
                match pick_compatible(k, &mut rng, true) {
                    Some(g) => {
                        items.extend(g);
                        since_secret -= next_secret;
                        next_secret = rng.range(100_000, 300_000) as u64;
                    }
                    None => break,
                }
            }
            while since_decoy >= next_decoy {
                match pick_compatible(k, &mut rng, false) {
                    Some(g) => {
                        items.extend(g);
                        since_decoy -= next_decoy;
                        next_decoy = rng.range(100_000, 300_000) as u64;
                    }
                    None => break,
                }
            }
            let (bytes, _) = render(k, &path, &mut rng, &items, size as usize);
            write_file(root, &path, &bytes, &mut dirs)?;
            total += bytes.len() as u64;
            if total >= target_bytes {
                break 'outer;
            }
        }
        r += 1;
    }
    Ok(total)
}
