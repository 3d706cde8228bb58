use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::routes::Route;
use shared::app::App;
use shared::mail::Mailer;
use shared::paging::{page_of, NextToken, PageQuery};
use shared::store::{ListFilter, Store};

/// The caller's records, newest first, filtered by address, status and creation time, one page at a time:
/// `PageNum`/`PageSize`, or (an extension) the `NextToken` of the previous answer, which walks any number
/// of records at the cost of one page each.
pub struct ListEmailVerification;

pub const MAX_PAGE_SIZE: i64 = 500;
pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// Epoch milliseconds accepted for the time filters (up to the year 9999).
const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

impl Action for ListEmailVerification {
    const NAME: &'static str = "ListEmailVerification";
    const DYNAMODB: &'static [&'static str] = &["GetItem", "BatchGetItem", "Query"];
    const ROUTES: &'static [Route] = &[Route::GET, Route::POST];

    #[tracing::instrument(name = "list", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let p = &req.params;
        let email = p.get("Email").map(|_| p.email()).transpose()?;
        let status = p
            .get("VerificationStatus")
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::invalid("VerificationStatus", crate::phrases::ZERO_OR_ONE)
                })
            })
            .transpose()?;
        let time = |name: &'static str| -> Result<Option<DateTime<Utc>>, ApiError> {
            let ms = p.int(name, 0..=MAX_EPOCH_MS, crate::phrases::EPOCH_MS, None)?;
            Ok(ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single()))
        };
        let filter = ListFilter {
            status,
            created_from: time("BeginCreateTime")?,
            created_to: time("EndCreateTime")?,
        };
        let (page_num, page_size) = p.page_num_and_size(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;

        let token = p
            .get("NextToken")
            .map(|t| {
                NextToken::decode(t)
                    .ok_or_else(|| ApiError::invalid("NextToken", crate::phrases::A_NEXT_TOKEN))
            })
            .transpose()?;
        let (page_num, query) = match token {
            Some(t) => (t.page, PageQuery::after(t.cursor, page_size as u32)),
            None => (
                page_num,
                PageQuery::offset((page_num - 1).saturating_mul(page_size), page_size as u32),
            ),
        };
        let page = match &email {
            // An exact address is one key: read it rather than walk the caller's index.
            Some(email) => {
                let one: Vec<_> = app
                    .store
                    .get_record(caller, email)
                    .await?
                    .into_iter()
                    .filter(|r| filter.matches(r))
                    .collect();
                page_of(one, &query)
            }
            None => app.store.list_records(caller, &filter, &query).await?,
        };
        let total = page.total;
        let total_pages = total.div_ceil(page_size);
        let data: Vec<Value> = page
            .items
            .iter()
            .map(|r| Value::Object(super::items::record_fields(r)))
            .collect();
        let mut body = json!({
            "Data": data,
            "CurrentPageNum": page_num,
            "PageSize": page_size,
            "TotalPageNum": total_pages,
            "TotalItemNum": total,
            "NextPage": page.next.is_some(),
            "PrePage": page_num > 1,
        });
        if let Some(next) = page.next {
            body["NextToken"] = json!(NextToken {
                page: page_num + 1,
                cursor: next
            }
            .encode());
        }
        Ok(Reply::Api(match body {
            Value::Object(map) => map,
            _ => Default::default(),
        }))
    }
}
