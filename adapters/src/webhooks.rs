//! The webhooks function's work: each message of the webhook queue (one event for one endpoint, written by
//! [`crate::events`]) is signed (Standard Webhooks 1.0, with the endpoint's secret read from the caller's
//! settings, never from the queue) and posted, with 15 s to answer.
//!
//! A 2xx answer is delivery. Anything else is named to Lambda (`batchItemFailures`) after the message's
//! visibility is set to the next wait of the schedule (`shared::events::retry_after`): SQS hands it again
//! then, with the same id, and after the last attempt its redrive policy moves it to the dead-letter queue.
//! The messages of a batch are posted concurrently: one slow endpoint holds no other up.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{json, Value};

use shared::events::{retry_after, signature};
use shared::metrics::{count, Metric};
use shared::model::CallerId;
use shared::store::CallerStore;

use crate::dynamo::DynamoStore;
use crate::sdk::LazyClient;

/// How long an endpoint has to answer one attempt.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The AWS calls the webhooks function makes (the template grants it these and the queue's reads).
pub const DYNAMODB: &[&str] = &["GetItem"];
pub const SQS: &[&str] = &["ChangeMessageVisibility"];

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct Deliverer {
    pub store: DynamoStore,
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
    pub queue_url: String,
    /// The local stack's `WEBHOOK_RETRY_SCALE` (1 deployed).
    pub retry_scale: u32,
    /// Made on the first delivery, not at cold start: reading the platform's root certificates made the
    /// webhooks function start in about twice the others' time (BENCHMARKS.md, cold start).
    http: tokio::sync::OnceCell<Client<Https, Full<Bytes>>>,
}

#[derive(Deserialize)]
struct Message {
    caller: String,
    url: String,
    id: String,
    body: String,
}

/// What became of one attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// The endpoint is no longer in the caller's settings: nothing to deliver to.
    Dropped,
    Failed(String),
}

impl Deliverer {
    pub fn new(
        store: DynamoStore,
        sqs: LazyClient<aws_sdk_sqs::Client>,
        queue_url: String,
        retry_scale: u32,
    ) -> Self {
        Self {
            store,
            sqs,
            queue_url,
            retry_scale,
            http: tokio::sync::OnceCell::new(),
        }
    }

    /// The HTTPS client (the platform's roots; http:// too, for the local stack's receivers).
    async fn http(&self) -> Result<&Client<Https, Full<Bytes>>, std::io::Error> {
        self.http
            .get_or_try_init(|| async {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .await
    }

    /// Handles one batch of the queue; the answer names the messages to hand again.
    pub async fn consume(&self, event: &Value) -> Value {
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let outcomes = futures_util::future::join_all(records.iter().map(|r| self.handle(r))).await;
        let failed: Vec<Value> = records
            .iter()
            .zip(outcomes)
            .filter(|(_, ok)| !ok)
            .map(|(r, _)| json!({"itemIdentifier": r.get("messageId").cloned().unwrap_or(Value::Null)}))
            .collect();
        json!({ "batchItemFailures": failed })
    }

    /// One message: `true` when it is done with (delivered, or nothing to deliver it to).
    async fn handle(&self, record: &Value) -> bool {
        let Some(message) = record
            .get("body")
            .and_then(Value::as_str)
            .and_then(|b| serde_json::from_str::<Message>(b).ok())
        else {
            tracing::error!(
                "a webhook message that cannot be read: left for the dead-letter queue"
            );
            return false;
        };
        let attempt = record
            .pointer("/attributes/ApproximateReceiveCount")
            .and_then(Value::as_str)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1u32);
        let outcome = self.attempt(&message).await;
        match &outcome {
            Attempt::Delivered => {
                count(Metric::WebhookDelivered, "webhooks", "event");
                tracing::info!(id = %message.id, attempt, "webhook delivered");
                true
            }
            Attempt::Dropped => {
                tracing::warn!(id = %message.id, "webhook endpoint no longer in the caller's settings: dropped");
                true
            }
            Attempt::Failed(why) => {
                count(Metric::WebhookFailed, "webhooks", "event");
                let wait = retry_after(attempt, self.retry_scale);
                tracing::warn!(id = %message.id, attempt, why = %why, retry_in_s = ?wait, "webhook not delivered");
                if wait.is_some() {
                    count(Metric::WebhookRetried, "webhooks", "event");
                }
                self.wait(record, wait.unwrap_or(0)).await;
                false
            }
        }
    }

    /// The message comes back after `seconds` (0 after the last attempt: to the dead-letter queue now).
    async fn wait(&self, record: &Value, seconds: u32) {
        let Some(handle) = record.get("receiptHandle").and_then(Value::as_str) else {
            return;
        };
        let result = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(seconds as i32)
            .send()
            .await;
        if let Err(e) = result {
            // The queue's own visibility timeout applies instead: a retry comes, a little off schedule.
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "visibility not set");
        }
    }

    /// Signs and posts one message to its endpoint.
    async fn attempt(&self, message: &Message) -> Attempt {
        let Ok(caller) = CallerId::parse(&message.caller) else {
            return Attempt::Dropped;
        };
        let state = match self.store.caller_state(&caller).await {
            Ok(state) => state,
            Err(e) => return Attempt::Failed(format!("settings not read: {e}")),
        };
        let Some(hook) = state
            .settings
            .as_ref()
            .and_then(|s| s.webhooks.iter().find(|h| h.url == message.url))
        else {
            return Attempt::Dropped;
        };
        let timestamp = chrono::Utc::now().timestamp();
        let request = hyper::Request::post(&message.url)
            .header("content-type", "application/json")
            .header("user-agent", "email-verification-webhooks/1")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&hook.key, &message.id, timestamp, &message.body),
            )
            .body(Full::new(Bytes::from(message.body.clone())));
        let request = match request {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(format!("request: {e}")),
        };
        let http = match self.http().await {
            Ok(http) => http,
            Err(e) => return Attempt::Failed(format!("TLS set-up: {e}")),
        };
        match tokio::time::timeout(TIMEOUT, http.request(request)).await {
            Err(_) => Attempt::Failed("no answer in 15 s".into()),
            Ok(Err(e)) => Attempt::Failed(format!("connection: {e}")),
            Ok(Ok(answer)) if answer.status().is_success() => Attempt::Delivered,
            Ok(Ok(answer)) => Attempt::Failed(format!("HTTP {}", answer.status().as_u16())),
        }
    }
}
