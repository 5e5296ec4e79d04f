//! Random noise for differential privacy: the Laplace distribution and where the randomness
//! comes from. By default every query draws from OS-seeded randomness; with a seed set (the
//! admin endpoint `POST /_emulator/dp-seed`), each query that needs noise takes the next number
//! of a counter when it is admitted and derives its own generator from `(seed, number)`, so a
//! sequence of queries gets the same noise again after the same seed is set — whatever order
//! their background runs finish in.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The seed state of one emulator process.
#[derive(Debug, Default)]
pub struct NoiseSeed {
    /// `(seed, queries seeded so far)`, when a seed is set.
    state: Mutex<Option<(u64, u64)>>,
}

impl NoiseSeed {
    /// Makes the following queries' noise reproducible from `seed` (restarting the sequence).
    pub fn set(&self, seed: u64) {
        if let Ok(mut s) = self.state.lock() {
            *s = Some((seed, 0));
        }
    }

    /// Back to OS randomness.
    pub fn clear(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = None;
        }
    }

    /// The seed set, if any.
    pub fn seed(&self) -> Option<u64> {
        self.state.lock().ok().and_then(|s| s.map(|(seed, _)| seed))
    }

    /// The generator seed of the next admitted query: derived from the seed and the query's
    /// number in the sequence when a seed is set, else random.
    pub fn next_query_seed(&self) -> u64 {
        if let Ok(mut s) = self.state.lock() {
            if let Some((seed, counter)) = s.as_mut() {
                *counter += 1;
                return mix(*seed ^ mix(*counter));
            }
        }
        rand::random()
    }
}

/// SplitMix64's finaliser: spreads nearby inputs over the whole range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The generator of one query.
pub fn query_rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// One draw of Laplace noise with mean 0 and scale `scale` (density `exp(-|x|/b) / 2b`;
/// `E|x| = b`), by inverting the distribution function.
pub fn laplace(rng: &mut impl Rng, scale: f64) -> f64 {
    if scale <= 0.0 {
        return 0.0;
    }
    // u uniform in (-1/2, 1/2), 0 excluded from 1 - 2|u| by construction.
    let u: f64 = rng.random::<f64>() - 0.5;
    let magnitude = -(1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE).ln();
    scale * magnitude * u.signum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laplace_has_mean_zero_and_mean_absolute_value_the_scale() {
        let mut rng = query_rng(7);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| laplace(&mut rng, 3.0)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let mean_abs = draws.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((mean_abs - 3.0).abs() < 0.05, "mean |x| {mean_abs}");
        assert_eq!(laplace(&mut rng, 0.0), 0.0);
    }

    #[test]
    fn a_seed_reproduces_the_sequence_of_query_seeds() {
        let s = NoiseSeed::default();
        s.set(42);
        let first: Vec<u64> = (0..3).map(|_| s.next_query_seed()).collect();
        assert_eq!(s.seed(), Some(42));
        s.set(42);
        let again: Vec<u64> = (0..3).map(|_| s.next_query_seed()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], first[1]);
        s.set(43);
        assert_ne!(s.next_query_seed(), first[0]);
        s.clear();
        assert_eq!(s.seed(), None);
        assert_ne!(s.next_query_seed(), s.next_query_seed());
    }
}
