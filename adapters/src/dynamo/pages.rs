//! Pages of the sharded list index, and the counts kept beside it.
//!
//! A page reads each shard of the caller newest first, only as far as the page needs (one Query a shard
//! for a first page, in parallel), and merges the shards by (creation time, key). A deep page by offset
//! reads about `offset + size` index entries in all (spread over the shards); a page after a cursor
//! (`NextToken`) reads at most `size + 1` entries a shard whatever its depth. The total comes from the
//! count items in one BatchGetItem, or, for a creation-time range, from counting queries over that range.

use std::collections::VecDeque;

use aws_sdk_dynamodb::types::{
    KeysAndAttributes, ReturnConsumedCapacity, Select, TransactWriteItem, Update,
};
use futures_util::future::try_join_all;

use super::keys::{count_pk, pad};
use super::layout::Layout;
use super::table::{
    get_n, get_s, n, names_in, s, store_err, values, DynamoStore, Item, ReadStats, LIST_INDEX,
};
use shared::error::BackendError;
use shared::model::CallerId;
use shared::paging::{Cursor, PageQuery, PageStart};

/// Most items one Query of a shard asks for.
const MAX_CHUNK: i32 = 1000;

/// One shard's part of a listing: `gsi1pk` = `pk`, sort keys `<prefix><created ms>#<id>` between `lo` and
/// `hi` (inclusive). An item's key in the listing order is `<prefix><id>`.
#[derive(Clone, Debug)]
pub(super) struct Stream {
    pub pk: String,
    pub prefix: String,
    pub lo: String,
    pub hi: String,
}

impl Stream {
    /// The shard's entries created between `from` and `to` (inclusive, epoch ms), if given.
    pub fn new(pk: String, prefix: &str, from: Option<i64>, to: Option<i64>) -> Self {
        let lo = format!("{prefix}{}", pad(from.unwrap_or(0)));
        let hi = match to {
            Some(t) => format!("{prefix}{}", pad(t.saturating_add(1))),
            None => format!("{prefix}~"),
        };
        Self {
            pk,
            prefix: prefix.to_string(),
            lo,
            hi,
        }
    }

    /// Narrowed to the items that come after `c` in the newest-first order.
    fn after(mut self, c: &Cursor) -> Self {
        let p = &self.prefix;
        let head = c.key.get(..p.len()).unwrap_or("");
        let bound = if head == p.as_str() {
            format!("{p}{}#{}", pad(c.created_ms), &c.key[p.len()..])
        } else if p.as_str() < head {
            format!("{p}{}", pad(c.created_ms.saturating_add(1)))
        } else {
            format!("{p}{}", pad(c.created_ms))
        };
        if bound < self.hi {
            self.hi = bound;
        }
        self
    }
}

/// A listing over several streams, merged newest first.
pub(super) struct Listing<'a> {
    pub streams: Vec<Stream>,
    /// A filter on non-key attributes (`#s = :s`), and its values.
    pub filter: Option<(&'a str, Item)>,
    /// An item's position in the order.
    pub order: fn(&Item) -> Result<Cursor, BackendError>,
    /// The share of the entries the filter lets through, if known (1.0 otherwise): the first reads ask
    /// for that much more, so that a filtered page seldom needs a second round.
    pub selectivity: f64,
}

struct Shard {
    stream: Stream,
    buffer: VecDeque<(Cursor, Item)>,
    start: Option<Item>,
    done: bool,
    chunk: i32,
}

impl DynamoStore {
    /// The page's items (raw), and the cursor of the last one if more follow.
    pub(super) async fn page(
        &self,
        listing: Listing<'_>,
        page: &PageQuery,
    ) -> Result<(Vec<Item>, Option<Cursor>), BackendError> {
        let (skip, after) = match &page.start {
            PageStart::Offset(o) => (*o, None),
            PageStart::After(c) => (0, Some(c)),
        };
        let size = u64::from(page.size);
        // One more than the page, to know whether another page follows.
        let need = skip.saturating_add(size).saturating_add(1);
        let streams = listing.streams.iter().cloned().map(|s| match after {
            Some(c) => s.after(c),
            None => s,
        });
        let mut shards: Vec<Shard> = streams
            .filter(|s| s.lo <= s.hi)
            .map(|stream| Shard {
                stream,
                buffer: VecDeque::new(),
                start: None,
                done: false,
                chunk: 0,
            })
            .collect();
        let selectivity = listing.selectivity.clamp(0.01, 1.0);
        let per_shard =
            (need as f64 * 1.25 / (shards.len().max(1) as f64 * selectivity)).ceil() as u64;
        let first_chunk = per_shard
            .saturating_add(4)
            .min(((need as f64) / selectivity).ceil() as u64);
        for shard in &mut shards {
            shard.chunk = i32::try_from(first_chunk)
                .unwrap_or(MAX_CHUNK)
                .min(MAX_CHUNK);
        }
        let (mut taken, mut items) = (0u64, Vec::new());
        let mut last: Option<Cursor> = None;
        loop {
            let hungry: Vec<usize> = (0..shards.len())
                .filter(|&i| shards[i].buffer.is_empty() && !shards[i].done)
                .collect();
            if !hungry.is_empty() {
                let reads = hungry
                    .iter()
                    .map(|&i| self.read_chunk(&shards[i], listing.filter.as_ref()));
                let results = try_join_all(reads).await?;
                for (&i, (got, next)) in hungry.iter().zip(results) {
                    let shard = &mut shards[i];
                    for item in got {
                        // An entry without a readable time or key cannot be placed: skipped and logged, like
                        // every unreadable item, so that it never takes the caller's listing down.
                        let at = match (listing.order)(&item) {
                            Ok(at) => at,
                            Err(e) => {
                                tracing::error!(error = %e, "an index entry without a readable position was skipped");
                                continue;
                            }
                        };
                        if after.is_none_or(|c| &at < c) {
                            shard.buffer.push_back((at, item));
                        }
                    }
                    shard.done = next.is_none();
                    shard.start = next;
                    shard.chunk = (shard.chunk.saturating_mul(2)).min(MAX_CHUNK);
                }
                continue;
            }
            // Every shard has an item buffered or is done: the newest head comes next.
            let newest = (0..shards.len())
                .filter(|&i| !shards[i].buffer.is_empty())
                .max_by(|&a, &b| shards[a].buffer[0].0.cmp(&shards[b].buffer[0].0));
            let Some(i) = newest else { break };
            let Some((at, item)) = shards[i].buffer.pop_front() else {
                break;
            };
            taken += 1;
            if taken > skip && taken <= skip + size {
                items.push(item);
                last = Some(at);
            }
            if taken >= need {
                return Ok((items, last));
            }
        }
        Ok((items, None))
    }

    /// A Query of one stream's range of the index, with the listing's filter, from `start`.
    fn stream_query(
        &self,
        stream: &Stream,
        filter: Option<&(&str, Item)>,
        start: Option<Item>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut vals = values([
            (":pk", s(&stream.pk)),
            (":lo", s(&stream.lo)),
            (":hi", s(&stream.hi)),
        ]);
        if let Some((_, fv)) = filter {
            vals.extend(fv.clone());
        }
        self.client
            .query()
            .table_name(&self.table)
            .index_name(LIST_INDEX)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi")
            .set_filter_expression(filter.map(|(f, _)| f.to_string()))
            .set_expression_attribute_names(filter.and_then(|(f, _)| names_in(f)))
            .set_expression_attribute_values(Some(vals))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }

    /// One Query of a shard, newest first: the items, and where to go on (`None`: the shard is read).
    async fn read_chunk(
        &self,
        shard: &Shard,
        filter: Option<&(&str, Item)>,
    ) -> Result<(Vec<Item>, Option<Item>), BackendError> {
        let query = self.stream_query(&shard.stream, filter, shard.start.clone());
        let out = query
            .scan_index_forward(false)
            .limit(shard.chunk.max(1))
            .send()
            .await
            .map_err(store_err)?;
        self.note_read(
            out.scanned_count.max(0) as u64,
            out.consumed_capacity
                .as_ref()
                .and_then(|c| c.capacity_units),
        );
        Ok((
            out.items.unwrap_or_default(),
            out.last_evaluated_key.filter(|k| !k.is_empty()),
        ))
    }

    /// How many entries of the streams match, counted by DynamoDB (Select COUNT: nothing is returned, the
    /// range is read once). Used only for a creation-time range, which no count item covers.
    pub(super) async fn count_streams(
        &self,
        streams: &[Stream],
        filter: Option<&(&str, Item)>,
    ) -> Result<u64, BackendError> {
        let counts = streams
            .iter()
            .filter(|s| s.lo <= s.hi)
            .map(|stream| async move {
                let mut total = 0u64;
                let mut start: Option<Item> = None;
                loop {
                    let out = self
                        .stream_query(stream, filter, start.take())
                        .select(Select::Count)
                        .send()
                        .await
                        .map_err(store_err)?;
                    self.note_read(
                        out.scanned_count.max(0) as u64,
                        out.consumed_capacity
                            .as_ref()
                            .and_then(|c| c.capacity_units),
                    );
                    total += out.count.max(0) as u64;
                    match out.last_evaluated_key {
                        Some(k) if !k.is_empty() => start = Some(k),
                        _ => return Ok::<u64, BackendError>(total),
                    }
                }
            });
        Ok(try_join_all(counts).await?.into_iter().sum())
    }

    /// The caller's counts, summed over the count shards: one consistent BatchGetItem.
    pub(super) async fn counts(
        &self,
        caller: &CallerId,
        layout: Layout,
    ) -> Result<Counts, BackendError> {
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for shard in 0..layout.count_shards() {
            keys = keys.keys(values([("pk", s(count_pk(caller, shard)))]));
        }
        let mut request = std::collections::HashMap::from([(
            self.table.clone(),
            keys.build().map_err(store_err)?,
        )]);
        let mut sum = Counts::default();
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(store_err)?;
            let items = out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default();
            let capacity = out
                .consumed_capacity
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c.capacity_units)
                .sum();
            self.note_read(items.len() as u64, Some(capacity));
            for item in &items {
                let field = |name: &str| get_n(item, name).unwrap_or(0);
                sum.records += field("records");
                sum.verified += field("verified");
                sum.contacts[0] += field("contacts_1");
                sum.contacts[1] += field("contacts_2");
            }
            request = out.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                return Ok(sum);
            }
        }
        Err(BackendError::Store(
            "BatchGetItem left count keys unprocessed".into(),
        ))
    }

    /// Adds `deltas` to the named counts of one count item, as part of a transaction.
    pub(super) fn count_update(
        &self,
        caller: &CallerId,
        shard: u32,
        deltas: &[(&str, i64)],
    ) -> Result<TransactWriteItem, BackendError> {
        let adds: Vec<String> = deltas
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("{name} :d{i}"))
            .collect();
        let mut vals: Item = deltas
            .iter()
            .enumerate()
            .map(|(i, (_, d))| (format!(":d{i}"), n(*d)))
            .collect();
        vals.insert(":kind".into(), s("count"));
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(count_pk(caller, shard)))
            .update_expression(format!("SET kind = :kind ADD {}", adds.join(", ")))
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(store_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(super) fn note_read(&self, items: u64, capacity: Option<f64>) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.items_read += items;
            stats.capacity_units += capacity.unwrap_or(0.0);
        }
    }

    /// What List and Describe, and the sweep's queries of `due`, read since the last call (the bench's figures).
    pub fn take_read_stats(&self) -> ReadStats {
        self.stats
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// A caller's counts, summed over the shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub records: i64,
    pub verified: i64,
    /// Verified contacts of type 1 (mobile numbers) and 2 (email addresses).
    pub contacts: [i64; 2],
}

/// The item's creation time (`created`, epoch ms) and its key: `<prefix><field>`.
pub(super) fn order_of(item: &Item, prefix: String, field: &str) -> Result<Cursor, BackendError> {
    Ok(Cursor {
        created_ms: get_n(item, "created")?,
        key: format!("{prefix}{}", get_s(item, field)?),
    })
}
