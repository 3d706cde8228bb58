//! Codes and verified contacts in the same DynamoDB table:
//!
//! | item          | `pk`                                   | other keys                                              | TTL (`ttl`)   |
//! |---------------|----------------------------------------|---------------------------------------------------------|---------------|
//! | code          | `CODE#<caller>#<type>#<contact>`       |                                                         | code expiry   |
//! | code quota    | `CODEQUOTA#<caller>#<type>#<contact>`  |                                                         | window after last send |
//! | contact       | `CONTACT#<caller>#<type>#<contact>`    | `gsi1pk` = `CONTACTS#<caller>`, `gsi1sk` = `<type>#<created ms>#<contact>` | none |

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::dynamo::{
    get_n, get_s, get_time, item_to_quota, malformed, ms, n, names_in, s, store_err, values, DynamoStore, Item,
    TTL_ATTRIBUTE,
};
use super::{CodeRecord, CodeSendState, CodeStore, ContactRecord, WriteError};
use crate::code::{Contact, ContactType};
use crate::error::BackendError;
use crate::model::CallerId;
use crate::quota::QuotaState;

fn suffix(caller: &CallerId, contact: &Contact) -> String {
    format!("{caller}#{}#{}", contact.kind().code(), contact.as_str())
}
fn code_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CODE#{}", suffix(caller, contact))
}
fn code_quota_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CODEQUOTA#{}", suffix(caller, contact))
}
fn contact_pk(caller: &CallerId, contact: &Contact) -> String {
    format!("CONTACT#{}", suffix(caller, contact))
}
fn contacts_gsi_pk(caller: &CallerId) -> String {
    format!("CONTACTS#{caller}")
}

fn parse_contact(item: &Item) -> Result<Contact, BackendError> {
    let kind = ContactType::parse(&get_n(item, "type")?.to_string()).ok_or_else(|| malformed("type"))?;
    Contact::parse(kind, get_s(item, "contact")?).ok_or_else(|| malformed("contact"))
}

fn item_to_code(item: &Item) -> Result<CodeRecord, BackendError> {
    Ok(CodeRecord {
        caller: CallerId::parse(get_s(item, "caller")?).map_err(|_| malformed("caller"))?,
        contact: parse_contact(item)?,
        hash: get_s(item, "hash")?.to_string(),
        attempts: get_n(item, "attempts")? as u32,
        sent_at: get_time(item, "sent_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

fn item_to_contact(item: &Item) -> Result<ContactRecord, BackendError> {
    Ok(ContactRecord {
        caller: CallerId::parse(get_s(item, "caller")?).map_err(|_| malformed("caller"))?,
        contact: parse_contact(item)?,
        created: get_time(item, "created")?,
    })
}

/// The condition that a code is still the one that was read.
const SAME_CODE: &str = "#h = :h AND attempts = :a";

fn same_code_values(code: &CodeRecord) -> Item {
    values([(":h", s(&code.hash)), (":a", n(i64::from(code.attempts)))])
}

impl CodeStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn load_code_send_state(&self, caller: &CallerId, contact: &Contact) -> Result<CodeSendState, BackendError> {
        let (contact, quota) = self.get_pair(&contact_pk(caller, contact), &code_quota_pk(caller, contact)).await?;
        Ok(CodeSendState {
            verified: contact.is_some(),
            quota: quota.as_ref().map(item_to_quota).transpose()?.unwrap_or_default(),
        })
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn spend_code_quota(&self, caller: &CallerId, contact: &Contact, quota: &QuotaState, quota_expires_at: DateTime<Utc>) -> Result<(), WriteError> {
        // The quota's version check is what serialises concurrent sends.
        let put = self.quota_put(code_quota_pk(caller, contact), quota, quota_expires_at)?;
        self.transact(vec![put]).await
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn refund_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        before: &QuotaState,
        spent: &QuotaState,
        quota_expires_at: DateTime<Utc>,
    ) -> Result<(), WriteError> {
        let refund = QuotaState { sends: before.sends.clone(), version: spent.version + 1 };
        let put = self.quota_put(code_quota_pk(caller, contact), &refund, quota_expires_at)?;
        self.transact(vec![put]).await
    }

    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn put_code(&self, code: &CodeRecord) -> Result<(), BackendError> {
        let item = values([
            ("pk", s(code_pk(&code.caller, &code.contact))),
            ("kind", s("code")),
            ("caller", s(code.caller.as_str())),
            ("type", n(i64::from(code.contact.kind().code()))),
            ("contact", s(code.contact.as_str())),
            ("hash", s(&code.hash)),
            ("attempts", n(i64::from(code.attempts))),
            ("sent_at", ms(code.sent_at)),
            ("expires_at", ms(code.expires_at)),
            (TTL_ATTRIBUTE, n(code.expires_at.timestamp())),
        ]);
        // The new code replaces any earlier one unconditionally: it was just handed over.
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(store_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn get_code(&self, caller: &CallerId, contact: &Contact) -> Result<Option<CodeRecord>, BackendError> {
        self.get(code_pk(caller, contact)).await?.as_ref().map(item_to_code).transpose()
    }

    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn record_wrong_try(&self, code: &CodeRecord) -> Result<(), WriteError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(code_pk(&code.caller, &code.contact)))
            .update_expression("SET attempts = attempts + :one")
            .condition_expression(SAME_CODE)
            .set_expression_attribute_names(names_in(SAME_CODE))
            .set_expression_attribute_values(Some(same_code_values(code)))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Err(WriteError::Conflict),
                e => Err(WriteError::Backend(store_err(e))),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn consume_code(&self, code: &CodeRecord, at: DateTime<Utc>) -> Result<(), WriteError> {
        let delete = self.delete(code_pk(&code.caller, &code.contact), Some(SAME_CODE), same_code_values(code))?;
        // A contact verified again keeps its first CreatedOn.
        let created = at.timestamp_millis();
        let upsert = Update::builder()
            .table_name(&self.table)
            .key("pk", s(contact_pk(&code.caller, &code.contact)))
            .update_expression(
                "SET kind = :kind, caller = :caller, #t = :type, contact = :contact, created = if_not_exists(created, :created), gsi1pk = :gpk, gsi1sk = if_not_exists(gsi1sk, :gsk)",
            )
            .expression_attribute_names("#t", "type")
            .set_expression_attribute_values(Some(values([
                (":kind", s("contact")),
                (":caller", s(code.caller.as_str())),
                (":type", n(i64::from(code.contact.kind().code()))),
                (":contact", s(code.contact.as_str())),
                (":created", n(created)),
                (":gpk", s(contacts_gsi_pk(&code.caller))),
                (":gsk", s(format!("{}#{created:015}#{}", code.contact.kind().code(), code.contact.as_str()))),
            ])))
            .build()
            .map_err(store_err)?;
        let upsert = TransactWriteItem::builder().update(upsert).build();
        self.transact(vec![delete, upsert]).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_contacts(&self, caller: &CallerId, kind: Option<ContactType>) -> Result<Vec<ContactRecord>, BackendError> {
        let items = match kind {
            Some(k) => {
                let values = values([(":c", s(contacts_gsi_pk(caller))), (":k", s(format!("{}#", k.code())))]);
                self.query_index("gsi1pk = :c AND begins_with(gsi1sk, :k)", None, values).await?
            }
            None => self.query_index("gsi1pk = :c", None, values([(":c", s(contacts_gsi_pk(caller)))])).await?,
        };
        let mut out = super::dynamo::readable(&items, item_to_contact, "contact");
        out.sort_by(|a, b| (a.created, &a.contact).cmp(&(b.created, &b.contact)));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn delete_contact(&self, caller: &CallerId, contact: &Contact) -> Result<bool, BackendError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(contact_pk(caller, contact)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_err)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}

