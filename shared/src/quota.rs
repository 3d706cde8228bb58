//! The send quota: per caller and address, a minimum interval between two sends and a maximum number of
//! sends in a sliding 24-hour window. The state is a short list of send times; the store writes it back
//! under a version check, so concurrent requests cannot both spend the last unit.

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaPolicy {
    pub min_interval: Duration,
    pub max_per_window: usize,
    pub window: Duration,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        Self {
            min_interval: Duration::seconds(60),
            max_per_window: 5,
            window: Duration::hours(24),
        }
    }
}

/// The sends of one caller to one address within the window, oldest first, and the version it was read at
/// (0: never written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaState {
    pub sends: Vec<DateTime<Utc>>,
    pub version: u64,
}

/// A refused send, and when the next one will be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub retry_after_seconds: i64,
}

impl QuotaState {
    /// Records a send at `now` if the policy allows it, and returns the state to write back.
    pub fn spend(
        &self,
        now: DateTime<Utc>,
        policy: &QuotaPolicy,
    ) -> Result<QuotaState, QuotaExceeded> {
        let mut sends: Vec<DateTime<Utc>> = self
            .sends
            .iter()
            .copied()
            .filter(|t| *t > now - policy.window)
            .collect();
        sends.sort();
        let mut allowed_at = now;
        if let Some(last) = sends.last() {
            allowed_at = allowed_at.max(*last + policy.min_interval);
        }
        if sends.len() >= policy.max_per_window {
            // The oldest send that must leave the window before one more fits.
            let oldest = sends[sends.len() - policy.max_per_window];
            allowed_at = allowed_at.max(oldest + policy.window);
        }
        if allowed_at > now {
            let wait = allowed_at - now;
            // Round up: "retry in 0 s" would invite an immediate retry that fails again.
            let secs = wait.num_seconds() + i64::from(wait.subsec_nanos() > 0);
            return Err(QuotaExceeded {
                retry_after_seconds: secs.max(1),
            });
        }
        sends.push(now);
        Ok(QuotaState {
            sends,
            version: self.version + 1,
        })
    }

    /// When this state stops mattering: the last send has left the window (the store's TTL).
    pub fn expires_at(&self, policy: &QuotaPolicy) -> Option<DateTime<Utc>> {
        self.sends.last().map(|t| *t + policy.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn sends_must_be_a_minute_apart() {
        let p = QuotaPolicy::default();
        let s = QuotaState::default().spend(t(0), &p).unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(
            s.spend(t(59), &p),
            Err(QuotaExceeded {
                retry_after_seconds: 1
            })
        );
        assert_eq!(
            s.spend(t(10), &p),
            Err(QuotaExceeded {
                retry_after_seconds: 50
            })
        );
        assert!(s.spend(t(60), &p).is_ok());
    }

    #[test]
    fn at_most_five_a_day_in_a_sliding_window() {
        let p = QuotaPolicy::default();
        let mut s = QuotaState::default();
        for i in 0..5 {
            s = s.spend(t(i * 3600), &p).unwrap();
        }
        // The sixth waits until the first leaves the window: 24 h after t(0).
        let err = s.spend(t(5 * 3600), &p).unwrap_err();
        assert_eq!(err.retry_after_seconds, 19 * 3600);
        let s = s.spend(t(24 * 3600), &p).unwrap();
        assert_eq!(s.sends.len(), 5, "the send that left the window is dropped");
        assert_eq!(s.expires_at(&p), Some(t(48 * 3600)));
    }

    #[test]
    fn policy_values_are_honoured() {
        let p = QuotaPolicy {
            min_interval: Duration::zero(),
            max_per_window: 2,
            window: Duration::hours(1),
        };
        let s = QuotaState::default()
            .spend(t(0), &p)
            .unwrap()
            .spend(t(0), &p)
            .unwrap();
        assert_eq!(s.spend(t(1), &p).unwrap_err().retry_after_seconds, 3599);
    }
}
