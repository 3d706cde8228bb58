//! `DeleteIntlPhoneEmail` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::DeleteIntlPhoneEmail;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<DeleteIntlPhoneEmail>().await
}
