//! The second cold-start baseline: the hello-world function plus what the Python baseline does, the AWS
//! SDK's set-up (`aws_config::load_from_env`, a DynamoDB and an SES v2 client), and nothing else. Next to
//! `hello` it shows what the SDK's set-up costs at cold start; next to the functions, what the service's own
//! set-up (configuration, logging, the app) adds.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sesv2 = aws_sdk_sesv2::Client::new(&aws);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let _clients = (&dynamodb, &sesv2);
        async move { Ok::<Value, Error>(event.payload) }
    }))
    .await
}
