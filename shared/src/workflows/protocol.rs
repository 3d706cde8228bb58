//! The one send protocol, for links and codes alike: **reserve** (spend the quota and write what is
//! pending, conditional on the versions read), **hand over** (to the mailer or the text sender, paced and
//! within the request's time budget), then **commit** (what was sent becomes what works) or **undo** (the
//! quota comes back and what works stays). A reservation that lost a race to a concurrent send is read
//! again, a bounded number of times. A failed send spends nothing and breaks nothing.

use std::future::Future;

use tokio::time::Instant;

use crate::error::BackendError;
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
    fn commit(&self) -> impl Future<Output = Result<(), BackendError>> + Send;
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
    Fut: Future<Output = Result<(), BackendError>>,
{
    match send.reserve().await {
        Ok(()) => {}
        Err(NotReserved::Conflict) => return Ok(Pass::Again),
        Err(NotReserved::Refused(r)) => return Err(NotSent::Refused(r)),
        Err(NotReserved::Backend(e)) => return Err(NotSent::Backend(e)),
    }
    if let Err(e) = deliver(pacer, deadline, hand_over).await {
        // Nothing of this send stays: what worked still does, and the quota is given back.
        send.undo().await;
        return Err(NotSent::NotHandedOver(e));
    }
    send.commit().await.map_err(NotSent::Backend)?;
    Ok(Pass::Sent)
}
