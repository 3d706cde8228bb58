//! A caller's day of texts or mails (`SMS_DAILY_LIMIT_PER_CALLER`, `MailPerDay`): counting one send in
//! a shard of the day's count ([`crate::spend::DayCount`]), and giving it back when the send fails.

use chrono::{DateTime, Utc};

use crate::error::BackendError;
use crate::model::CallerId;
use crate::spend::{sms_day, Daily, DayCount};
use crate::store::CodeStore;

/// Counts one text or mail of `caller` on the UTC day of `now`, within `cap`: the shard it was counted
/// in, or `None` when the day is full. Usually one conditional write; near the cap, one per shard.
pub async fn take_day<S: CodeStore>(
    store: &S,
    caller: &CallerId,
    what: Daily,
    now: DateTime<Utc>,
    cap: u32,
) -> Result<Option<u32>, BackendError> {
    let count = DayCount::new(cap);
    let day = sms_day(now);
    let start = (uuid::Uuid::new_v4().as_u128() % u128::from(count.shards)) as u32;
    for shard in count.order(start) {
        let shard_cap = count.cap_of(shard);
        if shard_cap > 0
            && store
                .spend_day(caller, what, &day, shard, shard_cap, now)
                .await?
        {
            return Ok(Some(shard));
        }
    }
    Ok(None)
}

/// Where [`take_day`] counted one send (its UTC day and shard), kept by a send so that its undo gives
/// that one back.
#[derive(Debug, Default)]
pub struct DayTaken(std::sync::Mutex<Option<(String, u32)>>);

impl DayTaken {
    pub fn set(&self, now: DateTime<Utc>, shard: u32) {
        if let Ok(mut t) = self.0.lock() {
            *t = Some((sms_day(now), shard));
        }
    }

    /// Gives the counted one back (once); nothing when none was counted.
    pub async fn give_back<S: CodeStore>(&self, store: &S, caller: &CallerId, what: Daily) {
        let taken = self.0.lock().ok().and_then(|mut t| t.take());
        if let Some((day, shard)) = taken {
            if let Err(e) = store.refund_day(caller, what, &day, shard).await {
                tracing::warn!(error = %crate::error::Chain(&e), "the day's count of a failed send could not be given back");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_day_takes_exactly_its_cap_across_shards_and_gives_back() {
        let store = crate::store::MemoryStore::new();
        let caller = crate::model::CallerId::parse("alice").unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let cap = 2_600; // three shards: 867, 867, 866
        let mut taken = Vec::new();
        while let Some(shard) = take_day(&store, &caller, Daily::Mails, now, cap)
            .await
            .unwrap()
        {
            taken.push(shard);
            assert!(taken.len() <= cap as usize);
        }
        assert_eq!(taken.len(), cap as usize);
        let day = sms_day(now);
        CodeStore::refund_day(&store, &caller, Daily::Mails, &day, taken[0])
            .await
            .unwrap();
        assert_eq!(
            take_day(&store, &caller, Daily::Mails, now, cap)
                .await
                .unwrap(),
            Some(taken[0])
        );
        assert_eq!(
            take_day(&store, &caller, Daily::Mails, now, cap)
                .await
                .unwrap(),
            None
        );
        let texts = take_day(&store, &caller, Daily::Texts, now, cap)
            .await
            .unwrap();
        assert!(texts.is_some(), "texts are counted apart");
    }
}
