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
use api::signing::{acs3, rpc, tc1, tc3};
use api::signing::{hmac_matches, sha256_hex, HmacSha1, HmacSha256};
use shared::app::App;
use shared::config::TencentReads;
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

/// One request at the front door, in a span that carries what the access log joins on (the RequestId,
/// API Gateway's request id) and who asked: the full AccessKeyId (an identifier, not a secret), the caller,
/// the scheme and the action. Every request, admitted or refused, logs one `front door` line with them.
pub async fn handle<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    event: lambda_http::Request,
) -> Response<HttpBody> {
    let request_id = crate::lambda::request_id_of(&event);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        apigw_request_id = %crate::lambda::apigw_request_id(&event),
        door = "front",
        scheme = tracing::field::Empty,
        key_id = tracing::field::Empty,
        caller = tracing::field::Empty,
        action = tracing::field::Empty,
    );
    async {
        let response = match admit(door, &event).await {
            Ok(a) => {
                let span = tracing::Span::current();
                span.record("scheme", a.scheme.name());
                span.record("key_id", a.key_id.as_str());
                span.record("caller", a.caller.as_str());
                span.record("action", a.entry.info.name);
                tracing::info!("front door: admitted");
                let incoming = Incoming {
                    request_id: request_id.clone(),
                    method: event.method().as_str().to_string(),
                    path: event.uri().path().to_string(),
                    route_key: None,
                    params: a.params,
                    caller: Ok(Some(a.caller)),
                    origin: crate::lambda::Origin::of(&event),
                    body_len: event.body().len(),
                };
                answer(&door.app, a.entry, incoming, false).await
            }
            Err(r) => {
                let code = r.refusal.code(r.vendor);
                let span = tracing::Span::current();
                if let Some(scheme) = r.scheme {
                    span.record("scheme", scheme.name());
                }
                if !r.key_id.is_empty() {
                    span.record("key_id", r.key_id.as_str());
                }
                if let Some(caller) = &r.caller {
                    span.record("caller", caller.as_str());
                }
                if !r.action.is_empty() {
                    span.record("action", r.action.as_str());
                }
                tracing::info!(code, vendor = ?r.vendor, "front door: refused");
                r.refusal.answer(r.vendor, &request_id, r.lang)
            }
        };
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// The four signature schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Alibaba ACS3-HMAC-SHA256.
    Acs3,
    /// Alibaba RPC HMAC-SHA1.
    Rpc,
    /// Tencent TC3-HMAC-SHA256.
    Tc3,
    /// Tencent's older HmacSHA1 / HmacSHA256 (`Signature` parameter with `SecretId`).
    TencentV1,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Self::Acs3 => "ACS3-HMAC-SHA256",
            Self::Rpc => "RPC-HMAC-SHA1",
            Self::Tc3 => "TC3-HMAC-SHA256",
            Self::TencentV1 => "TencentCloud-v1",
        }
    }

    fn vendor(self) -> Vendor {
        match self {
            Self::Acs3 | Self::Rpc => Vendor::Alibaba,
            Self::Tc3 | Self::TencentV1 => Vendor::Tencent,
        }
    }
}

/// A request that passed every check.
struct Admitted<S, M> {
    entry: Entry<S, M>,
    params: Result<Params, ApiError>,
    caller: CallerId,
    scheme: Scheme,
    key_id: String,
}

/// Why the front door refused a request: for its signature, or for what it asks, as an action would
/// (a body over the limit, a parameter given twice, a caller over its rate) in that error's own codes.
enum Why {
    Door(Refusal),
    Api(ApiError),
}

impl From<Refusal> for Why {
    fn from(r: Refusal) -> Self {
        Self::Door(r)
    }
}

impl From<ApiError> for Why {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl Why {
    fn code(&self, vendor: Vendor) -> &'static str {
        match (self, vendor) {
            (Self::Door(r), Vendor::Alibaba) => r.alibaba().0,
            (Self::Door(r), Vendor::Tencent) => r.tencent(),
            (Self::Api(e), Vendor::Alibaba) => e.code(),
            (Self::Api(e), Vendor::Tencent) => e.tencent_code(),
        }
    }

    fn answer(&self, vendor: Vendor, request_id: &str, lang: Lang) -> Response<HttpBody> {
        match (self, vendor) {
            (Self::Door(r), _) => to_response(r.answer(vendor, request_id, lang)),
            (Self::Api(e), Vendor::Alibaba) => crate::lambda::response(
                e.status(),
                "application/json;charset=utf-8",
                api::render::error(request_id, e, lang, api::render::Format::Json),
            ),
            (Self::Api(e), Vendor::Tencent) => crate::lambda::response(
                200,
                api::render::TENCENT_CONTENT_TYPE,
                api::render::tencent_error(request_id, e, lang),
            ),
        }
    }
}

struct Refused {
    vendor: Vendor,
    refusal: Why,
    lang: Lang,
    scheme: Option<Scheme>,
    /// The key id the request named, if any (logged in full: an identifier, not a secret).
    key_id: String,
    /// The key's caller, once the key is known.
    caller: Option<CallerId>,
    /// The action the request named, if it got that far.
    action: String,
}

impl Refused {
    fn early(vendor: Vendor, lang: Lang, why: impl Into<Why>) -> Self {
        Self {
            vendor,
            refusal: why.into(),
            lang,
            scheme: None,
            key_id: String::new(),
            caller: None,
            action: String::new(),
        }
    }
}

/// What a signed request claims: who signed it, when, for which action, and the proof.
struct Claim {
    scheme: Scheme,
    lang: Lang,
    key_id: String,
    action: String,
    timestamp: DateTime<Utc>,
    window_minutes: i64,
    /// What makes this request unique within its window (hashed into the replay record's key).
    replay_key: String,
    proof: Proof,
    /// The parameters, when reading them was part of reading the claim (RPC, Tencent v1).
    params: Option<Params>,
}

/// What the signature is checked against, once the secret is known. A Tencent request may have signed
/// its host with or without the port: each form is a candidate string, and one must match.
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
        candidates: Vec<String>,
        signature: Vec<u8>,
    },
    TencentV1 {
        method: tc1::Method,
        candidates: Vec<String>,
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
                candidates,
                signature,
            } => {
                let key = tc3::signing_key(secret, date, service);
                candidates
                    .iter()
                    .any(|c| hmac_matches::<HmacSha256>(&key, c.as_bytes(), signature))
            }
            Self::TencentV1 {
                method,
                candidates,
                signature,
            } => candidates
                .iter()
                .any(|c| method.matches(secret, c, signature)),
        }
    }
}

/// The host as a client may have signed it: as sent, without its port, and (when it has none) with the
/// default ports. TC3 and Tencent v1 signatures are checked against each; the host must still be signed.
pub fn host_forms(host: &str) -> Vec<String> {
    let host = host.trim().to_ascii_lowercase();
    let mut forms = vec![host.clone()];
    let bare = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_string()
        }
        _ => host.clone(),
    };
    for form in [bare.clone(), format!("{bare}:443"), format!("{bare}:80")] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// The checks, cheapest first: the body's size and whether it is signed at all (neither reads the
/// parameters, nor asks any service), the claim, the key (cached), the clock, the signature, the action,
/// the caller's rate (one conditional write, when shared), then the replay record (one conditional write;
/// none for a Tencent-signed read, whose signature is per second and whose repetition changes nothing).
async fn admit<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    event: &lambda_http::Request,
) -> Result<Admitted<S, M>, Refused> {
    let headers = event.headers();
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let claim = claim_of(event, &all)?;
    let refuse = |why: Why, caller: Option<&CallerId>| Refused {
        vendor: claim.scheme.vendor(),
        refusal: why,
        lang: claim.lang,
        scheme: Some(claim.scheme),
        key_id: claim.key_id.clone(),
        caller: caller.cloned(),
        action: claim.action.clone(),
    };
    // The signers' time: the vendors' SDKs sign with the real clock, which the local clock's offset (a test
    // moving the service's time, adapters::clock) does not move.
    let now = adapters::clock::real(door.app.now());
    let (secret, caller, allowed) = match door.keys.lookup(&claim.key_id, now).await {
        Lookup::Active {
            secret,
            caller,
            actions,
        } => (secret, caller, actions),
        Lookup::Disabled => return Err(refuse(Refusal::DisabledKey.into(), None)),
        Lookup::Unknown => return Err(refuse(Refusal::UnknownKey.into(), None)),
        Lookup::Stale => return Err(refuse(Refusal::Unavailable.into(), None)),
    };
    let window = Duration::minutes(claim.window_minutes);
    if (now - claim.timestamp).abs() > window {
        let max_minutes = claim.window_minutes;
        return Err(refuse(
            Refusal::Expired { max_minutes }.into(),
            Some(&caller),
        ));
    }
    if !claim.proof.holds(&secret) {
        return Err(refuse(Refusal::BadSignature.into(), Some(&caller)));
    }
    let entry = find::<S, M>(&claim.action).ok_or_else(|| {
        refuse(
            Refusal::UnknownAction(claim.action.clone()).into(),
            Some(&caller),
        )
    })?;
    // A pair limited to some actions (its `Actions`) calls only those.
    if allowed
        .as_ref()
        .is_some_and(|list| !list.contains(&claim.action))
    {
        return Err(refuse(
            Refusal::ActionNotAllowed(claim.action.clone()).into(),
            Some(&caller),
        ));
    }
    // The caller's rate, before anything is written for this request.
    if let Err(wait) =
        shared::rate::admit(&door.app.config.caller_rate, &door.app.store, &caller, now).await
    {
        let retry_after_seconds = wait.ceil().max(1.0) as i64;
        let throttled = ApiError::Throttled {
            retry_after_seconds,
        };
        return Err(refuse(throttled.into(), Some(&caller)));
    }
    // Kept for as long as the request's time is acceptable (plus a minute of slack between clocks). A
    // Tencent-signed read may repeat its signature (shared::config::TencentReads).
    let tencent = claim.scheme.vendor() == Vendor::Tencent;
    let until = claim.timestamp + window + Duration::minutes(1);
    let key = sha256_hex(claim.replay_key.as_bytes());
    let store = &door.app.store;
    let first = match (
        tencent && entry.info.reads_only,
        door.app.config.tencent_reads,
    ) {
        (true, TencentReads::Skip) => Ok(true),
        (true, TencentReads::Guard) => store.read_use(&key, now, until).await,
        (false, _) => store.first_use(&key, now, until).await,
    };
    match first {
        Ok(true) => {}
        Ok(false) => return Err(refuse(Refusal::Replayed.into(), Some(&caller))),
        Err(e) => {
            tracing::error!(error = %shared::error::Chain(&e), "the replay record could not be written");
            return Err(refuse(Refusal::Unavailable.into(), Some(&caller)));
        }
    }
    // Only now, for a signed request of a known key, are the parameters read (RPC and v1 read them to
    // find the claim). A name in both the query and the body is refused: the signature covered both.
    let params = match claim.params {
        Some(p) => Ok(p),
        None => crate::lambda::params_of(event),
    };
    if let Some(name) = params.as_ref().ok().and_then(Params::given_twice) {
        let twice = ApiError::ParameterIllegal(api::messages::ParamProblem::Duplicate(name.into()));
        return Err(refuse(twice.into(), Some(&caller)));
    }
    // Tencent's SDKs ask for a language with `X-TC-Language` or `Language`; `Lang` wins.
    let params = match claim.lang {
        Lang::Zh if tencent => params.map(|p| p.or_default("Lang", "zh")),
        _ => params,
    };
    Ok(Admitted {
        entry,
        params,
        caller,
        scheme: claim.scheme,
        key_id: claim.key_id,
    })
}

/// Tells the scheme and reads what the request claims, without any secret yet. A body over the limit,
/// and a request with no signature of any scheme, are refused here before any parameter is read.
// A refusal is returned by value: moving its 136 bytes costs less than boxing it on the path that a flood
// of unsigned requests takes.
#[allow(clippy::result_large_err)]
fn claim_of(
    event: &lambda_http::Request,
    all: &dyn Fn(&str) -> Vec<String>,
) -> Result<Claim, Refused> {
    let first = |name: &str| {
        all(name)
            .into_iter()
            .next()
            .filter(|v| !v.trim().is_empty())
    };
    let auth = first("authorization").unwrap_or_default();
    let tencent_headers = auth.starts_with("TC3-") || first("x-tc-action").is_some();
    let query = event.uri().query().unwrap_or("");
    // The language of a refusal before the parameters are read: Tencent's header, or `Lang` in the query.
    let query_lang = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "Lang")
        .and_then(|(_, v)| Params::from_pairs([("Lang", v)]).lang().ok());
    let lang = match first("x-tc-language") {
        Some(l) if l.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
        _ => query_lang.unwrap_or(Lang::En),
    };
    let early_vendor = if tencent_headers {
        Vendor::Tencent
    } else {
        Vendor::Alibaba
    };
    if crate::lambda::body_too_large(event) {
        return Err(Refused::early(early_vendor, lang, ApiError::BodyTooLarge));
    }
    let with = |scheme: Scheme, key_id: &str| {
        let key_id = key_id.to_string();
        move |refusal| Refused {
            scheme: Some(scheme),
            key_id: key_id.clone(),
            ..Refused::early(scheme.vendor(), lang, refusal)
        }
    };
    if tencent_headers {
        return tc3_claim(event, &auth, all, lang).map_err(with(Scheme::Tc3, ""));
    }
    if auth.starts_with("ACS3-") {
        return acs3_claim(event, &auth, all, lang).map_err(with(Scheme::Acs3, ""));
    }
    if !auth.is_empty() {
        return Err(Refused::early(
            Vendor::Alibaba,
            lang,
            Refusal::Malformed(api::phrases::NO_SCHEME),
        ));
    }
    // RPC and Tencent v1 carry a `Signature` parameter. Only its presence is looked for (the names of
    // the query and of a form body); a request without one is refused before anything is parsed.
    let form = first("content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let named = |bytes: &[u8], name: &str| form_urlencoded::parse(bytes).any(|(k, _)| k == name);
    let signed = named(query.as_bytes(), "Signature") || (form && named(event.body(), "Signature"));
    if !signed {
        return Err(Refused::early(Vendor::Alibaba, lang, Refusal::NotSigned));
    }
    // Tencent's v1 names its key `SecretId`; Alibaba's RPC `AccessKeyId`.
    let v1 = named(query.as_bytes(), "SecretId") || (form && named(event.body(), "SecretId"));
    let vendor = if v1 { Vendor::Tencent } else { Vendor::Alibaba };
    let params = match crate::lambda::params_of(event) {
        Ok(p) => p,
        Err(e @ ApiError::ParameterIllegal(api::messages::ParamProblem::Duplicate(_))) => {
            return Err(Refused::early(vendor, lang, e))
        }
        Err(_) => {
            let unreadable = Refusal::Malformed(api::phrases::UNREADABLE_PARAMETERS);
            return Err(Refused::early(vendor, lang, unreadable));
        }
    };
    if let Some(name) = params.given_twice() {
        // The body and the query both named it: which the client signed is a guess.
        let twice = ApiError::ParameterIllegal(api::messages::ParamProblem::Duplicate(name.into()));
        return Err(Refused::early(vendor, lang, twice));
    }
    let lang = params.lang().ok().or(query_lang).unwrap_or(lang);
    if v1 {
        let key_id = params.raw("SecretId").unwrap_or("").to_string();
        // Tencent's SDKs name the language `Language` (`zh-CN`, `en-US`).
        let lang = match params.raw("Language") {
            Some(l) if l.to_ascii_lowercase().starts_with("zh") && params.raw("Lang").is_none() => {
                Lang::Zh
            }
            _ => lang,
        };
        let host = first("host").unwrap_or_default();
        return tencent_v1_claim(event, params, &host, lang)
            .map_err(with(Scheme::TencentV1, &key_id));
    }
    let key_id = params.raw("AccessKeyId").unwrap_or("").to_string();
    rpc_claim(event, params, lang).map_err(with(Scheme::Rpc, &key_id))
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
    // The host always, and the content type whenever the request has one: a signature that covers
    // neither could be replayed against another host, or with its body read another way.
    let has_content_type = !header("content-type").is_empty();
    let mut required = vec![
        "x-acs-action",
        "x-acs-date",
        "x-acs-signature-nonce",
        "host",
    ];
    if has_content_type {
        required.push("content-type");
    }
    if !required
        .iter()
        .all(|r| parsed.signed_headers.iter().any(|h| h == r))
    {
        return Err(Refusal::Malformed(api::phrases::ACS3_SIGNED_HEADERS));
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
        scheme: Scheme::Acs3,
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
        params: None,
    })
}

fn rpc_claim(event: &lambda_http::Request, params: Params, lang: Lang) -> Result<Claim, Refusal> {
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
    let replay_key = format!("acs\n{key_id}\n{nonce}");
    let string_to_sign = rpc::string_to_sign(event.method().as_str(), params.pairs());
    Ok(Claim {
        scheme: Scheme::Rpc,
        lang,
        replay_key,
        key_id,
        action,
        timestamp,
        window_minutes: ALIBABA_WINDOW_MINUTES,
        proof: Proof::Rpc {
            string_to_sign,
            signature,
        },
        params: Some(params),
    })
}

/// Tencent's older scheme: the same clock window, keys and replay rule as TC3 (the signature, which
/// covers the nonce and the second, is accepted once; a read records nothing).
fn tencent_v1_claim(
    event: &lambda_http::Request,
    params: Params,
    host: &str,
    lang: Lang,
) -> Result<Claim, Refusal> {
    let one = |name: &'static str| {
        params
            .raw(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(Refusal::Missing(name))
    };
    let key_id = one("SecretId")?.to_string();
    let signature = one("Signature")?;
    let method = tc1::Method::parse(params.raw("SignatureMethod"))
        .ok_or(Refusal::Malformed(api::phrases::NOT_TENCENT_V1_METHOD))?;
    one("Nonce")?;
    let seconds: i64 = one("Timestamp")?
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    let timestamp = DateTime::from_timestamp(seconds, 0).ok_or(Refusal::BadTimestamp)?;
    let action = one("Action")?.trim().to_string();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .unwrap_or_default();
    if host.trim().is_empty() {
        return Err(Refusal::Missing("Host"));
    }
    let method_name = event.method().as_str();
    let path = event.uri().path();
    let candidates = host_forms(host)
        .iter()
        .map(|h| tc1::string_to_sign(method_name, h, path, params.pairs()))
        .collect();
    Ok(Claim {
        scheme: Scheme::TencentV1,
        lang,
        replay_key: format!("tc1\n{}", hex::encode(&signature)),
        key_id,
        action,
        timestamp,
        window_minutes: TENCENT_WINDOW_MINUTES,
        proof: Proof::TencentV1 {
            method,
            candidates,
            signature,
        },
        params: Some(params),
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
    let host = one("host")?;
    // Tencent's Node.js SDK signs the host without the port that it sends: each form of the host is tried.
    let candidates = host_forms(&host)
        .into_iter()
        .map(|h| {
            let with_host = |name: &str| {
                if name == "host" {
                    vec![h.clone()]
                } else {
                    header(name)
                }
            };
            let canonical = tc3::canonical_request(
                event.method().as_str(),
                event.uri().query().unwrap_or(""),
                &parsed.signed_headers,
                &with_host,
                event.body().as_ref(),
            );
            tc3::string_to_sign(raw_time.trim(), &parsed.date, &parsed.service, &canonical)
        })
        .collect();
    Ok(Claim {
        scheme: Scheme::Tc3,
        lang,
        replay_key: format!("tc3\n{}", hex::encode(&parsed.signature)),
        key_id: parsed.key_id,
        action,
        timestamp,
        window_minutes: TENCENT_WINDOW_MINUTES,
        proof: Proof::Tc3 {
            date: parsed.date,
            service: parsed.service,
            candidates,
            signature: parsed.signature,
        },
        params: None,
    })
}

/// Alibaba's times: ISO 8601 in UTC, `2026-11-29T12:00:00Z`.
fn alibaba_time(raw: &str) -> Result<DateTime<Utc>, Refusal> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Refusal::BadTimestamp)
}
