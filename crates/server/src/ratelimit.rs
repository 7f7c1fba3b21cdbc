//! A token bucket per site: `rate_events_per_second` sustained, `rate_burst_events` at once.

use std::time::{Duration, Instant};

/// Tokens (events) refilled at a fixed rate up to a capacity.
///
/// A request of `n` events passes when the bucket holds at least `min(n, capacity)` tokens and
/// then takes all `n`, possibly leaving a debt: a request larger than the burst is not refused
/// forever, it only has to wait for a full bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_second: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_second: u32, capacity: u32, now: Instant) -> Self {
        Self {
            rate_per_second: f64::from(rate_per_second.max(1)),
            capacity: f64::from(capacity.max(1)),
            tokens: f64::from(capacity.max(1)),
            refilled_at: now,
        }
    }

    /// Takes `events` tokens, or says how long to wait until the request would pass.
    pub fn try_take(&mut self, events: usize, now: Instant) -> Result<(), Duration> {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.capacity);
        self.refilled_at = now;
        let wanted = events as f64;
        let needed = wanted.min(self.capacity);
        if self.tokens >= needed {
            self.tokens -= wanted;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (needed - self.tokens) / self.rate_per_second,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_at_the_rate_and_allows_a_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20, start);
        assert_eq!(bucket.try_take(20, start), Ok(()));
        assert_eq!(bucket.try_take(5, start), Err(Duration::from_millis(500)));
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.try_take(5, later), Ok(()));
        assert!(bucket.try_take(1, later).is_err());
    }

    #[test]
    fn a_request_larger_than_the_burst_passes_on_a_full_bucket_and_leaves_a_debt() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20, start);
        assert_eq!(bucket.try_take(30, start), Ok(()));
        assert_eq!(bucket.try_take(1, start), Err(Duration::from_millis(1100)));
    }
}
