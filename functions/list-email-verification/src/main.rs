//! `ListEmailVerification` as a Lambda function: the action lives in `api::actions`.

use api::actions::ListEmailVerification;

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run::<ListEmailVerification>().await
}
