//! Issue 9, proof: the running stack with its SES emulator stopped in the middle of a batch, and with
//! DynamoDB Local stopped. The services are paused (SIGSTOP to their process group, as `make test` started
//! them), so that they hang as a stalled network would, and resumed (SIGCONT) afterwards, also when an
//! assertion fails. The functions must answer in seconds with clear codes (no 5xx without a `Code`),
//! spend nothing for what they could not send, and work again once the service is back.
//! One test function: the pauses affect every request to the stack, so nothing else runs beside them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stack_tests::*;

/// A paused service of the stack, resumed when dropped.
struct Paused(String);

impl Paused {
    fn new(service: &str) -> Self {
        let outbox = env("SMS_OUTBOX");
        let dir = std::path::Path::new(&outbox)
            .parent()
            .expect("the stack's state folder");
        let pgid = std::fs::read_to_string(dir.join(format!("{service}.pid")))
            .expect("the service's process id")
            .trim()
            .to_string();
        signal("-STOP", &pgid);
        Self(pgid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
    }
}

fn signal(sig: &str, pgid: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, "--", &format!("-{pgid}")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} -{pgid}");
}

/// A POST with a deadline: a function that hangs fails the test instead of holding it.
fn post(function: &str, caller: &str, body: &Value) -> (u16, Value, Duration) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(25))
        .build();
    let started = Instant::now();
    let result = agent
        .post(&function_url(function))
        .set("X-User-Id", caller)
        .set("Content-Type", "application/json")
        .send_string(&body.to_string());
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{function}: no answer within 25 s ({e})"),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{function}: {status} without a JSON body: {text}"));
    (status, json, started.elapsed())
}

fn code_of(v: &Value) -> String {
    v["Code"]
        .as_str()
        .or_else(|| v["Response"]["Error"]["Code"].as_str())
        .unwrap_or("")
        .to_string()
}

#[test]
fn the_stack_answers_clearly_while_ses_or_dynamodb_is_down_and_works_again_after() {
    // Every function compiled and warm first: the pauses must meet running code, not a build.
    let caller = unique("outage");
    for f in [
        "query-email-verification",
        "submit-email-verification",
        "describe-intl-phone-email-list",
    ] {
        post(f, &caller, &json!({"Email": "warm@example.com", "Type": 0}));
    }

    // --- DynamoDB Local stopped: clear errors within seconds, in both envelopes.
    {
        let _paused = Paused::new("dynamodb");
        let (status, body, took) = post(
            "query-email-verification",
            &caller,
            &json!({"Email": "someone@example.com"}),
        );
        assert_eq!(
            (status, code_of(&body).as_str()),
            (500, "InternalError"),
            "{body}"
        );
        assert!(
            body["RequestId"].is_string() && body["Message"].is_string(),
            "{body}"
        );
        assert!(took < Duration::from_secs(15), "answered in {took:?}");
        let (status, body, _) = post(
            "describe-intl-phone-email-list",
            &caller,
            &json!({"Type": 0}),
        );
        assert_eq!(
            (status, code_of(&body).as_str()),
            (200, "InternalError"),
            "{body}"
        );
    }
    let (status, body, _) = post(
        "query-email-verification",
        &caller,
        &json!({"Email": "someone@example.com"}),
    );
    assert_eq!(
        (status, code_of(&body).as_str()),
        (404, "EmailVerificationNotExist"),
        "DynamoDB is back: {body}"
    );

    // --- The SES emulator stopped in the middle of a batch: what went out is kept, what did not spends
    // nothing and can be submitted again at once.
    let addresses: Vec<String> = (0..30).map(|_| fresh_address().to_lowercase()).collect();
    let batch = {
        let (caller, list) = (caller.clone(), addresses.join(","));
        std::thread::spawn(move || {
            post(
                "submit-email-verification",
                &caller,
                &json!({"Email": list}),
            )
        })
    };
    let waited = Instant::now();
    while addresses.iter().all(|a| mails_to(a).is_empty()) {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no mail of the batch went out"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = {
        let _paused = Paused::new("ses");
        let (status, body, took) = batch.join().expect("the batch");
        assert!(took < Duration::from_secs(25), "answered in {took:?}");
        (status, body)
    };
    assert_eq!(status, 200, "{body}");
    let succeeded: Vec<String> = body["SuccessList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Email"].as_str().unwrap().to_string())
        .collect();
    let failed: Vec<String> = body["FailList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["Code"], "NetworkIOError", "{i}");
            i["Email"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(succeeded.len() + failed.len(), 30, "{body}");
    assert!(
        !succeeded.is_empty() && !failed.is_empty(),
        "the pause came in the middle of the batch: {body}"
    );
    for a in &succeeded {
        assert!(
            !mails_to(a).is_empty(),
            "{a}: in SuccessList without a mail"
        );
    }
    for a in &failed {
        let (status, body, _) = post("query-email-verification", &caller, &json!({"Email": a}));
        assert_eq!(
            (status, code_of(&body).as_str()),
            (404, "EmailVerificationNotExist"),
            "{a}: a failed send left a record: {body}"
        );
    }
    // SES is back: the failed ones go at once (the failed sends spent no quota).
    let (status, body, _) = post(
        "submit-email-verification",
        &caller,
        &json!({"Email": failed.join(",")}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["SuccessList"].as_array().unwrap().len(),
        failed.len(),
        "{body}"
    );
}
