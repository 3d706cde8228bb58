use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::{Body, Style};
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// Removes a verified contact from the caller's list (`ResourceNotFound.PhoneEmailNotExist` if absent, and
/// no evidence was purged).
pub struct DeleteIntlPhoneEmail;

impl Action for DeleteIntlPhoneEmail {
    const NAME: &'static str = "DeleteIntlPhoneEmail";
    const DYNAMODB: &'static [&'static str] =
        &["GetItem", "BatchGetItem", "DeleteItem", "UpdateItem"];
    const STYLE: Style = Style::Tencent;

    #[tracing::instrument(name = "delete_contact", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let contact = req.params.contact(req.params.contact_type()?)?;
        // Extension: `PurgeEvidence=true` also deletes the contact's evidence (kept otherwise).
        let purge = req.params.bool("PurgeEvidence", false)?;
        if app.store.delete_contact(caller, &contact, purge).await? {
            tracing::info!(contact = %contact.masked(), "contact deleted");
            Ok(Reply::Api(Body::new()))
        } else {
            Err(ApiError::ContactNotFound)
        }
    }
}
