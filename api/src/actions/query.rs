use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::routes::Route;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// One address's verification record (404 `EmailVerificationNotExist` when the caller has none).
pub struct QueryEmailVerification;

impl Action for QueryEmailVerification {
    const NAME: &'static str = "QueryEmailVerification";
    const DYNAMODB: &'static [&'static str] = &["GetItem"];
    const ROUTES: &'static [Route] = &[Route::GET, Route::POST];

    #[tracing::instrument(name = "query", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let email = req.params.email()?;
        let record = app.store.get_record(caller, &email).await?;
        let record = record.ok_or(ApiError::EmailVerificationNotExist)?;
        Ok(Reply::Api(super::items::record_fields(&record)))
    }
}
