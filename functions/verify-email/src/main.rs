//! `VerifyEmail` as a Lambda function: the action lives in `api::actions`.

use api::actions::VerifyEmail;

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run::<VerifyEmail>().await
}
