//! `CreateIntlPhoneEmail` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::CreateIntlPhoneEmail;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<CreateIntlPhoneEmail>().await
}
