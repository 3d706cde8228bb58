//! Issue 17, the local clock: every function of the local stack adds the seconds in
//! `.stack/<LAMBDA_PORT>/clock-offset` (`LOCAL_CLOCK_FILE`) to its clock, read at each reading; and what
//! needs it (a deadline passing). A binary of its own, its tests one at a time (`CLOCK`): moving the stack's
//! time would disturb any test running beside it.

use serde_json::json;
use stack_tests::*;

/// Held by each test that moves the clock.
static CLOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Removes the offset when dropped, also when an assertion fails.
struct Offset(String);

impl Offset {
    fn set(seconds: i64) -> Self {
        let path = env("LOCAL_CLOCK_FILE");
        std::fs::write(&path, format!("{seconds}\n")).expect("the clock-offset file");
        Self(path)
    }
}

impl Drop for Offset {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn moving_the_local_clock_moves_every_function_and_back() {
    let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        env("LOCAL_CLOCK_FILE").ends_with(&format!(".stack/{}/clock-offset", env("LAMBDA_PORT"))),
        "the contract's place"
    );
    let caller = unique("clock");
    let address = fresh_address();
    let sent = post_json(
        "submit-email-verification",
        &caller,
        &json!({"Email": address}),
    )
    .json();
    assert_eq!(sent["SuccessList"].as_array().unwrap().len(), 1, "{sent}");
    let link = link_in(&mails_to(&address)[0]);

    // Three days and a minute later the link has expired, for the link page as for the others.
    {
        let _later = Offset::set(72 * 3600 + 60);
        let page = get_url(&link);
        assert!(
            page.body.contains("data-code=\"TokenExpired\""),
            "{} {}",
            page.status,
            page.body
        );
        // The quota's 60 s interval has passed too: a new link goes at once.
        let again = post_json(
            "submit-email-verification",
            &caller,
            &json!({"Email": address, "SendIfExist": true}),
        )
        .json();
        assert_eq!(again["SuccessList"].as_array().unwrap().len(), 1, "{again}");
        let query = post_json(
            "query-email-verification",
            &caller,
            &json!({"Email": address}),
        )
        .json();
        let sent_at = chrono::NaiveDateTime::parse_from_str(
            query["TokenSendTime"].as_str().unwrap(),
            "%Y-%m-%d %H:%M:%S",
        )
        .unwrap();
        assert!(
            sent_at.and_utc() - chrono::Utc::now() > chrono::Duration::hours(71),
            "the record's times are the moved clock's: {query}"
        );
    }
    // Back to the real time: the second link (sent "three days later") works, being younger than 72 h.
    let second = link_in(mails_to(&address).last().unwrap());
    let page = get_url(&second);
    assert!(
        page.body.contains("data-code=\"Success\""),
        "{} {}",
        page.status,
        page.body
    );
}

/// The `callers` command, as `make test` builds it beside this test.
fn put_settings(caller: &str, settings: &serde_json::Value) {
    let exe = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("callers");
    let file = std::env::temp_dir().join(format!("{}.json", unique("settings")));
    std::fs::write(&file, settings.to_string()).unwrap();
    let out = std::process::Command::new(exe)
        .args(["put", "--caller", caller, "--file"])
        .arg(&file)
        .output()
        .expect("callers runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn time_of(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

#[test]
fn a_record_takes_its_callers_deadline_and_a_verification_after_it_is_late() {
    let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let caller = unique("deadline");
    put_settings(
        &caller,
        &json!({"Deadline": {"Days": 2, "RemindAfterDays": [1]}}),
    );
    let (on_time, late) = (fresh_address(), fresh_address());
    for a in [&on_time, &late] {
        let sent = post_json(
            "submit-email-verification",
            &caller,
            &json!({"Email": a, "Domains": "example.com"}),
        )
        .json();
        assert_eq!(sent["SuccessList"].as_array().unwrap().len(), 1, "{sent}");
    }
    let q = post_json(
        "query-email-verification",
        &caller,
        &json!({"Email": on_time}),
    )
    .json();
    let (sent_at, deadline) = (time_of(&q["TokenSendTime"]), time_of(&q["Deadline"]));
    assert_eq!(deadline - sent_at, chrono::Duration::days(2), "{q}");
    assert_eq!(
        (
            &q["DeadlineMissed"],
            &q["RemindersSent"],
            &q["VerifiedLate"],
            &q["Domains"]
        ),
        (
            &json!(false),
            &json!(0),
            &json!(false),
            &json!(["example.com"])
        ),
        "{q}"
    );
    let page = get_url(&link_in(&mails_to(&on_time)[0]));
    assert!(page.body.contains("data-code=\"Success\""), "{}", page.body);
    // Two days and a minute later (the link works for three): verified, and late.
    {
        let _later = Offset::set(2 * 86_400 + 60);
        let page = get_url(&link_in(&mails_to(&late)[0]));
        assert!(
            page.body.contains("data-code=\"Success\""),
            "a late verification succeeds: {}",
            page.body
        );
    }
    let q = post_json("query-email-verification", &caller, &json!({"Email": late})).json();
    assert_eq!(
        (&q["VerificationStatus"], &q["VerifiedLate"]),
        (&json!(1), &json!(true)),
        "{q}"
    );
    let list = post_json(
        "list-email-verification",
        &caller,
        &json!({"VerificationStatus": 1}),
    )
    .json();
    let late_flags: Vec<(String, bool)> = list["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Email"].as_str().unwrap().to_string(),
                r["VerifiedLate"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(late_flags.len(), 2, "{list}");
    assert!(
        late_flags.contains(&(on_time.to_lowercase(), false))
            && late_flags.contains(&(late.to_lowercase(), true)),
        "{list}"
    );
    // A caller without settings: the vendors' record, no deadline fields.
    let plain = unique("no-deadline");
    let a = fresh_address();
    post_json("submit-email-verification", &plain, &json!({"Email": a}));
    let q = post_json("query-email-verification", &plain, &json!({"Email": a})).json();
    for field in [
        "Deadline",
        "DeadlineMissed",
        "RemindersSent",
        "VerifiedLate",
        "Domains",
    ] {
        assert!(q.get(field).is_none(), "{field}: {q}");
    }
}
