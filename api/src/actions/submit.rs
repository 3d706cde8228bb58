use super::send::{send_all, SendMode};
use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// Sends a verification link to each new address (1 to 100); pending ones go to ExistList unless
/// `SendIfExist=true`, verified ones go to ExistList as `EmailVerified`.
pub struct SubmitEmailVerification;

impl Action for SubmitEmailVerification {
    const NAME: &'static str = "SubmitEmailVerification";
    const DYNAMODB: &'static [&'static str] = &[
        "GetItem",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
    ];
    const SENDS_MAIL: bool = true;

    #[tracing::instrument(name = "submit", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        req.caller()?;
        let list = req.params.email_list()?;
        let send_if_exist = req.params.bool("SendIfExist", false)?;
        Ok(Reply::Api(
            send_all(app, req, list, SendMode::Submit { send_if_exist }).await?,
        ))
    }
}
