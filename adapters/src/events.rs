//! The events function's work (the contract's "Events"): each committed change the table's stream hands
//! it becomes its events (`shared::events`), which go to the EventBridge bus and, for each of the caller's
//! webhooks whose `Events` take it, onto the webhook queue (SQS), whose consumer ([`crate::webhooks`])
//! signs and posts them.
//!
//! Nothing is lost: the records of a batch are handled in order, and the first that fails is named to
//! Lambda (`batchItemFailures`), which hands the batch again from that record on; a function that dies in
//! the middle of a batch gets the whole batch again. An event may so go out twice, with the same id.
//! No token or code is in a change's events, and none is logged.

use serde_json::{json, Value};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use shared::error::BackendError;
use shared::events::{derive, wanted, Event};
use shared::store::CallerStore;

use crate::dynamo::stream::records;
use crate::dynamo::DynamoStore;
use crate::sdk::LazyClient;

/// The `source` of the events on the bus.
pub const SOURCE: &str = "email-verification";

/// The AWS calls the events function makes (the template grants it these and the stream's reads).
pub const DYNAMODB: &[&str] = &["GetItem"];
pub const EVENTBRIDGE: &[&str] = &["PutEvents"];
pub const SQS: &[&str] = &["SendMessage"];

/// Where the events go: the bus, and the webhook queue.
pub struct Publisher {
    pub store: DynamoStore,
    pub bus: String,
    pub queue_url: String,
    pub eventbridge: LazyClient<aws_sdk_eventbridge::Client>,
    pub sqs: LazyClient<aws_sdk_sqs::Client>,
}

/// One webhook delivery, as it waits on the queue: no secret (the consumer reads it from the settings).
pub fn delivery_message(event: &Event, url: &str) -> String {
    json!({
        "caller": event.caller.as_str(),
        "url": url,
        "id": event.id,
        "type": event.kind.as_str(),
        "body": event.body_text(),
    })
    .to_string()
}

fn backend(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Store(format!("{what}: {e}"))
}

impl Publisher {
    /// Handles one stream batch; the answer names the first record that failed (and so all after it).
    /// An error fails the whole invocation (only the local fault does that: Lambda hands the batch again).
    pub async fn consume(&self, event: &Value) -> Result<Value, BackendError> {
        let fault = local_fault();
        for (done, record) in records(event).into_iter().enumerate() {
            if fault.is_some_and(|after| done >= after) {
                tracing::error!(
                    done,
                    "local fault: the events function stops in the middle of its batch"
                );
                return Err(BackendError::Store(
                    "local fault (LOCAL_EVENTS_FAULT_FILE)".into(),
                ));
            }
            let result = match record.change {
                Ok(Some(change)) => self.publish(&derive(&change)).await,
                Ok(None) => Ok(()),
                // An item no reader of the table can read (written by hand, or by an older version) would
                // hold every later change of its shard back for as long as the stream keeps it: it is
                // logged and passed over. Only a failure to publish is handed again.
                Err(e) => {
                    tracing::error!(error = %shared::error::Chain(&e), sequence = %record.sequence_number,
                        "a stream record that cannot be read: no event for it");
                    Ok(())
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %shared::error::Chain(&e), sequence = %record.sequence_number,
                    "events not published; the stream hands this record and those after it again");
                return Ok(
                    json!({"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}),
                );
            }
        }
        Ok(json!({"batchItemFailures": []}))
    }

    /// The events of one change: to the bus, then one message per webhook that wants it.
    pub async fn publish(&self, events: &[Event]) -> Result<(), BackendError> {
        if events.is_empty() {
            return Ok(());
        }
        let entries = events
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(e.kind.as_str())
                    .detail(e.body_text())
                    .build()
            })
            .collect::<Vec<_>>();
        let out = self
            .eventbridge
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                backend(
                    "PutEvents",
                    aws_sdk_eventbridge::error::DisplayErrorContext(e),
                )
            })?;
        if out.failed_entry_count() > 0 {
            return Err(backend(
                "PutEvents",
                format!("{} entries failed", out.failed_entry_count()),
            ));
        }
        let mut messages = Vec::new();
        for event in events {
            let state = self.store.caller_state(&event.caller).await?;
            let hooks = state.settings.iter().flat_map(|s| s.webhooks.iter());
            for hook in hooks.filter(|h| wanted(&h.events, event.kind)) {
                messages.push(delivery_message(event, &hook.url));
            }
        }
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| backend("SendMessageBatch", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .sqs
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    backend(
                        "SendMessageBatch",
                        aws_sdk_sqs::error::DisplayErrorContext(e),
                    )
                })?;
            if !out.failed().is_empty() {
                return Err(backend(
                    "SendMessageBatch",
                    format!("{} messages failed", out.failed().len()),
                ));
            }
        }
        Ok(())
    }
}

/// Local stack only (`LOCAL_EVENTS_FAULT_FILE`): a number N there makes the next batch stop after N
/// records, once, as a function that dies in the middle of a batch (the file is removed).
fn local_fault() -> Option<usize> {
    let path = std::env::var("LOCAL_EVENTS_FAULT_FILE")
        .ok()
        .filter(|p| !p.is_empty())?;
    let text = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    text.trim().parse().ok()
}
