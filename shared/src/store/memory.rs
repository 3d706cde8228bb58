//! An in-memory store for fast unit tests of the actions. One lock makes every write atomic, and the same
//! version checks as DynamoDB's conditions make lost races conflicts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::port::{
    CallerStore, CodeRecord, CodeSendState, CodeStore, ContactRecord, ListFilter, Page, PageQuery,
    ReplayGuard, SendState, SendWrite, Store, SweepStore, VerifyOutcome, WriteError,
};
use crate::callers::{CallerState, MailOutcomes, MailStop};
use crate::code::{Contact, ContactType};
use crate::error::BackendError;
use crate::evidence::{Entry, Evidence, Subject};
use crate::model::DeliveryEvent;
use crate::model::{
    CallerId, EmailAddress, TokenHash, TokenRecord, VerificationRecord, VerificationStatus,
};
use crate::model::{Delivery, DeliveryKind};
use crate::paging::{page_of, Cursor};
use crate::quota::QuotaState;
use crate::spend::Daily;

type Key = (CallerId, EmailAddress);

/// What is known of mail to one address: the last SES event (kind, time), and since when it is
/// undeliverable (the event's time), if it is.
type DeliveryState = (Option<(DeliveryKind, DateTime<Utc>)>, Option<DateTime<Utc>>);

#[derive(Default)]
struct Tables {
    records: HashMap<Key, VerificationRecord>,
    quotas: HashMap<Key, QuotaState>,
    tokens: HashMap<TokenHash, TokenRecord>,
    codes: HashMap<(CallerId, Contact), CodeRecord>,
    code_quotas: HashMap<(CallerId, Contact), QuotaState>,
    contacts: HashMap<(CallerId, Contact), ContactRecord>,
    /// Each replay record's expiry, and whether only reads used it.
    nonces: HashMap<String, (DateTime<Utc>, bool)>,
    days: HashMap<(CallerId, Daily, String, u32), u32>,
    /// Requests per caller per UTC second (the shared rate).
    requests: HashMap<(CallerId, i64), u32>,
    /// Per address: the last event's kind and time, and whether it is undeliverable.
    deliveries: HashMap<EmailAddress, DeliveryState>,
    callers: HashMap<CallerId, CallerState>,
    /// Each caller's settings document as stored.
    settings_text: HashMap<CallerId, String>,
    /// Per caller and UTC day: its mails' outcomes.
    outcomes: HashMap<(CallerId, String), MailOutcomes>,
    /// Per caller and subject (its key): the evidence entries by id.
    evidence: HashMap<(CallerId, String), std::collections::BTreeMap<String, Entry>>,
}

impl Tables {
    fn put_evidence(&mut self, ev: &Evidence) {
        self.evidence
            .entry((ev.caller.clone(), ev.subject.key()))
            .or_default()
            .insert(ev.entry.id.clone(), ev.entry.clone());
    }

    fn remove_evidence(&mut self, ev: &Evidence) {
        if let Some(log) = self
            .evidence
            .get_mut(&(ev.caller.clone(), ev.subject.key()))
        {
            log.remove(&ev.entry.id);
        }
    }

    /// Removes a subject's evidence; whether there was any.
    fn purge(&mut self, caller: &CallerId, subject: &Subject) -> bool {
        self.evidence
            .remove(&(caller.clone(), subject.key()))
            .is_some_and(|log| !log.is_empty())
    }
}

#[derive(Clone, Default)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Tables>, BackendError> {
        self.tables
            .lock()
            .map_err(|_| BackendError::Store("memory store lock poisoned".into()))
    }

    /// How many token items are stored (tests check that replaced tokens are removed).
    pub fn token_count(&self) -> usize {
        self.tables.lock().map(|t| t.tokens.len()).unwrap_or(0)
    }
}

fn key(caller: &CallerId, email: &EmailAddress) -> Key {
    (caller.clone(), email.clone())
}

impl Store for MemoryStore {
    async fn load_send_state(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<SendState, BackendError> {
        let t = self.lock()?;
        let k = key(caller, email);
        Ok(SendState {
            record: t.records.get(&k).cloned(),
            quota: t.quotas.get(&k).cloned().unwrap_or_default(),
            undeliverable: t.deliveries.get(email).is_some_and(|d| d.1.is_some()),
            caller: t.callers.get(caller).cloned().unwrap_or_default(),
        })
    }

    async fn reserve_send(&self, w: &SendWrite) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        let k = key(&w.record.caller, &w.record.email);
        let record_version = t.records.get(&k).map(|r| r.version);
        let quota_version = t.quotas.get(&k).map_or(0, |q| q.version);
        if record_version != w.expected_record_version
            || quota_version + 1 != w.quota.version
            || t.tokens.contains_key(&w.token.hash)
        {
            return Err(WriteError::Conflict);
        }
        if w.expected_record_version.is_none() {
            t.records.insert(k.clone(), w.record.clone());
        }
        t.quotas.insert(k, w.quota.clone());
        t.tokens.insert(w.token.hash.clone(), w.token.clone());
        t.put_evidence(&w.evidence);
        Ok(())
    }

    async fn commit_send(&self, w: &SendWrite) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        // The message went (or may have): its entry is completed even when the record moved on.
        t.put_evidence(&w.evidence);
        if w.expected_record_version.is_none() {
            return Ok(());
        }
        let k = key(&w.record.caller, &w.record.email);
        let current = match t.records.get(&k) {
            Some(r) if r.status == VerificationStatus::Pending => r.current_token.clone(),
            _ => {
                t.tokens.remove(&w.token.hash);
                return Err(WriteError::Conflict);
            }
        };
        // The latest commit wins, whichever link was current.
        t.tokens.remove(&current);
        if let Some(r) = t.records.get_mut(&k) {
            r.current_token = w.token.hash.clone();
            r.token_sent = w.record.token_sent;
            r.modified = w.record.modified;
            r.send_ip = w.record.send_ip.clone();
            r.lang = w.record.lang;
            r.version += 1;
        }
        Ok(())
    }

    async fn undo_send(&self, w: &SendWrite) -> Result<(), BackendError> {
        let mut t = self.lock()?;
        let k = key(&w.record.caller, &w.record.email);
        t.tokens.remove(&w.token.hash);
        t.remove_evidence(&w.evidence);
        if w.expected_record_version.is_none()
            && t.records.get(&k).is_some_and(|r| {
                r.current_token == w.token.hash && r.status == VerificationStatus::Pending
            })
        {
            t.records.remove(&k);
        }
        if t.quotas
            .get(&k)
            .is_some_and(|q| q.version == w.quota.version)
        {
            t.quotas.insert(
                k,
                QuotaState {
                    sends: w.quota_before.sends.clone(),
                    version: w.quota.version + 1,
                },
            );
        }
        Ok(())
    }

    async fn get_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<Option<VerificationRecord>, BackendError> {
        Ok(self.lock()?.records.get(&key(caller, email)).cloned())
    }

    async fn get_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, BackendError> {
        Ok(self.lock()?.tokens.get(hash).cloned())
    }

    async fn mark_verified(
        &self,
        token: &TokenRecord,
        at: DateTime<Utc>,
        confirm_ip: &str,
        evidence: &Evidence,
    ) -> Result<VerifyOutcome, BackendError> {
        let mut t = self.lock()?;
        let Some(r) = t.records.get_mut(&key(&token.caller, &token.email)) else {
            return Ok(VerifyOutcome::Superseded);
        };
        if r.current_token != token.hash {
            return Ok(VerifyOutcome::Superseded);
        }
        if r.status == VerificationStatus::Verified {
            return Ok(VerifyOutcome::AlreadyVerified);
        }
        r.status = VerificationStatus::Verified;
        r.verified_at = Some(at);
        r.confirm_ip = Some(confirm_ip.to_string());
        r.modified = at;
        r.version += 1;
        t.put_evidence(evidence);
        Ok(VerifyOutcome::Verified)
    }

    async fn list_records(
        &self,
        caller: &CallerId,
        filter: &ListFilter,
        page: &PageQuery,
    ) -> Result<Page<VerificationRecord>, BackendError> {
        let t = self.lock()?;
        let mut out: Vec<VerificationRecord> = t
            .records
            .values()
            .filter(|r| &r.caller == caller && filter.matches(r))
            .cloned()
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(Cursor::from(r)));
        Ok(page_of(out, page))
    }

    async fn record_delivery(&self, e: &DeliveryEvent) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let entry = t.deliveries.entry(e.address.clone()).or_default();
        let mut changed = false;
        if e.kind.makes_undeliverable() && entry.1.is_none() {
            entry.1 = Some(e.at);
            changed = true;
        }
        // A later delivery shows the address works again.
        if e.kind == DeliveryKind::Delivered && entry.1.is_some_and(|since| since < e.at) {
            entry.1 = None;
            changed = true;
        }
        if entry.0.is_none_or(|(_, at)| at < e.at) {
            entry.0 = Some((e.kind, e.at));
            changed = true;
        }
        if let Some(r) = e
            .caller
            .as_ref()
            .and_then(|c| t.records.get_mut(&key(c, &e.address)))
        {
            if r.delivery.as_ref().is_none_or(|d| d.at < e.at) {
                r.delivery = Some(Delivery {
                    kind: e.kind,
                    at: e.at,
                });
                changed = true;
            }
        }
        Ok(changed)
    }

    async fn delete_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
        purge: bool,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let purged = purge && t.purge(caller, &Subject::Email(email.clone()));
        match t.records.remove(&key(caller, email)) {
            Some(r) => {
                t.tokens.remove(&r.current_token);
                Ok(true)
            }
            None => Ok(purged),
        }
    }

    async fn evidence(
        &self,
        caller: &CallerId,
        subject: &Subject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Entry>, BackendError> {
        Ok(self
            .lock()?
            .evidence
            .get(&(caller.clone(), subject.key()))
            .map(|log| {
                log.values()
                    .filter(|e| e.at >= from && e.at <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl CallerStore for MemoryStore {
    async fn caller_state(&self, caller: &CallerId) -> Result<CallerState, BackendError> {
        Ok(self
            .lock()?
            .callers
            .get(caller)
            .cloned()
            .unwrap_or_default())
    }

    async fn count_mail_outcomes(
        &self,
        caller: &CallerId,
        day: &str,
        add: MailOutcomes,
    ) -> Result<MailOutcomes, BackendError> {
        let mut t = self.lock()?;
        let day = t
            .outcomes
            .entry((caller.clone(), day.to_string()))
            .or_default();
        day.mails += add.mails;
        day.bounces += add.bounces;
        day.complaints += add.complaints;
        Ok(*day)
    }

    async fn stop_caller_mail(
        &self,
        caller: &CallerId,
        stop: &MailStop,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let state = t.callers.entry(caller.clone()).or_default();
        if state.mail_stop.is_some() {
            return Ok(false);
        }
        state.mail_stop = Some(stop.clone());
        Ok(true)
    }

    async fn resume_caller_mail(&self, caller: &CallerId, day: &str) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        t.outcomes.remove(&(caller.clone(), day.to_string()));
        Ok(t.callers
            .get_mut(caller)
            .and_then(|s| s.mail_stop.take())
            .is_some())
    }

    async fn put_caller_settings(&self, caller: &CallerId, text: &str) -> Result<(), BackendError> {
        let settings = crate::settings::CallerSettings::parse(text)
            .map_err(|p| BackendError::Store(format!("settings not checked: {}", p[0])))?;
        let mut t = self.lock()?;
        t.settings_text.insert(caller.clone(), text.to_string());
        t.callers.entry(caller.clone()).or_default().settings = Some(Arc::new(settings));
        Ok(())
    }

    async fn caller_settings_text(
        &self,
        caller: &CallerId,
    ) -> Result<Option<String>, BackendError> {
        Ok(self.lock()?.settings_text.get(caller).cloned())
    }

    async fn delete_caller_settings(&self, caller: &CallerId) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        if let Some(state) = t.callers.get_mut(caller) {
            state.settings = None;
        }
        Ok(t.settings_text.remove(caller).is_some())
    }

    async fn clear_undeliverable(&self, email: &EmailAddress) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        Ok(t.deliveries
            .get_mut(email)
            .and_then(|d| d.1.take())
            .is_some())
    }
}

fn ckey(caller: &CallerId, contact: &Contact) -> (CallerId, Contact) {
    (caller.clone(), contact.clone())
}

impl CodeStore for MemoryStore {
    async fn load_code_send_state(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<CodeSendState, BackendError> {
        let t = self.lock()?;
        let k = ckey(caller, contact);
        let undeliverable = match contact {
            Contact::Email(a) => t.deliveries.get(a).is_some_and(|d| d.1.is_some()),
            Contact::Phone(_) => false,
        };
        Ok(CodeSendState {
            verified: t.contacts.contains_key(&k),
            quota: t.code_quotas.get(&k).cloned().unwrap_or_default(),
            undeliverable,
            caller: t.callers.get(caller).cloned().unwrap_or_default(),
        })
    }

    async fn spend_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        quota: &QuotaState,
        _expires: DateTime<Utc>,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        let k = ckey(caller, contact);
        if t.code_quotas.get(&k).map_or(0, |q| q.version) + 1 != quota.version {
            return Err(WriteError::Conflict);
        }
        t.code_quotas.insert(k, quota.clone());
        Ok(())
    }

    async fn refund_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        before: &QuotaState,
        spent: &QuotaState,
        _expires: DateTime<Utc>,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        let k = ckey(caller, contact);
        if t.code_quotas.get(&k).map_or(0, |q| q.version) != spent.version {
            return Err(WriteError::Conflict);
        }
        t.code_quotas.insert(
            k,
            QuotaState {
                sends: before.sends.clone(),
                version: spent.version + 1,
            },
        );
        Ok(())
    }

    async fn put_code(&self, code: &CodeRecord, evidence: &Evidence) -> Result<(), BackendError> {
        let mut t = self.lock()?;
        t.codes
            .insert(ckey(&code.caller, &code.contact), code.clone());
        t.put_evidence(evidence);
        Ok(())
    }

    async fn get_code(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<CodeRecord>, BackendError> {
        Ok(self.lock()?.codes.get(&ckey(caller, contact)).cloned())
    }

    async fn record_wrong_try(
        &self,
        code: &CodeRecord,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        match t.codes.get_mut(&ckey(&code.caller, &code.contact)) {
            Some(c) if c.hash == code.hash && c.attempts == code.attempts => {
                c.attempts += 1;
                t.put_evidence(evidence);
                Ok(())
            }
            _ => Err(WriteError::Conflict),
        }
    }

    async fn consume_code(
        &self,
        code: &CodeRecord,
        at: DateTime<Utc>,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        let k = ckey(&code.caller, &code.contact);
        match t.codes.get(&k) {
            Some(c) if c.hash == code.hash && c.attempts == code.attempts => {
                t.codes.remove(&k);
                t.contacts.entry(k).or_insert_with(|| ContactRecord {
                    caller: code.caller.clone(),
                    contact: code.contact.clone(),
                    created: at,
                });
                t.put_evidence(evidence);
                Ok(())
            }
            _ => Err(WriteError::Conflict),
        }
    }

    async fn spend_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
        cap: u32,
        _at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let n = t
            .days
            .entry((caller.clone(), what, day.to_string(), shard))
            .or_default();
        if *n >= cap {
            return Ok(false);
        }
        *n += 1;
        Ok(true)
    }

    async fn refund_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
    ) -> Result<(), BackendError> {
        if let Some(n) = self
            .lock()?
            .days
            .get_mut(&(caller.clone(), what, day.to_string(), shard))
        {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }

    async fn list_contacts(
        &self,
        caller: &CallerId,
        kind: Option<ContactType>,
        page: &PageQuery,
    ) -> Result<Page<ContactRecord>, BackendError> {
        let t = self.lock()?;
        let mut out: Vec<ContactRecord> = t
            .contacts
            .values()
            .filter(|c| &c.caller == caller && kind.is_none_or(|k| c.contact.kind() == k))
            .cloned()
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(Cursor::from(c)));
        Ok(page_of(out, page))
    }

    async fn get_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<ContactRecord>, BackendError> {
        Ok(self.lock()?.contacts.get(&ckey(caller, contact)).cloned())
    }

    async fn delete_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
        purge: bool,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let purged = purge && t.purge(caller, &Subject::Contact(contact.clone()));
        Ok(t.contacts.remove(&ckey(caller, contact)).is_some() || purged)
    }
}

impl ReplayGuard for MemoryStore {
    async fn count_request(
        &self,
        caller: &CallerId,
        second: i64,
        limit: u32,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        t.requests.retain(|(_, s), _| *s >= second - 60);
        let n = t.requests.entry((caller.clone(), second)).or_insert(0);
        if *n >= limit {
            return Ok(false);
        }
        *n += 1;
        Ok(true)
    }

    async fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        match t.nonces.get(key) {
            Some((expires, _)) if *expires >= now => Ok(false),
            _ => {
                t.nonces.insert(key.to_string(), (until, false));
                Ok(true)
            }
        }
    }

    async fn read_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        match t.nonces.get(key) {
            Some((expires, false)) if *expires >= now => Ok(false),
            _ => {
                t.nonces.insert(key.to_string(), (until, true));
                Ok(true)
            }
        }
    }
}

impl SweepStore for MemoryStore {
    async fn due_records(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(CallerId, EmailAddress)>, BackendError> {
        let t = self.lock()?;
        let mut due: Vec<(DateTime<Utc>, Key)> = t
            .records
            .iter()
            .filter_map(|(k, r)| {
                r.next_due()
                    .filter(|(_, at)| *at <= now)
                    .map(|(_, at)| (at, k.clone()))
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().take(limit).map(|(_, k)| k).collect())
    }

    async fn reserve_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        let k = key(&read.caller, &read.email);
        if t.records.get(&k).map(|r| r.version) != Some(read.version)
            || t.tokens.contains_key(&token.hash)
        {
            return Err(WriteError::Conflict);
        }
        t.put_evidence(evidence);
        // Claimed; the link it replaces stays current until the commit.
        let mut claimed = next.clone();
        claimed.current_token = read.current_token.clone();
        claimed.token_sent = read.token_sent;
        t.records.insert(k, claimed);
        t.tokens.insert(token.hash.clone(), token.clone());
        Ok(())
    }

    async fn commit_reminder(
        &self,
        next: &VerificationRecord,
        token: &TokenRecord,
        replaced: &TokenHash,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let mut t = self.lock()?;
        t.put_evidence(evidence);
        let k = key(&next.caller, &next.email);
        match t.records.get_mut(&k) {
            Some(r) if r.status == VerificationStatus::Pending && &r.current_token == replaced => {
                r.current_token = token.hash.clone();
                r.token_sent = next.token_sent;
                r.modified = next.modified;
                r.version += 1;
                t.tokens.remove(replaced);
                Ok(())
            }
            _ => {
                t.tokens.remove(&token.hash);
                Err(WriteError::Conflict)
            }
        }
    }

    async fn undo_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> Result<(), BackendError> {
        let mut t = self.lock()?;
        t.tokens.remove(&token.hash);
        t.remove_evidence(evidence);
        if let Some(r) = t.records.get_mut(&key(&read.caller, &read.email)) {
            if r.reminders_sent == next.reminders_sent && r.current_token == read.current_token {
                r.reminders_sent = read.reminders_sent;
                r.version += 1;
            }
        }
        Ok(())
    }

    async fn advance(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        evidence: Option<&Evidence>,
    ) -> Result<bool, BackendError> {
        let mut t = self.lock()?;
        let k = key(&read.caller, &read.email);
        if t.records.get(&k).map(|r| r.version) != Some(read.version) {
            return Ok(false);
        }
        t.records.insert(k, next.clone());
        if let Some(ev) = evidence {
            t.put_evidence(ev);
        }
        Ok(true)
    }
}
