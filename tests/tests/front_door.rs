//! The signed front door in this process, against DynamoDB Local and the SES emulator: every action
//! through each of the three schemes, the refusals that need a key the local stack does not have (a
//! disabled one) or a clock the test moves, the replay record in DynamoDB, and the access-keys command.
//! The vendors' own SDKs call the running stack in tests/sdk (Python); these requests are signed here
//! with the service's own canonical-request code, so they prove the dispatch and the checks, while
//! the SDK tests prove the signatures against the vendors' code.

use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::ses::SesMailer;
use api::actions::ALL;
use api::render::Style;
use api::signing::{acs3, rpc, tc3};
use api::signing::{hmac_sha256, sha256_hex};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use edge::front_door::{FrontDoor, KeyRing, Keys};
use serde_json::{json, Value};
use shared::store::ReplayGuard;
use stack_tests::*;

const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

fn keys(caller: &str) -> Keys {
    let doc = json!([
        {"AccessKeyId": format!("{caller}-key"), "AccessKeySecret": format!("{caller}-secret-value"), "Caller": caller},
        {"AccessKeyId": format!("{caller}-old"), "AccessKeySecret": format!("{caller}-old-secret"), "Caller": caller, "Status": "Disabled"},
        {"AccessKeyId": format!("{caller}-reader"), "AccessKeySecret": format!("{caller}-reader-secret"), "Caller": caller, "Actions": ["QueryEmailVerification"]},
    ]);
    Keys::fixed(KeyRing::parse(&doc.to_string()).expect("key pairs"))
}

async fn door(clock: &TestClock, caller: &str) -> FrontDoor<DynamoStore, SesMailer> {
    FrontDoor {
        app: local_app(clock).await,
        keys: keys(caller),
    }
}

/// An API Gateway HTTP API (payload 2.0) event for `POST /` or `GET /`, with no IAM identity.
fn event(
    method: &str,
    query: &str,
    headers: &[(String, String)],
    body: &str,
) -> lambda_http::Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let e = json!({
        "version": "2.0", "routeKey": format!("{method} /"), "rawPath": "/", "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": HOST, "domainPrefix": "a1b2c3d4e5",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": "Vb1UyQ2mIAMEJ0C=", "routeKey": format!("{method} /"), "stage": "$default",
            "time": "23/Nov/2025:12:00:00 +0000", "timeEpoch": 1763899200000_i64
        },
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&e.to_string()).expect("an API Gateway event")
}

fn query_of(params: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
        .replace('+', "%20")
}

/// ACS3: parameters in the query, empty body, the x-acs headers signed.
fn acs3_request(
    action: &str,
    params: &[(&str, String)],
    key: &str,
    secret: &str,
    at: DateTime<Utc>,
    nonce: &str,
) -> lambda_http::Request {
    let query = query_of(params);
    let mut headers = vec![
        ("host".to_string(), HOST.to_string()),
        ("x-acs-action".to_string(), action.to_string()),
        ("x-acs-content-sha256".to_string(), sha256_hex(b"")),
        (
            "x-acs-date".to_string(),
            at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".to_string(), nonce.to_string()),
        ("x-acs-version".to_string(), "2018-01-29".to_string()),
    ];
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let lookup = |name: &str| {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let canonical = acs3::canonical_request("POST", "/", &pairs, &signed, &lookup, b"");
    let signature = hex::encode(hmac_sha256(
        secret.as_bytes(),
        acs3::string_to_sign(&canonical).as_bytes(),
    ));
    headers.push((
        "authorization".into(),
        format!(
            "ACS3-HMAC-SHA256 Credential={key},SignedHeaders={},Signature={signature}",
            signed.join(";")
        ),
    ));
    event("POST", &query, &headers, "")
}

/// RPC: every parameter, the signature ones included, in the query of a GET.
fn rpc_request(
    action: &str,
    params: &[(&str, String)],
    key: &str,
    secret: &str,
    at: DateTime<Utc>,
    nonce: &str,
) -> lambda_http::Request {
    let mut all: Vec<(&str, String)> = params.to_vec();
    all.extend([
        ("Action", action.to_string()),
        ("AccessKeyId", key.to_string()),
        ("Format", "JSON".to_string()),
        ("SignatureMethod", "HMAC-SHA1".to_string()),
        ("SignatureNonce", nonce.to_string()),
        ("SignatureVersion", "1.0".to_string()),
        ("Timestamp", at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("Version", "2018-01-29".to_string()),
    ]);
    let sts = rpc::string_to_sign("GET", all.iter().map(|(k, v)| (*k, v.as_str())));
    let mac = api::signing::hmac_sha1(&rpc::key(secret), sts.as_bytes());
    all.push((
        "Signature",
        base64::engine::general_purpose::STANDARD.encode(mac),
    ));
    event("GET", &query_of(&all), &[("host".into(), HOST.into())], "")
}

/// TC3: a JSON body, content-type and host signed, X-TC-Action not.
fn tc3_request(
    action: &str,
    body: &Value,
    key: &str,
    secret: &str,
    at: DateTime<Utc>,
) -> lambda_http::Request {
    tc3_request_with(action, body, key, secret, at, &[])
}

fn tc3_request_with(
    action: &str,
    body: &Value,
    key: &str,
    secret: &str,
    at: DateTime<Utc>,
    extra: &[(&str, &str)],
) -> lambda_http::Request {
    tc3_raw(
        action,
        &body.to_string(),
        key,
        secret,
        at,
        extra,
        HOST,
        HOST,
    )
}

/// TC3 over a body as written, signing `signed_host` while sending `sent_host`.
#[allow(clippy::too_many_arguments)]
fn tc3_raw(
    action: &str,
    body: &str,
    key: &str,
    secret: &str,
    at: DateTime<Utc>,
    extra: &[(&str, &str)],
    signed_host: &str,
    sent_host: &str,
) -> lambda_http::Request {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), signed_host.to_string()),
    ];
    let signed = vec!["content-type".to_string(), "host".to_string()];
    let lookup = |name: &str| {
        headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let canonical = tc3::canonical_request("POST", "", &signed, &lookup, body.as_bytes());
    let date = at.format("%Y-%m-%d").to_string();
    let sts = tc3::string_to_sign(&at.timestamp().to_string(), &date, "domain", &canonical);
    let signature = hex::encode(hmac_sha256(
        &tc3::signing_key(secret, &date, "domain"),
        sts.as_bytes(),
    ));
    headers.extend([
        ("x-tc-action".into(), action.to_string()),
        ("x-tc-timestamp".into(), at.timestamp().to_string()),
        ("x-tc-version".into(), "2018-08-08".into()),
        ("authorization".into(), format!("TC3-HMAC-SHA256 Credential={key}/{date}/domain/tc3_request, SignedHeaders=content-type;host, Signature={signature}")),
    ]);
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    headers[1].1 = sent_host.to_string();
    event("POST", "", &headers, body)
}

async fn call(door: &FrontDoor<DynamoStore, SesMailer>, request: lambda_http::Request) -> Answer {
    let response = edge::front_door::handle(door, request).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match response.into_body() {
        lambda_http::Body::Text(t) => t,
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    Answer {
        status,
        content_type,
        body,
    }
}

/// The code of a refusal or error in either envelope.
fn code(a: &Answer) -> String {
    let v = a.json();
    v["Code"]
        .as_str()
        .or_else(|| v["Response"]["Error"]["Code"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Parameters each action accepts as valid (its answer may still be an error of the action's own, such
/// as EmailVerificationNotExist: what matters is that it came from the action, not the door).
fn params_for(action: &str, address: &str) -> Vec<(&'static str, String)> {
    match action {
        "VerifyEmail" => vec![("Token", "ab".repeat(32))],
        "ListEmailVerification" => vec![("PageNum", "1".into())],
        "SendIntlPhoneEmailCode" | "DeleteIntlPhoneEmail" => {
            vec![("Type", "2".into()), ("Code", address.into())]
        }
        "CreateIntlPhoneEmail" => vec![
            ("Type", "2".into()),
            ("Code", address.into()),
            ("VerifyCode", "123456".into()),
        ],
        "DescribeIntlPhoneEmailList" => vec![("Type", "0".into())],
        _ => vec![("Email", address.into())],
    }
}

const DOOR_CODES: &[&str] = &[
    "MissingParameter",
    "IncompleteSignature",
    "InvalidTimeStamp.Format",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidTimeStamp.Expired",
    "SignatureDoesNotMatch",
    "SignatureNonceUsed",
    "InvalidAction.NotFound",
    "ServiceUnavailable",
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureExpire",
    "AuthFailure.SignatureFailure",
    "InvalidAction",
];

#[tokio::test]
async fn every_action_is_reachable_through_each_scheme_in_its_own_envelope() {
    let clock = TestClock::default();
    let caller = unique("door");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    for info in ALL {
        for scheme in ["acs3", "rpc", "tc3"] {
            let address = fresh_address();
            let params = params_for(info.name, &address);
            let nonce = uuid::Uuid::new_v4().to_string();
            let request = match scheme {
                "acs3" => acs3_request(info.name, &params, &key, &secret, clock.now(), &nonce),
                "rpc" => rpc_request(info.name, &params, &key, &secret, clock.now(), &nonce),
                _ => tc3_request(
                    info.name,
                    &Value::Object(
                        params
                            .iter()
                            .map(|(k, v)| (k.to_string(), json!(v)))
                            .collect(),
                    ),
                    &key,
                    &secret,
                    clock.now(),
                ),
            };
            let answer = call(&door, request).await;
            let what = format!(
                "{} via {scheme}: {} {}",
                info.name, answer.status, answer.body
            );
            assert!(
                !DOOR_CODES.contains(&code(&answer).as_str()),
                "refused at the door: {what}"
            );
            let v = answer.json();
            match info.style {
                Style::Alibaba => {
                    assert_eq!(v["RequestId"].as_str().map(str::len), Some(36), "{what}")
                }
                Style::Tencent => {
                    assert_eq!(answer.status, 200, "{what}");
                    assert_eq!(answer.content_type, "application/json", "{what}");
                    assert_eq!(
                        v["Response"]["RequestId"].as_str().map(str::len),
                        Some(36),
                        "{what}"
                    );
                }
            }
        }
    }
    // What went through the door is the caller's, as the IAM routes see it: the Submit of each scheme
    // made a record that Query finds for the same caller id.
    let submitted = items_of(&caller).await;
    assert!(
        submitted
            .iter()
            .filter(|i| i
                .get("kind")
                .and_then(|k| k.as_s().ok())
                .map(String::as_str)
                == Some("record"))
            .count()
            >= 3,
        "{submitted:?}"
    );
}

#[tokio::test]
async fn a_disabled_key_is_refused_in_each_vendors_code_and_changes_nothing() {
    let clock = TestClock::default();
    let caller = unique("disabled");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-old"), format!("{caller}-old-secret"));
    let address = fresh_address();
    let params = vec![("Email", address.clone())];
    let a = call(
        &door,
        acs3_request(
            "SubmitEmailVerification",
            &params,
            &key,
            &secret,
            clock.now(),
            "n-1",
        ),
    )
    .await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (400, "InvalidAccessKeyId.Inactive"),
        "{}",
        a.body
    );
    let a = call(
        &door,
        rpc_request(
            "SubmitEmailVerification",
            &params,
            &key,
            &secret,
            clock.now(),
            "n-2",
        ),
    )
    .await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (400, "InvalidAccessKeyId.Inactive"),
        "{}",
        a.body
    );
    let a = call(
        &door,
        tc3_request(
            "SubmitEmailVerification",
            &json!({"Email": address}),
            &key,
            &secret,
            clock.now(),
        ),
    )
    .await;
    assert_eq!(
        (a.status, a.content_type.as_str(), code(&a).as_str()),
        (200, "application/json", "AuthFailure.SecretIdNotFound"),
        "{}",
        a.body
    );
    assert!(
        items_of(&caller).await.is_empty(),
        "a refused request wrote something"
    );
    assert!(mails_to(&address).is_empty(), "a refused request sent mail");
}

#[tokio::test]
async fn the_clock_windows_are_15_minutes_for_alibaba_and_5_for_tencent() {
    let clock = TestClock::default();
    let caller = unique("window");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let list = vec![("PageNum", "1".to_string())];
    // Signed times have whole seconds; the server's clock does not: the boundaries are one second inside.
    let now = clock.now() - Duration::nanoseconds(clock.now().timestamp_subsec_nanos() as i64);
    for (offset, want) in [
        (-15 * 60 + 1, ""),
        (15 * 60, ""),
        (-15 * 60 - 1, "InvalidTimeStamp.Expired"),
        (15 * 60 + 1, "InvalidTimeStamp.Expired"),
    ] {
        let nonce = uuid::Uuid::new_v4().to_string();
        let a = call(
            &door,
            acs3_request(
                "ListEmailVerification",
                &list,
                &key,
                &secret,
                now + Duration::seconds(offset),
                &nonce,
            ),
        )
        .await;
        assert_eq!(code(&a), want, "ACS3 {offset} s: {}", a.body);
        let nonce = uuid::Uuid::new_v4().to_string();
        let a = call(
            &door,
            rpc_request(
                "ListEmailVerification",
                &list,
                &key,
                &secret,
                now + Duration::seconds(offset),
                &nonce,
            ),
        )
        .await;
        assert_eq!(code(&a), want, "RPC {offset} s: {}", a.body);
    }
    for (offset, want) in [
        (-299, ""),
        (300, ""),
        (-301, "AuthFailure.SignatureExpire"),
        (301, "AuthFailure.SignatureExpire"),
    ] {
        let a = call(
            &door,
            tc3_request(
                "DescribeIntlPhoneEmailList",
                &json!({"Type": 0}),
                &key,
                &secret,
                now + Duration::seconds(offset),
            ),
        )
        .await;
        assert_eq!(code(&a), want, "TC3 {offset} s: {}", a.body);
    }
}

#[tokio::test]
async fn tencent_sdks_choose_the_language_with_x_tc_language_and_lang_wins() {
    let clock = TestClock::default();
    let caller = unique("language");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let body = json!({"Type": 2, "Code": fresh_address()});
    let message = |a: &Answer| {
        a.json()["Response"]["Error"]["Message"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let zh = call(
        &door,
        tc3_request_with(
            "DeleteIntlPhoneEmail",
            &body,
            &key,
            &secret,
            clock.now(),
            &[("x-tc-language", "zh-CN")],
        ),
    )
    .await;
    assert!(message(&zh).contains("不在已验证列表中"), "{}", zh.body);
    // (Each request at another second: the same body signed at the same second is the same signature, a replay.)
    let en = call(
        &door,
        tc3_request_with(
            "DeleteIntlPhoneEmail",
            &body,
            &key,
            &secret,
            clock.now() + Duration::seconds(1),
            &[("x-tc-language", "en-US")],
        ),
    )
    .await;
    assert!(
        message(&en).contains("not in the verified list"),
        "{}",
        en.body
    );
    let mut with_lang = body.clone();
    with_lang["Lang"] = json!("en");
    let lang_wins = call(
        &door,
        tc3_request_with(
            "DeleteIntlPhoneEmail",
            &with_lang,
            &key,
            &secret,
            clock.now() + Duration::seconds(2),
            &[("x-tc-language", "zh-CN")],
        ),
    )
    .await;
    assert!(
        message(&lang_wins).contains("not in the verified list"),
        "{}",
        lang_wins.body
    );
    // A refusal speaks the header's language too.
    let refused = call(
        &door,
        tc3_request_with(
            "DeleteIntlPhoneEmail",
            &body,
            &key,
            "wrong-secret",
            clock.now(),
            &[("x-tc-language", "zh-CN")],
        ),
    )
    .await;
    assert_eq!(code(&refused), "AuthFailure.SignatureFailure");
    assert!(message(&refused).contains("签名不匹配"), "{}", refused.body);
}

#[tokio::test]
async fn a_nonce_is_used_once_per_key_and_again_only_after_its_window() {
    let clock = TestClock::default();
    let caller = unique("nonce");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let list = vec![("PageNum", "1".to_string())];
    let nonce = uuid::Uuid::new_v4().to_string();
    // The same nonce is spent by either Alibaba style: they share it.
    assert_eq!(
        code(
            &call(
                &door,
                acs3_request(
                    "ListEmailVerification",
                    &list,
                    &key,
                    &secret,
                    clock.now(),
                    &nonce
                )
            )
            .await
        ),
        ""
    );
    let again = call(
        &door,
        rpc_request(
            "ListEmailVerification",
            &list,
            &key,
            &secret,
            clock.now(),
            &nonce,
        ),
    )
    .await;
    assert_eq!(
        (again.status, code(&again).as_str()),
        (400, "SignatureNonceUsed"),
        "{}",
        again.body
    );
    // After the window (and its minute of slack) the nonce may come again, with a fresh time.
    clock.advance(Duration::minutes(17));
    assert_eq!(
        code(
            &call(
                &door,
                acs3_request(
                    "ListEmailVerification",
                    &list,
                    &key,
                    &secret,
                    clock.now(),
                    &nonce
                )
            )
            .await
        ),
        ""
    );
}

#[tokio::test]
async fn the_replay_record_in_dynamodb_is_written_once_within_its_window() {
    let clock = TestClock::default();
    let app = local_app(&clock).await;
    let key = unique("replay");
    let (now, until) = (Utc::now(), Utc::now() + Duration::minutes(16));
    assert!(app.store.first_use(&key, now, until).await.unwrap());
    assert!(!app.store.first_use(&key, now, until).await.unwrap());
    assert!(
        !app.store
            .first_use(&key, until, until + Duration::minutes(16))
            .await
            .unwrap(),
        "still within its window at its last second"
    );
    // Expired but not yet removed by DynamoDB's TTL sweep: usable again.
    assert!(app
        .store
        .first_use(
            &key,
            until + Duration::seconds(1),
            until + Duration::minutes(16)
        )
        .await
        .unwrap());
    // Fifty at once: exactly one wins.
    let racing = unique("replay-race");
    let app = Arc::new(app);
    let results = futures_util::future::join_all((0..50).map(|_| {
        let (app, racing) = (Arc::clone(&app), racing.clone());
        async move { app.store.first_use(&racing, now, until).await.unwrap() }
    }))
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
}

fn access_keys_exe() -> std::path::PathBuf {
    workspace_bin("access-keys")
}

/// Issue 20: commands at once never undo each other's writes (a revoke lost to a concurrent create would
/// re-enable the key): each holds the file's lock from its read to its write.
#[test]
fn access_keys_commands_at_once_keep_every_change() {
    let dir = std::env::temp_dir().join(unique("access-keys-race"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.json");
    let exe = access_keys_exe();
    let command = |args: &[&str]| {
        let mut c = std::process::Command::new(&exe);
        c.arg("--file").arg(&file).args(args);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let first = command(&["create", "alice"]).output().unwrap();
    assert!(first.status.success());
    let id = String::from_utf8_lossy(&first.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("AccessKeyId:").map(|v| v.trim().to_string()))
        .unwrap();
    for round in 0..3 {
        let mut running = vec![command(&["revoke", &id]).spawn().unwrap()];
        for _ in 0..6 {
            running.push(command(&["create", "bob"]).spawn().unwrap());
        }
        for child in running {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let ring = KeyRing::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(ring.keys().len(), 1 + 6 * (round + 1), "a create was lost");
        assert_eq!(
            ring.lookup(&id),
            edge::front_door::Lookup::Disabled,
            "the revoke was lost (round {round})"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_access_keys_command_creates_lists_and_revokes_pairs_in_a_file() {
    let dir = std::env::temp_dir().join(unique("access-keys"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.json");
    let exe = access_keys_exe();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&exe)
            .arg("--file")
            .arg(&file)
            .args(args)
            .output()
            .expect("access-keys runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (rc, out, _) = run(&["create", "alice"]);
    assert_eq!(rc, Some(0), "{out}");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (id, secret) = (field("AccessKeyId:"), field("AccessKeySecret:"));
    assert!(id.starts_with("VK") && secret.len() == 40, "{out}");
    let ring = KeyRing::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        matches!(ring.lookup(&id), edge::front_door::Lookup::Active { secret: s, .. } if s == secret)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (rc, listed, _) = run(&["list"]);
    assert_eq!(rc, Some(0));
    assert!(
        listed.contains(&id) && listed.contains("alice") && !listed.contains(&secret),
        "list must not show secrets: {listed}"
    );
    assert_eq!(run(&["revoke", &id]).0, Some(0));
    let ring = KeyRing::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(ring.lookup(&id), edge::front_door::Lookup::Disabled);
    let (rc, _, err) = run(&["revoke", "VKNOSUCHKEY"]);
    assert_eq!(rc, Some(2), "{err}");
    let (rc, _, err) = run(&["create", "not a caller#"]);
    assert_eq!(rc, Some(2), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A front door whose DynamoDB requests are counted, with its caller's rate shared at `shared` a second.
async fn counted_door(
    clock: &TestClock,
    caller: &str,
    shared: Option<u32>,
) -> (
    FrontDoor<DynamoStore, SesMailer>,
    bench::count::RequestCounter,
) {
    use adapters::env::FromEnv;
    let counter = bench::count::RequestCounter::new();
    let mut config = shared::app::Config::from_env().expect("configuration from local/env.sh");
    config.caller_rate = shared::rate::CallerRate::new(1000.0, 1000.0).shared(shared);
    let c = clock.clone();
    let app = bench::count::counted_app(
        config,
        &aws_config::load_from_env().await,
        &counter,
        Arc::new(move || c.now()),
    );
    (
        FrontDoor {
            app,
            keys: keys(caller),
        },
        counter,
    )
}

const DYNAMODB: &str = bench::count::DYNAMODB;

/// Issue 20: an unsigned request, whatever its body, and any body over 64 KiB, are refused before the
/// parameters are read and before any DynamoDB request.
#[tokio::test]
async fn unsigned_and_oversized_requests_are_refused_before_any_parse_and_any_dynamodb_request() {
    let clock = TestClock::default();
    let caller = unique("quiet");
    let (door, counter) = counted_door(&clock, &caller, Some(100)).await;
    counter.take();
    let json = [("content-type".to_string(), "application/json".to_string())];
    // Not JSON: were it parsed, the answer would be a JSON error.
    let a = call(&door, event("POST", "", &json, "{not json")).await;
    assert_eq!(
        (a.status, code(&a)),
        (400, "MissingParameter".into()),
        "{}",
        a.body
    );
    let a = call(&door, event("GET", "Lang=zh&Email=a%40b.c", &[], "")).await;
    assert!(
        a.json()["Message"].as_str().unwrap().contains("请求未签名"),
        "{}",
        a.body
    );
    let big = format!("{{\"Email\":\"{}\"}}", "a".repeat(70 * 1024));
    let a = call(&door, event("POST", "", &json, &big)).await;
    assert_eq!(
        (a.status, code(&a)),
        (413, "RequestEntityTooLarge".into()),
        "{}",
        a.body
    );
    // Signed or not, a large body is never read: Tencent's headers get Tencent's envelope.
    let at = clock.now();
    let tencent = tc3_raw(
        "DescribeIntlPhoneEmailList",
        &big,
        &format!("{caller}-key"),
        &format!("{caller}-secret-value"),
        at,
        &[],
        HOST,
        HOST,
    );
    let a = call(&door, tencent).await;
    assert_eq!(
        (a.status, code(&a)),
        (200, "RequestSizeLimitExceeded".into()),
        "{}",
        a.body
    );
    // A form body with no Signature is unsigned too.
    let form = [(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let a = call(
        &door,
        event(
            "POST",
            "",
            &form,
            "Action=QueryEmailVerification&Email=a%40b.c",
        ),
    )
    .await;
    assert_eq!(code(&a), "MissingParameter", "{}", a.body);
    assert_eq!(
        counter.take().total(DYNAMODB),
        0,
        "no DynamoDB request for any of them"
    );
}

/// Issue 20, defect 2: the caller's rate holds across instances (two doors, one table) and is checked
/// before the replay record: a throttled request writes no replay record.
#[tokio::test]
async fn the_caller_rate_holds_across_instances_and_comes_before_the_replay_write() {
    let clock = TestClock::default();
    let caller = unique("rate");
    let (a, count_a) = counted_door(&clock, &caller, Some(3)).await;
    let (b, count_b) = counted_door(&clock, &caller, Some(3)).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let at = clock.now();
    let mut codes = Vec::new();
    for i in 0..6 {
        let door = if i % 2 == 0 { &a } else { &b };
        let request = rpc_request(
            "QueryEmailVerification",
            &[("Email", fresh_address())],
            &key,
            &secret,
            at,
            &format!("n{i}-{caller}"),
        );
        codes.push(code(&call(door, request).await));
    }
    let served = codes.iter().filter(|c| c.as_str() != "Throttling").count();
    assert_eq!(served, 3, "three a second, whichever instance: {codes:?}");
    let counts = [count_a.take(), count_b.take()];
    let puts: u64 = counts
        .iter()
        .map(|c| {
            c.0.get(&(DYNAMODB.to_string(), "PutItem".to_string()))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    let updates: u64 = counts
        .iter()
        .map(|c| {
            c.0.get(&(DYNAMODB.to_string(), "UpdateItem".to_string()))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(puts, 3, "a replay record for each admitted request only");
    assert_eq!(updates, 6, "one count for each request");
    // The next second counts anew.
    clock.advance(Duration::seconds(1));
    let request = rpc_request(
        "QueryEmailVerification",
        &[("Email", fresh_address())],
        &key,
        &secret,
        clock.now(),
        &format!("next-{caller}"),
    );
    assert_ne!(code(&call(&a, request).await), "Throttling");
}

/// Issue 20: TC3 signs whole seconds and not the action, so a read repeated within a second carries the
/// same signature, and it is served again. A write stays single-use, and so does every Alibaba nonce.
///
/// The two settings of `TENCENT_READ_REPLAY` and the conflict between them: with `guard` (the default) a
/// read records its signature as read-only (one write), and that signature resent as a write
/// (`X-TC-Action` is not signed) is refused; with `skip` a read writes nothing, and the same resend is
/// served: a captured read deletes a contact.
#[tokio::test]
async fn tencent_signed_reads_may_repeat_and_writes_and_alibaba_nonces_may_not() {
    use shared::config::TencentReads;
    let clock = TestClock::default();
    for mode in [TencentReads::Guard, TencentReads::Skip] {
        let caller = unique("reads");
        let (mut door, counter) = counted_door(&clock, &caller, None).await;
        door.app.config.tencent_reads = mode;
        let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
        let at = clock.now();
        let contact = fresh_address();
        counter.take();
        let read = json!({"Type": 2, "Code": contact});
        for _ in 0..2 {
            let a = call(
                &door,
                tc3_request("DescribeIntlPhoneEmailList", &read, &key, &secret, at),
            )
            .await;
            assert_eq!(
                (code(&a), a.json()["Response"]["TotalCount"].as_i64()),
                (String::new(), Some(0)),
                "{mode:?}: {}",
                a.body
            );
        }
        let puts = counter
            .take()
            .0
            .get(&(DYNAMODB.to_string(), "PutItem".to_string()))
            .copied()
            .unwrap_or(0);
        // The read's signature, resent as a write.
        let resent = tc3_request_with("DescribeIntlPhoneEmailList", &read, &key, &secret, at, &[]);
        let (mut parts, body) = resent.into_parts();
        parts
            .headers
            .insert("x-tc-action", "DeleteIntlPhoneEmail".parse().unwrap());
        let a = call(&door, lambda_http::Request::from_parts(parts, body)).await;
        match mode {
            TencentReads::Guard => {
                assert_eq!(puts, 2, "a read-only record for each read");
                assert_eq!(code(&a), "AuthFailure.SignatureFailure", "{}", a.body);
            }
            TencentReads::Skip => {
                assert_eq!(puts, 0, "no replay record for a read");
                // It reached the action (which found nothing to delete): had the contact been verified,
                // it would now be deleted.
                assert_eq!(
                    code(&a),
                    "ResourceNotFound.PhoneEmailNotExist",
                    "served: {}",
                    a.body
                );
            }
        }
        let delete = json!({"Type": 2, "Code": fresh_address()});
        let first = call(
            &door,
            tc3_request("DeleteIntlPhoneEmail", &delete, &key, &secret, at),
        )
        .await;
        assert_eq!(
            code(&first),
            "ResourceNotFound.PhoneEmailNotExist",
            "{}",
            first.body
        );
        let again = call(
            &door,
            tc3_request("DeleteIntlPhoneEmail", &delete, &key, &secret, at),
        )
        .await;
        assert_eq!(
            code(&again),
            "AuthFailure.SignatureFailure",
            "{}",
            again.body
        );
        let query = [("Email", fresh_address())];
        let nonce = format!("same-{caller}");
        let first = call(
            &door,
            rpc_request("QueryEmailVerification", &query, &key, &secret, at, &nonce),
        )
        .await;
        assert_eq!(code(&first), "EmailVerificationNotExist", "{}", first.body);
        let again = call(
            &door,
            rpc_request("QueryEmailVerification", &query, &key, &secret, at, &nonce),
        )
        .await;
        assert_eq!(code(&again), "SignatureNonceUsed", "{}", again.body);
    }
}

/// Issue 20: Tencent's Node.js SDK signs the host without the port that it sends. TC3 accepts the host
/// signed with or without its explicit or default port, and nothing else.
#[tokio::test]
async fn tc3_accepts_the_host_signed_with_or_without_its_port() {
    let clock = TestClock::default();
    let caller = unique("port");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let body = json!({"Type": 0, "Limit": 20}).to_string();
    let with_port = format!("{HOST}:9000");
    let default_port = format!("{HOST}:443");
    for (signed, sent) in [
        (HOST, with_port.as_str()),
        (with_port.as_str(), with_port.as_str()),
        (default_port.as_str(), HOST),
        (HOST, default_port.as_str()),
    ] {
        let a = call(
            &door,
            tc3_raw(
                "DescribeIntlPhoneEmailList",
                &body,
                &key,
                &secret,
                clock.now(),
                &[],
                signed,
                sent,
            ),
        )
        .await;
        assert_eq!(code(&a), "", "signed {signed}, sent {sent}: {}", a.body);
    }
    for (signed, sent) in [
        ("other.example.com", HOST),
        (HOST, "other.example.com:9000"),
        ("a1b2c3d4e5", HOST),
    ] {
        let a = call(
            &door,
            tc3_raw(
                "DescribeIntlPhoneEmailList",
                &body,
                &key,
                &secret,
                clock.now(),
                &[],
                signed,
                sent,
            ),
        )
        .await;
        assert_eq!(
            code(&a),
            "AuthFailure.SignatureFailure",
            "signed {signed}, sent {sent}: {}",
            a.body
        );
    }
}

/// Issue 20: a parameter named twice is refused for every scheme (they sign a list, and the service
/// would read one of them).
#[tokio::test]
async fn a_parameter_named_twice_is_refused_for_every_scheme() {
    let clock = TestClock::default();
    let caller = unique("twice");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let (one, other) = (fresh_address(), fresh_address());
    let twice = [("Email", one.clone()), ("Email", other.clone())];
    let a = call(
        &door,
        rpc_request(
            "DeleteEmailVerification",
            &twice,
            &key,
            &secret,
            clock.now(),
            &unique("n"),
        ),
    )
    .await;
    assert_eq!(
        (a.status, code(&a)),
        (400, "ParameterIllegal".into()),
        "{}",
        a.body
    );
    assert!(
        a.json()["Message"].as_str().unwrap().contains("Email"),
        "{}",
        a.body
    );
    let a = call(
        &door,
        acs3_request(
            "DeleteEmailVerification",
            &twice,
            &key,
            &secret,
            clock.now(),
            &unique("n"),
        ),
    )
    .await;
    assert_eq!(
        (a.status, code(&a)),
        (400, "ParameterIllegal".into()),
        "{}",
        a.body
    );
    let body = format!(r#"{{"Type":2,"Code":"{one}","Code":"{other}"}}"#);
    let a = call(
        &door,
        tc3_raw(
            "DeleteIntlPhoneEmail",
            &body,
            &key,
            &secret,
            clock.now(),
            &[],
            HOST,
            HOST,
        ),
    )
    .await;
    assert_eq!(
        code(&a),
        "InvalidParameterValue.InvalidParameterFormat",
        "{}",
        a.body
    );
}

/// Issue 20: an ACS3 signature must cover the host (and the content type, when the request has one).
#[tokio::test]
async fn acs3_must_sign_the_host_and_the_content_type() {
    let clock = TestClock::default();
    let caller = unique("acs3h");
    let door = door(&clock, &caller).await;
    let (key, secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let params = [("Email", fresh_address())];
    let signed = acs3_request(
        "QueryEmailVerification",
        &params,
        &key,
        &secret,
        clock.now(),
        &unique("n"),
    );
    assert_eq!(
        code(&call(&door, signed).await),
        "EmailVerificationNotExist"
    );
    let (parts, body) = acs3_request(
        "QueryEmailVerification",
        &params,
        &key,
        &secret,
        clock.now(),
        &unique("n"),
    )
    .into_parts();
    // The same request, signed without host: its Authorization rewritten to leave host out.
    let auth = parts.headers["authorization"]
        .to_str()
        .unwrap()
        .replace("host;", "");
    let mut unsigned_host = lambda_http::Request::from_parts(parts.clone(), body);
    unsigned_host
        .headers_mut()
        .insert("authorization", auth.parse().unwrap());
    let a = call(&door, unsigned_host).await;
    assert_eq!(
        (a.status, code(&a)),
        (400, "IncompleteSignature".into()),
        "{}",
        a.body
    );
    let mut with_type = lambda_http::Request::from_parts(parts, lambda_http::Body::Empty);
    with_type
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let a = call(&door, with_type).await;
    assert_eq!(
        (a.status, code(&a)),
        (400, "IncompleteSignature".into()),
        "{}",
        a.body
    );
}

/// Issue 20: a key pair may be limited to a list of actions; any other action is refused in the vendor's
/// code before anything is counted or written.
#[tokio::test]
async fn a_key_limited_to_some_actions_calls_only_those() {
    let clock = TestClock::default();
    let caller = unique("reader");
    let (door, counter) = counted_door(&clock, &caller, Some(1000)).await;
    let (key, secret) = (
        format!("{caller}-reader"),
        format!("{caller}-reader-secret"),
    );
    let address = fresh_address();
    let params = vec![("Email", address.clone())];
    counter.take();
    let a = call(
        &door,
        acs3_request(
            "SubmitEmailVerification",
            &params,
            &key,
            &secret,
            clock.now(),
            "n-1",
        ),
    )
    .await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (403, "Forbidden.RAM"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("may not call SubmitEmailVerification"),
        "{}",
        a.body
    );
    let t = call(
        &door,
        tc3_request(
            "DeleteIntlPhoneEmail",
            &json!({"Type": 2, "Code": address}),
            &key,
            &secret,
            clock.now(),
        ),
    )
    .await;
    assert_eq!(code(&t), "UnauthorizedOperation", "{}", t.body);
    assert_eq!(
        counter.take().total(DYNAMODB),
        0,
        "refused before any DynamoDB request"
    );
    assert!(
        items_of(&caller).await.is_empty(),
        "a refused request wrote something"
    );
    assert!(mails_to(&address).is_empty(), "a refused request sent mail");
    // The action it may call goes through (no record yet: EmailVerificationNotExist, from the action).
    let q = call(
        &door,
        rpc_request(
            "QueryEmailVerification",
            &params,
            &key,
            &secret,
            clock.now(),
            "n-2",
        ),
    )
    .await;
    assert_eq!(
        (q.status, code(&q).as_str()),
        (404, "EmailVerificationNotExist"),
        "{}",
        q.body
    );
    // The caller's unlimited key still calls everything.
    let (full, full_secret) = (format!("{caller}-key"), format!("{caller}-secret-value"));
    let s = call(
        &door,
        acs3_request(
            "SubmitEmailVerification",
            &params,
            &full,
            &full_secret,
            clock.now(),
            "n-3",
        ),
    )
    .await;
    assert_eq!(s.status, 200, "{}", s.body);
}
