//! The `events` function: the table's stream (DynamoDB Streams deployed; local/streams.py locally) hands it
//! each batch of committed changes, which go out as events (`adapters::events`).

use serde_json::Value;

/// The whole `main` of the `events` function.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let aws = adapters::sdk::lambda_sdk_config()?;
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let (table, bus, queue_url) = (
        env("TABLE_NAME")?,
        env("EVENT_BUS_NAME")?,
        env("WEBHOOK_QUEUE_URL")?,
    );
    let (eb, sq) = (aws.clone(), aws.clone());
    let publisher = std::sync::Arc::new(adapters::events::Publisher {
        store: adapters::dynamo::DynamoStore::from_config(&aws, table),
        bus,
        queue_url,
        eventbridge: adapters::sdk::LazyClient::new(move || aws_sdk_eventbridge::Client::new(&eb)),
        sqs: adapters::sdk::LazyClient::new(move || aws_sdk_sqs::Client::new(&sq)),
    });
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let publisher = std::sync::Arc::clone(&publisher);
            async move {
                publisher.consume(&event.payload).await.map_err(|e| {
                    tracing::error!(error = %shared::error::Chain(&e), "the batch is handed again");
                    lambda_runtime::Error::from(e.to_string())
                })
            }
        },
    ))
    .await
}
