use super::common::secret;
use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::{Body, Style};
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;
use shared::workflows::code::check_code;

/// Checks the code sent to a contact; when it is right, the contact becomes verified for the caller and
/// the code is used up. The fifth wrong try invalidates the code.
pub struct CreateIntlPhoneEmail;

impl Action for CreateIntlPhoneEmail {
    const NAME: &'static str = "CreateIntlPhoneEmail";
    const DYNAMODB: &'static [&'static str] = &[
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
    ];
    const STYLE: Style = Style::Tencent;
    const USES_CODE_SECRET: bool = true;

    #[tracing::instrument(name = "create_contact", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let contact = req.params.contact(req.params.contact_type()?)?;
        let given = req.params.verify_code()?;
        let secret = secret(app)?;
        check_code(
            app,
            secret,
            caller,
            &contact,
            &given,
            Self::NAME,
            &req.source(),
        )
        .await?;
        Ok(Reply::Api(Body::new()))
    }
}
