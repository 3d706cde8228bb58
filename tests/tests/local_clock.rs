//! Issue 17, the local clock: every function of the local stack adds the seconds in
//! `.stack/<LAMBDA_PORT>/clock-offset` (`LOCAL_CLOCK_FILE`) to its clock, read at each reading. One test in
//! a binary of its own: moving the stack's time would disturb any test running beside it.

use serde_json::json;
use stack_tests::*;

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
