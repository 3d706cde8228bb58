//! Issue 18 against the local stack: every committed change as a signed webhook (Standard Webhooks 1.0) and
//! an EventBridge event. The table's stream is read by local/streams.py (what Lambda's event source mapping
//! does), which hands it to the `events` function under cargo lambda watch; the webhook queue (SQS, moto)
//! is read the same way into the `webhooks` function; the endpoints are this test's own listeners
//! (`stack_tests::webhook`).

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use stack_tests::webhook::{Delivery, Receiver};
use stack_tests::*;

const SUBMIT: &str = "submit-email-verification";
const RESEND: &str = "resend-email-verification";
const DELETE: &str = "delete-email-verification";
const SEND_CODE: &str = "send-intl-phone-email-code";
const CREATE: &str = "create-intl-phone-email";
const DELETE_CONTACT: &str = "delete-intl-phone-email";

/// How long an event may take from its commit to the endpoint on the local stack (the poller reads the
/// stream every 200 ms; a first call may still build a function).
const SOON: Duration = Duration::from_secs(60);

/// A fresh signing key, and its `whsec_` secret.
fn secret() -> (Vec<u8>, String) {
    let key: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    let text = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(&key)
    );
    (key, text)
}

/// Puts `caller`'s settings: `extra` plus one webhook per (endpoint, events).
fn hooks(caller: &str, endpoints: &[(&Receiver, &str, Value)], extra: Value) {
    let mut doc = extra;
    doc["Webhooks"] = endpoints
        .iter()
        .map(|(r, secret, events)| json!({"Url": r.url, "Secret": secret, "Events": events}))
        .collect();
    let path = std::env::temp_dir().join(format!("{}.json", unique("hooks")));
    std::fs::write(&path, doc.to_string()).unwrap();
    let (rc, out, err) = callers(&["put", "--caller", caller, "--file", path.to_str().unwrap()]);
    assert_eq!(rc, Some(0), "{out}{err}");
}

fn submit(caller: &str, address: &str) {
    let answer = post_json(
        SUBMIT,
        caller,
        &json!({"Email": address, "Domains": "example.com"}),
    )
    .json();
    assert_eq!(
        answer["SuccessList"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
}

/// The deliveries' types in `sequence` order: deliveries arrive in any order (at least once, concurrently);
/// the sequence orders the events of one record.
fn types(got: &[Delivery]) -> Vec<String> {
    let mut got: Vec<Value> = got.iter().map(Delivery::json).collect();
    got.sort_by_key(|v| v["data"]["sequence"].as_i64());
    got.iter()
        .map(|v| v["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn of<'a>(got: &'a [Delivery], kind: &str) -> Vec<&'a Delivery> {
    got.iter().filter(|d| d.json()["type"] == kind).collect()
}

fn invoke(function: &str, event: &Value) -> Value {
    let url = format!(
        "http://{}:{}/2015-03-31/functions/{function}/invocations",
        env("BIND_HOST"),
        env("LAMBDA_PORT")
    );
    ureq::post(&url)
        .send_string(&event.to_string())
        .expect("the invoke API answers")
        .into_json()
        .unwrap_or(Value::Null)
}

/// An SES event of `events/` about `address` from `caller` (deliverability.rs has the whole story).
fn ses_event(kind: &str, address: &str, caller: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../events/ses-events-{kind}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let text = ["sample.bounce@example.com", "sample.complaint@example.com"]
        .iter()
        .fold(text, |t, s| t.replace(s, address));
    let tag =
        shared::delivery::caller_tag(&shared::model::CallerId::parse(caller).unwrap()).unwrap();
    let mut v: Value = serde_json::from_str(&text.replace(
        "\"caller\": [\n          \"sample\"\n        ]",
        &format!("\"caller\": [\"{tag}\"]"),
    ))
    .unwrap();
    // Now: newer than anything recorded of the address.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for pointer in [
        "/time",
        "/detail/mail/timestamp",
        "/detail/bounce/timestamp",
        "/detail/complaint/timestamp",
    ] {
        if let Some(t) = v.pointer_mut(pointer) {
            *t = json!(now);
        }
    }
    v
}

/// Each event of a link's life, signed, with the contract's body, in `sequence` order, and a record's
/// delete last. No token in any of them.
#[test]
fn a_links_life_is_its_events_signed_in_sequence() {
    let caller = unique("events");
    let hook = Receiver::ok();
    let (key, secret) = secret();
    hooks(
        &caller,
        &[(&hook, &secret, json!(["*"]))],
        json!({"Deadline": {"Days": 15}}),
    );
    let address = fresh_address();
    submit(&caller, &address);
    let sent = hook.wait_until(SOON, |d| !of(d, "email.verification.sent").is_empty());
    let first = of(&sent, "email.verification.sent")[0].json();
    assert_eq!(first["data"]["caller"], caller.as_str(), "{first}");
    assert_eq!(first["data"]["email"], address.to_lowercase());
    assert_eq!(first["data"]["status"], "pending");
    assert_eq!(first["data"]["domains"], json!(["example.com"]));
    assert_eq!(first["data"]["id"].as_str().map(str::len), Some(32));
    assert!(
        first["data"]["deadline"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{first}"
    );
    assert!(first["timestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    // Resend (after the quota's interval, by a fresh caller setting there is none), then the link.
    std::thread::sleep(Duration::from_secs(1));
    let resent = post_json(RESEND, &caller, &json!({"Email": address})).json();
    let link = link_in(mails_to(&address).last().unwrap());
    let page = get_url(&link);
    assert_eq!(page.status, 200, "{}", page.body);
    let answer = post_json(DELETE, &caller, &json!({"Email": address}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let expected = if resent["SuccessList"].as_array().map_or(0, Vec::len) == 1 {
        4
    } else {
        3
    };
    let got = hook.wait_until(SOON, |d| d.len() >= expected);
    let kinds = types(&got);
    assert!(
        kinds.contains(&"email.verification.verified".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"email.verification.deleted".to_string()),
        "{kinds:?}"
    );
    let token = token_of(&link);
    for d in &got {
        assert!(d.signed_with(&key), "signature: {d:?}");
        assert!(!d.body.contains(&token), "no token in an event");
        assert_eq!(d.header("content-type"), "application/json");
        assert!(d.header("webhook-id").starts_with("evt_"));
    }
    // One event per change, each its own sequence, growing in the order of the changes.
    let mut seq: Vec<i64> = got
        .iter()
        .map(|d| d.json()["data"]["sequence"].as_i64().unwrap())
        .collect();
    let ids: std::collections::BTreeSet<&str> =
        got.iter().map(|d| d.header("webhook-id")).collect();
    assert_eq!(ids.len(), got.len(), "one delivery per event: {kinds:?}");
    seq.sort();
    seq.dedup();
    assert_eq!(seq.len(), got.len(), "{kinds:?}");
    let deleted = of(&got, "email.verification.deleted")[0].json();
    assert_eq!(
        deleted["data"]["sequence"],
        *seq.last().unwrap(),
        "the delete comes last"
    );
    assert_eq!(deleted["data"]["status"], "deleted");
    // A key of another caller does not verify them.
    assert!(!got[0].signed_with(&secret_key_of_another()));
}

fn secret_key_of_another() -> Vec<u8> {
    secret().0
}

/// A code sent, the contact verified with it, the contact deleted; a wrong try makes none.
#[test]
fn a_contacts_codes_are_their_events() {
    let caller = unique("events-code");
    let hook = Receiver::ok();
    let (key, secret) = secret();
    hooks(&caller, &[(&hook, &secret, json!(["*"]))], json!({}));
    let phone = fresh_phone();
    let sent = post_json(SEND_CODE, &caller, &json!({"Type": 1, "Code": phone})).json();
    assert!(sent["Response"]["Error"].is_null(), "{sent}");
    let code = code_in(texts_to(&phone).last().expect("a text"));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let _ = post_json(
        CREATE,
        &caller,
        &json!({"Type": 1, "Code": phone, "VerifyCode": wrong}),
    );
    let made = post_json(
        CREATE,
        &caller,
        &json!({"Type": 1, "Code": phone, "VerifyCode": code}),
    )
    .json();
    assert!(made["Response"]["Error"].is_null(), "{made}");
    let gone = post_json(DELETE_CONTACT, &caller, &json!({"Type": 1, "Code": phone})).json();
    assert!(gone["Response"]["Error"].is_null(), "{gone}");
    let got = hook.wait_until(SOON, |d| d.len() >= 3);
    assert_eq!(
        types(&got),
        ["contact.code.sent", "contact.verified", "contact.deleted"],
        "in order, none for the wrong try"
    );
    let mut seq: Vec<i64> = got
        .iter()
        .map(|d| d.json()["data"]["sequence"].as_i64().unwrap())
        .collect();
    seq.sort();
    assert!(
        seq.windows(2).all(|w| w[0] < w[1]),
        "one sequence per change: {seq:?}"
    );
    for d in &got {
        let v = d.json();
        assert!(d.signed_with(&key));
        assert_eq!(v["data"]["contact_type"], 1);
        assert_eq!(v["data"]["contact"], phone.as_str());
        assert!(!d.body.contains(&code), "no code in an event");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.deliveries().len(), 3, "nothing more");
}

/// A bounce and a complaint from SES become their events on the caller's record.
#[test]
fn a_bounce_and_a_complaint_are_their_events() {
    let caller = unique("events-ses");
    let hook = Receiver::ok();
    let (_, secret) = secret();
    hooks(
        &caller,
        &[(
            &hook,
            &secret,
            json!(["email.delivery.bounced", "email.delivery.complained"]),
        )],
        json!({}),
    );
    let (bounced, complained) = (fresh_address(), fresh_address());
    submit(&caller, &bounced);
    submit(&caller, &complained);
    invoke("ses-events", &ses_event("bounce", &bounced, &caller));
    invoke("ses-events", &ses_event("complaint", &complained, &caller));
    let got = hook.wait_until(SOON, |d| d.len() >= 2);
    let by_type: Vec<(String, String)> = got
        .iter()
        .map(|d| {
            let v = d.json();
            (
                v["type"].as_str().unwrap().to_string(),
                v["data"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        by_type.contains(&("email.delivery.bounced".into(), bounced.to_lowercase())),
        "{by_type:?}"
    );
    assert!(
        by_type.contains(&(
            "email.delivery.complained".into(),
            complained.to_lowercase()
        )),
        "{by_type:?}"
    );
    assert_eq!(
        got.len(),
        2,
        "the filter kept the sent events out: {by_type:?}"
    );
}

/// A reminder and a missed deadline (the sweep run in this process with a clock of its own, so that the
/// stack's clock stays where it is), each its event; the sample rule routes the missed deadline from the
/// EventBridge bus to its SQS queue.
#[tokio::test]
async fn a_reminder_and_a_missed_deadline_are_their_events_and_on_the_bus() {
    let caller = unique("events-sweep");
    let hook = Receiver::ok();
    let (_, secret) = secret();
    hooks(
        &caller,
        &[(&hook, &secret, json!(["*"]))],
        json!({"Deadline": {"Days": 3, "RemindAfterDays": [1]}}),
    );
    let address = fresh_address();
    submit(&caller, &address);
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let base = env("PUBLIC_BASE_URL");
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    shared::workflows::sweep::sweep(&app, &base).await.unwrap();
    clock.advance(chrono::Duration::days(3));
    shared::workflows::sweep::sweep(&app, &base).await.unwrap();
    let got = hook.wait_until(SOON, |d| d.len() >= 3);
    assert_eq!(
        types(&got),
        [
            "email.verification.sent",
            "email.verification.reminded",
            "email.verification.deadline_missed"
        ],
    );
    let missed = of(&got, "email.verification.deadline_missed")[0].json();
    // The bus: the documented sample rule sends this type to its queue.
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = env("DEADLINE_MISSED_QUEUE_URL");
    let mut found = None;
    for _ in 0..60 {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let v: Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
            if v["detail"]["data"]["id"] == missed["data"]["id"] {
                found = Some(v);
            }
        }
        if found.is_some() {
            break;
        }
    }
    let found = found.expect("the missed deadline reached the rule's queue");
    assert_eq!(found["detail-type"], "email.verification.deadline_missed");
    assert_eq!(found["detail"], missed, "detail = the webhook's body");
}

/// A send the mailer refused writes nothing, so no event; the caller's next, good send is one.
#[tokio::test]
async fn no_event_for_a_send_that_failed() {
    struct Refusing;
    impl shared::mail::Mailer for Refusing {
        async fn send(
            &self,
            _: &shared::mail::OutgoingMail,
        ) -> Result<Option<String>, shared::error::BackendError> {
            Err(shared::error::BackendError::Mail("MessageRejected".into()))
        }
    }
    let caller = unique("events-fail");
    let hook = Receiver::ok();
    let (_, secret) = secret();
    hooks(&caller, &[(&hook, &secret, json!(["*"]))], json!({}));
    let clock = TestClock::default();
    let base = local_app(&clock).await;
    let app = shared::app::App {
        store: base.store,
        mailer: Refusing,
        sms: base.sms,
        code_secret: base.code_secret,
        config: base.config,
        clock: base.clock,
    };
    let failed = fresh_address();
    let ctx = shared::workflows::Context {
        lang: shared::model::Lang::En,
        client_ip: "192.0.2.1".into(),
        link_base: "http://127.0.0.1".into(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(5),
        domains: None,
        user_agent: None,
    };
    let outcome = shared::workflows::link::send_link(
        &app,
        &shared::model::CallerId::parse(&caller).unwrap(),
        &shared::model::EmailAddress::parse(&failed).unwrap(),
        shared::workflows::link::SendMode::Submit {
            send_if_exist: false,
        },
        &ctx,
    )
    .await;
    assert_eq!(outcome, shared::workflows::link::LinkOutcome::NotHandedOver);
    let good = fresh_address();
    submit(&caller, &good);
    let got = hook.wait_until(SOON, |d| !d.is_empty());
    std::thread::sleep(Duration::from_secs(3));
    let got_after = hook.deliveries();
    assert_eq!(got.len(), 1);
    assert_eq!(got_after.len(), 1, "{:?}", types(&got_after));
    assert_eq!(got_after[0].json()["data"]["email"], good.to_lowercase());
}

/// An endpoint that fails twice gets the same event a third time, with the same id, and it counts as
/// delivered then (nothing more comes).
#[test]
fn a_failed_delivery_is_retried_with_the_same_id_until_a_2xx() {
    let caller = unique("events-retry");
    let hook = Receiver::with(|n| (if n < 2 { 500 } else { 200 }, Duration::ZERO));
    let (key, secret) = secret();
    hooks(
        &caller,
        &[(&hook, &secret, json!(["email.verification.sent"]))],
        json!({}),
    );
    submit(&caller, &fresh_address());
    let got = hook.wait_until(SOON, |d| d.len() >= 3);
    assert_eq!(got.len(), 3, "{got:?}");
    let ids: std::collections::BTreeSet<&str> =
        got.iter().map(|d| d.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "the same id on every attempt");
    assert!(
        got.iter().all(|d| d.signed_with(&key)),
        "each attempt signed (its own timestamp)"
    );
    assert!(got.iter().all(|d| d.body == got[0].body), "the same body");
    assert!(got[2].at > got[1].at && got[1].at > got[0].at);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(hook.deliveries().len(), 3, "delivered: no more attempts");
}

/// `Events` filters per endpoint: one endpoint takes only `verified`, the other everything.
#[test]
fn each_endpoint_gets_only_the_events_it_asks_for() {
    let caller = unique("events-filter");
    let (all, verified_only) = (Receiver::ok(), Receiver::ok());
    let (_, secret) = secret();
    hooks(
        &caller,
        &[
            (&all, &secret, json!(["*"])),
            (
                &verified_only,
                &secret,
                json!(["email.verification.verified"]),
            ),
        ],
        json!({}),
    );
    let address = fresh_address();
    submit(&caller, &address);
    let page = get_url(&link_in(&mails_to(&address)[0]));
    assert_eq!(page.status, 200);
    let got = all.wait_until(SOON, |d| d.len() >= 2);
    assert_eq!(
        types(&got),
        ["email.verification.sent", "email.verification.verified"]
    );
    let only = verified_only.wait_until(SOON, |d| !d.is_empty());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        types(&verified_only.deliveries()),
        ["email.verification.verified"],
        "{only:?}"
    );
    assert_eq!(
        only[0].header("webhook-id"),
        of(&got, "email.verification.verified")[0].header("webhook-id")
    );
}

/// A caller whose endpoint holds every request 14 s does not delay another caller's deliveries.
#[test]
fn a_slow_endpoint_of_one_caller_does_not_delay_another() {
    let (slow_caller, fast_caller) = (unique("events-slow"), unique("events-fast"));
    let slow = Receiver::with(|_| (204, Duration::from_secs(14)));
    let fast = Receiver::ok();
    let (_, secret) = secret();
    hooks(&slow_caller, &[(&slow, &secret, json!(["*"]))], json!({}));
    hooks(&fast_caller, &[(&fast, &secret, json!(["*"]))], json!({}));
    for _ in 0..3 {
        submit(&slow_caller, &fresh_address());
    }
    // The slow endpoint has its requests (and holds them) before the other caller's change is made.
    slow.wait_until(SOON, |d| !d.is_empty());
    let start = std::time::Instant::now();
    submit(&fast_caller, &fresh_address());
    let got = fast.wait_until(Duration::from_secs(30), |d| !d.is_empty());
    assert_eq!(got.len(), 1);
    let waited = got[0].at.duration_since(start);
    assert!(
        waited < Duration::from_secs(8),
        "the fast caller waited {waited:?}"
    );
}

/// The events function dies in the middle of a batch (the local fault file): the stream hands the batch
/// again, and every event arrives (some twice, with the same id: at least once, never lost).
#[test]
fn no_event_is_lost_when_the_events_function_dies_in_a_batch() {
    let caller = unique("events-fault");
    let hook = Receiver::ok();
    let (_, secret) = secret();
    hooks(
        &caller,
        &[(&hook, &secret, json!(["email.verification.sent"]))],
        json!({}),
    );
    let addresses: Vec<String> = (0..6).map(|_| fresh_address()).collect();
    let fault = env("LOCAL_EVENTS_FAULT_FILE");
    std::fs::write(&fault, "1").unwrap();
    let answer = post_json(SUBMIT, &caller, &json!({"Email": addresses.join(",")})).json();
    assert_eq!(
        answer["SuccessList"].as_array().map(Vec::len),
        Some(6),
        "{answer}"
    );
    let got = hook.wait_until(SOON, |d| {
        addresses.iter().all(|a| {
            d.iter()
                .any(|x| x.json()["data"]["email"] == a.to_lowercase())
        })
    });
    for a in &addresses {
        assert!(
            got.iter()
                .any(|x| x.json()["data"]["email"] == a.to_lowercase()),
            "{a} lost: {:?}",
            types(&got)
        );
    }
    assert!(
        !std::path::Path::new(&fault).exists(),
        "the fault happened (its file is used up)"
    );
    // Duplicates, if any, are the same event: the same id for the same address.
    for a in &addresses {
        let ids: std::collections::BTreeSet<String> = got
            .iter()
            .filter(|x| x.json()["data"]["email"] == a.to_lowercase())
            .map(|x| x.header("webhook-id").to_string())
            .collect();
        assert_eq!(ids.len(), 1, "{a}");
    }
}

/// An endpoint that never answers 2xx: after the whole schedule (divided by WEBHOOK_RETRY_SCALE locally)
/// the delivery is in the dead-letter queue; `make webhooks ARGS='replay'` puts it back, and it arrives
/// with the same id.
#[test]
fn a_delivery_that_fails_every_attempt_is_parked_and_replayed() {
    let caller = unique("events-dlq");
    let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = std::sync::Arc::clone(&failing);
    let hook = Receiver::with(move |_| {
        let status = if f.load(std::sync::atomic::Ordering::SeqCst) {
            503
        } else {
            204
        };
        (status, Duration::ZERO)
    });
    let (key, secret) = secret();
    hooks(
        &caller,
        &[(&hook, &secret, json!(["email.verification.sent"]))],
        json!({}),
    );
    submit(&caller, &fresh_address());
    let attempts = shared::events::ATTEMPTS as usize;
    let got = hook.wait_until(Duration::from_secs(150), |d| d.len() >= attempts);
    assert_eq!(got.len(), attempts, "every attempt of the schedule");
    let gaps: Vec<u64> = got
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_secs())
        .collect();
    assert!(
        gaps.windows(2).all(|w| w[1] + 1 >= w[0]),
        "back-off grows: {gaps:?}"
    );
    // Parked: no attempt after the last, and replay moves it (with others' parked ones, if any).
    std::thread::sleep(Duration::from_secs(3));
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    let out = std::process::Command::new(workspace_bin("webhook-deliveries"))
        .arg("replay")
        .output()
        .expect("webhook-deliveries runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.starts_with("0 "), "{text}");
    let after = hook.wait_until(SOON, |d| d.len() > attempts);
    assert_eq!(after.len(), attempts + 1, "{text}");
    assert_eq!(
        after[attempts].header("webhook-id"),
        got[0].header("webhook-id")
    );
    assert!(after[attempts].signed_with(&key));
}

/// `put` refuses a webhook that is not https in a deployed stack (here: SES is not the local emulator),
/// before it writes anything; the local stack takes http:// to a loopback receiver.
#[test]
fn a_deployed_put_refuses_a_plain_http_webhook() {
    let caller = unique("events-http");
    let (_, secret) = secret();
    let doc = json!({"Webhooks": [{"Url": "http://127.0.0.1:9/hook", "Secret": secret, "Events": ["*"]}]});
    let path = std::env::temp_dir().join(format!("{}.json", unique("hooks")));
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = std::process::Command::new(workspace_bin("callers"))
        .args(["put", "--caller", &caller, "--file", path.to_str().unwrap()])
        .env(
            "AWS_ENDPOINT_URL_SESV2",
            "https://email.us-east-1.amazonaws.com",
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Webhooks[0].Url: must be an https:// URL in a deployed stack"),
        "{err}"
    );
    let (rc, got, _) = callers(&["get", "--caller", &caller]);
    assert!(
        rc != Some(0) || !got.contains("Webhooks"),
        "nothing stored: {got}"
    );
    let (rc, out, err) = callers(&["put", "--caller", &caller, "--file", path.to_str().unwrap()]);
    assert_eq!(rc, Some(0), "locally it is taken: {out}{err}");
}
