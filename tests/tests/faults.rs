//! Issue 9, defect 1: a failed send leaves everything as it was. The same DynamoDB table is served by two
//! applications in this process: one with the real SES emulator and SMS outbox, one whose SES client points
//! at a port where nothing listens and whose SMS outbox cannot be written. A send through the second must
//! keep the old link or code working, spend no quota, and leave no second link; a retry through the first
//! must then succeed.

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use adapters::sms::SmsSender;
use api::action::{Action, Reply, Request};
use api::actions::{
    CreateIntlPhoneEmail, ResendEmailVerification, SendIntlPhoneEmailCode, SubmitEmailVerification,
    VerifyEmail,
};
use api::error::ApiError;
use api::params::Params;
use chrono::Duration;
use serde_json::Value;
use shared::app::{App, Config};
use shared::code::{Contact, ContactType};
use shared::model::{CallerId, EmailAddress};
use shared::store::{CodeStore, Store};
use stack_tests::*;

fn request(caller: &str, pairs: &[(&str, &str)]) -> Request {
    Request::new(
        Params::from_pairs(pairs.iter().copied()),
        CallerId::parse(caller).ok(),
        "192.0.2.1",
        false,
    )
    .expect("valid request")
    .with_link_base(env("PUBLIC_BASE_URL"))
}

async fn run<A: Action>(
    app: &App<DynamoStore, SesMailer>,
    req: &Request,
) -> Result<Value, ApiError> {
    match A::handle(app, req).await? {
        Reply::Api(body) => Ok(Value::Object(body)),
        Reply::Page { html, .. } => Ok(Value::String(html)),
    }
}

fn codes(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["Code"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The working application and the one whose mail and SMS fail, on the same table and clock.
async fn apps(clock: &TestClock) -> (App<DynamoStore, SesMailer>, App<DynamoStore, SesMailer>) {
    let good = local_app(clock).await;
    let dead = aws_config::from_env()
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    let config = Config::from_env().unwrap();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&dead), &config.sender);
    let mut bad = app_with_mailer(config, clock, &aws_config::load_from_env().await, mailer);
    bad.sms = SmsSender::Outbox("/nonexistent-directory/sms-outbox.jsonl".into()).into();
    (good, bad)
}

async fn link_sends(app: &App<DynamoStore, SesMailer>, caller: &str, address: &str) -> usize {
    let state = app
        .store
        .load_send_state(
            &CallerId::parse(caller).unwrap(),
            &EmailAddress::parse(address).unwrap(),
        )
        .await
        .unwrap();
    state.quota.sends.len()
}

async fn token_items(caller: &str) -> usize {
    items_of(caller)
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#")))
        .count()
}

#[tokio::test]
async fn a_failed_resend_keeps_the_old_link_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-resend"), fresh_address());
    run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let old = token_of(&link_in(&mails_to(&address)[0]));
    let sent_at = good
        .store
        .get_record(
            &CallerId::parse(&caller).unwrap(),
            &EmailAddress::parse(&address).unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .token_sent;
    clock.advance(Duration::seconds(61));

    let out = run::<ResendEmailVerification>(&bad, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    assert_eq!(
        link_sends(&good, &caller, &address).await,
        1,
        "the failed send spent no quota"
    );
    assert_eq!(
        token_items(&caller).await,
        1,
        "no second link was left behind"
    );
    let record = good
        .store
        .get_record(
            &CallerId::parse(&caller).unwrap(),
            &EmailAddress::parse(&address).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.token_sent, sent_at, "TokenSendTime claims no send");
    // The old link still works.
    run::<VerifyEmail>(&good, &request(&caller, &[("Token", &old)]))
        .await
        .expect("the old link still verifies");
}

#[tokio::test]
async fn failed_resends_never_lock_an_address_out_and_a_retry_succeeds() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-lockout"), fresh_address());
    run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    for _ in 0..6 {
        clock.advance(Duration::seconds(61));
        let out = run::<ResendEmailVerification>(&bad, &request(&caller, &[("Email", &address)]))
            .await
            .unwrap();
        assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    }
    // Submit with SendIfExist=true takes the same path.
    let out = run::<SubmitEmailVerification>(
        &bad,
        &request(&caller, &[("Email", &address), ("SendIfExist", "true")]),
    )
    .await
    .unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    let out = run::<ResendEmailVerification>(&good, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    assert_eq!(codes(&out, "SuccessList"), ["Success"], "{out}");
    assert_eq!(link_sends(&good, &caller, &address).await, 2);
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 2);
    let (old, new) = (token_of(&link_in(&mails[0])), token_of(&link_in(&mails[1])));
    assert_eq!(
        run::<VerifyEmail>(&good, &request(&caller, &[("Token", &old)]))
            .await
            .unwrap_err(),
        ApiError::TokenInvalid
    );
    run::<VerifyEmail>(&good, &request(&caller, &[("Token", &new)]))
        .await
        .expect("the new link verifies");
    assert_eq!(token_items(&caller).await, 1);
}

#[tokio::test]
async fn a_failed_first_submit_leaves_nothing_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-new"), fresh_address());
    let out = run::<SubmitEmailVerification>(&bad, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    assert_eq!(
        link_sends(&good, &caller, &address).await,
        0,
        "the failed send spent no quota"
    );
    // No record, no link; the quota and the caller's mail count of the day (MailPerDay) given back.
    for item in items_of(&caller).await {
        let quota = item["pk"].as_s().unwrap().starts_with("QUOTA#");
        assert!(quota || is_empty_day_count(&item), "{item:?}");
    }
    // At once, without waiting for the interval: nothing was spent.
    let out = run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    assert_eq!(codes(&out, "SuccessList"), ["Success"], "{out}");
}

async fn code_sends(app: &App<DynamoStore, SesMailer>, caller: &str, contact: &Contact) -> usize {
    app.store
        .load_code_send_state(&CallerId::parse(caller).unwrap(), contact)
        .await
        .unwrap()
        .quota
        .sends
        .len()
}

#[tokio::test]
async fn a_failed_code_send_keeps_the_old_code_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    for (kind, contact) in [("2", fresh_address()), ("1", fresh_phone())] {
        let caller = unique("fault-code");
        let parsed = Contact::parse(
            if kind == "1" {
                ContactType::Phone
            } else {
                ContactType::Email
            },
            &contact,
        )
        .unwrap();
        let send = request(&caller, &[("Type", kind), ("Code", &contact)]);
        run::<SendIntlPhoneEmailCode>(&good, &send).await.unwrap();
        let first = if kind == "1" {
            code_in(&texts_to(&contact)[0])
        } else {
            code_in(&mails_to(&contact)[0].text)
        };
        clock.advance(Duration::seconds(61));
        assert_eq!(
            run::<SendIntlPhoneEmailCode>(&bad, &send)
                .await
                .unwrap_err(),
            ApiError::CodeSendFailed,
            "type {kind}"
        );
        assert_eq!(
            code_sends(&good, &caller, &parsed).await,
            1,
            "type {kind}: the failed send spent no quota"
        );
        // The code that was delivered still works.
        run::<CreateIntlPhoneEmail>(
            &good,
            &request(
                &caller,
                &[("Type", kind), ("Code", &contact), ("VerifyCode", &first)],
            ),
        )
        .await
        .unwrap_or_else(|e| {
            panic!("type {kind}: the delivered code was destroyed by a failed send: {e:?}")
        });
    }
}

#[tokio::test]
async fn a_failed_code_send_is_retried_at_once() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-code-retry"), fresh_address());
    let send = request(&caller, &[("Type", "2"), ("Code", &address)]);
    for _ in 0..6 {
        assert_eq!(
            run::<SendIntlPhoneEmailCode>(&bad, &send)
                .await
                .unwrap_err(),
            ApiError::CodeSendFailed
        );
    }
    run::<SendIntlPhoneEmailCode>(&good, &send)
        .await
        .expect("nothing was spent by the failures");
    let code = code_in(&mails_to(&address)[0].text);
    run::<CreateIntlPhoneEmail>(
        &good,
        &request(
            &caller,
            &[("Type", "2"), ("Code", &address), ("VerifyCode", &code)],
        ),
    )
    .await
    .unwrap();
}

/// A mailer that throttles (SES's TooManyRequests) the first attempt for each address, or every attempt,
/// and notes when each attempt came (tokio's clock, which the test pauses).
#[derive(Clone, Default)]
struct ThrottlingMailer {
    always: bool,
    attempts: std::sync::Arc<std::sync::Mutex<Vec<(String, tokio::time::Instant)>>>,
}

impl shared::mail::Mailer for ThrottlingMailer {
    async fn send(
        &self,
        mail: &shared::mail::OutgoingMail,
    ) -> Result<Option<String>, shared::error::BackendError> {
        let mut attempts = self.attempts.lock().unwrap();
        let first = !attempts.iter().any(|(to, _)| to == mail.to.as_str());
        attempts.push((mail.to.as_str().to_string(), tokio::time::Instant::now()));
        if self.always || first {
            return Err(shared::error::BackendError::Throttled(
                "TooManyRequestsException: Maximum sending rate exceeded".into(),
            ));
        }
        Ok(None)
    }
}

fn paced_app(
    mailer: ThrottlingMailer,
    per_second: f64,
) -> App<shared::store::MemoryStore, ThrottlingMailer> {
    let mut config = Config::from_env().unwrap();
    config.send_pacer = shared::pace::SendPacer::new(per_second);
    App {
        store: shared::store::MemoryStore::new(),
        mailer,
        sms: SmsSender::None.into(),
        code_secret: None,
        config,
        clock: shared::app::system_clock(),
    }
}

/// Issue 9, defect 2: a Submit of many addresses hands its mails over at no more than `MaxSendRate` a
/// second, and a throttled mail is tried again within the time budget instead of failing.
#[tokio::test(start_paused = true)]
async fn mails_go_out_at_the_max_send_rate_and_throttled_ones_are_tried_again() {
    let mailer = ThrottlingMailer::default();
    let app = paced_app(mailer.clone(), 10.0);
    let addresses: Vec<String> = (0..30).map(|_| fresh_address()).collect();
    let out = match SubmitEmailVerification::handle(
        &app,
        &request("paced", &[("Email", &addresses.join(","))]),
    )
    .await
    .unwrap()
    {
        Reply::Api(body) => Value::Object(body),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes(&out, "SuccessList").len(), 30, "{out}");
    let times: Vec<tokio::time::Instant> = mailer
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(times.len(), 60, "each address throttled once, then sent");
    let mut sorted = times.clone();
    sorted.sort();
    for w in sorted.windows(11) {
        assert!(
            w[10] - w[0] >= std::time::Duration::from_secs(1),
            "more than 10 attempts within one second"
        );
    }
}

/// What cannot be handed over within the budget fails as NetworkIOError, and spends nothing.
#[tokio::test(start_paused = true)]
async fn mails_still_throttled_at_the_end_of_the_budget_fail_and_spend_nothing() {
    let mailer = ThrottlingMailer {
        always: true,
        ..Default::default()
    };
    let mut app = paced_app(mailer, 10.0);
    app.config.send_budget = std::time::Duration::from_secs(5);
    let addresses: Vec<String> = (0..3).map(|_| fresh_address()).collect();
    let out = match SubmitEmailVerification::handle(
        &app,
        &request("throttled", &[("Email", &addresses.join(","))]),
    )
    .await
    .unwrap()
    {
        Reply::Api(body) => Value::Object(body),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"; 3], "{out}");
    for a in &addresses {
        let state = app
            .store
            .load_send_state(
                &CallerId::parse("throttled").unwrap(),
                &EmailAddress::parse(a).unwrap(),
            )
            .await
            .unwrap();
        assert!(
            state.record.is_none() && state.quota.sends.is_empty(),
            "nothing left, nothing spent: {state:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fault injection at every step: a store that fails its k-th call, either before doing anything ("before")
// or after doing it ("after": the write happened, its answer was lost). Every action is run with k = 1, 2, …
// until it makes fewer calls than k; after each failure the state must be consistent, and a retry (no
// failure, the clock moved past the interval) must succeed.

mod failing {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use chrono::{DateTime, Utc};
    use shared::callers::{CallerState, MailOutcomes, MailStop};
    use shared::code::{Contact, ContactType};
    use shared::error::BackendError;
    use shared::model::{CallerId, EmailAddress, TokenHash, TokenRecord, VerificationRecord};
    use shared::quota::QuotaState;
    use shared::store::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum When {
        Before,
        After,
    }

    #[derive(Clone)]
    pub struct FailingStore {
        pub inner: MemoryStore,
        calls: Arc<AtomicUsize>,
        fail_at: Arc<AtomicUsize>,
        when: When,
    }

    impl FailingStore {
        pub fn new(inner: MemoryStore, when: When) -> Self {
            Self {
                inner,
                calls: Arc::default(),
                fail_at: Arc::default(),
                when,
            }
        }
        /// Fail the `k`-th call from now (1-based); 0: never.
        pub fn arm(&self, k: usize) {
            self.calls.store(0, Ordering::SeqCst);
            self.fail_at.store(k, Ordering::SeqCst);
        }
        pub fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
        fn hit(&self) -> bool {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            n == self.fail_at.load(Ordering::SeqCst)
        }
        fn injected() -> BackendError {
            BackendError::Store("injected failure".into())
        }
    }

    /// Runs one store call with the injected failure before or after it.
    macro_rules! step {
        ($self:ident, $call:expr, $err:expr) => {{
            let fail = $self.hit();
            if fail && $self.when == When::Before {
                return Err($err);
            }
            let out = $call.await;
            if fail {
                return Err($err);
            }
            out
        }};
    }

    impl Store for FailingStore {
        async fn load_send_state(
            &self,
            c: &CallerId,
            e: &EmailAddress,
        ) -> Result<SendState, BackendError> {
            step!(self, self.inner.load_send_state(c, e), Self::injected())
        }
        async fn reserve_send(&self, w: &SendWrite) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.reserve_send(w),
                WriteError::Backend(Self::injected())
            )
        }
        async fn commit_send(&self, w: &SendWrite) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.commit_send(w),
                WriteError::Backend(Self::injected())
            )
        }
        async fn undo_send(&self, w: &SendWrite) -> Result<(), BackendError> {
            step!(self, self.inner.undo_send(w), Self::injected())
        }
        async fn get_record(
            &self,
            c: &CallerId,
            e: &EmailAddress,
        ) -> Result<Option<VerificationRecord>, BackendError> {
            step!(self, self.inner.get_record(c, e), Self::injected())
        }
        async fn get_token(&self, h: &TokenHash) -> Result<Option<TokenRecord>, BackendError> {
            step!(self, self.inner.get_token(h), Self::injected())
        }
        async fn mark_verified(
            &self,
            t: &TokenRecord,
            at: DateTime<Utc>,
            ip: &str,
            ev: &shared::evidence::Evidence,
        ) -> Result<VerifyOutcome, BackendError> {
            step!(
                self,
                self.inner.mark_verified(t, at, ip, ev),
                Self::injected()
            )
        }
        async fn list_records(
            &self,
            c: &CallerId,
            f: &ListFilter,
            p: &PageQuery,
        ) -> Result<Page<VerificationRecord>, BackendError> {
            step!(self, self.inner.list_records(c, f, p), Self::injected())
        }
        async fn record_delivery(
            &self,
            e: &shared::delivery::DeliveryEvent,
        ) -> Result<bool, BackendError> {
            step!(self, self.inner.record_delivery(e), Self::injected())
        }
        async fn delete_record(
            &self,
            c: &CallerId,
            e: &EmailAddress,
            purge: bool,
        ) -> Result<bool, BackendError> {
            step!(
                self,
                self.inner.delete_record(c, e, purge),
                Self::injected()
            )
        }
        async fn evidence(
            &self,
            c: &CallerId,
            s: &shared::evidence::Subject,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<shared::evidence::Entry>, BackendError> {
            step!(self, self.inner.evidence(c, s, from, to), Self::injected())
        }
    }

    impl CallerStore for FailingStore {
        async fn caller_state(&self, c: &CallerId) -> Result<CallerState, BackendError> {
            step!(self, self.inner.caller_state(c), Self::injected())
        }
        async fn count_mail_outcomes(
            &self,
            c: &CallerId,
            day: &str,
            add: MailOutcomes,
        ) -> Result<MailOutcomes, BackendError> {
            step!(
                self,
                self.inner.count_mail_outcomes(c, day, add),
                Self::injected()
            )
        }
        async fn stop_caller_mail(&self, c: &CallerId, s: &MailStop) -> Result<bool, BackendError> {
            step!(self, self.inner.stop_caller_mail(c, s), Self::injected())
        }
        async fn resume_caller_mail(&self, c: &CallerId, day: &str) -> Result<bool, BackendError> {
            step!(
                self,
                self.inner.resume_caller_mail(c, day),
                Self::injected()
            )
        }
        async fn put_caller_settings(&self, c: &CallerId, t: &str) -> Result<(), BackendError> {
            step!(self, self.inner.put_caller_settings(c, t), Self::injected())
        }
        async fn caller_settings_text(&self, c: &CallerId) -> Result<Option<String>, BackendError> {
            step!(self, self.inner.caller_settings_text(c), Self::injected())
        }
        async fn delete_caller_settings(&self, c: &CallerId) -> Result<bool, BackendError> {
            step!(self, self.inner.delete_caller_settings(c), Self::injected())
        }
        async fn clear_undeliverable(&self, e: &EmailAddress) -> Result<bool, BackendError> {
            step!(self, self.inner.clear_undeliverable(e), Self::injected())
        }
    }

    impl CodeStore for FailingStore {
        async fn load_code_send_state(
            &self,
            c: &CallerId,
            k: &Contact,
        ) -> Result<CodeSendState, BackendError> {
            step!(
                self,
                self.inner.load_code_send_state(c, k),
                Self::injected()
            )
        }
        async fn spend_code_quota(
            &self,
            c: &CallerId,
            k: &Contact,
            q: &QuotaState,
            x: DateTime<Utc>,
        ) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.spend_code_quota(c, k, q, x),
                WriteError::Backend(Self::injected())
            )
        }
        async fn refund_code_quota(
            &self,
            c: &CallerId,
            k: &Contact,
            b: &QuotaState,
            s: &QuotaState,
            x: DateTime<Utc>,
        ) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.refund_code_quota(c, k, b, s, x),
                WriteError::Backend(Self::injected())
            )
        }
        async fn spend_day(
            &self,
            c: &CallerId,
            w: shared::spend::Daily,
            d: &str,
            shard: u32,
            cap: u32,
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<bool, BackendError> {
            step!(
                self,
                self.inner.spend_day(c, w, d, shard, cap, at),
                Self::injected()
            )
        }
        async fn refund_day(
            &self,
            c: &CallerId,
            w: shared::spend::Daily,
            d: &str,
            shard: u32,
        ) -> Result<(), BackendError> {
            step!(
                self,
                self.inner.refund_day(c, w, d, shard),
                Self::injected()
            )
        }
        async fn put_code(
            &self,
            code: &CodeRecord,
            ev: &shared::evidence::Evidence,
        ) -> Result<(), BackendError> {
            step!(self, self.inner.put_code(code, ev), Self::injected())
        }
        async fn get_code(
            &self,
            c: &CallerId,
            k: &Contact,
        ) -> Result<Option<CodeRecord>, BackendError> {
            step!(self, self.inner.get_code(c, k), Self::injected())
        }
        async fn record_wrong_try(
            &self,
            code: &CodeRecord,
            ev: &shared::evidence::Evidence,
        ) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.record_wrong_try(code, ev),
                WriteError::Backend(Self::injected())
            )
        }
        async fn consume_code(
            &self,
            code: &CodeRecord,
            at: DateTime<Utc>,
            ev: &shared::evidence::Evidence,
        ) -> Result<(), WriteError> {
            step!(
                self,
                self.inner.consume_code(code, at, ev),
                WriteError::Backend(Self::injected())
            )
        }
        async fn list_contacts(
            &self,
            c: &CallerId,
            k: Option<ContactType>,
            p: &PageQuery,
        ) -> Result<Page<ContactRecord>, BackendError> {
            step!(self, self.inner.list_contacts(c, k, p), Self::injected())
        }
        async fn get_contact(
            &self,
            c: &CallerId,
            k: &Contact,
        ) -> Result<Option<ContactRecord>, BackendError> {
            step!(self, self.inner.get_contact(c, k), Self::injected())
        }
        async fn delete_contact(
            &self,
            c: &CallerId,
            k: &Contact,
            purge: bool,
        ) -> Result<bool, BackendError> {
            step!(
                self,
                self.inner.delete_contact(c, k, purge),
                Self::injected()
            )
        }
    }
}

/// A mailer that keeps every mail (in memory) and can be told to fail.
#[derive(Clone, Default)]
struct KeptMail {
    mails: std::sync::Arc<std::sync::Mutex<Vec<shared::mail::OutgoingMail>>>,
}

impl shared::mail::Mailer for KeptMail {
    async fn send(
        &self,
        mail: &shared::mail::OutgoingMail,
    ) -> Result<Option<String>, shared::error::BackendError> {
        self.mails.lock().unwrap().push(mail.clone());
        Ok(None)
    }
}

impl KeptMail {
    fn to(&self, address: &str) -> Vec<shared::mail::OutgoingMail> {
        self.mails
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.as_str() == address)
            .cloned()
            .collect()
    }
}

fn failing_app(
    when: failing::When,
    clock: &TestClock,
) -> (
    App<failing::FailingStore, KeptMail>,
    failing::FailingStore,
    KeptMail,
) {
    let store = failing::FailingStore::new(shared::store::MemoryStore::new(), when);
    let mailer = KeptMail::default();
    let c = clock.clone();
    let app = App {
        store: store.clone(),
        mailer: mailer.clone(),
        sms: SmsSender::None.into(),
        code_secret: Some(
            shared::code::CodeSecret::new(env("CODE_HMAC_SECRET").into_bytes()).unwrap(),
        ),
        config: Config::from_env().unwrap(),
        clock: std::sync::Arc::new(move || c.now()),
    };
    (app, store, mailer)
}

async fn answer<A: Action, S: shared::store::Store, M: shared::mail::Mailer>(
    app: &App<S, M>,
    req: &Request,
) -> Result<Value, ApiError> {
    match A::handle(app, req).await? {
        Reply::Api(body) => Ok(Value::Object(body)),
        Reply::Page { html, .. } => Ok(Value::String(html)),
    }
}

/// The links of the mails to `address`, newest last.
fn tokens_mailed(mailer: &KeptMail, address: &str) -> Vec<String> {
    mailer
        .to(address)
        .iter()
        .map(|m| {
            token_of(
                m.text
                    .split_whitespace()
                    .find(|w| w.contains("Token="))
                    .unwrap_or(""),
            )
        })
        .collect()
}

/// After any failure: if a record exists, its current link exists and is one of those mailed (a live link
/// someone received), and the quota counts no more sends than mails went out.
async fn consistent(
    store: &shared::store::MemoryStore,
    mailer: &KeptMail,
    caller: &str,
    address: &str,
) -> Result<(), String> {
    let (c, e) = (
        CallerId::parse(caller).unwrap(),
        EmailAddress::parse(address).unwrap(),
    );
    let state = store
        .load_send_state(&c, &e)
        .await
        .map_err(|e| e.to_string())?;
    let mailed = tokens_mailed(mailer, address);
    if state.quota.sends.len() > mailed.len() {
        return Err(format!(
            "{} sends spent for {} mails",
            state.quota.sends.len(),
            mailed.len()
        ));
    }
    if let Some(record) = state.record {
        if store
            .get_token(&record.current_token)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err("the record's link is gone".into());
        }
        let live = mailed
            .iter()
            .filter(|t| {
                shared::model::Token::parse(t).map(|t| t.hash()) == Ok(record.current_token.clone())
            })
            .count();
        if live != 1 {
            return Err(format!(
                "the record's link is in {live} of the {} mails",
                mailed.len()
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_step_of_submit_and_resend_can_fail_and_a_retry_succeeds() {
    for when in [failing::When::Before, failing::When::After] {
        for k in 1.. {
            let clock = TestClock::default();
            let (app, store, mailer) = failing_app(when, &clock);
            let (caller, address) = (unique("inject"), fresh_address().to_lowercase());
            // A pending address with a working link, then a Resend whose k-th store call fails.
            answer::<SubmitEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await
            .unwrap();
            clock.advance(Duration::seconds(61));
            store.arm(k);
            let out = answer::<ResendEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await;
            let calls = store.calls();
            store.arm(0);
            consistent(&store.inner, &mailer, &caller, &address)
                .await
                .unwrap_or_else(|e| panic!("{when:?} call {k} of Resend: {e}; answer {out:?}"));
            clock.advance(Duration::seconds(61));
            let retry = answer::<ResendEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await
            .unwrap();
            assert_eq!(
                codes(&retry, "SuccessList"),
                ["Success"],
                "{when:?} call {k}: the retry: {retry}"
            );
            consistent(&store.inner, &mailer, &caller, &address)
                .await
                .unwrap();
            let last = tokens_mailed(&mailer, &address).pop().unwrap();
            answer::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &last)]))
                .await
                .expect("the last link verifies");

            // A first Submit whose k-th call fails, then its retry.
            let fresh = fresh_address().to_lowercase();
            store.arm(k);
            let out = answer::<SubmitEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &fresh)]),
            )
            .await;
            store.arm(0);
            consistent(&store.inner, &mailer, &caller, &fresh)
                .await
                .unwrap_or_else(|e| panic!("{when:?} call {k} of Submit: {e}; answer {out:?}"));
            clock.advance(Duration::seconds(61));
            let retry = answer::<SubmitEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &fresh), ("SendIfExist", "true")]),
            )
            .await
            .unwrap();
            assert_eq!(
                codes(&retry, "SuccessList"),
                ["Success"],
                "{when:?} call {k}: the Submit retry: {retry}"
            );
            if k > calls {
                break;
            }
        }
    }
}

#[tokio::test]
async fn every_step_of_verify_delete_and_the_code_actions_can_fail_and_a_retry_succeeds() {
    for when in [failing::When::Before, failing::When::After] {
        for k in 1..=8 {
            let clock = TestClock::default();
            let (app, store, mailer) = failing_app(when, &clock);
            let (caller, address) = (unique("inject-v"), fresh_address().to_lowercase());
            answer::<SubmitEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await
            .unwrap();
            let token = tokens_mailed(&mailer, &address).pop().unwrap();
            store.arm(k);
            let _ =
                answer::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &token)])).await;
            store.arm(0);
            answer::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &token)]))
                .await
                .unwrap_or_else(|e| panic!("{when:?} call {k}: Verify retry {e:?}"));
            store.arm(k);
            let _ = answer::<api::actions::DeleteEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await;
            store.arm(0);
            let _ = answer::<api::actions::DeleteEmailVerification, _, _>(
                &app,
                &request(&caller, &[("Email", &address)]),
            )
            .await
            .unwrap();
            let (c, e) = (
                CallerId::parse(&caller).unwrap(),
                EmailAddress::parse(&address).unwrap(),
            );
            assert!(
                store.inner.get_record(&c, &e).await.unwrap().is_none(),
                "{when:?} call {k}: deleted"
            );
            assert!(
                store
                    .inner
                    .get_token(&shared::model::Token::parse(&token).unwrap().hash())
                    .await
                    .unwrap()
                    .is_none(),
                "{when:?} call {k}: its link is gone too"
            );

            // The code actions: Send whose k-th call fails, then a retry; Create likewise.
            let mail_to = fresh_address().to_lowercase();
            let send = request(&caller, &[("Type", "2"), ("Code", &mail_to)]);
            store.arm(k);
            let _ = answer::<SendIntlPhoneEmailCode, _, _>(&app, &send).await;
            store.arm(0);
            let sent = mailer.to(&mail_to).len();
            let spent = store
                .inner
                .load_code_send_state(&c, &Contact::parse(ContactType::Email, &mail_to).unwrap())
                .await
                .unwrap()
                .quota
                .sends
                .len();
            assert!(
                spent <= sent,
                "{when:?} call {k}: {spent} code sends spent for {sent} mails"
            );
            clock.advance(Duration::seconds(61));
            answer::<SendIntlPhoneEmailCode, _, _>(&app, &send)
                .await
                .unwrap_or_else(|e| panic!("{when:?} call {k}: Send retry {e:?}"));
            let code = code_in(&mailer.to(&mail_to).last().unwrap().text);
            let create = request(
                &caller,
                &[("Type", "2"), ("Code", &mail_to), ("VerifyCode", &code)],
            );
            store.arm(k);
            let first = answer::<CreateIntlPhoneEmail, _, _>(&app, &create).await;
            store.arm(0);
            if first.is_err() {
                // Unless the failure came after the code was used up, the same code still works.
                let retry = answer::<CreateIntlPhoneEmail, _, _>(&app, &create).await;
                let verified = store
                    .inner
                    .list_contacts(&c, None, &shared::store::PageQuery::offset(0, 500))
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .any(|r| r.contact.as_str() == mail_to);
                assert!(
                    retry.is_ok() || verified,
                    "{when:?} call {k}: Create retry {retry:?}, verified {verified}"
                );
            }
        }
    }
}
