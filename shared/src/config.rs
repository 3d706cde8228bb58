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
    /// The most mails (links, resends, codes) one caller may send per UTC day (`MAIL_PER_DAY_PER_CALLER`,
    /// the contract's `MailPerDay`); `None`: no cap.
    pub mail_per_day: Option<u32>,
    /// What the front door records for a Tencent-signed read (`TENCENT_READ_REPLAY`).
    pub tencent_reads: TencentReads,
    /// How long evidence entries are kept (`EVIDENCE_RETENTION_DAYS`, the template's
    /// `EvidenceRetentionDays`).
    pub evidence_retention: crate::evidence::Retention,
}

pub use crate::https::link_base;

/// TC3 (and Tencent's v1) sign whole seconds and not the action, so two identical reads within a second
/// carry one signature. Both settings let such reads repeat; they differ in what a read's signature can
/// still do afterwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TencentReads {
    /// The default: a read records its signature as read-only (one write, as before). Reads may repeat
    /// it; a write with it is refused, so a captured read cannot be resent as `DeleteIntlPhoneEmail`
    /// with the same body (`X-TC-Action` is not signed).
    #[default]
    Guard,
    /// A read records nothing (one write fewer per read). A captured read's signature can then serve
    /// once as a write of the same parameters within its five minutes.
    Skip,
}

impl TencentReads {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim() {
            "" | "guard" => Ok(Self::Guard),
            "skip" => Ok(Self::Skip),
            other => Err(ConfigError::new(format!(
                "TENCENT_READ_REPLAY is guard or skip, not {other:?}"
            ))),
        }
    }
}
