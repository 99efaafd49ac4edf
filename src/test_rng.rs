//! A seeded xorshift generator for unit tests that draw their random inputs themselves
//! (proptest would pull a second `rand` into the build, which `cargo deny` bans).

pub(crate) struct XorShift(u64);

impl XorShift {
    /// `seed` must not be 0.
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
