//! The evidence log in the table (`shared::evidence`): one item per caller, subject and UTC month,
//! `EVIDENCE#<caller>#<subject>#<YYYY-MM>`, each entry one attribute `e<entry id>` of it (a map with short
//! names). Why this layout (DynamoDB is most of the service's cost, BENCHMARKS.md):
//!
//! - An entry joins the transaction of its change as one more item; a month's item of one address stays
//!   small (a verification writes two or three entries of about 200 bytes), so it costs what a small item
//!   costs: 2 WCU in a transaction, 1 alone. No index entry is written (an index would double each write).
//! - Entries are attributes, not a list: a send's entry is completed at its commit (`SET #e = :entry`) and
//!   removed by its undo (`REMOVE #e`) by name, whatever else was written to the item meanwhile.
//! - The month bounds an item (an address's sends are bounded by its quota, its answers by its sends) far
//!   under DynamoDB's 400 KB; reading a subject is one BatchGetItem of its months within the retention
//!   (36 or 37 keys for three years), absent months costing the minimum read.
//! - The item's TTL is its latest entry's end of retention plus a month; reads also drop what is older
//!   than the retention, so an entry is never shown past it.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::table::*;
use shared::error::BackendError;
use shared::evidence::{Channel, Entry, Evidence, Kind, Outcome, Subject};
use shared::model::CallerId;

/// The most deletes of one purge transaction (DynamoDB takes 100 items).
const PURGE_IN_TRANSACTION: usize = 90;

/// The evidence item of `caller`'s `subject` for the UTC month of `at`.
pub fn evidence_pk(caller: &CallerId, subject: &Subject, at: DateTime<Utc>) -> String {
    format!(
        "EVIDENCE#{caller}#{}#{:04}-{:02}",
        subject.key(),
        at.year(),
        at.month()
    )
}

/// The first instant of the month after `at`'s.
fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(at + Duration::days(31))
}

/// The keys of a subject's months from `from` to `to`, oldest first.
pub(crate) fn month_keys(
    caller: &CallerId,
    subject: &Subject,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let mut keys = Vec::new();
    let mut at = from;
    while at <= to || keys.is_empty() {
        keys.push(evidence_pk(caller, subject, at));
        at = next_month(at);
        if keys.len() > 200 {
            break;
        }
    }
    let last = evidence_pk(caller, subject, to);
    if keys.last() != Some(&last) {
        keys.push(last);
    }
    keys
}

fn attribute(entry: &Entry) -> String {
    format!("e{}", entry.id)
}

fn entry_value(e: &Entry) -> AttributeValue {
    let mut m = values([
        ("t", ms(e.at)),
        ("k", s(e.kind.as_str())),
        ("c", s(e.channel.as_str())),
        ("d", s(&e.destination)),
        ("o", s(e.outcome.as_str())),
    ]);
    for (name, value) in [
        ("tp", Some(&e.template).filter(|t| !t.is_empty())),
        ("tv", Some(&e.template_version).filter(|t| !t.is_empty())),
        ("m", e.message_id.as_ref()),
        ("ip", e.ip.as_ref()),
        ("ua", e.user_agent.as_ref()),
    ] {
        if let Some(v) = value {
            m.insert(name.into(), s(v));
        }
    }
    AttributeValue::M(m)
}

fn read_entry(id: &str, v: &AttributeValue) -> Option<Entry> {
    let m = v.as_m().ok()?;
    let text = |name: &str| m.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some(Entry {
        id: id.to_string(),
        at: get_time(m, "t").ok()?,
        kind: Kind::parse(&text("k")?)?,
        channel: Channel::parse(&text("c")?)?,
        destination: text("d")?,
        template: text("tp").unwrap_or_default(),
        template_version: text("tv").unwrap_or_default(),
        message_id: text("m"),
        ip: text("ip"),
        user_agent: text("ua"),
        outcome: Outcome::parse(&text("o")?)?,
    })
}

/// The entries an item holds (one that cannot be read is left out).
pub(crate) fn entries_of(item: &Item) -> Vec<Entry> {
    item.iter()
        .filter_map(|(name, v)| read_entry(name.strip_prefix('e')?, v))
        .collect()
}

impl DynamoStore {
    fn evidence_update(&self, ev: &Evidence) -> Result<Update, BackendError> {
        let ttl = next_month(ev.keep_until).timestamp();
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(evidence_pk(&ev.caller, &ev.subject, ev.entry.at)))
            .update_expression(
                "SET #e = :entry, kind = :kind, caller = :caller, #ttl = :ttl ADD v :one",
            )
            .expression_attribute_names("#e", attribute(&ev.entry))
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":entry", entry_value(&ev.entry))
            .expression_attribute_values(":kind", s("evidence"))
            .expression_attribute_values(":caller", s(ev.caller.as_str()))
            .expression_attribute_values(":ttl", n(ttl))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(store_err)
    }

    /// The entry written (or rewritten, by its id) as one item of a transaction.
    pub(crate) fn evidence_write(&self, ev: &Evidence) -> Result<TransactWriteItem, BackendError> {
        Ok(TransactWriteItem::builder()
            .update(self.evidence_update(ev)?)
            .build())
    }

    /// The entry of a send that was undone, removed (after the undo's transaction: an undo may follow a
    /// reservation that never wrote, whose answer was lost, and a failed condition in that transaction
    /// would cancel the rest of the undo). An item left with no entry is deleted, on the condition that
    /// nothing wrote to it since it was read (`v` counts every write), so that a failed send leaves nothing.
    pub(crate) async fn remove_evidence(&self, ev: &Evidence) -> Result<(), BackendError> {
        let pk = evidence_pk(&ev.caller, &ev.subject, ev.entry.at);
        let removed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("REMOVE #e ADD v :one")
            .condition_expression("attribute_exists(#e)")
            .expression_attribute_names("#e", attribute(&ev.entry))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let left = match removed {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => {
                    return Ok(())
                }
                other => return Err(store_err(other)),
            },
        };
        if !entries_of(&left).is_empty() {
            return Ok(());
        }
        let Some(version) = left.get("v").cloned() else {
            return Ok(());
        };
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .condition_expression("v = :v")
            .expression_attribute_values(":v", version)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                // Written to meanwhile: it holds an entry again.
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(store_err(other)),
            },
        }
    }

    /// The entry written alone (one UpdateItem): a commit with nothing else to write.
    pub(crate) async fn put_evidence(&self, ev: &Evidence) -> Result<(), BackendError> {
        let u = self.evidence_update(ev)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(evidence_pk(&ev.caller, &ev.subject, ev.entry.at)))
            .set_update_expression(Some(u.update_expression().to_string()))
            .set_expression_attribute_names(u.expression_attribute_names().cloned())
            .set_expression_attribute_values(u.expression_attribute_values().cloned())
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// Every entry of the subject from `from` to `to` (by month), in no particular order; with the keys of
    /// the items that hold them.
    pub(crate) async fn evidence_items(
        &self,
        caller: &CallerId,
        subject: &Subject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(Vec<Entry>, Vec<String>), BackendError> {
        let keys = month_keys(caller, subject, from, to);
        let (mut entries, mut present) = (Vec::new(), Vec::new());
        for chunk in keys.chunks(100) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for (key, item) in chunk.iter().zip(self.get_many(&refs).await?) {
                if let Some(item) = item {
                    entries.extend(entries_of(&item));
                    present.push(key.clone());
                }
            }
        }
        Ok((entries, present))
    }

    /// Deletes every evidence item of the subject (`PurgeEvidence`): the months of the longest retention
    /// (and a year ahead, for a moved local clock) are read, and those present deleted in transactions
    /// of up to 90. Whether there was any. Idempotent: a purge that failed halfway is done by the next.
    pub(crate) async fn purge_evidence(
        &self,
        caller: &CallerId,
        subject: &Subject,
    ) -> Result<bool, BackendError> {
        let now = Utc::now();
        let longest = Duration::days(i64::from(shared::evidence::MAX_RETENTION_DAYS) + 62);
        let (_, present) = self
            .evidence_items(caller, subject, now - longest, now + Duration::days(366))
            .await?;
        for chunk in present.chunks(PURGE_IN_TRANSACTION) {
            let deletes = chunk
                .iter()
                .map(|k| self.delete(k.clone(), None, Item::new()))
                .collect::<Result<Vec<_>, _>>()?;
            self.transact(deletes).await.map_err(|e| match e {
                shared::store::WriteError::Backend(e) => e,
                shared::store::WriteError::Conflict => {
                    BackendError::Store("the purge's transaction was cancelled".into())
                }
            })?;
        }
        Ok(!present.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::evidence::Source;
    use shared::model::EmailAddress;

    #[test]
    fn entries_round_trip_and_months_cover_the_range() {
        let caller = CallerId::parse("alice").unwrap();
        let subject = Subject::Email(EmailAddress::parse("a@example.com").unwrap());
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        let ev = Evidence::new(
            &caller,
            subject.clone(),
            Kind::Sent,
            at,
            &Source::new("198.51.100.7", Some("sdk/1")),
            Outcome::Sent,
        )
        .with_template(&shared::templates::TemplateUsed {
            name: "link.en".into(),
            version: shared::templates::BUILTIN_VERSION.into(),
        });
        let item = values([
            ("pk", s("x")),
            (&attribute(&ev.entry), entry_value(&ev.entry)),
        ]);
        assert_eq!(entries_of(&item), vec![ev.entry.clone()]);
        assert_eq!(
            evidence_pk(&caller, &subject, at),
            "EVIDENCE#alice#L#a@example.com#2026-12"
        );
        let keys = month_keys(&caller, &subject, at - Duration::days(1095), at);
        assert_eq!(keys.len(), 36, "{keys:?}");
        assert!(keys[0].ends_with("#2024-01"), "{}", keys[0]);
        assert!(keys[35].ends_with("#2026-12"));
        assert_eq!(
            next_month(at),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
    }
}
