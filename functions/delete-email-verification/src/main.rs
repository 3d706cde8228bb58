//! `DeleteEmailVerification` as a Lambda function: the action lives in `api::actions`.

use api::actions::DeleteEmailVerification;

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run::<DeleteEmailVerification>().await
}
