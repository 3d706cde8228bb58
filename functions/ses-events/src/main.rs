//! The SES events of the stack's configuration set (EventBridge): deliveries, bounces, complaints and
//! rejects into the records (`shared::delivery`).

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::delivery::run().await
}
