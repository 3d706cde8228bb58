use super::send::{send_all, SendMode};
use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// Sends a new link to each pending address; the old link stops working.
pub struct ResendEmailVerification;

impl Action for ResendEmailVerification {
    const NAME: &'static str = "ResendEmailVerification";
    const DYNAMODB: &'static [&'static str] = &[
        "GetItem",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
    ];
    const SENDS_MAIL: bool = true;

    #[tracing::instrument(name = "resend", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        req.caller()?;
        let list = req.params.email_list()?;
        Ok(Reply::Api(
            send_all(app, req, list, SendMode::Resend).await?,
        ))
    }
}
