//! The DynamoDB store: the store port (`shared::store`) on one table. Its key formats are in [`keys`].

mod bulk;
mod callers;
mod codes;
mod evidence;
pub use evidence::evidence_pk;
pub mod keys;
pub mod layout;
pub mod migrate;
pub mod pages;
pub mod stream;
mod sweep;
mod table;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, TimeZone, Utc};

use keys::*;
pub use layout::{Layout, DEFAULT_INDEX_SHARDS};
use pages::{order_of, Listing, Stream};
use shared::delivery::DeliveryEvent;
use shared::error::BackendError;
use shared::evidence::{Entry, Evidence, Subject};
use shared::model::{
    CallerId, DomainName, EmailAddress, Lang, TokenHash, TokenRecord, VerificationRecord,
    VerificationStatus,
};
use shared::model::{Delivery, DeliveryKind};
use shared::quota::QuotaState;
use shared::store::{
    ListFilter, Page, PageQuery, PageStart, ReplayGuard, SendState, SendWrite, Store,
    VerifyOutcome, WriteError,
};
use table::*;
pub use table::{DynamoStore, ReadStats, TableStream, DUE_INDEX, LIST_INDEX, TTL_ATTRIBUTE};

impl DynamoStore {
    /// The record goes from pending on `token` to verified; `counted`: it must be counted in that shard.
    fn verify_update(
        &self,
        token: &TokenRecord,
        at: DateTime<Utc>,
        confirm_ip: &str,
        counted: Option<u32>,
    ) -> Result<TransactWriteItem, BackendError> {
        let mut vals = values([
            (":verified", n(1)),
            (":pending", n(0)),
            (":at", ms(at)),
            (":ip", s(confirm_ip)),
            (":one", n(1)),
            (":t", s(token.hash.as_str())),
        ]);
        let condition = match counted {
            Some(shard) => {
                vals.insert(":cs".into(), n(i64::from(shard)));
                "current_token = :t AND #s = :pending AND cs = :cs"
            }
            None => "current_token = :t AND #s = :pending AND attribute_not_exists(cs)",
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(record_pk(&token.caller, &token.email)))
            .update_expression("SET #s = :verified, verified_at = :at, modified = :at, confirm_ip = :ip REMOVE due_pk, due_sk ADD version :one")
            .condition_expression(condition)
            .expression_attribute_names("#s", "status")
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(store_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// A record whose first mail is not handed over yet (between the reservation and its commit or undo).
pub(crate) const UNSENT: &str = "unsent";

pub(super) fn record_to_item(r: &VerificationRecord, layout: Layout) -> Item {
    let mut item = values([
        ("pk", s(record_pk(&r.caller, &r.email))),
        ("kind", s("record")),
        ("caller", s(r.caller.as_str())),
        ("email", s(r.email.as_str())),
        ("status", n(i64::from(r.status.code()))),
        ("vno", s(&r.verification_no)),
        ("created", ms(r.created)),
        ("modified", ms(r.modified)),
        ("token_sent", ms(r.token_sent)),
        ("send_ip", s(&r.send_ip)),
        ("current_token", s(r.current_token.as_str())),
        ("lang", s(r.lang.as_str())),
        ("version", n(r.version as i64)),
        (
            "gsi1pk",
            s(list_pk(&r.caller, layout.index_shard(r.email.as_str()))),
        ),
        ("gsi1sk", s(list_sk(r.created, r.email.as_str()))),
        ("cs", n(i64::from(layout.count_shard(r.email.as_str())))),
    ]);
    if let Some(ip) = &r.confirm_ip {
        item.insert("confirm_ip".into(), s(ip));
    }
    if let Some(t) = r.verified_at {
        item.insert("verified_at".into(), ms(t));
    }
    if !r.domains.is_empty() {
        item.insert("domains".into(), domains_value(&r.domains));
    }
    if let Some(d) = r.deadline {
        item.insert("deadline".into(), ms(d));
        item.insert("reminders_sent".into(), n(i64::from(r.reminders_sent)));
        item.insert(
            "reminders_skipped".into(),
            n(i64::from(r.reminders_skipped)),
        );
        item.insert(
            "remind_days".into(),
            AttributeValue::L(
                r.remind_after_days
                    .iter()
                    .map(|d| n(i64::from(*d)))
                    .collect(),
            ),
        );
    }
    // In the due index while the deadline sweep has something to do for it.
    if let Some((_, at)) = r.next_due() {
        let pk = record_pk(&r.caller, &r.email);
        item.insert("due_pk".into(), s(due_pk(&pk)));
        item.insert("due_sk".into(), s(due_sk(at, &pk)));
    }
    if let Some(m) = r.deadline_missed {
        item.insert("deadline_missed".into(), ms(m));
    }
    item
}

/// The record's domain names: a list (their order kept), empty when there are none.
fn domains_value(domains: &[DomainName]) -> AttributeValue {
    AttributeValue::L(domains.iter().map(|d| s(d.as_str())).collect())
}

/// A small count of the item (0 when absent).
fn small_n(item: &Item, name: &str) -> u32 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The record's domain names as stored; one that no longer parses is left out.
fn item_domains(item: &Item) -> Vec<DomainName> {
    item.get("domains")
        .and_then(|v| v.as_l().ok())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_s().ok())
        .filter_map(|d| DomainName::parse(d).ok())
        .collect()
}

pub(super) fn item_to_record(item: &Item) -> Result<VerificationRecord, BackendError> {
    let status = match get_n(item, "status")? {
        0 => VerificationStatus::Pending,
        1 => VerificationStatus::Verified,
        _ => return Err(malformed("status")),
    };
    Ok(VerificationRecord {
        caller: CallerId::parse(get_s(item, "caller")?).map_err(|_| malformed("caller"))?,
        email: EmailAddress::parse(get_s(item, "email")?).map_err(|_| malformed("email"))?,
        status,
        verification_no: get_s(item, "vno")?.to_string(),
        created: get_time(item, "created")?,
        modified: get_time(item, "modified")?,
        token_sent: get_time(item, "token_sent")?,
        send_ip: get_s(item, "send_ip")?.to_string(),
        confirm_ip: item.get("confirm_ip").and_then(|v| v.as_s().ok()).cloned(),
        verified_at: get_opt_time(item, "verified_at")?,
        current_token: TokenHash::from_stored(get_s(item, "current_token")?.to_string()),
        lang: get_s(item, "lang")?.parse().unwrap_or(Lang::En),
        version: get_n(item, "version")? as u64,
        // Written by the events consumer; one it cannot read is left out rather than failing the record.
        delivery: match (
            item.get("delivery").and_then(|v| v.as_s().ok()),
            get_opt_time(item, "delivery_at"),
        ) {
            (Some(kind), Ok(Some(at))) => {
                DeliveryKind::parse(kind).map(|kind| Delivery { kind, at })
            }
            _ => None,
        },
        domains: item_domains(item),
        deadline: get_opt_time(item, "deadline")?,
        deadline_missed: get_opt_time(item, "deadline_missed")?,
        reminders_sent: small_n(item, "reminders_sent"),
        reminders_skipped: small_n(item, "reminders_skipped"),
        remind_after_days: item
            .get("remind_days")
            .and_then(|v| v.as_l().ok())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_n().ok()?.parse().ok())
            .collect(),
    })
}

/// Whether a DELIVERY# item says the address is not to be mailed.
pub(super) fn is_undeliverable(item: Option<&Item>) -> bool {
    item.and_then(|i| i.get("undeliverable"))
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

fn token_to_item(t: &TokenRecord) -> Item {
    let mut item = values([
        ("pk", s(token_pk(&t.hash))),
        ("kind", s("token")),
        ("caller", s(t.caller.as_str())),
        ("email", s(t.email.as_str())),
        ("lang", s(t.lang.as_str())),
        ("expires_at", ms(t.expires_at)),
        (TTL_ATTRIBUTE, n(t.expires_at.timestamp())),
    ]);
    if let Some(d) = t.deadline {
        item.insert("deadline".into(), ms(d));
    }
    if let Some(name) = &t.sender_name {
        item.insert("sender_name".into(), s(name));
    }
    item
}

fn item_to_token(hash: &TokenHash, item: &Item) -> Result<TokenRecord, BackendError> {
    Ok(TokenRecord {
        hash: hash.clone(),
        caller: CallerId::parse(get_s(item, "caller")?).map_err(|_| malformed("caller"))?,
        email: EmailAddress::parse(get_s(item, "email")?).map_err(|_| malformed("email"))?,
        lang: get_s(item, "lang")?.parse().unwrap_or(Lang::En),
        expires_at: get_time(item, "expires_at")?,
        deadline: get_opt_time(item, "deadline")?,
        sender_name: item.get("sender_name").and_then(|v| v.as_s().ok()).cloned(),
    })
}

pub(super) fn item_to_quota(item: &Item) -> Result<QuotaState, BackendError> {
    let sends = item
        .get("sends")
        .and_then(|v| v.as_l().ok())
        .ok_or_else(|| malformed("sends"))?
        .iter()
        .map(|v| {
            v.as_n()
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .ok_or_else(|| malformed("sends"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QuotaState {
        sends,
        version: get_n(item, "version")? as u64,
    })
}

impl Store for DynamoStore {
    #[tracing::instrument(skip_all, fields(email = %email.masked()))]
    async fn load_send_state(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<SendState, BackendError> {
        let cached = self.callers.get(caller);
        let caller_key = caller_pk(caller);
        let mut keys = vec![
            record_pk(caller, email),
            quota_pk(caller, email),
            delivery_pk(email.as_str()),
        ];
        if cached.is_none() {
            keys.push(caller_key);
        }
        let found = self
            .get_many(&keys.iter().map(String::as_str).collect::<Vec<_>>())
            .await?;
        let caller_state = self.caller_state_from(caller, cached, found.get(3))?;
        Ok(SendState {
            caller: caller_state,
            record: found[0].as_ref().map(item_to_record).transpose()?,
            quota: found[1]
                .as_ref()
                .map(item_to_quota)
                .transpose()?
                .unwrap_or_default(),
            undeliverable: is_undeliverable(found[2].as_ref()),
        })
    }

    #[tracing::instrument(skip_all, fields(email = %w.record.email.masked(), token = w.token.hash.short()))]
    async fn reserve_send(&self, w: &SendWrite) -> Result<(), WriteError> {
        let (caller, email) = (&w.record.caller, &w.record.email);
        let layout = self.layout_for_write().await?;
        let mut items = Vec::with_capacity(4);
        match w.expected_record_version {
            None => {
                // `unsent` until the commit: the stream's reader makes no event of a record whose first
                // mail was not handed over (a failed send is written, then undone).
                let mut record = record_to_item(&w.record, layout);
                record.insert(UNSENT.into(), AttributeValue::Bool(true));
                items.push(self.put(record, "attribute_not_exists(pk)", Item::new())?);
                items.push(self.count_update(
                    caller,
                    layout.count_shard(email.as_str()),
                    &[("records", 1)],
                )?);
            }
            Some(v) => items.push(self.condition_check(
                record_pk(caller, email),
                "version = :v",
                values([(":v", n(v as i64))]),
            )?),
        };
        items.push(self.quota_put(quota_pk(caller, email), &w.quota, w.quota_expires_at)?);
        items.push(self.put(
            token_to_item(&w.token),
            "attribute_not_exists(pk)",
            Item::new(),
        )?);
        items.push(self.evidence_write(&w.evidence)?);
        self.transact(items).await
    }

    /// One transaction in the common case: the record (still pending, still on the link this send replaces)
    /// points at the new link, and the replaced link is deleted. When another send committed meanwhile
    /// (possible only with no interval between sends), the latest commit wins: read the record's current
    /// link and replace that one instead. A record verified or deleted meanwhile is left as it is, and this
    /// send's link removed.
    #[tracing::instrument(skip_all, fields(email = %w.record.email.masked(), token = w.token.hash.short()))]
    async fn commit_send(&self, w: &SendWrite) -> Result<(), WriteError> {
        // A new record: it is no longer `unsent` (its `email.verification.sent` event), and its send's
        // evidence is completed, in one transaction. Deleted meanwhile: the evidence alone.
        if w.expected_record_version.is_none() {
            let sent = Update::builder()
                .table_name(&self.table)
                .key("pk", s(record_pk(&w.record.caller, &w.record.email)))
                .update_expression("REMOVE #u")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#u", UNSENT)
                .build()
                .map_err(store_err)?;
            let items = vec![
                TransactWriteItem::builder().update(sent).build(),
                self.evidence_write(&w.evidence)?,
            ];
            return match self.transact(items).await {
                Err(WriteError::Conflict) => Ok(self.put_evidence(&w.evidence).await?),
                other => other,
            };
        }
        let (caller, email, r) = (&w.record.caller, &w.record.email, &w.record);
        let mut replaced = w.replaced_token.clone();
        for _ in 0..8 {
            let Some(old) = replaced.clone() else { break };
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(record_pk(caller, email)))
                .update_expression("SET current_token = :new, token_sent = :sent, modified = :sent, send_ip = :ip, lang = :lang, domains = :domains ADD version :one")
                .condition_expression("current_token = :old AND #s = :pending")
                .expression_attribute_names("#s", "status")
                .set_expression_attribute_values(Some(values([
                    (":new", s(w.token.hash.as_str())),
                    (":old", s(old.as_str())),
                    (":sent", ms(r.token_sent)),
                    (":ip", s(&r.send_ip)),
                    (":lang", s(r.lang.as_str())),
                    (":domains", domains_value(&r.domains)),
                    (":pending", n(0)),
                    (":one", n(1)),
                ])))
                .build()
                .map_err(store_err)?;
            let items = vec![
                TransactWriteItem::builder().update(update).build(),
                self.delete(token_pk(&old), None, Item::new())?,
                self.evidence_write(&w.evidence)?,
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(WriteError::Conflict) => {
                    let now = self
                        .get(record_pk(caller, email))
                        .await?
                        .as_ref()
                        .map(item_to_record)
                        .transpose()?;
                    match now {
                        Some(rec)
                            if rec.status == VerificationStatus::Pending
                                && rec.current_token != w.token.hash =>
                        {
                            replaced = Some(rec.current_token);
                        }
                        _ => break,
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // Verified or deleted meanwhile: this send's link can never work; remove it. The mail went all the
        // same: its evidence is completed.
        self.put_evidence(&w.evidence).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(&w.token.hash)))
            .send()
            .await
            .map_err(store_err)?;
        Err(WriteError::Conflict)
    }

    #[tracing::instrument(skip_all, fields(email = %w.record.email.masked(), token = w.token.hash.short()))]
    async fn undo_send(&self, w: &SendWrite) -> Result<(), BackendError> {
        let (caller, email) = (&w.record.caller, &w.record.email);
        let mut link = vec![self.delete(token_pk(&w.token.hash), None, Item::new())?];
        if w.expected_record_version.is_none() {
            // The record this reservation created, counted in its count shard (`cs`).
            let layout = self.layout().await?;
            let shard = layout.count_shard(email.as_str());
            link.push(self.delete(
                record_pk(caller, email),
                Some("current_token = :t AND #s = :pending AND cs = :cs"),
                values([
                    (":t", s(w.token.hash.as_str())),
                    (":pending", n(0)),
                    (":cs", n(i64::from(shard))),
                ]),
            )?);
            link.push(self.count_update(caller, shard, &[("records", -1)])?);
        }
        let refund = QuotaState {
            sends: w.quota_before.sends.clone(),
            version: w.quota.version + 1,
        };
        let mut all = link.clone();
        all.push(self.quota_put(quota_pk(caller, email), &refund, w.quota_expires_at)?);
        let undone = self.transact(all).await;
        // The send's evidence goes with it (nothing was sent).
        self.remove_evidence(&w.evidence).await?;
        match undone {
            Ok(()) => Ok(()),
            // The quota or the record moved on meanwhile: remove the link alone, and keep what others wrote.
            Err(WriteError::Conflict) => {
                tracing::warn!(
                    "undo of a failed send: the quota moved on meanwhile and is not given back"
                );
                match self.transact(link).await {
                    Ok(()) | Err(WriteError::Conflict) => Ok(()),
                    Err(WriteError::Backend(e)) => Err(e),
                }
            }
            Err(WriteError::Backend(e)) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(email = %email.masked()))]
    async fn get_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<Option<VerificationRecord>, BackendError> {
        self.get(record_pk(caller, email))
            .await?
            .as_ref()
            .map(item_to_record)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(token = hash.short()))]
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, BackendError> {
        self.get(token_pk(hash))
            .await?
            .as_ref()
            .map(|item| item_to_token(hash, item))
            .transpose()
    }

    /// One transaction: the record becomes verified if this token is still its current one and it is
    /// pending, its count shard counts one more verified record, and the token item loses its `ttl`, so
    /// that the link keeps saying "verified" after its 72 hours instead of vanishing in DynamoDB's TTL sweep.
    #[tracing::instrument(skip_all, fields(email = %token.email.masked(), token = token.hash.short()))]
    async fn mark_verified(
        &self,
        token: &TokenRecord,
        at: DateTime<Utc>,
        confirm_ip: &str,
        evidence: &Evidence,
    ) -> Result<VerifyOutcome, BackendError> {
        let layout = self.layout().await?;
        let shard = layout.count_shard(token.email.as_str());
        let mut counted = true;
        for _ in 0..2 {
            let mut items =
                vec![self.verify_update(token, at, confirm_ip, counted.then_some(shard))?];
            let keep_token = Update::builder()
                .table_name(&self.table)
                .key("pk", s(token_pk(&token.hash)))
                .update_expression("REMOVE #ttl")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .build()
                .map_err(store_err)?;
            items.push(TransactWriteItem::builder().update(keep_token).build());
            if counted {
                items.push(self.count_update(&token.caller, shard, &[("verified", 1)])?);
            }
            items.push(self.evidence_write(evidence)?);
            let failed = match self.transact_detailed(items).await {
                Ok(()) => return Ok(VerifyOutcome::Verified),
                Err(Cancelled::Backend(e)) => return Err(e),
                Err(Cancelled::Conflict(failed)) => failed,
            };
            if !failed.first().copied().unwrap_or(false) {
                // The token item is gone: replaced by a newer send, or the record was deleted.
                return Ok(VerifyOutcome::Superseded);
            }
            let Some(old) = self.get(record_pk(&token.caller, &token.email)).await? else {
                return Ok(VerifyOutcome::Superseded);
            };
            let record = item_to_record(&old)?;
            match (record.current_token == token.hash, record.status) {
                (true, VerificationStatus::Verified) => return Ok(VerifyOutcome::AlreadyVerified),
                // Pending on this token, but written before the counts (no `cs`): verify it uncounted.
                (true, VerificationStatus::Pending) if counted && !old.contains_key("cs") => {
                    counted = false
                }
                _ => return Ok(VerifyOutcome::Superseded),
            }
        }
        Err(BackendError::Store(
            "the record kept changing while it was verified".into(),
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_records(
        &self,
        caller: &CallerId,
        filter: &ListFilter,
        page: &PageQuery,
    ) -> Result<Page<VerificationRecord>, BackendError> {
        let layout = self.layout().await?;
        let (from, to) = (
            filter.created_from.map(|t| t.timestamp_millis()),
            filter.created_to.map(|t| t.timestamp_millis()),
        );
        let streams: Vec<Stream> = (0..layout.index_shards())
            .map(|i| Stream::new(list_pk(caller, i), "", from, to))
            .collect();
        let status_filter = filter
            .status
            .map(|st| ("#s = :s", values([(":s", n(i64::from(st.code())))])));
        let ranged = from.is_some() || to.is_some();
        let order = |item: &Item| order_of(item, String::new(), "email");
        // The common first page, unfiltered: the counts and the shards are read at once.
        if !ranged
            && filter.status.is_none()
            && !matches!(page.start, PageStart::Offset(o) if o > 0)
        {
            let listing = Listing {
                streams,
                filter: None,
                order,
                selectivity: 1.0,
            };
            let (counts, (items, next)) =
                tokio::try_join!(self.counts(caller, layout), self.page(listing, page))?;
            let records = readable(&items, item_to_record, "record");
            return Ok(Page {
                items: records,
                total: u64::try_from(counts.records).unwrap_or(0),
                next,
            });
        }
        // The total first: from the count items, or, for a time range, counted over that range.
        let (total, selectivity) = if ranged {
            (
                self.count_streams(&streams, status_filter.as_ref()).await?,
                1.0,
            )
        } else {
            let c = self.counts(caller, layout).await?;
            let matching = match filter.status {
                None => c.records,
                Some(VerificationStatus::Verified) => c.verified,
                Some(VerificationStatus::Pending) => c.records - c.verified,
            };
            let share = if c.records > 0 {
                matching as f64 / c.records as f64
            } else {
                1.0
            };
            (u64::try_from(matching).unwrap_or(0), share)
        };
        // A page by offset beyond the total reads nothing more.
        if matches!(page.start, PageStart::Offset(o) if o >= total) {
            return Ok(Page::empty(total));
        }
        let listing = Listing {
            streams,
            filter: status_filter,
            order,
            selectivity,
        };
        let (items, next) = self.page(listing, page).await?;
        let records = readable(&items, item_to_record, "record");
        Ok(Page {
            items: records,
            total,
            next,
        })
    }

    /// Up to three conditional updates, each idempotent: the address becomes undeliverable (once, whatever
    /// the order of its events), or, for a delivery newer than that, deliverable again; its last state moves on if this event is newer than the one recorded; and
    /// so does the state on the caller's record, if the event names a caller whose record exists.
    #[tracing::instrument(skip_all, fields(email = %event.address.masked(), kind = event.kind.as_str()))]
    async fn record_delivery(&self, event: &DeliveryEvent) -> Result<bool, BackendError> {
        let at = ms(event.at);
        let mut changed = false;
        if event.kind.makes_undeliverable() {
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(delivery_pk(event.address.as_str())))
                .update_expression("SET kind = :kind, undeliverable = :yes, undeliverable_at = :at, undeliverable_reason = :why")
                .condition_expression("attribute_not_exists(undeliverable)")
                .expression_attribute_values(":kind", s("delivery"))
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":at", at.clone())
                .expression_attribute_values(":why", s(format!("{} {}", event.kind.as_str(), event.reason).trim().to_string()));
            changed |= applied(update.send().await)?;
        }
        // A delivery after the address became undeliverable shows that it works again.
        if event.kind == DeliveryKind::Delivered {
            let clear = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(delivery_pk(event.address.as_str())))
                .update_expression("REMOVE undeliverable, undeliverable_at, undeliverable_reason")
                .condition_expression("undeliverable_at < :at")
                .expression_attribute_values(":at", at.clone());
            changed |= applied(clear.send().await)?;
        }
        let newer = "attribute_not_exists(delivery_at) OR delivery_at < :at";
        let state = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(delivery_pk(event.address.as_str())))
            .update_expression("SET kind = :kind, delivery = :state, delivery_at = :at")
            .condition_expression(newer)
            .expression_attribute_values(":kind", s("delivery"))
            .expression_attribute_values(":state", s(event.kind.as_str()))
            .expression_attribute_values(":at", at.clone());
        changed |= applied(state.send().await)?;
        if let Some(caller) = &event.caller {
            let record = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(record_pk(caller, &event.address)))
                // A new version: the change is the record's, with its own `sequence` in the events.
                .update_expression("SET delivery = :state, delivery_at = :at ADD version :one")
                .condition_expression(format!("attribute_exists(pk) AND ({newer})"))
                .expression_attribute_values(":state", s(event.kind.as_str()))
                .expression_attribute_values(":at", at)
                .expression_attribute_values(":one", n(1));
            changed |= applied(record.send().await)?;
        }
        Ok(changed)
    }

    /// Reads the record, then deletes it and its current link in one transaction, on the condition that
    /// the record is still as read (a send in between replaces the link: read again).
    #[tracing::instrument(skip_all, fields(email = %email.masked()))]
    async fn delete_record(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
        purge: bool,
    ) -> Result<bool, BackendError> {
        let deleted = self.delete_record_only(caller, email).await?;
        let purged = purge
            && self
                .purge_evidence(caller, &Subject::Email(email.clone()))
                .await?;
        Ok(deleted || purged)
    }

    async fn evidence(
        &self,
        caller: &CallerId,
        subject: &Subject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Entry>, BackendError> {
        Ok(self.evidence_items(caller, subject, from, to).await?.0)
    }
}

impl DynamoStore {
    async fn delete_record_only(
        &self,
        caller: &CallerId,
        email: &EmailAddress,
    ) -> Result<bool, BackendError> {
        for _ in 0..5 {
            let Some(item) = self.get(record_pk(caller, email)).await? else {
                return Ok(false);
            };
            let token = get_s(&item, "current_token")?.to_string();
            let version = get_n(&item, "version")?;
            let mut writes = vec![
                self.delete(
                    record_pk(caller, email),
                    Some("version = :v"),
                    values([(":v", n(version))]),
                )?,
                self.delete(token_pk_of(&token), None, Item::new())?,
            ];
            // A counted record (one written with the shards, or migrated) leaves its counts.
            if let Ok(shard) = get_n(&item, "cs") {
                let verified = get_n(&item, "status")? == 1;
                let deltas: &[(&str, i64)] = if verified {
                    &[("records", -1), ("verified", -1)]
                } else {
                    &[("records", -1)]
                };
                writes.push(self.count_update(
                    caller,
                    u32::try_from(shard).map_err(|_| malformed("cs"))?,
                    deltas,
                )?);
            }
            match self.transact(writes).await {
                Ok(()) => return Ok(true),
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Backend(e)) => return Err(e),
            }
        }
        Err(BackendError::Store(
            "the record kept changing while it was deleted".into(),
        ))
    }
}

impl ReplayGuard for DynamoStore {
    /// One conditional PutItem: it succeeds only if no unexpired item holds the key.
    async fn count_request(
        &self,
        caller: &CallerId,
        second: i64,
        limit: u32,
    ) -> Result<bool, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(rate_pk(caller, second)))
            .update_expression("SET kind = :kind, #ttl = :ttl ADD requests :one")
            .condition_expression("attribute_not_exists(requests) OR requests < :limit")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":kind", s("rate"))
            .expression_attribute_values(":ttl", n(second + 60))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .send()
            .await;
        applied(result)
    }

    async fn read_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.put_replay(key, now, until, true).await
    }

    async fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        self.put_replay(key, now, until, false).await
    }
}

impl DynamoStore {
    /// The replay record of `key` until `until`, written when there is none that lives at `now`. A read's
    /// record (`reads`) may be written over by another read; a write's may not be written over at all.
    async fn put_replay(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        read: bool,
    ) -> Result<bool, BackendError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let mut item = values([
            ("pk", s(nonce_pk(key))),
            ("kind", s("nonce")),
            (TTL_ATTRIBUTE, n(until.timestamp())),
        ]);
        let mut request = self.client.put_item().table_name(&self.table);
        if read {
            item.insert("reads".into(), AttributeValue::Bool(true));
            request = request
                .condition_expression("attribute_not_exists(pk) OR #ttl < :now OR #reads = :true")
                // READS is one of DynamoDB's reserved words.
                .expression_attribute_names("#reads", "reads")
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        } else {
            request = request.condition_expression("attribute_not_exists(pk) OR #ttl < :now");
        }
        let result = request
            .set_item(Some(item))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(store_err(other)),
            },
        }
    }
}
