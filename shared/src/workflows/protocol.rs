//! The one send protocol, for links and codes alike: **reserve** (spend the quota and write what is
//! pending, conditional on the versions read), **hand over** (to the mailer or the text sender, paced and
//! within the request's time budget), then **commit** (what was sent becomes what works) or **undo** (the
//! quota comes back and what works stays). A reservation that lost a race to a concurrent send is read
//! again, a bounded number of times. A failed send spends nothing and breaks nothing.

use std::future::Future;

use tokio::time::Instant;

use crate::error::BackendError;
pub use crate::evidence::Handed;
use crate::pace::{deliver, SendPacer};

/// A send whose reservation keeps losing races is given up after this many reads.
pub const MAX_ATTEMPTS: usize = 8;

/// A short, growing pause before reading again, which spreads out the retries of concurrent requests.
pub async fn pause_before_retry(attempt: usize) {
    tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt as u64 + 1))).await;
}

/// Why a reservation was not made. It leaves nothing behind in every case.
#[derive(Debug)]
pub enum NotReserved<R> {
    /// A concurrent send changed what was read: read again.
    Conflict,
    /// A limit refused it (the refusal is the workflow's own).
    Refused(R),
    /// The store failed; whatever may have been written was undone.
    Backend(BackendError),
}

/// Why a send did not complete.
#[derive(Debug)]
pub enum NotSent<R> {
    Refused(R),
    /// The mailer or the text sender did not take the message; the reservation was undone.
    NotHandedOver(BackendError),
    /// The store failed.
    Backend(BackendError),
}

/// One send's three writes.
pub trait Send3: Sync {
    type Refusal;
    fn reserve(&self) -> impl Future<Output = Result<(), NotReserved<Self::Refusal>>> + Send;
    /// Gives back what `reserve` took; a failure is logged here, since the send's answer is already
    /// decided.
    fn undo(&self) -> impl Future<Output = ()> + Send;
    /// What was sent becomes what works; `handed` says how the hand-over ended (the evidence keeps it).
    fn commit(&self, handed: &Handed) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// What one pass of the protocol came to.
#[derive(Debug)]
pub enum Pass {
    Sent,
    /// Lost a race: read the state again.
    Again,
}

/// Reserves, hands over with `hand_over` (tried again while throttled, in the pacer's turn, until
/// `deadline`), then commits or undoes.
pub async fn run<P, F, Fut>(
    send: &P,
    pacer: &SendPacer,
    deadline: Instant,
    hand_over: F,
) -> Result<Pass, NotSent<P::Refusal>>
where
    P: Send3,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, BackendError>>,
{
    match send.reserve().await {
        Ok(()) => {}
        Err(NotReserved::Conflict) => return Ok(Pass::Again),
        Err(NotReserved::Refused(r)) => return Err(NotSent::Refused(r)),
        Err(NotReserved::Backend(e)) => return Err(NotSent::Backend(e)),
    }
    let handed = match deliver(pacer, deadline, hand_over).await {
        Ok(id) => Handed::Sent(id),
        // It may have gone out: it stays spent, and what it carries is made to work (a code that arrived
        // must work), but the caller is told that it may not have gone.
        Err(e @ BackendError::Uncertain(_)) => {
            send.commit(&Handed::Uncertain)
                .await
                .map_err(NotSent::Backend)?;
            return Err(NotSent::NotHandedOver(e));
        }
        // Nothing of this send stays: what worked still does, and the quota is given back.
        Err(e) => {
            send.undo().await;
            return Err(NotSent::NotHandedOver(e));
        }
    };
    send.commit(&handed).await.map_err(NotSent::Backend)?;
    Ok(Pass::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A send that records which of its writes ran.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<&'static str>>);

    impl Send3 for Recorded {
        type Refusal = ();
        async fn reserve(&self) -> Result<(), NotReserved<()>> {
            self.0.lock().unwrap().push("reserve");
            Ok(())
        }
        async fn undo(&self) {
            self.0.lock().unwrap().push("undo");
        }
        async fn commit(&self, _: &Handed) -> Result<(), BackendError> {
            self.0.lock().unwrap().push("commit");
            Ok(())
        }
    }

    async fn run_with(outcome: Result<Option<String>, BackendError>) -> (Vec<&'static str>, bool) {
        let send = Recorded::default();
        let pacer = SendPacer::new(1000.0);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let outcome = std::sync::Mutex::new(Some(outcome));
        let result = run(&send, &pacer, deadline, || {
            let next = outcome.lock().unwrap().take().unwrap_or(Ok(None));
            async move { next }
        })
        .await;
        let calls = send.0.lock().unwrap().clone();
        (calls, result.is_ok())
    }

    #[tokio::test]
    async fn a_sent_message_commits_a_refused_one_undoes_and_an_uncertain_one_stays_spent() {
        assert_eq!(run_with(Ok(None)).await, (vec!["reserve", "commit"], true));
        assert_eq!(
            run_with(Err(BackendError::Mail("refused".into()))).await,
            (vec!["reserve", "undo"], false)
        );
        // Issue 20: a text that timed out may have arrived: it is not given back (which would let it be
        // sent again within the quota) and its code is kept, but the caller hears that it failed.
        assert_eq!(
            run_with(Err(BackendError::Uncertain("timed out".into()))).await,
            (vec!["reserve", "commit"], false)
        );
    }
}
