//! Per-token rate limiting: a token bucket per access token, in this process's memory (so with
//! N instances behind a load balancer a token may make up to N times the rate).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets idle this long are forgotten when the table is pruned.
const IDLE: Duration = Duration::from_secs(600);
const PRUNE_AT: usize = 10_000;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_second` requests on average, `burst` at once; `per_second` 0 disables the limit.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter { per_second, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from the token's bucket; `Err(wait)` says how long until the next
    /// request would be allowed.
    pub fn check(&self, token_hash: &[u8]) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let now = crate::clock::monotonic_now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, bucket| now.duration_since(bucket.last) < IDLE);
        }
        let bucket = buckets.entry(token_hash.to_vec()).or_insert(Bucket { tokens: self.burst, last: now });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_per_token() {
        let limiter = RateLimiter::new(1.0, 3);
        for _ in 0..3 {
            assert!(limiter.check(b"a").is_ok());
        }
        let wait = limiter.check(b"a").unwrap_err();
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check(b"b").is_ok(), "another token has its own bucket");
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0.0, 1);
        assert!((0..100).all(|_| limiter.check(b"a").is_ok()));
    }
}
