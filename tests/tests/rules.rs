//! The rules users of these services have been burned by, run in this process against DynamoDB Local and
//! the SES emulator, with a clock the test moves (DynamoDB Local deletes expired items within seconds, so
//! "expired but still in the table" needs the handler to run at a later time, not a wait).

use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use api::action::{Action, Reply, Request};
use api::actions::{ResendEmailVerification, SubmitEmailVerification, VerifyEmail};
use api::error::ApiError;
use api::params::Params;
use chrono::Duration;
use serde_json::Value;
use shared::app::{App, Config};
use shared::mail::Mailer;
use shared::store::Store;
use stack_tests::*;

fn request(caller: &str, pairs: &[(&str, &str)]) -> Request {
    let caller = shared::model::CallerId::parse(caller).ok();
    Request::new(
        Params::from_pairs(pairs.iter().copied()),
        caller,
        "192.0.2.1",
        false,
    )
    .expect("valid request")
    .with_link_base(env("PUBLIC_BASE_URL"))
}

/// The public link page's request: no caller.
fn public(pairs: &[(&str, &str)]) -> Request {
    Request::new(
        Params::from_pairs(pairs.iter().copied()),
        None,
        "192.0.2.1",
        true,
    )
    .expect("valid request")
    .with_link_base(env("PUBLIC_BASE_URL"))
}

async fn run<A: Action, S: Store, M: Mailer>(
    app: &App<S, M>,
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

#[tokio::test]
async fn an_expired_link_still_in_the_table_is_refused() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("expiry"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let token = token_of(&link_in(&mails_to(&address)[0]));

    // The token item carries the TTL attribute DynamoDB deletes by: three days after sending.
    let items = items_of(&caller).await;
    let token_item = items
        .iter()
        .find(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#")))
        .expect("token item");
    let ttl: i64 = token_item["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, (clock.now() + Duration::hours(72)).timestamp());
    assert!(
        !token_item["pk"].as_s().unwrap().contains(&token),
        "only the token's hash is stored"
    );

    clock.advance(Duration::hours(72) + Duration::seconds(1));
    let err = run::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &token)]))
        .await
        .unwrap_err();
    assert_eq!(err, ApiError::TokenExpired);
    let record = app
        .store
        .get_record(
            &shared::model::CallerId::parse(&caller).unwrap(),
            &shared::model::EmailAddress::parse(&address).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.status,
        shared::model::VerificationStatus::Pending,
        "an expired link verifies nothing"
    );

    // One second before expiry it still works.
    let clock2 = TestClock::default();
    let app2 = local_app(&clock2).await;
    let (caller2, address2) = (unique("expiry"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app2, &request(&caller2, &[("Email", &address2)]))
        .await
        .unwrap();
    let token2 = token_of(&link_in(&mails_to(&address2)[0]));
    clock2.advance(Duration::hours(72) - Duration::seconds(1));
    run::<VerifyEmail, _, _>(&app2, &request(&caller2, &[("Token", &token2)]))
        .await
        .unwrap();
}

/// Found by the schema gate: a begin after the end gives an empty list, as docs/API.md says, not a 500
/// (DynamoDB refuses a BETWEEN whose bounds are the wrong way round).
#[tokio::test]
async fn a_begin_after_the_end_lists_nothing() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("begin-end"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let listed = run::<api::actions::ListEmailVerification, _, _>(
        &app,
        &request(&caller, &[("BeginCreateTime", "2"), ("EndCreateTime", "1")]),
    )
    .await
    .expect("an answer, not an error");
    assert_eq!(listed["TotalItemNum"], 0, "{listed}");
    assert_eq!(listed["Data"].as_array().map(Vec::len), Some(0), "{listed}");
}

/// Issue 9, defect 4: a record that cannot be read (here one stored by an older version as `i̇@example.com`)
/// must not take the caller's List down: it is skipped (and logged), the others are listed.
#[tokio::test]
async fn an_unreadable_record_is_skipped_by_list() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("unreadable"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let good = items_of(&caller)
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("EMAIL#")))
        .expect("record");
    let mut bad = good.clone();
    let broken = "i\u{307}@example.com";
    bad.insert(
        "pk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(format!("EMAIL#{caller}#{broken}")),
    );
    bad.insert(
        "email".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(broken.into()),
    );
    let sk = good["gsi1sk"]
        .as_s()
        .unwrap()
        .replace(&address.to_lowercase(), broken);
    bad.insert(
        "gsi1sk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(sk),
    );
    dynamo()
        .await
        .put_item()
        .table_name(env("TABLE_NAME"))
        .set_item(Some(bad.clone()))
        .send()
        .await
        .unwrap();
    // And an index entry that cannot even be placed in the order (no creation time).
    let mut placeless = bad;
    placeless.insert(
        "pk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(format!("EMAIL#{caller}#x-{address}")),
    );
    placeless.remove("created");
    dynamo()
        .await
        .put_item()
        .table_name(env("TABLE_NAME"))
        .set_item(Some(placeless))
        .send()
        .await
        .unwrap();

    let listed = run::<api::actions::ListEmailVerification, _, _>(
        &app,
        &request(&caller, &[("PageSize", "50")]),
    )
    .await
    .expect("List answers");
    let emails: Vec<&str> = listed["Data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["Email"].as_str())
        .collect();
    assert_eq!(emails, [address.to_lowercase()], "{listed}");
    assert_eq!(listed["TotalItemNum"], 1, "{listed}");
}

/// Issue 9, defect 6: one caller over its rate gets the vendors' throttling code while the others are
/// served.
#[tokio::test]
async fn one_caller_over_its_rate_is_throttled_and_the_others_are_served() {
    let clock = TestClock::default();
    let mut app = local_app(&clock).await;
    app.config.caller_rate = shared::rate::CallerRate::new(1.0, 3.0);
    let (alice, bob) = (unique("rate-alice"), unique("rate-bob"));
    let call = |caller: &str, action: &str, body: &str| {
        let mut event = lambda_http::Request::new(lambda_http::Body::Text(body.into()));
        event.headers_mut().insert(
            "content-type",
            lambda_http::http::HeaderValue::from_static("application/json"),
        );
        event.headers_mut().insert(
            "x-user-id",
            lambda_http::http::HeaderValue::from_str(caller).unwrap(),
        );
        (action.to_string(), event)
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (_, event) = call(&alice, "query", r#"{"Email":"nobody@example.com"}"#);
        let r =
            edge::lambda::handle::<api::actions::QueryEmailVerification, _, _>(&app, event).await;
        let body = match r.body() {
            lambda_http::Body::Text(t) => t.clone(),
            _ => String::new(),
        };
        statuses.push((
            r.status().as_u16(),
            serde_json::from_str::<Value>(&body).unwrap()["Code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ));
    }
    let throttled: Vec<_> = statuses
        .iter()
        .filter(|(s, c)| *s == 429 && c == "Throttling")
        .collect();
    assert_eq!(throttled.len(), 2, "{statuses:?}");
    assert!(statuses[..3].iter().all(|(s, _)| *s == 404), "{statuses:?}");
    // Bob is served meanwhile.
    let (_, event) = call(&bob, "query", r#"{"Email":"nobody@example.com"}"#);
    let r = edge::lambda::handle::<api::actions::QueryEmailVerification, _, _>(&app, event).await;
    assert_eq!(r.status().as_u16(), 404);
    // Tencent-style actions answer RequestLimitExceeded, HTTP 200.
    let (_, event) = call(&alice, "describe", r#"{"Type":0}"#);
    let r =
        edge::lambda::handle::<api::actions::DescribeIntlPhoneEmailList, _, _>(&app, event).await;
    assert_eq!(r.status().as_u16(), 200);
    let body = match r.body() {
        lambda_http::Body::Text(t) => t.clone(),
        _ => String::new(),
    };
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["Response"]["Error"]["Code"], "RequestLimitExceeded",
        "{v}"
    );
}

/// Issue 9, defect 6: the public link page is never cached, leaks no referrer, and may load nothing.
#[tokio::test]
async fn the_link_page_sends_no_store_no_referrer_and_a_strict_csp() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    for token in ["ab".repeat(32), "not-a-token".to_string()] {
        let mut event = lambda_http::Request::new(lambda_http::Body::Empty);
        *event.uri_mut() = format!("https://example.com/verify-email?Token={token}")
            .parse()
            .unwrap();
        let event = lambda_http::RequestExt::with_query_string_parameters(
            event,
            std::collections::HashMap::from([("Token".to_string(), token.clone())]),
        );
        let response = edge::lambda::handle::<VerifyEmail, _, _>(&app, event).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert!(header("content-type").starts_with("text/html"), "{token}");
        assert_eq!(header("cache-control"), "no-store", "{token}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{token}");
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{token}: {csp}");
        }
        assert!(!csp.contains("script-src"), "no script may run: {csp}");
    }
}

/// Issue 9, defect 5: an `X-User-Id` that is not ASCII is refused with 403, as the docs promise, instead of
/// silently becoming the caller `local`.
#[tokio::test]
async fn a_non_ascii_x_user_id_is_forbidden() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    assert!(
        app.config.local_caller_header,
        "local/env.sh turns the local caller switch on"
    );
    let mut request = lambda_http::Request::new(lambda_http::Body::Text(
        r#"{"Email":"a@example.com"}"#.into(),
    ));
    request.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    request.headers_mut().insert(
        "x-user-id",
        lambda_http::http::HeaderValue::from_bytes("ali\u{e7}e".as_bytes()).unwrap(),
    );
    let response =
        edge::lambda::handle::<api::actions::QueryEmailVerification, _, _>(&app, request).await;
    assert_eq!(response.status().as_u16(), 403);
    let body = match response.into_body() {
        lambda_http::Body::Text(t) => t,
        other => format!("{other:?}"),
    };
    assert!(body.contains("\"Forbidden\""), "{body}");
}

/// Issue 9, defect 7: a verified link opened after its 72 hours says "already verified", not "expired",
/// and DynamoDB's TTL sweep cannot take it away: a verified link's item loses its `ttl`.
#[tokio::test]
async fn a_verified_link_opened_after_72_hours_says_already_verified() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("verified-late"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let token = token_of(&link_in(&mails_to(&address)[0]));
    run::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &token)]))
        .await
        .unwrap();
    let token_item = items_of(&caller)
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#")))
        .expect("token item");
    assert!(
        !token_item.contains_key("ttl"),
        "a verified link's item must not expire: {token_item:?}"
    );

    clock.advance(Duration::hours(73));
    run::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &token)]))
        .await
        .expect("already verified, not expired");
    let page = run::<VerifyEmail, _, _>(&app, &public(&[("Token", &token)]))
        .await
        .unwrap();
    assert!(
        page.as_str()
            .unwrap_or("")
            .contains("data-code=\"Success\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_resend_replaces_the_link_and_the_old_one_stops_working() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("resend"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    clock.advance(Duration::seconds(61));
    let resent =
        run::<ResendEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
            .await
            .unwrap();
    assert_eq!(codes(&resent, "SuccessList"), ["Success"]);

    let mails = mails_to(&address);
    assert_eq!(mails.len(), 2);
    let (old, new) = (token_of(&link_in(&mails[0])), token_of(&link_in(&mails[1])));
    assert_ne!(old, new);
    assert_eq!(
        run::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &old)]))
            .await
            .unwrap_err(),
        ApiError::TokenInvalid
    );
    // The old link's item is gone from the table: one token item is left.
    let tokens = items_of(&caller)
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#")))
        .count();
    assert_eq!(tokens, 1);
    run::<VerifyEmail, _, _>(&app, &request(&caller, &[("Token", &new)]))
        .await
        .unwrap();
    // SendIfExist=true on a pending address also replaces the link (checked on a second address).
    let other = fresh_address();
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &other)]))
        .await
        .unwrap();
    clock.advance(Duration::seconds(61));
    let again = run::<SubmitEmailVerification, _, _>(
        &app,
        &request(&caller, &[("Email", &other), ("SendIfExist", "true")]),
    )
    .await
    .unwrap();
    assert_eq!(codes(&again, "SuccessList"), ["Success"]);
    let mails = mails_to(&other);
    assert_eq!(
        run::<VerifyEmail, _, _>(
            &app,
            &request(&caller, &[("Token", &token_of(&link_in(&mails[0])))])
        )
        .await
        .unwrap_err(),
        ApiError::TokenInvalid
    );
}

#[tokio::test]
async fn five_sends_a_day_then_the_quota_says_when() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("daily"), fresh_address());
    let submit = |send_if_exist: &'static str| {
        request(
            &caller,
            &[("Email", &address), ("SendIfExist", send_if_exist)],
        )
    };
    for i in 0..5 {
        let out = run::<SubmitEmailVerification, _, _>(&app, &submit("true"))
            .await
            .unwrap();
        assert_eq!(codes(&out, "SuccessList"), ["Success"], "send {i}");
        clock.advance(Duration::seconds(61));
    }
    let out = run::<SubmitEmailVerification, _, _>(&app, &submit("true"))
        .await
        .unwrap();
    assert_eq!(codes(&out, "FailList"), ["SendTokenQuotaExceeded"]);
    assert_eq!(out["FailList"][0]["RetryAfterSeconds"], 24 * 3600 - 5 * 61);
    assert_eq!(mails_to(&address).len(), 5);

    // Deleting the record does not reset the quota.
    let delete = request(&caller, &[("Email", &address)]);
    run::<api::actions::DeleteEmailVerification, _, _>(&app, &delete)
        .await
        .unwrap();
    let out = run::<SubmitEmailVerification, _, _>(&app, &submit("false"))
        .await
        .unwrap();
    assert_eq!(codes(&out, "FailList"), ["SendTokenQuotaExceeded"]);
    clock.advance(Duration::hours(24));
    let out = run::<SubmitEmailVerification, _, _>(&app, &submit("false"))
        .await
        .unwrap();
    assert_eq!(codes(&out, "SuccessList"), ["Success"]);
}

/// `n` requests of action `A` at once; the addresses sent and the ones the quota refused.
async fn concurrently<A: Action>(
    app: &Arc<App<DynamoStore, SesMailer>>,
    req: &Request,
    n: usize,
) -> (usize, usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (app, req) = (Arc::clone(app), req.clone());
            tokio::spawn(async move { run::<A, _, _>(&app, &req).await })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let body = t.await.expect("task").expect("answer");
        ok += codes(&body, "SuccessList").len();
        refused += codes(&body, "FailList")
            .iter()
            .filter(|c| *c == "SendTokenQuotaExceeded")
            .count();
    }
    (ok, refused)
}

async fn concurrent_submits(
    app: Arc<App<DynamoStore, SesMailer>>,
    caller: &str,
    address: &str,
    n: usize,
) -> (usize, usize) {
    concurrently::<SubmitEmailVerification>(
        &app,
        &request(caller, &[("Email", address), ("SendIfExist", "true")]),
        n,
    )
    .await
}

/// Issue 9, proof (concurrency): 50 Resends of one address at once send exactly the quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_resends_of_one_address_send_exactly_the_quota() {
    let clock = TestClock::default();
    let mut config = Config::from_env().unwrap();
    config.quota.min_interval = Duration::zero();
    let app = Arc::new(app_with(config, &clock, &aws_config::load_from_env().await));
    let (caller, address) = (unique("resend-race"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let (ok, refused) = concurrently::<ResendEmailVerification>(
        &app,
        &request(&caller, &[("Email", &address)]),
        50,
    )
    .await;
    assert_eq!(
        (ok, refused),
        (4, 46),
        "the Submit and four Resends make the daily five"
    );
    let mails = mails_to(&address);
    assert_eq!(mails.len(), 5);
    // Exactly one link works: the last one the record points at.
    let tokens = items_of(&caller)
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("TOKEN#")))
        .count();
    assert_eq!(tokens, 1, "one link item is left");
    let mut working = 0;
    for mail in &mails {
        if run::<VerifyEmail, _, _>(
            &app,
            &request(&caller, &[("Token", &token_of(&link_in(mail)))]),
        )
        .await
        .is_ok()
        {
            working += 1;
        }
    }
    assert_eq!(working, 1, "exactly one of the five links works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_for_one_address_send_once() {
    let clock = TestClock::default();
    let app = Arc::new(local_app(&clock).await);
    let (caller, address) = (unique("race"), fresh_address());
    let (ok, refused) = concurrent_submits(app, &caller, &address, 50).await;
    assert_eq!(
        (ok, refused),
        (1, 49),
        "the 60 s interval lets exactly one through"
    );
    assert_eq!(mails_to(&address).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_never_exceed_the_daily_cap() {
    let clock = TestClock::default();
    let mut config = Config::from_env().unwrap();
    config.quota.min_interval = Duration::zero();
    let app = Arc::new(app_with(config, &clock, &aws_config::load_from_env().await));
    let (caller, address) = (unique("cap"), fresh_address());
    let (ok, refused) = concurrent_submits(app, &caller, &address, 50).await;
    assert_eq!(
        (ok, refused),
        (5, 45),
        "with no interval, the cap of 5 holds"
    );
    assert_eq!(mails_to(&address).len(), 5);
}

#[tokio::test]
async fn a_mail_that_cannot_be_handed_over_leaves_no_record() {
    // The real SES client, pointed at a port where nothing listens.
    let clock = TestClock::default();
    let dead = aws_config::from_env()
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    let config = Config::from_env().unwrap();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&dead), &config.sender);
    let app = app_with_mailer(config, &clock, &aws_config::load_from_env().await, mailer);
    let (caller, address) = (unique("sesdown"), fresh_address());
    let out = run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    assert_eq!(codes(&out, "FailList"), ["NetworkIOError"]);
    let left: Vec<String> = items_of(&caller)
        .await
        .iter()
        // The day's mail count that the send took and gave back is 0: nothing spent.
        .filter(|i| !is_empty_day_count(i))
        .map(|i| {
            i["pk"]
                .as_s()
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(left, ["QUOTA"], "no record and no link left");
    let state = app
        .store
        .load_send_state(
            &shared::model::CallerId::parse(&caller).unwrap(),
            &shared::model::EmailAddress::parse(&address).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        state.quota.sends.is_empty(),
        "a failed send spends nothing: {:?}",
        state.quota
    );
}

#[tokio::test]
async fn the_public_link_page_needs_no_caller_but_the_api_does() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let (caller, address) = (unique("page"), fresh_address());
    run::<SubmitEmailVerification, _, _>(&app, &request(&caller, &[("Email", &address)]))
        .await
        .unwrap();
    let token = token_of(&link_in(&mails_to(&address)[0]));
    let anonymous = Request::new(
        Params::from_pairs([("Token", token.as_str())]),
        None,
        "192.0.2.1",
        false,
    )
    .unwrap();
    assert_eq!(
        run::<VerifyEmail, _, _>(&app, &anonymous)
            .await
            .unwrap_err(),
        ApiError::Forbidden
    );
    let page = Request::new(
        Params::from_pairs([("Token", token.as_str())]),
        None,
        "192.0.2.1",
        true,
    )
    .unwrap();
    match VerifyEmail::handle(&app, &page).await.unwrap() {
        Reply::Page { status, html } => {
            assert!(status == 200 && html.contains("data-code=\"Success\""))
        }
        other => panic!("expected a page, got {other:?}"),
    }
}
