//! Issue 10: no hot partition for one caller. A simulated bulk import of 100,000 new addresses by one
//! caller at 5,000 a second runs through the real Submit action and the real DynamoDB store; an HTTP
//! client in this process answers DynamoDB and records every write the store sends. From those writes
//! (their keys and sizes, transactional writes at 2 WCU per KB, index entries at 1 WCU per KB) the test
//! computes the write units each partition key of the table and of the index takes in each second, and
//! fails if any key goes over DynamoDB's 1,000 a second. The same import with one shard (the layout before
//! the change) must go over: the test can fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use adapters::dynamo::{DynamoStore, Layout, DEFAULT_INDEX_SHARDS};
use adapters::env::FromEnv;
use api::action::{Action, Reply, Request};
use api::actions::SubmitEmailVerification;
use api::params::Params;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use bench::fakes::NoopMailer;
use serde_json::Value;
use shared::app::{App, Config};

const IMPORT: i64 = 100_000;
const PER_SECOND: i64 = 5_000;
const LIMIT: f64 = 1_000.0;

/// Write units by (partition key, second), for the table and for the index.
#[derive(Default)]
struct Ledger {
    table: HashMap<(String, i64), f64>,
    index: HashMap<(String, i64), f64>,
    writes: u64,
}

#[derive(Clone, Default)]
struct FakeDynamo {
    ledger: Arc<Mutex<Ledger>>,
    /// When the import started (epoch ms): a write belongs to the second of the record it writes.
    start_ms: Arc<AtomicI64>,
}

/// DynamoDB's item size: names and values (strings by their bytes, numbers about one byte per two digits).
fn size(item: &serde_json::Map<String, Value>) -> f64 {
    fn value(v: &Value) -> usize {
        match v {
            Value::Object(m) => match m.iter().next() {
                Some((t, Value::String(x))) if t == "S" => x.len(),
                Some((t, Value::String(x))) if t == "N" => x.len().div_ceil(2) + 1,
                Some((t, Value::Array(xs))) if t == "L" => {
                    3 + xs.iter().map(|x| value(x) + 1).sum::<usize>()
                }
                _ => 8,
            },
            _ => 8,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum::<usize>() as f64
}

fn key_of(x: &Value) -> String {
    x["Key"]["pk"]["S"]
        .as_str()
        .or_else(|| x["Item"]["pk"]["S"].as_str())
        .unwrap_or("?")
        .to_string()
}

impl FakeDynamo {
    fn record(&self, operation: &str, body: &Value) {
        // The second of the import: from the creation time of the record the request writes.
        let created = body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|i| {
                i["Put"]["Item"]["created"]["N"]
                    .as_str()
                    .and_then(|n| n.parse::<i64>().ok())
            });
        // A caller's day count (MailPerDay) carries the send's time as `:last`.
        let created = created.or_else(|| {
            body["ExpressionAttributeValues"][":last"]["N"]
                .as_str()
                .and_then(|n| n.parse::<i64>().ok())
        });
        let second = created.map_or(0, |ms| (ms - self.start_ms.load(Ordering::SeqCst)) / 1000);
        let mut ledger = self.ledger.lock().unwrap();
        let units = |bytes: f64| (bytes / 1024.0).ceil().max(1.0);
        let write = |ledger: &mut Ledger, x: &Value, transactional: bool| {
            let factor = if transactional { 2.0 } else { 1.0 };
            let bytes = x["Item"].as_object().map_or(100.0, size);
            *ledger.table.entry((key_of(x), second)).or_default() += factor * units(bytes);
            ledger.writes += 1;
            // A new item with the index's key writes an index entry (projection ALL: the whole item).
            if let Some(gsi) = x["Item"]["gsi1pk"]["S"].as_str() {
                *ledger.index.entry((gsi.to_string(), second)).or_default() += units(bytes);
            }
            let expression = x["UpdateExpression"].as_str().unwrap_or("");
            if expression.contains("gsi1pk") {
                *ledger
                    .index
                    .entry((format!("(updated) {}", key_of(x)), second))
                    .or_default() += 1.0;
            }
        };
        match operation {
            "TransactWriteItems" => {
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    for kind in ["Put", "Update", "Delete", "ConditionCheck"] {
                        if !item[kind].is_null() {
                            write(&mut ledger, &item[kind], true);
                        }
                    }
                }
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => write(&mut ledger, body, false),
            _ => {}
        }
    }
}

impl HttpConnector for FakeDynamo {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_string();
        let body: Value = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        self.record(&operation, &body);
        // Nothing is ever found: every address is new.
        let answer = if operation == "BatchGetItem" {
            r#"{"Responses":{},"UnprocessedKeys":{}}"#
        } else {
            "{}"
        };
        let mut response = Response::new(
            StatusCode::try_from(200).expect("200"),
            SdkBody::from(answer),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl std::fmt::Debug for FakeDynamo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeDynamo")
    }
}

impl HttpClient for FakeDynamo {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// Imports `count` addresses at `per_second` with the given shards; the busiest key of the table and of
/// the index, with its write units in its busiest second.
async fn import(
    count: i64,
    per_second: i64,
    layout: Layout,
) -> (Ledger, (String, f64), (String, f64)) {
    let fake = FakeDynamo::default();
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "k", "s", None, None, "test",
        ))
        .http_client(fake.clone())
        .build();
    let store =
        DynamoStore::with_layout(aws_sdk_dynamodb::Client::from_conf(conf), "import", layout);
    let start = chrono::Utc::now();
    fake.start_ms
        .store(start.timestamp_millis(), Ordering::SeqCst);
    // Four importers side by side, each with its own clock, each taking every fourth batch of 32.
    const WORKERS: i64 = 4;
    let workers = (0..WORKERS).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut config =
                Config::from_env().unwrap_or_else(|_| panic!("configuration from local/env.sh"));
            config.send_pacer = shared::pace::SendPacer::new(10_000.0);
            let now = Arc::new(AtomicI64::new(0));
            let clock_now = now.clone();
            let app = App {
                store,
                mailer: NoopMailer,
                sms: adapters::sms::SmsSender::None.into(),
                code_secret: None,
                config,
                clock: Arc::new(move || {
                    start + chrono::Duration::milliseconds(clock_now.load(Ordering::SeqCst))
                }),
            };
            let caller = shared::model::CallerId::parse("registrar-import").ok();
            let mut next = w * 32;
            while next < count {
                let batch: Vec<String> = (next..(next + 32).min(count))
                    .map(|i| format!("contact{i}@registrant{}.example", i % 997))
                    .collect();
                // The import reaches address `next` at `next / per_second` seconds.
                now.store(next * 1000 / per_second, Ordering::SeqCst);
                let email = batch.join(",");
                let req = Request::new(
                    Params::from_pairs([("Email", email.as_str())]),
                    caller.clone(),
                    "192.0.2.1",
                    false,
                )
                .expect("request");
                match SubmitEmailVerification::handle(&app, &req).await {
                    Ok(Reply::Api(body)) => {
                        let ok = body["SuccessList"].as_array().map_or(0, Vec::len);
                        assert_eq!(
                            ok,
                            batch.len(),
                            "every address of the batch is sent: {body:?}"
                        );
                    }
                    other => panic!("Submit failed: {:?}", other.err()),
                }
                next += 32 * WORKERS;
            }
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker.expect("an importer");
    }
    let ledger = std::mem::take(&mut *fake.ledger.lock().unwrap());
    let busiest = |m: &HashMap<(String, i64), f64>| {
        m.iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|((k, s), w)| (format!("{k} in second {s}"), *w))
            .unwrap_or_default()
    };
    let (t, i) = (busiest(&ledger.table), busiest(&ledger.index));
    (ledger, t, i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_import_at_5000_a_second_keeps_every_key_under_1000_write_units() {
    // A hundred thousand mails: no metric line for each on this test's output.
    std::env::set_var("EMF_METRICS", "0");
    let layout = Layout::new(DEFAULT_INDEX_SHARDS).expect("the default layout");
    let (ledger, table, index) = import(IMPORT, PER_SECOND, layout).await;
    println!("{IMPORT} addresses at {PER_SECOND}/s with {DEFAULT_INDEX_SHARDS} index shards: {} writes; busiest table key {} ({:.0} WCU/s); busiest index key {} ({:.0} WCU/s)", ledger.writes, table.0, table.1, index.0, index.1);
    // Every address wrote one index entry, under the caller's shards.
    let entries: f64 = ledger.index.values().sum();
    assert!(
        entries >= IMPORT as f64,
        "{entries} index write units for {IMPORT} addresses"
    );
    let shards: std::collections::BTreeSet<&str> =
        ledger.index.keys().map(|(k, _)| k.as_str()).collect();
    assert_eq!(shards.len(), DEFAULT_INDEX_SHARDS as usize, "{shards:?}");
    assert!(
        table.1 <= LIMIT,
        "table key {} takes {} WCU in one second",
        table.0,
        table.1
    );
    assert!(
        index.1 <= LIMIT,
        "index key {} takes {} WCU in one second",
        index.0,
        index.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_import_on_one_shard_goes_over() {
    std::env::set_var("EMF_METRICS", "0");
    // The first 2,000 addresses of a second are enough to show it.
    let (_, table, index) = import(2_000, PER_SECOND, Layout::new(1).expect("one shard")).await;
    assert!(
        index.1 > LIMIT && table.1 > LIMIT,
        "one shard: index {index:?}, table {table:?}"
    );
}

/// docs/API.md, "Pages and their cost": `IndexShards` 4 (a first page of 5 requests) carries about 2,600 new
/// addresses a second per caller, and not 5,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_carry_2600_a_second_and_not_5000() {
    std::env::set_var("EMF_METRICS", "0");
    let four = || Layout::new(4).expect("four shards");
    let (_, table, index) = import(26_000, 2_600, four()).await;
    println!("26,000 addresses at 2,600/s with 4 index shards: busiest table key {table:?}, busiest index key {index:?}");
    assert!(
        table.1 <= LIMIT && index.1 <= LIMIT,
        "4 shards at 2,600/s: index {index:?}, table {table:?}"
    );
    let (_, table, index) = import(5_000, PER_SECOND, four()).await;
    assert!(
        index.1 > LIMIT || table.1 > LIMIT,
        "4 shards at 5,000/s: index {index:?}, table {table:?}"
    );
}
