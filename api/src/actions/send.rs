//! What Submit and Resend share: every address of the call through the link workflow
//! ([`shared::workflows::link::send_link`]), a bounded number at once, and the answer's lists.

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::action::Request;
use crate::error::{ApiError, ItemCode};
use crate::messages::Msg;
use crate::outcomes::{link_item, List};
use crate::params::EmailList;
use crate::render::Body;
use shared::app::App;
use shared::mail::Mailer;
use shared::model::EmailAddress;
use shared::store::Store;
pub use shared::workflows::link::SendMode;
use shared::workflows::link::{send_link, LinkOutcome};

/// Serves every address of a Submit or Resend, a bounded number at once, and builds the lists.
pub async fn send_all<S: Store, M: Mailer>(
    app: &App<S, M>,
    req: &Request,
    list: EmailList,
    mode: SendMode,
) -> Result<Body, ApiError> {
    let caller = req.caller()?;
    let mut ctx = req.context();
    ctx.domains = req.params.domains()?;
    let ctx = &ctx;
    let outcomes: Vec<(EmailAddress, LinkOutcome)> = stream::iter(list.valid)
        .map(|email| async move {
            let outcome = send_link(app, caller, &email, mode, ctx).await;
            (email, outcome)
        })
        .buffered(app.config.send_concurrency)
        .collect()
        .await;
    let (mut success, mut fail, mut exist) = (Vec::new(), Vec::new(), Vec::new());
    for raw in &list.invalid {
        fail.push(super::items::outcome_item(
            raw,
            ItemCode::ParameterIllegal,
            &Msg::InvalidEmail,
            req.lang,
        ));
    }
    for (email, outcome) in outcomes {
        let (list, code, msg) = link_item(&outcome, mode);
        let item = super::items::outcome_item(email.as_str(), code, &msg, req.lang);
        match list {
            List::Success => success.push(item),
            List::Exist => exist.push(item),
            List::Fail => fail.push(item),
        }
    }
    let mut body = Body::new();
    body.insert("SuccessList".into(), Value::Array(success));
    body.insert("FailList".into(), Value::Array(fail));
    if matches!(mode, SendMode::Submit { .. }) {
        body.insert("ExistList".into(), json!(exist));
    }
    Ok(body)
}
