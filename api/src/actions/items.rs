//! The parts of the answers that several actions build alike: one address's outcome, and a record as
//! Query and List show it.

use serde_json::{json, Value};
use shared::model::{format_time, Lang, VerificationRecord};

use crate::error::ItemCode;
use crate::messages::Msg;

/// One address's outcome: `{"Email", "Code", "Message"}`, plus `RetryAfterSeconds` when the quota refused it.
pub fn outcome_item(email: &str, code: ItemCode, msg: &Msg, lang: Lang) -> Value {
    let mut item = json!({"Email": email, "Code": code.as_str(), "Message": msg.text(lang)});
    if let (
        Msg::QuotaExceeded {
            retry_after_seconds,
        },
        Some(map),
    ) = (msg, item.as_object_mut())
    {
        map.insert("RetryAfterSeconds".into(), json!(retry_after_seconds));
    }
    item
}

/// A record as Query and List show it. Times are UTC, `YYYY-MM-DD HH:MM:SS`; absent ones are empty.
pub fn record_fields(r: &VerificationRecord) -> serde_json::Map<String, Value> {
    let body = json!({
        "ConfirmIp": r.confirm_ip.clone().unwrap_or_default(),
        "Email": r.email.as_str(),
        "EmailVerificationNo": r.verification_no,
        "GmtCreate": format_time(r.created),
        "GmtModified": format_time(r.modified),
        "SendIp": r.send_ip,
        "TokenSendTime": format_time(r.token_sent),
        "UserId": r.caller.as_str(),
        "VerificationStatus": r.status.code(),
        "VerificationTime": r.verified_at.map(format_time).unwrap_or_default(),
        // Extensions: the last SES event about this caller's mail to the address ("" before any).
        "DeliveryState": r.delivery.as_ref().map(|d| d.kind.as_str()).unwrap_or_default(),
        "DeliveryTime": r.delivery.as_ref().map(|d| format_time(d.at)).unwrap_or_default(),
    });
    match body {
        Value::Object(mut map) => {
            // Extension: the domain names the contact covers (`Domains` of Submit or Resend), when given.
            let names: Vec<&str> = r.domains.iter().map(|d| d.as_str()).collect();
            // Extensions for a record with a registrar's deadline (its caller had `Deadline` at its first send).
            if let Some(deadline) = r.deadline {
                map.insert("Deadline".into(), json!(format_time(deadline)));
                map.insert("DeadlineMissed".into(), json!(r.deadline_missed.is_some()));
                map.insert("RemindersSent".into(), json!(r.reminders_sent));
                map.insert("VerifiedLate".into(), json!(r.verified_late()));
                map.insert("Domains".into(), json!(names));
            } else if !names.is_empty() {
                map.insert("Domains".into(), json!(names));
            }
            map
        }
        _ => serde_json::Map::new(),
    }
}
