//! A webhook endpoint for the tests and the bench: an HTTP/1.1 listener on 127.0.0.1 (a port of its own) that
//! keeps every request it gets and answers as its test says (a status, after a delay). Its threads stop
//! with the process; each connection is read with a timeout.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// Whether its `webhook-signature` is the Standard Webhooks signature of its id, timestamp and body
    /// with `key`.
    pub fn signed_with(&self, key: &[u8]) -> bool {
        let timestamp: i64 = self.header("webhook-timestamp").parse().unwrap_or(-1);
        let expected =
            shared::events::signature(key, self.header("webhook-id"), timestamp, &self.body);
        self.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    }
}

/// What the endpoint answers to its n-th request (from 0): a status, after a delay.
pub type Behaviour = dyn Fn(usize) -> (u16, Duration) + Send + Sync;

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    /// An endpoint that answers 204 at once.
    pub fn ok() -> Self {
        Self::with(|_| (204, Duration::ZERO))
    }

    pub fn with(behaviour: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        let seen = Arc::clone(&got);
        std::thread::spawn(move || {
            let counter = Arc::new(Mutex::new(0usize));
            for stream in listener.incoming().flatten() {
                let (seen, behaviour, counter) = (
                    Arc::clone(&seen),
                    Arc::clone(&behaviour),
                    Arc::clone(&counter),
                );
                std::thread::spawn(move || {
                    let _ = serve(stream, &seen, behaviour.as_ref(), &counter);
                });
            }
        });
        Self { url, got }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The deliveries whose body's `type` is `kind`.
    pub fn of_type(&self, kind: &str) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.json()["type"] == kind)
            .collect()
    }

    /// Waits up to `within` until `done` holds of the deliveries; them, either way.
    pub fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let start = Instant::now();
        loop {
            let got = self.deliveries();
            if done(&got) || start.elapsed() > within {
                return got;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Delivery>>,
    behaviour: &Behaviour,
    counter: &Mutex<usize>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let n = {
        let mut c = counter.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        *c - 1
    };
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Delivery {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
    let (status, delay) = behaviour(n);
    std::thread::sleep(delay);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )?;
    stream.flush()
}
