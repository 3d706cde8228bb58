//! The Tencent-style code actions against the local stack: codes by mail (read back from the SES
//! emulator) and by SMS (read back from the local outbox), the verified list, and every rule of codes.

use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use api::action::{Action, Reply, Request};
use api::actions::{CreateIntlPhoneEmail, SendIntlPhoneEmailCode};
use api::error::{ApiError, CodeProblem};
use api::params::Params;
use chrono::Duration;
use serde_json::{json, Value};
use shared::app::{App, Config};
use shared::store::CodeStore;
use stack_tests::*;

const SEND: &str = "send-intl-phone-email-code";
const CREATE: &str = "create-intl-phone-email";
const DESCRIBE: &str = "describe-intl-phone-email-list";
const DELETE: &str = "delete-intl-phone-email";

/// A Tencent-style call: always HTTP 200 with exactly `application/json`; returns `Response`.
fn call(function: &str, caller: &str, body: Value) -> Value {
    let a = post_json(function, caller, &body);
    assert_eq!(a.status, 200, "{function}: {}", a.body);
    assert_eq!(
        a.content_type, "application/json",
        "Tencent's SDK needs the bare content type"
    );
    let v = a.json();
    let id = v["Response"]["RequestId"]
        .as_str()
        .unwrap_or_else(|| panic!("no RequestId: {v}"));
    assert_eq!(id.len(), 36);
    v["Response"].clone()
}

fn error_code(response: &Value) -> &str {
    response["Error"]["Code"].as_str().unwrap_or("")
}

fn codes_listed(caller: &str, body: Value) -> Vec<(String, u64)> {
    let r = call(DESCRIBE, caller, body);
    r["PhoneEmailList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Code"].as_str().unwrap().to_string(),
                c["Type"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_code_by_mail_verifies_the_address_and_lists_it() {
    let caller = unique("code-mail");
    let address = fresh_address();
    let sent = call(SEND, &caller, json!({ "Type": 2, "Code": address }));
    assert!(sent.get("Error").is_none(), "{sent}");
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Your verification code");
    let code = code_in(&mails[0].text);
    assert!(mails[0].html.contains(&code));

    let created = call(
        CREATE,
        &caller,
        json!({ "Type": 2, "Code": address.to_uppercase(), "VerifyCode": code }),
    );
    assert!(created.get("Error").is_none(), "{created}");
    let listed = call(DESCRIBE, &caller, json!({ "Type": 0 }));
    assert_eq!(listed["TotalCount"], 1);
    let item = &listed["PhoneEmailList"][0];
    assert_eq!(
        (item["Code"].clone(), item["Type"].clone()),
        (json!(address.to_lowercase()), json!(2))
    );
    assert_eq!(item["CreatedOn"].as_str().unwrap().len(), 19);

    // Used once: the same code again is refused; a new send is refused since the address is verified.
    let reuse = call(
        CREATE,
        &caller,
        json!({ "Type": 2, "Code": address, "VerifyCode": code }),
    );
    assert_eq!(error_code(&reuse), "InternalError.CheckVerifyCodeErr");
    let again = call(SEND, &caller, json!({ "Type": 2, "Code": address }));
    assert_eq!(error_code(&again), "InternalError.VerifiedPhoneEmailErr");

    let deleted = call(DELETE, &caller, json!({ "Type": 2, "Code": address }));
    assert!(deleted.get("Error").is_none(), "{deleted}");
    assert_eq!(call(DESCRIBE, &caller, json!({}))["TotalCount"], 0);
    let gone = call(DELETE, &caller, json!({ "Type": 2, "Code": address }));
    assert_eq!(error_code(&gone), "ResourceNotFound.PhoneEmailNotExist");
}

#[test]
fn a_code_by_sms_goes_through_the_local_outbox() {
    let caller = unique("code-sms");
    let phone = fresh_phone();
    // Spaces and dashes are accepted and normalised to E.164.
    let spaced = format!("{} {}-{}", &phone[..3], &phone[3..7], &phone[7..]);
    let sent = call(
        SEND,
        &caller,
        json!({ "Type": 1, "Code": spaced, "Lang": "zh" }),
    );
    assert!(sent.get("Error").is_none(), "{sent}");
    let texts = texts_to(&phone);
    assert_eq!(texts.len(), 1, "one text in the outbox for {phone}");
    assert!(texts[0].starts_with("您的验证码是"), "{}", texts[0]);
    let code = code_in(&texts[0]);

    let created = call(
        CREATE,
        &caller,
        json!({ "Type": "1", "Code": phone, "VerifyCode": code }),
    );
    assert!(created.get("Error").is_none(), "{created}");
    assert_eq!(
        codes_listed(&caller, json!({ "Type": 1 })),
        [(phone.clone(), 1)]
    );
    assert!(codes_listed(&caller, json!({ "Type": 2 })).is_empty());
    assert_eq!(
        codes_listed(&caller, json!({ "Code": phone })),
        [(phone.clone(), 1)]
    );
    assert_eq!(
        call(DELETE, &caller, json!({ "Type": 1, "Code": phone })).get("Error"),
        None
    );
}

#[test]
fn the_fifth_wrong_try_invalidates_the_code() {
    let caller = unique("code-wrong");
    let address = fresh_address();
    call(SEND, &caller, json!({ "Type": 2, "Code": address }));
    let code = code_in(&mails_to(&address)[0].text);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for tries_left in (0..5).rev() {
        let r = call(
            CREATE,
            &caller,
            json!({ "Type": 2, "Code": address, "VerifyCode": wrong }),
        );
        assert_eq!(error_code(&r), "InternalError.VerifyCodeErr");
        let message = r["Error"]["Message"].as_str().unwrap();
        if tries_left > 1 {
            assert!(
                message.contains(&format!("{tries_left} tries left")),
                "{message}"
            );
        } else if tries_left == 1 {
            assert!(message.contains("1 try left"), "{message}");
        } else {
            assert!(message.contains("No tries are left"), "{message}");
        }
    }
    let right_but_late = call(
        CREATE,
        &caller,
        json!({ "Type": 2, "Code": address, "VerifyCode": code }),
    );
    assert_eq!(
        error_code(&right_but_late),
        "InternalError.CheckVerifyCodeErr"
    );
    assert!(right_but_late["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("too often"));
    assert_eq!(call(DESCRIBE, &caller, json!({}))["TotalCount"], 0);
}

#[test]
fn one_caller_cannot_see_use_or_delete_anothers_contacts() {
    let (alice, bob) = (unique("code-alice"), unique("code-bob"));
    let address = fresh_address();
    call(SEND, &alice, json!({ "Type": 2, "Code": address }));
    let code = code_in(&mails_to(&address)[0].text);
    // Bob cannot use the code Alice asked for.
    let stolen = call(
        CREATE,
        &bob,
        json!({ "Type": 2, "Code": address, "VerifyCode": code }),
    );
    assert_eq!(error_code(&stolen), "InternalError.CheckVerifyCodeErr");
    call(
        CREATE,
        &alice,
        json!({ "Type": 2, "Code": address, "VerifyCode": code }),
    );
    assert_eq!(call(DESCRIBE, &bob, json!({}))["TotalCount"], 0);
    assert_eq!(
        error_code(&call(DELETE, &bob, json!({ "Type": 2, "Code": address }))),
        "ResourceNotFound.PhoneEmailNotExist"
    );
    assert_eq!(call(DESCRIBE, &alice, json!({}))["TotalCount"], 1);
}

#[tokio::test]
async fn bad_input_is_refused_in_tencents_envelope_and_leaves_nothing_behind() {
    let caller = unique("code-bad");
    let address = fresh_address();
    let phone = fresh_phone();
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (SEND, json!({ "Code": address }), "MissingParameter", "The parameter Type is required."),
        (SEND, json!({ "Type": 1 }), "MissingParameter", "The parameter Code is required."),
        (SEND, json!({ "Type": 3, "Code": address }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Type is invalid: expected 1 (mobile number) or 2 (email address)."),
        (SEND, json!({ "Type": 1, "Code": "18766554433" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Code is invalid: expected a mobile number in E.164 format, such as +8613800138000."),
        (SEND, json!({ "Type": 1, "Code": "+86123" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Code is invalid: expected a mobile number in E.164 format, such as +8613800138000."),
        (SEND, json!({ "Type": 2, "Code": "not-an-address", "Lang": "zh" }), "InvalidParameterValue.InvalidParameterFormat", "参数 Code 的取值无效，应为一个有效的邮箱地址。"),
        (SEND, json!({ "Type": 2, "Code": address, "Lang": "fr" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Lang is invalid: expected en or zh, or a tag of either such as en-US, zh-CN or zh-Hans. 参数 Lang 的取值无效，应为 en 或 zh，或其语言标签，例如 en-US、zh-CN、zh-Hans。"),
        (CREATE, json!({ "Type": 1, "Code": phone, "VerifyCode": "12345" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter VerifyCode is invalid: expected 6 digits."),
        (CREATE, json!({ "Type": 1, "Code": phone, "VerifyCode": "1234567" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter VerifyCode is invalid: expected 6 digits."),
        (CREATE, json!({ "Type": 1, "Code": phone }), "MissingParameter", "The parameter VerifyCode is required."),
        (DESCRIBE, json!({ "Limit": 0 }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Limit is invalid: expected an integer from 1 to 200."),
        (DESCRIBE, json!({ "Limit": 201 }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Limit is invalid: expected an integer from 1 to 200."),
        (DESCRIBE, json!({ "Type": 3 }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Type is invalid: expected 0 (all), 1 (mobile number) or 2 (email address)."),
        (DESCRIBE, json!({ "Offset": -1 }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Offset is invalid: expected an integer from 0 to 4294967295."),
        (DESCRIBE, json!({ "Code": "8613800138000" }), "InvalidParameterValue.InvalidParameterFormat", "The parameter Code is invalid: expected a mobile number in E.164 format, such as +8613800138000."),
        (DELETE, json!({ "Type": 2 }), "MissingParameter", "The parameter Code is required."),
    ];
    for (function, body, code, message) in cases {
        let r = call(function, &caller, body.clone());
        assert_eq!(
            (error_code(&r), r["Error"]["Message"].as_str().unwrap_or("")),
            (code, message),
            "{function} {body}"
        );
    }
    let malformed = post_raw(SEND, &caller, "application/json", "{\"Type\": 2,");
    assert_eq!(
        (malformed.status, malformed.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(
        error_code(&malformed.json()["Response"]),
        "InvalidParameterValue.InvalidParameterFormat"
    );

    assert!(
        items_of(&caller).await.is_empty(),
        "a refused request wrote nothing"
    );
    assert!(
        mails_to(&address).is_empty() && texts_to(&phone).is_empty(),
        "and sent nothing"
    );
}

// In this process, with a clock the test moves.

fn request(caller: &str, pairs: &[(&str, &str)]) -> Request {
    Request::new(
        Params::from_pairs(pairs.iter().copied()),
        shared::model::CallerId::parse(caller).ok(),
        "192.0.2.1",
        false,
    )
    .unwrap()
}

async fn run<A: Action>(app: &App<DynamoStore, SesMailer>, req: &Request) -> Result<(), ApiError> {
    match A::handle(app, req).await? {
        Reply::Api(_) | Reply::Page { .. } => Ok(()),
    }
}

#[tokio::test]
async fn an_expired_code_still_in_the_table_is_refused_and_only_its_keyed_hash_is_stored() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("code-expiry"), fresh_address());
    let send = request(&caller, &[("Type", "2"), ("Code", &address)]);
    run::<SendIntlPhoneEmailCode>(&app, &send).await.unwrap();
    let code = code_in(&mails_to(&address)[0].text);

    let items = items_of(&caller).await;
    let item = items
        .iter()
        .find(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("CODE#")))
        .expect("code item");
    let hash = item["hash"].as_s().unwrap();
    assert!(!hash.contains(&code));
    let plain = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(code.as_bytes())
    );
    assert_ne!(hash, &plain, "not a bare SHA-256 of the code");
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, (clock.now() + Duration::minutes(10)).timestamp());

    clock.advance(Duration::minutes(10) + Duration::seconds(1));
    let create = request(
        &caller,
        &[("Type", "2"), ("Code", &address), ("VerifyCode", &code)],
    );
    assert_eq!(
        run::<CreateIntlPhoneEmail>(&app, &create).await,
        Err(ApiError::CodeUnusable(CodeProblem::Expired))
    );
    assert!(
        items_of(&caller)
            .await
            .iter()
            .any(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("CODE#"))),
        "still in the table"
    );
}

#[tokio::test]
async fn a_new_code_replaces_the_old_one() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, phone) = (unique("code-resend"), fresh_phone());
    let send = request(&caller, &[("Type", "1"), ("Code", &phone)]);
    run::<SendIntlPhoneEmailCode>(&app, &send).await.unwrap();
    assert!(matches!(
        run::<SendIntlPhoneEmailCode>(&app, &send).await,
        Err(ApiError::CodeSendLimited {
            retry_after_seconds: 60
        })
    ));
    clock.advance(Duration::seconds(61));
    run::<SendIntlPhoneEmailCode>(&app, &send).await.unwrap();
    let texts = texts_to(&phone);
    let (old, new) = (code_in(&texts[0]), code_in(&texts[1]));
    if old != new {
        let with_old = request(
            &caller,
            &[("Type", "1"), ("Code", &phone), ("VerifyCode", &old)],
        );
        assert!(matches!(
            run::<CreateIntlPhoneEmail>(&app, &with_old).await,
            Err(ApiError::CodeWrong { tries_left: 4 })
        ));
    }
    let with_new = request(
        &caller,
        &[("Type", "1"), ("Code", &phone), ("VerifyCode", &new)],
    );
    run::<CreateIntlPhoneEmail>(&app, &with_new).await.unwrap();
}

async fn concurrent_sends(
    app: Arc<App<DynamoStore, SesMailer>>,
    caller: &str,
    phone: &str,
) -> (usize, usize) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = Arc::clone(&app);
            let req = request(caller, &[("Type", "1"), ("Code", phone)]);
            tokio::spawn(async move { run::<SendIntlPhoneEmailCode>(&app, &req).await })
        })
        .collect();
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(()) => ok += 1,
            Err(ApiError::CodeSendLimited { .. }) => limited += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    (ok, limited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sends_hold_the_quota() {
    let clock = TestClock::default();
    let app = Arc::new(local_app(&clock).await);
    let (caller, phone) = (unique("code-race"), fresh_phone());
    assert_eq!(concurrent_sends(app, &caller, &phone).await, (1, 49));
    assert_eq!(texts_to(&phone).len(), 1);

    let mut config = Config::from_env().unwrap();
    config.quota.min_interval = Duration::zero();
    let app = Arc::new(app_with(config, &clock, &aws_config::load_from_env().await));
    let (caller, phone) = (unique("code-cap"), fresh_phone());
    assert_eq!(concurrent_sends(app, &caller, &phone).await, (5, 45));
    assert_eq!(texts_to(&phone).len(), 5);
}

/// Issue 9, proof (concurrency): 50 wrong guesses at one code at once count exactly 5 tries; then even the
/// right code is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_guesses_count_exactly_five_tries() {
    let clock = TestClock::default();
    let app = Arc::new(local_app(&clock).await);
    let (caller, address) = (unique("guess-race"), fresh_address());
    run::<SendIntlPhoneEmailCode>(
        &app,
        &request(&caller, &[("Type", "2"), ("Code", &address)]),
    )
    .await
    .unwrap();
    let right = code_in(&mails_to(&address)[0].text);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = Arc::clone(&app);
            let req = request(
                &caller,
                &[("Type", "2"), ("Code", &address), ("VerifyCode", wrong)],
            );
            tokio::spawn(async move { run::<CreateIntlPhoneEmail>(&app, &req).await })
        })
        .collect();
    let mut tries_left = Vec::new();
    let mut locked = 0;
    for t in tasks {
        match t.await.expect("task") {
            Err(ApiError::CodeWrong { tries_left: n }) => tries_left.push(n),
            Err(ApiError::CodeUnusable(CodeProblem::Locked)) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    tries_left.sort_unstable();
    assert_eq!(
        tries_left,
        [0, 1, 2, 3, 4],
        "exactly five wrong tries were counted, each once"
    );
    assert_eq!(locked, 45);
    let stored = app
        .store
        .get_code(
            &shared::model::CallerId::parse(&caller).unwrap(),
            &shared::code::Contact::parse(shared::code::ContactType::Email, &address).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attempts, 5);
    let err = run::<CreateIntlPhoneEmail>(
        &app,
        &request(
            &caller,
            &[("Type", "2"), ("Code", &address), ("VerifyCode", &right)],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        ApiError::CodeUnusable(CodeProblem::Locked),
        "the right code is refused once locked"
    );
}
