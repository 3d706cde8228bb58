//! The service's settings from a function's environment (the template sets it; local/env.sh sets it for the
//! local stack). A missing or malformed variable stops the cold start with its name.

use chrono::Duration;

use shared::config::{Config, ConfigError, CODE_LIFETIME_MINUTES, LINK_LIFETIME_HOURS};
use shared::quota::QuotaPolicy;
use shared::spend::{SmsPolicy, DEFAULT_ALLOWED_COUNTRIES, DEFAULT_DAILY_CAP};

/// Settings read from the environment.
pub trait FromEnv: Sized {
    fn from_env() -> Result<Self, ConfigError>;
}

impl FromEnv for Config {
    fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| ConfigError::new(format!("{name} is not set")))
        };
        let num = |name: &str, default: i64| -> Result<i64, ConfigError> {
            match std::env::var(name) {
                Err(_) => Ok(default),
                Ok(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::new(format!("{name} is not a number: {v:?}"))),
            }
        };
        let defaults = QuotaPolicy::default();
        Ok(Self {
            table_name: var("TABLE_NAME")?,
            sender: var("SENDER_ADDRESS")?,
            public_base_url: shared::config::link_base(
                &std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
            )?,
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
            caller_rate: shared::rate::CallerRate::new(
                num("CALLER_RATE_LIMIT", 20)?.max(1) as f64,
                num("CALLER_BURST_LIMIT", 40)?.max(1) as f64,
            )
            // Across instances: requests per second per caller, counted in the table; 0 turns it off.
            .shared(
                match num("CALLER_RATE_SHARED", num("CALLER_RATE_LIMIT", 20)?)? {
                    0 => None,
                    n => Some(n.clamp(1, i64::from(u32::MAX)) as u32),
                },
            ),
            send_pacer: shared::pace::SendPacer::new(match std::env::var("MAX_SEND_RATE") {
                Err(_) => shared::pace::DEFAULT_MAX_SEND_RATE,
                Ok(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        ConfigError::new(format!("MAX_SEND_RATE is not a positive number: {v:?}"))
                    })?,
            }),
            send_budget: std::time::Duration::from_secs(
                num("SEND_TIME_BUDGET_SECONDS", 20)?.clamp(1, 900) as u64,
            ),
            local_caller_header: std::env::var("LOCAL_CALLER_HEADER").is_ok_and(|v| v == "1"),
            sms: SmsPolicy::from_env()?,
            mail_per_day: match num(
                "MAIL_PER_DAY_PER_CALLER",
                i64::from(shared::spend::DEFAULT_MAIL_PER_DAY),
            )? {
                n if n <= 0 => None,
                n => Some(n.min(i64::from(u32::MAX)) as u32),
            },
            tencent_reads: shared::config::TencentReads::parse(
                &std::env::var("TENCENT_READ_REPLAY").unwrap_or_default(),
            )?,
            evidence_retention: {
                let days = num(
                    "EVIDENCE_RETENTION_DAYS",
                    i64::from(shared::evidence::DEFAULT_RETENTION_DAYS),
                )?;
                u32::try_from(days)
                    .ok()
                    .and_then(shared::evidence::Retention::days)
                    .ok_or_else(|| {
                        ConfigError::new(format!(
                            "EVIDENCE_RETENTION_DAYS is a whole number from 1 to {}, not {days}",
                            shared::evidence::MAX_RETENTION_DAYS
                        ))
                    })?
            },
        })
    }
}

impl FromEnv for shared::callers::StopPolicy {
    /// `CALLER_STOP_BOUNCE_PERCENT`, `CALLER_STOP_COMPLAINT_PERCENT` (0: never) and `CALLER_STOP_MIN_MAILS`,
    /// or the defaults (`shared::callers::DEFAULT_STOP_POLICY`).
    fn from_env() -> Result<Self, ConfigError> {
        use shared::callers::{percent_to_bp, DEFAULT_STOP_POLICY as D};
        let bp = |name: &str, default: u32| match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => percent_to_bp(name, &v),
            _ => Ok(default),
        };
        Ok(Self {
            bounce_bp: bp("CALLER_STOP_BOUNCE_PERCENT", D.bounce_bp)?,
            complaint_bp: bp("CALLER_STOP_COMPLAINT_PERCENT", D.complaint_bp)?,
            min_mails: match std::env::var("CALLER_STOP_MIN_MAILS") {
                Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                    ConfigError::new(format!("CALLER_STOP_MIN_MAILS is not a number: {v:?}"))
                })?,
                _ => D.min_mails,
            },
        })
    }
}

impl FromEnv for SmsPolicy {
    /// `SMS_ALLOWED_COUNTRIES` and `SMS_DAILY_LIMIT_PER_CALLER`, or the defaults.
    fn from_env() -> Result<Self, ConfigError> {
        let countries = std::env::var("SMS_ALLOWED_COUNTRIES")
            .unwrap_or_else(|_| DEFAULT_ALLOWED_COUNTRIES.into());
        let cap = match std::env::var("SMS_DAILY_LIMIT_PER_CALLER") {
            Err(_) => DEFAULT_DAILY_CAP,
            Ok(v) => v.trim().parse().map_err(|_| {
                ConfigError::new(format!("SMS_DAILY_LIMIT_PER_CALLER is not a number: {v:?}"))
            })?,
        };
        Self::parse(&countries, cap)
    }
}
