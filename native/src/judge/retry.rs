//! How long to wait before trying a request again: exponential backoff with jitter, and never
//! less than what the server asked for in a `Retry-After` header.

use std::time::Duration;

use actprm_core::rng::SeededRng;

/// Exponential backoff: the n-th retry waits a random time between half and all of
/// `first · 2ⁿ⁻¹`, capped at `cap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The longest wait before the first retry.
    pub first: Duration,
    /// The longest wait before any retry.
    pub cap: Duration,
}

impl Default for Backoff {
    /// One second doubling up to a minute.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first), at least `retry_after` when
    /// the server named one.
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        rng: &mut SeededRng,
    ) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        let ceiling = self.first.saturating_mul(1 << doublings).min(self.cap);
        let jittered = ceiling.mul_f64(0.5 + 0.5 * rng.unit());
        retry_after.map_or(jittered, |asked| asked.max(jittered))
    }
}

/// The wait a `Retry-After` header asks for, given in whole seconds. (Its other form, an HTTP
/// date, is not read: the backoff alone decides then.)
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_within_their_jitter_and_stop_at_the_cap() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let mut rng = SeededRng::new(7);
        for (retry, ceiling) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let wait = backoff.delay(retry, None, &mut rng).as_secs_f64() * 1000.0;
                let ceiling = f64::from(ceiling);
                assert!(
                    wait >= ceiling / 2.0 - 1e-9 && wait <= ceiling + 1e-9,
                    "retry {retry}: {wait} ms"
                );
            }
        }
    }

    #[test]
    fn a_servers_retry_after_is_a_floor() {
        let backoff = Backoff::default();
        let mut rng = SeededRng::new(1);
        let asked = Duration::from_secs(30);
        assert!(backoff.delay(1, Some(asked), &mut rng) >= asked);
        let short = Duration::from_millis(1);
        assert!(backoff.delay(6, Some(short), &mut rng) >= Duration::from_secs(16));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
