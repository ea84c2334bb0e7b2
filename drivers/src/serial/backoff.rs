//! Jittered exponential backoff for reopening a port.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How long to wait between reopen attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// The first wait.
    pub initial: Duration,
    /// No wait is longer than this.
    pub max: Duration,
    /// Each wait is the exponential step times a random factor in `[1 - jitter, 1]`; 0 makes
    /// the waits exact. Spreads the reopen attempts of several devices on one USB hub.
    pub jitter: f64,
}

impl Default for BackoffPolicy {
    /// 100 ms doubling to 2 s: a replugged device is back within about a second of its node
    /// reappearing, and a missing one costs at most one failed open every 2 s.
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            jitter: 0.2,
        }
    }
}

/// The sequence of waits. Deterministic for a given seed, so tests can predict it.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    /// Waits handed out since the last reset.
    step: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy, seed: u64) -> Self {
        Backoff {
            policy,
            step: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// Seeded from the process's random hasher keys: different for each link, no extra crate.
    pub fn with_random_seed(policy: BackoffPolicy) -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Backoff::new(policy, seed)
    }

    pub fn policy(&self) -> BackoffPolicy {
        self.policy
    }

    /// Back to the initial wait (after a connection that proved healthy).
    pub fn reset(&mut self) {
        self.step = 0;
    }

    /// The next wait: `initial * 2^n` capped at `max`, shrunk by the jitter.
    pub fn next_delay(&mut self) -> Duration {
        let p = self.policy;
        let exp = self.step.min(31);
        self.step = self.step.saturating_add(1);
        let base = p
            .initial
            .checked_mul(1u32 << exp)
            .map_or(p.max, |d| d.min(p.max));
        let jitter = p.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        base.mul_f64(1.0 - jitter * self.next_unit())
    }

    /// A uniform number in `[0, 1)` (xorshift64*; quality is ample for spreading retries).
    fn next_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_to_the_cap_without_jitter() {
        let mut b = Backoff::new(
            BackoffPolicy {
                jitter: 0.0,
                ..BackoffPolicy::default()
            },
            7,
        );
        let waits: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1600, 2000, 2000, 2000]
                .map(MS)
                .to_vec()
        );
        b.reset();
        assert_eq!(b.next_delay(), MS(100));
    }

    #[test]
    fn jitter_stays_inside_its_band_and_varies() {
        let policy = BackoffPolicy::default();
        let mut b = Backoff::new(policy, 42);
        let mut firsts = Vec::new();
        for _ in 0..200 {
            b.reset();
            let d = b.next_delay();
            assert!(d >= MS(80) && d <= MS(100), "{d:?}");
            firsts.push(d);
        }
        firsts.sort();
        firsts.dedup();
        assert!(firsts.len() > 50, "jitter should spread the waits");
        for _ in 0..100 {
            let d = b.next_delay();
            assert!(d <= policy.max, "{d:?}");
        }
        // Far along the sequence, every wait is near the cap.
        assert!(b.next_delay() >= MS(1600));
    }

    #[test]
    fn same_seed_same_waits() {
        let mut a = Backoff::new(BackoffPolicy::default(), 3);
        let mut b = Backoff::new(BackoffPolicy::default(), 3);
        for _ in 0..20 {
            assert_eq!(a.next_delay(), b.next_delay());
        }
    }

    #[test]
    fn huge_step_does_not_overflow() {
        let mut b = Backoff::new(
            BackoffPolicy {
                initial: Duration::from_secs(1_000_000),
                max: Duration::from_secs(5),
                jitter: 0.0,
            },
            1,
        );
        for _ in 0..100 {
            assert_eq!(b.next_delay(), Duration::from_secs(5));
        }
    }
}
