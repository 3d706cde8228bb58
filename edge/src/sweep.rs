//! The `deadline-sweep` function: each invocation (an EventBridge schedule deployed; locally `make run`'s
//! loop, or the Lambda invoke API with `{}`) runs one sweep and answers its report.

use serde_json::Value;

/// The DynamoDB API actions the sweep calls (the template grants it exactly these).
pub const DYNAMODB: &[&str] = &[
    "Query",
    "GetItem",
    "BatchGetItem",
    "UpdateItem",
    "PutItem",
    "DeleteItem",
];

/// The whole `main` of the `deadline-sweep` function.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    // It mails; it sends no texts and makes no codes.
    let needs = api::actions::Info {
        name: "deadline-sweep",
        sends_mail: true,
        sends_sms: false,
        uses_code_secret: false,
        ..api::actions::ALL_NEEDS
    };
    let app = std::sync::Arc::new(crate::lambda::build_app(needs).await?);
    // Reminders carry a link: the stack's public base (deployed, the template gives the API's own address
    // when PublicBaseUrl is empty; a sweep has no request to take it from).
    let link_base = match app.config.public_base_url.as_str() {
        "" => std::env::var("SWEEP_LINK_BASE")
            .map_err(|_| "PUBLIC_BASE_URL or SWEEP_LINK_BASE must be set")?,
        base => base.to_string(),
    };
    let link_base = shared::config::link_base(&link_base)?;
    lambda_runtime::run(lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<Value>| {
        let (app, link_base) = (std::sync::Arc::clone(&app), link_base.clone());
        async move {
            let report = shared::workflows::sweep::sweep(app.as_ref(), &link_base)
                .await
                .map_err(|e| {
                    tracing::error!(error = %shared::error::Chain(&e), "deadline sweep failed; the next run tries again");
                    lambda_runtime::Error::from(e.to_string())
                })?;
            Ok::<Value, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
