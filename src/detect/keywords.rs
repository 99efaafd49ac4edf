//! The keyword prefilter: every case-insensitive occurrence of every rule keyword, overlaps
//! included.
//!
//! Why not an Aho-Corasick DFA: with a few hundred short, case-insensitive keywords its SIMD
//! prefilters switch off and the DFA walks one dependent table lookup per byte, which was the
//! largest single cost of a scan. Here each keyword is reduced to one *anchor*, its rarest
//! three-byte window. One pass hashes the (case-folded) trigram at every position into a 16 KB
//! bitmap that stays in L1; the loop has no dependency between positions, so it runs at the
//! machine's throughput rather than its load latency. A set bit sends the position to an exact,
//! case-insensitive comparison of the few keywords anchored there. Keywords shorter than three
//! bytes are found with `memchr` on their rarest byte.
//!
//! Every set bit that real text hits costs a mispredicted branch and a comparison, so anchors
//! avoid the trigrams source code is full of (`COMMON_TRIGRAMS`), keywords share an anchor
//! where one holds another's (`sessiontoken` and `token`), and the hash multiplier is the one,
//! of a few, under which the fewest common trigrams land on a set bit.

use super::common_trigrams::COMMON_TRIGRAMS;
use std::collections::{HashMap, HashSet};

/// A keyword occurrence: which keyword (its index in the list given to `new`) and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeywordHit {
    pub(crate) keyword: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// 2^17 bits: a 16 KB bitmap, which stays in L1 beside the text.
const HASH_BITS: u32 = 17;

/// Odd multipliers tried for the hash (fixed: a scan is reproducible).
const MULTIPLIERS: [u32; 8] = [
    0x9e37_79b1,
    0x85eb_ca77,
    0xc2b2_ae3d,
    0x27d4_eb2f,
    0x1656_67b1,
    0xd3a2_646d,
    0xfd70_46c5,
    0xb55a_4f09,
];

/// A keyword anchored at `offset` bytes into itself.
#[derive(Debug, Clone, Copy)]
struct Anchored {
    keyword: u32,
    offset: u32,
}

/// A keyword too short for a trigram anchor, found through one of its bytes.
#[derive(Debug, Clone)]
struct Short {
    keyword: usize,
    /// The byte searched for (both cases when it is a letter) and its offset in the keyword.
    byte: u8,
    offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct KeywordSet {
    /// ASCII-lowercase keywords, as given.
    keywords: Vec<Vec<u8>>,
    multiplier: u32,
    /// Bit `h` is set when some anchor hashes to `h`.
    bitmap: Box<[u64; 1 << (HASH_BITS - 6)]>,
    /// Anchors sorted by hash.
    anchored: Vec<(u32, Anchored)>,
    /// Where the anchors of each bitmap word start in `anchored` (one entry per 64 hashes, not
    /// per hash: a bucket is the few anchors of its word with an equal hash, and the table
    /// stays at 8 KB).
    word_starts: Vec<u32>,
    short: Vec<Short>,
}

/// Folds ASCII case for the bitmap: letters meet their other case. It also merges a few
/// punctuation pairs (`@`/`` ` ``, `[`/`{`); the exact comparison afterwards sorts those out.
#[inline(always)]
fn fold(trigram: u32) -> u32 {
    (trigram | 0x0020_2020) & 0x00ff_ffff
}

#[inline(always)]
fn hash(folded: u32, multiplier: u32) -> usize {
    (folded.wrapping_mul(multiplier) >> (32 - HASH_BITS)) as usize
}

fn trigram_at(kw: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([kw[offset], kw[offset + 1], kw[offset + 2], 0])
}

/// How often each common folded trigram occurs in source code, as a weight: the most frequent
/// weighs most; a trigram outside the table weighs nothing.
struct Commonness(HashMap<u32, u32>);

impl Commonness {
    fn new() -> Commonness {
        let n = COMMON_TRIGRAMS.len() as u32;
        Commonness(
            (0..n)
                .rev()
                .zip(COMMON_TRIGRAMS)
                .map(|(weight, t)| (fold(u32::from_le_bytes([t[0], t[1], t[2], 0])), weight + 1))
                .collect(),
        )
    }

    fn of(&self, folded: u32) -> u32 {
        self.0.get(&folded).copied().unwrap_or(0)
    }
}

/// The offset of each keyword's anchor trigram (`None` for keywords under three bytes).
fn choose_anchors(keywords: &[Vec<u8>], common: &Commonness) -> Vec<Option<usize>> {
    let cost = |kw: &[u8], o: usize| {
        let t = trigram_at(kw, o);
        (
            common.of(fold(t)),
            kw[o..o + 3].iter().map(|&b| byte_rank(b)).sum::<u32>(),
        )
    };
    let mut chosen: Vec<Option<usize>> = keywords
        .iter()
        .map(|kw| (kw.len() >= 3).then(|| (0..=kw.len() - 3).min_by_key(|&o| cost(kw, o)))?)
        .collect();
    // A trigram another keyword is already anchored on costs no further probes: take it when
    // it is no more common than the keyword's own best.
    let taken: HashSet<u32> = keywords
        .iter()
        .zip(&chosen)
        .filter_map(|(kw, o)| o.map(|o| fold(trigram_at(kw, o))))
        .collect();
    for (kw, offset) in keywords.iter().zip(chosen.iter_mut()) {
        let Some(best) = *offset else { continue };
        let shared = (0..=kw.len() - 3)
            .filter(|&o| o != best && taken.contains(&fold(trigram_at(kw, o))))
            .filter(|&o| {
                common.of(fold(trigram_at(kw, o))) <= common.of(fold(trigram_at(kw, best))).max(1)
            })
            .min_by_key(|&o| cost(kw, o));
        if let Some(o) = shared {
            *offset = Some(o);
        }
    }
    chosen
}

/// The multiplier under which common trigrams that are not anchors least often share a bucket
/// with one.
fn choose_multiplier(anchors: &[u32], common: &Commonness) -> u32 {
    let anchor_set: HashSet<u32> = anchors.iter().copied().collect();
    MULTIPLIERS
        .iter()
        .copied()
        .min_by_key(|&m| {
            let buckets: HashSet<usize> = anchors.iter().map(|&a| hash(a, m)).collect();
            common
                .0
                .iter()
                .filter(|(t, _)| !anchor_set.contains(t) && buckets.contains(&hash(**t, m)))
                .map(|(_, &weight)| u64::from(weight))
                .sum::<u64>()
        })
        .expect("multipliers")
}

impl KeywordSet {
    /// `keywords` are matched ASCII case-insensitively; empty ones never match.
    pub(crate) fn new<K: AsRef<[u8]>>(keywords: &[K]) -> KeywordSet {
        let keywords: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.as_ref().to_ascii_lowercase())
            .collect();
        let common = Commonness::new();
        let offsets = choose_anchors(&keywords, &common);
        let mut short = Vec::new();
        let mut anchored: Vec<(u32, Anchored)> = Vec::new();
        for (idx, (kw, offset)) in keywords.iter().zip(&offsets).enumerate() {
            match offset {
                Some(o) => anchored.push((
                    fold(trigram_at(kw, *o)),
                    Anchored {
                        keyword: idx as u32,
                        offset: *o as u32,
                    },
                )),
                None if kw.is_empty() => {}
                None => {
                    let offset = (0..kw.len())
                        .min_by_key(|&o| byte_rank(kw[o]))
                        .expect("non-empty");
                    short.push(Short {
                        keyword: idx,
                        byte: kw[offset],
                        offset,
                    });
                }
            }
        }
        let folded: Vec<u32> = anchored.iter().map(|(t, _)| *t).collect();
        let multiplier = choose_multiplier(&folded, &common);
        for (t, _) in anchored.iter_mut() {
            *t = hash(*t, multiplier) as u32;
        }
        anchored.sort_by_key(|(h, a)| (*h, a.keyword));
        let mut bitmap = Box::new([0u64; 1 << (HASH_BITS - 6)]);
        let mut word_starts = vec![0u32; (1 << (HASH_BITS - 6)) + 1];
        for (h, _) in &anchored {
            bitmap[*h as usize >> 6] |= 1 << (h & 63);
            word_starts[(*h as usize >> 6) + 1] += 1;
        }
        for w in 0..1 << (HASH_BITS - 6) {
            word_starts[w + 1] += word_starts[w];
        }
        KeywordSet {
            keywords,
            multiplier,
            bitmap,
            anchored,
            word_starts,
            short,
        }
    }

    /// Calls `emit` for every occurrence of every keyword in `hay`, in no particular order.
    pub(crate) fn find_all(&self, hay: &[u8], mut emit: impl FnMut(KeywordHit)) {
        self.find_anchored(hay, &mut emit);
        for s in &self.short {
            self.find_short(s, hay, &mut emit);
        }
    }

    #[inline(always)]
    fn probe(&self, hay: &[u8], pos: usize, folded: u32, emit: &mut impl FnMut(KeywordHit)) {
        let h = hash(folded, self.multiplier);
        if self.bitmap[h >> 6] & (1 << (h & 63)) == 0 {
            return;
        }
        self.verify(hay, pos, h, emit);
    }

    #[cold]
    #[inline(never)]
    fn verify(&self, hay: &[u8], pos: usize, h: usize, emit: &mut impl FnMut(KeywordHit)) {
        let word = &self.anchored
            [self.word_starts[h >> 6] as usize..self.word_starts[(h >> 6) + 1] as usize];
        for (_, a) in word.iter().filter(|(b, _)| *b as usize == h) {
            let Some(start) = pos.checked_sub(a.offset as usize) else {
                continue;
            };
            let kw = &self.keywords[a.keyword as usize];
            let end = start + kw.len();
            if end <= hay.len() && hay[start..end].eq_ignore_ascii_case(kw) {
                emit(KeywordHit {
                    keyword: a.keyword as usize,
                    start,
                    end,
                });
            }
        }
    }

    fn find_anchored(&self, hay: &[u8], emit: &mut impl FnMut(KeywordHit)) {
        if self.anchored.is_empty() || hay.len() < 3 {
            return;
        }
        let last = hay.len() - 3; // the last position a trigram starts at
        let mut pos = 0;
        // Eight bytes give the trigrams at six positions.
        while pos + 8 <= hay.len() {
            let word = u64::from_le_bytes(hay[pos..pos + 8].try_into().expect("8 bytes"));
            for k in 0..6 {
                self.probe(hay, pos + k, fold((word >> (8 * k)) as u32), emit);
            }
            pos += 6;
        }
        while pos <= last {
            let t = u32::from_le_bytes([hay[pos], hay[pos + 1], hay[pos + 2], 0]);
            self.probe(hay, pos, fold(t), emit);
            pos += 1;
        }
    }

    fn find_short(&self, s: &Short, hay: &[u8], emit: &mut impl FnMut(KeywordHit)) {
        let kw = &self.keywords[s.keyword];
        let upper = s.byte.to_ascii_uppercase();
        let mut check = |at: usize| {
            let Some(start) = at.checked_sub(s.offset) else {
                return;
            };
            let end = start + kw.len();
            if end <= hay.len() && hay[start..end].eq_ignore_ascii_case(kw) {
                emit(KeywordHit {
                    keyword: s.keyword,
                    start,
                    end,
                });
            }
        };
        if upper == s.byte {
            memchr::memchr_iter(s.byte, hay).for_each(&mut check);
        } else {
            memchr::memchr2_iter(s.byte, upper, hay).for_each(&mut check);
        }
    }
}

/// How common a (lowercase) byte is in source code and prose: lower is rarer. A heuristic
/// ordering, enough to keep anchors off `e`, `t`, spaces and the like.
fn byte_rank(b: u8) -> u32 {
    match b {
        b' ' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 100,
        b'l' | b'c' | b'd' | b'h' | b'u' | b'm' | b'p' | b'\n' | b'\t' => 80,
        b'f' | b'g' | b'b' | b'y' | b'w' | b'.' | b'_' | b'"' | b'=' | b'(' | b')' | b',' => 60,
        b'v' | b'k' | b'/' | b':' | b'-' | b'0'..=b'9' | b'\'' | b';' | b'{' | b'}' => 40,
        b'x' | b'j' | b'q' | b'z' | b'<' | b'>' | b'[' | b']' | b'*' | b'#' | b'$' => 20,
        _ => 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    fn ours(keywords: &[&str], hay: &[u8]) -> Vec<KeywordHit> {
        let set = KeywordSet::new(keywords);
        let mut hits = Vec::new();
        set.find_all(hay, |h| hits.push(h));
        hits.sort();
        hits
    }

    /// The reference: Aho-Corasick's overlapping search, which this module replaces.
    fn reference(keywords: &[&str], hay: &[u8]) -> Vec<KeywordHit> {
        let mut uniq: Vec<String> = Vec::new();
        for k in keywords {
            let k = k.to_ascii_lowercase();
            if !k.is_empty() && !uniq.contains(&k) {
                uniq.push(k);
            }
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&uniq)
            .unwrap();
        let mut hits: Vec<KeywordHit> = ac
            .find_overlapping_iter(hay)
            .map(|m| {
                let kw = &uniq[m.pattern().as_usize()];
                KeywordHit {
                    keyword: keywords
                        .iter()
                        .position(|k| k.eq_ignore_ascii_case(kw))
                        .unwrap(),
                    start: m.start(),
                    end: m.end(),
                }
            })
            .collect();
        hits.sort();
        hits
    }

    #[test]
    fn finds_overlaps_case_and_edges() {
        let kws = ["password", "pass", "ss", "q~", "key", "ghp_", "akia"];
        let hay = b"PassWord=x; mykey AKIAxx q~ Q~ ghp_ssKEY";
        assert_eq!(ours(&kws, hay), reference(&kws, hay));
        assert!(!ours(&kws, hay).is_empty());
        assert_eq!(ours(&kws, b"ke"), vec![]);
        assert_eq!(ours(&kws, b"key").len(), 1);
        assert_eq!(ours(&kws, b"").len(), 0);
    }

    #[test]
    fn punctuation_merged_by_the_fold_does_not_match() {
        // `@` folds onto `` ` `` and `[` onto `{` in the bitmap; the exact check must refuse them.
        assert_eq!(ours(&["{x}", "@ab"], b"[x] `ab"), vec![]);
        assert_eq!(ours(&["{x}", "@ab"], b"{X} @AB").len(), 2);
    }

    /// Random keyword sets and haystacks over a small alphabet full of case pairs and of the
    /// punctuation the fold merges: overlaps, repeats and near misses everywhere.
    #[test]
    fn agrees_with_aho_corasick_on_random_inputs() {
        const ALPHABET: &[u8] = b"aBcAbC_~{[@`";
        let mut rng = crate::test_rng::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        for _ in 0..2000 {
            let mut uniq: Vec<String> = Vec::new();
            for _ in 0..1 + next(11) {
                let len = 1 + next(6);
                let k: String = (0..len)
                    .map(|_| ALPHABET[next(ALPHABET.len())] as char)
                    .collect();
                if !uniq.iter().any(|u| u.eq_ignore_ascii_case(&k)) {
                    uniq.push(k);
                }
            }
            let hay: Vec<u8> = (0..next(200))
                .map(|_| ALPHABET[next(ALPHABET.len())])
                .collect();
            let kws: Vec<&str> = uniq.iter().map(String::as_str).collect();
            assert_eq!(ours(&kws, &hay), reference(&kws, &hay), "{kws:?} {hay:?}");
        }
    }
}
