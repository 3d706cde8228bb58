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

/// The UTC day a text counts against: `YYYY-MM-DD`.
pub fn sms_day(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
