//! Cold start: the time from spawning a function's process to its first `GET
//! /2018-06-01/runtime/invocation/next`, the moment a Lambda runtime says it is ready. A stand-in for the
//! Runtime API listens on a local port, notes when the request line of each connection has arrived, and
//! never answers: the process is killed once it has polled. Every subject is started in turn, round after
//! round, so that a noisy moment of the machine falls on all of them alike.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::stats::Samples;
use crate::Options;

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";
/// How long a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Function,
    Hello,
    HelloSdk,
    Python,
    /// hello + SDK defaults, started without root certificates: what loading them costs.
    NoCerts,
    /// hello + the SDK set-up the functions use (`adapters::sdk`): what the SDK still costs them.
    ServiceSetup,
    /// hello + the template engine and the built-in templates (`hello-templates`): what the engine adds.
    Templates,
}

#[derive(Clone, Debug)]
pub struct Subject {
    pub name: String,
    pub kind: Kind,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Set on top of the inherited environment and the Lambda variables.
    pub env: Vec<(String, String)>,
}

impl Subject {
    fn new(name: impl Into<String>, kind: Kind, program: PathBuf) -> Self {
        Self {
            name: name.into(),
            kind,
            program,
            args: vec![],
            env: vec![],
        }
    }

    /// The command line, as the report shows it (values a shell would split or expand in single quotes).
    pub fn command(&self) -> String {
        let quoted = |v: &str| {
            if v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b))
            {
                v.to_string()
            } else {
                format!("'{}'", v.replace('\'', r"'\''"))
            }
        };
        self.env
            .iter()
            .map(|(k, v)| format!("{k}={}", quoted(v)))
            .chain(std::iter::once(self.program.display().to_string()))
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone, Debug)]
pub struct ColdStart {
    pub subject: Subject,
    /// Milliseconds from spawn to the first poll.
    pub samples: Samples,
    /// The process's CPU time (user + system, milliseconds) to that poll: what it computed, without the
    /// waits for a core or a page that make the wall clock of a shared machine noisy.
    pub cpu: Samples,
    /// Major page faults to that poll (pages read from disk: a binary the kernel has evicted from memory).
    pub major_faults: Samples,
    /// Minor page faults to that poll (pages mapped from memory: the binary's code and data it touched, the
    /// pages the dynamic loader's relocations wrote, stacks and heap): on a virtual machine where a fault is
    /// dear, a larger binary's cold start grows with them.
    pub minor_faults: Samples,
    pub error: Option<String>,
}

/// A poll the stand-in received: when its request line was in, the line, and the connection (kept open
/// until the process is gone, so that the process never sees an answer or an error).
struct Poll {
    at: Instant,
    line: String,
    _stream: TcpStream,
}

struct StandIn {
    port: u16,
    polls: Receiver<Poll>,
}

fn start_stand_in() -> Result<StandIn, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("Runtime API stand-in: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, polls) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut buf = Vec::with_capacity(256);
            let mut byte = [0u8; 512];
            // Read until the request line is complete; its arrival is the moment measured.
            while !buf.windows(2).any(|w| w == b"\r\n") {
                match stream.read(&mut byte) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&byte[..n]),
                }
            }
            let at = Instant::now();
            let text = String::from_utf8_lossy(&buf);
            let line = text.lines().next().unwrap_or("").to_string();
            if tx
                .send(Poll {
                    at,
                    line,
                    _stream: stream,
                })
                .is_err()
            {
                return;
            }
        }
    });
    Ok(StandIn { port, polls })
}

/// The front door's key pairs when the environment gives none: the local stack's (`local/env.sh`).
const LOCAL_ACCESS_KEYS: &str = r#"[{"AccessKeyId":"local-alice","AccessKeySecret":"local-alice-secret","Caller":"alice"},{"AccessKeyId":"local-bob","AccessKeySecret":"local-bob-secret","Caller":"bob"}]"#;

/// The binaries and the Python baseline, in the order of the report.
pub fn subjects(opts: &Options, functions: &[String]) -> Vec<Subject> {
    let mut out: Vec<Subject> = functions
        .iter()
        .map(|f| {
            let mut subject = Subject::new(f.clone(), Kind::Function, opts.bin_dir.join(f));
            // The front door reads its key pairs at start (deployed, from Secrets Manager); without them it
            // would start refusing everything, or, with a bad document, not start at all.
            if f == "front-door" {
                let keys = std::env::var("ACCESS_KEYS")
                    .ok()
                    .filter(|k| !k.trim().is_empty())
                    .unwrap_or_else(|| LOCAL_ACCESS_KEYS.to_string());
                subject.env.push(("ACCESS_KEYS".into(), keys));
            }
            subject
        })
        .collect();
    out.push(Subject::new(
        "hello (lambda_runtime)",
        Kind::Hello,
        opts.bin_dir.join("hello"),
    ));
    out.push(Subject::new(
        "hello + AWS SDK defaults",
        Kind::HelloSdk,
        opts.bin_dir.join("hello-sdk"),
    ));
    let mut python = Subject::new("Python 3 + boto3", Kind::Python, PathBuf::from("python3"));
    python.args = vec!["bench/python_baseline.py".into()];
    out.push(python);
    // Diagnostics. hello + SDK defaults with no root certificates to load (an empty certificate folder and a
    // certificate file that does not exist; rustls-native-certs reads SSL_CERT_FILE and SSL_CERT_DIR).
    let none = std::env::temp_dir().join("bench-no-root-certificates");
    let _ = std::fs::create_dir_all(&none);
    let mut no_certs = Subject::new(
        "hello + AWS SDK defaults, no root certificates",
        Kind::NoCerts,
        opts.bin_dir.join("hello-sdk"),
    );
    no_certs.env = vec![
        (
            "SSL_CERT_FILE".to_string(),
            none.join("none.pem").display().to_string(),
        ),
        ("SSL_CERT_DIR".to_string(), none.display().to_string()),
    ];
    out.push(no_certs);
    // hello + the functions' own SDK set-up.
    let mut service = Subject::new(
        "hello + the functions' SDK set-up",
        Kind::ServiceSetup,
        opts.bin_dir.join("hello-sdk"),
    );
    service.args = vec!["--service-setup".into()];
    out.push(service);
    out.push(Subject::new(
        "hello + template engine",
        Kind::Templates,
        opts.bin_dir.join("hello-templates"),
    ));
    out
}

/// Kills a started function and returns the last lines of its standard error.
pub(super) fn stop(child: &mut Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    stderr_tail(child)
}

/// The last lines of a stopped child's standard error.
fn stderr_tail(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let tail: Vec<&str> = err.lines().rev().take(5).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// `Ok` while the started function runs and `limit` has not passed since `t0`; otherwise it is stopped and
/// the error says which, with the end of its standard error.
pub(super) fn still_running(
    child: &mut Child,
    t0: Instant,
    limit: Duration,
    waiting_for: &str,
) -> Result<(), String> {
    if let Ok(Some(status)) = child.try_wait() {
        let stderr = stop(child);
        return Err(format!(
            "exited ({status}) before {waiting_for}; stderr: {stderr}"
        ));
    }
    if t0.elapsed() > limit {
        let stderr = stop(child);
        return Err(format!(
            "{waiting_for} did not come within {}s; stderr: {stderr}",
            limit.as_secs()
        ));
    }
    Ok(())
}

/// What the kernel counted for one start.
#[derive(Clone, Copy, Debug)]
struct Usage {
    /// User + system milliseconds.
    cpu_ms: f64,
    major_faults: f64,
    minor_faults: f64,
}

/// Kills a started function that has polled and reaps it: its CPU time in milliseconds (user + system,
/// from `wait4`; it used none after its poll, blocked on the answer), and the end of its standard error.
fn stop_with_cpu(child: &mut Child) -> (Option<Usage>, String) {
    let _ = child.kill();
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the pid is our own child, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid;
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    let counted = reaped.then(|| Usage {
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        major_faults: usage.ru_majflt as f64,
        minor_faults: usage.ru_minflt as f64,
    });
    (counted, stderr_tail(child))
}

/// One start: spawn, wait for the first poll, kill. Milliseconds of wall clock and of CPU.
fn one_start(stand_in: &StandIn, subject: &Subject) -> Result<(f64, Option<Usage>), String> {
    while stand_in.polls.try_recv().is_ok() {}
    let t0 = Instant::now();
    let mut child = Command::new(&subject.program)
        .args(&subject.args)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("127.0.0.1:{}", stand_in.port),
        )
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            subject
                .program
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("function"),
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        // Lambda sets both; botocore reads only the second.
        .env(
            "AWS_DEFAULT_REGION",
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        )
        .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", subject.program.display()))?;
    loop {
        match stand_in.polls.recv_timeout(Duration::from_millis(20)) {
            Ok(poll) => {
                let ms = poll.at.saturating_duration_since(t0).as_secs_f64() * 1000.0;
                let (cpu, stderr) = stop_with_cpu(&mut child);
                if !poll.line.starts_with(NEXT) {
                    return Err(format!(
                        "its first request was `{}`, not a poll; stderr: {stderr}",
                        poll.line
                    ));
                }
                return Ok((ms, cpu));
            }
            Err(RecvTimeoutError::Timeout) => {
                still_running(&mut child, t0, START_TIMEOUT, "its first poll")?
            }
            Err(RecvTimeoutError::Disconnected) => {
                stop(&mut child);
                return Err("the Runtime API stand-in stopped".into());
            }
        }
    }
}

pub fn measure(opts: &Options, functions: &[String]) -> Result<Vec<ColdStart>, String> {
    let stand_in = start_stand_in()?;
    let subjects = subjects(opts, functions);
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut usages: Vec<Vec<Usage>> = vec![Vec::new(); subjects.len()];
    let mut errors: Vec<Option<String>> = vec![None; subjects.len()];
    for round in 0..opts.warmup_starts + opts.starts {
        for (i, subject) in subjects.iter().enumerate() {
            if errors[i].is_some() {
                continue;
            }
            match one_start(&stand_in, subject) {
                Ok((ms, c)) if round >= opts.warmup_starts => {
                    samples[i].push(ms);
                    usages[i].extend(c);
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("    {}: {e}", subject.name);
                    errors[i] = Some(e);
                }
            }
        }
    }
    Ok(subjects
        .into_iter()
        .zip(samples)
        .zip(usages)
        .zip(errors)
        .map(|(((subject, s), u), error)| {
            let of = |f: fn(&Usage) -> f64| Samples::new(u.iter().map(f).collect());
            ColdStart {
                subject,
                samples: Samples::new(s),
                cpu: of(|u| u.cpu_ms),
                major_faults: of(|u| u.major_faults),
                minor_faults: of(|u| u.minor_faults),
                error,
            }
        })
        .collect())
}
