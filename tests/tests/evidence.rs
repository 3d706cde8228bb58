//! Issue 17, evidence: every message sent and every answer is kept, in order, for its caller only, with
//! its time, channel, destination, template, SES message id, source and outcome; kept after a delete,
//! gone with `PurgeEvidence=true`; a send that fails leaves none. Against the local stack (DynamoDB Local,
//! the SES emulator).

use api::action::Action;
use serde_json::{json, Value};
use shared::evidence::Subject;
use stack_tests::*;

const EVIDENCE: &str = "describe-verification-evidence";
const SUBMIT: &str = "submit-email-verification";

fn evidence(caller: &str, params: Value) -> Value {
    let answer = post_json(EVIDENCE, caller, &params);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

/// (Kind, Outcome) of each entry, in the order given.
fn steps(log: &Value) -> Vec<(String, String)> {
    log["Evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("no Evidence: {log}"))
        .iter()
        .map(|e| {
            (
                e["Kind"].as_str().unwrap().to_string(),
                e["Outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, o)| (k.to_string(), o.to_string()))
        .collect()
}

/// Opens a link as a browser would, with its own User-Agent.
fn open(link: &str, user_agent: &str) -> String {
    ureq::get(link)
        .set("User-Agent", user_agent)
        .call()
        .expect("the link page answers")
        .into_string()
        .unwrap()
}

#[test]
fn a_link_flow_is_kept_in_order_with_its_sources_for_its_caller_only() {
    let caller = unique("evidence");
    let address = fresh_address().to_lowercase();
    let sent = post_json(
        SUBMIT,
        &caller,
        &json!({"Email": address, "UserClientIp": "198.51.100.7", "Lang": "zh"}),
    )
    .json();
    assert_eq!(sent["SuccessList"][0]["Email"], address, "{sent}");
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 1);
    let page = open(&link_in(&mails[0]), "Mozilla/5.0 (evidence test)");
    assert!(page.contains("data-code=\"Success\""), "{page}");
    // Opened again: a success that changes nothing, so nothing is added.
    open(&link_in(&mails[0]), "Mozilla/5.0 (evidence test)");

    let log = evidence(&caller, json!({"Email": address}));
    assert_eq!(
        steps(&log),
        pairs(&[("Sent", "Sent"), ("LinkOpened", "Verified")]),
        "{log}"
    );
    assert_eq!(log["TotalCount"], 2);
    assert_eq!(log["RetentionDays"], 1095);
    let e = log["Evidence"].as_array().unwrap();
    let first = &e[0];
    assert_eq!(
        (
            &first["Channel"],
            &first["Destination"],
            &first["Template"],
            &first["TemplateVersion"],
            &first["Ip"],
        ),
        (
            &json!("email"),
            &json!(address),
            &json!("link.zh"),
            &json!("builtin-2"),
            &json!("198.51.100.7"),
        ),
        "{first}"
    );
    assert!(
        first["MessageId"].as_str().is_some_and(|m| !m.is_empty()),
        "SES's message id: {first}"
    );
    let opened = &e[1];
    assert_eq!(opened["UserAgent"], "Mozilla/5.0 (evidence test)");
    assert!(opened["Ip"].as_str().is_some_and(|ip| !ip.is_empty()));
    assert_eq!(
        (&opened["Template"], &opened["MessageId"]),
        (&json!(""), &json!(""))
    );
    // In time order, with milliseconds.
    let times: Vec<i64> = e.iter().map(|x| x["Timestamp"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let time = first["Time"].as_str().unwrap();
    assert_eq!(
        chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S%.3f")
            .unwrap()
            .and_utc()
            .timestamp_millis(),
        times[0],
        "{time}"
    );
    // Paged: the second page of one holds the second entry; a page past the end is empty.
    let second = evidence(
        &caller,
        json!({"Email": address, "PageSize": 1, "PageNum": 2}),
    );
    assert_eq!(steps(&second), pairs(&[("LinkOpened", "Verified")]));
    assert_eq!(
        (&second["TotalCount"], &second["TotalPageNum"]),
        (&json!(2), &json!(2))
    );
    let past = evidence(
        &caller,
        json!({"Email": address, "PageSize": 1, "PageNum": 3}),
    );
    assert_eq!(past["Evidence"], json!([]));
    // Only its caller reads it: another caller sees nothing of the same address.
    let other = evidence(&unique("evidence-other"), json!({"Email": address}));
    assert_eq!(
        (&other["TotalCount"], &other["Evidence"]),
        (&json!(0), &json!([]))
    );
    // The code family is apart: the address as a contact has no entry.
    let as_contact = evidence(&caller, json!({"Type": 2, "Code": address}));
    assert_eq!(as_contact["TotalCount"], 0);
}

#[test]
fn a_wrong_request_is_a_parameter_error_in_the_callers_language() {
    let caller = unique("evidence-bad");
    let missing = post_json(EVIDENCE, &caller, &json!({}));
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert_eq!(missing.json()["Code"], "ParameterIllegal");
    let both = post_json(
        EVIDENCE,
        &caller,
        &json!({"Email": fresh_address(), "Type": 2, "Code": fresh_address(), "Lang": "zh"}),
    );
    assert_eq!(both.status, 400, "{}", both.body);
    let body = both.json();
    assert_eq!(body["Code"], "ParameterIllegal");
    assert!(
        body["Message"].as_str().unwrap().contains("单独给出"),
        "{body}"
    );
    let page = post_json(
        EVIDENCE,
        &caller,
        &json!({"Email": fresh_address(), "PageSize": 501}),
    );
    assert_eq!(page.status, 400, "{}", page.body);
}

#[test]
fn codes_are_kept_sent_refused_and_confirmed() {
    let caller = unique("evidence-code");
    let address = fresh_address().to_lowercase();
    let sent = post_json(
        "send-intl-phone-email-code",
        &caller,
        &json!({"Type": 2, "Code": address}),
    )
    .json();
    assert!(sent["Response"]["Error"].is_null(), "{sent}");
    let code = code_in(&mails_to(&address)[0].text);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post_json(
        "create-intl-phone-email",
        &caller,
        &json!({"Type": 2, "Code": address, "VerifyCode": wrong}),
    )
    .json();
    assert!(!refused["Response"]["Error"].is_null(), "{refused}");
    let created = post_json(
        "create-intl-phone-email",
        &caller,
        &json!({"Type": 2, "Code": address, "VerifyCode": code}),
    )
    .json();
    assert!(created["Response"]["Error"].is_null(), "{created}");
    let log = evidence(&caller, json!({"Type": "2", "Code": address}));
    assert_eq!(
        steps(&log),
        pairs(&[
            ("CodeSent", "Sent"),
            ("CodeRefused", "WrongCode"),
            ("CodeConfirmed", "Verified")
        ]),
        "{log}"
    );
    let e = &log["Evidence"][0];
    assert_eq!(
        (&e["Template"], &e["Channel"]),
        (&json!("code.en"), &json!("email"))
    );
    assert!(
        e["MessageId"].as_str().is_some_and(|m| !m.is_empty()),
        "{e}"
    );
    // A text: its channel and template, no SES id.
    let phone = fresh_phone();
    post_json(
        "send-intl-phone-email-code",
        &caller,
        &json!({"Type": 1, "Code": phone}),
    );
    let log = evidence(&caller, json!({"Type": 1, "Code": phone}));
    assert_eq!(steps(&log), pairs(&[("CodeSent", "Sent")]), "{log}");
    let e = &log["Evidence"][0];
    assert_eq!(
        (
            &e["Channel"],
            &e["Template"],
            &e["MessageId"],
            &e["Destination"]
        ),
        (&json!("sms"), &json!("sms.en"), &json!(""), &json!(phone))
    );
}

#[test]
fn kept_after_a_delete_and_gone_with_purge_evidence() {
    let caller = unique("evidence-purge");
    let (kept, purged) = (
        fresh_address().to_lowercase(),
        fresh_address().to_lowercase(),
    );
    for a in [&kept, &purged] {
        post_json(SUBMIT, &caller, &json!({"Email": a}));
    }
    let deleted = post_json(
        "delete-email-verification",
        &caller,
        &json!({"Email": format!("{kept},{purged}")}),
    )
    .json();
    assert_eq!(
        deleted["SuccessList"].as_array().unwrap().len(),
        2,
        "{deleted}"
    );
    for a in [&kept, &purged] {
        assert_eq!(
            steps(&evidence(&caller, json!({"Email": a}))),
            pairs(&[("Sent", "Sent")]),
            "kept after the delete"
        );
    }
    // The record is gone; a delete with PurgeEvidence still finds the evidence, and removes it.
    let purge = post_json(
        "delete-email-verification",
        &caller,
        &json!({"Email": purged, "PurgeEvidence": true}),
    )
    .json();
    assert_eq!(purge["SuccessList"][0]["Email"], purged, "{purge}");
    assert_eq!(evidence(&caller, json!({"Email": purged}))["TotalCount"], 0);
    assert_eq!(evidence(&caller, json!({"Email": kept}))["TotalCount"], 1);
    // Nothing left to delete: not found.
    let again = post_json(
        "delete-email-verification",
        &caller,
        &json!({"Email": purged, "PurgeEvidence": "true"}),
    )
    .json();
    assert_eq!(
        again["FailList"][0]["Code"], "EmailVerificationNotExist",
        "{again}"
    );
    // A record deleted with PurgeEvidence in one call: both go.
    let both = fresh_address().to_lowercase();
    post_json(SUBMIT, &caller, &json!({"Email": both}));
    post_json(
        "delete-email-verification",
        &caller,
        &json!({"Email": both, "PurgeEvidence": true}),
    );
    assert_eq!(evidence(&caller, json!({"Email": both}))["TotalCount"], 0);
    let pks: Vec<String> = futures_block(items_of(&caller))
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .filter(|pk| pk.starts_with("EVIDENCE#"))
        .collect();
    assert_eq!(pks.len(), 1, "only the kept address's month: {pks:?}");

    // A contact: the same.
    let contact = fresh_address().to_lowercase();
    post_json(
        "send-intl-phone-email-code",
        &caller,
        &json!({"Type": 2, "Code": contact}),
    );
    let code = code_in(&mails_to(&contact)[0].text);
    post_json(
        "create-intl-phone-email",
        &caller,
        &json!({"Type": 2, "Code": contact, "VerifyCode": code}),
    );
    post_json(
        "delete-intl-phone-email",
        &caller,
        &json!({"Type": 2, "Code": contact}),
    );
    assert_eq!(
        evidence(&caller, json!({"Type": 2, "Code": contact}))["TotalCount"],
        2
    );
    let purge = post_json(
        "delete-intl-phone-email",
        &caller,
        &json!({"Type": 2, "Code": contact, "PurgeEvidence": true}),
    )
    .json();
    assert!(purge["Response"]["Error"].is_null(), "{purge}");
    assert_eq!(
        evidence(&caller, json!({"Type": 2, "Code": contact}))["TotalCount"],
        0
    );
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A mailer that refuses every mail, or whose answer is lost.
struct Refusing(bool);

impl shared::mail::Mailer for Refusing {
    async fn send(
        &self,
        _: &shared::mail::OutgoingMail,
    ) -> Result<Option<String>, shared::error::BackendError> {
        Err(if self.0 {
            shared::error::BackendError::Uncertain("the answer was lost".into())
        } else {
            shared::error::BackendError::Mail("MessageRejected".into())
        })
    }
}

/// A refused send leaves no entry (and no evidence item); a send whose answer was lost is kept as
/// `Uncertain` (its link works, since the mail may have arrived).
#[tokio::test]
async fn a_refused_send_leaves_no_evidence_and_a_lost_answer_is_uncertain() {
    let clock = TestClock::default();
    for uncertain in [false, true] {
        let base = local_app(&clock).await;
        let app = shared::app::App {
            store: base.store,
            mailer: Refusing(uncertain),
            sms: base.sms,
            code_secret: base.code_secret,
            config: base.config,
            clock: base.clock,
        };
        let caller = shared::model::CallerId::parse(&unique("evidence-fail")).unwrap();
        let email = shared::model::EmailAddress::parse(&fresh_address()).unwrap();
        let ctx = shared::workflows::Context {
            lang: shared::model::Lang::En,
            client_ip: "192.0.2.1".into(),
            link_base: "http://127.0.0.1".into(),
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(5),
            domains: None,
            user_agent: None,
        };
        let outcome = shared::workflows::link::send_link(
            &app,
            &caller,
            &email,
            shared::workflows::link::SendMode::Submit {
                send_if_exist: false,
            },
            &ctx,
        )
        .await;
        assert_eq!(outcome, shared::workflows::link::LinkOutcome::NotHandedOver);
        let log = shared::workflows::evidence::log(
            &app.store,
            &caller,
            &Subject::Email(email.clone()),
            clock.now(),
            app.config.evidence_retention,
        )
        .await
        .unwrap();
        let evidence_items: Vec<_> = items_of(caller.as_str())
            .await
            .into_iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("EVIDENCE#"))
            })
            .collect();
        if uncertain {
            assert_eq!(log.len(), 1, "{log:?}");
            assert_eq!(log[0].outcome, shared::evidence::Outcome::Uncertain);
            assert_eq!(evidence_items.len(), 1);
        } else {
            assert!(log.is_empty(), "{log:?}");
            assert!(evidence_items.is_empty(), "{evidence_items:?}");
        }
    }
}

/// A Resend is kept as `Resent`, with its own message id; the VerifyEmail of the API as `Verified`, with the
/// request's `UserClientIp`. In this process, with a clock the test moves past the minute between sends.
#[tokio::test]
async fn a_resend_and_an_api_verification_are_kept_too() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let caller = unique("evidence-resend");
    let address = fresh_address().to_lowercase();
    let call = |action: &'static str, pairs: Vec<(&'static str, String)>| {
        let req = api::action::Request::new(
            api::params::Params::from_pairs(pairs),
            shared::model::CallerId::parse(&caller).ok(),
            "192.0.2.1",
            false,
        )
        .unwrap()
        .with_user_agent(Some("registrar-backend/2.0".into()));
        (action, req)
    };
    let (_, submit) = call("Submit", vec![("Email", address.clone())]);
    api::actions::SubmitEmailVerification::handle(&app, &submit)
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(61));
    let (_, resend) = call("Resend", vec![("Email", address.clone())]);
    api::actions::ResendEmailVerification::handle(&app, &resend)
        .await
        .unwrap();
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 2);
    let token = token_of(&link_in(&mails[1]));
    // Entries of one millisecond are in no set order: the click comes a second later.
    clock.advance(chrono::Duration::seconds(1));
    let (_, verify) = call(
        "Verify",
        vec![("Token", token), ("UserClientIp", "203.0.113.50".into())],
    );
    api::actions::VerifyEmail::handle(&app, &verify)
        .await
        .unwrap();
    let log = shared::workflows::evidence::log(
        &app.store,
        &shared::model::CallerId::parse(&caller).unwrap(),
        &Subject::Email(shared::model::EmailAddress::parse(&address).unwrap()),
        clock.now(),
        app.config.evidence_retention,
    )
    .await
    .unwrap();
    let kinds: Vec<_> = log.iter().map(|e| (e.kind, e.outcome)).collect();
    use shared::evidence::{Kind, Outcome};
    assert_eq!(
        kinds,
        [
            (Kind::Sent, Outcome::Sent),
            (Kind::Resent, Outcome::Sent),
            (Kind::Verified, Outcome::Verified)
        ]
    );
    assert!(log[0].message_id.is_some() && log[0].message_id != log[1].message_id);
    assert_eq!(log[1].user_agent.as_deref(), Some("registrar-backend/2.0"));
    assert_eq!(log[2].ip.as_deref(), Some("203.0.113.50"));
}
