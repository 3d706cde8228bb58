//! Issue 17, caller settings: `make callers` (the `callers` command, as `make test` builds it) against the
//! local stack's table: `put` checks the whole document and stores nothing when any part is wrong, `get` prints
//! what is stored, `delete` goes back to the defaults; and the running functions apply a change within 10 s
//! (here `MailPerDay`, the one member that acts today).

use std::time::{Duration, Instant};

use serde_json::json;
use stack_tests::*;

const SUBMIT: &str = "submit-email-verification";

fn file_with(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", unique("settings")));
    std::fs::write(&path, text).unwrap();
    path
}

/// Submits one new address until `done` holds for the answer, for at most 12 s (a function keeps what it
/// read of a caller for 10 s); the last answer.
fn submit_until(caller: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let answer = post_json(SUBMIT, caller, &json!({"Email": fresh_address()})).json();
        if done(&answer) || started.elapsed() > Duration::from_secs(12) {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn put_refuses_a_wrong_document_whole_naming_each_field() {
    let caller = unique("settings-bad");
    let bad = file_with(
        &json!({
            "Deadline": {"Days": 90, "RemindAfterDays": [10, 5]},
            "Sender": {"Address": "not an address"},
            "Webhooks": [{"Url": "http://hooks.example.com", "Secret": "whsec_x"}],
            "MailPerDay": -1,
            "Colour": "blue"
        })
        .to_string(),
    );
    let (rc, out, err) = callers(&["put", "--caller", &caller, "--file", bad.to_str().unwrap()]);
    assert_eq!(rc, Some(1), "{out}{err}");
    for field in [
        "Deadline.Days: must be a whole number from 1 to 60",
        "Deadline.RemindAfterDays[1]: must be greater than the day before it",
        "Sender.Address: must be a valid email address",
        "Webhooks[0].Url: must be an https:// URL",
        "Webhooks[0].Secret: must be whsec_",
        "MailPerDay: must be a whole number",
        "Colour: is not a member here",
    ] {
        assert!(err.contains(field), "{field:?} not named in:\n{err}");
    }
    let (rc, _, err) = callers(&["get", "--caller", &caller]);
    assert_eq!(rc, Some(1), "nothing was stored: {err}");
    assert!(err.contains("has no settings"), "{err}");
    // Not JSON at all, and a missing file: refused too.
    let (rc, _, err) = callers(&[
        "put",
        "--caller",
        &caller,
        "--file",
        file_with("{\"Deadline\": ").to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(1), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    let (rc, _, err) = callers(&[
        "put",
        "--caller",
        &caller,
        "--file",
        "/nonexistent/settings.json",
    ]);
    assert_eq!(rc, Some(2), "{err}");
    let (rc, _, err) = callers(&[
        "put",
        "--caller",
        "not a caller#",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(2), "{err}");
}

#[test]
fn put_get_delete_and_the_functions_apply_a_change_within_10_s() {
    let caller = unique("settings");
    // Before any settings: the stack's default cap (10,000 a day locally too).
    let first = post_json(SUBMIT, &caller, &json!({"Email": fresh_address()})).json();
    assert_eq!(first["SuccessList"].as_array().unwrap().len(), 1, "{first}");

    let text = json!({
        "Deadline": {"Days": 15, "RemindAfterDays": [5, 10, 13]},
        "Sender": {"Address": "verify@registrar.example", "Name": "Example Registrar"},
        "MailPerDay": 2
    })
    .to_string();
    let good = file_with(&text);
    let (rc, out, err) = callers(&["put", "--caller", &caller, "--file", good.to_str().unwrap()]);
    assert_eq!(rc, Some(0), "{out}{err}");
    let (rc, out, _) = callers(&["get", "--caller", &caller]);
    assert_eq!(rc, Some(0));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap(),
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    );
    // MailPerDay 2: the first mail was sent before; within 10 s the second is the last of the day.
    let refused = submit_until(&caller, |a| {
        a["FailList"][0]["Code"] == "SendTokenQuotaExceeded"
    });
    assert_eq!(
        refused["FailList"][0]["Code"], "SendTokenQuotaExceeded",
        "{refused}"
    );
    assert!(
        refused["FailList"][0]["RetryAfterSeconds"]
            .as_i64()
            .unwrap()
            > 0,
        "{refused}"
    );

    let (rc, out, _) = callers(&["delete", "--caller", &caller]);
    assert_eq!(rc, Some(0));
    assert!(out.contains("settings deleted"), "{out}");
    let sent = submit_until(&caller, |a| {
        a["SuccessList"].as_array().is_some_and(|l| l.len() == 1)
    });
    assert_eq!(
        sent["SuccessList"].as_array().unwrap().len(),
        1,
        "defaults again within 10 s: {sent}"
    );
    let (_, out, _) = callers(&["delete", "--caller", &caller]);
    assert!(out.contains("had no settings"), "{out}");
}
