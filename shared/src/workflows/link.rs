//! Links: sending one (Submit and Resend) and following one (VerifyEmail, by the API or the link page).
//!
//! Sending decides from the record, then runs the [send protocol](super::protocol): the reservation spends
//! the quota and writes the new link, which does not replace the working one yet; the mail is handed to the
//! mailer; the commit makes the new link current, or the undo takes it away and gives the quota back. The
//! reservation names the versions it read, so of many concurrent requests for one address one wins and the
//! others read again and see the spent quota. A mail whose fate is unknown (SES timed out after taking it)
//! is undone like a failed one: the old link keeps working, never two, never none.

use super::day::{take_day, DayTaken};
use crate::app::App;
use crate::error::BackendError;
use crate::evidence::{Evidence, Kind, Outcome, Source, Subject};
use crate::mail::{verification_link, DeadlineNote, Letter, Mailer};
use crate::metrics::{count, Metric};
use crate::model::{
    new_verification_no, CallerId, DeliveryEvent, DeliveryKind, EmailAddress, Token, TokenHash,
    TokenRecord, VerificationRecord, VerificationStatus,
};
use crate::spend::Daily;
use crate::store::{SendWrite, Store, VerifyOutcome, WriteError};

use super::protocol::{self, NotReserved, NotSent, Pass, Send3};
use super::Context;

/// Which action sends, and so what an existing record means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    Submit { send_if_exist: bool },
    Resend,
}

impl SendMode {
    /// The action's name, for the metrics' `Action` dimension.
    pub fn action(self) -> &'static str {
        match self {
            Self::Submit { .. } => "SubmitEmailVerification",
            Self::Resend => "ResendEmailVerification",
        }
    }
}

/// What became of one address of a Submit or Resend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// A new link was mailed.
    Sent,
    /// The address is verified already: nothing sent.
    AlreadyVerified,
    /// Submit without `SendIfExist` on a pending record: nothing sent.
    Pending,
    /// Resend with no record: nothing sent.
    NoRecord,
    /// A hard bounce or a complaint (or SES's suppression list): never mailed again, nothing spent.
    Undeliverable,
    /// The caller's mail is stopped by the bounce circuit breaker (`shared::callers`): nothing spent.
    MailSuspended,
    /// The quota refused it.
    QuotaExceeded { retry_after_seconds: i64 },
    /// The mailer did not take the mail (or was throttled past the time budget): nothing spent.
    NotHandedOver,
    /// The store failed.
    Failed,
}

/// One link send's writes, for the protocol.
struct LinkSend<'a, S> {
    store: &'a S,
    write: SendWrite,
    caller: &'a CallerId,
    /// The caller's cap of mails a day (`MailPerDay`), and the send's time; `None` without a cap.
    mail_day: Option<(u32, chrono::DateTime<chrono::Utc>)>,
    /// Where the day counted this mail (its UTC day and shard), to give it back on undo.
    counted: DayTaken,
}

/// The caller sent its mails of the day (`MailPerDay`).
#[derive(Debug)]
struct MailDayFull;

impl<S: Store> LinkSend<'_, S> {
    async fn refund_day(&self) {
        self.counted
            .give_back(self.store, self.caller, Daily::Mails)
            .await;
    }
}

impl<S: Store> Send3 for LinkSend<'_, S> {
    type Refusal = MailDayFull;

    async fn reserve(&self) -> Result<(), NotReserved<Self::Refusal>> {
        // The caller's day first (one conditional write): a caller over its day spends nothing else.
        if let Some((cap, now)) = self.mail_day {
            match take_day(self.store, self.caller, Daily::Mails, now, cap).await {
                Ok(Some(shard)) => self.counted.set(now, shard),
                Ok(None) => return Err(NotReserved::Refused(MailDayFull)),
                // Not counted, or counted in a shard unknown now: the day may keep one too many, never
                // one too few.
                Err(e) => return Err(NotReserved::Backend(e)),
            }
        }
        match self.store.reserve_send(&self.write).await {
            Ok(()) => Ok(()),
            Err(WriteError::Conflict) => {
                self.refund_day().await;
                Err(NotReserved::Conflict)
            }
            Err(WriteError::Backend(e)) => {
                // The reservation may have been written although its answer was lost: undo it (each part of
                // the undo is conditional, so nothing else is touched if it was not).
                self.undo().await;
                Err(NotReserved::Backend(e))
            }
        }
    }

    async fn undo(&self) {
        if let Err(e) = self.store.undo_send(&self.write).await {
            tracing::error!(error = %crate::error::Chain(&e), "a link send could not be undone");
        }
        self.refund_day().await;
    }

    async fn commit(&self, handed: &protocol::Handed) -> Result<(), BackendError> {
        let mut write = self.write.clone();
        write.evidence = write.evidence.handed(handed);
        match self.store.commit_send(&write).await {
            Ok(()) => Ok(()),
            // Verified or deleted while the mail went: the new link cannot become current, the state stands.
            Err(WriteError::Conflict) => {
                tracing::warn!(
                    token = self.write.token.hash.short(),
                    "the record changed while the mail was sent; its link was not replaced"
                );
                Ok(())
            }
            Err(WriteError::Backend(e)) => Err(e),
        }
    }
}

/// Sends a link to `email` for `caller`, as `mode` says. Every failure is logged here, once.
#[tracing::instrument(skip_all, fields(email = %email.masked(), mode = ?mode))]
pub async fn send_link<S: Store, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    mode: SendMode,
    ctx: &Context,
) -> LinkOutcome {
    match try_send(app, caller, email, mode, ctx).await {
        Ok(outcome) => outcome,
        Err(NotSent::Refused(MailDayFull)) => {
            count(Metric::QuotaRefusals, mode.action(), "link");
            tracing::info!("the caller sent its mails of the day");
            LinkOutcome::QuotaExceeded {
                retry_after_seconds: crate::spend::seconds_to_next_day(app.now()),
            }
        }
        Err(NotSent::NotHandedOver(BackendError::Undeliverable(why))) => {
            tracing::error!(reason = %why, "the mail was refused: the address is suppressed");
            // SES's own suppression list: remembered like a hard bounce, so the next send is refused before
            // it spends anything.
            let event = DeliveryEvent {
                address: email.clone(),
                kind: DeliveryKind::HardBounce,
                at: app.now(),
                caller: Some(caller.clone()),
                family: Some("link".into()),
                reason: why,
            };
            if let Err(e) = app.store.record_delivery(&event).await {
                tracing::error!(error = %crate::error::Chain(&e), "the suppressed address could not be recorded");
            }
            LinkOutcome::Undeliverable
        }
        Err(NotSent::NotHandedOver(e)) => {
            tracing::error!(error = %crate::error::Chain(&e), "the mail was not handed over; nothing was spent");
            LinkOutcome::NotHandedOver
        }
        Err(NotSent::Backend(e)) => {
            tracing::error!(error = %crate::error::Chain(&e), "send failed");
            LinkOutcome::Failed
        }
    }
}

async fn try_send<S: Store, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    mode: SendMode,
    ctx: &Context,
) -> Result<LinkOutcome, NotSent<MailDayFull>> {
    for attempt in 0..protocol::MAX_ATTEMPTS {
        let state = app
            .store
            .load_send_state(caller, email)
            .await
            .map_err(NotSent::Backend)?;
        let existing = match (&state.record, mode) {
            (Some(r), _) if r.status == VerificationStatus::Verified => {
                return Ok(LinkOutcome::AlreadyVerified)
            }
            (
                Some(_),
                SendMode::Submit {
                    send_if_exist: false,
                },
            ) => return Ok(LinkOutcome::Pending),
            (None, SendMode::Resend) => return Ok(LinkOutcome::NoRecord),
            (record, _) => record.clone(),
        };
        // A hard bounce or a complaint: never again, and nothing spent.
        if state.undeliverable {
            return Ok(LinkOutcome::Undeliverable);
        }
        if state.caller.mail_stop.is_some() {
            return Ok(LinkOutcome::MailSuspended);
        }
        let now = app.now();
        let quota_before = state.quota.clone();
        let quota = match state.quota.spend(now, &app.config.quota) {
            Ok(q) => q,
            Err(e) => {
                count(Metric::QuotaRefusals, mode.action(), "link");
                return Ok(LinkOutcome::QuotaExceeded {
                    retry_after_seconds: e.retry_after_seconds,
                });
            }
        };
        let token = Token::generate().map_err(|e| NotSent::Backend(e.into()))?;
        let hash = token.hash();
        // The mail is made before anything is spent: a mail that cannot be made spends nothing.
        let link = verification_link(&ctx.link_base, &token, ctx.lang);
        // The domain names the record will cover after this send: the request's, else the record's.
        let domains = ctx
            .domains
            .clone()
            .or_else(|| existing.as_ref().map(|r| r.domains.clone()))
            .unwrap_or_default();
        let settings = state.caller.settings.as_deref();
        let record = new_record(
            existing.as_ref(),
            caller,
            email,
            hash.clone(),
            now,
            ctx,
            state
                .caller
                .settings
                .as_ref()
                .and_then(|s| s.deadline.as_ref()),
        );
        let letter = Letter {
            settings,
            to: email,
            lang: ctx.lang,
        };
        let deadline = record.deadline.map(|at| DeadlineNote {
            at,
            days_left: record.days_left(now),
        });
        let (mail, used) = letter
            .link(&link, &domains, deadline, app.config.link_lifetime)
            .map_err(NotSent::Backend)?;
        let mail = mail.tagged(caller, "link");
        let kind = match existing {
            None => Kind::Sent,
            Some(_) => Kind::Resent,
        };
        let evidence = Evidence::new(
            caller,
            Subject::Email(email.clone()),
            kind,
            now,
            &ctx.source(),
            Outcome::Pending,
        )
        .with_template(&used)
        .kept_for(app.config.evidence_retention);
        let send = LinkSend {
            store: &app.store,
            caller,
            mail_day: state
                .caller
                .mail_per_day(app.config.mail_per_day)
                .map(|cap| (cap, now)),
            counted: DayTaken::default(),
            write: SendWrite {
                expected_record_version: existing.as_ref().map(|r| r.version),
                quota_before,
                quota_expires_at: quota.expires_at(&app.config.quota).unwrap_or(now),
                quota,
                token: TokenRecord {
                    hash: hash.clone(),
                    caller: caller.clone(),
                    email: email.clone(),
                    lang: ctx.lang,
                    expires_at: now + app.config.link_lifetime,
                    deadline: record.deadline,
                    sender_name: settings
                        .and_then(|s| s.sender.as_ref())
                        .and_then(|s| s.name.clone()),
                },
                replaced_token: existing.as_ref().map(|r| r.current_token.clone()),
                record,
                evidence,
            },
        };
        let hand_over = || app.mailer.send(&mail);
        match protocol::run(&send, &app.config.send_pacer, ctx.deadline, hand_over).await? {
            Pass::Again => {
                tracing::debug!(attempt, "lost a race; reading again");
                protocol::pause_before_retry(attempt).await;
            }
            Pass::Sent => {
                count(Metric::MailsSent, mode.action(), "link");
                tracing::info!(token = hash.short(), "verification mail sent");
                return Ok(LinkOutcome::Sent);
            }
        }
    }
    Err(NotSent::Backend(BackendError::Store(format!(
        "gave up after {} conflicting writes",
        protocol::MAX_ATTEMPTS
    ))))
}

/// The record as this send leaves it: the old one with a new link, or a new pending one.
/// The record after this send. A new record takes the caller's deadline (its `Days` after now) and its
/// reminder days; an existing one keeps its own.
fn new_record(
    old: Option<&VerificationRecord>,
    caller: &CallerId,
    email: &EmailAddress,
    hash: TokenHash,
    now: chrono::DateTime<chrono::Utc>,
    ctx: &Context,
    deadline: Option<&crate::settings::Deadline>,
) -> VerificationRecord {
    match old {
        Some(old) => VerificationRecord {
            modified: now,
            token_sent: now,
            send_ip: ctx.client_ip.clone(),
            current_token: hash,
            lang: ctx.lang,
            version: old.version + 1,
            domains: ctx.domains.clone().unwrap_or_else(|| old.domains.clone()),
            ..old.clone()
        },
        None => VerificationRecord {
            caller: caller.clone(),
            email: email.clone(),
            status: VerificationStatus::Pending,
            verification_no: new_verification_no(),
            created: now,
            modified: now,
            token_sent: now,
            send_ip: ctx.client_ip.clone(),
            confirm_ip: None,
            verified_at: None,
            current_token: hash,
            lang: ctx.lang,
            version: 1,
            delivery: None,
            domains: ctx.domains.clone().unwrap_or_default(),
            deadline: deadline.map(|d| now + chrono::Duration::days(i64::from(d.days))),
            deadline_missed: None,
            reminders_sent: 0,
            reminders_skipped: 0,
            remind_after_days: deadline
                .map(|d| d.remind_after_days.clone())
                .unwrap_or_default(),
        },
    }
}

/// Why a link did not verify its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Unknown, another caller's, or replaced by a newer link.
    Invalid,
    Expired,
}

/// What following a link failed on.
#[derive(Debug)]
pub enum VerifyError {
    Refused(LinkRefusal),
    Backend(BackendError),
}

impl From<BackendError> for VerifyError {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

/// Checks the link's token and marks its record verified; returns the token's record. With `caller`
/// (the API), only that caller's links count; without (the public page), any link does. The verification
/// is kept as evidence (`LinkOpened` on the page, `Verified` by the API) from `source`.
#[tracing::instrument(skip_all)]
pub async fn verify_link<S: Store, M: Mailer>(
    app: &App<S, M>,
    token: &Token,
    caller: Option<&CallerId>,
    source: &Source,
) -> Result<TokenRecord, VerifyError> {
    let client_ip = source.ip.as_deref().unwrap_or_default();
    let hash = token.hash();
    let found = app.store.get_token(&hash).await?;
    // Another caller's token is answered as unknown: its existence is not revealed.
    let Some(found) = found.filter(|t| caller.is_none_or(|c| c == &t.caller)) else {
        tracing::info!(token = hash.short(), "unknown token");
        return Err(VerifyError::Refused(LinkRefusal::Invalid));
    };
    let now = app.now();
    if found.is_expired(now) {
        // A link that verified its address stays a success after its 72 hours: opening it changes nothing.
        let record = app.store.get_record(&found.caller, &found.email).await?;
        if record
            .is_some_and(|r| r.status == VerificationStatus::Verified && r.current_token == hash)
        {
            tracing::info!(
                token = hash.short(),
                "verified link opened after its expiry; nothing changed"
            );
            return Ok(found);
        }
        tracing::info!(token = hash.short(), "expired token");
        return Err(VerifyError::Refused(LinkRefusal::Expired));
    }
    let late = found.deadline.is_some_and(|d| now > d);
    let evidence = Evidence::new(
        &found.caller,
        Subject::Email(found.email.clone()),
        if caller.is_some() {
            Kind::Verified
        } else {
            Kind::LinkOpened
        },
        now,
        source,
        if late {
            Outcome::VerifiedLate
        } else {
            Outcome::Verified
        },
    )
    .kept_for(app.config.evidence_retention);
    match app
        .store
        .mark_verified(&found, now, client_ip, &evidence)
        .await?
    {
        VerifyOutcome::Verified => {
            count(Metric::LinksVerified, "VerifyEmail", "link");
            tracing::info!(token = hash.short(), email = %found.email.masked(), "address verified");
            Ok(found)
        }
        VerifyOutcome::AlreadyVerified => {
            tracing::info!(token = hash.short(), "link opened again; nothing changed");
            Ok(found)
        }
        VerifyOutcome::Superseded => {
            tracing::info!(token = hash.short(), "replaced token");
            Err(VerifyError::Refused(LinkRefusal::Invalid))
        }
    }
}
