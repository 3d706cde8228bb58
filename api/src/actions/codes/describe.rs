use serde_json::{json, Value};

use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::Style;
use crate::routes::Route;
use shared::app::App;
use shared::code::{Contact, ContactType};
use shared::mail::Mailer;
use shared::model::format_time;
use shared::paging::{page_of, NextToken, PageQuery};
use shared::store::Store;

/// The caller's verified contacts, newest first: `Type` 0 (all, default), 1 or 2; `Offset`; `Limit` 1–200
/// (default 20); `Code` for one exact contact; `NextToken` (an extension) for the page after the previous one.
pub struct DescribeIntlPhoneEmailList;

impl Action for DescribeIntlPhoneEmailList {
    const NAME: &'static str = "DescribeIntlPhoneEmailList";
    const DYNAMODB: &'static [&'static str] = &["GetItem", "BatchGetItem", "Query"];
    const ROUTES: &'static [Route] = &[Route::GET, Route::POST];
    const STYLE: Style = Style::Tencent;

    #[tracing::instrument(name = "describe_contacts", skip_all)]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        let caller = req.caller()?;
        let p = &req.params;
        let kind = match p.int(
            "Type",
            0..=2,
            crate::phrases::A_CONTACT_TYPE_OR_ALL,
            Some(0),
        )? {
            Some(1) => Some(ContactType::Phone),
            Some(2) => Some(ContactType::Email),
            _ => None,
        };
        let offset = p
            .int(
                "Offset",
                0..=i64::from(u32::MAX),
                crate::phrases::FROM_0_TO_U32_MAX,
                Some(0),
            )?
            .unwrap_or(0);
        let limit = p
            .int("Limit", 1..=200, crate::phrases::FROM_1_TO_200, Some(20))?
            .unwrap_or(20);
        // An exact `Code` is read as the type says, or (Type 0) as an address if it holds `@`, else a number.
        let wanted: Option<Contact> = match p.get("Code") {
            None => None,
            Some(raw) => {
                let as_kind = kind.unwrap_or(if raw.contains('@') {
                    ContactType::Email
                } else {
                    ContactType::Phone
                });
                Some(p.contact(as_kind)?)
            }
        };
        let token = p
            .get("NextToken")
            .map(|t| {
                NextToken::decode(t)
                    .ok_or_else(|| ApiError::invalid("NextToken", crate::phrases::A_NEXT_TOKEN))
            })
            .transpose()?;
        let query = match token {
            Some(t) => PageQuery::after(t.cursor, limit as u32),
            None => PageQuery::offset(offset as u64, limit as u32),
        };
        let page = match &wanted {
            // One exact contact is one key.
            Some(w) => page_of(
                app.store
                    .get_contact(caller, w)
                    .await?
                    .into_iter()
                    .collect(),
                &query,
            ),
            None => app.store.list_contacts(caller, kind, &query).await?,
        };
        let list: Vec<Value> = page
            .items
            .iter()
            .map(|c| json!({"Code": c.contact.as_str(), "Type": c.contact.kind().code(), "CreatedOn": format_time(c.created)}))
            .collect();
        let mut body = crate::render::Body::new();
        body.insert("PhoneEmailList".into(), Value::Array(list));
        body.insert("TotalCount".into(), json!(page.total));
        if let Some(next) = page.next {
            // The page number only feeds List's CurrentPageNum; here it just keeps the token's form.
            body.insert(
                "NextToken".into(),
                json!(NextToken {
                    page: 2,
                    cursor: next
                }
                .encode()),
            );
        }
        Ok(Reply::Api(body))
    }
}
