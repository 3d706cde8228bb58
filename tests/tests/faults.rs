//! Issue 9, defect 1: a failed send leaves everything as it was. The same DynamoDB table is served by two
//! applications in this process: one with the real SES emulator and SMS outbox, one whose SES client points
//! at a port where nothing listens and whose SMS outbox cannot be written. A send through the second must
//! keep the old link or code working, spend no quota, and leave no second link; a retry through the first
//! must then succeed.

use chrono::Duration;
use serde_json::Value;
use shared::actions::{CreateIntlPhoneEmail, ResendEmailVerification, SendIntlPhoneEmailCode, SubmitEmailVerification, VerifyEmail};
use shared::app::{Action, App, Config, Reply, Request};
use shared::code::{Contact, ContactType};
use shared::error::ApiError;
use shared::mail::SesMailer;
use shared::model::{CallerId, EmailAddress};
use shared::params::Params;
use shared::sms::SmsSender;
use shared::store::{CodeStore, DynamoStore, Store};
use stack_tests::*;

fn request(caller: &str, pairs: &[(&str, &str)]) -> Request {
    Request::new(Params::from_pairs(pairs.iter().copied()), CallerId::parse(caller).ok(), "192.0.2.1", false)
        .expect("valid request")
        .with_link_base(env("PUBLIC_BASE_URL"))
}

async fn run<A: Action>(app: &App<DynamoStore, SesMailer>, req: &Request) -> Result<Value, ApiError> {
    match A::handle(app, req).await? {
        Reply::Api(body) => Ok(Value::Object(body)),
        Reply::Page { html, .. } => Ok(Value::String(html)),
    }
}

fn codes(body: &Value, list: &str) -> Vec<String> {
    body[list].as_array().into_iter().flatten().map(|i| i["Code"].as_str().unwrap_or("").to_string()).collect()
}

/// The working application and the one whose mail and SMS fail, on the same table and clock.
async fn apps(clock: &TestClock) -> (App<DynamoStore, SesMailer>, App<DynamoStore, SesMailer>) {
    let good = local_app(clock).await;
    let dead = aws_config::from_env().endpoint_url("http://127.0.0.1:9").load().await;
    let config = Config::from_env().unwrap();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&dead), &config.sender);
    let mut bad = app_with_mailer(config, clock, &aws_config::load_from_env().await, mailer);
    bad.sms = SmsSender::Outbox("/nonexistent-directory/sms-outbox.jsonl".into());
    (good, bad)
}

async fn link_sends(app: &App<DynamoStore, SesMailer>, caller: &str, address: &str) -> usize {
    let state = app.store.load_send_state(&CallerId::parse(caller).unwrap(), &EmailAddress::parse(address).unwrap()).await.unwrap();
    state.quota.sends.len()
}

async fn token_items(caller: &str) -> usize {
    items_of(caller).await.iter().filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#"))).count()
}

#[tokio::test]
async fn a_failed_resend_keeps_the_old_link_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-resend"), fresh_address());
    run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)])).await.unwrap();
    let old = token_of(&link_in(&mails_to(&address)[0]));
    let sent_at = good.store.get_record(&CallerId::parse(&caller).unwrap(), &EmailAddress::parse(&address).unwrap()).await.unwrap().unwrap().token_sent;
    clock.advance(Duration::seconds(61));

    let out = run::<ResendEmailVerification>(&bad, &request(&caller, &[("Email", &address)])).await.unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    assert_eq!(link_sends(&good, &caller, &address).await, 1, "the failed send spent no quota");
    assert_eq!(token_items(&caller).await, 1, "no second link was left behind");
    let record = good.store.get_record(&CallerId::parse(&caller).unwrap(), &EmailAddress::parse(&address).unwrap()).await.unwrap().unwrap();
    assert_eq!(record.token_sent, sent_at, "TokenSendTime claims no send");
    // The old link still works.
    run::<VerifyEmail>(&good, &request(&caller, &[("Token", &old)])).await.expect("the old link still verifies");
}

#[tokio::test]
async fn failed_resends_never_lock_an_address_out_and_a_retry_succeeds() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-lockout"), fresh_address());
    run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)])).await.unwrap();
    for _ in 0..6 {
        clock.advance(Duration::seconds(61));
        let out = run::<ResendEmailVerification>(&bad, &request(&caller, &[("Email", &address)])).await.unwrap();
        assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    }
    // Submit with SendIfExist=true takes the same path.
    let out = run::<SubmitEmailVerification>(&bad, &request(&caller, &[("Email", &address), ("SendIfExist", "true")])).await.unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    let out = run::<ResendEmailVerification>(&good, &request(&caller, &[("Email", &address)])).await.unwrap();
    assert_eq!(codes(&out, "SuccessList"), ["Success"], "{out}");
    assert_eq!(link_sends(&good, &caller, &address).await, 2);
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 2);
    let (old, new) = (token_of(&link_in(&mails[0])), token_of(&link_in(&mails[1])));
    assert_eq!(run::<VerifyEmail>(&good, &request(&caller, &[("Token", &old)])).await.unwrap_err(), ApiError::TokenInvalid);
    run::<VerifyEmail>(&good, &request(&caller, &[("Token", &new)])).await.expect("the new link verifies");
    assert_eq!(token_items(&caller).await, 1);
}

#[tokio::test]
async fn a_failed_first_submit_leaves_nothing_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-new"), fresh_address());
    let out = run::<SubmitEmailVerification>(&bad, &request(&caller, &[("Email", &address)])).await.unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"], "{out}");
    assert_eq!(link_sends(&good, &caller, &address).await, 0, "the failed send spent no quota");
    assert!(items_of(&caller).await.iter().all(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("QUOTA#"))), "no record, no link");
    // At once, without waiting for the interval: nothing was spent.
    let out = run::<SubmitEmailVerification>(&good, &request(&caller, &[("Email", &address)])).await.unwrap();
    assert_eq!(codes(&out, "SuccessList"), ["Success"], "{out}");
}

async fn code_sends(app: &App<DynamoStore, SesMailer>, caller: &str, contact: &Contact) -> usize {
    app.store.load_code_send_state(&CallerId::parse(caller).unwrap(), contact).await.unwrap().quota.sends.len()
}

#[tokio::test]
async fn a_failed_code_send_keeps_the_old_code_and_spends_nothing() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    for (kind, contact) in [("2", fresh_address()), ("1", fresh_phone())] {
        let caller = unique("fault-code");
        let parsed = Contact::parse(if kind == "1" { ContactType::Phone } else { ContactType::Email }, &contact).unwrap();
        let send = request(&caller, &[("Type", kind), ("Code", &contact)]);
        run::<SendIntlPhoneEmailCode>(&good, &send).await.unwrap();
        let first = if kind == "1" { code_in(&texts_to(&contact)[0]) } else { code_in(&mails_to(&contact)[0].text) };
        clock.advance(Duration::seconds(61));
        assert_eq!(run::<SendIntlPhoneEmailCode>(&bad, &send).await.unwrap_err(), ApiError::CodeSendFailed, "type {kind}");
        assert_eq!(code_sends(&good, &caller, &parsed).await, 1, "type {kind}: the failed send spent no quota");
        // The code that was delivered still works.
        run::<CreateIntlPhoneEmail>(&good, &request(&caller, &[("Type", kind), ("Code", &contact), ("VerifyCode", &first)]))
            .await
            .unwrap_or_else(|e| panic!("type {kind}: the delivered code was destroyed by a failed send: {e:?}"));
    }
}

#[tokio::test]
async fn a_failed_code_send_is_retried_at_once() {
    let clock = TestClock::default();
    let (good, bad) = apps(&clock).await;
    let (caller, address) = (unique("fault-code-retry"), fresh_address());
    let send = request(&caller, &[("Type", "2"), ("Code", &address)]);
    for _ in 0..6 {
        assert_eq!(run::<SendIntlPhoneEmailCode>(&bad, &send).await.unwrap_err(), ApiError::CodeSendFailed);
    }
    run::<SendIntlPhoneEmailCode>(&good, &send).await.expect("nothing was spent by the failures");
    let code = code_in(&mails_to(&address)[0].text);
    run::<CreateIntlPhoneEmail>(&good, &request(&caller, &[("Type", "2"), ("Code", &address), ("VerifyCode", &code)])).await.unwrap();
}

/// A mailer that throttles (SES's TooManyRequests) the first attempt for each address, or every attempt,
/// and notes when each attempt came (tokio's clock, which the test pauses).
#[derive(Clone, Default)]
struct ThrottlingMailer {
    always: bool,
    attempts: std::sync::Arc<std::sync::Mutex<Vec<(String, tokio::time::Instant)>>>,
}

impl shared::mail::Mailer for ThrottlingMailer {
    async fn send(&self, mail: &shared::mail::OutgoingMail) -> Result<(), shared::error::BackendError> {
        let mut attempts = self.attempts.lock().unwrap();
        let first = !attempts.iter().any(|(to, _)| to == mail.to.as_str());
        attempts.push((mail.to.as_str().to_string(), tokio::time::Instant::now()));
        if self.always || first {
            return Err(shared::error::BackendError::Throttled("TooManyRequestsException: Maximum sending rate exceeded".into()));
        }
        Ok(())
    }
}

fn paced_app(mailer: ThrottlingMailer, per_second: f64) -> App<shared::store::MemoryStore, ThrottlingMailer> {
    let mut config = Config::from_env().unwrap();
    config.send_pacer = shared::pace::SendPacer::new(per_second);
    App {
        store: shared::store::MemoryStore::new(),
        mailer,
        sms: SmsSender::None,
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
    let out = match SubmitEmailVerification::handle(&app, &request("paced", &[("Email", &addresses.join(","))])).await.unwrap() {
        Reply::Api(body) => Value::Object(body),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes(&out, "SuccessList").len(), 30, "{out}");
    let times: Vec<tokio::time::Instant> = mailer.attempts.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(times.len(), 60, "each address throttled once, then sent");
    let mut sorted = times.clone();
    sorted.sort();
    for w in sorted.windows(11) {
        assert!(w[10] - w[0] >= std::time::Duration::from_secs(1), "more than 10 attempts within one second");
    }
}

/// What cannot be handed over within the budget fails as NetworkIOError, and spends nothing.
#[tokio::test(start_paused = true)]
async fn mails_still_throttled_at_the_end_of_the_budget_fail_and_spend_nothing() {
    let mailer = ThrottlingMailer { always: true, ..Default::default() };
    let mut app = paced_app(mailer, 10.0);
    app.config.send_budget = std::time::Duration::from_secs(5);
    let addresses: Vec<String> = (0..3).map(|_| fresh_address()).collect();
    let out = match SubmitEmailVerification::handle(&app, &request("throttled", &[("Email", &addresses.join(","))])).await.unwrap() {
        Reply::Api(body) => Value::Object(body),
        other => panic!("{other:?}"),
    };
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"; 3], "{out}");
    for a in &addresses {
        let state = app.store.load_send_state(&CallerId::parse("throttled").unwrap(), &EmailAddress::parse(a).unwrap()).await.unwrap();
        assert!(state.record.is_none() && state.quota.sends.is_empty(), "nothing left, nothing spent: {state:?}");
    }
}
