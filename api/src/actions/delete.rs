use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use crate::action::{Action, Reply, Request};
use crate::error::{ApiError, ItemCode};
use crate::messages::Msg;
use crate::render::Body;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// Deletes the caller's records of 1 to 100 addresses, with their links. The send quota is kept, so that
/// deleting and submitting again cannot be used to mail an address more often.
pub struct DeleteEmailVerification;

impl Action for DeleteEmailVerification {
    const NAME: &'static str = "DeleteEmailVerification";
    const DYNAMODB: &'static [&'static str] =
        &["GetItem", "BatchGetItem", "DeleteItem", "UpdateItem"];

    #[tracing::instrument(name = "delete", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let list = req.params.email_list()?;
        // Extension: `PurgeEvidence=true` also deletes the addresses' evidence (kept otherwise).
        let purge = req.params.bool("PurgeEvidence", false)?;
        let results: Vec<_> = stream::iter(list.valid)
            .map(|email| async move {
                let deleted = app.store.delete_record(caller, &email, purge).await;
                (email, deleted)
            })
            .buffered(app.config.send_concurrency)
            .collect()
            .await;
        let (mut success, mut fail) = (Vec::new(), Vec::new());
        for raw in &list.invalid {
            fail.push(super::items::outcome_item(
                raw,
                ItemCode::ParameterIllegal,
                &Msg::InvalidEmail,
                req.lang,
            ));
        }
        for (email, deleted) in results {
            let e = email.as_str();
            match deleted {
                Ok(true) => success.push(super::items::outcome_item(
                    e,
                    ItemCode::Success,
                    &Msg::Success,
                    req.lang,
                )),
                Ok(false) => fail.push(super::items::outcome_item(
                    e,
                    ItemCode::EmailVerificationNotExist,
                    &Msg::EmailVerificationNotExist,
                    req.lang,
                )),
                Err(err) => {
                    tracing::error!(error = %shared::error::Chain(&err), email = %email.masked(), "delete failed");
                    fail.push(super::items::outcome_item(
                        e,
                        ItemCode::InternalError,
                        &Msg::Internal,
                        req.lang,
                    ));
                }
            }
        }
        let mut body = Body::new();
        body.insert("SuccessList".into(), Value::Array(success));
        body.insert("FailList".into(), Value::Array(fail));
        Ok(Reply::Api(body))
    }
}
