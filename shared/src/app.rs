//! The application, free of Lambda: configuration, the clients it was built with, the clock, and the
//! shape every action shares (a parsed request in, a reply or an error out).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::code::CodeSecret;
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::model::{CallerId, Lang};
use crate::params::Params;
use crate::quota::QuotaPolicy;
use crate::render::{Body, Style};
use crate::sms::SmsSender;
use crate::store::Store;

/// How long a link works after it was sent.
pub const LINK_LIFETIME_HOURS: i64 = 72;
/// How long a six-digit code works after it was sent.
pub const CODE_LIFETIME_MINUTES: i64 = 10;
/// The wrong tries after which a code stops working.
pub const CODE_MAX_TRIES: u32 = 5;

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub sender: String,
    /// Where the mail links point: `<public_base_url>/verify-email?Token=...`. Empty: the API's own
    /// address, taken from each request (`https://<domain name>`).
    pub public_base_url: String,
    pub quota: QuotaPolicy,
    pub link_lifetime: Duration,
    pub code_lifetime: Duration,
    /// How many addresses of one call are served at once.
    pub send_concurrency: usize,
    /// Requests per second (and burst) one caller may make of one function instance
    /// (`CALLER_RATE_LIMIT`, `CALLER_BURST_LIMIT`).
    pub caller_rate: crate::rate::CallerRate,
    /// Mails and text messages handed over per second by one function instance (`MAX_SEND_RATE`).
    pub send_pacer: crate::pace::SendPacer,
    /// How long one request may spend handing its messages over, throttling included (`SEND_TIME_BUDGET_SECONDS`);
    /// what is not handed over by then fails, and is undone.
    pub send_budget: std::time::Duration,
    /// Local stack only: take the caller from `X-User-Id` when no IAM identity came with the request.
    pub local_caller_header: bool,
    /// Where texts may go and how many one caller may send a day.
    pub sms: crate::spend::SmsPolicy,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let var =
            |name: &str| std::env::var(name).map_err(|_| ConfigError(format!("{name} is not set")));
        let num = |name: &str, default: i64| -> Result<i64, ConfigError> {
            match std::env::var(name) {
                Err(_) => Ok(default),
                Ok(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{name} is not a number: {v:?}"))),
            }
        };
        let defaults = QuotaPolicy::default();
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            sender: var("SENDER_ADDRESS")?,
            public_base_url: std::env::var("PUBLIC_BASE_URL")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            quota: QuotaPolicy {
                min_interval: Duration::seconds(num(
                    "QUOTA_MIN_INTERVAL_SECONDS",
                    defaults.min_interval.num_seconds(),
                )?),
                max_per_window: num("QUOTA_MAX_PER_DAY", defaults.max_per_window as i64)?.max(1)
                    as usize,
                window: defaults.window,
            },
            link_lifetime: Duration::hours(LINK_LIFETIME_HOURS),
            code_lifetime: Duration::minutes(CODE_LIFETIME_MINUTES),
            send_concurrency: num("SEND_CONCURRENCY", 32)?.clamp(1, 100) as usize,
            caller_rate: crate::rate::CallerRate::new(
                num("CALLER_RATE_LIMIT", 20)?.max(1) as f64,
                num("CALLER_BURST_LIMIT", 40)?.max(1) as f64,
            ),
            send_pacer: crate::pace::SendPacer::new(match std::env::var("MAX_SEND_RATE") {
                Err(_) => crate::pace::DEFAULT_MAX_SEND_RATE,
                Ok(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        ConfigError(format!("MAX_SEND_RATE is not a positive number: {v:?}"))
                    })?,
            }),
            send_budget: std::time::Duration::from_secs(
                num("SEND_TIME_BUDGET_SECONDS", 20)?.clamp(1, 900) as u64,
            ),
            local_caller_header: std::env::var("LOCAL_CALLER_HEADER").is_ok_and(|v| v == "1"),
            sms: crate::spend::SmsPolicy::from_env()?,
        })
    }
}

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// What an action works with: a store, a mailer, the SMS sender, the codes' HMAC key, the
/// configuration and a clock (tests move time).
pub struct App<S, M> {
    pub store: S,
    pub mailer: M,
    pub sms: SmsSender,
    /// `None` in functions that send no codes.
    pub code_secret: Option<CodeSecret>,
    pub config: Config,
    pub clock: Clock,
}

/// The local stack's key, `CODE_HMAC_SECRET`, when it is set.
pub fn local_code_secret() -> Option<Result<CodeSecret, ConfigError>> {
    let secret = std::env::var("CODE_HMAC_SECRET").ok()?;
    Some(CodeSecret::new(secret.into_bytes()).map_err(weak_secret))
}

fn weak_secret(_: crate::code::WeakSecret) -> ConfigError {
    ConfigError("the code secret is shorter than 32 bytes".into())
}

/// The codes' HMAC key: `CODE_HMAC_SECRET` (local stack), or the Secrets Manager secret named by
/// `CODE_SECRET_ARN`, read once at cold start (deployed). `None` when neither is set.
pub async fn load_code_secret(
    aws: &aws_config::SdkConfig,
) -> Result<Option<CodeSecret>, ConfigError> {
    if let Some(local) = local_code_secret() {
        return local.map(Some);
    }
    let Ok(arn) = std::env::var("CODE_SECRET_ARN") else {
        return Ok(None);
    };
    let out = aws_sdk_secretsmanager::Client::new(aws)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            ConfigError(format!(
                "reading the code secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
    let secret = out
        .secret_string
        .ok_or_else(|| ConfigError("the code secret has no string value".into()))?;
    CodeSecret::new(secret.into_bytes())
        .map(Some)
        .map_err(weak_secret)
}

impl<S, M> App<S, M> {
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// A request as every action sees it, whatever carried it.
#[derive(Clone, Debug)]
pub struct Request {
    pub params: Params,
    pub lang: Lang,
    /// `None` when the request carries no identity (the public link page).
    pub caller: Option<CallerId>,
    /// `UserClientIp` when given, else the connection's source address.
    pub client_ip: String,
    /// The public link page (`GET /verify-email`) rather than the API.
    pub public_link: bool,
    /// Where this request's mail links point (see [`Config::public_base_url`]).
    pub link_base: String,
    /// Until when this request may hand messages over ([`Config::send_budget`] from its start).
    pub deadline: tokio::time::Instant,
}

impl Request {
    /// Builds a request from parameters, reading `Lang` and `UserClientIp` the same way for every action.
    /// On the public link page `UserClientIp` is ignored: whoever holds a link must not choose the
    /// `ConfirmIp` it records.
    pub fn new(
        params: Params,
        caller: Option<CallerId>,
        source_ip: &str,
        public_link: bool,
    ) -> Result<Self, ApiError> {
        let lang = params.lang()?;
        let given_ip = params.get("UserClientIp").filter(|_| !public_link);
        let client_ip = match given_ip {
            // An IP address, written back in its canonical form: nothing else is ever stored.
            Some(ip) => ip
                .parse::<std::net::IpAddr>()
                .map_err(|_| ApiError::invalid("UserClientIp", "an IPv4 or IPv6 address"))?
                .to_string(),
            None => source_ip.to_string(),
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        Ok(Self {
            params,
            lang,
            caller,
            client_ip,
            public_link,
            link_base: String::new(),
            deadline,
        })
    }

    /// The request may hand messages over for `budget` from now.
    pub fn with_send_budget(mut self, budget: std::time::Duration) -> Self {
        self.deadline = tokio::time::Instant::now() + budget;
        self
    }

    pub fn with_link_base(mut self, base: impl Into<String>) -> Self {
        self.link_base = base.into();
        self
    }

    pub fn caller(&self) -> Result<&CallerId, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Forbidden)
    }
}

/// What an action answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// An API answer, rendered as JSON or XML with the request id added.
    Api(Body),
    /// An HTML page (the public link).
    Page { status: u16, html: String },
}

/// One API action: its name and what it does.
pub trait Action: Send + Sync + 'static {
    /// The action's name, as in the vendor's API (`SubmitEmailVerification`).
    const NAME: &'static str;
    /// The envelope its answers and errors come in.
    const STYLE: Style = Style::Alibaba;
    /// What it uses besides the table. A function builds only these, so that its binary holds no client
    /// (and no SDK code) it never calls, and its cold start makes nothing it does not need.
    const SENDS_MAIL: bool = false;
    const SENDS_SMS: bool = false;
    const USES_CODE_SECRET: bool = false;
    /// The DynamoDB API actions its store calls make (`GetItem`, ...; a transaction needs the action of
    /// each of its items). The template grants each function exactly these (tests/tests/deployment.rs).
    const DYNAMODB: &'static [&'static str];
    /// The HTTP routes its function takes (template.yaml's events are generated from them, `make template`);
    /// the function answers any other request 404, as a deployed API does.
    const ROUTES: &'static [crate::routes::Route] = &[crate::routes::Route::POST];

    fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ip(ip: &str) -> Result<Request, ApiError> {
        Request::new(
            Params::from_pairs([("UserClientIp", ip)]),
            None,
            "203.0.113.9",
            false,
        )
    }

    /// Issue 9, defect 5: `UserClientIp` is an IP address or nothing; a 390 KB value once went into 100
    /// records per call and made List answers exceed Lambda's 6 MB.
    #[test]
    fn user_client_ip_is_an_ip_address() {
        assert_eq!(with_ip("198.51.100.7").unwrap().client_ip, "198.51.100.7");
        assert_eq!(with_ip(" 2001:db8::1 ").unwrap().client_ip, "2001:db8::1");
        for bad in [
            "x".repeat(390_000).as_str(),
            "not an ip",
            "198.51.100.7, 10.0.0.1",
            "1.2.3",
            "<script>",
        ] {
            assert_eq!(
                with_ip(bad).err().map(|e| e.code()),
                Some("ParameterIllegal"),
                "{:.40}",
                bad
            );
        }
        assert_eq!(
            Request::new(Params::default(), None, "203.0.113.9", false)
                .unwrap()
                .client_ip,
            "203.0.113.9"
        );
        // The link page ignores it, whatever it holds.
        let page = Request::new(
            Params::from_pairs([("UserClientIp", "junk")]),
            None,
            "203.0.113.9",
            true,
        )
        .unwrap();
        assert_eq!(page.client_ip, "203.0.113.9");
    }
}
