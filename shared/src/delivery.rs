//! What SES tells of the mails it took: deliveries, bounces, complaints and rejects, from the events of the
//! stack's configuration set (EventBridge, `source` `aws.ses`). A hard (permanent) bounce or a complaint makes
//! an address undeliverable: Submit, Resend and the code actions then refuse to mail it, spending nothing,
//! because SES reviews an account above a 5 % bounce or a 0.1 % complaint rate and can stop all of its mail.
//!
//! Every mail carries two SES message tags: `caller` (the caller id, [`caller_tag`]) and `family` (`link` or
//! `code`), so that an event finds the record of the caller whose mail it was.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{CallerId, EmailAddress};

/// What happened to one mail at one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    Delivered,
    /// A bounce SES calls `Transient` (a full mailbox, a server that said "later"): the address stays usable.
    SoftBounce,
    /// A `Permanent` (or `Undetermined`) bounce, including SES's own suppression list.
    HardBounce,
    Complaint,
    /// SES refused to send it (a virus, for instance): a fault of the mail, not of the address.
    Rejected,
}

impl DeliveryKind {
    /// The `DeliveryState` shown in Query and List.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "Delivered",
            Self::SoftBounce => "SoftBounce",
            Self::HardBounce => "HardBounce",
            Self::Complaint => "Complaint",
            Self::Rejected => "Rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Delivered,
            Self::SoftBounce,
            Self::HardBounce,
            Self::Complaint,
            Self::Rejected,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the address is never mailed again.
    pub fn makes_undeliverable(self) -> bool {
        matches!(self, Self::HardBounce | Self::Complaint)
    }
}

/// One address's part of one SES event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    pub address: EmailAddress,
    pub kind: DeliveryKind,
    /// When SES says it happened (the bounce's, complaint's or delivery's own time).
    pub at: DateTime<Utc>,
    /// The caller whose mail it was (its `caller` tag), when the tag is there.
    pub caller: Option<CallerId>,
    /// `link` or `code` (the `family` tag).
    pub family: Option<String>,
    /// SES's words: the bounce type and subtype, the complaint's feedback type, the reject reason.
    pub reason: String,
}

/// The last thing known of mail to an address: the extension fields of Query and List.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub kind: DeliveryKind,
    pub at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an SES event: {0}")]
pub struct NotAnSesEvent(pub String);

/// SES message tags allow only letters, digits, `_` and `-`, up to 256 characters: every other byte of the
/// caller id is written `_XX` (hex), `_` itself included. `None` when it would be longer.
pub fn caller_tag(caller: &CallerId) -> Option<String> {
    let mut out = String::new();
    for b in caller.as_str().bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    (out.len() <= 256).then_some(out)
}

/// The caller id a `caller` tag holds.
pub fn caller_from_tag(tag: &str) -> Option<CallerId> {
    let mut bytes = Vec::new();
    let mut it = tag.bytes();
    while let Some(b) = it.next() {
        if b == b'_' {
            let hex = [it.next()?, it.next()?];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    CallerId::parse(&String::from_utf8(bytes).ok()?).ok()
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn tag<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["tags"][name].as_array()?.first()?.as_str()
}

/// The addresses an SES event is about. Takes the EventBridge envelope (`detail` holds the SES event) or the
/// SES event itself (as SNS or Firehose deliver it). Event types other than these four (sends, opens,
/// clicks, delays) are about no address's deliverability: none.
pub fn parse_ses_event(event: &Value) -> Result<Vec<DeliveryEvent>, NotAnSesEvent> {
    let ses = if event.get("detail").is_some_and(Value::is_object) {
        &event["detail"]
    } else {
        event
    };
    let kind_name = ses["eventType"]
        .as_str()
        .or_else(|| ses["notificationType"].as_str())
        .ok_or_else(|| NotAnSesEvent("no eventType".into()))?;
    let mail = &ses["mail"];
    if !mail.is_object() {
        return Err(NotAnSesEvent("no mail".into()));
    }
    let caller = tag(mail, "caller").and_then(caller_from_tag);
    let family = tag(mail, "family").map(str::to_string);
    let mail_time = time(&mail["timestamp"]);
    let (kind, part, recipients): (DeliveryKind, &Value, Vec<&str>) = match kind_name {
        "Bounce" => {
            let b = &ses["bounce"];
            let kind = if b["bounceType"] == "Transient" {
                DeliveryKind::SoftBounce
            } else {
                DeliveryKind::HardBounce
            };
            let to = b["bouncedRecipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["emailAddress"].as_str())
                .collect();
            (kind, b, to)
        }
        "Complaint" => {
            let c = &ses["complaint"];
            let to = c["complainedRecipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["emailAddress"].as_str())
                .collect();
            (DeliveryKind::Complaint, c, to)
        }
        "Delivery" => {
            let d = &ses["delivery"];
            let to = d["recipients"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (DeliveryKind::Delivered, d, to)
        }
        "Reject" => {
            let to = mail["destination"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (DeliveryKind::Rejected, &ses["reject"], to)
        }
        _ => return Ok(Vec::new()),
    };
    let at = time(&part["timestamp"])
        .or(mail_time)
        .ok_or_else(|| NotAnSesEvent("no timestamp".into()))?;
    let reason = match kind {
        DeliveryKind::HardBounce | DeliveryKind::SoftBounce => format!(
            "{} {}",
            part["bounceType"].as_str().unwrap_or(""),
            part["bounceSubType"].as_str().unwrap_or("")
        )
        .trim()
        .to_string(),
        DeliveryKind::Complaint => part["complaintFeedbackType"]
            .as_str()
            .unwrap_or("complaint")
            .to_string(),
        DeliveryKind::Rejected => part["reason"].as_str().unwrap_or("").to_string(),
        DeliveryKind::Delivered => String::new(),
    };
    Ok(recipients
        .into_iter()
        // A recipient may be written `Name <address>`.
        .filter_map(|r| {
            let bare = r
                .rsplit_once('<')
                .map_or(r, |(_, rest)| rest.trim_end_matches('>'));
            EmailAddress::parse(bare).ok()
        })
        .map(|address| DeliveryEvent {
            address,
            kind,
            at,
            caller: caller.clone(),
            family: family.clone(),
            reason: reason.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caller_tags_read_back_and_hold_only_what_ses_allows() {
        for raw in [
            "alice",
            "arn:aws:iam::123456789012:user/ops/alice",
            "a_b.c@d+e=f,g",
            "local-bob",
        ] {
            let caller = CallerId::parse(raw).unwrap();
            let tag = caller_tag(&caller).unwrap();
            assert!(
                tag.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{tag}"
            );
            assert_eq!(caller_from_tag(&tag), Some(caller));
        }
        assert_eq!(
            caller_tag(&CallerId::parse(&"/".repeat(100)).unwrap()),
            None,
            "too long for a tag"
        );
        assert_eq!(caller_from_tag("bad_Z"), None);
    }

    #[test]
    fn an_eventbridge_bounce_names_its_addresses_caller_and_time() {
        let event = json!({
            "version": "0", "id": "e1", "detail-type": "Email Bounced", "source": "aws.ses",
            "detail": {
                "eventType": "Bounce",
                "mail": {"timestamp": "2026-11-29T10:00:00.000Z", "messageId": "m1", "destination": ["A@Example.com"],
                         "tags": {"caller": [caller_tag(&CallerId::parse("alice").unwrap()).unwrap()], "family": ["link"]}},
                "bounce": {"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
                           "bouncedRecipients": [{"emailAddress": "Someone <A@Example.com>"}], "timestamp": "2026-11-29T10:00:01.500Z"}
            }
        });
        let got = parse_ses_event(&event).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].address.as_str(), "a@example.com");
        assert_eq!(got[0].kind, DeliveryKind::HardBounce);
        assert!(got[0].kind.makes_undeliverable());
        assert_eq!(got[0].caller.as_ref().map(CallerId::as_str), Some("alice"));
        assert_eq!(got[0].at.timestamp_millis(), 1_795_946_401_500);
        assert_eq!(got[0].reason, "Permanent OnAccountSuppressionList");
        let soft = json!({"eventType": "Bounce", "mail": {"timestamp": "2026-11-29T10:00:00Z"},
            "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "b@example.com"}]}});
        assert_eq!(
            parse_ses_event(&soft).unwrap()[0].kind,
            DeliveryKind::SoftBounce
        );
        assert!(!DeliveryKind::SoftBounce.makes_undeliverable());
        let open =
            json!({"detail": {"eventType": "Open", "mail": {"timestamp": "2026-11-29T10:00:00Z"}}});
        assert_eq!(parse_ses_event(&open).unwrap(), vec![]);
        assert!(parse_ses_event(&json!({"hello": 1})).is_err());
    }
}

/// The DynamoDB API actions the events consumer calls (the template grants it exactly these).
pub const DYNAMODB: &[&str] = &["UpdateItem"];

/// What one SES event did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consumed {
    /// Addresses the event was about.
    pub addresses: usize,
    /// Of those, the ones whose recorded state changed (0 for an event seen before).
    pub changed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    NotAnSesEvent(#[from] NotAnSesEvent),
    #[error(transparent)]
    Store(#[from] crate::error::BackendError),
}

/// Records one SES event. An error makes Lambda try the event again (twice), then put it in the
/// dead-letter queue (`SesEventsDeadLetterQueue`, watched by an alarm); trying again is safe, since every
/// write is conditional on the event being newer than what is recorded.
#[tracing::instrument(skip_all)]
pub async fn consume<S: crate::store::Store>(
    store: &S,
    event: &Value,
) -> Result<Consumed, ConsumeError> {
    let events = parse_ses_event(event)?;
    let mut done = Consumed {
        addresses: events.len(),
        changed: 0,
    };
    for e in &events {
        let changed = store.record_delivery(e).await?;
        tracing::info!(email = %e.address.masked(), kind = e.kind.as_str(), changed, "SES event recorded");
        if changed {
            done.changed += 1;
            let family = e.family.as_deref().unwrap_or("unknown");
            match e.kind {
                DeliveryKind::HardBounce | DeliveryKind::SoftBounce => {
                    crate::metrics::count(crate::metrics::Metric::Bounces, "SesEvents", family)
                }
                DeliveryKind::Complaint => {
                    crate::metrics::count(crate::metrics::Metric::Complaints, "SesEvents", family)
                }
                DeliveryKind::Delivered | DeliveryKind::Rejected => {}
            }
        }
    }
    Ok(done)
}

/// The whole `main` of the `ses-events` function: EventBridge hands it each SES event of the stack's
/// configuration set.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let aws = crate::aws::sdk_config().await?;
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let store = std::sync::Arc::new(crate::store::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        table,
    ));
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<Value>| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let done = consume(store.as_ref(), &event.payload).await.map_err(|e| {
                tracing::error!(error = %e, "SES event not recorded; Lambda tries again, then the dead-letter queue");
                lambda_runtime::Error::from(e.to_string())
            })?;
            Ok::<Value, lambda_runtime::Error>(serde_json::json!({"addresses": done.addresses, "changed": done.changed}))
        }
    }))
    .await
}
