//! Seeded randomness. All random numbers sfda uses (weight init, latent codes,
//! augmentation, synthetic data) come from [`SeedRng`] on the host, so runs are
//! reproducible and identical across backends for the same seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A seedable, serialisable random generator (ChaCha8).
#[derive(Debug, Clone)]
pub struct SeedRng {
    rng: ChaCha8Rng,
}

impl SeedRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SeedRng {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
    /// An independent stream derived from this seed and a label (e.g. "init").
    pub fn derive(seed: u64, label: &str) -> Self {
        // FNV-1a of the label mixed into the seed.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in label.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        Self::new(seed ^ h.rotate_left(17))
    }
    /// `n` samples of `N(mean, std²)`.
    pub fn normal_vec(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        let d = Normal::new(mean, std.max(0.0)).unwrap_or(Normal::new(0.0, 1.0).expect("valid"));
        (0..n).map(|_| d.sample(&mut self.rng)).collect()
    }
    /// `n` samples uniform in `[lo, hi)`.
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    /// One sample uniform in `[lo, hi)` (returns `lo` when `hi <= lo`).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        if hi <= lo {
            return lo;
        }
        self.rng.random_range(lo..hi)
    }
    /// A uniform integer in `[0, n)` (0 when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        self.rng.random_range(0..n)
    }
    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.uniform(0.0, 1.0) < p
    }
    /// A fresh 64-bit value (e.g. to seed a child generator).
    pub fn next_u64(&mut self) -> u64 {
        self.rng.random()
    }
    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
    /// The generator's full state: `(seed, word position)`, for checkpoints.
    pub fn state(&self) -> ([u8; 32], u128) {
        (self.rng.get_seed(), self.rng.get_word_pos())
    }
    /// Restores a state returned by [`SeedRng::state`].
    pub fn from_state(seed: [u8; 32], word_pos: u128) -> Self {
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_word_pos(word_pos);
        SeedRng { rng }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_state_roundtrip() {
        let mut a = SeedRng::new(7);
        let mut b = SeedRng::new(7);
        assert_eq!(a.normal_vec(5, 0.0, 1.0), b.normal_vec(5, 0.0, 1.0));
        let (s, p) = a.state();
        let mut c = SeedRng::from_state(s, p);
        assert_eq!(a.uniform_vec(4, 0.0, 1.0), c.uniform_vec(4, 0.0, 1.0));
        assert_ne!(
            SeedRng::derive(7, "a").next_u64(),
            SeedRng::derive(7, "b").next_u64()
        );
    }
}
