//! The per-caller request rate, in two parts. A caller over either is refused (`Throttling`, Tencent
//! `RequestLimitExceeded`) while the others are served; API Gateway's route limits stay the global
//! backstop, set higher so that one caller is throttled before the route is.
//!
//! - **Per instance** ([`CallerRate::take`]): a token bucket per caller in each function instance (the
//!   burst). It costs no request to any service: one lock and a little arithmetic.
//! - **Across instances** ([`admit`], when `shared_per_second` is set): each caller's requests are
//!   counted per UTC second in the store, one conditional write each, refused at the limit. N instances
//!   then give the limit, not N times it. Tolerance: the count is exact per second; a burst that
//!   straddles two seconds can reach twice the limit within one sliding second, never more. When the
//!   count cannot be written the request is served (the per-instance bucket still holds) and a warning
//!   is logged: an outage of the counter never stops the service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use chrono::{DateTime, Utc};

use crate::model::CallerId;
use crate::store::ReplayGuard;

/// The most callers one instance remembers; beyond it, the longest idle are forgotten (a forgotten caller
/// starts again with a full bucket).
const MAX_CALLERS: usize = 10_000;

#[derive(Clone)]
pub struct CallerRate {
    per_second: f64,
    burst: f64,
    /// Requests per second per caller across every instance; `None`: counted per instance only.
    shared_per_second: Option<u32>,
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
            shared_per_second: None,
            buckets: Arc::default(),
        }
    }

    /// Also counts each caller's requests across instances, `limit` per second.
    pub fn shared(mut self, limit: Option<u32>) -> Self {
        self.shared_per_second = limit.map(|l| l.max(1));
        self
    }

    pub fn shared_per_second(&self) -> Option<u32> {
        self.shared_per_second
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

/// Takes one request of `caller`: from its bucket in this instance, then (when shared) from its count of
/// this second in `store`. `Err(seconds to wait)` when over either.
pub async fn admit<G: ReplayGuard>(
    rate: &CallerRate,
    store: &G,
    caller: &CallerId,
    now: DateTime<Utc>,
) -> Result<(), f64> {
    rate.take(caller)?;
    let Some(limit) = rate.shared_per_second else {
        return Ok(());
    };
    match store.count_request(caller, now.timestamp(), limit).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(1.0 - f64::from(now.timestamp_subsec_millis()) / 1000.0),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "the shared request count could not be written: served on the per-instance limit");
            Ok(())
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

    #[tokio::test(start_paused = true)]
    async fn the_shared_count_holds_across_instances_per_second() {
        let store = crate::store::MemoryStore::new();
        // Two instances, each with a bucket far larger than the shared limit.
        let a = CallerRate::new(1000.0, 1000.0).shared(Some(5));
        let b = CallerRate::new(1000.0, 1000.0).shared(Some(5));
        let alice = CallerId::parse("alice").unwrap();
        let bob = CallerId::parse("bob").unwrap();
        let t0 = DateTime::from_timestamp(1_800_000_000, 250_000_000).unwrap();
        let mut served = 0;
        for i in 0..20 {
            let rate = if i % 2 == 0 { &a } else { &b };
            if admit(rate, &store, &alice, t0).await.is_ok() {
                served += 1;
            }
        }
        assert_eq!(
            served, 5,
            "five in one second, whichever instance serves them"
        );
        let wait = admit(&a, &store, &alice, t0).await.unwrap_err();
        assert!((wait - 0.75).abs() < 1e-9, "{wait}");
        assert!(
            admit(&b, &store, &bob, t0).await.is_ok(),
            "another caller is served"
        );
        let next = t0 + chrono::Duration::seconds(1);
        assert!(
            admit(&a, &store, &alice, next).await.is_ok(),
            "the next second counts anew"
        );
        let unshared = CallerRate::new(1000.0, 1000.0);
        assert!((0..20).all(|_| unshared.take(&alice).is_ok()));
        assert_eq!(unshared.shared_per_second(), None);
    }
}
