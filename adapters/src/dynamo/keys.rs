//! Every key of the table, in one place. One table, keyed so that no caller's writes share a partition key:
//!
//! | item      | `pk`                                        | other keys                                  | TTL (`ttl`)            |
//! |-----------|---------------------------------------------|---------------------------------------------|------------------------|
//! | record    | `EMAIL#<caller>#<address>`                  | `gsi1pk` = `LIST#<caller>#<shard>`, `gsi1sk` = `<created ms>#<address>` | none |
//! | token     | `TOKEN#<sha256 of token>`                   |                                             | link expiry            |
//! | quota     | `QUOTA#<caller>#<address>`                  |                                             | window after last send |
//! | delivery  | `DELIVERY#<address>` (what SES said, any caller's mail) |                                 | none                   |
//! | code      | `CODE#<caller>#<type>#<contact>`            |                                             | code expiry            |
//! | code quota| `CODEQUOTA#<caller>#<type>#<contact>`       |                                             | window after last send |
//! | contact   | `CONTACT#<caller>#<type>#<contact>`         | `gsi1pk` = `CONTACTS#<caller>#<shard>`, `gsi1sk` = `<created ms>#<type>#<contact>` | none |
//! | SMS day   | `SMSDAY#<caller>#<YYYY-MM-DD>#<shard>` (texts sent that UTC day) |                        | two days past the day  |
//! | mail day  | `MAILDAY#<caller>#<YYYY-MM-DD>#<shard>` (mails sent that UTC day; `shared::spend::DayCount`) |  | two days past the day  |
//! | nonce     | `NONCE#<sha256 of key id and nonce, or of the signature>` |                               | end of its window      |
//! | rate      | `RATE#<caller>#<epoch second>` (requests counted that second) |                          | a minute past the second |
//! | count     | `COUNT#<caller>#<count shard>` (`records`, `verified`, `contacts_1`, `contacts_2`) |     | none                   |
//! | caller    | `CALLER#<caller>` (its settings document `settings`; its mail stop: `mail_stopped_at`, `mail_stop_reason`) | | none |
//! | outcomes  | `OUTCOMES#<caller>#<YYYY-MM-DD>` (`mails`, `bounces`, `complaints` of its SES events that UTC day) | | two days past the day |
//! | layout    | `CONFIG#layout` (`index_shards`)            |                                             | none                   |
//!
//! A record with a deadline (its caller's settings) also carries `due_pk` = `DUE#<shard>` (of [`DUE_SHARDS`])
//! and `due_sk` = `<due ms>#<record pk>` while the deadline sweep has work for it: the sparse index `due`
//! (keys only) holds just those, so a sweep reads what is due and nothing else.
//!
//! A caller id never holds `#`, so the keys cannot collide. The index `gsi1` serves List and Describe; how
//! its entries and the counts are spread is in [`super::layout`]. A record or contact with a `cs` attribute
//! (its count shard) is counted; one without was written before the shards (see [`super::migrate`]).

use chrono::{DateTime, Utc};

use shared::code::Contact;
use shared::model::{CallerId, EmailAddress, TokenHash};
use shared::spend::Daily;

/// Zero-padded epoch milliseconds: text order is time order (the index's sort keys).
pub(crate) fn pad(ms: i64) -> String {
    format!("{:015}", ms.max(0))
}

/// The layout item.
pub(crate) const LAYOUT_PK: &str = "CONFIG#layout";

/// The texts (or mails) one caller sent on one UTC day, and the attribute that counts them.
pub(crate) fn day_pk(
    caller: &CallerId,
    what: Daily,
    day: &str,
    shard: u32,
) -> (String, &'static str) {
    match what {
        Daily::Texts => (format!("SMSDAY#{caller}#{day}#{shard}"), "texts"),
        Daily::Mails => (format!("MAILDAY#{caller}#{day}#{shard}"), "mails"),
    }
}

/// What is kept of a caller as a whole.
pub(crate) fn caller_pk(caller: &CallerId) -> String {
    format!("CALLER#{caller}")
}

/// One caller's mail outcomes (from its SES events) in one UTC day. One key per caller and day: its write
/// rate is the caller's SES events per second, which the account's SES sending rate bounds far below
/// DynamoDB's 1,000 writes per second per key.
pub(crate) fn outcomes_pk(caller: &CallerId, day: &str) -> String {
    format!("OUTCOMES#{caller}#{day}")
}

/// Shards of the due index (`due`): a burst of 5,000 new records a second with a deadline writes about 310
/// a second to each, well under DynamoDB's 1,000 per partition key.
pub const DUE_SHARDS: u32 = 16;

/// The due index's partition of a record (by its key), `DUE#<shard>`.
pub(crate) fn due_pk(record_pk: &str) -> String {
    // FNV-1a: stable across versions and processes.
    let hash = record_pk.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("DUE#{}", hash % u64::from(DUE_SHARDS))
}

/// The due index's sort key: when the work is due (zero-padded ms: text order is time order), then the record.
pub(crate) fn due_sk(at: DateTime<Utc>, record_pk: &str) -> String {
    format!("{}#{record_pk}", pad(at.timestamp_millis()))
}

/// One caller's requests in one UTC second (the shared rate).
pub(crate) fn rate_pk(caller: &CallerId, second: i64) -> String {
    format!("RATE#{caller}#{second}")
}

/// The replay record of one signed request.
pub(crate) fn nonce_pk(key: &str) -> String {
    format!("NONCE#{key}")
}

pub(crate) fn record_pk(caller: &CallerId, email: &EmailAddress) -> String {
    format!("EMAIL#{caller}#{email}")
}

/// What SES said of mail to an address, whoever sent it.
pub(crate) fn delivery_pk(email: &str) -> String {
    format!("DELIVERY#{email}")
}

pub(crate) fn quota_pk(caller: &CallerId, email: &EmailAddress) -> String {
    format!("QUOTA#{caller}#{email}")
}

pub(crate) fn token_pk(hash: &TokenHash) -> String {
    token_pk_of(hash.as_str())
}

/// The same, from the hash's text as a record keeps it.
pub(crate) fn token_pk_of(hash: &str) -> String {
    format!("TOKEN#{hash}")
}

/// Sort key of the list index: creation time first, zero-padded so that text order is time order.
pub(crate) fn list_sk(created: DateTime<Utc>, email: &str) -> String {
    format!("{}#{email}", pad(created.timestamp_millis()))
}

/// Partition key of one shard of a caller's records in the list index.
pub(crate) fn list_pk(caller: &CallerId, shard: u32) -> String {
    format!("LIST#{caller}#{shard}")
}

pub(crate) fn suffix(caller: &CallerId, contact: &Contact) -> String {
    format!("{caller}#{}#{}", contact.kind().code(), contact.as_str())
}

pub(crate) fn code_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CODE#{}", suffix(caller, contact))
}

pub(crate) fn code_quota_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CODEQUOTA#{}", suffix(caller, contact))
}

pub(crate) fn contact_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CONTACT#{}", suffix(caller, contact))
}

pub(crate) fn contacts_gsi_pk(caller: &CallerId, shard: u32) -> String {
    format!("CONTACTS#{caller}#{shard}")
}

/// The count item of one shard of a caller: `records` (all), `verified`, `contacts_1`, `contacts_2`.
pub(crate) fn count_pk(caller: &CallerId, shard: u32) -> String {
    format!("COUNT#{caller}#{shard}")
}
