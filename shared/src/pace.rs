//! Handing mail and text messages over at a bounded rate, and trying again when the provider throttles.
//!
//! SES accepts a fixed number of mails a second per account (14 on a new account). A Submit of 100
//! addresses serves 32 at once, so without a bound it would be throttled. [`SendPacer`] spaces the sends of
//! one function instance `1 / MaxSendRate` seconds apart, and [`deliver`] tries a throttled send again
//! with a growing pause, as long as the request's time budget allows. What cannot be handed over in time is
//! a failed send, which the actions undo (nothing spent).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::BackendError;

/// The default `MAX_SEND_RATE`: what a new SES account accepts.
pub const DEFAULT_MAX_SEND_RATE: f64 = 14.0;
/// The first pause after a throttled send; it doubles each time, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// The earliest moment of the next send, shared by every send of one function instance.
#[derive(Clone)]
pub struct SendPacer {
    interval: Duration,
    next: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for SendPacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SendPacer({:.1}/s)",
            1.0 / self.interval.as_secs_f64().max(f64::MIN_POSITIVE)
        )
    }
}

impl SendPacer {
    /// At most `per_second` sends a second (at least one a minute).
    pub fn new(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() {
            per_second.clamp(1.0 / 60.0, 10_000.0)
        } else {
            DEFAULT_MAX_SEND_RATE
        };
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Arc::new(Mutex::new(None)),
        }
    }

    /// Waits for this send's turn. `false`, without waiting, when the turn would come after `deadline`.
    pub async fn turn(&self, deadline: Instant) -> bool {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            if slot > deadline {
                return false;
            }
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        true
    }
}

/// Hands one message over with `send`, in its turn; a throttled attempt is tried again after a growing
/// pause while `deadline` allows. Any other failure, or the deadline, ends it.
pub async fn deliver<F, Fut, T>(
    pacer: &SendPacer,
    deadline: Instant,
    mut send: F,
) -> Result<T, BackendError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BackendError>>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        if !pacer.turn(deadline).await {
            return Err(BackendError::Throttled(
                "no turn to send before the request's time budget ends".into(),
            ));
        }
        match send().await {
            Err(BackendError::Throttled(why)) => {
                if Instant::now() + backoff >= deadline {
                    return Err(BackendError::Throttled(format!(
                        "still throttled when the time budget ended: {why}"
                    )));
                }
                tracing::warn!(
                    backoff_ms = backoff.as_millis() as u64,
                    "throttled; trying again"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_are_spaced_by_the_rate() {
        let pacer = SendPacer::new(10.0);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        let mut times = Vec::new();
        for _ in 0..25 {
            assert!(pacer.turn(deadline).await);
            times.push(Instant::now() - start);
        }
        assert_eq!(times[0], Duration::ZERO);
        assert_eq!(times[24], Duration::from_millis(2400));
        for w in times.windows(11) {
            assert!(
                w[10] - w[0] >= Duration::from_secs(1),
                "more than 10 sends within a second: {w:?}"
            );
        }
        // A turn past the deadline is refused at once.
        assert!(!pacer.turn(Instant::now()).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_send_is_tried_again_until_it_passes_or_the_budget_ends() {
        let pacer = SendPacer::new(1000.0);
        let calls = AtomicUsize::new(0);
        let flaky = || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Err(BackendError::Throttled("slow down".into()))
                } else {
                    Ok(())
                }
            }
        };
        deliver(&pacer, Instant::now() + Duration::from_secs(10), flaky)
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        let always = || async { Err::<(), _>(BackendError::Throttled("slow down".into())) };
        let start = Instant::now();
        let err = deliver(&pacer, start + Duration::from_secs(5), always)
            .await
            .unwrap_err();
        assert!(matches!(err, BackendError::Throttled(_)));
        assert!(
            Instant::now() - start <= Duration::from_secs(5),
            "it gave up within its budget"
        );

        let broken = || async { Err::<(), _>(BackendError::Mail("refused".into())) };
        let calls_before = Instant::now();
        assert!(matches!(
            deliver(&pacer, calls_before + Duration::from_secs(5), broken).await,
            Err(BackendError::Mail(_))
        ));
    }
}
