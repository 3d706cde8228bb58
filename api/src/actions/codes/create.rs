use super::common::{internal, secret, MAX_ATTEMPTS};
use crate::action::{Action, Reply, Request};
use crate::error::{ApiError, CodeProblem};
use crate::render::{Body, Style};
use shared::app::App;
use shared::config::CODE_MAX_TRIES;
use shared::mail::Mailer;
use shared::store::{Store, WriteError};

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
        for _ in 0..MAX_ATTEMPTS {
            let code = app
                .store
                .get_code(caller, &contact)
                .await
                .map_err(internal)?;
            let code = code.ok_or(ApiError::CodeUnusable(CodeProblem::Missing))?;
            let now = app.now();
            if now >= code.expires_at {
                return Err(ApiError::CodeUnusable(CodeProblem::Expired));
            }
            if code.attempts >= CODE_MAX_TRIES {
                return Err(ApiError::CodeUnusable(CodeProblem::Locked));
            }
            let written = if secret.verify(caller.as_str(), &contact, &given, &code.hash) {
                app.store.consume_code(&code, now).await.map(|()| Ok(()))
            } else {
                let tries_left = CODE_MAX_TRIES - code.attempts - 1;
                app.store
                    .record_wrong_try(&code)
                    .await
                    .map(|()| Err(ApiError::CodeWrong { tries_left }))
            };
            match written {
                Ok(Ok(())) => {
                    shared::metrics::count(
                        shared::metrics::Metric::CodesVerified,
                        Self::NAME,
                        "code",
                    );
                    tracing::info!(contact = %contact.masked(), "contact verified");
                    return Ok(Reply::Api(Body::new()));
                }
                Ok(Err(wrong)) => {
                    tracing::info!(contact = %contact.masked(), "wrong code");
                    return Err(wrong);
                }
                // Another request used or tried the code meanwhile: read it again.
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Backend(e)) => return Err(internal(e)),
            }
        }
        Err(internal(shared::error::BackendError::Store(
            "too many conflicting writes".into(),
        )))
    }
}
