//! The cold-start baseline: the smallest `lambda_runtime` function, built with the functions' profile.
//! Its time from process start to the first poll of the Runtime API is what no function can beat.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
