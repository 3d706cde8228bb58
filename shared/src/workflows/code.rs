//! Six-digit codes: sending one to a phone (by text) or an address (by mail), and checking the one a person
//! typed. Sending runs the same [send protocol](super::protocol) as links: the reservation spends the quota
//! (and, for a text, the caller's day), the code goes out, and only then is it stored, so a failed send never
//! replaces the code that works and gives back what it spent.

use super::day::{take_day, DayTaken};
use crate::app::App;
use crate::code::{CodeSecret, Contact, VerifyCode};
use crate::config::CODE_MAX_TRIES;
use crate::error::BackendError;
use crate::evidence::{Evidence, Kind, Outcome, Source, Subject};
use crate::mail::{code_sms, Letter, Mailer};
use crate::metrics::{count, Metric};
use crate::model::CallerId;
use crate::quota::QuotaState;
use crate::spend::Daily;
use crate::store::{CodeRecord, Store, WriteError};

use super::protocol::{self, NotReserved, NotSent, Pass, Send3};
use super::Context;

/// A code's message: a mail, or a text to a phone.
enum Outgoing<'a> {
    Mail(crate::mail::OutgoingMail),
    Text(&'a crate::code::PhoneNumber, String),
}

/// Why a code was not sent. Nothing was spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// A text to a country the stack does not send to (`SmsAllowedCountries`).
    CountryNotAllowed,
    /// The contact is verified already.
    ContactVerified,
    /// A mail to an address that hard-bounced or complained.
    Undeliverable,
    /// A mail from a caller whose mail the bounce circuit breaker stopped (`shared::callers`).
    MailSuspended,
    /// The quota refused it.
    Limited { retry_after_seconds: i64 },
    /// The caller sent its texts of the day (`SmsDailyLimitPerCaller`).
    DailyLimit,
    /// The mailer or the text sender did not take it.
    NotHandedOver,
}

/// Why checking a code failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckRefusal {
    /// None was sent, or it was used.
    Missing,
    Expired,
    /// Too many wrong tries.
    Locked,
    Wrong {
        tries_left: u32,
    },
}

/// A code workflow's failure: a refusal, or the store (or the random source) failing.
#[derive(Debug)]
pub enum CodeError<R> {
    Refused(R),
    Backend(BackendError),
}

impl<R> From<BackendError> for CodeError<R> {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

/// One code send's writes, for the protocol.
struct CodeSend<'a, S> {
    store: &'a S,
    caller: &'a CallerId,
    contact: &'a Contact,
    before: QuotaState,
    quota: QuotaState,
    quota_expires_at: chrono::DateTime<chrono::Utc>,
    /// What counts against the caller's day (its texts, or its mails), and the cap; `None` without a cap.
    day: Option<(Daily, u32)>,
    /// Where the day counted this send, to give it back on undo.
    counted: DayTaken,
    record: CodeRecord,
    /// The send's evidence, written with the code once handed over.
    evidence: Evidence,
}

impl<S: Store> CodeSend<'_, S> {
    async fn refund_quota(&self) {
        if let Err(e) = self
            .store
            .refund_code_quota(
                self.caller,
                self.contact,
                &self.before,
                &self.quota,
                self.quota_expires_at,
            )
            .await
        {
            tracing::warn!(error = %crate::error::Chain(&e), "the quota of a code send could not be given back");
        }
    }
}

impl<S: Store> Send3 for CodeSend<'_, S> {
    type Refusal = CodeRefusal;

    async fn reserve(&self) -> Result<(), NotReserved<CodeRefusal>> {
        // The quota is spent before the code goes out (that serialises concurrent sends of a contact).
        match self
            .store
            .spend_code_quota(
                self.caller,
                self.contact,
                &self.quota,
                self.quota_expires_at,
            )
            .await
        {
            Ok(()) => {}
            Err(WriteError::Conflict) => return Err(NotReserved::Conflict),
            Err(WriteError::Backend(e)) => {
                // Spent although the answer was lost? Give it back (conditional on the version).
                self.refund_quota().await;
                return Err(NotReserved::Backend(e));
            }
        }
        // A text or a mail counts against the caller's day, after the quota.
        if let Some((what, cap)) = self.day {
            let now = self.record.sent_at;
            match take_day(self.store, self.caller, what, now, cap).await {
                Ok(Some(shard)) => self.counted.set(now, shard),
                Ok(None) => {
                    self.refund_quota().await;
                    return Err(NotReserved::Refused(match what {
                        Daily::Texts => CodeRefusal::DailyLimit,
                        Daily::Mails => CodeRefusal::Limited {
                            retry_after_seconds: crate::spend::seconds_to_next_day(
                                self.record.sent_at,
                            ),
                        },
                    }));
                }
                Err(e) => {
                    self.refund_quota().await;
                    return Err(NotReserved::Backend(e));
                }
            }
        }
        Ok(())
    }

    async fn undo(&self) {
        self.refund_quota().await;
        if let Some((what, _)) = self.day {
            self.counted.give_back(self.store, self.caller, what).await;
        }
    }

    async fn commit(&self, handed: &protocol::Handed) -> Result<(), BackendError> {
        self.store
            .put_code(&self.record, &self.evidence.handed(handed))
            .await
    }
}

/// Sends a new code to `contact` for `caller`; the previous code works until this one is stored.
#[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
pub async fn send_code<S: Store, M: Mailer>(
    app: &App<S, M>,
    secret: &CodeSecret,
    caller: &CallerId,
    contact: &Contact,
    ctx: &Context,
    action: &'static str,
) -> Result<(), CodeError<CodeRefusal>> {
    if let Contact::Phone(number) = contact {
        if !app.config.sms.allows(number.country().as_deref()) {
            return Err(CodeError::Refused(CodeRefusal::CountryNotAllowed));
        }
    }
    for attempt in 0..protocol::MAX_ATTEMPTS {
        let state = app.store.load_code_send_state(caller, contact).await?;
        if state.verified {
            return Err(CodeError::Refused(CodeRefusal::ContactVerified));
        }
        if state.undeliverable {
            return Err(CodeError::Refused(CodeRefusal::Undeliverable));
        }
        if state.caller.mail_stop.is_some() && matches!(contact, Contact::Email(_)) {
            return Err(CodeError::Refused(CodeRefusal::MailSuspended));
        }
        let now = app.now();
        let quota = state.quota.spend(now, &app.config.quota).map_err(|e| {
            count(Metric::QuotaRefusals, action, "code");
            CodeError::Refused(CodeRefusal::Limited {
                retry_after_seconds: e.retry_after_seconds,
            })
        })?;
        let code = VerifyCode::generate().map_err(BackendError::from)?;
        let hash = secret
            .hash(caller.as_str(), contact, &code)
            .map_err(|e| BackendError::Store(e.to_string()))?;
        // The message is made before anything is spent: one that cannot be made spends nothing.
        let settings = state.caller.settings.as_deref();
        let (message, used) = match contact {
            Contact::Email(to) => {
                let letter = Letter {
                    settings,
                    to,
                    lang: ctx.lang,
                };
                let (mail, used) = letter.code(&code, app.config.code_lifetime)?;
                (Outgoing::Mail(mail.tagged(caller, "code")), used)
            }
            Contact::Phone(to) => {
                let (text, used) = code_sms(
                    settings,
                    ctx.lang,
                    to.as_str(),
                    &code,
                    app.config.code_lifetime,
                )?;
                (Outgoing::Text(to, text), used)
            }
        };
        let send = CodeSend {
            store: &app.store,
            caller,
            contact,
            quota_expires_at: quota.expires_at(&app.config.quota).unwrap_or(now),
            before: state.quota,
            quota,
            day: match (
                contact,
                app.config.sms.daily_cap_per_caller,
                state.caller.mail_per_day(app.config.mail_per_day),
            ) {
                (Contact::Phone(_), Some(cap), _) => Some((Daily::Texts, cap)),
                (Contact::Email(_), _, Some(cap)) => Some((Daily::Mails, cap)),
                _ => None,
            },
            counted: DayTaken::default(),
            evidence: Evidence::new(
                caller,
                Subject::Contact(contact.clone()),
                Kind::CodeSent,
                now,
                &ctx.source(),
                Outcome::Pending,
            )
            .with_template(&used)
            .kept_for(app.config.evidence_retention),
            record: CodeRecord {
                caller: caller.clone(),
                hash,
                contact: contact.clone(),
                attempts: 0,
                sent_at: now,
                expires_at: now + app.config.code_lifetime,
            },
        };
        let pacer = &app.config.send_pacer;
        let pass = match &message {
            Outgoing::Mail(mail) => {
                protocol::run(&send, pacer, ctx.deadline, || app.mailer.send(mail)).await
            }
            Outgoing::Text(to, text) => {
                protocol::run(&send, pacer, ctx.deadline, || async {
                    app.sms.send(to, text).await.map(|()| None)
                })
                .await
            }
        };
        match pass {
            Ok(Pass::Again) => protocol::pause_before_retry(attempt).await,
            Ok(Pass::Sent) => {
                let metric = match contact {
                    Contact::Phone(_) => Metric::TextsSent,
                    Contact::Email(_) => Metric::MailsSent,
                };
                count(metric, action, "code");
                tracing::info!("verification code sent");
                return Ok(());
            }
            Err(NotSent::Refused(r)) => {
                count(Metric::QuotaRefusals, action, "code");
                return Err(CodeError::Refused(r));
            }
            Err(NotSent::NotHandedOver(e)) => {
                tracing::error!(error = %crate::error::Chain(&e), "code could not be sent");
                return Err(CodeError::Refused(match (&e, contact) {
                    (BackendError::Undeliverable(_), Contact::Email(_)) => {
                        CodeRefusal::Undeliverable
                    }
                    _ => CodeRefusal::NotHandedOver,
                }));
            }
            Err(NotSent::Backend(e)) => return Err(CodeError::Backend(e)),
        }
    }
    Err(CodeError::Backend(BackendError::Store(
        "too many conflicting writes".into(),
    )))
}

/// Checks `given` against the code sent to `contact`; when it is right, the contact becomes verified for
/// the caller and the code is used up. The fifth wrong try invalidates the code.
#[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
pub async fn check_code<S: Store, M: Mailer>(
    app: &App<S, M>,
    secret: &CodeSecret,
    caller: &CallerId,
    contact: &Contact,
    given: &VerifyCode,
    action: &'static str,
    source: &Source,
) -> Result<(), CodeError<CheckRefusal>> {
    for _ in 0..protocol::MAX_ATTEMPTS {
        let code = app.store.get_code(caller, contact).await?;
        let code = code.ok_or(CodeError::Refused(CheckRefusal::Missing))?;
        let now = app.now();
        if now >= code.expires_at {
            return Err(CodeError::Refused(CheckRefusal::Expired));
        }
        if code.attempts >= CODE_MAX_TRIES {
            return Err(CodeError::Refused(CheckRefusal::Locked));
        }
        let evidence = |kind, outcome| {
            Evidence::new(
                caller,
                Subject::Contact(contact.clone()),
                kind,
                now,
                source,
                outcome,
            )
            .kept_for(app.config.evidence_retention)
        };
        let written = if secret.verify(caller.as_str(), contact, given, &code.hash) {
            let ev = evidence(Kind::CodeConfirmed, Outcome::Verified);
            app.store
                .consume_code(&code, now, &ev)
                .await
                .map(|()| Ok(()))
        } else {
            let tries_left = CODE_MAX_TRIES - code.attempts - 1;
            let outcome = if tries_left == 0 {
                Outcome::Locked
            } else {
                Outcome::WrongCode
            };
            app.store
                .record_wrong_try(&code, &evidence(Kind::CodeRefused, outcome))
                .await
                .map(|()| Err(CheckRefusal::Wrong { tries_left }))
        };
        match written {
            Ok(Ok(())) => {
                count(Metric::CodesVerified, action, "code");
                tracing::info!("contact verified");
                return Ok(());
            }
            Ok(Err(wrong)) => {
                tracing::info!("wrong code");
                return Err(CodeError::Refused(wrong));
            }
            // Another request used or tried the code meanwhile: read it again.
            Err(WriteError::Conflict) => continue,
            Err(WriteError::Backend(e)) => return Err(CodeError::Backend(e)),
        }
    }
    Err(CodeError::Backend(BackendError::Store(
        "too many conflicting writes".into(),
    )))
}
