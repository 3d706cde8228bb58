//! Moves records and contacts written before the sharded index (`gsi1pk` = the caller, or
//! `CONTACTS#<caller>`, and no `cs`) to their shards, and counts them. Until it has run, such items are
//! missing from List and Describe (every other action finds them by their own key).
//!
//! Safe beside live traffic and safe to run again: each item moves in one transaction with its count, on
//! the condition that it is still uncounted and (records) still at the version read; an item that changed
//! meanwhile is read again. Run it with `make migrate ARGS='--table <TableName>'`.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::layout::Layout;
use super::{get_n, get_s, malformed, n, s, store_err, values, DynamoStore, Item};
use shared::error::BackendError;
use shared::model::CallerId;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    pub records: u64,
    pub contacts: u64,
    /// Items that kept changing and were left for the next run.
    pub skipped: u64,
}

/// Every uncounted record and contact of the table, moved and counted.
pub async fn migrate_index(store: &DynamoStore) -> Result<Migrated, BackendError> {
    let layout = store.layout_for_write().await?;
    let mut done = Migrated::default();
    let mut start: Option<Item> = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .filter_expression("attribute_exists(gsi1pk) AND attribute_not_exists(cs) AND (kind = :r OR kind = :c)")
            .expression_attribute_values(":r", s("record"))
            .expression_attribute_values(":c", s("contact"))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(store_err)?;
        for item in page.items.unwrap_or_default() {
            let pk = get_s(&item, "pk")?.to_string();
            match move_one(store, layout, item).await? {
                Some(Kind::Record) => done.records += 1,
                Some(Kind::Contact) => done.contacts += 1,
                None => {
                    tracing::warn!(item = %shared::model::mask_email(&pk), "item kept changing; run the migration again");
                    done.skipped += 1;
                }
            }
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(done),
        }
    }
}

enum Kind {
    Record,
    Contact,
}

/// One item to its shard, with its count; `None` if it kept changing.
async fn move_one(
    store: &DynamoStore,
    layout: Layout,
    mut item: Item,
) -> Result<Option<Kind>, BackendError> {
    for _ in 0..5 {
        if item.contains_key("cs") || !item.contains_key("gsi1pk") {
            // Counted meanwhile (or deleted and written again by the new code): nothing to do.
            return Ok(Some(if get_s(&item, "kind")? == "record" {
                Kind::Record
            } else {
                Kind::Contact
            }));
        }
        let caller = CallerId::parse(get_s(&item, "caller")?).map_err(|_| malformed("caller"))?;
        let pk = get_s(&item, "pk")?.to_string();
        // Contacts move to time-first sort keys as well (`<created ms>#<type>#<contact>`).
        let mut new_sk: Option<String> = None;
        let (kind, key, gsi1pk, mut deltas, condition, mut vals) = match get_s(&item, "kind")? {
            "record" => {
                let email = get_s(&item, "email")?.to_string();
                let verified = get_n(&item, "status")? == 1;
                let mut deltas = vec![("records", 1)];
                if verified {
                    deltas.push(("verified", 1));
                }
                let gsi1pk = super::keys::list_pk(&caller, layout.index_shard(&email));
                let vals = values([(":v", n(get_n(&item, "version")?))]);
                (
                    Kind::Record,
                    email,
                    gsi1pk,
                    deltas,
                    "attribute_not_exists(cs) AND version = :v",
                    vals,
                )
            }
            _ => {
                let kind = get_n(&item, "type")?;
                let key = format!("{kind}#{}", get_s(&item, "contact")?);
                let field = if kind == 1 {
                    "contacts_1"
                } else {
                    "contacts_2"
                };
                let gsi1pk = super::keys::contacts_gsi_pk(&caller, layout.index_shard(&key));
                new_sk = Some(format!("{:015}#{key}", get_n(&item, "created")?));
                (
                    Kind::Contact,
                    key,
                    gsi1pk,
                    vec![(field, 1)],
                    "attribute_exists(pk) AND attribute_not_exists(cs)",
                    Item::new(),
                )
            }
        };
        let shard = layout.count_shard(&key);
        vals.insert(":gpk".into(), s(gsi1pk));
        vals.insert(":cs".into(), n(i64::from(shard)));
        let mut expression = String::from("SET gsi1pk = :gpk, cs = :cs");
        if let Some(sk) = new_sk {
            vals.insert(":gsk".into(), s(sk));
            expression.push_str(", gsi1sk = :gsk");
        }
        let update = Update::builder()
            .table_name(store.table())
            .key("pk", s(pk.clone()))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(vals))
            .build()
            .map_err(store_err)?;
        let deltas: Vec<(&str, i64)> = std::mem::take(&mut deltas);
        let writes = vec![
            TransactWriteItem::builder().update(update).build(),
            store.count_update(&caller, shard, &deltas)?,
        ];
        match store.transact(writes).await {
            Ok(()) => return Ok(Some(kind)),
            Err(shared::store::WriteError::Conflict) => match store.get(pk.clone()).await? {
                Some(again) => item = again,
                None => return Ok(Some(kind)), // deleted meanwhile: nothing left to move
            },
            Err(shared::store::WriteError::Backend(e)) => return Err(e),
        }
    }
    Ok(None)
}
