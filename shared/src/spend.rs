//! What text messages may cost: the countries the stack sends to, the texts one caller may send a day, and
//! the most one message may cost. Mail has no such limits: SES's own sending quota and the per-address
//! quota bound it, and a mail costs a thousandth of a text.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::error::ConfigError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsPolicy {
    /// ISO 3166 country codes a text may go to; `None`: every country (`*`, the local stack).
    pub allowed_countries: Option<BTreeSet<String>>,
    /// Texts one caller may send per UTC day; `None`: no cap.
    pub daily_cap_per_caller: Option<u32>,
}

/// The template's default `SmsAllowedCountries`: where a new stack's operator most likely has customers,
/// and none of the destinations that SMS-pumping fraud favours.
pub const DEFAULT_ALLOWED_COUNTRIES: &str = "US,CA,GB";
pub const DEFAULT_DAILY_CAP: u32 = 100;

impl Default for SmsPolicy {
    fn default() -> Self {
        Self::parse(DEFAULT_ALLOWED_COUNTRIES, DEFAULT_DAILY_CAP).unwrap_or(Self {
            allowed_countries: None,
            daily_cap_per_caller: None,
        })
    }
}

impl SmsPolicy {
    /// `countries`: `*`, or ISO codes separated by commas; `cap`: 0 for none.
    pub fn parse(countries: &str, cap: u32) -> Result<Self, ConfigError> {
        let countries = countries.trim();
        let allowed_countries = if countries == "*" {
            None
        } else {
            let set: BTreeSet<String> = countries
                .split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect();
            if set
                .iter()
                .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                return Err(ConfigError::new(format!("SMS_ALLOWED_COUNTRIES: expected * or ISO country codes like US,GB, not {countries:?}")));
            }
            Some(set)
        };
        Ok(Self {
            allowed_countries,
            daily_cap_per_caller: (cap > 0).then_some(cap),
        })
    }

    pub fn allows(&self, country: Option<&str>) -> bool {
        match (&self.allowed_countries, country) {
            (None, _) => true,
            (Some(set), Some(c)) => set.contains(c),
            (Some(_), None) => false,
        }
    }
}

/// The UTC day a text or a mail counts against: `YYYY-MM-DD`.
pub fn sms_day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// What a caller's day counts: its text messages (`SMS_DAILY_LIMIT_PER_CALLER`), or its mails of every
/// kind (`MAIL_PER_DAY_PER_CALLER`, the contract's `MailPerDay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Daily {
    Texts,
    Mails,
}

/// The template's default `MailPerDayPerCaller`: one tenant, or one leaked key, cannot spend the account's
/// SES quota (50,000 a day once out of the sandbox, typically) and reputation for everyone.
pub const DEFAULT_MAIL_PER_DAY: u32 = 10_000;

/// Counts of a caller's day above this many are spread over several items (each a DynamoDB partition
/// key, which takes at most 1,000 writes a second): a caller mailing 5,000 addresses a second (issue 10)
/// writes each of 8 items about 625 times a second.
pub const PER_DAY_SHARD: u32 = 1_250;
pub const MAX_DAY_SHARDS: u32 = 8;

/// How one caller's count of a day is kept: `cap` split over `shards` items, shard `i` holding at most
/// [`DayCount::cap_of`]`(i)`, so that the shards together never pass `cap`, however many sends race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayCount {
    pub cap: u32,
    pub shards: u32,
}

impl DayCount {
    pub fn new(cap: u32) -> Self {
        Self {
            cap,
            shards: cap.div_ceil(PER_DAY_SHARD).clamp(1, MAX_DAY_SHARDS),
        }
    }

    /// The most shard `shard` holds: the cap split evenly, the remainder to the first shards.
    pub fn cap_of(&self, shard: u32) -> u32 {
        self.cap / self.shards + u32::from(shard < self.cap % self.shards)
    }

    /// The shards in the order one send tries them: from `start` (chosen at random), each once.
    pub fn order(&self, start: u32) -> impl Iterator<Item = u32> + '_ {
        (0..self.shards).map(move |i| (start + i) % self.shards)
    }
}

/// Seconds until the next UTC day begins (at least 1): how long a caller over its day waits.
pub fn seconds_to_next_day(now: DateTime<Utc>) -> i64 {
    let next = (now.date_naive() + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN);
    (next.and_utc() - now).num_seconds().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_split_into_shards_that_add_up_to_its_cap() {
        for cap in [1, 5, 100, 1_250, 1_251, 10_000, 10_001, 1_000_000] {
            let count = DayCount::new(cap);
            let total: u32 = (0..count.shards).map(|s| count.cap_of(s)).sum();
            assert_eq!(total, cap, "{cap}");
            assert!(count.shards >= 1 && count.shards <= MAX_DAY_SHARDS);
            let mut seen: Vec<u32> = count.order(cap % count.shards).collect();
            seen.sort();
            assert_eq!(seen, (0..count.shards).collect::<Vec<_>>());
        }
        assert_eq!(DayCount::new(5).shards, 1);
        assert_eq!(DayCount::new(10_000).shards, 8);
    }

    #[test]
    fn countries_and_caps_parse_as_documented() {
        let p = SmsPolicy::parse(" us, GB ", 5).unwrap();
        assert!(p.allows(Some("US")) && p.allows(Some("GB")));
        assert!(!p.allows(Some("CN")) && !p.allows(None));
        assert_eq!(p.daily_cap_per_caller, Some(5));
        let all = SmsPolicy::parse("*", 0).unwrap();
        assert!(all.allows(Some("NG")) && all.allows(None));
        assert_eq!(all.daily_cap_per_caller, None);
        assert!(SmsPolicy::parse("USA", 1).is_err());
        assert_eq!(
            SmsPolicy::default()
                .allowed_countries
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["CA", "GB", "US"]
        );
    }
}
