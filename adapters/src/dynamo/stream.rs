//! The table's stream (DynamoDB Streams, NEW_AND_OLD_IMAGES) read into the domain's committed changes
//! (`shared::events::Change`): the records, codes and contacts before and after each write. Every other
//! item (quotas, counts, evidence, settings...) changes nothing a caller is told about.
//!
//! The input is the event Lambda hands a function for a stream (and local/streams.py, which plays Lambda's
//! event source mapping locally): `{"Records": [{"eventName", "dynamodb": {"NewImage", "OldImage",
//! "SequenceNumber", "ApproximateCreationDateTime"}, "userIdentity"}]}`, the images in DynamoDB's JSON.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde_json::Value;

use shared::error::BackendError;
use shared::events::Change;

use super::table::Item;

/// One stream record: its sequence number (what a batch item failure names) and the change it holds
/// (`None`: an item no event comes from).
#[derive(Debug)]
pub struct StreamRecord {
    pub sequence_number: String,
    pub change: Result<Option<Change>, BackendError>,
}

/// The records of one stream batch, in order.
pub fn records(event: &Value) -> Vec<StreamRecord> {
    event
        .get("Records")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| StreamRecord {
            sequence_number: r
                .pointer("/dynamodb/SequenceNumber")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            change: change(r),
        })
        .collect()
}

fn bad(what: &str) -> BackendError {
    BackendError::Store(format!("stream record: {what}"))
}

fn change(record: &Value) -> Result<Option<Change>, BackendError> {
    let image = |name: &str| -> Result<Option<Item>, BackendError> {
        record
            .pointer(&format!("/dynamodb/{name}"))
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
            .map(item)
            .transpose()
    };
    let (old, new) = (image("OldImage")?, image("NewImage")?);
    let at = record
        .pointer("/dynamodb/ApproximateCreationDateTime")
        .and_then(Value::as_f64)
        .and_then(|s| DateTime::<Utc>::from_timestamp_millis((s * 1000.0) as i64))
        .unwrap_or_else(Utc::now);
    let kind = new
        .as_ref()
        .or(old.as_ref())
        .and_then(|i| i.get("kind"))
        .and_then(|v| v.as_s().ok())
        .map(String::as_str);
    // A removal by the table's TTL is the service's own, not a caller's.
    let expired = record.pointer("/userIdentity/type").and_then(Value::as_str) == Some("Service")
        && record
            .pointer("/userIdentity/principalId")
            .and_then(Value::as_str)
            == Some("dynamodb.amazonaws.com");
    Ok(match kind {
        Some("record") => Some(Change::Record {
            old: old
                .as_ref()
                .map(super::item_to_record)
                .transpose()?
                .map(Box::new),
            new: new
                .as_ref()
                .map(super::item_to_record)
                .transpose()?
                .map(Box::new),
            at,
            reminded: {
                let at = |i: Option<&Item>| i.and_then(|i| i.get("reminded_at")).cloned();
                at(new.as_ref()).is_some() && at(new.as_ref()) != at(old.as_ref())
            },
            unsent: [old.as_ref(), new.as_ref()].map(|i| {
                i.and_then(|i| i.get(super::UNSENT))
                    .is_some_and(|v| v.as_bool().is_ok_and(|b| *b))
            }),
        }),
        Some("code") => Some(Change::Code {
            old: old.as_ref().map(super::codes::item_to_code).transpose()?,
            new: new.as_ref().map(super::codes::item_to_code).transpose()?,
            at,
            expired,
        }),
        Some("contact") => Some(Change::Contact {
            old: old
                .as_ref()
                .map(super::codes::item_to_contact)
                .transpose()?,
            new: new
                .as_ref()
                .map(super::codes::item_to_contact)
                .transpose()?,
            at,
        }),
        _ => None,
    })
}

/// An image in DynamoDB's JSON (`{"name": {"S": "..."}}`) as the SDK's item.
fn item(image: &Value) -> Result<Item, BackendError> {
    image
        .as_object()
        .ok_or_else(|| bad("an image is not an object"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
        .collect()
}

fn attribute(v: &Value) -> Result<AttributeValue, BackendError> {
    let (tag, inner) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or_else(|| bad("an attribute has no type"))?;
    let text = || inner.as_str().map(str::to_string).ok_or_else(|| bad(tag));
    let texts = || -> Result<Vec<String>, BackendError> {
        inner
            .as_array()
            .ok_or_else(|| bad(tag))?
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or_else(|| bad(tag)))
            .collect()
    };
    let blob = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|_| bad("B"))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(|| bad(tag))?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts()?),
        "NS" => AttributeValue::Ns(texts()?),
        "B" => AttributeValue::B(blob(&text()?)?),
        "BS" => AttributeValue::Bs(texts()?.iter().map(|s| blob(s)).collect::<Result<_, _>>()?),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(|| bad(tag))?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(item(inner)?.into_iter().collect::<HashMap<_, _>>()),
        other => return Err(bad(&format!("unknown attribute type {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record_image(version: u64, status: u8) -> Value {
        json!({
            "pk": {"S": "EMAIL#alice#a@example.com"}, "kind": {"S": "record"}, "caller": {"S": "alice"},
            "email": {"S": "a@example.com"}, "status": {"N": status.to_string()},
            "vno": {"S": "0123456789abcdef0123456789abcdef"}, "created": {"N": "1765000000000"},
            "modified": {"N": "1765000000000"}, "token_sent": {"N": "1765000000000"}, "send_ip": {"S": "127.0.0.1"},
            "current_token": {"S": "f".repeat(64)}, "lang": {"S": "en"}, "version": {"N": version.to_string()},
            "domains": {"L": [{"S": "example.com"}]}, "cs": {"N": "3"}
        })
    }

    #[test]
    fn a_stream_batch_reads_into_changes_and_skips_other_items() {
        let event = json!({"Records": [
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 1765000000.0,
                "NewImage": record_image(1, 0)}},
            {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "200", "ApproximateCreationDateTime": 1765000001.0,
                "OldImage": record_image(1, 0), "NewImage": record_image(2, 1)}},
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "300",
                "NewImage": {"pk": {"S": "QUOTA#alice#a@example.com"}, "n": {"N": "1"}}}},
            {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "400", "OldImage": {"kind": {"S": "record"}}}}
        ]});
        let got = records(&event);
        assert_eq!(got.len(), 4);
        let kinds: Vec<Vec<&str>> = got[..3]
            .iter()
            .map(|r| {
                r.change.as_ref().unwrap().as_ref().map_or(vec![], |c| {
                    shared::events::derive(c)
                        .iter()
                        .map(|e| e.kind.as_str())
                        .collect()
                })
            })
            .collect();
        assert_eq!(
            kinds,
            [
                vec!["email.verification.sent"],
                vec!["email.verification.verified"],
                vec![]
            ]
        );
        assert_eq!(got[1].sequence_number, "200");
        // A record it cannot read is an error, not a skipped event.
        assert!(got[3].change.is_err());
    }
}
