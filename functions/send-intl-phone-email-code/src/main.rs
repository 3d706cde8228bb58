//! `SendIntlPhoneEmailCode` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::SendIntlPhoneEmailCode;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<SendIntlPhoneEmailCode>().await
}
