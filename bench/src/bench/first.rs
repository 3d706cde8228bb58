//! The first request after a cold start, TLS included: a function's process is started as in the cold-start
//! measurement, but the Runtime API stand-in answers its first poll with one event (QueryEmailVerification
//! of an unknown address: one GetItem), and the time runs until the function posts its answer.
//!
//! DynamoDB is reached through a relay of this process in front of DynamoDB Local, in one of two ways that
//! differ only in TLS: a TLS terminator (rustls, a certificate made at run time with rcgen, trusted by the
//! function through `AWS_TLS_ROOTS=native` and `SSL_CERT_FILE`), or a plain TCP relay. Both connect to
//! DynamoDB Local after they have accepted (and, for TLS, after the handshake). The terminator notes when
//! each connection was accepted and when its handshake was done, so the handshake's share of the first
//! request is measured directly, and again as the difference between the two ways.
//!
//! Loopback only; every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::coldstart::{still_running, stop};
use crate::events::{body, caller_arn, event, fresh_address, Act};
use crate::stats::Samples;
use crate::Options;

/// The function measured, and its action.
pub const FUNCTION: &str = "query-email-verification";
const ACT: Act = Act::Query;
/// How long one run may take before it counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// One of the two ways to DynamoDB Local.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Plain,
    Tls,
}

impl Way {
    pub fn label(self) -> &'static str {
        match self {
            Way::Plain => "plain HTTP (TCP relay)",
            Way::Tls => "HTTPS (TLS terminator)",
        }
    }
}

/// The figures of one way, in milliseconds, one sample per run.
#[derive(Clone, Debug)]
pub struct WayResult {
    pub way: Way,
    /// Process start to the first poll (the cold start).
    pub poll: Samples,
    /// Process start to the answer of the first invocation.
    pub total: Samples,
    /// The first poll to the answer: the first request.
    pub request: Samples,
    /// Accepted to handshake done, as the terminator saw it (TLS only).
    pub handshake: Samples,
    /// The handshake's share of the first request, per run, in percent (TLS only).
    pub handshake_share: Samples,
    /// Connections the relay accepted per run.
    pub connections: f64,
    /// The status codes the function answered with.
    pub statuses: Vec<u16>,
}

#[derive(Clone, Debug)]
pub struct FirstRequest {
    pub command: String,
    pub runs: usize,
    pub ways: Vec<WayResult>,
    pub error: Option<String>,
}

impl FirstRequest {
    pub fn way(&self, way: Way) -> Option<&WayResult> {
        self.ways.iter().find(|w| w.way == way)
    }
}

// ---- the relay ----

/// One accepted connection: when, and when its TLS handshake was done.
#[derive(Clone, Copy, Debug)]
struct Accepted {
    at: Instant,
    handshake_done: Option<Instant>,
}

struct Relay {
    plain_port: u16,
    tls_port: u16,
    ca_pem: String,
    accepted: Arc<Mutex<Vec<Accepted>>>,
    _runtime: tokio::runtime::Runtime,
}

fn certificate() -> Result<(String, rustls::ServerConfig), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let e = |e: rcgen::Error| format!("certificate: {e}");
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "bench: local TLS terminator CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(e)?;
    let key = KeyPair::generate().map_err(e)?;
    let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(e)?;
    let leaf = params.signed_by(&key, &ca).map_err(e)?;
    let chain = vec![leaf.der().clone(), ca.der().clone()];
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| format!("TLS: {e}"))?;
    Ok((ca.pem(), config))
}

fn start_relay(upstream: SocketAddr) -> Result<Relay, String> {
    let (ca_pem, config) = certificate()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    // One worker thread drives both listeners and their connections.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let accepted: Arc<Mutex<Vec<Accepted>>> = Arc::default();
    let bind = |runtime: &tokio::runtime::Runtime| {
        runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("relay: {e}"))
    };
    let (plain, tls) = (bind(&runtime)?, bind(&runtime)?);
    let port =
        |l: &tokio::net::TcpListener| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string());
    let (plain_port, tls_port) = (port(&plain)?, port(&tls)?);

    let log = Arc::clone(&accepted);
    runtime.spawn(async move {
        while let Ok((mut client, _)) = plain.accept().await {
            let at = Instant::now();
            let _ = client.set_nodelay(true);
            log.lock().unwrap().push(Accepted {
                at,
                handshake_done: None,
            });
            tokio::spawn(async move {
                if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = up.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                }
            });
        }
    });
    let log = Arc::clone(&accepted);
    runtime.spawn(async move {
        while let Ok((client, _)) = tls.accept().await {
            let at = Instant::now();
            let _ = client.set_nodelay(true);
            let acceptor = acceptor.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(client)).await;
                let done = Instant::now();
                let Ok(Ok(mut client)) = handshake else {
                    log.lock().unwrap().push(Accepted {
                        at,
                        handshake_done: None,
                    });
                    return;
                };
                log.lock().unwrap().push(Accepted {
                    at,
                    handshake_done: Some(done),
                });
                if let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = up.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                }
            });
        }
    });
    Ok(Relay {
        plain_port,
        tls_port,
        ca_pem,
        accepted,
        _runtime: runtime,
    })
}

// ---- the Runtime API stand-in that answers ----

enum Seen {
    Poll(Instant),
    Answer {
        at: Instant,
        status: u16,
        path: String,
    },
}

struct Api {
    port: u16,
    seen: Receiver<Seen>,
    /// The event the next first poll of a connection gets.
    event: Arc<Mutex<Option<String>>>,
}

fn start_api() -> Result<Api, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("Runtime API stand-in: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, seen) = mpsc::channel();
    let event: Arc<Mutex<Option<String>>> = Arc::default();
    let next = Arc::clone(&event);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (tx, next) = (tx.clone(), Arc::clone(&next));
            thread::spawn(move || serve(stream, tx, next));
        }
    });
    Ok(Api { port, seen, event })
}

/// One connection of the runtime client (HTTP/1.1, kept alive): the first poll gets the event, later polls
/// are held unanswered; the answer is noted and acknowledged.
fn serve(stream: TcpStream, tx: Sender<Seen>, next: Arc<Mutex<Option<String>>>) {
    let _ = stream.set_read_timeout(Some(RUN_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.trim().eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v.to_ascii_lowercase().contains("chunked");
                }
            }
        }
        let body = if chunked {
            match read_chunked(&mut reader) {
                Some(b) => b,
                None => return,
            }
        } else {
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let at = Instant::now();
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("").to_string(),
        );
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = tx.send(Seen::Poll(at));
            let Some(event) = next.lock().unwrap().take() else {
                // Only the first poll is answered: hold this one until the process is gone.
                let mut sink = [0u8; 64];
                let _ = reader.read(&mut sink);
                return;
            };
            let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
Lambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}\r\n\
Lambda-Runtime-Trace-Id: Root=1-6922f6c0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0\r\n\r\n",
                event.len(),
                uuid::Uuid::new_v4()
            );
            if writer
                .write_all(head.as_bytes())
                .and_then(|_| writer.write_all(event.as_bytes()))
                .is_err()
            {
                return;
            }
        } else {
            // The invocation's answer (…/response), or an error (…/error, init/error).
            let status = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("statusCode").and_then(|s| s.as_u64()))
                .unwrap_or(0) as u16;
            let _ = tx.send(Seen::Answer { at, status, path });
            let ack = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";
            if writer.write_all(ack.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// A chunked body (at most 1 MiB), or `None` when the connection ends or sends something else.
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while body.len() <= 1 << 20 {
        let mut size = String::new();
        if reader.read_line(&mut size).ok()? == 0 {
            return None;
        }
        let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
        let mut chunk = vec![0u8; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
    None
}

// ---- the runs ----

struct Run {
    poll: f64,
    total: f64,
    handshake: Option<f64>,
    connections: usize,
    status: u16,
}

struct Setup {
    program: PathBuf,
    log: PathBuf,
    cert_file: PathBuf,
    cert_dir: PathBuf,
}

fn environment(setup: &Setup, relay: &Relay, api: &Api, way: Way) -> Vec<(String, String)> {
    let endpoint = match way {
        Way::Plain => format!("http://127.0.0.1:{}", relay.plain_port),
        Way::Tls => format!("https://127.0.0.1:{}", relay.tls_port),
    };
    vec![
        (
            "AWS_LAMBDA_RUNTIME_API".into(),
            format!("127.0.0.1:{}", api.port),
        ),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), FUNCTION.into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            "/aws/lambda/bench".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "bench".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint),
        // Both ways alike: the SDK's own HTTPS client, trusting only the terminator's CA.
        ("AWS_TLS_ROOTS".into(), "native".into()),
        (
            "SSL_CERT_FILE".into(),
            setup.cert_file.display().to_string(),
        ),
        ("SSL_CERT_DIR".into(), setup.cert_dir.display().to_string()),
    ]
}

fn one_run(setup: &Setup, relay: &Relay, api: &Api, way: Way) -> Result<Run, String> {
    while api.seen.try_recv().is_ok() {}
    relay.accepted.lock().unwrap().clear();
    let event = event(
        ACT,
        &caller_arn("bench-first-request"),
        &body(ACT, &[fresh_address()], None),
    );
    *api.event.lock().unwrap() = Some(event);
    let t0 = Instant::now();
    let mut child = Command::new(&setup.program)
        .envs(environment(setup, relay, api, way))
        .stdin(Stdio::null())
        // The function's log lines (stdout), kept for a run that fails.
        .stdout(Stdio::from(
            std::fs::File::create(&setup.log)
                .map_err(|e| format!("{}: {e}", setup.log.display()))?,
        ))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", setup.program.display()))?;
    let mut poll = None;
    loop {
        match api.seen.recv_timeout(Duration::from_millis(20)) {
            Ok(Seen::Poll(at)) => {
                poll.get_or_insert(at);
            }
            Ok(Seen::Answer { at, status, path }) => {
                let stderr = stop(&mut child);
                if !path.ends_with("/response") {
                    return Err(format!("it answered {path}; stderr: {stderr}"));
                }
                let ms = |i: Instant| i.saturating_duration_since(t0).as_secs_f64() * 1000.0;
                let accepted = relay.accepted.lock().unwrap().clone();
                let handshake = accepted.first().and_then(|a| {
                    a.handshake_done
                        .map(|d| d.saturating_duration_since(a.at).as_secs_f64() * 1000.0)
                });
                return Ok(Run {
                    poll: poll.map(ms).unwrap_or(f64::NAN),
                    total: ms(at),
                    handshake,
                    connections: accepted.len(),
                    status,
                });
            }
            Err(RecvTimeoutError::Timeout) => {
                still_running(&mut child, t0, RUN_TIMEOUT, "its answer")?
            }
            Err(RecvTimeoutError::Disconnected) => {
                stop(&mut child);
                return Err("the Runtime API stand-in stopped".into());
            }
        }
    }
}

/// DynamoDB Local's address, from `AWS_ENDPOINT_URL_DYNAMODB` (`local/env.sh`).
fn dynamodb_local() -> Result<SocketAddr, String> {
    let url = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .map_err(|_| "AWS_ENDPOINT_URL_DYNAMODB is not set (run through make bench)".to_string())?;
    let host_port = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("AWS_ENDPOINT_URL_DYNAMODB is not http://host:port: {url}"))?
        .trim_end_matches('/');
    use std::net::ToSocketAddrs;
    host_port
        .to_socket_addrs()
        .map_err(|e| format!("{host_port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host_port}: no address"))
}

/// `runs` runs per way, the ways taking turns (after one unmeasured run each).
pub fn measure(opts: &Options) -> FirstRequest {
    let program = opts.bin_dir.join(FUNCTION);
    let command = format!(
        "AWS_ENDPOINT_URL_DYNAMODB=https://127.0.0.1:<terminator> AWS_TLS_ROOTS=native SSL_CERT_FILE=<its CA> {}",
        program.display()
    );
    let runs = opts.first_runs;
    let mut out = FirstRequest {
        command,
        runs,
        ways: vec![],
        error: None,
    };
    let result = (|| -> Result<Vec<WayResult>, String> {
        let relay = start_relay(dynamodb_local()?)?;
        let api = start_api()?;
        let dir = std::env::temp_dir().join(format!("bench-first-request-{}", std::process::id()));
        let cert_dir = dir.join("certs");
        std::fs::create_dir_all(&cert_dir).map_err(|e| format!("{}: {e}", cert_dir.display()))?;
        let cert_file = dir.join("ca.pem");
        std::fs::write(&cert_file, &relay.ca_pem)
            .map_err(|e| format!("{}: {e}", cert_file.display()))?;
        let log = dir.join("function.log");
        let setup = Setup {
            program,
            log,
            cert_file,
            cert_dir,
        };
        let ways = [Way::Plain, Way::Tls];
        let mut got: Vec<Vec<Run>> = vec![vec![], vec![]];
        for round in 0..runs + 1 {
            for (i, &way) in ways.iter().enumerate() {
                let run = one_run(&setup, &relay, &api, way)
                    .map_err(|e| format!("{}: {e}", way.label()))?;
                if round > 0 {
                    got[i].push(run);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(ways
            .iter()
            .zip(got)
            .map(|(&way, runs)| {
                let n = runs.len().max(1) as f64;
                let mut statuses: Vec<u16> = runs.iter().map(|r| r.status).collect();
                statuses.sort_unstable();
                statuses.dedup();
                WayResult {
                    way,
                    poll: Samples::new(runs.iter().map(|r| r.poll).collect()),
                    total: Samples::new(runs.iter().map(|r| r.total).collect()),
                    request: Samples::new(runs.iter().map(|r| r.total - r.poll).collect()),
                    handshake: Samples::new(runs.iter().filter_map(|r| r.handshake).collect()),
                    handshake_share: Samples::new(
                        runs.iter()
                            .filter_map(|r| r.handshake.map(|h| 100.0 * h / (r.total - r.poll)))
                            .collect(),
                    ),
                    connections: runs.iter().map(|r| r.connections as f64).sum::<f64>() / n,
                    statuses,
                }
            })
            .collect())
    })();
    match result {
        Ok(ways) => out.ways = ways,
        Err(e) => {
            eprintln!("    first request: {e}");
            out.error = Some(e);
        }
    }
    out
}
