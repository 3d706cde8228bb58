//! The table itself: the client and its name, the layout stored in it, the plain reads and writes every
//! other part builds on, and the conversions between attribute values and Rust values.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, TimeZone, Utc};

use super::layout::Layout;
use crate::sdk::LazyClient;
use shared::error::BackendError;
use shared::quota::QuotaState;
use shared::store::WriteError;

/// Whether a table is made with its stream (the events' input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableStream {
    On,
    Off,
}

/// What the reads of List and Describe, and the deadline sweep's queries of the index `due`, cost, summed
/// over a store's life (the bench reads and resets it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadStats {
    pub items_read: u64,
    pub capacity_units: f64,
}

pub(crate) type Item = HashMap<String, AttributeValue>;

pub const TTL_ATTRIBUTE: &str = "ttl";
pub const LIST_INDEX: &str = "gsi1";
/// The sparse index of what the deadline sweep has to do (`due_pk`, `due_sk`; keys only).
pub const DUE_INDEX: &str = "due";

#[derive(Clone)]
pub struct DynamoStore {
    /// Made on first use: making an SDK client builds (and throws away) its HTTPS connector and rustls
    /// configuration to check it, the larger part of the SDK's cost at a cold start; the first request
    /// builds the one it keeps either way (BENCHMARKS.md, "First request after a cold start").
    pub(crate) client: LazyClient<Client>,
    pub(crate) table: String,
    /// The layout this deployment asks for (`INDEX_SHARDS`), used only if the table holds none yet.
    wanted: Layout,
    /// The table's layout, read once.
    layout: std::sync::Arc<tokio::sync::OnceCell<Layout>>,
    pub(crate) stats: std::sync::Arc<std::sync::Mutex<ReadStats>>,
    /// What was read of each caller, kept at most `shared::callers::CALLER_CACHE_TTL`.
    pub(crate) callers: std::sync::Arc<shared::callers::CallerCache>,
}

pub(crate) use super::keys::LAYOUT_PK;

impl DynamoStore {
    /// The store on the table `table`, with a client of the SDK configuration `aws`.
    /// The client is made when the store is first used.
    pub fn from_config(aws: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        let aws = aws.clone();
        Self::with_client(
            LazyClient::new(move || Client::new(&aws)),
            table,
            Layout::from_env(),
        )
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_layout(client, table, Layout::from_env())
    }

    pub fn with_layout(client: Client, table: impl Into<String>, wanted: Layout) -> Self {
        Self::with_client(LazyClient::ready(client), table, wanted)
    }

    fn with_client(client: LazyClient<Client>, table: impl Into<String>, wanted: Layout) -> Self {
        Self {
            client,
            table: table.into(),
            wanted,
            layout: Default::default(),
            stats: Default::default(),
            callers: Default::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's layout, for a reader: the one stored in it (read once per instance), or, while the table
    /// holds none (nothing was ever written with shards), the one this deployment asks for, not stored:
    /// functions that only read never need to write.
    pub async fn layout(&self) -> Result<Layout, BackendError> {
        if let Some(layout) = self.layout.get() {
            return Ok(*layout);
        }
        match self.get(LAYOUT_PK.into()).await? {
            Some(item) => self.keep_layout(read_layout(&item)?),
            None => Ok(self.wanted),
        }
    }

    /// The table's layout, for a writer about to add a record or a contact: the one stored in it, or, for
    /// a table that has none yet, the one this deployment asks for, stored first (one conditional write; a
    /// concurrent first writer wins).
    pub async fn layout_for_write(&self) -> Result<Layout, BackendError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        if let Some(layout) = self.layout.get() {
            return Ok(*layout);
        }
        if let Some(item) = self.get(LAYOUT_PK.into()).await? {
            return self.keep_layout(read_layout(&item)?);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(values([
                ("pk", s(LAYOUT_PK)),
                ("kind", s("layout")),
                ("index_shards", n(i64::from(self.wanted.index_shards()))),
            ])))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => self.keep_layout(self.wanted),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => {
                    let item = self
                        .get(LAYOUT_PK.into())
                        .await?
                        .ok_or_else(|| malformed("layout"))?;
                    self.keep_layout(read_layout(&item)?)
                }
                other => Err(store_err(other)),
            },
        }
    }

    fn keep_layout(&self, layout: Layout) -> Result<Layout, BackendError> {
        if layout != self.wanted {
            tracing::warn!(
                stored = layout.index_shards(),
                asked = self.wanted.index_shards(),
                "the table keeps its index shards; IndexShards is ignored"
            );
        }
        let _ = self.layout.set(layout);
        Ok(layout)
    }

    /// Creates the table as `template.yaml` defines it (used by the local stack; a test compares the two).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), BackendError> {
        Self::create_table_with(client, table, TableStream::On).await
    }

    /// [`DynamoStore::create_table`], with or without its stream. Without is for `make bench`'s scale
    /// tables, which nothing reads events from: DynamoDB Local keeps a stream's records itself, and with it
    /// loading 200,000 items went from 33 s to more than 25 minutes.
    pub async fn create_table_with(
        client: &Client,
        table: &str,
        stream: TableStream,
    ) -> Result<(), BackendError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(LIST_INDEX)
            .key_schema(key("gsi1pk", KeyType::Hash).map_err(store_err)?)
            .key_schema(key("gsi1sk", KeyType::Range).map_err(store_err)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(store_err)?;
        let due = GlobalSecondaryIndex::builder()
            .index_name(DUE_INDEX)
            .key_schema(key("due_pk", KeyType::Hash).map_err(store_err)?)
            .key_schema(key("due_sk", KeyType::Range).map_err(store_err)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .map_err(store_err)?;
        let stream = aws_sdk_dynamodb::types::StreamSpecification::builder()
            .stream_enabled(stream == TableStream::On)
            .set_stream_view_type(
                (stream == TableStream::On)
                    .then_some(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages),
            )
            .build()
            .map_err(|e| BackendError::Store(e.to_string()))?;
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk").map_err(store_err)?)
            .attribute_definitions(attr("gsi1pk").map_err(store_err)?)
            .attribute_definitions(attr("gsi1sk").map_err(store_err)?)
            .attribute_definitions(attr("due_pk").map_err(store_err)?)
            .attribute_definitions(attr("due_sk").map_err(store_err)?)
            .key_schema(key("pk", KeyType::Hash).map_err(store_err)?)
            .global_secondary_indexes(index)
            .global_secondary_indexes(due)
            // The events function's input (template.yaml's StreamSpecification; local/streams.py reads it).
            .stream_specification(stream)
            .send()
            .await
            .map_err(store_err)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(store_err)?,
            )
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    pub(crate) fn put(
        &self,
        item: Item,
        condition: &str,
        values: Item,
    ) -> Result<TransactWriteItem, BackendError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression((!condition.is_empty()).then(|| condition.to_string()))
            .set_expression_attribute_names(names_in(condition))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(store_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn delete(
        &self,
        pk: String,
        condition: Option<&str>,
        values: Item,
    ) -> Result<TransactWriteItem, BackendError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(condition.and_then(names_in))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(store_err)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(crate) fn condition_check(
        &self,
        pk: String,
        condition: &str,
        values: Item,
    ) -> Result<TransactWriteItem, BackendError> {
        let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .condition_expression(condition)
            .set_expression_attribute_names(names_in(condition))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(store_err)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Writes a spent quota, on the condition that nobody spent it since it was read.
    pub(crate) fn quota_put(
        &self,
        pk: String,
        quota: &QuotaState,
        expires_at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, BackendError> {
        let item = values([
            ("pk", s(pk)),
            ("kind", s("quota")),
            (
                "sends",
                AttributeValue::L(quota.sends.iter().map(|t| ms(*t)).collect()),
            ),
            ("version", n(quota.version as i64)),
            (TTL_ATTRIBUTE, n(expires_at.timestamp())),
        ]);
        match quota.version.saturating_sub(1) {
            0 => self.put(item, "attribute_not_exists(pk)", Item::new()),
            v => self.put(item, "version = :v", values([(":v", n(v as i64))])),
        }
    }

    /// Reads items by `pk` in one consistent BatchGetItem (asking again for keys left unprocessed), in the
    /// order of `keys`.
    pub(crate) async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Item>>, BackendError> {
        let mut wanted = KeysAndAttributes::builder().consistent_read(true);
        for k in keys {
            wanted = wanted.keys(values([("pk", s(*k))]));
        }
        let mut request = HashMap::from([(self.table.clone(), wanted.build().map_err(store_err)?)]);
        let mut found: Vec<Option<Item>> = vec![None; keys.len()];
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(store_err)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let pk = get_s(&item, "pk")?.to_string();
                if let Some(i) = keys.iter().position(|k| *k == pk) {
                    found[i] = Some(item);
                }
            }
            request = out.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                return Ok(found);
            }
        }
        Err(BackendError::Store(
            "BatchGetItem left keys unprocessed".into(),
        ))
    }

    /// Writes all items or none; a lost race (a condition that no longer holds) is a conflict.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), WriteError> {
        match self.transact_detailed(items).await {
            Ok(()) => Ok(()),
            Err(Cancelled::Conflict(_)) => Err(WriteError::Conflict),
            Err(Cancelled::Backend(e)) => Err(WriteError::Backend(e)),
        }
    }

    /// As [`Self::transact`], saying which items' conditions failed (by position).
    pub(crate) async fn transact_detailed(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), Cancelled> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                E::TransactionCanceledException(c)
                    if is_conflict_reasons(c.cancellation_reasons()) =>
                {
                    Err(Cancelled::Conflict(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code() == Some("ConditionalCheckFailed"))
                            .collect(),
                    ))
                }
                e => Err(Cancelled::Backend(store_err(e))),
            },
        }
    }

    pub(crate) async fn get(&self, pk: String) -> Result<Option<Item>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_err)?;
        Ok(out.item)
    }
}

/// Whether a conditional UpdateItem was applied (`false`: its condition did not hold).
pub(crate) fn applied<T>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    >,
) -> Result<bool, BackendError> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    match result {
        Ok(_) => Ok(true),
        Err(e) => match e.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(store_err(other)),
        },
    }
}

/// Why a transaction wrote nothing.
#[derive(Debug)]
pub(crate) enum Cancelled {
    /// A lost race: for each item, whether its condition failed.
    Conflict(Vec<bool>),
    Backend(BackendError),
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(crate) fn ms(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp_millis())
}
pub(crate) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Reserved words of DynamoDB expressions (`status`, `hash`, `type`) are written `#s`, `#h`, `#t`:
/// the names an expression uses, or `None`.
pub(crate) fn names_in(expression: &str) -> Option<HashMap<String, String>> {
    let names: HashMap<String, String> = [("#s", "status"), ("#h", "hash"), ("#t", "type")]
        .into_iter()
        .filter(|(placeholder, _)| expression.contains(placeholder))
        .map(|(p, n)| (p.to_string(), n.to_string()))
        .collect();
    (!names.is_empty()).then_some(names)
}

/// The items that read as `T`. One that cannot be read (written by an older version, or by hand) is
/// skipped, logged with its key masked, and counted in a log line, so that one bad item never takes a
/// caller's whole listing down.
pub(crate) fn readable<T>(
    items: &[Item],
    read: impl Fn(&Item) -> Result<T, BackendError>,
    what: &'static str,
) -> Vec<T> {
    let mut skipped = 0usize;
    let out = items
        .iter()
        .filter_map(|item| match read(item) {
            Ok(r) => Some(r),
            Err(e) => {
                skipped += 1;
                let pk = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .map(|pk| shared::model::mask_email(pk))
                    .unwrap_or_default();
                tracing::error!(error = %e, item = %pk, kind = what, "unreadable item skipped");
                None
            }
        })
        .collect();
    if skipped > 0 {
        tracing::warn!(
            skipped_items = skipped,
            kind = what,
            "a listing skipped unreadable items"
        );
    }
    out
}

/// A failure of the DynamoDB client (or of building a request for it), kept as the cause.
pub(crate) fn store_err(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::StoreFailed(Box::new(e))
}

pub(crate) fn malformed(what: &str) -> BackendError {
    BackendError::Store(format!("malformed item: {what}"))
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, BackendError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| malformed(name))
}
pub(crate) fn get_n(item: &Item, name: &str) -> Result<i64, BackendError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| malformed(name))
}
pub(crate) fn get_time(item: &Item, name: &str) -> Result<DateTime<Utc>, BackendError> {
    Utc.timestamp_millis_opt(get_n(item, name)?)
        .single()
        .ok_or_else(|| malformed(name))
}
pub(crate) fn get_opt_time(item: &Item, name: &str) -> Result<Option<DateTime<Utc>>, BackendError> {
    item.contains_key(name)
        .then(|| get_time(item, name))
        .transpose()
}

pub(crate) fn read_layout(item: &Item) -> Result<Layout, BackendError> {
    u32::try_from(get_n(item, "index_shards")?)
        .ok()
        .and_then(Layout::new)
        .ok_or_else(|| malformed("index_shards"))
}

/// Whether a cancelled transaction lost a race (read again) rather than failed.
pub(crate) fn is_conflict_reasons(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> bool {
    reasons.iter().any(|r| {
        matches!(
            r.code(),
            Some("ConditionalCheckFailed") | Some("TransactionConflict")
        )
    })
}
