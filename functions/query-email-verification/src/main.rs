//! `QueryEmailVerification` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::QueryEmailVerification;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<QueryEmailVerification>().await
}
