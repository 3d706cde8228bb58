//! The `webhooks` function: the webhook queue (SQS) hands it batches of deliveries, which it signs and posts
//! (`adapters::webhooks`).

use serde_json::Value;

/// The whole `main` of the `webhooks` function.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let aws = adapters::sdk::lambda_sdk_config()?;
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (table, queue_url) = (env("TABLE_NAME")?, env("WEBHOOK_QUEUE_URL")?);
    // Local stack only: the retry schedule divided, so that a test sees all of it in about a minute.
    let scale = match std::env::var("WEBHOOK_RETRY_SCALE") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| "WEBHOOK_RETRY_SCALE must be a whole number")?,
        _ => 1,
    };
    let sq = aws.clone();
    let deliverer = std::sync::Arc::new(adapters::webhooks::Deliverer::new(
        adapters::dynamo::DynamoStore::from_config(&aws, table),
        adapters::sdk::LazyClient::new(move || aws_sdk_sqs::Client::new(&sq)),
        queue_url,
        scale,
    ));
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<Value>| {
        let deliverer = std::sync::Arc::clone(&deliverer);
        async move { Ok::<Value, lambda_runtime::Error>(deliverer.consume(&event.payload).await) }
    }))
    .await
}
