//! Sending a link, shared by Submit and Resend: decide from the record, reserve (spend the quota and write
//! the new link, which does not replace the working one yet), hand the mail to the mailer, then commit (the
//! new link replaces the old one) or, when SES did not take the mail, undo (the new link goes, the quota
//! comes back). The reservation names the versions it read, so of many concurrent requests for one address
//! one wins and the others read again and see the spent quota. A mail whose fate is unknown (SES timed out
//! after taking it) is undone like a failed one: the old link keeps working, never two, never none.

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::action::Request;
use crate::error::{ApiError, ItemCode};
use crate::messages::Msg;
use crate::params::EmailList;
use crate::render::Body;
use shared::app::App;
use shared::error::BackendError;
use shared::mail::{verification_link, verification_mail, Mailer};
use shared::model::{
    new_verification_no, CallerId, EmailAddress, Token, TokenRecord, VerificationRecord,
    VerificationStatus,
};
use shared::pace::deliver;
use shared::store::{SendWrite, Store, WriteError};

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

/// Where an address ends up in the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Exist(ItemCode, Msg),
    Fail(ItemCode, Msg),
}

/// A write that keeps losing races is given up after this many reads.
const MAX_ATTEMPTS: usize = 8;

#[tracing::instrument(skip_all, fields(email = %email.masked(), mode = ?mode))]
pub async fn send_one<S: Store, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    mode: SendMode,
    req: &Request,
) -> Outcome {
    match try_send(app, caller, email, mode, req).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, "send failed");
            match e {
                BackendError::Undeliverable(why) => {
                    // SES's own suppression list: remembered like a hard bounce, so the next send is refused
                    // before it spends anything.
                    let event = shared::delivery::DeliveryEvent {
                        address: email.clone(),
                        kind: shared::delivery::DeliveryKind::HardBounce,
                        at: app.now(),
                        caller: Some(caller.clone()),
                        family: Some("link".into()),
                        reason: why,
                    };
                    if let Err(e) = app.store.record_delivery(&event).await {
                        tracing::error!(error = %e, "the suppressed address could not be recorded");
                    }
                    Outcome::Fail(ItemCode::EmailUndeliverable, Msg::EmailUndeliverable)
                }
                BackendError::Mail(_) | BackendError::Throttled(_) => {
                    Outcome::Fail(ItemCode::NetworkIOError, Msg::NetworkIo)
                }
                _ => Outcome::Fail(ItemCode::InternalError, Msg::Internal),
            }
        }
    }
}

async fn try_send<S: Store, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    mode: SendMode,
    req: &Request,
) -> Result<Outcome, BackendError> {
    for attempt in 0..MAX_ATTEMPTS {
        let state = app.store.load_send_state(caller, email).await?;
        let existing = match (&state.record, mode) {
            (Some(r), _) if r.status == VerificationStatus::Verified => {
                return Ok(match mode {
                    SendMode::Submit { .. } => {
                        Outcome::Exist(ItemCode::EmailVerified, Msg::EmailVerified)
                    }
                    SendMode::Resend => Outcome::Fail(ItemCode::EmailVerified, Msg::EmailVerified),
                });
            }
            (
                Some(_),
                SendMode::Submit {
                    send_if_exist: false,
                },
            ) => {
                return Ok(Outcome::Exist(
                    ItemCode::EmailVerificationExist,
                    Msg::EmailVerificationExist,
                ));
            }
            (None, SendMode::Resend) => {
                return Ok(Outcome::Fail(
                    ItemCode::EmailVerificationNotExist,
                    Msg::EmailVerificationNotExist,
                ));
            }
            (record, _) => record.clone(),
        };
        // A hard bounce or a complaint: never again, and nothing spent.
        if state.undeliverable {
            return Ok(Outcome::Fail(
                ItemCode::EmailUndeliverable,
                Msg::EmailUndeliverable,
            ));
        }
        let now = app.now();
        let quota_before = state.quota.clone();
        let quota = match state.quota.spend(now, &app.config.quota) {
            Ok(q) => q,
            Err(e) => {
                shared::metrics::count(
                    shared::metrics::Metric::QuotaRefusals,
                    mode.action(),
                    "link",
                );
                return Ok(Outcome::Fail(
                    ItemCode::SendTokenQuotaExceeded,
                    Msg::QuotaExceeded {
                        retry_after_seconds: e.retry_after_seconds,
                    },
                ));
            }
        };
        let token = Token::generate()?;
        let hash = token.hash();
        let record = match &existing {
            Some(old) => VerificationRecord {
                modified: now,
                token_sent: now,
                send_ip: req.client_ip.clone(),
                current_token: hash.clone(),
                lang: req.lang,
                version: old.version + 1,
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
                send_ip: req.client_ip.clone(),
                confirm_ip: None,
                verified_at: None,
                current_token: hash.clone(),
                lang: req.lang,
                version: 1,
                delivery: None,
            },
        };
        let write = SendWrite {
            expected_record_version: existing.as_ref().map(|r| r.version),
            quota_before,
            quota_expires_at: quota.expires_at(&app.config.quota).unwrap_or(now),
            quota,
            token: TokenRecord {
                hash: hash.clone(),
                caller: caller.clone(),
                email: email.clone(),
                lang: req.lang,
                expires_at: now + app.config.link_lifetime,
            },
            replaced_token: existing.as_ref().map(|r| r.current_token.clone()),
            record,
        };
        match app.store.reserve_send(&write).await {
            Ok(()) => {}
            Err(WriteError::Conflict) => {
                tracing::debug!(attempt, "lost a race; reading again");
                // A short, growing pause spreads out the retries of many concurrent requests.
                tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt as u64 + 1)))
                    .await;
                continue;
            }
            Err(WriteError::Backend(e)) => {
                // The reservation may have been written although its answer was lost: undo it (each part of
                // the undo is conditional, so nothing else is touched if it was not).
                if let Err(undo) = app.store.undo_send(&write).await {
                    tracing::error!(error = %undo, "a reservation of unknown outcome could not be undone");
                }
                return Err(e);
            }
        }
        let link = verification_link(&req.link_base, &token, req.lang);
        let sent = match verification_mail(email, req.lang, &link) {
            Ok(mail) => {
                let mail = mail.tagged(caller, "link");
                deliver(&app.config.send_pacer, req.deadline, || {
                    app.mailer.send(&mail)
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            // Nothing of this send stays: the old link works, and the quota is given back.
            if let Err(undo) = app.store.undo_send(&write).await {
                tracing::error!(error = %undo, "the failed send could not be undone");
            }
            return Err(e);
        }
        match app.store.commit_send(&write).await {
            Ok(()) => {}
            // Verified or deleted while the mail went: the new link cannot become current, the state stands.
            Err(WriteError::Conflict) => tracing::warn!(
                token = hash.short(),
                "the record changed while the mail was sent; its link was not replaced"
            ),
            Err(WriteError::Backend(e)) => return Err(e),
        }
        shared::metrics::count(shared::metrics::Metric::MailsSent, mode.action(), "link");
        tracing::info!(token = hash.short(), "verification mail sent");
        return Ok(Outcome::Success);
    }
    Err(BackendError::Store(format!(
        "gave up after {MAX_ATTEMPTS} conflicting writes"
    )))
}

/// Serves every address of a Submit or Resend, a bounded number at once, and builds the lists.
pub async fn send_all<S: Store, M: Mailer>(
    app: &App<S, M>,
    req: &Request,
    list: EmailList,
    mode: SendMode,
) -> Result<Body, ApiError> {
    let caller = req.caller()?;
    let outcomes: Vec<(EmailAddress, Outcome)> = stream::iter(list.valid)
        .map(|email| async move {
            let outcome = send_one(app, caller, &email, mode, req).await;
            (email, outcome)
        })
        .buffered(app.config.send_concurrency)
        .collect()
        .await;
    let (mut success, mut fail, mut exist) = (Vec::new(), Vec::new(), Vec::new());
    for raw in &list.invalid {
        fail.push(super::items::outcome_item(
            raw,
            ItemCode::ParameterIllegal,
            &Msg::InvalidEmail,
            req.lang,
        ));
    }
    for (email, outcome) in outcomes {
        let email = email.as_str();
        match outcome {
            Outcome::Success => success.push(super::items::outcome_item(
                email,
                ItemCode::Success,
                &Msg::Success,
                req.lang,
            )),
            Outcome::Exist(code, msg) => {
                exist.push(super::items::outcome_item(email, code, &msg, req.lang))
            }
            Outcome::Fail(code, msg) => {
                fail.push(super::items::outcome_item(email, code, &msg, req.lang))
            }
        }
    }
    let mut body = Body::new();
    body.insert("SuccessList".into(), Value::Array(success));
    body.insert("FailList".into(), Value::Array(fail));
    if matches!(mode, SendMode::Submit { .. }) {
        body.insert("ExistList".into(), json!(exist));
    }
    Ok(body)
}
