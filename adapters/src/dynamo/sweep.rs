//! The deadline sweep's storage: the sparse index `due` (keys [`super::keys::due_pk`], `due_sk`) and the
//! conditional writes of a reminder (claim, commit, give back) and of a record's next step.

use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::keys::{due_pk, due_sk, pad, record_pk, token_pk, DUE_SHARDS};
use super::table::*;
use super::token_to_item;
use shared::error::BackendError;
use shared::evidence::Evidence;
use shared::model::{CallerId, EmailAddress, TokenHash, TokenRecord, VerificationRecord};
use shared::store::{SweepStore, WriteError};

/// The record's place in the due index after a write of `r`: `SET` of its keys, or their `REMOVE`.
fn due_clause(r: &VerificationRecord, values: &mut Item) -> (String, Option<&'static str>) {
    match r.next_due() {
        Some((_, at)) => {
            let pk = record_pk(&r.caller, &r.email);
            values.insert(":due_pk".into(), s(due_pk(&pk)));
            values.insert(":due_sk".into(), s(due_sk(at, &pk)));
            (", due_pk = :due_pk, due_sk = :due_sk".into(), None)
        }
        None => (String::new(), Some(" REMOVE due_pk, due_sk")),
    }
}

/// `EMAIL#<caller>#<address>` back to its parts (a caller id holds no `#`).
fn record_of(pk: &str) -> Option<(CallerId, EmailAddress)> {
    let (caller, email) = pk.strip_prefix("EMAIL#")?.split_once('#')?;
    Some((
        CallerId::parse(caller).ok()?,
        EmailAddress::parse(email).ok()?,
    ))
}

/// A record's step (reminders, deadline, version) written over `read`, conditional on its version (and
/// `extra_condition`): the update expression, the condition and the values.
fn step_parts(
    read: &VerificationRecord,
    next: &VerificationRecord,
    extra_condition: &str,
    extra_values: Item,
) -> (String, String, Item) {
    let mut vals = values([
        (":v", n(read.version as i64)),
        (":v1", n(next.version as i64)),
        (":sent", n(i64::from(next.reminders_sent))),
        (":skipped", n(i64::from(next.reminders_skipped))),
        (":modified", ms(next.modified)),
    ]);
    vals.extend(extra_values);
    let mut set = "SET version = :v1, reminders_sent = :sent, reminders_skipped = :skipped, modified = :modified".to_string();
    if let Some(m) = next.deadline_missed {
        vals.insert(":missed".into(), ms(m));
        set.push_str(", deadline_missed = :missed");
    }
    let (due_set, due_remove) = due_clause(next, &mut vals);
    set.push_str(&due_set);
    (
        format!("{set}{}", due_remove.unwrap_or("")),
        format!("version = :v{extra_condition}"),
        vals,
    )
}

impl SweepStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn due_records(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(CallerId, EmailAddress)>, BackendError> {
        // One query per shard, each reading only what is due (its sort key up to now).
        let upto = format!("{}#~", pad(now.timestamp_millis()));
        let mut due: Vec<(String, String)> = Vec::new();
        for shard in 0..DUE_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("due_pk = :p AND due_sk <= :upto")
                .expression_attribute_values(":p", s(format!("DUE#{shard}")))
                .expression_attribute_values(":upto", s(&upto))
                .limit(limit as i32)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(store_err)?;
            self.note_read(
                out.scanned_count.max(0) as u64,
                out.consumed_capacity
                    .as_ref()
                    .and_then(|c| c.capacity_units),
            );
            for item in out.items.unwrap_or_default() {
                if let (Some(sk), Some(pk)) = (
                    item.get("due_sk").and_then(|v| v.as_s().ok()),
                    item.get("pk").and_then(|v| v.as_s().ok()),
                ) {
                    due.push((sk.clone(), pk.clone()));
                }
            }
        }
        due.sort();
        Ok(due
            .into_iter()
            .take(limit)
            .filter_map(|(_, pk)| record_of(&pk))
            .collect())
    }

    #[tracing::instrument(skip_all, fields(email = %read.email.masked()))]
    async fn reserve_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let (expression, condition, vals) = step_parts(
            read,
            next,
            " AND reminders_sent = :was AND #s = :pending",
            values([
                (":was", n(i64::from(read.reminders_sent))),
                (":pending", n(0)),
            ]),
        );
        let claim = Update::builder()
            .table_name(&self.table)
            .key("pk", s(record_pk(&read.caller, &read.email)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#s", "status")
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(|e| WriteError::Backend(store_err(e)))?;
        let items = vec![
            TransactWriteItem::builder().update(claim).build(),
            self.put(
                token_to_item(token),
                "attribute_not_exists(pk)",
                Item::new(),
            )?,
            self.evidence_write(evidence)?,
        ];
        self.transact(items).await
    }

    #[tracing::instrument(skip_all, fields(email = %next.email.masked()))]
    async fn commit_reminder(
        &self,
        next: &VerificationRecord,
        token: &TokenRecord,
        replaced: &TokenHash,
        evidence: &Evidence,
    ) -> Result<(), WriteError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(record_pk(&next.caller, &next.email)))
            .update_expression(
                // `reminded_at`: this change is a reminder's (its event), not a resend's.
                "SET current_token = :new, token_sent = :sent, modified = :sent, reminded_at = :sent ADD version :one",
            )
            .condition_expression("current_token = :old AND #s = :pending")
            .expression_attribute_names("#s", "status")
            .set_expression_attribute_values(Some(values([
                (":new", s(token.hash.as_str())),
                (":old", s(replaced.as_str())),
                (":sent", ms(next.token_sent)),
                (":pending", n(0)),
                (":one", n(1)),
            ])))
            .build()
            .map_err(|e| WriteError::Backend(store_err(e)))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            self.delete(token_pk(replaced), None, Item::new())?,
            self.evidence_write(evidence)?,
        ];
        match self.transact(items).await {
            Err(WriteError::Conflict) => {
                // Verified or deleted meanwhile: this reminder's link is not needed. Its mail went all
                // the same: the evidence is completed.
                self.put_evidence(evidence).await?;
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key("pk", s(token_pk(&token.hash)))
                    .send()
                    .await
                    .map_err(|e| WriteError::Backend(store_err(e)))?;
                Err(WriteError::Conflict)
            }
            other => other,
        }
    }

    #[tracing::instrument(skip_all, fields(email = %read.email.masked()))]
    async fn undo_reminder(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        token: &TokenRecord,
        evidence: &Evidence,
    ) -> Result<(), BackendError> {
        let mut vals = values([
            (":n", n(i64::from(read.reminders_sent))),
            (":claimed", n(i64::from(next.reminders_sent))),
            (":old", s(read.current_token.as_str())),
            (":one", n(1)),
        ]);
        let (due_set, due_remove) = due_clause(read, &mut vals);
        let given_back = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(record_pk(&read.caller, &read.email)))
            .update_expression(format!(
                "SET reminders_sent = :n{due_set}{} ADD version :one",
                due_remove.unwrap_or("")
            ))
            .condition_expression("reminders_sent = :claimed AND current_token = :old")
            .set_expression_attribute_values(Some(vals))
            .send()
            .await;
        applied(given_back)?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(token_pk(&token.hash)))
            .send()
            .await
            .map_err(store_err)?;
        // The mail was not sent: its evidence goes too.
        self.remove_evidence(evidence).await
    }

    #[tracing::instrument(skip_all, fields(email = %read.email.masked()))]
    async fn advance(
        &self,
        read: &VerificationRecord,
        next: &VerificationRecord,
        evidence: Option<&Evidence>,
    ) -> Result<bool, BackendError> {
        let (expression, condition, vals) = step_parts(read, next, "", Item::new());
        if let Some(ev) = evidence {
            // The step and its evidence in one transaction.
            let step = Update::builder()
                .table_name(&self.table)
                .key("pk", s(record_pk(&read.caller, &read.email)))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_values(Some(vals))
                .build()
                .map_err(store_err)?;
            let items = vec![
                TransactWriteItem::builder().update(step).build(),
                self.evidence_write(ev)?,
            ];
            return match self.transact(items).await {
                Ok(()) => Ok(true),
                Err(WriteError::Conflict) => Ok(false),
                Err(WriteError::Backend(e)) => Err(e),
            };
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(record_pk(&read.caller, &read.email)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(vals))
            .send()
            .await;
        applied(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_key_reads_back_to_its_caller_and_address() {
        let caller = CallerId::parse("arn:aws:iam::1:user/a").unwrap();
        let email = EmailAddress::parse("a#b@example.com").unwrap();
        assert_eq!(
            record_of(&record_pk(&caller, &email)),
            Some((caller, email))
        );
        assert_eq!(record_of("TOKEN#x"), None);
    }
}
