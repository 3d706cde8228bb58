//! The `ses-events` function: EventBridge hands it each SES event of the stack's configuration set.

use serde_json::Value;

/// The DynamoDB API actions the events consumer calls (the template grants it exactly these).
pub const DYNAMODB: &[&str] = &["UpdateItem"];

/// The whole `main` of the `ses-events` function: EventBridge hands it each SES event of the stack's
/// configuration set.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let aws = adapters::sdk::lambda_sdk_config()?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = std::sync::Arc::new(adapters::dynamo::DynamoStore::from_config(&aws, table));
    let policy = <shared::callers::StopPolicy as adapters::env::FromEnv>::from_env()?;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<Value>| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let done = adapters::ses_events::consume(store.as_ref(), &event.payload, &policy).await.map_err(|e| {
                tracing::error!(error = %shared::error::Chain(&e), "SES event not recorded; Lambda tries again, then the dead-letter queue");
                lambda_runtime::Error::from(e.to_string())
            })?;
            Ok::<Value, lambda_runtime::Error>(serde_json::json!({"addresses": done.addresses, "changed": done.changed}))
        }
    }))
    .await
}
