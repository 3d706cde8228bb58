//! The webhook queue's deliveries, signed (Standard Webhooks 1.0) and posted to the callers' endpoints.

// The store's futures nest deeply inside lambda_runtime's service; the default limit is short.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::webhooks::run().await
}
