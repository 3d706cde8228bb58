//! The SES events of the stack's configuration set (EventBridge): deliveries, bounces, complaints and
//! rejects into the records (`shared::delivery`).

// The store's futures nest deeply inside lambda_runtime's service; the default limit is short.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::ses_events::run().await
}
