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
    let exe = workspace_bin("callers");
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

/// One run of the `deadline-sweep` function through the Lambda invoke API (as `make run` does every 10 s).
fn sweep() -> serde_json::Value {
    let url = format!(
        "http://{}:{}/2015-03-31/functions/deadline-sweep/invocations",
        env("BIND_HOST"),
        env("LAMBDA_PORT")
    );
    let text = ureq::post(&url)
        .send_string("{}")
        .expect("the sweep answers")
        .into_string()
        .unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn query(caller: &str, address: &str) -> serde_json::Value {
    post_json(
        "query-email-verification",
        caller,
        &json!({"Email": address}),
    )
    .json()
}

/// Issue 17: reminders on their days, each with a fresh link and the days left; the deadline marked missed
/// once; a late verification still succeeds.
#[test]
fn reminders_go_on_their_days_and_the_deadline_is_marked_once() {
    let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let caller = unique("reminders");
    put_settings(
        &caller,
        &json!({"Deadline": {"Days": 3, "RemindAfterDays": [1, 2]}}),
    );
    let (a, b) = (fresh_address(), fresh_address());
    for address in [&a, &b] {
        let sent = post_json(
            "submit-email-verification",
            &caller,
            &json!({"Email": address, "Domains": "registrant.example, bücher.example"}),
        )
        .json();
        assert_eq!(sent["SuccessList"].as_array().unwrap().len(), 1, "{sent}");
    }
    sweep();
    assert_eq!(mails_to(&a).len(), 1, "nothing due yet");

    // Day 1: one reminder each, with a fresh link that replaces the first one.
    {
        let _day1 = Offset::set(86_400 + 60);
        sweep();
        sweep();
    }
    let mails = mails_to(&a);
    assert_eq!(mails.len(), 2, "one reminder, however many runs");
    let reminder = &mails[1];
    assert_eq!(reminder.subject, "Reminder: verify your email address");
    assert!(
        reminder.text.contains("2 days are left"),
        "{}",
        reminder.text
    );
    assert!(
        reminder.text.contains("never ask you for a password"),
        "{}",
        reminder.text
    );
    assert!(
        reminder.text.contains("bücher.example"),
        "{}",
        reminder.text
    );
    let (first, fresh) = (link_in(&mails[0]), link_in(reminder));
    assert_ne!(first, fresh);
    let q = query(&caller, &a);
    assert_eq!(
        (&q["RemindersSent"], &q["DeadlineMissed"]),
        (&json!(1), &json!(false)),
        "{q}"
    );
    let old = get_url(&first);
    assert!(
        old.body.contains("data-code=\"TokenInvalid\""),
        "the first link was replaced: {}",
        old.body
    );

    // Day 2: the second reminder ("1 day"); a opens it and is verified on time.
    {
        let _day2 = Offset::set(2 * 86_400 + 60);
        sweep();
        let mails = mails_to(&a);
        assert_eq!(mails.len(), 3);
        assert!(mails[2].text.contains("1 day is left"), "{}", mails[2].text);
        let page = get_url(&link_in(&mails[2]));
        assert!(page.body.contains("data-code=\"Success\""), "{}", page.body);
    }

    // Day 3 and after: b's deadline passed, marked once; a is verified, so nothing more for it.
    {
        let _day3 = Offset::set(3 * 86_400 + 60);
        sweep();
        sweep();
        let q = query(&caller, &b);
        assert_eq!(
            (
                &q["DeadlineMissed"],
                &q["RemindersSent"],
                &q["VerificationStatus"]
            ),
            (&json!(true), &json!(2), &json!(0)),
            "{q}"
        );
        let page = get_url(&link_in(mails_to(&b).last().unwrap()));
        assert!(
            page.body.contains("data-code=\"Success\""),
            "a late verification succeeds: {}",
            page.body
        );
        // The evidence of each, in order (read while the clock is moved, as the entries are).
        let log_of = |address: &str| -> Vec<(String, String)> {
            let log = post_json(
                "describe-verification-evidence",
                &caller,
                &json!({"Email": address}),
            )
            .json();
            log["Evidence"]
                .as_array()
                .unwrap_or_else(|| panic!("{log}"))
                .iter()
                .map(|e| {
                    (
                        format!(
                            "{} {}",
                            e["Kind"].as_str().unwrap(),
                            e["Template"].as_str().unwrap()
                        ),
                        e["Outcome"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let expected = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, o)| (k.to_string(), o.to_string()))
                .collect()
        };
        assert_eq!(
            log_of(&a),
            expected(&[
                ("Sent link.en", "Sent"),
                ("Reminded reminder.en", "Sent"),
                ("Reminded reminder.en", "Sent"),
                ("LinkOpened ", "Verified"),
            ])
        );
        assert_eq!(
            log_of(&b),
            expected(&[
                ("Sent link.en", "Sent"),
                ("Reminded reminder.en", "Sent"),
                ("Reminded reminder.en", "Sent"),
                ("DeadlineMissed ", "Missed"),
                ("LinkOpened ", "VerifiedLate"),
            ])
        );
    }
    let q = query(&caller, &b);
    assert_eq!(
        (
            &q["VerificationStatus"],
            &q["VerifiedLate"],
            &q["DeadlineMissed"]
        ),
        (&json!(1), &json!(true), &json!(true)),
        "{q}"
    );
    let q = query(&caller, &a);
    assert_eq!(
        (
            &q["VerifiedLate"],
            &q["DeadlineMissed"],
            &q["RemindersSent"]
        ),
        (&json!(false), &json!(false), &json!(2)),
        "{q}"
    );
    assert_eq!(mails_to(&a).len(), 3, "no mail after its verification");
    assert_eq!(mails_to(&b).len(), 3, "no mail for a missed deadline");
}

/// A mailer that hands the mail over, then never returns: the sweep dies between the mail and the commit.
struct SendsThenDies(adapters::ses::SesMailer);

impl shared::mail::Mailer for SendsThenDies {
    async fn send(
        &self,
        mail: &shared::mail::OutgoingMail,
    ) -> Result<Option<String>, shared::error::BackendError> {
        self.0.send(mail).await?;
        std::future::pending::<()>().await;
        Ok(None)
    }
}

/// Issue 17: two sweeps at once send a reminder once; a sweep killed after the mail, before the commit,
/// leaves the reminder claimed, so the next run does not send it again.
#[tokio::test]
// CLOCK only keeps the other tests of this binary (which move the stack's clock) from running beside this one.
#[allow(clippy::await_holding_lock)]
async fn a_reminder_goes_once_with_two_sweeps_at_once_or_one_killed_halfway() {
    let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    use shared::workflows::sweep::sweep as run;
    let caller = unique("sweeps");
    put_settings(
        &caller,
        &json!({"Deadline": {"Days": 5, "RemindAfterDays": [1, 2]}}),
    );
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let base = env("PUBLIC_BASE_URL");
    let (raced, killed) = (fresh_address(), fresh_address());
    for address in [&raced, &killed] {
        let sent = post_json(
            "submit-email-verification",
            &caller,
            &json!({"Email": address}),
        )
        .json();
        assert_eq!(sent["SuccessList"].as_array().unwrap().len(), 1, "{sent}");
    }
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    // Two at once: each address gets its first reminder once.
    let (one, two) = tokio::join!(run(&app, &base), run(&app, &base));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert!(one.reminded + two.reminded >= 2, "{one:?} {two:?}");
    for address in [&raced, &killed] {
        assert_eq!(mails_to(address).len(), 2, "one reminder each");
        assert_eq!(query(&caller, address)["RemindersSent"], 1);
    }
    // Day 2, and the sweep dies right after handing a mail over.
    clock.advance(chrono::Duration::days(1));
    let dying = shared::app::App {
        store: app.store.clone(),
        mailer: SendsThenDies(app.mailer.clone()),
        sms: app.sms.clone(),
        code_secret: None,
        config: app.config.clone(),
        clock: app.clock.clone(),
    };
    let died = tokio::time::timeout(std::time::Duration::from_secs(5), run(&dying, &base)).await;
    assert!(died.is_err(), "killed halfway");
    let sent_before_death = [&raced, &killed].map(|a| mails_to(a).len());
    assert!(
        sent_before_death.contains(&3),
        "a mail went before the death: {sent_before_death:?}"
    );
    let again = run(&app, &base).await.unwrap();
    for (address, before) in [&raced, &killed].into_iter().zip(sent_before_death) {
        let q = query(&caller, address);
        assert_eq!(q["RemindersSent"], 2, "{q}");
        assert_eq!(
            mails_to(address).len(),
            3,
            "{address}: one second reminder, not two ({before} before the death; {again:?})"
        );
        // Its evidence: the reminder that went before the death stays `Pending` (it may have arrived);
        // none is written twice.
        let log = shared::workflows::evidence::log(
            &app.store,
            &shared::model::CallerId::parse(&caller).unwrap(),
            &shared::evidence::Subject::Email(shared::model::EmailAddress::parse(address).unwrap()),
            clock.now(),
            app.config.evidence_retention,
        )
        .await
        .unwrap();
        let reminders: Vec<_> = log
            .iter()
            .filter(|e| e.kind == shared::evidence::Kind::Reminded)
            .map(|e| e.outcome)
            .collect();
        assert_eq!(reminders.len(), 2, "{log:?}");
        if before == 3 {
            assert_eq!(reminders[1], shared::evidence::Outcome::Pending, "{log:?}");
        }
    }
}

/// Issue 17: a reminder spends no per-address quota (a Resend right after it goes), and an undeliverable
/// address gets none.
#[test]
fn reminders_spend_no_quota_and_skip_undeliverable_addresses() {
    let _one = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let caller = unique("reminder-rules");
    put_settings(
        &caller,
        &json!({"Deadline": {"Days": 4, "RemindAfterDays": [1]}}),
    );
    let (plain, bounced) = (
        fresh_address().to_lowercase(),
        fresh_address().to_lowercase(),
    );
    for address in [&plain, &bounced] {
        let sent = post_json(
            "submit-email-verification",
            &caller,
            &json!({"Email": address}),
        )
        .json();
        assert_eq!(sent["SuccessList"].as_array().unwrap().len(), 1, "{sent}");
    }
    // SES reports a hard bounce for one of them (the ses-events function, through the invoke API).
    let bounce = json!({
        "source": "aws.ses", "detail-type": "Email Bounced",
        "detail": {
            "eventType": "Bounce",
            "mail": {"timestamp": chrono::Utc::now().to_rfc3339(), "destination": [bounced]},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": chrono::Utc::now().to_rfc3339(),
                       "bouncedRecipients": [{"emailAddress": bounced}]}
        }
    });
    let url = format!(
        "http://{}:{}/2015-03-31/functions/ses-events/invocations",
        env("BIND_HOST"),
        env("LAMBDA_PORT")
    );
    let done = ureq::post(&url)
        .send_string(&bounce.to_string())
        .expect("ses-events answers")
        .into_string()
        .unwrap();
    assert!(done.contains("\"changed\":1"), "{done}");

    let _day1 = Offset::set(86_400 + 60);
    sweep();
    assert_eq!(mails_to(&plain).len(), 2, "the reminder");
    assert_eq!(
        mails_to(&bounced).len(),
        1,
        "no reminder to an undeliverable address"
    );
    let q = query(&caller, &bounced);
    assert_eq!(
        (&q["RemindersSent"], &q["DeadlineMissed"]),
        (&json!(0), &json!(false)),
        "{q}"
    );
    // Its evidence says why no reminder went.
    let log = post_json(
        "describe-verification-evidence",
        &caller,
        &json!({"Email": bounced}),
    )
    .json();
    let steps: Vec<(&str, &str)> = log["Evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|e| (e["Kind"].as_str().unwrap(), e["Outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [("Sent", "Sent"), ("ReminderSkipped", "Undeliverable")],
        "{log}"
    );
    // The reminder spent no quota: a Resend at once is not held by the 60 s interval.
    let resent = post_json(
        "resend-email-verification",
        &caller,
        &json!({"Email": plain}),
    )
    .json();
    assert_eq!(resent["SuccessList"][0]["Email"], plain, "{resent}");
}
