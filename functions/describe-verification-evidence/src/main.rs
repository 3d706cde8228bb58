//! `DescribeVerificationEvidence` as a Lambda function: the action lives in `api::actions`.

use api::actions::DescribeVerificationEvidence;

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::lambda::run::<DescribeVerificationEvidence>().await
}
