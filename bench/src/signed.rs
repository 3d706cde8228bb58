//! Signed requests for the front door, as the vendors' SDKs send them: API Gateway HTTP API (payload 2.0)
//! events for `POST /`, signed with ACS3-HMAC-SHA256, Alibaba's RPC HMAC-SHA1 or Tencent's TC3-HMAC-SHA256.
//! They are signed with the public helpers of `edge::front_door` (the same canonical forms the front
//! door checks against); the vendors' worked examples in those modules' tests hold the helpers to the
//! vendors' own signers.

use api::signing::{acs3, rpc, tc3};
use api::signing::{canonical_pairs, hmac_sha256, sha256_hex, HmacSha1};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::Mac;
use serde_json::{json, Map, Value};

/// The API's host name in the events (API Gateway's default domain).
pub const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";
/// The versions the SDKs send; the front door reads neither.
pub const ALIBABA_VERSION: &str = "2018-01-29";
pub const TENCENT_VERSION: &str = "2021-01-11";
/// The service in a TC3 credential's scope.
pub const TENCENT_SERVICE: &str = "domain";

/// The three schemes the front door accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Alibaba Cloud ACS3-HMAC-SHA256 (`alibabacloud-tea-openapi`): the parameters in the query string.
    Acs3,
    /// Alibaba Cloud RPC, HMAC-SHA1 (`aliyun-python-sdk-core`): every parameter, signature included, in the
    /// query string.
    Rpc,
    /// Tencent Cloud TC3-HMAC-SHA256 (API 3.0): the parameters in a JSON body.
    Tc3,
}

impl Scheme {
    pub const ALL: [Scheme; 3] = [Scheme::Acs3, Scheme::Rpc, Scheme::Tc3];

    pub fn label(self) -> &'static str {
        match self {
            Scheme::Acs3 => "ACS3-HMAC-SHA256",
            Scheme::Rpc => "RPC HMAC-SHA1",
            Scheme::Tc3 => "TC3-HMAC-SHA256",
        }
    }
}

/// A key pair as the front door's key ring holds it (`ACCESS_KEYS`).
#[derive(Clone, Debug)]
pub struct KeyPair {
    pub id: String,
    pub secret: String,
    /// The caller the pair acts for.
    pub caller: String,
}

impl KeyPair {
    /// The key ring's JSON document for these pairs (`KeyRing::parse` reads it).
    pub fn ring_json(pairs: &[KeyPair]) -> String {
        Value::Array(
            pairs
                .iter()
                .map(|k| json!({"AccessKeyId": k.id, "AccessKeySecret": k.secret, "Caller": k.caller}))
                .collect(),
        )
        .to_string()
    }
}

/// A unique nonce per request (Alibaba refuses a nonce it has seen within 15 minutes).
fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A JSON object's members as the strings a query string carries: arrays joined by `,`.
pub fn string_pairs(params: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), String::from))
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    params
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default()
}

fn query_string(pairs: &[(String, String)]) -> String {
    canonical_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The API Gateway v2 event of `POST /` with these headers, query parameters and body.
fn api_event(
    headers: &Map<String, Value>,
    query: &[(String, String)],
    body: &str,
    user_agent: &str,
) -> String {
    let mut headers = headers.clone();
    for (k, v) in [
        ("accept", "application/json"),
        ("content-length", &body.len().to_string()),
        ("user-agent", user_agent),
        (
            "x-amzn-trace-id",
            "Root=1-6922f6c0-0123456789abcdef01234567",
        ),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ] {
        headers
            .entry(k)
            .or_insert_with(|| Value::String(v.to_string()));
    }
    let query_parameters: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "POST /",
        "rawPath": "/",
        "rawQueryString": query_string(query),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": HOST,
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": user_agent},
            "requestId": "Vb1UyQ2mIAMEJ0B=",
            "routeKey": "POST /",
            "stage": "$default",
            "time": "23/Nov/2025:12:00:00 +0000",
            "timeEpoch": 1763899200000_i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    if !query_parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters);
    }
    event.to_string()
}

/// The event of one call of `action` with `params` (a JSON object: the body the per-action route takes),
/// signed with `key` in `scheme` at `now` (the server's clock: the front door refuses a time outside its
/// window).
pub fn event(
    scheme: Scheme,
    key: &KeyPair,
    action: &str,
    params: &Value,
    now: DateTime<Utc>,
) -> String {
    match scheme {
        Scheme::Acs3 => acs3_event(key, action, params, now),
        Scheme::Rpc => rpc_event(key, action, params, now),
        Scheme::Tc3 => tc3_event(key, action, params, now),
    }
}

/// The event of `POST /` with no signature of any scheme, as a flood sends it: `body` with `content_type`,
/// no `Authorization`, no `Signature` parameter.
pub fn unsigned_event(content_type: &str, body: &str) -> String {
    let headers: Map<String, Value> = [
        ("host".to_string(), Value::String(HOST.into())),
        (
            "content-type".to_string(),
            Value::String(content_type.into()),
        ),
    ]
    .into_iter()
    .collect();
    api_event(&headers, &[], body, "curl/8.5.0")
}

fn acs3_event(key: &KeyPair, action: &str, params: &Value, now: DateTime<Utc>) -> String {
    let query = string_pairs(params);
    let body: &[u8] = b"";
    let mut signed: Vec<(String, String)> = vec![
        ("host".into(), HOST.into()),
        ("x-acs-action".into(), action.into()),
        ("x-acs-content-sha256".into(), sha256_hex(body)),
        (
            "x-acs-date".into(),
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".into(), nonce()),
        ("x-acs-version".into(), ALIBABA_VERSION.into()),
    ];
    signed.sort();
    let names: Vec<String> = signed.iter().map(|(n, _)| n.clone()).collect();
    let lookup = |name: &str| {
        signed
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let canonical = acs3::canonical_request("POST", "/", &query, &names, &lookup, body);
    let signature = hex::encode(hmac_sha256(
        key.secret.as_bytes(),
        acs3::string_to_sign(&canonical).as_bytes(),
    ));
    let mut headers: Map<String, Value> = signed
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(v.clone())))
        .collect();
    headers.insert(
        "authorization".into(),
        Value::String(format!(
            "{} Credential={},SignedHeaders={},Signature={signature}",
            acs3::ALGORITHM,
            key.id,
            names.join(";")
        )),
    );
    api_event(
        &headers,
        &query,
        "",
        "AlibabaCloud (Linux; x86_64) Rust/bench TeaDSL/2",
    )
}

fn rpc_event(key: &KeyPair, action: &str, params: &Value, now: DateTime<Utc>) -> String {
    let mut pairs = vec![
        ("Action".to_string(), action.to_string()),
        ("AccessKeyId".into(), key.id.clone()),
        ("Format".into(), "JSON".into()),
        ("SignatureMethod".into(), rpc::SIGNATURE_METHOD.into()),
        ("SignatureNonce".into(), nonce()),
        ("SignatureVersion".into(), "1.0".into()),
        (
            "Timestamp".into(),
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("Version".into(), ALIBABA_VERSION.into()),
    ];
    pairs.extend(string_pairs(params));
    let string_to_sign =
        rpc::string_to_sign("POST", pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut mac = match <HmacSha1 as Mac>::new_from_slice(&rpc::key(&key.secret)) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    pairs.push(("Signature".into(), signature));
    let headers: Map<String, Value> = [("host".to_string(), Value::String(HOST.into()))]
        .into_iter()
        .collect();
    api_event(
        &headers,
        &pairs,
        "",
        "aliyun-sdk-python/2.16.0 Python/3.11.7 Linux/x86_64",
    )
}

fn tc3_event(key: &KeyPair, action: &str, params: &Value, now: DateTime<Utc>) -> String {
    let body = params.to_string();
    let timestamp = now.timestamp().to_string();
    let date = now.format("%Y-%m-%d").to_string();
    // Signed as Tencent's current documentation signs them: with the action. (Its older example signs only
    // content-type and host; then two actions with the same body in the same second have the same
    // signature, which the front door takes for a replay.)
    let signed = [
        ("content-type", "application/json"),
        ("host", HOST),
        ("x-tc-action", action),
    ];
    let names: Vec<String> = signed.iter().map(|(n, _)| n.to_string()).collect();
    let lookup = |name: &str| {
        signed
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
    };
    let canonical = tc3::canonical_request("POST", "", &names, &lookup, body.as_bytes());
    let string_to_sign = tc3::string_to_sign(&timestamp, &date, TENCENT_SERVICE, &canonical);
    let signature = hex::encode(hmac_sha256(
        &tc3::signing_key(&key.secret, &date, TENCENT_SERVICE),
        string_to_sign.as_bytes(),
    ));
    let mut headers: Map<String, Value> = Map::new();
    for (k, v) in [
        ("content-type", "application/json".to_string()),
        ("host", HOST.to_string()),
        ("x-tc-action", action.to_string()),
        ("x-tc-timestamp", timestamp),
        ("x-tc-version", TENCENT_VERSION.to_string()),
        (
            "authorization",
            format!(
                "{} Credential={}/{date}/{TENCENT_SERVICE}/tc3_request, SignedHeaders={}, Signature={signature}",
                tc3::ALGORITHM,
                key.id,
                names.join(";")
            ),
        ),
    ] {
        headers.insert(k.into(), Value::String(v));
    }
    api_event(&headers, &[], &body, "TencentCloudSDK/3.0 Rust/bench")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::NoopMailer;
    use adapters::env::FromEnv;
    use adapters::sms::SmsSender;
    use edge::front_door::{FrontDoor, KeyRing, Keys};
    use shared::app::{system_clock, App, Config};
    use shared::store::MemoryStore;

    fn door(key: &KeyPair) -> FrontDoor<MemoryStore, NoopMailer> {
        // The configuration as the functions read it; only the two variables without a default are set.
        for (name, value) in [
            ("TABLE_NAME", "bench-test"),
            ("SENDER_ADDRESS", "no-reply@verify.local"),
        ] {
            if std::env::var(name).is_err() {
                std::env::set_var(name, value);
            }
        }
        let config = Config::from_env().unwrap();
        let app = App {
            store: MemoryStore::new(),
            mailer: NoopMailer,
            sms: SmsSender::None.into(),
            code_secret: None,
            config,
            clock: system_clock(),
        };
        FrontDoor {
            app,
            keys: Keys::fixed(
                KeyRing::parse(&KeyPair::ring_json(std::slice::from_ref(key))).unwrap(),
            ),
        }
    }

    async fn call(door: &FrontDoor<MemoryStore, NoopMailer>, event: &str) -> (u16, Value) {
        let response =
            edge::front_door::handle(door, lambda_http::request::from_str(event).unwrap()).await;
        let status = response.status().as_u16();
        let body = match response.into_body() {
            lambda_http::Body::Text(t) => t,
            other => panic!("not text: {other:?}"),
        };
        (status, serde_json::from_str(&body).unwrap())
    }

    /// Every scheme's request is admitted and runs its action; the same request again is a replay; a
    /// request signed with another secret is refused.
    #[tokio::test]
    async fn the_front_door_admits_each_schemes_requests_once() {
        let key = KeyPair {
            id: "bench-key".into(),
            secret: "bench-secret-0123".into(),
            caller: "arn:aws:iam::123456789012:user/bench".into(),
        };
        let door = door(&key);
        for (i, scheme) in Scheme::ALL.into_iter().enumerate() {
            let params = json!({"Email": format!("signed.{i}@example.com"), "Lang": "en"});
            let event = event(scheme, &key, "SubmitEmailVerification", &params, Utc::now());
            let (status, body) = call(&door, &event).await;
            assert_eq!(status, 200, "{scheme:?}: {body}");
            assert_eq!(
                body["SuccessList"].as_array().map(Vec::len),
                Some(1),
                "{scheme:?}: {body}"
            );

            let (status, body) = call(&door, &event).await;
            let code = body["Code"]
                .as_str()
                .or(body["Response"]["Error"]["Code"].as_str())
                .unwrap_or("");
            assert!(
                code == "SignatureNonceUsed" || code == "AuthFailure.SignatureFailure",
                "{scheme:?}: replay answered {status} {body}"
            );

            let wrong = KeyPair {
                secret: "another-secret-0123".into(),
                ..key.clone()
            };
            let (status, body) = call(
                &door,
                &super::event(
                    scheme,
                    &wrong,
                    "QueryEmailVerification",
                    &params,
                    Utc::now(),
                ),
            )
            .await;
            let code = body["Code"]
                .as_str()
                .or(body["Response"]["Error"]["Code"].as_str())
                .unwrap_or("");
            assert!(
                code == "SignatureDoesNotMatch" || code == "AuthFailure.SignatureFailure",
                "{scheme:?}: wrong secret answered {status} {body}"
            );
        }
    }

    #[test]
    fn json_members_become_query_strings() {
        let pairs = string_pairs(
            &json!({"Email": ["a@x.com", "b@x.com"], "Type": 2, "Lang": "en", "Flag": true}),
        );
        let find = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(find("Email"), Some("a@x.com,b@x.com"));
        assert_eq!(find("Type"), Some("2"));
        assert_eq!(find("Flag"), Some("true"));
        assert_eq!(find("Lang"), Some("en"));
    }
}
