use super::common::{internal, secret, MAX_ATTEMPTS};
use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::{Body, Style};
use shared::app::App;
use shared::code::{Contact, VerifyCode};
use shared::error::BackendError;
use shared::mail::{code_mail, code_sms, Mailer};
use shared::pace::deliver;
use shared::store::{CodeRecord, Store, WriteError};

/// Sends a six-digit code to a mobile number (`Type=1`, by SMS) or an address (`Type=2`, by mail). A new
/// code replaces the previous one. The same quota as the links: 60 s apart, 5 in 24 hours.
pub struct SendIntlPhoneEmailCode;

impl Action for SendIntlPhoneEmailCode {
    const NAME: &'static str = "SendIntlPhoneEmailCode";
    const DYNAMODB: &'static [&'static str] = &["BatchGetItem", "PutItem", "UpdateItem"];
    const STYLE: Style = Style::Tencent;
    const SENDS_MAIL: bool = true;
    const SENDS_SMS: bool = true;
    const USES_CODE_SECRET: bool = true;

    #[tracing::instrument(name = "send_code", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let contact = req.params.contact(req.params.contact_type()?)?;
        let secret = secret(app)?;
        if let Contact::Phone(number) = &contact {
            if !app.config.sms.allows(number.country().as_deref()) {
                return Err(ApiError::SmsCountryNotAllowed);
            }
        }
        for attempt in 0..MAX_ATTEMPTS {
            let state = app
                .store
                .load_code_send_state(caller, &contact)
                .await
                .map_err(internal)?;
            if state.verified {
                return Err(ApiError::ContactVerified);
            }
            if state.undeliverable {
                return Err(ApiError::EmailUndeliverable);
            }
            let now = app.now();
            let quota_before = state.quota.clone();
            let quota = state.quota.spend(now, &app.config.quota).map_err(|e| {
                shared::metrics::count(shared::metrics::Metric::QuotaRefusals, Self::NAME, "code");
                ApiError::CodeSendLimited {
                    retry_after_seconds: e.retry_after_seconds,
                }
            })?;
            let expires = quota.expires_at(&app.config.quota).unwrap_or(now);
            let code = VerifyCode::generate().map_err(|e| internal(e.into()))?;
            let hash = secret
                .hash(caller.as_str(), &contact, &code)
                .map_err(|e| internal(BackendError::Store(e.to_string())))?;
            // The quota is spent before the code goes out (that serialises concurrent sends); the code is
            // stored only once it was handed over, so a failed send never replaces the code that works.
            match app
                .store
                .spend_code_quota(caller, &contact, &quota, expires)
                .await
            {
                Ok(()) => {}
                Err(WriteError::Conflict) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5 * (attempt as u64 + 1)))
                        .await;
                    continue;
                }
                Err(WriteError::Backend(e)) => {
                    // Spent although the answer was lost? Give it back (conditional on the version).
                    let _ = app
                        .store
                        .refund_code_quota(caller, &contact, &quota_before, &quota, expires)
                        .await;
                    return Err(internal(e));
                }
            }
            // A text counts against the caller's day, after the quota (which serialises sends of one contact).
            let day = shared::spend::sms_day(now);
            let counted_day = match (&contact, app.config.sms.daily_cap_per_caller) {
                (Contact::Phone(_), Some(cap)) => {
                    match app.store.spend_sms_day(caller, &day, cap).await {
                        Ok(true) => true,
                        Ok(false) => {
                            let _ = app
                                .store
                                .refund_code_quota(caller, &contact, &quota_before, &quota, expires)
                                .await;
                            shared::metrics::count(
                                shared::metrics::Metric::QuotaRefusals,
                                Self::NAME,
                                "code",
                            );
                            return Err(ApiError::SmsDailyLimit);
                        }
                        Err(e) => {
                            let _ = app
                                .store
                                .refund_code_quota(caller, &contact, &quota_before, &quota, expires)
                                .await;
                            return Err(internal(e));
                        }
                    }
                }
                _ => false,
            };
            let pacer = &app.config.send_pacer;
            let sent = match &contact {
                Contact::Email(to) => match code_mail(to, req.lang, &code) {
                    Ok(mail) => {
                        let mail = mail.tagged(caller, "code");
                        deliver(pacer, req.deadline, || app.mailer.send(&mail)).await
                    }
                    Err(e) => Err(e),
                },
                Contact::Phone(to) => {
                    let text = code_sms(req.lang, &code);
                    deliver(pacer, req.deadline, || app.sms.send(to, &text)).await
                }
            };
            if let Err(e) = sent {
                tracing::error!(error = %e, "code could not be sent");
                // Nothing of this send stays: the code that works still does, and the quota comes back.
                if let Err(e) = app
                    .store
                    .refund_code_quota(caller, &contact, &quota_before, &quota, expires)
                    .await
                {
                    tracing::warn!(error = %e, "the quota of a failed code send could not be given back");
                }
                if counted_day {
                    if let Err(e) = app.store.refund_sms_day(caller, &day).await {
                        tracing::warn!(error = %e, "the day's text count of a failed send could not be given back");
                    }
                }
                if let (BackendError::Undeliverable(_), Contact::Email(_)) = (&e, &contact) {
                    return Err(ApiError::EmailUndeliverable);
                }
                return Err(ApiError::CodeSendFailed);
            }
            let record = CodeRecord {
                caller: caller.clone(),
                hash,
                contact: contact.clone(),
                attempts: 0,
                sent_at: now,
                expires_at: now + app.config.code_lifetime,
            };
            app.store.put_code(&record).await.map_err(internal)?;
            let metric = if matches!(contact, Contact::Phone(_)) {
                shared::metrics::Metric::TextsSent
            } else {
                shared::metrics::Metric::MailsSent
            };
            shared::metrics::count(metric, Self::NAME, "code");
            tracing::info!(contact = %contact.masked(), "verification code sent");
            return Ok(Reply::Api(Body::new()));
        }
        Err(internal(shared::error::BackendError::Store(
            "too many conflicting writes".into(),
        )))
    }
}
