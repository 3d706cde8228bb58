//! The second cold-start baseline: the hello-world function plus the AWS SDK's set-up, and nothing else.
//!
//! - no argument: the SDK's defaults, what the Python baseline does too (`aws_config::load_from_env`, a
//!   DynamoDB and an SES v2 client): what a typical Rust Lambda pays for the SDK at cold start;
//! - `--service-setup`: the set-up the functions use (`adapters::sdk::lambda_sdk_config`, the DynamoDB and SES
//!   clients made on first use): next to `hello` it shows what the SDK still costs the functions at start, next
//!   to the functions what everything else (their own code, configuration, logging, a larger binary) adds.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (dynamodb, sesv2) = if std::env::args().any(|a| a == "--service-setup") {
        let aws = adapters::sdk::lambda_sdk_config()?;
        let for_ses = aws.clone();
        (
            adapters::sdk::LazyClient::new(move || aws_sdk_dynamodb::Client::new(&aws)),
            adapters::sdk::LazyClient::new(move || aws_sdk_sesv2::Client::new(&for_ses)),
        )
    } else {
        let aws = aws_config::load_from_env().await;
        (
            adapters::sdk::LazyClient::ready(aws_sdk_dynamodb::Client::new(&aws)),
            adapters::sdk::LazyClient::ready(aws_sdk_sesv2::Client::new(&aws)),
        )
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let _clients = (&dynamodb, &sesv2);
        async move { Ok::<Value, Error>(event.payload) }
    }))
    .await
}
