use serde_json::{json, Value};

use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::routes::Route;
use shared::app::App;
use shared::evidence::{Entry, Subject};
use shared::mail::Mailer;
use shared::store::Store;

use super::list::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// An extension in Alibaba's style (contract, "Evidence"): the evidence log of one address (`Email`) or
/// one contact (`Type` + `Code`) of the caller, oldest first, paged with `PageNum`/`PageSize`. Another
/// caller's evidence is never read: the caller is part of every key.
pub struct DescribeVerificationEvidence;

impl Action for DescribeVerificationEvidence {
    const NAME: &'static str = "DescribeVerificationEvidence";
    const DYNAMODB: &'static [&'static str] = &["BatchGetItem"];
    const ROUTES: &'static [Route] = &[Route::GET, Route::POST];

    #[tracing::instrument(name = "evidence", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let p = &req.params;
        let subject = match (p.get("Email"), p.get("Type"), p.get("Code")) {
            (Some(_), None, None) => Subject::Email(p.email()?),
            (None, Some(_), Some(_)) => Subject::Contact(p.contact(p.contact_type()?)?),
            (None, None, None) => return Err(ApiError::missing("Email")),
            _ => return Err(ApiError::invalid("Email", crate::phrases::EMAIL_OR_CONTACT)),
        };
        let (page_num, page_size) = p.page_num_and_size(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
        let log = shared::workflows::evidence::log(
            &app.store,
            caller,
            &subject,
            app.now(),
            app.config.evidence_retention,
        )
        .await?;
        let total = log.len() as u64;
        let skip = (page_num - 1).saturating_mul(page_size);
        let entries: Vec<Value> = log
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(page_size as usize)
            .map(entry_fields)
            .collect();
        let body = json!({
            "Evidence": entries,
            "PageNum": page_num,
            "PageSize": page_size,
            "TotalCount": total,
            "TotalPageNum": total.div_ceil(page_size),
            "RetentionDays": app.config.evidence_retention.as_days(),
        });
        Ok(Reply::Api(match body {
            Value::Object(map) => map,
            _ => Default::default(),
        }))
    }
}

/// One entry as the API shows it: its time in the record fields' format with milliseconds, and as epoch
/// milliseconds.
fn entry_fields(e: &Entry) -> Value {
    json!({
        "Id": e.id,
        "Time": e.at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        "Timestamp": e.at.timestamp_millis(),
        "Kind": e.kind.as_str(),
        "Channel": e.channel.as_str(),
        "Destination": e.destination,
        "Template": e.template,
        "TemplateVersion": e.template_version,
        "MessageId": e.message_id.clone().unwrap_or_default(),
        "Ip": e.ip.clone().unwrap_or_default(),
        "UserAgent": e.user_agent.clone().unwrap_or_default(),
        "Outcome": e.outcome.as_str(),
    })
}
