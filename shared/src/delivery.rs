//! What SES tells of the mails it took: deliveries, bounces, complaints and rejects, from the events of the
//! stack's configuration set (read from SES's JSON by the adapters). A hard (permanent) bounce or a complaint makes
//! an address undeliverable: Submit, Resend and the code actions then refuse to mail it, spending nothing,
//! because SES reviews an account above a 5 % bounce or a 0.1 % complaint rate and can stop all of its mail.
//!
//! Every mail carries two SES message tags: `caller` (the caller id, [`caller_tag`]) and `family` (`link` or
//! `code`), so that an event finds the record of the caller whose mail it was.

use crate::model::CallerId;
pub use crate::model::{Delivery, DeliveryEvent, DeliveryKind};

/// SES message tags allow only letters, digits, `_` and `-`, up to 256 characters: every other byte of the
/// caller id is written `_XX` (hex), `_` itself included. `None` when it would be longer.
pub fn caller_tag(caller: &CallerId) -> Option<String> {
    let mut out = String::new();
    for b in caller.as_str().bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    (out.len() <= 256).then_some(out)
}

/// The caller id a `caller` tag holds.
pub fn caller_from_tag(tag: &str) -> Option<CallerId> {
    let mut bytes = Vec::new();
    let mut it = tag.bytes();
    while let Some(b) = it.next() {
        if b == b'_' {
            let hex = [it.next()?, it.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    CallerId::parse(&String::from_utf8(bytes).ok()?).ok()
}

/// What one SES event did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consumed {
    /// Addresses the event was about.
    pub addresses: usize,
    /// Of those, the ones whose recorded state changed (0 for an event seen before).
    pub changed: usize,
}

/// Records what one SES event says of its addresses. Trying again is safe, since every write is
/// conditional on the event being newer than what is recorded.
#[tracing::instrument(skip_all)]
pub async fn record<S: crate::store::Store>(
    store: &S,
    events: &[DeliveryEvent],
) -> Result<Consumed, crate::error::BackendError> {
    let mut done = Consumed {
        addresses: events.len(),
        changed: 0,
    };
    for e in events {
        let changed = store.record_delivery(e).await?;
        tracing::info!(email = %e.address.masked(), kind = e.kind.as_str(), changed, "SES event recorded");
        if changed {
            done.changed += 1;
            let family = e.family.as_deref().unwrap_or("unknown");
            match e.kind {
                DeliveryKind::HardBounce | DeliveryKind::SoftBounce => {
                    crate::metrics::count(crate::metrics::Metric::Bounces, "SesEvents", family)
                }
                DeliveryKind::Complaint => {
                    crate::metrics::count(crate::metrics::Metric::Complaints, "SesEvents", family)
                }
                DeliveryKind::Delivered | DeliveryKind::Rejected => {}
            }
        }
    }
    Ok(done)
}
