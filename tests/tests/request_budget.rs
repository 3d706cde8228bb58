//! The DynamoDB request budget of each action's happy path, counted (not timed) by an SDK interceptor on
//! the clients the functions build, against DynamoDB Local and the SES emulator. A change that adds a
//! round trip to one of these paths fails here; `make bench` shows the same counts in BENCHMARKS.md.

use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use api::action::{Action, Reply, Request};
use api::actions::{QueryEmailVerification, SubmitEmailVerification, VerifyEmail};
use api::params::Params;
use bench::count::{counted_app, Counts, RequestCounter, DYNAMODB, SESV2};
use chrono::Duration;
use serde_json::Value;
use shared::app::{App, Config};
use stack_tests::*;

/// DynamoDB requests on the happy path, for one address.
const QUERY_BUDGET: u64 = 1;
const VERIFY_BUDGET: u64 = 2;
/// BatchGetItem (state) + TransactWriteItems (reserve) + UpdateItem (the caller's mails of the day,
/// `MailPerDay`: one conditional write keeps the cap exact under concurrency) + UpdateItem (issue 17: the
/// send's evidence completed with SES's message id, once SES took the mail; the reservation wrote it
/// `Pending` in its own transaction).
const SUBMIT_ONE_NEW_BUDGET: u64 = 4;

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

async fn app(clock: &TestClock) -> (App<DynamoStore, SesMailer>, RequestCounter) {
    let counter = RequestCounter::new();
    let config = Config::from_env().expect("configuration from local/env.sh");
    let c = clock.clone();
    let app = counted_app(
        config,
        &aws_config::load_from_env().await,
        &counter,
        Arc::new(move || c.now()),
    );
    // The table's layout (its index shards) is read once per function instance, at its first request.
    app.store
        .layout_for_write()
        .await
        .expect("the table's layout");
    assert!(
        counter.take().total(DYNAMODB) >= 1,
        "the layout is read (and stored, on a new table)"
    );
    app.store.layout().await.expect("the table's layout");
    assert_eq!(counter.take().total(DYNAMODB), 0, "read once per instance");
    (app, counter)
}

/// Runs an action and returns its answer and the requests it sent.
async fn counted<A: Action>(
    app: &App<DynamoStore, SesMailer>,
    counter: &RequestCounter,
    req: &Request,
) -> (Value, Counts) {
    counter.take();
    let reply = A::handle(app, req)
        .await
        .unwrap_or_else(|e| panic!("{} failed: {e:?}", A::NAME));
    let counts = counter.take();
    match reply {
        Reply::Api(body) => (Value::Object(body), counts),
        Reply::Page { html, .. } => (Value::String(html), counts),
    }
}

fn successes(body: &Value) -> usize {
    body["SuccessList"].as_array().map_or(0, Vec::len)
}

fn assert_within(action: &str, counts: &Counts, budget: u64) {
    let n = counts.total(DYNAMODB);
    assert!(
        n <= budget,
        "{action}: {n} DynamoDB requests ({}), over the budget of {budget}",
        counts.breakdown(DYNAMODB)
    );
}

#[tokio::test]
async fn the_happy_paths_stay_within_their_dynamodb_request_budgets() {
    let clock = TestClock::default();
    let (app, counter) = app(&clock).await;
    let (caller, address) = (unique("budget"), fresh_address());

    let (body, counts) = counted::<SubmitEmailVerification>(
        &app,
        &counter,
        &request(&caller, &[("Email", &address)]),
    )
    .await;
    assert_eq!(successes(&body), 1, "Submit of a new address: {body}");
    assert_within(
        "SubmitEmailVerification (one new address)",
        &counts,
        SUBMIT_ONE_NEW_BUDGET,
    );
    assert_eq!(counts.total(SESV2), 1, "one mail: {counts:?}");

    let (body, counts) = counted::<QueryEmailVerification>(
        &app,
        &counter,
        &request(&caller, &[("Email", &address)]),
    )
    .await;
    assert_eq!(body["VerificationStatus"], 0, "Query: {body}");
    assert_within("QueryEmailVerification", &counts, QUERY_BUDGET);

    let token = token_of(&link_in(mails_to(&address).last().expect("the mail")));
    clock.advance(Duration::seconds(1));
    let (_, counts) =
        counted::<VerifyEmail>(&app, &counter, &request(&caller, &[("Token", &token)])).await;
    assert_within("VerifyEmail", &counts, VERIFY_BUDGET);
    let (body, _) = counted::<QueryEmailVerification>(
        &app,
        &counter,
        &request(&caller, &[("Email", &address)]),
    )
    .await;
    assert_eq!(body["VerificationStatus"], 1, "verified: {body}");
}

/// Issue 9, defect 3: Delete removes the record and its link in one transaction (one write), so that a
/// failure between two writes cannot leave a link without its record.
#[tokio::test]
async fn delete_is_one_write() {
    let clock = TestClock::default();
    let (app, counter) = app(&clock).await;
    let (caller, address) = (unique("budget-delete"), fresh_address());
    counted::<SubmitEmailVerification>(&app, &counter, &request(&caller, &[("Email", &address)]))
        .await;
    let (body, counts) = counted::<api::actions::DeleteEmailVerification>(
        &app,
        &counter,
        &request(&caller, &[("Email", &address)]),
    )
    .await;
    assert_eq!(successes(&body), 1, "{body}");
    let writes: u64 = counts
        .0
        .iter()
        .filter(|((service, op), _)| {
            service == DYNAMODB
                && !op.starts_with("Get")
                && !op.starts_with("BatchGet")
                && op != "Query"
        })
        .map(|(_, n)| n)
        .sum();
    assert_eq!(writes, 1, "Delete: {}", counts.breakdown(DYNAMODB));
    assert_eq!(
        counts
            .0
            .get(&(DYNAMODB.to_string(), "TransactWriteItems".to_string())),
        Some(&1),
        "{}",
        counts.breakdown(DYNAMODB)
    );
    assert!(
        items_of(&caller).await.iter().all(|i| i["pk"]
            .as_s()
            .is_ok_and(|pk| pk.starts_with("QUOTA#")
                || pk.starts_with("MAILDAY#")
                || pk.starts_with("EVIDENCE#"))),
        "record and link are gone; the quota, the day's mail count and the evidence stay"
    );
}

/// A 100-address Submit costs what 100 single ones do: no request per call on top of the per-address ones.
#[tokio::test]
async fn a_submit_of_many_addresses_costs_the_same_per_address() {
    let clock = TestClock::default();
    let (app, counter) = app(&clock).await;
    let caller = unique("budget-many");
    let addresses: Vec<String> = (0..100).map(|_| fresh_address()).collect();
    let (body, counts) = counted::<SubmitEmailVerification>(
        &app,
        &counter,
        &request(&caller, &[("Email", &addresses.join(","))]),
    )
    .await;
    assert_eq!(successes(&body), 100, "{body}");
    assert_within(
        "SubmitEmailVerification (100 new addresses)",
        &counts,
        100 * SUBMIT_ONE_NEW_BUDGET,
    );
    assert_eq!(counts.total(SESV2), 100);
}
