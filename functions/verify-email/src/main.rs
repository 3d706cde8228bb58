//! `VerifyEmail` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::VerifyEmail;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<VerifyEmail>().await
}
