//! The table's committed changes (DynamoDB Streams) as events: to the EventBridge bus and the webhook queue.

// The store's futures nest deeply inside lambda_runtime's service; the default limit is short.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::events::run().await
}
