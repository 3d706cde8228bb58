//! Counts in CloudWatch's embedded metric format: one JSON line on standard output per event, which the
//! Lambda log carries to CloudWatch Logs, where it becomes a metric of the namespace `EmailVerification`
//! without any call to CloudWatch. Dimensions are few and fixed: the action and the family (`link`,
//! `code`); never a caller or an address, whose numbers would make a metric each.

use serde_json::json;

pub const NAMESPACE: &str = "EmailVerification";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    MailsSent,
    TextsSent,
    LinksVerified,
    CodesVerified,
    QuotaRefusals,
    Bounces,
    Complaints,
    /// A caller's mail was stopped by the bounce circuit breaker (once per stop).
    CallerMailStopped,
    /// A webhook attempt answered 2xx; one that did not; one that will be tried again.
    WebhookDelivered,
    WebhookFailed,
    WebhookRetried,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Self::MailsSent => "MailsSent",
            Self::TextsSent => "TextsSent",
            Self::LinksVerified => "LinksVerified",
            Self::CodesVerified => "CodesVerified",
            Self::QuotaRefusals => "QuotaRefusals",
            Self::Bounces => "Bounces",
            Self::Complaints => "Complaints",
            Self::CallerMailStopped => "CallerMailStopped",
            Self::WebhookDelivered => "WebhookDelivered",
            Self::WebhookFailed => "WebhookFailed",
            Self::WebhookRetried => "WebhookRetried",
        }
    }
}

/// The line for one count of `metric` (exposed for its test).
pub fn line(metric: Metric, action: &str, family: &str, at_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Action", "Family"]],
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }],
        },
        "Action": action,
        "Family": family,
        metric.name(): 1,
    })
    .to_string()
}

/// Counts one `metric` for `action` in `family`.
pub fn count(metric: Metric, action: &str, family: &str) {
    use std::io::Write;
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // `EMF_METRICS=0` turns them off (a test that sends a hundred thousand mails in one process).
    if !*ON.get_or_init(|| std::env::var("EMF_METRICS").map_or(true, |v| v != "0")) {
        return;
    }
    let text = line(
        metric,
        action,
        family,
        chrono::Utc::now().timestamp_millis(),
    );
    // One write of one line, which never interleaves with the log lines of other threads, and never panics
    // (as `println!` would if standard output were gone).
    let _ = std::io::stdout()
        .lock()
        .write_all(format!("{text}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_embedded_metric_format_with_low_cardinality_dimensions() {
        let v: serde_json::Value = serde_json::from_str(&line(
            Metric::MailsSent,
            "SubmitEmailVerification",
            "link",
            1_700_000_000_000,
        ))
        .unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "EmailVerification");
        assert_eq!(m["Dimensions"], json!([["Action", "Family"]]));
        assert_eq!(m["Metrics"][0]["Name"], "MailsSent");
        assert_eq!(
            (
                v["Action"].clone(),
                v["Family"].clone(),
                v["MailsSent"].clone()
            ),
            (json!("SubmitEmailVerification"), json!("link"), json!(1))
        );
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        // Nothing else: no caller, no address.
        assert_eq!(v.as_object().unwrap().len(), 4);
    }
}
