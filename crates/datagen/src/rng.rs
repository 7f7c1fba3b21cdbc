//! Seeding and the few distributions the generator draws from.
//!
//! Every random stream is a [`SmallRng`] seeded from the configuration seed, a stream name and an
//! index, so that each visitor (and each site's catalogue) can be generated on its own, in any
//! order, and always the same way.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Stream of the per-site catalogues (pages, layouts, links).
pub(crate) const STREAM_CATALOG: u64 = 0x6361_7461_6c6f_6721;
/// Stream of the per-visitor walks.
pub(crate) const STREAM_VISITOR: u64 = 0x7669_7369_746f_7221;

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash of one word.
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A well-mixed hash of three words.
pub(crate) const fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix64(mix64(mix64(a ^ 0x9e37_79b9_7f4a_7c15) ^ b) ^ c)
}

/// The generator of one stream element (`stream`, `index`) under `seed`.
pub(crate) fn rng_for(seed: u64, stream: u64, index: u64) -> SmallRng {
    SmallRng::seed_from_u64(hash3(seed, stream, index))
}

/// A uniform number in `[0, 1)` from a hash, for draws that must not consume a stream.
pub(crate) fn unit_from_hash(hash: u64) -> f64 {
    (hash >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p`.
#[inline]
pub(crate) fn chance(rng: &mut SmallRng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// `min + k` where `k` counts successes before the first failure, each with probability
/// `p_continue`, capped at `max`.
pub(crate) fn geometric(rng: &mut SmallRng, min: u32, p_continue: f64, max: u32) -> u32 {
    let mut n = min;
    while n < max && chance(rng, p_continue) {
        n += 1;
    }
    n
}

/// An approximately standard normal number (Irwin-Hall with 4 uniforms, rescaled): bounded to
/// about ±3.5, which keeps clustered positions near their centre.
#[inline]
pub(crate) fn normalish(rng: &mut SmallRng) -> f64 {
    let sum: f64 =
        rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>();
    (sum - 2.0) * 1.732_050_8
}

/// An exponentially distributed duration in ms with the given mean, clamped to `min..=max`.
#[inline]
pub(crate) fn exponential_ms(rng: &mut SmallRng, mean_ms: f64, min: i64, max: i64) -> i64 {
    let u: f64 = rng.random::<f64>();
    let ms = -mean_ms * (1.0 - u).ln();
    (ms as i64).clamp(min, max)
}

/// A log-uniform duration in ms between `min` and `max`.
pub(crate) fn log_uniform_ms(rng: &mut SmallRng, min: i64, max: i64) -> i64 {
    let (lo, hi) = ((min as f64).ln(), (max as f64).ln());
    (lo + (hi - lo) * rng.random::<f64>()).exp() as i64
}

/// Cumulative, normalised weights for [`pick`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Cdf(Vec<f64>);

impl Cdf {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        assert!(total > 0.0, "weights must not all be zero");
        for c in &mut cumulative {
            *c /= total;
        }
        Self(cumulative)
    }

    /// Zipf-like weights `1 / (rank + 1)^exponent` for `n` ranks.
    pub(crate) fn zipf(n: usize, exponent: f64) -> Self {
        Self::new((0..n).map(|rank| 1.0 / ((rank + 1) as f64).powf(exponent)))
    }

    /// The index whose cumulative interval holds `u` (`0 <= u < 1`).
    #[inline]
    pub(crate) fn index_of(&self, u: f64) -> usize {
        self.0.partition_point(|&c| c <= u).min(self.0.len() - 1)
    }

    /// A weighted random index.
    #[inline]
    pub(crate) fn pick(&self, rng: &mut SmallRng) -> usize {
        self.index_of(rng.random::<f64>())
    }

    /// The share of index `i`.
    pub(crate) fn share(&self, i: usize) -> f64 {
        self.0[i] - if i == 0 { 0.0 } else { self.0[i - 1] }
    }
}
