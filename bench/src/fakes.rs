//! Stand-ins: a store and a mailer that wait a fixed time per call (a network round trip's stand-in), a
//! mailer that sends nothing, a mailer that keeps each address's last link, and a clock that moves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapters::sms::SmsSender;
use chrono::{DateTime, Utc};
use shared::app::Clock;
use shared::callers::{CallerState, MailOutcomes, MailStop};
use shared::code::{Contact, ContactType};
use shared::error::BackendError;
use shared::mail::{Mailer, OutgoingMail};
use shared::model::{CallerId, EmailAddress, TokenHash, TokenRecord, VerificationRecord};
use shared::quota::QuotaState;
use shared::store::{
    CallerStore, CodeRecord, CodeSendState, CodeStore, ContactRecord, ListFilter, Page, PageQuery,
    ReplayGuard, SendState, SendWrite, Store, VerifyOutcome, WriteError,
};

/// A store that waits `delay` before each call, then asks the inner store. Counts its calls.
#[derive(Clone)]
pub struct DelayStore<S> {
    pub inner: S,
    pub delay: Duration,
    calls: Arc<AtomicU64>,
}

impl<S> DelayStore<S> {
    pub fn new(inner: S, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            calls: Arc::default(),
        }
    }

    /// Calls so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn wait(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.delay).await;
    }
}

impl<S: ReplayGuard> ReplayGuard for DelayStore<S> {
    async fn count_request(
        &self,
        caller: &CallerId,
        second: i64,
        limit: u32,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.count_request(caller, second, limit).await
    }

    async fn read_use(
        &self,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.read_use(key, now, until).await
    }

    async fn first_use(
        &self,
        key: &str,
        now: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.first_use(key, now, until).await
    }
}

impl<S: CallerStore> CallerStore for DelayStore<S> {
    async fn caller_state(&self, caller: &CallerId) -> Result<CallerState, BackendError> {
        self.wait().await;
        self.inner.caller_state(caller).await
    }

    async fn count_mail_outcomes(
        &self,
        caller: &CallerId,
        day: &str,
        add: MailOutcomes,
    ) -> Result<MailOutcomes, BackendError> {
        self.wait().await;
        self.inner.count_mail_outcomes(caller, day, add).await
    }

    async fn stop_caller_mail(
        &self,
        caller: &CallerId,
        stop: &MailStop,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.stop_caller_mail(caller, stop).await
    }

    async fn resume_caller_mail(&self, caller: &CallerId, day: &str) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.resume_caller_mail(caller, day).await
    }

    async fn put_caller_settings(&self, caller: &CallerId, text: &str) -> Result<(), BackendError> {
        self.wait().await;
        self.inner.put_caller_settings(caller, text).await
    }

    async fn caller_settings_text(
        &self,
        caller: &CallerId,
    ) -> Result<Option<String>, BackendError> {
        self.wait().await;
        self.inner.caller_settings_text(caller).await
    }

    async fn delete_caller_settings(&self, caller: &CallerId) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.delete_caller_settings(caller).await
    }

    async fn clear_undeliverable(&self, email: &EmailAddress) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.clear_undeliverable(email).await
    }
}

impl<S: Store> Store for DelayStore<S> {
    async fn load_send_state(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<SendState, BackendError> {
        self.wait().await;
        self.inner.load_send_state(caller, email).await
    }

    async fn reserve_send(&self, write: &SendWrite) -> Result<(), WriteError> {
        self.wait().await;
        self.inner.reserve_send(write).await
    }

    async fn commit_send(&self, write: &SendWrite) -> Result<(), WriteError> {
        self.wait().await;
        self.inner.commit_send(write).await
    }

    async fn undo_send(&self, write: &SendWrite) -> Result<(), BackendError> {
        self.wait().await;
        self.inner.undo_send(write).await
    }

    async fn get_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<Option<VerificationRecord>, BackendError> {
        self.wait().await;
        self.inner.get_record(caller, email).await
    }

    async fn get_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, BackendError> {
        self.wait().await;
        self.inner.get_token(hash).await
    }

    async fn mark_verified(
        &self,
        token: &TokenRecord,
        at: DateTime<Utc>,
        confirm_ip: &str,
        evidence: &shared::evidence::Evidence,
    ) -> Result<VerifyOutcome, BackendError> {
        self.wait().await;
        self.inner
            .mark_verified(token, at, confirm_ip, evidence)
            .await
    }

    async fn list_records(
        &self,
        caller: &CallerId,
        filter: &ListFilter,
        page: &PageQuery,
    ) -> Result<Page<VerificationRecord>, BackendError> {
        self.wait().await;
        self.inner.list_records(caller, filter, page).await
    }

    async fn record_delivery(
        &self,
        event: &shared::delivery::DeliveryEvent,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.record_delivery(event).await
    }

    async fn delete_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
        purge: bool,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.delete_record(caller, email, purge).await
    }

    async fn evidence(
        &self,
        caller: &CallerId,
        subject: &shared::evidence::Subject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<shared::evidence::Entry>, BackendError> {
        self.wait().await;
        self.inner.evidence(caller, subject, from, to).await
    }
}

impl<S: CodeStore> CodeStore for DelayStore<S> {
    async fn load_code_send_state(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<CodeSendState, BackendError> {
        self.wait().await;
        self.inner.load_code_send_state(caller, contact).await
    }

    async fn spend_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        quota: &QuotaState,
        expires: DateTime<Utc>,
    ) -> Result<(), WriteError> {
        self.wait().await;
        self.inner
            .spend_code_quota(caller, contact, quota, expires)
            .await
    }

    async fn refund_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        before: &QuotaState,
        spent: &QuotaState,
        expires: DateTime<Utc>,
    ) -> Result<(), WriteError> {
        self.wait().await;
        self.inner
            .refund_code_quota(caller, contact, before, spent, expires)
            .await
    }

    async fn spend_day(
        &self,
        caller: &CallerId,
        what: shared::spend::Daily,
        day: &str,
        shard: u32,
        cap: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner
            .spend_day(caller, what, day, shard, cap, at)
            .await
    }

    async fn refund_day(
        &self,
        caller: &CallerId,
        what: shared::spend::Daily,
        day: &str,
        shard: u32,
    ) -> Result<(), BackendError> {
        self.wait().await;
        self.inner.refund_day(caller, what, day, shard).await
    }

    async fn put_code(
        &self,
        code: &CodeRecord,
        evidence: &shared::evidence::Evidence,
    ) -> Result<(), BackendError> {
        self.wait().await;
        self.inner.put_code(code, evidence).await
    }

    async fn get_code(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<CodeRecord>, BackendError> {
        self.wait().await;
        self.inner.get_code(caller, contact).await
    }

    async fn record_wrong_try(
        &self,
        code: &CodeRecord,
        evidence: &shared::evidence::Evidence,
    ) -> Result<(), WriteError> {
        self.wait().await;
        self.inner.record_wrong_try(code, evidence).await
    }

    async fn consume_code(
        &self,
        code: &CodeRecord,
        at: DateTime<Utc>,
        evidence: &shared::evidence::Evidence,
    ) -> Result<(), WriteError> {
        self.wait().await;
        self.inner.consume_code(code, at, evidence).await
    }

    async fn list_contacts(
        &self,
        caller: &CallerId,
        kind: Option<ContactType>,
        page: &PageQuery,
    ) -> Result<Page<ContactRecord>, BackendError> {
        self.wait().await;
        self.inner.list_contacts(caller, kind, page).await
    }

    async fn get_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<ContactRecord>, BackendError> {
        self.wait().await;
        self.inner.get_contact(caller, contact).await
    }

    async fn delete_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
        purge: bool,
    ) -> Result<bool, BackendError> {
        self.wait().await;
        self.inner.delete_contact(caller, contact, purge).await
    }
}

/// Text messages into a file of their own under the temporary folder (the email actions send none).
pub fn sms_outbox() -> SmsSender {
    SmsSender::Outbox(
        std::env::temp_dir().join(format!("bench-sms-outbox-{}.jsonl", std::process::id())),
    )
}

/// A mailer that waits `delay`, then drops the mail. Counts the mails.
#[derive(Clone, Default)]
pub struct DelayMailer {
    pub delay: Duration,
    sent: Arc<AtomicU64>,
}

impl DelayMailer {
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            sent: Arc::default(),
        }
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Mailer for DelayMailer {
    async fn send(&self, _mail: &OutgoingMail) -> Result<Option<String>, BackendError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.delay).await;
        Ok(None)
    }
}

/// A mailer that drops every mail at once (the handler's own CPU time, without I/O).
#[derive(Clone, Copy, Default)]
pub struct NoopMailer;

impl Mailer for NoopMailer {
    async fn send(&self, _mail: &OutgoingMail) -> Result<Option<String>, BackendError> {
        Ok(None)
    }
}

/// A mailer that hands each mail to `inner` and keeps the token of the last link sent to each address.
#[derive(Clone)]
pub struct LinkKeeper<M> {
    pub inner: M,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl<M> LinkKeeper<M> {
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            tokens: Arc::default(),
        }
    }

    /// The token of the last link, or the last code, sent to `address` (as normalised by `EmailAddress`).
    pub fn token_for(&self, address: &str) -> Option<String> {
        let key = EmailAddress::parse(address).ok()?.as_str().to_string();
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned()
    }
}

/// The six-digit code in a code mail's text.
pub fn code_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(String::from)
}

/// The token in the first `...?Token=<token>` of a text.
pub fn token_in(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("Token=")?;
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

impl<M: Mailer> Mailer for LinkKeeper<M> {
    async fn send(&self, mail: &OutgoingMail) -> Result<Option<String>, BackendError> {
        let id = self.inner.send(mail).await?;
        // A link mail carries a token, a code mail the code: either is what the next step needs.
        if let Some(token) = token_in(&mail.text).or_else(|| code_in(&mail.text)) {
            self.tokens
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(mail.to.as_str().to_string(), token);
        }
        Ok(id)
    }
}

/// A clock that runs with the system clock, plus an offset the caller moves forward.
#[derive(Clone, Default)]
pub struct MovableClock(Arc<AtomicI64>);

impl MovableClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    pub fn clock(&self) -> Clock {
        let offset = Arc::clone(&self.0);
        Arc::new(move || {
            Utc::now() + chrono::Duration::milliseconds(offset.load(Ordering::Relaxed))
        })
    }
}
