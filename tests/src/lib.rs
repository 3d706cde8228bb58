//! Helpers for tests against the local stack that `make test` starts: the functions under
//! `cargo lambda watch`, DynamoDB Local and the SES v2 emulator. Every test uses callers and addresses of
//! its own, so tests run in parallel without seeing each other.

pub mod template;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use adapters::sms::SmsSender;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use shared::app::{App, Config};
use shared::code::CodeSecret;

/// An environment variable that `make test` (local/env.sh) sets.
pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
}

/// A name no other test uses: `prefix-<uuid>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh address with a `+` tag and capitals, to prove normalisation and the round trip.
pub fn fresh_address() -> String {
    format!(
        "User.{}+Tag@Example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// An HTTP answer: status, content type and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    // The first call to a function may wait for cargo lambda watch to build it.
    ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(600))
        .build()
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    Answer {
        status: response.status(),
        content_type: response.content_type().to_string(),
        body: response.into_string().unwrap_or_default(),
    }
}

/// The URL of a function under `cargo lambda watch`.
pub fn function_url(function: &str) -> String {
    format!("{}/{function}/", env("LAMBDA_URL"))
}

/// POSTs a JSON body to a function as `caller` (the local `X-User-Id` switch).
pub fn post_json(function: &str, caller: &str, body: &Value) -> Answer {
    answer(
        agent()
            .post(&function_url(function))
            .set("X-User-Id", caller)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
    )
}

/// POSTs a JSON body to a function whose URL also carries a query string.
pub fn post_json_with_query(function: &str, caller: &str, query: &str, body: &Value) -> Answer {
    let url = format!("{}?{query}", function_url(function));
    answer(
        agent()
            .post(&url)
            .set("X-User-Id", caller)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
    )
}

/// POSTs a raw body with a content type.
pub fn post_raw(function: &str, caller: &str, content_type: &str, body: &str) -> Answer {
    answer(
        agent()
            .post(&function_url(function))
            .set("X-User-Id", caller)
            .set("Content-Type", content_type)
            .send_string(body),
    )
}

/// GETs a function with a query string.
pub fn get_query(function: &str, caller: &str, query: &str) -> Answer {
    answer(
        agent()
            .get(&format!("{}?{query}", function_url(function)))
            .set("X-User-Id", caller)
            .call(),
    )
}

/// GETs any URL (a link from a mail).
pub fn get_url(url: &str) -> Answer {
    answer(agent().get(url).call())
}

/// A mail the SES emulator kept.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// The From header as SES got it (`"Name" <address>`, or the bare address).
    pub from: String,
    pub reply_to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every mail the SES emulator kept for `address` (compared case-insensitively), oldest first.
pub fn mails_to(address: &str) -> Vec<Mail> {
    let store = answer(agent().get(&format!("{}/store", env("SES_URL"))).call()).json();
    let wanted = address.trim().to_lowercase();
    store["emails"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["destination"]["to"].as_array().is_some_and(|to| {
                to.iter()
                    .any(|t| t.as_str().is_some_and(|t| t.to_lowercase() == wanted))
            })
        })
        .map(|m| Mail {
            to: m["destination"]["to"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
            from: m["from"].as_str().unwrap_or_default().to_string(),
            reply_to: match &m["replyTo"] {
                Value::Array(all) => all
                    .iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect(),
                Value::String(one) => vec![one.clone()],
                _ => Vec::new(),
            },
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            text: m["body"]["text"].as_str().unwrap_or_default().to_string(),
            html: m["body"]["html"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The verification link in a mail's text part.
pub fn link_in(mail: &Mail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.contains("/verify-email?Token="))
        .unwrap_or_else(|| panic!("no link in mail: {}", mail.text))
        .to_string()
}

/// The token of a link.
pub fn token_of(link: &str) -> String {
    let after = link
        .rsplit_once("Token=")
        .map(|(_, t)| t)
        .unwrap_or_default();
    after.split('&').next().unwrap_or_default().to_string()
}

pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
}

/// Every item in the table that belongs to `caller` (records, quota and link tokens), by a full scan; not
/// the caller's count items (see [`counts_of`]), nor its per-second request counts (`RATE#`, which the
/// door writes for every request, refused or not: the shared caller rate).
pub async fn items_of(caller: &str) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = all_items_of(caller).await;
    items.retain(|i| {
        !i["pk"]
            .as_s()
            .is_ok_and(|pk| pk.starts_with("COUNT#") || pk.starts_with("RATE#"))
    });
    items
}

/// Whether `item` is a caller's day count (`MAILDAY#`, `SMSDAY#`) that holds nothing: what a send that
/// failed leaves of the count it took and gave back.
pub fn is_empty_day_count(item: &HashMap<String, AttributeValue>) -> bool {
    let pk = item["pk"].as_s().map(String::as_str).unwrap_or("");
    (pk.starts_with("MAILDAY#") || pk.starts_with("SMSDAY#"))
        && ["mails", "texts"].iter().all(|n| {
            item.get(*n)
                .is_none_or(|v| v.as_n().is_ok_and(|v| v == "0"))
        })
}

/// The caller's counts summed over its count items: (`records`, `verified`, `contacts_1`, `contacts_2`).
pub async fn counts_of(caller: &str) -> [i64; 4] {
    let mut sum = [0; 4];
    for item in all_items_of(caller)
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("COUNT#")))
    {
        for (i, name) in ["records", "verified", "contacts_1", "contacts_2"]
            .iter()
            .enumerate()
        {
            sum[i] += item
                .get(*name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0);
        }
    }
    sum
}

/// The counts as they should be, from the caller's records and contacts themselves.
pub async fn counted_items_of(caller: &str) -> [i64; 4] {
    let mut sum = [0; 4];
    for item in items_of(caller).await {
        let kind = item
            .get("kind")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str);
        let n = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(-1)
        };
        match kind {
            Some("record") => {
                sum[0] += 1;
                sum[1] += i64::from(n("status") == 1);
            }
            Some("contact") if n("type") == 1 => sum[2] += 1,
            Some("contact") => sum[3] += 1,
            _ => {}
        }
    }
    sum
}

async fn all_items_of(caller: &str) -> Vec<HashMap<String, AttributeValue>> {
    let client = dynamo().await;
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(env("TABLE_NAME"))
            .filter_expression("caller = :c OR contains(pk, :c)")
            .expression_attribute_values(":c", AttributeValue::S(caller.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        out.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return out,
        }
    }
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<std::sync::Mutex<DateTime<Utc>>>);

impl Default for TestClock {
    fn default() -> Self {
        Self(Arc::new(std::sync::Mutex::new(Utc::now())))
    }
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
}

/// The application as the functions build it (DynamoDB Local and the SES emulator), but in this process
/// and with a clock the test moves: for the rules that depend on time.
pub async fn local_app(clock: &TestClock) -> App<DynamoStore, SesMailer> {
    let config = Config::from_env().expect("configuration from local/env.sh");
    app_with(config, clock, &aws_config::load_from_env().await)
}

pub fn app_with(
    config: Config,
    clock: &TestClock,
    aws: &aws_config::SdkConfig,
) -> App<DynamoStore, SesMailer> {
    app_with_mailer(
        config,
        clock,
        aws,
        SesMailer::new(aws_sdk_sesv2::Client::new(aws), env("SENDER_ADDRESS")),
    )
}

/// The same with another mailer (an SES client pointed elsewhere).
pub fn app_with_mailer(
    config: Config,
    clock: &TestClock,
    aws: &aws_config::SdkConfig,
    mailer: SesMailer,
) -> App<DynamoStore, SesMailer> {
    let c = clock.clone();
    App {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), &config.table_name),
        mailer,
        sms: SmsSender::from_env(aws).into(),
        code_secret: Some(
            CodeSecret::new(env("CODE_HMAC_SECRET").into_bytes())
                .expect("a long enough local secret"),
        ),
        config,
        clock: Arc::new(move || c.now()),
    }
}

/// Every text message in the local SMS outbox for `phone` (E.164), oldest first.
pub fn texts_to(phone: &str) -> Vec<String> {
    std::fs::read_to_string(env("SMS_OUTBOX"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["to"] == phone)
        .map(|m| m["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The six-digit code in a text or a mail.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_string()
}

/// A fresh, valid mobile number in E.164 (UK mobiles, +447700 900000 to 900999 are reserved for drama;
/// the rest of +447 is valid for the parser), unique enough for one test run.
pub fn fresh_phone() -> String {
    // Every +44790… is a valid mobile; some other +4479… ranges (+447911…) are not.
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000;
    format!("+44790{n:07}")
}

/// The `callers` command (`make callers`) with `args`: its exit code, standard output and standard error.
pub fn callers(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(workspace_bin("callers"))
        .args(args)
        .output()
        .expect("callers runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command of the workspace (`access-keys`, `callers`, `mail-stops`), built beside the test binaries by
/// `make test` (`cargo build --workspace --bins`).
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    // A test binary is in target/<profile>/deps, a binary of this crate (events-bench) in target/<profile>.
    let here = std::env::current_exe().expect("the test binary");
    let dir = here.parent().expect("its directory");
    let profile = if dir.ends_with("deps") {
        dir.parent().expect("target/<profile>")
    } else {
        dir
    };
    let exe = profile.join(name);
    assert!(
        exe.exists(),
        "{} is not built: run `cargo build --workspace --bins` (make test does)",
        exe.display()
    );
    exe
}
