//! What SES tells of the mails it took: deliveries, bounces, complaints and rejects, from the events of the
//! stack's configuration set (read from SES's JSON by the adapters). A hard (permanent) bounce or a complaint makes
//! an address undeliverable: Submit, Resend and the code actions then refuse to mail it, spending nothing,
//! because SES reviews an account above a 5 % bounce or a 0.1 % complaint rate and can stop all of its mail.
//!
//! Every mail carries two SES message tags: `caller` (the caller id, [`caller_tag`]) and `family` (`link` or
//! `code`), so that an event finds the record of the caller whose mail it was.

use crate::callers::{MailOutcomes, MailStop, StopPolicy};
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

/// Records what one SES event says of its addresses, and counts its outcomes against its caller's day: a
/// caller that passes a ratio of `policy` has its mail stopped ([`crate::callers`]). Trying again is safe,
/// since every write of the addresses is conditional on the event being newer than what is recorded, and an
/// event that changed nothing is not counted again.
#[tracing::instrument(skip_all)]
pub async fn record<S: crate::store::Store>(
    store: &S,
    events: &[DeliveryEvent],
    policy: &StopPolicy,
) -> Result<Consumed, crate::error::BackendError> {
    let mut done = Consumed {
        addresses: events.len(),
        changed: 0,
    };
    for e in events {
        let changed = store.record_delivery(e).await?;
        tracing::info!(email = %e.address.masked(), kind = e.kind.as_str(), changed, "SES event recorded");
        if !changed {
            continue;
        }
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
        if let Some(caller) = &e.caller {
            judge(store, caller, e, policy).await?;
        }
    }
    Ok(done)
}

/// Counts one event against its caller's UTC day (of the event), and stops the caller's mail when the day
/// passes a ratio. The first stop is logged as an error and counted (`CallerMailStopped`: the operator's
/// alarm); later events of a stopped caller change nothing more.
async fn judge<S: crate::store::Store>(
    store: &S,
    caller: &CallerId,
    e: &DeliveryEvent,
    policy: &StopPolicy,
) -> Result<(), crate::error::BackendError> {
    let day = crate::spend::sms_day(e.at);
    let totals = store
        .count_mail_outcomes(caller, &day, MailOutcomes::of(e.kind))
        .await?;
    if let Some(reason) = policy.breached(&totals) {
        let stop = MailStop { at: e.at, reason };
        if store.stop_caller_mail(caller, &stop).await? {
            tracing::error!(caller = %caller.as_str(), reason = %stop.reason, "caller's mail stopped by the bounce circuit breaker; make mail-stops ARGS='resume --caller <caller>' lets it send again");
            // One family for every stop (the alarm's dimensions): the stop is the caller's, not a mail's.
            crate::metrics::count(
                crate::metrics::Metric::CallerMailStopped,
                "SesEvents",
                "mail",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EmailAddress;
    use crate::store::{CallerStore, MemoryStore, Store};
    use chrono::{DateTime, Duration, Utc};

    fn event(n: u32, kind: DeliveryKind, caller: &CallerId, at: DateTime<Utc>) -> DeliveryEvent {
        DeliveryEvent {
            address: EmailAddress::parse(&format!("r{n}@example.com")).unwrap(),
            kind,
            at,
            caller: Some(caller.clone()),
            family: Some("link".into()),
            reason: String::new(),
        }
    }

    #[tokio::test]
    async fn a_caller_past_the_bounce_ratio_is_stopped_once_and_the_operator_resumes_it() {
        let store = MemoryStore::new();
        let (alice, bob) = (
            CallerId::parse("alice").unwrap(),
            CallerId::parse("bob").unwrap(),
        );
        let policy = StopPolicy {
            bounce_bp: 1_000, // 10 %
            complaint_bp: 0,
            min_mails: 10,
        };
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // Bob's bounces are his own: they never stop Alice.
        for n in 0..10 {
            let e = event(100 + n, DeliveryKind::HardBounce, &bob, t0);
            record(&store, &[e], &policy).await.unwrap();
        }
        assert!(store.caller_state(&bob).await.unwrap().mail_stop.is_some());
        for n in 0..9 {
            let kind = if n == 0 {
                DeliveryKind::HardBounce
            } else {
                DeliveryKind::Delivered
            };
            record(&store, &[event(n, kind, &alice, t0)], &policy)
                .await
                .unwrap();
        }
        // 9 mails, 1 bounce: under the minimum; the same event again is not counted again.
        let again = record(
            &store,
            &[event(0, DeliveryKind::HardBounce, &alice, t0)],
            &policy,
        )
        .await
        .unwrap();
        assert_eq!(again.changed, 0);
        assert_eq!(store.caller_state(&alice).await.unwrap().mail_stop, None);
        // The tenth mail: 1 of 10 bounced, 10 %: stopped.
        record(
            &store,
            &[event(9, DeliveryKind::Delivered, &alice, t0)],
            &policy,
        )
        .await
        .unwrap();
        let stop = store
            .caller_state(&alice)
            .await
            .unwrap()
            .mail_stop
            .expect("stopped");
        assert!(
            stop.reason.contains("1 hard bounces of 10 mails"),
            "{}",
            stop.reason
        );
        // A later bounce keeps the first stop.
        record(
            &store,
            &[event(
                10,
                DeliveryKind::HardBounce,
                &alice,
                t0 + Duration::minutes(1),
            )],
            &policy,
        )
        .await
        .unwrap();
        assert_eq!(
            store.caller_state(&alice).await.unwrap().mail_stop,
            Some(stop)
        );
        // The operator resumes it: its day starts again from zero.
        let day = crate::spend::sms_day(t0);
        assert!(store.resume_caller_mail(&alice, &day).await.unwrap());
        assert!(
            !store.resume_caller_mail(&alice, &day).await.unwrap(),
            "once"
        );
        assert_eq!(store.caller_state(&alice).await.unwrap().mail_stop, None);
        let fresh = store
            .count_mail_outcomes(&alice, &day, MailOutcomes::default())
            .await
            .unwrap();
        assert_eq!(fresh, MailOutcomes::default());
    }

    async fn undeliverable(store: &MemoryStore, n: u32) -> bool {
        let (alice, address) = (
            CallerId::parse("alice").unwrap(),
            EmailAddress::parse(&format!("r{n}@example.com")).unwrap(),
        );
        store
            .load_send_state(&alice, &address)
            .await
            .unwrap()
            .undeliverable
    }

    #[tokio::test]
    async fn a_later_delivery_or_the_operator_makes_an_address_deliverable_again() {
        let store = MemoryStore::new();
        let alice = CallerId::parse("alice").unwrap();
        let policy = StopPolicy::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        record(
            &store,
            &[event(1, DeliveryKind::HardBounce, &alice, t0)],
            &policy,
        )
        .await
        .unwrap();
        assert!(undeliverable(&store, 1).await);
        // A delivery from before the bounce (arriving late) changes nothing.
        record(
            &store,
            &[event(
                1,
                DeliveryKind::Delivered,
                &alice,
                t0 - Duration::minutes(5),
            )],
            &policy,
        )
        .await
        .unwrap();
        assert!(undeliverable(&store, 1).await);
        record(
            &store,
            &[event(
                1,
                DeliveryKind::Delivered,
                &alice,
                t0 + Duration::minutes(5),
            )],
            &policy,
        )
        .await
        .unwrap();
        assert!(
            !undeliverable(&store, 1).await,
            "a later delivery clears it"
        );

        record(
            &store,
            &[event(2, DeliveryKind::Complaint, &alice, t0)],
            &policy,
        )
        .await
        .unwrap();
        assert!(undeliverable(&store, 2).await);
        let address = EmailAddress::parse("r2@example.com").unwrap();
        assert!(store.clear_undeliverable(&address).await.unwrap());
        assert!(!store.clear_undeliverable(&address).await.unwrap(), "once");
        assert!(!undeliverable(&store, 2).await, "the operator cleared it");
    }
}
