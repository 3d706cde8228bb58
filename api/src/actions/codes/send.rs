use super::common::secret;
use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::{Body, Style};
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;
use shared::workflows::code::send_code;

/// Sends a six-digit code to a mobile number (`Type=1`, by SMS) or an address (`Type=2`, by mail). A new
/// code replaces the previous one. The same quota as the links: 60 s apart, 5 in 24 hours.
pub struct SendIntlPhoneEmailCode;

impl Action for SendIntlPhoneEmailCode {
    const NAME: &'static str = "SendIntlPhoneEmailCode";
    const DYNAMODB: &'static [&'static str] = &["BatchGetItem", "PutItem", "UpdateItem"];
    const STYLE: Style = Style::Tencent;
    const SENDS_MAIL: bool = true;
    const SENDS_SMS: bool = true;
    const USES_CODE_SECRET: bool = true;

    #[tracing::instrument(name = "send_code", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let contact = req.params.contact(req.params.contact_type()?)?;
        let secret = secret(app)?;
        send_code(app, secret, caller, &contact, &req.context(), Self::NAME).await?;
        Ok(Reply::Api(Body::new()))
    }
}
