//! SES's events as they arrive (EventBridge, `source` `aws.ses`, or an SNS notification's message), read into
//! the domain's [`DeliveryEvent`]s. The tags `caller` and `family` say whose mail it was.

use chrono::{DateTime, Utc};
use serde_json::Value;

use shared::delivery::{caller_from_tag, DeliveryEvent, DeliveryKind};
use shared::model::EmailAddress;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an SES event: {0}")]
pub struct NotAnSesEvent(pub String);

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

/// An SES event that could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    NotAnSesEvent(#[from] NotAnSesEvent),
    #[error(transparent)]
    Store(#[from] shared::error::BackendError),
}

/// Reads one SES event and records it. An error makes Lambda try the event again (twice), then put it in
/// the dead-letter queue (`SesEventsDeadLetterQueue`, watched by an alarm).
pub async fn consume<S: shared::store::Store>(
    store: &S,
    event: &Value,
    policy: &shared::callers::StopPolicy,
) -> Result<shared::delivery::Consumed, ConsumeError> {
    let events = parse_ses_event(event)?;
    Ok(shared::delivery::record(store, &events, policy).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::delivery::caller_tag;
    use shared::model::CallerId;

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
