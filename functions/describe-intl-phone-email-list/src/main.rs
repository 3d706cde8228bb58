//! `DescribeIntlPhoneEmailList` as a Lambda function: the action lives in `shared::actions`.

use shared::actions::DescribeIntlPhoneEmailList;

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::lambda::run::<DescribeIntlPhoneEmailList>().await
}
