//! The service's settings: what the workflows are configured with. Where they come from (the environment of
//! a function) is the adapters' business (`adapters::env`).

use chrono::Duration;

pub use crate::error::ConfigError;
use crate::quota::QuotaPolicy;

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
