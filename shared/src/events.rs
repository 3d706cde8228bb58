//! Events (the contract's "Events"): what a committed change of a record means to a caller, as the body that
//! goes to its webhooks and to EventBridge, and how a webhook is signed (Standard Webhooks 1.0).
//!
//! Events are derived from committed state only: a [`Change`] is a record as it was and as it is after one
//! committed write (the adapters read it from the table's stream), so a write that did not commit makes
//! none. The same change always derives the same events with the same ids: a change read twice (a retried
//! batch) is the same event twice, which a consumer drops by its id.
//!
//! `sequence` grows with each change of one record: an email record's version (1 at the first send, +1 with
//! each change; its delete is the last version + 1); for a contact, the change's time in epoch milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::code::{CodeRecord, Contact, ContactRecord};
use crate::model::{CallerId, DeliveryKind, VerificationRecord, VerificationStatus};

/// The event types (the contract's, in its order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Sent,
    Reminded,
    Verified,
    DeadlineMissed,
    Deleted,
    Bounced,
    Complained,
    CodeSent,
    ContactVerified,
    ContactDeleted,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        Self::Sent,
        Self::Reminded,
        Self::Verified,
        Self::DeadlineMissed,
        Self::Deleted,
        Self::Bounced,
        Self::Complained,
        Self::CodeSent,
        Self::ContactVerified,
        Self::ContactDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "email.verification.sent",
            Self::Reminded => "email.verification.reminded",
            Self::Verified => "email.verification.verified",
            Self::DeadlineMissed => "email.verification.deadline_missed",
            Self::Deleted => "email.verification.deleted",
            Self::Bounced => "email.delivery.bounced",
            Self::Complained => "email.delivery.complained",
            Self::CodeSent => "contact.code.sent",
            Self::ContactVerified => "contact.verified",
            Self::ContactDeleted => "contact.deleted",
        }
    }
}

/// One committed change, as the table's stream tells it: the item before and after (`None`: it did not
/// exist), and when the stream saw it.
#[derive(Clone, Debug)]
pub enum Change {
    Record {
        old: Option<Box<VerificationRecord>>,
        new: Option<Box<VerificationRecord>>,
        at: DateTime<Utc>,
        /// Before and after: a new record whose first mail is not handed over yet. A send is reserved
        /// (the record written, `unsent`), then committed (no longer `unsent`: the mail went) or undone
        /// (the record removed: it failed), so only the commit is an event.
        unsent: [bool; 2],
        /// The change is a reminder's commit (its new link mailed), not a resend's. A reminder is claimed,
        /// then committed or given back: only the commit is its event.
        reminded: bool,
    },
    Code {
        old: Option<CodeRecord>,
        new: Option<CodeRecord>,
        at: DateTime<Utc>,
        /// Removed by the table's TTL (the code expired), not by a use of it.
        expired: bool,
    },
    Contact {
        old: Option<ContactRecord>,
        new: Option<ContactRecord>,
        at: DateTime<Utc>,
    },
}

/// One event: its type, its id (the same for the same change, on every retry), the caller it belongs to,
/// and its body as sent (`{"type", "timestamp", "data"}`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventType,
    pub id: String,
    pub caller: CallerId,
    pub sequence: i64,
    pub body: Value,
}

impl Event {
    /// The body's text: what is signed and sent, byte for byte the same on every attempt.
    pub fn body_text(&self) -> String {
        self.body.to_string()
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn event_id(kind: EventType, caller: &CallerId, subject: &str, sequence: i64) -> String {
    let digest = Sha256::digest(format!(
        "{}\n{caller}\n{subject}\n{sequence}",
        kind.as_str()
    ));
    format!("evt_{}", &hex::encode(digest)[..32])
}

fn record_event(
    kind: EventType,
    r: &VerificationRecord,
    status: &str,
    sequence: i64,
    at: DateTime<Utc>,
) -> Event {
    let data = json!({
        "caller": r.caller.as_str(),
        "id": r.verification_no,
        "email": r.email.as_str(),
        "status": status,
        "deadline": r.deadline.map(time),
        "domains": r.domains.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "sequence": sequence,
    });
    Event {
        kind,
        id: event_id(kind, &r.caller, &r.verification_no, sequence),
        caller: r.caller.clone(),
        sequence,
        body: json!({"type": kind.as_str(), "timestamp": time(at), "data": data}),
    }
}

/// A contact's id: the first half of the SHA-256 of `<type>#<contact>`, in hex.
pub fn contact_id(contact: &Contact) -> String {
    hex::encode(&Sha256::digest(contact.key())[..16])
}

fn contact_event(
    kind: EventType,
    caller: &CallerId,
    contact: &Contact,
    status: &str,
    at: DateTime<Utc>,
    sequence: i64,
) -> Event {
    let id = contact_id(contact);
    let data = json!({
        "caller": caller.as_str(),
        "id": id,
        "contact_type": contact.kind().code(),
        "contact": contact.as_str(),
        "status": status,
        "deadline": Value::Null,
        "domains": [],
        "sequence": sequence,
    });
    Event {
        kind,
        id: event_id(kind, caller, &id, sequence),
        caller: caller.clone(),
        sequence,
        body: json!({"type": kind.as_str(), "timestamp": time(at), "data": data}),
    }
}

fn status(r: &VerificationRecord) -> &'static str {
    match r.status {
        VerificationStatus::Pending => "pending",
        VerificationStatus::Verified => "verified",
    }
}

/// The events of one committed change (most changes make one; a change of nothing a caller sees, none).
pub fn derive(change: &Change) -> Vec<Event> {
    match change {
        Change::Record {
            old,
            new,
            at,
            unsent,
            reminded,
        } => match (old.as_deref(), new.as_deref(), unsent) {
            // A reservation, or its undo: nothing was sent.
            (None, Some(_), [_, true]) | (Some(_), None, [true, _]) => Vec::new(),
            // The first mail went: what the commit changed, and the send.
            (Some(o), Some(n), [true, false]) => {
                let mut out = vec![record_event(
                    EventType::Sent,
                    n,
                    status(n),
                    n.version as i64,
                    n.token_sent,
                )];
                out.extend(record_events(Some(o), Some(n), *at, false));
                out
            }
            (o, n, _) => record_events(o, n, *at, *reminded),
        },
        Change::Code {
            old,
            new,
            at,
            expired,
        } => code_events(old.as_ref(), new.as_ref(), *at, *expired),
        Change::Contact { old, new, at } => match (old, new) {
            (Some(o), None) => {
                let sequence = at.timestamp_millis().max(o.created.timestamp_millis() + 1);
                vec![contact_event(
                    EventType::ContactDeleted,
                    &o.caller,
                    &o.contact,
                    "deleted",
                    at_ms(sequence, *at),
                    sequence,
                )]
            }
            // A new contact is written with the use of its code: the code's removal says "verified".
            _ => Vec::new(),
        },
    }
}

fn record_events(
    old: Option<&VerificationRecord>,
    new: Option<&VerificationRecord>,
    at: DateTime<Utc>,
    reminded: bool,
) -> Vec<Event> {
    match (old, new) {
        (None, Some(n)) => vec![record_event(
            EventType::Sent,
            n,
            status(n),
            n.version as i64,
            n.token_sent,
        )],
        (Some(o), None) => vec![record_event(
            EventType::Deleted,
            o,
            "deleted",
            o.version as i64 + 1,
            at,
        )],
        (Some(o), Some(n)) if n.version != o.version => {
            let seq = n.version as i64;
            let mut out = Vec::new();
            if o.status == VerificationStatus::Pending && n.status == VerificationStatus::Verified {
                let when = n.verified_at.unwrap_or(n.modified);
                out.push(record_event(EventType::Verified, n, "verified", seq, when));
            }
            if o.deadline_missed.is_none() {
                if let Some(when) = n.deadline_missed {
                    out.push(record_event(
                        EventType::DeadlineMissed,
                        n,
                        status(n),
                        seq,
                        when,
                    ));
                }
            }
            if reminded {
                out.push(record_event(
                    EventType::Reminded,
                    n,
                    status(n),
                    seq,
                    n.token_sent,
                ));
            } else if n.token_sent != o.token_sent {
                out.push(record_event(
                    EventType::Sent,
                    n,
                    status(n),
                    seq,
                    n.token_sent,
                ));
            }
            if let Some(d) = n
                .delivery
                .as_ref()
                .filter(|d| o.delivery.as_ref() != Some(*d))
            {
                let kind = match d.kind {
                    DeliveryKind::SoftBounce | DeliveryKind::HardBounce => Some(EventType::Bounced),
                    DeliveryKind::Complaint => Some(EventType::Complained),
                    _ => None,
                };
                if let Some(kind) = kind {
                    out.push(record_event(kind, n, status(n), seq, d.at));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

fn code_events(
    old: Option<&CodeRecord>,
    new: Option<&CodeRecord>,
    at: DateTime<Utc>,
    expired: bool,
) -> Vec<Event> {
    match (old, new) {
        (o, Some(n)) if o.is_none_or(|o| o.sent_at != n.sent_at || o.hash != n.hash) => {
            vec![contact_event(
                EventType::CodeSent,
                &n.caller,
                &n.contact,
                "code_sent",
                n.sent_at,
                n.sent_at.timestamp_millis(),
            )]
        }
        // A code leaves the table when it is used (the contact is verified) or when it expires.
        (Some(o), None) if !expired => {
            let sequence = at.timestamp_millis().max(o.sent_at.timestamp_millis() + 1);
            vec![contact_event(
                EventType::ContactVerified,
                &o.caller,
                &o.contact,
                "verified",
                at_ms(sequence, at),
                sequence,
            )]
        }
        _ => Vec::new(),
    }
}

/// A contact's change time is its sequence (the stream's time, which may be coarse, kept after the
/// contact's own last time).
fn at_ms(sequence: i64, fallback: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(sequence).unwrap_or(fallback)
}

/// Whether an endpoint's `Events` take this type (`*`: all).
pub fn wanted(filter: &[String], kind: EventType) -> bool {
    filter.iter().any(|f| f == "*" || f == kind.as_str())
}

/// Standard Webhooks 1.0: `v1,` + base64(HMAC-SHA256(key, `id.timestamp.body`)).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine;
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The seconds to wait after a failed attempt (the `attempt`th, from 1) before the next: 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts over 27.6 hours), divided by `scale` (the local stack's
/// `WEBHOOK_RETRY_SCALE`) and rounded up. `None` after the last attempt: the message goes to the
/// dead-letter queue.
pub fn retry_after(attempt: u32, scale: u32) -> Option<u32> {
    const SCHEDULE: [u32; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
    let base = *SCHEDULE.get(attempt.checked_sub(1)? as usize)?;
    Some(base.div_ceil(scale.max(1)))
}

/// The attempts a message gets before the dead-letter queue (the queue's `maxReceiveCount`).
pub const ATTEMPTS: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Delivery, EmailAddress, Lang, TokenHash};

    fn record(version: u64) -> VerificationRecord {
        let t = DateTime::from_timestamp_millis(1_765_000_000_000).unwrap();
        VerificationRecord {
            caller: CallerId::parse("alice").unwrap(),
            email: EmailAddress::parse("a@example.com").unwrap(),
            status: VerificationStatus::Pending,
            verification_no: "0123456789abcdef0123456789abcdef".into(),
            created: t,
            modified: t,
            token_sent: t,
            send_ip: "127.0.0.1".into(),
            confirm_ip: None,
            verified_at: None,
            current_token: TokenHash::from_stored("f".repeat(64)),
            lang: Lang::En,
            version,
            delivery: None,
            domains: Vec::new(),
            deadline: None,
            deadline_missed: None,
            reminders_sent: 0,
            reminders_skipped: 0,
            remind_after_days: Vec::new(),
        }
    }

    fn kinds(
        old: Option<VerificationRecord>,
        new: Option<VerificationRecord>,
    ) -> Vec<&'static str> {
        kinds_of(old, new, false)
    }

    fn kinds_of(
        old: Option<VerificationRecord>,
        new: Option<VerificationRecord>,
        reminded: bool,
    ) -> Vec<&'static str> {
        let change = Change::Record {
            old: old.map(Box::new),
            new: new.map(Box::new),
            at: DateTime::from_timestamp_millis(1_765_000_100_000).unwrap(),
            unsent: [false, false],
            reminded,
        };
        derive(&change).iter().map(|e| e.kind.as_str()).collect()
    }

    /// The spec's published example (the standard-webhooks repository's libraries' tests, e.g.
    /// libraries/python/tests/test_webhooks.py `test_sign_function`).
    #[test]
    fn the_signature_is_the_standard_webhooks_example() {
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn each_change_of_a_record_is_its_event_with_its_version() {
        let sent = record(1);
        assert_eq!(kinds(None, Some(sent.clone())), ["email.verification.sent"]);
        let mut verified = record(2);
        verified.status = VerificationStatus::Verified;
        verified.verified_at = Some(verified.modified);
        assert_eq!(
            kinds(Some(sent.clone()), Some(verified.clone())),
            ["email.verification.verified"]
        );
        let mut resent = record(2);
        resent.token_sent += chrono::Duration::seconds(90);
        assert_eq!(
            kinds(Some(sent.clone()), Some(resent)),
            ["email.verification.sent"]
        );
        let mut reminded = record(2);
        reminded.reminders_sent = 1;
        // The claim of a reminder (its count) is no event; its commit (the new link) is.
        assert!(kinds(Some(sent.clone()), Some(reminded.clone())).is_empty());
        reminded.token_sent += chrono::Duration::days(5);
        assert_eq!(
            kinds_of(Some(sent.clone()), Some(reminded), true),
            ["email.verification.reminded"]
        );
        let mut missed = record(2);
        missed.deadline_missed = Some(missed.modified);
        assert_eq!(
            kinds(Some(sent.clone()), Some(missed)),
            ["email.verification.deadline_missed"]
        );
        let mut bounced = record(2);
        bounced.delivery = Some(Delivery {
            kind: DeliveryKind::HardBounce,
            at: bounced.modified,
        });
        assert_eq!(
            kinds(Some(sent.clone()), Some(bounced)),
            ["email.delivery.bounced"]
        );
        let mut complained = record(2);
        complained.delivery = Some(Delivery {
            kind: DeliveryKind::Complaint,
            at: complained.modified,
        });
        assert_eq!(
            kinds(Some(sent.clone()), Some(complained)),
            ["email.delivery.complained"]
        );
        // A delivery is no event; nor is a write that changed no version (a migration's).
        let mut delivered = record(2);
        delivered.delivery = Some(Delivery {
            kind: DeliveryKind::Delivered,
            at: delivered.modified,
        });
        assert!(kinds(Some(sent.clone()), Some(delivered)).is_empty());
        assert!(kinds(Some(sent.clone()), Some(sent.clone())).is_empty());
        let gone = derive(&Change::Record {
            old: Some(Box::new(verified)),
            new: None,
            at: DateTime::from_timestamp_millis(1_765_000_100_000).unwrap(),
            unsent: [false, false],
            reminded: false,
        });
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].kind, EventType::Deleted);
        assert_eq!(gone[0].sequence, 3);
        assert_eq!(gone[0].body["data"]["status"], "deleted");
    }

    /// A send is reserved, then committed or undone: only the commit is an event (a failed send is none).
    #[test]
    fn a_reservation_and_its_undo_are_no_event_and_its_commit_is_the_send() {
        let at = r_created();
        let change = |old: Option<u64>, new: Option<u64>, unsent| Change::Record {
            old: old.map(|v| Box::new(record(v))),
            new: new.map(|v| Box::new(record(v))),
            at,
            unsent,
            reminded: false,
        };
        assert!(derive(&change(None, Some(1), [false, true])).is_empty());
        assert!(derive(&change(Some(1), None, [true, false])).is_empty());
        let sent = derive(&change(Some(1), Some(1), [true, false]));
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].kind, sent[0].sequence), (EventType::Sent, 1));
    }

    #[test]
    fn the_body_has_the_contracts_members_and_no_token() {
        let mut r = record(1);
        r.deadline = Some(r.created + chrono::Duration::days(15));
        r.domains = vec![crate::model::DomainName::parse("example.com").unwrap()];
        let e = &derive(&Change::Record {
            old: None,
            new: Some(Box::new(r.clone())),
            at: r.created,
            unsent: [false, false],
            reminded: false,
        })[0];
        let text = e.body_text();
        assert!(
            text.starts_with(r#"{"type":"email.verification.sent","timestamp":"2025-12-06T"#),
            "{text}"
        );
        assert_eq!(
            e.body["data"],
            json!({"caller": "alice", "id": r.verification_no, "email": "a@example.com", "status": "pending",
                   "deadline": "2025-12-21T05:46:40.000Z", "domains": ["example.com"], "sequence": 1})
        );
        assert!(!text.contains(r.current_token.as_str()));
        // The same change is the same event (a retried batch): same id; another version, another id.
        let again = &derive(&Change::Record {
            old: None,
            new: Some(Box::new(r.clone())),
            at: r.created,
            unsent: [false, false],
            reminded: false,
        })[0];
        assert_eq!(again.id, e.id);
        r.version = 2;
        let other = &derive(&Change::Record {
            old: None,
            new: Some(Box::new(r)),
            at: r_created(),
            unsent: [false, false],
            reminded: false,
        })[0];
        assert_ne!(other.id, e.id);
    }

    fn r_created() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_765_000_000_000).unwrap()
    }

    #[test]
    fn codes_and_contacts_make_their_events_and_an_expired_code_none() {
        let caller = CallerId::parse("alice").unwrap();
        let contact = Contact::Email(EmailAddress::parse("c@example.com").unwrap());
        let code = CodeRecord {
            caller: caller.clone(),
            contact: contact.clone(),
            hash: "h1".into(),
            attempts: 0,
            sent_at: r_created(),
            expires_at: r_created() + chrono::Duration::minutes(5),
        };
        let at = r_created() + chrono::Duration::seconds(30);
        let sent = derive(&Change::Code {
            old: None,
            new: Some(code.clone()),
            at,
            expired: false,
        });
        assert_eq!(sent[0].kind, EventType::CodeSent);
        assert_eq!(sent[0].body["data"]["contact_type"], 2);
        assert!(!sent[0].body_text().contains("h1"));
        let mut tried = code.clone();
        tried.attempts = 1;
        assert!(derive(&Change::Code {
            old: Some(code.clone()),
            new: Some(tried),
            at,
            expired: false
        })
        .is_empty());
        let used = derive(&Change::Code {
            old: Some(code.clone()),
            new: None,
            at,
            expired: false,
        });
        assert_eq!(used[0].kind, EventType::ContactVerified);
        assert!(used[0].sequence > sent[0].sequence);
        assert!(derive(&Change::Code {
            old: Some(code),
            new: None,
            at,
            expired: true
        })
        .is_empty());
        let record = ContactRecord {
            caller,
            contact,
            created: at,
        };
        assert!(derive(&Change::Contact {
            old: None,
            new: Some(record.clone()),
            at
        })
        .is_empty());
        let deleted = derive(&Change::Contact {
            old: Some(record),
            new: None,
            at: at + chrono::Duration::seconds(1),
        });
        assert_eq!(deleted[0].kind, EventType::ContactDeleted);
        assert_eq!(deleted[0].body["data"]["status"], "deleted");
    }

    #[test]
    fn the_retry_schedule_lasts_a_day_and_shrinks_locally() {
        let total: u32 = (1..ATTEMPTS).map(|a| retry_after(a, 1).unwrap()).sum();
        assert!(total >= 24 * 3600, "{total}");
        assert_eq!(retry_after(ATTEMPTS, 1), None);
        assert_eq!(retry_after(0, 1), None);
        let local: u32 = (1..ATTEMPTS).map(|a| retry_after(a, 1800).unwrap()).sum();
        assert!((30..=90).contains(&local), "{local}");
        assert!(wanted(&["*".into()], EventType::Verified));
        assert!(!wanted(&["contact.verified".into()], EventType::Verified));
    }
}
