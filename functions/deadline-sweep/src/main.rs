//! The deadline sweep (EventBridge, every 5 minutes; locally every 10 s under `make run`): reminders on
//! their days and missed deadlines (`shared::workflows::sweep`).

// The store's futures nest deeply inside lambda_runtime's service; the default limit is short.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::sweep::run().await
}
