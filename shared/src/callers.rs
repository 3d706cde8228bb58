//! What the service keeps of a caller as a whole (one item per caller, beside its records): whether its mail
//! is stopped by the bounce circuit breaker, and its settings document (the contract's "Caller settings",
//! [`crate::settings`]). A function reads it along with a send's own items and keeps it for at most
//! [`CALLER_CACHE_TTL`], so a change applies within 10 s and costs the send no request of its own.
//!
//! The breaker: SES events carry the caller (`caller` tag), so each caller's day of mail outcomes is counted
//! (mails with an outcome, hard bounces, complaints; [`MailOutcomes`]). When a caller with at least
//! [`StopPolicy::min_mails`] outcomes in the UTC day passes the bounce or the complaint ratio, its mail stops:
//! every later send of its links and codes by mail is refused (`MailSuspended`), spending nothing, until the
//! operator resumes it (`make mail-stops ARGS='resume --caller C'`). Texts are not stopped: SES's reputation
//! is about mail.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::error::ConfigError;
use crate::model::{CallerId, DeliveryKind};

/// Why and since when a caller's mail is stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailStop {
    pub at: DateTime<Utc>,
    /// The ratio that was passed, in words for the operator (no address in it).
    pub reason: String,
}

/// What is kept of one caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerState {
    pub mail_stop: Option<MailStop>,
    /// Its settings document (`make callers`), checked; `None`: the stack's defaults, the vendors' behaviour.
    pub settings: Option<std::sync::Arc<crate::settings::CallerSettings>>,
}

impl CallerState {
    /// The most mails the caller may send in a UTC day: its `MailPerDay`, else the stack's default.
    pub fn mail_per_day(&self, default: Option<u32>) -> Option<u32> {
        self.settings
            .as_ref()
            .and_then(|s| s.mail_per_day)
            .or(default)
    }
}

/// One caller's mail outcomes in one UTC day, as counted from its SES events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailOutcomes {
    /// Mails SES said something final of: delivered, bounced (hard or soft) or rejected.
    pub mails: u64,
    pub bounces: u64,
    pub complaints: u64,
}

impl MailOutcomes {
    /// What one event adds (nothing for a kind that is not counted).
    pub fn of(kind: DeliveryKind) -> Self {
        match kind {
            DeliveryKind::Delivered | DeliveryKind::SoftBounce | DeliveryKind::Rejected => Self {
                mails: 1,
                ..Self::default()
            },
            DeliveryKind::HardBounce => Self {
                mails: 1,
                bounces: 1,
                complaints: 0,
            },
            // A complaint comes after the mail's delivery, which counted the mail.
            DeliveryKind::Complaint => Self {
                complaints: 1,
                ..Self::default()
            },
        }
    }
}

/// When a caller's mail stops (`CALLER_STOP_BOUNCE_PERCENT`, `CALLER_STOP_COMPLAINT_PERCENT`,
/// `CALLER_STOP_MIN_MAILS`). The defaults are SES's own review thresholds (5 % bounces, 0.1 % complaints):
/// one caller alone at those rates would put the whole account under review. The account's alarms fire
/// earlier, at 2 % and 0.05 % (template.yaml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopPolicy {
    /// In hundredths of a percent (basis points): 500 = 5 %. 0: never.
    pub bounce_bp: u32,
    pub complaint_bp: u32,
    /// Fewer outcomes than this in the day: no ratio is judged (a handful of mails says little).
    pub min_mails: u64,
}

pub const DEFAULT_STOP_POLICY: StopPolicy = StopPolicy {
    bounce_bp: 500,
    complaint_bp: 10,
    min_mails: 200,
};

impl Default for StopPolicy {
    fn default() -> Self {
        DEFAULT_STOP_POLICY
    }
}

/// Parses a percentage such as `5`, `0.1` or `0.05` into basis points (at most two decimals).
pub fn percent_to_bp(name: &str, value: &str) -> Result<u32, ConfigError> {
    let bad = || {
        ConfigError::new(format!(
            "{name}: expected a percentage from 0 to 100 with at most two decimals, like 5 or 0.1, not {value:?}"
        ))
    };
    let v = value.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bp = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    if bp > 10_000 {
        return Err(bad());
    }
    Ok(bp)
}

fn percent(bp: u32) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

impl StopPolicy {
    /// The reason to stop a caller whose day came to `day`, if it passed a ratio.
    pub fn breached(&self, day: &MailOutcomes) -> Option<String> {
        if day.mails == 0 || day.mails < self.min_mails {
            return None;
        }
        // ratio >= bp / 10,000, in integers.
        let passed = |count: u64, bp: u32| bp > 0 && count * 10_000 >= u64::from(bp) * day.mails;
        if passed(day.bounces, self.bounce_bp) {
            return Some(format!(
                "{} hard bounces of {} mails today: at or above {}",
                day.bounces,
                day.mails,
                percent(self.bounce_bp)
            ));
        }
        if passed(day.complaints, self.complaint_bp) {
            return Some(format!(
                "{} complaints of {} mails today: at or above {}",
                day.complaints,
                day.mails,
                percent(self.complaint_bp)
            ));
        }
        None
    }
}

/// How long a function may keep what it read of a caller (the contract: a change applies within 10 s).
pub const CALLER_CACHE_TTL: Duration = Duration::from_secs(10);
/// Callers kept at most; a full cache is emptied (callers are few; this bounds a flood of new ones).
const CALLER_CACHE_MAX: usize = 10_000;

/// What a function instance read of its callers, each for at most [`CALLER_CACHE_TTL`].
#[derive(Debug, Default)]
pub struct CallerCache(Mutex<HashMap<CallerId, (Instant, CallerState)>>);

impl CallerCache {
    /// The state read less than the TTL ago, if any.
    pub fn get(&self, caller: &CallerId) -> Option<CallerState> {
        let map = self.0.lock().ok()?;
        let (read, state) = map.get(caller)?;
        (read.elapsed() < CALLER_CACHE_TTL).then(|| state.clone())
    }

    pub fn put(&self, caller: &CallerId, state: CallerState) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CALLER_CACHE_MAX && !map.contains_key(caller) {
                map.clear();
            }
            map.insert(caller.clone(), (Instant::now(), state));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_to_basis_points() {
        assert_eq!(percent_to_bp("X", "5").unwrap(), 500);
        assert_eq!(percent_to_bp("X", "0.1").unwrap(), 10);
        assert_eq!(percent_to_bp("X", "0.05").unwrap(), 5);
        assert_eq!(percent_to_bp("X", "100").unwrap(), 10_000);
        assert_eq!(percent_to_bp("X", "0").unwrap(), 0);
        for bad in ["", "-1", "0.001", "101", "5%", "a", ".5", "1e2"] {
            let e = percent_to_bp("CALLER_STOP_BOUNCE_PERCENT", bad).unwrap_err();
            assert!(e.to_string().contains("CALLER_STOP_BOUNCE_PERCENT"), "{e}");
        }
    }

    #[test]
    fn a_ratio_is_judged_only_from_the_minimum_and_stops_at_the_threshold() {
        let p = DEFAULT_STOP_POLICY;
        let day = |mails, bounces, complaints| MailOutcomes {
            mails,
            bounces,
            complaints,
        };
        assert_eq!(p.breached(&day(199, 199, 0)), None, "below the minimum");
        assert_eq!(p.breached(&day(200, 9, 0)), None, "4.5 %");
        let why = p.breached(&day(200, 10, 0)).expect("5 % stops");
        assert!(
            why.contains("10 hard bounces of 200") && why.contains("5.00 %"),
            "{why}"
        );
        assert_eq!(p.breached(&day(1001, 0, 1)), None, "0.0999 %");
        let why = p.breached(&day(1000, 0, 1)).expect("0.1 % stops");
        assert!(why.contains("complaints"), "{why}");
        let never = StopPolicy {
            bounce_bp: 0,
            complaint_bp: 0,
            min_mails: 0,
        };
        assert_eq!(never.breached(&day(10, 10, 10)), None);
        assert_eq!(never.breached(&day(0, 0, 0)), None);
    }

    #[test]
    fn outcomes_count_a_mail_once_and_a_complaint_apart() {
        let sum = [
            DeliveryKind::Delivered,
            DeliveryKind::HardBounce,
            DeliveryKind::SoftBounce,
            DeliveryKind::Rejected,
            DeliveryKind::Complaint,
        ]
        .into_iter()
        .map(MailOutcomes::of)
        .fold(MailOutcomes::default(), |a, b| MailOutcomes {
            mails: a.mails + b.mails,
            bounces: a.bounces + b.bounces,
            complaints: a.complaints + b.complaints,
        });
        assert_eq!(
            sum,
            MailOutcomes {
                mails: 4,
                bounces: 1,
                complaints: 1
            }
        );
    }

    #[test]
    fn the_cache_keeps_a_state_for_its_ttl_only() {
        let cache = CallerCache::default();
        let alice = CallerId::parse("alice").unwrap();
        assert_eq!(cache.get(&alice), None);
        let stopped = CallerState {
            mail_stop: Some(MailStop {
                at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                reason: "r".into(),
            }),
            settings: None,
        };
        cache.put(&alice, stopped.clone());
        assert_eq!(cache.get(&alice), Some(stopped));
        if let Ok(mut map) = cache.0.lock() {
            for (read, _) in map.values_mut() {
                *read -= CALLER_CACHE_TTL;
            }
        }
        assert_eq!(cache.get(&alice), None, "older than the TTL");
    }
}
