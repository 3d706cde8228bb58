//! The store port: what the workflows ask of storage, and the values that pass through it.

use std::future::Future;

use chrono::{DateTime, Utc};

pub use crate::code::{CodeRecord, ContactRecord};
pub use crate::paging::{Cursor, Page, PageQuery, PageStart};

use crate::callers::{CallerState, MailOutcomes, MailStop};
use crate::code::{Contact, ContactType};
use crate::error::BackendError;
use crate::evidence::{Entry, Evidence, Subject};
use crate::model::DeliveryEvent;
use crate::model::{
    CallerId, EmailAddress, TokenHash, TokenRecord, VerificationRecord, VerificationStatus,
};
use crate::quota::QuotaState;
use crate::spend::Daily;

/// What a send needs to know: the record (if any) and the quota of this caller and address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendState {
    pub record: Option<VerificationRecord>,
    pub quota: QuotaState,
    /// A hard bounce or a complaint (for any caller's mail) made the address undeliverable.
    pub undeliverable: bool,
    /// The caller as a whole (its mail may be stopped), read at most [`crate::callers::CALLER_CACHE_TTL`] ago.
    pub caller: CallerState,
}

/// One send of a link, in three steps so that a mail that cannot be handed over changes nothing:
/// [`Store::reserve_send`] spends the quota and writes the new link (and a new record) before the mail goes;
/// [`Store::commit_send`], once SES took the mail, makes the new link the record's current one and removes
/// the one it replaces; [`Store::undo_send`], when SES did not, removes what the reservation wrote and gives
/// the quota back. Until the commit, the old link is the one that works.
#[derive(Clone, Debug)]
pub struct SendWrite {
    /// The record as it is after the send; `record.version` is the new version.
    pub record: VerificationRecord,
    /// The version the record was read at; `None`: it must not exist yet (the reservation creates it).
    pub expected_record_version: Option<u64>,
    /// The quota as read, given back by an undo.
    pub quota_before: QuotaState,
    /// The quota to write; `quota.version` is the new version. It must still be at `quota.version - 1`.
    pub quota: QuotaState,
    pub quota_expires_at: DateTime<Utc>,
    pub token: TokenRecord,
    pub replaced_token: Option<TokenHash>,
    /// The send's evidence: written `Pending` by the reservation, completed by the commit (which is given
    /// it as handed over), removed by the undo.
    pub evidence: Evidence,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another request changed the record or the quota since it was read: read again and decide again.
    #[error("conflicting concurrent write")]
    Conflict,
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// What a verification did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The record went from pending to verified now.
    Verified,
    /// The record was verified by this token before: nothing changed.
    AlreadyVerified,
    /// The token is not the record's current one (replaced), or the record is gone.
    Superseded,
}

/// Which records List returns, before paging.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Option<VerificationStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}

impl ListFilter {
    pub fn matches(&self, r: &VerificationRecord) -> bool {
        self.status.is_none_or(|s| s == r.status)
            && self.created_from.is_none_or(|t| r.created >= t)
            && self.created_to.is_none_or(|t| r.created <= t)
    }
}

/// Every store holds both families, links ([`Store`]) and codes ([`CodeStore`]), and what is kept of each
/// caller as a whole ([`CallerStore`]).
pub trait Store: CodeStore + CallerStore + Send + Sync + 'static {
    fn load_send_state(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<SendState, BackendError>> + Send;

    /// Spends the quota and writes the new link; for a new address also the record (pointing at it). An
    /// existing record is only checked to be still at the version read: its current link stays.
    fn reserve_send(
        &self,
        write: &SendWrite,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// The mail was handed over: for an existing record, the new link becomes its current one and the one
    /// it replaces is removed, if the record is still as read (a conflict otherwise: it was verified or
    /// deleted meanwhile). Nothing to do for a new record.
    /// `write.evidence` is the send's entry as the hand-over ended; it replaces the reservation's (written
    /// alone when there is nothing else to commit).
    fn commit_send(&self, write: &SendWrite)
        -> impl Future<Output = Result<(), WriteError>> + Send;

    /// The mail was not handed over: removes the new link (and the new record, if it still holds that link
    /// and is pending) and gives the quota back, if nobody spent it since. Nothing that worked before stops.
    fn undo_send(&self, write: &SendWrite)
        -> impl Future<Output = Result<(), BackendError>> + Send;

    fn get_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<VerificationRecord>, BackendError>> + Send;

    fn get_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<TokenRecord>, BackendError>> + Send;

    /// Marks the token's record verified if the token is still its current one, with `evidence` in the
    /// same write (nothing is written otherwise).
    fn mark_verified(
        &self,
        token: &TokenRecord,
        at: DateTime<Utc>,
        confirm_ip: &str,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<VerifyOutcome, BackendError>> + Send;

    /// One page of a caller's records that match, newest first (by creation time, then address), and how
    /// many match in all. Reads what the page needs, not the caller's whole history.
    fn list_records(
        &self,
        caller: &CallerId,
        filter: &ListFilter,
        page: &PageQuery,
    ) -> impl Future<Output = Result<Page<VerificationRecord>, BackendError>> + Send;

    /// Records what SES said of a mail to an address: the address's own state (undeliverable after a hard
    /// bounce or a complaint, whatever order events come in; deliverable again after a delivery that
    /// happened later than that) and, when the event names its caller, that
    /// caller's record. Idempotent: an event seen before, or older than what is recorded, changes nothing
    /// (`false`).
    fn record_delivery(
        &self,
        event: &DeliveryEvent,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Deletes a record and its current token; `false` if there was none. With `purge`, also the address's
    /// evidence, in the same transaction; `true` then also when only evidence was left to delete.
    fn delete_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
        purge: bool,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// The subject's evidence entries of `from` to `to`, in no particular order (the workflow orders them
    /// and drops what is past the retention).
    fn evidence(
        &self,
        caller: &CallerId,
        subject: &Subject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Entry>, BackendError>> + Send;
}

/// What the doors write before they admit a request: the signed requests the front door has seen (each
/// Alibaba nonce and each Tencent signature is accepted once within its window, with one conditional
/// write), and each caller's requests per second across every function instance.
pub trait ReplayGuard: Send + Sync + 'static {
    /// Counts one request of `caller` in the UTC second `second` (one conditional write). `false`, and
    /// nothing counted, when `limit` requests of that second were already counted.
    fn count_request(
        &self,
        caller: &CallerId,
        second: i64,
        limit: u32,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Records `key` for a read, until `until`: `true` when it is new, or was recorded by reads only
    /// (a read may repeat). A later [`Self::first_use`] of the same key is then refused, so that a
    /// read's signature never serves a write (TC3 does not sign the action).
    fn read_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Records `key` until `until`. `false` when it is already recorded and had not expired by `now`.
    fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// What sending a code needs to know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSendState {
    pub verified: bool,
    pub quota: QuotaState,
    /// An email contact that hard-bounced or complained.
    pub undeliverable: bool,
    /// The caller as a whole, as in [`SendState::caller`].
    pub caller: CallerState,
}

/// What is kept of each caller as a whole, and of each address's deliverability, outside the send path:
/// the bounce circuit breaker ([`crate::callers`]) and the operator's commands.
pub trait CallerStore: Send + Sync + 'static {
    /// What is kept of `caller`; a deployed store may answer from a copy read at most
    /// [`crate::callers::CALLER_CACHE_TTL`] ago.
    fn caller_state(
        &self,
        caller: &CallerId,
    ) -> impl Future<Output = Result<CallerState, BackendError>> + Send;

    /// Adds `add` to the caller's outcomes of the UTC day `day` (`YYYY-MM-DD`) and returns the day's totals.
    fn count_mail_outcomes(
        &self,
        caller: &CallerId,
        day: &str,
        add: MailOutcomes,
    ) -> impl Future<Output = Result<MailOutcomes, BackendError>> + Send;

    /// Stops the caller's mail; `false` when it was already stopped (the first stop is kept).
    fn stop_caller_mail(
        &self,
        caller: &CallerId,
        stop: &MailStop,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// The operator's resume: the caller's mail flows again, and its outcomes of `day` start from zero (or
    /// the next event would stop it again). `false` when it was not stopped.
    fn resume_caller_mail(
        &self,
        caller: &CallerId,
        day: &str,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Stores the caller's settings document (checked by [`crate::settings::CallerSettings::parse`]; its
    /// JSON text as given), replacing any; nothing else of the caller changes.
    fn put_caller_settings(
        &self,
        caller: &CallerId,
        text: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// The caller's settings document as stored, read now (not from a copy).
    fn caller_settings_text(
        &self,
        caller: &CallerId,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Removes the caller's settings (back to the stack's defaults); `false` when it had none.
    fn delete_caller_settings(
        &self,
        caller: &CallerId,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// The operator's clear: the address is deliverable again (until its next hard bounce or complaint).
    /// `false` when it was not undeliverable.
    fn clear_undeliverable(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// Storage of codes and verified contacts (the Tencent-style actions), beside [`Store`].
pub trait CodeStore: Send + Sync + 'static {
    fn load_code_send_state(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> impl Future<Output = Result<CodeSendState, BackendError>> + Send;

    /// Spends the quota of a code send before the code goes out, if nobody spent it since it was read
    /// (`quota.version - 1`). The code itself is written only once it was handed over ([`Self::put_code`]).
    fn spend_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        quota: &QuotaState,
        quota_expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Gives back a quota spent by a send that could not be handed over: `before` again, if the quota is
    /// still at `spent.version`.
    fn refund_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        before: &QuotaState,
        spent: &QuotaState,
        quota_expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Counts one text message or mail of `caller` on `day` (`YYYY-MM-DD`, UTC) in shard `shard` of the
    /// day's count, unless that shard holds `cap` already (`false`). One conditional write, so concurrent
    /// sends never pass the cap together ([`crate::spend::take_day`] chooses the shard). `at` is the
    /// send's time.
    fn spend_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
        cap: u32,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Gives back one counted by [`Self::spend_day`] in `shard` that was not handed over.
    fn refund_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Stores a code that was handed over, with its evidence; the previous one stops working.
    fn put_code(
        &self,
        code: &CodeRecord,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    fn get_code(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> impl Future<Output = Result<Option<CodeRecord>, BackendError>> + Send;

    /// Counts one wrong try, if the code is still as read, with its evidence.
    fn record_wrong_try(
        &self,
        code: &CodeRecord,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Uses the code up and marks its contact verified, if the code is still as read (single use), with
    /// its evidence.
    fn consume_code(
        &self,
        code: &CodeRecord,
        at: DateTime<Utc>,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// One page of a caller's verified contacts of one type or all, newest first (by creation time, then
    /// type and contact), and how many there are in all.
    fn list_contacts(
        &self,
        caller: &CallerId,
        kind: Option<ContactType>,
        page: &PageQuery,
    ) -> impl Future<Output = Result<Page<ContactRecord>, BackendError>> + Send;

    /// One verified contact, if it is verified.
    fn get_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> impl Future<Output = Result<Option<ContactRecord>, BackendError>> + Send;

    /// Deletes a verified contact (and, with `purge`, its evidence, as [`Store::delete_record`]).
    fn delete_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
        purge: bool,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}

/// What the deadline sweep ([`crate::workflows::sweep`]) asks of storage: the records that have work due,
/// and the conditional writes that make each reminder go at most once, even with two sweeps at once or one
/// that dies halfway.
pub trait SweepStore: Send + Sync + 'static {
    /// Records with work due at `now` (a reminder or the deadline), oldest due first, at most `limit`. Its
    /// cost follows what is due, not how many records there are.
    fn due_records(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(CallerId, EmailAddress)>, BackendError>> + Send;

    /// Claims a reminder before its mail goes: `next` (the record as read, with one more reminder sent and
    /// its next due time) is written if the record is still at `read.version`, with the new link `token`.
    /// Once claimed, the reminder is never claimed again: a sweep that dies after this sends it at most once.
    fn reserve_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// The reminder's mail went: its link becomes the record's current one, the replaced one is removed
    /// (a conflict, and the new link removed, if the record was verified or deleted meanwhile).
    fn commit_reminder(
        &self,
        next: &VerificationRecord,
        token: &TokenRecord,
        replaced: &TokenHash,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// The mail did not go: the claim is given back (if nothing changed the record since) and the new link
    /// removed.
    fn undo_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Writes `next` over `read` when the record is still at `read.version` (a reminder passed over, the
    /// deadline marked missed, the due time moved): `false` when another write came first.
    fn advance(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        evidence: Option<&Evidence>,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}
