use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::{Body, Style};
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// Removes a verified contact from the caller's list (`ResourceNotFound.PhoneEmailNotExist` if absent).
pub struct DeleteIntlPhoneEmail;

impl Action for DeleteIntlPhoneEmail {
    const NAME: &'static str = "DeleteIntlPhoneEmail";
    const DYNAMODB: &'static [&'static str] = &["GetItem", "DeleteItem", "UpdateItem"];
    const STYLE: Style = Style::Tencent;

    #[tracing::instrument(name = "delete_contact", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let contact = req.params.contact(req.params.contact_type()?)?;
        if app.store.delete_contact(caller, &contact).await? {
            tracing::info!(contact = %contact.masked(), "contact deleted");
            Ok(Reply::Api(Body::new()))
        } else {
            Err(ApiError::ContactNotFound)
        }
    }
}
