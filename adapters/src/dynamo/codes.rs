//! Codes and verified contacts in the same DynamoDB table (their keys are in [`super::keys`]).
//!
//! A contact's key in the listing order and for its shards is `<type>#<contact>`; it is counted in
//! `contacts_<type>` of its count shard (`cs`).

use chrono::{DateTime, Utc};

use super::keys::*;
use super::layout::Layout;
use super::pages::{order_of, Listing, Stream};
use super::{
    applied, get_n, get_s, get_time, item_to_quota, malformed, ms, n, names_in, readable, s,
    store_err, values, Cancelled, DynamoStore, Item, TTL_ATTRIBUTE,
};
use shared::code::{Contact, ContactType};
use shared::error::BackendError;
use shared::evidence::{Evidence, Subject};
use shared::model::CallerId;
use shared::quota::QuotaState;
use shared::spend::Daily;
use shared::store::{
    CodeRecord, CodeSendState, CodeStore, ContactRecord, Page, PageQuery, PageStart, WriteError,
};

fn count_field(kind: ContactType) -> &'static str {
    match kind {
        ContactType::Phone => "contacts_1",
        ContactType::Email => "contacts_2",
    }
}

fn parse_contact(item: &Item) -> Result<Contact, BackendError> {
    let kind =
        ContactType::parse(&get_n(item, "type")?.to_string()).ok_or_else(|| malformed("type"))?;
    Contact::parse(kind, get_s(item, "contact")?).ok_or_else(|| malformed("contact"))
}

pub(super) fn item_to_code(item: &Item) -> Result<CodeRecord, BackendError> {
    Ok(CodeRecord {
        caller: CallerId::parse(get_s(item, "caller")?).map_err(|_| malformed("caller"))?,
        contact: parse_contact(item)?,
        hash: get_s(item, "hash")?.to_string(),
        attempts: get_n(item, "attempts")? as u32,
        sent_at: get_time(item, "sent_at")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

/// A verified contact as stored: in its index shard, counted in its count shard.
pub(super) fn contact_to_item(c: &ContactRecord, layout: Layout) -> Item {
    let key = c.contact.key();
    let created = c.created.timestamp_millis();
    values([
        ("pk", s(contact_pk(&c.caller, &c.contact))),
        ("kind", s("contact")),
        ("caller", s(c.caller.as_str())),
        ("type", n(i64::from(c.contact.kind().code()))),
        ("contact", s(c.contact.as_str())),
        ("created", n(created)),
        (
            "gsi1pk",
            s(contacts_gsi_pk(&c.caller, layout.index_shard(&key))),
        ),
        // Time first: a shard reads newest first across both types in one range (`Type` is a filter).
        ("gsi1sk", s(format!("{}#{key}", pad(created)))),
        ("cs", n(i64::from(layout.count_shard(&key)))),
    ])
}

pub(super) fn contact_count_field(kind: ContactType) -> &'static str {
    count_field(kind)
}

pub(super) fn item_to_contact(item: &Item) -> Result<ContactRecord, BackendError> {
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
    async fn load_code_send_state(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<CodeSendState, BackendError> {
        // The caller's state: its mail may be stopped, and its settings hold its sender and templates (of
        // texts too). Read along with the contact's items unless it is cached.
        let email = match contact {
            Contact::Email(address) => Some(address),
            Contact::Phone(_) => None,
        };
        let cached = self.callers.get(caller);
        let mut keys = vec![contact_pk(caller, contact), code_quota_pk(caller, contact)];
        if let Some(address) = email {
            keys.push(super::delivery_pk(address.as_str()));
        }
        let caller_at = keys.len();
        if cached.is_none() {
            keys.push(super::caller_pk(caller));
        }
        let found = self
            .get_many(&keys.iter().map(String::as_str).collect::<Vec<_>>())
            .await?;
        let caller_state = self.caller_state_from(caller, cached, found.get(caller_at))?;
        Ok(CodeSendState {
            caller: caller_state,
            verified: found[0].is_some(),
            quota: found[1]
                .as_ref()
                .map(item_to_quota)
                .transpose()?
                .unwrap_or_default(),
            undeliverable: email.is_some()
                && super::is_undeliverable(found.get(2).and_then(Option::as_ref)),
        })
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn spend_code_quota(
        &self,
        caller: &CallerId,
        contact: &Contact,
        quota: &QuotaState,
        quota_expires_at: DateTime<Utc>,
    ) -> Result<(), WriteError> {
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
        let refund = QuotaState {
            sends: before.sends.clone(),
            version: spent.version + 1,
        };
        let put = self.quota_put(code_quota_pk(caller, contact), &refund, quota_expires_at)?;
        self.transact(vec![put]).await
    }

    #[tracing::instrument(skip_all)]
    async fn spend_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
        cap: u32,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, BackendError> {
        // Kept two days past its own (UTC day boundaries of other time zones), then swept by TTL.
        let expires = at.timestamp() + 3 * 86_400;
        let (pk, counter) = day_pk(caller, what, day, shard);
        let kind = match what {
            Daily::Texts => "smsday",
            Daily::Mails => "mailday",
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("SET kind = :kind, #ttl = :ttl, #last = :last ADD #n :one")
            .condition_expression("attribute_not_exists(#n) OR #n < :cap")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#n", counter)
            // When the day last counted one (epoch ms).
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":last", n(at.timestamp_millis()))
            .expression_attribute_values(":kind", s(kind))
            .expression_attribute_values(":ttl", n(expires))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":cap", n(i64::from(cap)))
            .send()
            .await;
        applied(result)
    }

    #[tracing::instrument(skip_all)]
    async fn refund_day(
        &self,
        caller: &CallerId,
        what: Daily,
        day: &str,
        shard: u32,
    ) -> Result<(), BackendError> {
        let (pk, counter) = day_pk(caller, what, day, shard);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .update_expression("ADD #n :minus")
            .condition_expression("#n > :zero")
            .expression_attribute_names("#n", counter)
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        // Nothing to give back (already 0, or swept): nothing to do.
        applied(result).map(|_| ())
    }

    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn put_code(&self, code: &CodeRecord, evidence: &Evidence) -> Result<(), BackendError> {
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
        // The new code replaces any earlier one unconditionally: it was just handed over. Its evidence in
        // the same transaction. Nothing is conditional, so a cancellation can only be another transaction on
        // the code at that moment (a wrong try of the old code): written again, a few times.
        for attempt in 0..4 {
            let items = vec![
                self.put(item.clone(), "", Item::new())?,
                self.evidence_write(evidence)?,
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(WriteError::Conflict) => {
                    shared::workflows::protocol::pause_before_retry(attempt).await
                }
                Err(WriteError::Backend(e)) => return Err(e),
            }
        }
        Err(BackendError::Store(
            "the code kept conflicting with other writes".into(),
        ))
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn get_code(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<CodeRecord>, BackendError> {
        self.get(code_pk(caller, contact))
            .await?
            .as_ref()
            .map(item_to_code)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn record_wrong_try(
        &self,
        code: &CodeRecord,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let mut vals = same_code_values(code);
        vals.insert(":one".into(), n(1));
        let tried = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("pk", s(code_pk(&code.caller, &code.contact)))
            .update_expression("SET attempts = attempts + :one")
            .condition_expression(SAME_CODE)
            .set_expression_attribute_names(names_in(SAME_CODE))
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(store_err)?;
        self.transact(vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(tried)
                .build(),
            self.evidence_write(evidence)?,
        ])
        .await
    }

    /// One transaction: the code is used up and a new contact written and counted; for a contact verified
    /// before, the code is used up and the contact kept as it is (its first CreatedOn stays).
    #[tracing::instrument(skip_all, fields(contact = %code.contact.masked()))]
    async fn consume_code(
        &self,
        code: &CodeRecord,
        at: DateTime<Utc>,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let layout = self.layout_for_write().await?;
        let key = code.contact.key();
        let count_shard = layout.count_shard(&key);
        let use_up = || {
            self.delete(
                code_pk(&code.caller, &code.contact),
                Some(SAME_CODE),
                same_code_values(code),
            )
        };
        let contact = contact_to_item(
            &ContactRecord {
                caller: code.caller.clone(),
                contact: code.contact.clone(),
                created: at,
            },
            layout,
        );
        let new_contact = vec![
            use_up()?,
            self.put(contact, "attribute_not_exists(pk)", Item::new())?,
            self.count_update(
                &code.caller,
                count_shard,
                &[(count_field(code.contact.kind()), 1)],
            )?,
            self.evidence_write(evidence)?,
        ];
        match self.transact_detailed(new_contact).await {
            Ok(()) => Ok(()),
            Err(Cancelled::Backend(e)) => Err(WriteError::Backend(e)),
            // The contact exists: use the code up, on the condition that it still does.
            Err(Cancelled::Conflict(failed)) if failed.get(1).copied().unwrap_or(false) => {
                let exists = self.condition_check(
                    contact_pk(&code.caller, &code.contact),
                    "attribute_exists(pk)",
                    Item::new(),
                )?;
                self.transact(vec![use_up()?, exists, self.evidence_write(evidence)?])
                    .await
            }
            Err(Cancelled::Conflict(_)) => Err(WriteError::Conflict),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list_contacts(
        &self,
        caller: &CallerId,
        kind: Option<ContactType>,
        page: &PageQuery,
    ) -> Result<Page<ContactRecord>, BackendError> {
        let layout = self.layout().await?;
        let streams: Vec<Stream> = (0..layout.index_shards())
            .map(|i| Stream::new(contacts_gsi_pk(caller, i), "", None, None))
            .collect();
        let order = |item: &Item| order_of(item, format!("{}#", get_n(item, "type")?), "contact");
        // The common first page of all types: the counts and the shards are read at once.
        if kind.is_none() && !matches!(page.start, PageStart::Offset(o) if o > 0) {
            let listing = Listing {
                streams,
                filter: None,
                order,
                selectivity: 1.0,
            };
            let (c, (items, next)) =
                tokio::try_join!(self.counts(caller, layout), self.page(listing, page))?;
            let total = u64::try_from(c.contacts[0] + c.contacts[1]).unwrap_or(0);
            return Ok(Page {
                items: readable(&items, item_to_contact, "contact"),
                total,
                next,
            });
        }
        let c = self.counts(caller, layout).await?;
        let all = u64::try_from(c.contacts[0] + c.contacts[1]).unwrap_or(0);
        let total = match kind {
            Some(k) => u64::try_from(c.contacts[usize::from(k.code()) - 1]).unwrap_or(0),
            None => all,
        };
        if matches!(page.start, PageStart::Offset(o) if o >= total) {
            return Ok(Page::empty(total));
        }
        let type_filter = kind.map(|k| ("#t = :t", values([(":t", n(i64::from(k.code())))])));
        let listing = Listing {
            streams,
            filter: type_filter,
            order,
            selectivity: if all == 0 {
                1.0
            } else {
                total as f64 / all as f64
            },
        };
        let (items, next) = self.page(listing, page).await?;
        Ok(Page {
            items: readable(&items, item_to_contact, "contact"),
            total,
            next,
        })
    }

    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn get_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<Option<ContactRecord>, BackendError> {
        self.get(contact_pk(caller, contact))
            .await?
            .as_ref()
            .map(item_to_contact)
            .transpose()
    }

    /// One transaction for a counted contact: it goes, and so does its count. A contact written before the
    /// counts (no `cs`) is deleted alone.
    #[tracing::instrument(skip_all, fields(contact = %contact.masked()))]
    async fn delete_contact(
        &self,
        caller: &CallerId,
        contact: &Contact,
        purge: bool,
    ) -> Result<bool, BackendError> {
        let deleted = self.delete_contact_only(caller, contact).await?;
        let purged = purge
            && self
                .purge_evidence(caller, &Subject::Contact(contact.clone()))
                .await?;
        Ok(deleted || purged)
    }
}

impl DynamoStore {
    async fn delete_contact_only(
        &self,
        caller: &CallerId,
        contact: &Contact,
    ) -> Result<bool, BackendError> {
        let layout = self.layout().await?;
        let shard = layout.count_shard(&contact.key());
        for _ in 0..3 {
            let counted = vec![
                self.delete(
                    contact_pk(caller, contact),
                    Some("cs = :cs"),
                    values([(":cs", n(i64::from(shard)))]),
                )?,
                self.count_update(caller, shard, &[(count_field(contact.kind()), -1)])?,
            ];
            match self.transact_detailed(counted).await {
                Ok(()) => return Ok(true),
                Err(Cancelled::Backend(e)) => return Err(e),
                Err(Cancelled::Conflict(_)) => {}
            }
            let out = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(contact_pk(caller, contact)))
                .condition_expression("attribute_not_exists(cs)")
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await;
            match out {
                Ok(out) => return Ok(out.attributes.is_some_and(|a| !a.is_empty())),
                Err(e) => match e.into_service_error() {
                    // Counted after all (written between the two attempts): try the counted way again.
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_) => {}
                    other => return Err(store_err(other)),
                },
            }
        }
        Err(BackendError::Store(
            "the contact kept changing while it was deleted".into(),
        ))
    }
}
