//! Loading many new records or contacts of one caller at once, with BatchWriteItem (25 items a request)
//! instead of one transaction each: for `make bench`'s 100,000 records, and for seeding a new caller.
//! Items are written exactly as the actions write them (their index and count shards); the counts are
//! added afterwards, one update per count shard. Not for callers in use: a record that exists already would
//! be overwritten and counted twice.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::codes::{contact_count_field, contact_to_item};
use super::keys::count_pk;
use super::{record_to_item, s, store_err, DynamoStore, Item};
use shared::error::BackendError;
use shared::model::{CallerId, VerificationRecord, VerificationStatus};
use shared::store::ContactRecord;

/// BatchWriteItem requests in flight at once.
const PARALLEL: usize = 8;

impl DynamoStore {
    /// Writes new records of one caller and counts them.
    pub async fn load_records(
        &self,
        caller: &CallerId,
        records: &[VerificationRecord],
    ) -> Result<(), BackendError> {
        let layout = self.layout_for_write().await?;
        let mut counts: HashMap<u32, HashMap<&'static str, i64>> = HashMap::new();
        for r in records {
            let shard = counts
                .entry(layout.count_shard(r.email.as_str()))
                .or_default();
            *shard.entry("records").or_default() += 1;
            if r.status == VerificationStatus::Verified {
                *shard.entry("verified").or_default() += 1;
            }
        }
        self.batch_put(records.iter().map(|r| record_to_item(r, layout)).collect())
            .await?;
        self.add_counts(caller, counts).await
    }

    /// Writes new verified contacts of one caller and counts them.
    pub async fn load_contacts(
        &self,
        caller: &CallerId,
        contacts: &[ContactRecord],
    ) -> Result<(), BackendError> {
        let layout = self.layout_for_write().await?;
        let mut counts: HashMap<u32, HashMap<&'static str, i64>> = HashMap::new();
        for c in contacts {
            *counts
                .entry(layout.count_shard(&c.contact.key()))
                .or_default()
                .entry(contact_count_field(c.contact.kind()))
                .or_default() += 1;
        }
        self.batch_put(
            contacts
                .iter()
                .map(|c| contact_to_item(c, layout))
                .collect(),
        )
        .await?;
        self.add_counts(caller, counts).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), BackendError> {
        let chunks: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
        stream::iter(chunks)
            .map(|chunk| async move {
                let mut pending: Vec<WriteRequest> = chunk
                    .into_iter()
                    .map(|item| {
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .map(|p| WriteRequest::builder().put_request(p).build())
                    })
                    .collect::<Result<_, _>>()
                    .map_err(store_err)?;
                for attempt in 0..10u32 {
                    let out = self
                        .client
                        .batch_write_item()
                        .request_items(&self.table, pending)
                        .send()
                        .await
                        .map_err(store_err)?;
                    pending = out
                        .unprocessed_items
                        .unwrap_or_default()
                        .remove(&self.table)
                        .unwrap_or_default();
                    if pending.is_empty() {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(6)))
                        .await;
                }
                Err(BackendError::Store(
                    "BatchWriteItem kept items unprocessed".into(),
                ))
            })
            .buffer_unordered(PARALLEL)
            .try_collect::<()>()
            .await
    }

    async fn add_counts(
        &self,
        caller: &CallerId,
        counts: HashMap<u32, HashMap<&'static str, i64>>,
    ) -> Result<(), BackendError> {
        for (shard, fields) in counts {
            let adds: Vec<String> = fields
                .keys()
                .map(|name| format!("{name} :{name}"))
                .collect();
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(count_pk(caller, shard)))
                .update_expression(format!("SET kind = :kind ADD {}", adds.join(", ")))
                .expression_attribute_values(":kind", s("count"));
            for (name, n) in fields {
                update = update.expression_attribute_values(format!(":{name}"), super::n(n));
            }
            update.send().await.map_err(store_err)?;
        }
        Ok(())
    }
}
