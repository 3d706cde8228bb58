//! The signed front door: one route at `/` that Alibaba Cloud's and Tencent Cloud's own SDKs call
//! unchanged. It tells the vendor's scheme from the request, checks the key pair, the clock, the
//! signature and that the request is new, finds the action in [`api::actions::table`], and runs it
//! in-process for the key's caller, answering in the action's own envelope (the same as its own route).
//!
//! | scheme | told by | action in | time in, window | replay key |
//! |---|---|---|---|---|
//! | Alibaba ACS3-HMAC-SHA256 | `Authorization: ACS3-HMAC-SHA256 …` | `x-acs-action` | `x-acs-date`, 15 min | `x-acs-signature-nonce` |
//! | Alibaba RPC HMAC-SHA1 | a `Signature` parameter | `Action` | `Timestamp`, 15 min | `SignatureNonce` |
//! | Tencent TC3-HMAC-SHA256 | `Authorization: TC3-HMAC-SHA256 …` or `X-TC-Action` | `X-TC-Action` | `X-TC-Timestamp`, 5 min | the signature |
//!
//! The checks run in this order, and the first that fails answers: the form of the signature, the key,
//! the clock, the signature, the action, then the replay record (the one write, a conditional PutItem).
//! Everything before the write only reads, so a refused request changes nothing and sends nothing.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use lambda_http::{service_fn, Body as HttpBody, Response};
use tracing::Instrument;

pub use adapters::keys::{read_secret, AccessKey, KeyRing, KeyStatus, Keys, Loader, Lookup};
pub use api::refusal::{Refusal, Vendor};

use api::actions::{find, Entry, ALL_NEEDS};
use api::error::ApiError;
use api::params::Params;
use api::signing::{acs3, rpc, tc3};
use api::signing::{hmac_matches, sha256_hex, HmacSha1, HmacSha256};
use shared::app::App;
use shared::mail::Mailer;
use shared::model::{CallerId, Lang};
use shared::store::{ReplayGuard, Store};

use crate::lambda::{answer, build_app_with, to_response, Incoming};

/// How far a request's time may be from the server's: Alibaba allows 15 minutes, Tencent 5.
pub const ALIBABA_WINDOW_MINUTES: i64 = 15;
pub const TENCENT_WINDOW_MINUTES: i64 = 5;

/// The front door: every action's application, and the key pairs.
pub struct FrontDoor<S, M> {
    pub app: App<S, M>,
    pub keys: Keys,
}

/// The front door's `main`.
pub async fn run() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let aws = adapters::sdk::lambda_sdk_config()?;
    let app = build_app_with(ALL_NEEDS, &aws).await?;
    let keys = Keys::from_env(&aws).await?;
    let door = Arc::new(FrontDoor { app, keys });
    crate::sanitize::run(service_fn(move |event: lambda_http::Request| {
        let door = Arc::clone(&door);
        async move { Ok::<_, Infallible>(handle(&door, event).await) }
    }))
    .await
}

/// One request at the front door, in a span that carries the action and the RequestId.
pub async fn handle<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    event: lambda_http::Request,
) -> Response<HttpBody> {
    // The caller is the signing key's, never a header's.
    let incoming = Incoming::read(&event, false);
    let request_id = incoming.request_id.clone();
    let span = tracing::info_span!("request", action = tracing::field::Empty, request_id = %request_id, door = "front");
    async {
        let response = match admit(door, &event, incoming.params).await {
            Ok(a) => {
                tracing::Span::current().record("action", a.entry.info.name);
                let incoming = Incoming { params: a.params, caller: Ok(Some(a.caller)), ..incoming };
                answer(&door.app, a.entry, incoming, false).await
            }
            Err(r) => {
                let code = match r.vendor {
                    Vendor::Alibaba => r.refusal.alibaba().0,
                    Vendor::Tencent => r.refusal.tencent(),
                };
                tracing::info!(code, vendor = ?r.vendor, key = %masked(&r.key_id), "request refused");
                to_response(r.refusal.answer(r.vendor, &request_id, r.lang))
            }
        };
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// A request that passed every check.
struct Admitted<S, M> {
    entry: Entry<S, M>,
    params: Result<Params, ApiError>,
    caller: CallerId,
}

struct Refused {
    vendor: Vendor,
    refusal: Refusal,
    lang: Lang,
    /// The key id the request named, if any (logged masked).
    key_id: String,
}

/// What a signed request claims: who signed it, when, for which action, and the proof.
struct Claim {
    vendor: Vendor,
    lang: Lang,
    key_id: String,
    action: String,
    timestamp: DateTime<Utc>,
    window_minutes: i64,
    /// What makes this request unique within its window (hashed into the replay record's key).
    replay_key: String,
    proof: Proof,
}

/// What the signature is checked against, once the secret is known.
enum Proof {
    Acs3 {
        string_to_sign: String,
        signature: Vec<u8>,
    },
    Rpc {
        string_to_sign: String,
        signature: Vec<u8>,
    },
    Tc3 {
        date: String,
        service: String,
        string_to_sign: String,
        signature: Vec<u8>,
    },
}

impl Proof {
    /// Compared in constant time (`Mac::verify_slice`).
    fn holds(&self, secret: &str) -> bool {
        match self {
            Self::Acs3 {
                string_to_sign,
                signature,
            } => {
                hmac_matches::<HmacSha256>(secret.as_bytes(), string_to_sign.as_bytes(), signature)
            }
            Self::Rpc {
                string_to_sign,
                signature,
            } => hmac_matches::<HmacSha1>(&rpc::key(secret), string_to_sign.as_bytes(), signature),
            Self::Tc3 {
                date,
                service,
                string_to_sign,
                signature,
            } => hmac_matches::<HmacSha256>(
                &tc3::signing_key(secret, date, service),
                string_to_sign.as_bytes(),
                signature,
            ),
        }
    }
}

async fn admit<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    event: &lambda_http::Request,
    params: Result<Params, ApiError>,
) -> Result<Admitted<S, M>, Refused> {
    let claim = claim_of(event, &params)?;
    let refuse = |refusal| Refused {
        vendor: claim.vendor,
        refusal,
        lang: claim.lang,
        key_id: claim.key_id.clone(),
    };
    let now = door.app.now();
    let (secret, caller) = match door.keys.lookup(&claim.key_id, now).await {
        Lookup::Active { secret, caller } => (secret, caller),
        Lookup::Disabled => return Err(refuse(Refusal::DisabledKey)),
        Lookup::Unknown => return Err(refuse(Refusal::UnknownKey)),
    };
    let window = Duration::minutes(claim.window_minutes);
    if (now - claim.timestamp).abs() > window {
        return Err(refuse(Refusal::Expired {
            max_minutes: claim.window_minutes,
        }));
    }
    if !claim.proof.holds(&secret) {
        return Err(refuse(Refusal::BadSignature));
    }
    let entry = find::<S, M>(&claim.action)
        .ok_or_else(|| refuse(Refusal::UnknownAction(claim.action.clone())))?;
    // Tencent's SDKs ask for a language with `X-TC-Language` (`ClientProfile(language="zh-CN")`); `Lang` wins.
    let params = match claim.lang {
        Lang::Zh if claim.vendor == Vendor::Tencent => params.map(|p| p.or_default("Lang", "zh")),
        _ => params,
    };
    // Kept for as long as the request's time is acceptable (plus a minute of slack between clocks).
    let until = claim.timestamp + window + Duration::minutes(1);
    match door
        .app
        .store
        .first_use(&sha256_hex(claim.replay_key.as_bytes()), now, until)
        .await
    {
        Ok(true) => Ok(Admitted {
            entry,
            params,
            caller,
        }),
        Ok(false) => Err(refuse(Refusal::Replayed)),
        Err(e) => {
            tracing::error!(error = %shared::error::Chain(&e), "the replay record could not be written");
            Err(refuse(Refusal::Unavailable))
        }
    }
}

/// Tells the scheme and reads what the request claims, without any secret yet.
fn claim_of(
    event: &lambda_http::Request,
    params: &Result<Params, ApiError>,
) -> Result<Claim, Refused> {
    let headers = event.headers();
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let first = |name: &str| {
        all(name)
            .into_iter()
            .next()
            .filter(|v| !v.trim().is_empty())
    };
    let auth = first("authorization").unwrap_or_default();
    let lang_param = params.as_ref().ok().and_then(|p| p.lang().ok());
    fn refused(vendor: Vendor, lang: Lang, key_id: &str) -> impl Fn(Refusal) -> Refused + '_ {
        move |refusal| Refused {
            vendor,
            refusal,
            lang,
            key_id: key_id.to_string(),
        }
    }

    if auth.starts_with("TC3-") || first("x-tc-action").is_some() {
        let lang = match first("x-tc-language") {
            Some(l) if l.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => lang_param.unwrap_or(Lang::En),
        };
        return tc3_claim(event, &auth, &all, lang).map_err(refused(Vendor::Tencent, lang, ""));
    }
    let lang = lang_param.unwrap_or(Lang::En);
    if auth.starts_with("ACS3-") {
        return acs3_claim(event, &auth, &all, lang).map_err(refused(Vendor::Alibaba, lang, ""));
    }
    if !auth.is_empty() {
        return Err(refused(Vendor::Alibaba, lang, "")(Refusal::Malformed(
            api::phrases::NO_SCHEME,
        )));
    }
    match params {
        Ok(p) if p.raw("Signature").is_some() => rpc_claim(event, p, lang).map_err(refused(
            Vendor::Alibaba,
            lang,
            p.raw("AccessKeyId").unwrap_or(""),
        )),
        Err(_) if event.uri().query().unwrap_or("").contains("Signature=") => {
            Err(refused(Vendor::Alibaba, lang, "")(Refusal::Malformed(
                api::phrases::UNREADABLE_PARAMETERS,
            )))
        }
        _ => Err(refused(Vendor::Alibaba, lang, "")(Refusal::NotSigned)),
    }
}

fn acs3_claim(
    event: &lambda_http::Request,
    auth: &str,
    header: &dyn Fn(&str) -> Vec<String>,
    lang: Lang,
) -> Result<Claim, Refusal> {
    let parsed =
        acs3::Authorization::parse(auth).ok_or(Refusal::Malformed(api::phrases::NOT_ACS3))?;
    // A required header that is absent is missing; one that is present but not signed makes the
    // signature incomplete.
    let one = |name: &'static str| {
        header(name)
            .into_iter()
            .next()
            .filter(|v| !v.trim().is_empty())
            .ok_or(Refusal::Missing(name))
    };
    let action = one("x-acs-action")?;
    let nonce = one("x-acs-signature-nonce")?;
    let date = one("x-acs-date")?;
    for required in ["x-acs-action", "x-acs-date", "x-acs-signature-nonce"] {
        if !parsed.signed_headers.iter().any(|h| h == required) {
            return Err(Refusal::Malformed(api::phrases::ACS3_SIGNED_HEADERS));
        }
    }
    let timestamp = alibaba_time(&date)?;
    let query: Vec<(String, String)> =
        form_urlencoded::parse(event.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let method = event.method().as_str();
    let canonical = acs3::canonical_request(
        method,
        event.uri().path(),
        &query,
        &parsed.signed_headers,
        header,
        event.body().as_ref(),
    );
    Ok(Claim {
        vendor: Vendor::Alibaba,
        lang,
        replay_key: format!("acs\n{}\n{nonce}", parsed.key_id),
        key_id: parsed.key_id,
        action: action.trim().to_string(),
        timestamp,
        window_minutes: ALIBABA_WINDOW_MINUTES,
        proof: Proof::Acs3 {
            string_to_sign: acs3::string_to_sign(&canonical),
            signature: parsed.signature,
        },
    })
}

fn rpc_claim(event: &lambda_http::Request, params: &Params, lang: Lang) -> Result<Claim, Refusal> {
    let one = |name: &'static str| {
        params
            .raw(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(Refusal::Missing(name))
    };
    let key_id = one("AccessKeyId")?.to_string();
    let signature = one("Signature")?;
    let method_name = one("SignatureMethod")?;
    if method_name != rpc::SIGNATURE_METHOD {
        return Err(Refusal::Malformed(api::phrases::NOT_HMAC_SHA1));
    }
    if params.raw("SignatureVersion").is_some_and(|v| v != "1.0") {
        return Err(Refusal::Malformed(api::phrases::NOT_VERSION_1));
    }
    let nonce = one("SignatureNonce")?;
    let timestamp = alibaba_time(one("Timestamp")?)?;
    let action = one("Action")?.trim().to_string();
    // A signature that is not base64 cannot match.
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .unwrap_or_default();
    Ok(Claim {
        vendor: Vendor::Alibaba,
        lang,
        replay_key: format!("acs\n{key_id}\n{nonce}"),
        key_id,
        action,
        timestamp,
        window_minutes: ALIBABA_WINDOW_MINUTES,
        proof: Proof::Rpc {
            string_to_sign: rpc::string_to_sign(event.method().as_str(), params.pairs()),
            signature,
        },
    })
}

fn tc3_claim(
    event: &lambda_http::Request,
    auth: &str,
    header: &dyn Fn(&str) -> Vec<String>,
    lang: Lang,
) -> Result<Claim, Refusal> {
    if auth.is_empty() {
        return Err(Refusal::Missing("Authorization"));
    }
    let parsed =
        tc3::Authorization::parse(auth).ok_or(Refusal::Malformed(api::phrases::NOT_TC3))?;
    if !["content-type", "host"]
        .iter()
        .all(|h| parsed.signed_headers.iter().any(|s| s == h))
    {
        return Err(Refusal::Malformed(api::phrases::TC3_SIGNED_HEADERS));
    }
    let one = |name: &'static str| {
        header(name)
            .into_iter()
            .next()
            .filter(|v| !v.trim().is_empty())
            .ok_or(Refusal::Missing(name))
    };
    if header("x-tc-content-sha256")
        .iter()
        .any(|v| v.trim().eq_ignore_ascii_case("UNSIGNED-PAYLOAD"))
    {
        return Err(Refusal::Malformed(api::phrases::UNSIGNED_PAYLOAD));
    }
    let raw_time = one("x-tc-timestamp")?;
    let seconds: i64 = raw_time.trim().parse().map_err(|_| Refusal::BadTimestamp)?;
    let timestamp = DateTime::from_timestamp(seconds, 0).ok_or(Refusal::BadTimestamp)?;
    if timestamp.format("%Y-%m-%d").to_string() != parsed.date {
        return Err(Refusal::Malformed(api::phrases::CREDENTIAL_DATE));
    }
    let action = one("x-tc-action")?.trim().to_string();
    let canonical = tc3::canonical_request(
        event.method().as_str(),
        event.uri().query().unwrap_or(""),
        &parsed.signed_headers,
        header,
        event.body().as_ref(),
    );
    let string_to_sign =
        tc3::string_to_sign(raw_time.trim(), &parsed.date, &parsed.service, &canonical);
    Ok(Claim {
        vendor: Vendor::Tencent,
        lang,
        replay_key: format!("tc3\n{}", hex::encode(&parsed.signature)),
        key_id: parsed.key_id,
        action,
        timestamp,
        window_minutes: TENCENT_WINDOW_MINUTES,
        proof: Proof::Tc3 {
            date: parsed.date,
            service: parsed.service,
            string_to_sign,
            signature: parsed.signature,
        },
    })
}

/// Alibaba's times: ISO 8601 in UTC, `2026-11-29T12:00:00Z`.
fn alibaba_time(raw: &str) -> Result<DateTime<Utc>, Refusal> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Refusal::BadTimestamp)
}

/// A key id as logs show it: its first four characters.
fn masked(key_id: &str) -> String {
    match key_id.char_indices().nth(4) {
        Some((i, _)) => format!("{}…", &key_id[..i]),
        None if key_id.is_empty() => String::new(),
        None => "…".into(),
    }
}
