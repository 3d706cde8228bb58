//! The per-caller request rate: a token bucket per caller in each function instance. A caller over its
//! rate is refused (`Throttling`, Tencent `RequestLimitExceeded`) while the others are served. API
//! Gateway's route limits stay the global backstop; this one keeps one caller from starving the others.
//! It costs no request to any service: one lock and a little arithmetic per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::model::CallerId;

/// The most callers one instance remembers; beyond it, the longest idle are forgotten (a forgotten caller
/// starts again with a full bucket).
const MAX_CALLERS: usize = 10_000;

#[derive(Clone)]
pub struct CallerRate {
    per_second: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<CallerId, (f64, Instant)>>>,
}

impl std::fmt::Debug for CallerRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallerRate({}/s, burst {})", self.per_second, self.burst)
    }
}

impl CallerRate {
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second: per_second.max(0.001),
            burst: burst.max(1.0),
            buckets: Arc::default(),
        }
    }

    /// Takes one request from `caller`'s bucket: `Err(seconds to wait)` when it is empty.
    pub fn take(&self, caller: &CallerId) -> Result<(), f64> {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CALLERS && !buckets.contains_key(caller) {
            let idle = now - std::time::Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, last)| *last > idle);
        }
        let (tokens, last) = buckets.entry(caller.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + (now - *last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_caller_over_its_rate_is_refused_and_the_others_are_not() {
        let rate = CallerRate::new(5.0, 10.0);
        let (alice, bob) = (
            CallerId::parse("alice").unwrap(),
            CallerId::parse("bob").unwrap(),
        );
        let allowed = (0..30).filter(|_| rate.take(&alice).is_ok()).count();
        assert_eq!(allowed, 10, "the burst");
        assert!(rate.take(&bob).is_ok(), "another caller is served");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let allowed = (0..30).filter(|_| rate.take(&alice).is_ok()).count();
        assert_eq!(allowed, 5, "the rate");
        let wait = rate.take(&alice).unwrap_err();
        assert!(wait > 0.0 && wait <= 0.2, "{wait}");
    }
}
