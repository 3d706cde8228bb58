//! Requests as the functions receive them: API Gateway HTTP API (payload 2.0) events with an IAM caller,
//! turned into a `lambda_http::Request` the way the runtime does and answered by `edge::lambda::handle`,
//! the code every function's `main` runs per invocation.

use adapters::env::FromEnv;
use api::action::Action;
use api::actions::{
    CreateIntlPhoneEmail, DeleteEmailVerification, DeleteIntlPhoneEmail,
    DescribeIntlPhoneEmailList, ListEmailVerification, QueryEmailVerification,
    ResendEmailVerification, SendIntlPhoneEmailCode, SubmitEmailVerification, VerifyEmail,
};
use serde_json::{json, Value};
use shared::app::{App, Config};
use shared::mail::Mailer;
use shared::store::Store;

/// The configuration the functions read (`local/env.sh`), with a per-caller rate (`CALLER_RATE_LIMIT`) that
/// no measurement reaches: the bench measures the handlers, not the throttle, and sends thousands of
/// requests a second as few callers. The bucket is still taken on every request, so its cost is counted.
pub fn config() -> Result<Config, String> {
    let mut config = Config::from_env()
        .map_err(|e| format!("{e} (run through `make bench`, which sources local/env.sh)"))?;
    config.caller_rate = shared::rate::CallerRate::new(1e9, 1e9);
    Ok(config)
}

/// The actions measured, in the order of the report: the scripted ones (their requests built for each
/// measurement), then every other action of the table with its sample event's body ([`Act::unscripted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Submit,
    Query,
    Resend,
    Verify,
    List,
    Delete,
    /// The code actions, with codes by mail (`Type` 2).
    SendCode,
    CreateContact,
    DescribeContacts,
    DeleteContact,
    /// An action of the table that has no script here: measured with the body of its sample event
    /// (`events/<function>.json`), its happy path.
    Other(&'static str),
}

impl Act {
    /// The actions with a script of their own.
    pub const SCRIPTED: [Act; 10] = [
        Act::Submit,
        Act::Query,
        Act::Resend,
        Act::Verify,
        Act::List,
        Act::Delete,
        Act::SendCode,
        Act::CreateContact,
        Act::DescribeContacts,
        Act::DeleteContact,
    ];

    /// Every other action of the table (`api::actions::ALL`), so that the bench measures each action
    /// the table has, scripted or not.
    pub fn unscripted() -> impl Iterator<Item = Act> {
        api::actions::ALL
            .iter()
            .filter(|info| !Self::SCRIPTED.iter().any(|a| a.name() == info.name))
            .map(|info| Act::Other(info.name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Act::Submit => SubmitEmailVerification::NAME,
            Act::Query => QueryEmailVerification::NAME,
            Act::Resend => ResendEmailVerification::NAME,
            Act::Verify => VerifyEmail::NAME,
            Act::List => ListEmailVerification::NAME,
            Act::Delete => DeleteEmailVerification::NAME,
            Act::SendCode => SendIntlPhoneEmailCode::NAME,
            Act::CreateContact => CreateIntlPhoneEmail::NAME,
            Act::DescribeContacts => DescribeIntlPhoneEmailList::NAME,
            Act::DeleteContact => DeleteIntlPhoneEmail::NAME,
            Act::Other(name) => name,
        }
    }

    /// The Tencent-style actions (the table's `Style`): errors come as HTTP 200 with `Response.Error`.
    pub fn tencent(self) -> bool {
        api::actions::ALL
            .iter()
            .any(|i| i.name == self.name() && i.style == api::render::Style::Tencent)
    }
}

/// The body of the sample event of `action`'s function (`events/<function>.json`), as JSON.
fn sample_body(action: &str) -> Value {
    let Some(info) = api::actions::ALL.iter().find(|i| i.name == action) else {
        return json!({});
    };
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{}.json", info.function_name()));
    std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|e| {
            e["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
        })
        .unwrap_or_else(|| json!({}))
}

/// A caller as API Gateway names it after IAM authorisation; the service keys records by this ARN.
pub fn caller_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:user/{name}")
}

/// A unique name: `prefix-<uuid>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh address.
pub fn fresh_address() -> String {
    format!(
        "bench.{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// The event of one API call (`POST /<Action>` with a JSON body) by `caller_arn`.
pub fn event(act: Act, caller_arn: &str, body: &Value) -> String {
    let path = format!("/{}", act.name());
    let body = body.to_string();
    json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-length": body.len().to_string(),
            "content-type": "application/json",
            "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "user-agent": "bench",
            "x-amzn-trace-id": "Root=1-6922f6c0-0123456789abcdef01234567",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "authorizer": {"iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAJQABLZS4A3QDU576Q",
                "userArn": caller_arn,
                "userId": "AIDAJQABLZS4A3QDU576Q"
            }},
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bench"},
            "requestId": "Vb1UvjV4IAMEJxA=",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "23/Nov/2025:12:00:00 +0000",
            "timeEpoch": 1763899200000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

/// Submit, Resend and Delete name a comma-separated list; Query one address; VerifyEmail a token; the
/// code actions one address (and CreateIntlPhoneEmail the code, passed as `token`).
pub fn body(act: Act, addresses: &[String], token: Option<&str>) -> Value {
    let first = addresses.first().cloned().unwrap_or_default();
    match act {
        Act::SendCode | Act::DeleteContact => json!({"Type": 2, "Code": first}),
        Act::CreateContact => {
            json!({"Type": 2, "Code": first, "VerifyCode": token.unwrap_or_default()})
        }
        Act::DescribeContacts => json!({"Type": 0, "Offset": 0, "Limit": 20}),
        Act::Submit | Act::Resend | Act::Delete => {
            json!({"Email": addresses.join(","), "Lang": "en"})
        }
        Act::Query => json!({"Email": addresses.first().cloned().unwrap_or_default()}),
        Act::Verify => json!({"Token": token.unwrap_or_default()}),
        Act::List => json!({"PageNum": "1", "PageSize": "20"}),
        Act::Other(name) => sample_body(name),
    }
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// A Tencent-style answer that carries `Response.Error`.
    pub fn tencent_error(&self) -> bool {
        serde_json::from_str::<Value>(&self.body)
            .map_or(true, |v| v["Response"].get("Error").is_some())
    }

    /// How many items the answer's `SuccessList` holds (0 when it has none).
    pub fn successes(&self) -> usize {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("SuccessList").and_then(Value::as_array).map(Vec::len))
            .unwrap_or(0)
    }
}

/// One invocation of `act` with an event from [`event`]: parsing the event included, as in the runtime. The
/// action is found in the table by name, and answered by the code every function's `main` runs.
pub async fn invoke<S: Store + shared::store::ReplayGuard, M: Mailer>(
    act: Act,
    app: &App<S, M>,
    event: &str,
) -> Answer {
    let Some(entry) = api::actions::find::<S, M>(act.name()) else {
        return Answer {
            status: 0,
            body: format!("{} is not in the action table", act.name()),
        };
    };
    let request = match lambda_http::request::from_str(event) {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                status: 0,
                body: format!("not an event: {e}"),
            }
        }
    };
    let response = edge::lambda::handle_entry(app, entry, request).await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        lambda_http::Body::Text(t) => t,
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    Answer { status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench measures every action of the table, and only those.
    #[test]
    fn the_bench_measures_every_action_of_the_table() {
        let mut measured: Vec<&str> = Act::SCRIPTED
            .iter()
            .copied()
            .chain(Act::unscripted())
            .map(Act::name)
            .collect();
        measured.sort();
        let mut table: Vec<&str> = api::actions::ALL.iter().map(|i| i.name).collect();
        table.sort();
        assert_eq!(measured, table);
    }
}
