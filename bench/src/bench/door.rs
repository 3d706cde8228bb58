//! The front door's cost next to the per-action functions': the same action on the same store, answered
//! by `edge::lambda::handle::<A, _, _>` (a per-action function, the caller from API Gateway's IAM
//! authoriser) and by `edge::front_door::handle` (the request signed with a key pair whose caller is the
//! same principal, in each of the three schemes). Requests of the four paths take turns, so that a noisy
//! moment of the machine falls on all of them alike.
//!
//! Here: the handler's CPU time against the in-memory store, and the CPU time of the signature check
//! alone; and what an unsigned request costs the front door that refuses it ([`Unsigned`]). `stack.rs`
//! measures the same paths against DynamoDB Local, counts each action's DynamoDB requests through the
//! front door, and counts what refused requests and the caller's shared rate count send to DynamoDB.

use api::params::Params;
use api::signing::{acs3, rpc, tc3};
use api::signing::{hmac_matches, HmacSha1, HmacSha256};
use edge::front_door::{FrontDoor, KeyRing, Keys};
use serde_json::Value;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::{MemoryStore, ReplayGuard, Store};

use crate::cpu::thread_cpu_ns;
use crate::events::{body, caller_arn, event, fresh_address, invoke, unique, Act, Answer};
use crate::stats::Samples;
use crate::Options;
use bench::fakes::{sms_outbox, LinkKeeper, MovableClock, NoopMailer};
use bench::signed::{self, KeyPair, Scheme};

/// The action the paths are compared on: the cheapest one (one GetItem), so that the front door's share
/// shows most.
pub const COMPARED: Act = Act::Query;

/// How a request reaches the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The per-action function's route (`POST /<Action>`, IAM-authorised).
    Function,
    /// The front door (`POST /`), signed in this scheme.
    Door(Scheme),
}

impl Path {
    pub const ALL: [Path; 4] = [
        Path::Function,
        Path::Door(Scheme::Acs3),
        Path::Door(Scheme::Rpc),
        Path::Door(Scheme::Tc3),
    ];

    pub fn label(self) -> String {
        match self {
            Path::Function => "per-action function (`edge::lambda::handle`)".into(),
            Path::Door(s) => format!("front door, {}", s.label()),
        }
    }
}

/// A principal, as both paths name it: its IAM ARN (the per-action routes) and a key pair whose caller is
/// that ARN (the front door), so that both paths act on the same records.
#[derive(Clone, Debug)]
pub struct Caller {
    pub arn: String,
    pub key: KeyPair,
}

impl Caller {
    pub fn new(prefix: &str) -> Self {
        let arn = caller_arn(&unique(prefix));
        let key = KeyPair {
            id: unique("bench-key"),
            secret: unique("bench-secret"),
            caller: arn.clone(),
        };
        Self { arn, key }
    }
}

/// The front door over `app`, with the key pairs of `callers`.
pub fn door<S, M>(app: App<S, M>, callers: &[&Caller]) -> Result<FrontDoor<S, M>, String> {
    let pairs: Vec<KeyPair> = callers.iter().map(|c| c.key.clone()).collect();
    let ring = KeyRing::parse(&KeyPair::ring_json(&pairs))
        .map_err(|e| format!("the bench's key pairs: {e}"))?;
    Ok(FrontDoor {
        app,
        keys: Keys::fixed(ring),
    })
}

/// The event of `act` with `body` by `caller` along `path`, signed (for the front door) at `now`.
pub fn path_event(
    path: Path,
    act: Act,
    caller: &Caller,
    body: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    match path {
        Path::Function => event(act, &caller.arn, body),
        Path::Door(scheme) => signed::event(scheme, &caller.key, act.name(), body, now),
    }
}

/// One invocation along `path`, parsing the event included (as in the runtime).
pub async fn invoke_path<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    path: Path,
    act: Act,
    event: &str,
) -> Answer {
    match path {
        Path::Function => invoke(act, &door.app, event).await,
        Path::Door(_) => invoke_door(door, event).await,
    }
}

/// One invocation of the front door, parsing the event included (as in the runtime), whatever the
/// request is (signed or not).
pub async fn invoke_door<S: Store + ReplayGuard, M: Mailer>(
    door: &FrontDoor<S, M>,
    event: &str,
) -> Answer {
    let request = match lambda_http::request::from_str(event) {
        Ok(r) => r,
        Err(e) => {
            return Answer {
                status: 0,
                body: format!("not an event: {e}"),
            }
        }
    };
    let response = edge::front_door::handle(door, request).await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        lambda_http::Body::Text(t) => t,
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    Answer { status, body }
}

/// Unsigned requests, as a flood sends them to `POST /`: the front door refuses each with its first
/// checks (the body's size, then whether the request is signed in any scheme), before it reads a
/// parameter and before it asks any service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsigned {
    /// An action's parameters as a small JSON body, and no signature.
    Small,
    /// A form body of exactly 64 KiB, the largest the front door reads: it looks through it for a
    /// `Signature` name before refusing it.
    FormAtLimit,
    /// One byte over 64 KiB: refused for its size before anything else.
    OverLimit,
    /// 1 MiB: refused for its size too (API Gateway passes bodies of up to 10 MB).
    Mebibyte,
}

impl Unsigned {
    pub const ALL: [Unsigned; 4] = [
        Unsigned::Small,
        Unsigned::FormAtLimit,
        Unsigned::OverLimit,
        Unsigned::Mebibyte,
    ];

    /// The content type and the body.
    fn body(self) -> (&'static str, String) {
        let limit = api::params::MAX_BODY_BYTES;
        let form = |len: usize| {
            let head = "Action=QueryEmailVerification&Email=";
            format!("{head}{}", "a".repeat(len.saturating_sub(head.len())))
        };
        let json = |len: usize| format!("{{\"Email\":\"{}\"}}", "a".repeat(len.saturating_sub(12)));
        match self {
            Unsigned::Small => (
                "application/json",
                serde_json::json!({"Action": COMPARED.name(), "Email": "flood@example.com"})
                    .to_string(),
            ),
            Unsigned::FormAtLimit => ("application/x-www-form-urlencoded", form(limit)),
            Unsigned::OverLimit => ("application/json", json(limit + 1)),
            Unsigned::Mebibyte => ("application/json", json(1 << 20)),
        }
    }

    pub fn label(self) -> String {
        let (content_type, body) = self.body();
        let kind = match content_type {
            "application/json" => "JSON",
            _ => "form",
        };
        let limit = api::params::MAX_BODY_BYTES;
        let bytes = |n: usize| crate::report::thousands(n as u64);
        let size = match body.len() {
            n if n == limit => format!("{} B (64 KiB, the most the door reads)", bytes(n)),
            n if n == limit + 1 => format!("{} B (64 KiB + 1)", bytes(n)),
            n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
            n => format!("{} B", bytes(n)),
        };
        format!("unsigned, {kind} body of {size}")
    }

    /// The API Gateway event of the request.
    pub fn event(self) -> String {
        let (content_type, body) = self.body();
        signed::unsigned_event(content_type, &body)
    }

    /// The answer the front door must give: HTTP status and Alibaba's code (no scheme was named, so the
    /// refusal comes in Alibaba's envelope).
    pub fn expected(self) -> (u16, &'static str) {
        match self {
            Unsigned::Small | Unsigned::FormAtLimit => (400, "MissingParameter"),
            Unsigned::OverLimit | Unsigned::Mebibyte => (413, "RequestEntityTooLarge"),
        }
    }

    /// `Err(what came instead)` unless `answer` is the refusal this request calls for.
    pub fn refused(self, answer: &Answer) -> Result<(), String> {
        let (status, code) = self.expected();
        let got = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v["Code"].as_str().map(str::to_string))
            .unwrap_or_default();
        if answer.status == status && got == code {
            return Ok(());
        }
        let mut text = answer.body.clone();
        text.truncate(300);
        Err(format!(
            "{}: expected {status} {code}, got {}: {text}",
            self.label(),
            answer.status
        ))
    }
}

/// Whether the front door refused the request (or the action failed): a status other than 200, or
/// Tencent's `Response.Error` (the front door's refusals in Tencent's envelope come with HTTP 200).
pub fn refusal(answer: &Answer) -> Option<String> {
    let tencent_error = serde_json::from_str::<Value>(&answer.body)
        .map_or(true, |v| v["Response"].get("Error").is_some());
    if answer.status == 200 && !tencent_error {
        return None;
    }
    let mut text = answer.body.clone();
    text.truncate(300);
    Some(format!("status {}: {text}", answer.status))
}

/// The check of the signature alone, as the front door makes it once the event is parsed and the secret
/// is known: read `Authorization` (or the RPC parameters), build the canonical request and the string to
/// sign, and compare the HMAC in constant time. It is re-run here with the public helpers the front door
/// uses; the key lookup, the clock check and the replay record are not in it.
pub fn check(
    scheme: Scheme,
    request: &lambda_http::Request,
    params: &Params,
    secret: &str,
) -> bool {
    let headers = request.headers();
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let first = |name: &str| all(name).into_iter().next().unwrap_or_default();
    let method = request.method().as_str();
    match scheme {
        Scheme::Acs3 => {
            let Some(auth) = acs3::Authorization::parse(&first("authorization")) else {
                return false;
            };
            let query: Vec<(String, String)> =
                Params::parse(request.uri().query().unwrap_or(""), "", b"")
                    .map(|p| {
                        p.pairs()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
            let canonical = acs3::canonical_request(
                method,
                request.uri().path(),
                &query,
                &auth.signed_headers,
                &all,
                request.body().as_ref(),
            );
            hmac_matches::<HmacSha256>(
                secret.as_bytes(),
                acs3::string_to_sign(&canonical).as_bytes(),
                &auth.signature,
            )
        }
        Scheme::Rpc => {
            use base64::Engine;
            let signature = base64::engine::general_purpose::STANDARD
                .decode(params.raw("Signature").unwrap_or("").trim())
                .unwrap_or_default();
            hmac_matches::<HmacSha1>(
                &rpc::key(secret),
                rpc::string_to_sign(method, params.pairs()).as_bytes(),
                &signature,
            )
        }
        Scheme::Tc3 => {
            let Some(auth) = tc3::Authorization::parse(&first("authorization")) else {
                return false;
            };
            let timestamp = first("x-tc-timestamp");
            let canonical = tc3::canonical_request(
                method,
                request.uri().query().unwrap_or(""),
                &auth.signed_headers,
                &all,
                request.body().as_ref(),
            );
            let string_to_sign =
                tc3::string_to_sign(timestamp.trim(), &auth.date, &auth.service, &canonical);
            hmac_matches::<HmacSha256>(
                &tc3::signing_key(secret, &auth.date, &auth.service),
                string_to_sign.as_bytes(),
                &auth.signature,
            )
        }
    }
}

/// The handler's CPU time per request along each path, and the signature check's alone.
#[derive(Clone, Debug)]
pub struct DoorCpu {
    pub action: &'static str,
    /// Microseconds per request, per path (in the order of [`Path::ALL`]).
    pub paths: Vec<(Path, Samples)>,
    /// Microseconds per check, per scheme.
    pub checks: Vec<(Scheme, Samples)>,
    /// Microseconds per refused unsigned request, per kind.
    pub unsigned: Vec<(Unsigned, Samples)>,
}

async fn cpu_run(opts: &Options) -> Result<DoorCpu, String> {
    let n = opts.cpu_requests;
    let warmup = (n / 10).clamp(1, 100);
    let total = n + warmup;
    let clock = MovableClock::default();
    let config = crate::events::config()?;
    let app = App {
        store: MemoryStore::new(),
        mailer: LinkKeeper::new(NoopMailer),
        sms: sms_outbox().into(),
        code_secret: adapters::secrets::local_code_secret().and_then(Result::ok),
        config,
        clock: clock.clock(),
    };
    let caller = Caller::new("cpu-door");
    let door = door(app, &[&caller])?;

    // The addresses the Queries ask for, submitted by the caller first (100 a call).
    let addresses: Vec<String> = (0..total).map(|_| fresh_address()).collect();
    for chunk in addresses.chunks(100) {
        let answer = invoke(
            Act::Submit,
            &door.app,
            &event(Act::Submit, &caller.arn, &body(Act::Submit, chunk, None)),
        )
        .await;
        if answer.status != 200 || answer.successes() != chunk.len() {
            return Err(format!(
                "front door CPU: the set-up Submit failed: {} {}",
                answer.status, answer.body
            ));
        }
    }
    // Every event built before any is timed, signed at the app's clock.
    let now = door.app.now();
    let events: Vec<Vec<String>> = Path::ALL
        .iter()
        .map(|&p| {
            addresses
                .iter()
                .map(|a| {
                    path_event(
                        p,
                        COMPARED,
                        &caller,
                        &body(COMPARED, std::slice::from_ref(a), None),
                        now,
                    )
                })
                .collect()
        })
        .collect();

    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(n); Path::ALL.len()];
    // Request i of every path, in an order that turns with i.
    #[allow(clippy::needless_range_loop)]
    for i in 0..total {
        // Turns: each request of a round along another path first.
        for k in 0..Path::ALL.len() {
            let p = (i + k) % Path::ALL.len();
            let start = thread_cpu_ns();
            let answer = invoke_path(&door, Path::ALL[p], COMPARED, &events[p][i]).await;
            let ns = thread_cpu_ns() - start;
            if let Some(why) = refusal(&answer) {
                return Err(format!(
                    "front door CPU: {} along {} was not answered with success: {why}",
                    COMPARED.name(),
                    Path::ALL[p].label()
                ));
            }
            if i >= warmup {
                samples[p].push(ns as f64 / 1000.0);
            }
        }
    }

    // The signature check alone, on the parsed front-door events (parsing not timed).
    let mut checks = Vec::new();
    for (p, path) in Path::ALL.iter().enumerate() {
        let Path::Door(scheme) = *path else { continue };
        let mut s = Vec::with_capacity(n);
        for (i, e) in events[p].iter().enumerate() {
            let request = lambda_http::request::from_str(e)
                .map_err(|e| format!("a signed event does not parse: {e}"))?;
            let content_type = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let params = Params::parse(
                request.uri().query().unwrap_or(""),
                &content_type,
                request.body().as_ref(),
            )
            .map_err(|e| format!("{e:?}"))?;
            let start = thread_cpu_ns();
            let ok = check(scheme, &request, &params, &caller.key.secret);
            let ns = thread_cpu_ns() - start;
            if !ok {
                return Err(format!(
                    "the {} signature check failed on the bench's own request",
                    scheme.label()
                ));
            }
            if i >= warmup {
                s.push(ns as f64 / 1000.0);
            }
        }
        checks.push((scheme, Samples::new(s)));
    }
    // Refused unsigned requests, the kinds in turns (parsing the event included, as for the paths).
    let unsigned_events: Vec<String> = Unsigned::ALL.iter().map(|u| u.event()).collect();
    let mut unsigned: Vec<Vec<f64>> = vec![Vec::with_capacity(n); Unsigned::ALL.len()];
    for i in 0..total {
        for k in 0..Unsigned::ALL.len() {
            let u = (i + k) % Unsigned::ALL.len();
            let start = thread_cpu_ns();
            let answer = invoke_door(&door, &unsigned_events[u]).await;
            let ns = thread_cpu_ns() - start;
            Unsigned::ALL[u]
                .refused(&answer)
                .map_err(|e| format!("front door CPU: {e}"))?;
            if i >= warmup {
                unsigned[u].push(ns as f64 / 1000.0);
            }
        }
    }
    Ok(DoorCpu {
        action: COMPARED.name(),
        paths: Path::ALL
            .iter()
            .copied()
            .zip(samples.into_iter().map(Samples::new))
            .collect(),
        checks,
        unsigned: Unsigned::ALL
            .iter()
            .copied()
            .zip(unsigned.into_iter().map(Samples::new))
            .collect(),
    })
}

/// On a current-thread runtime in a thread of its own, as `cpu::measure`.
pub fn cpu(opts: &Options) -> Result<DoorCpu, String> {
    let opts = opts.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(cpu_run(&opts))
    })
    .join()
    .map_err(|_| "the front door's CPU measurement panicked".to_string())?
}
