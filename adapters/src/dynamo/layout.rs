//! How one caller's index entries and counts are spread over partition keys, so that no key of the table
//! or of its index takes more than DynamoDB's 1,000 write units a second at the target import rate.
//!
//! - Index entries: `gsi1pk` = `LIST#<caller>#<i>` (records) or `CONTACTS#<caller>#<i>` (contacts), with
//!   `i` in `0..index_shards`: each new record or contact writes one index entry (1 WCU).
//! - Counts: `COUNT#<caller>#<j>`, with `j` in `0..count_shards` = twice the index shards, because a count
//!   moves inside a transaction, and a transactional write costs 2 WCU.
//!
//! At 5,000 new addresses a second and the default 8 index shards: ~625 index writes a second per index
//! key and ~625 WCU a second per count key on average, at most ~700 in any second of a simulated import
//! (tests/tests/write_rate.rs computes it from the keys the code writes). With 6 shards the busiest second
//! came to 950: too close to the limit for an import that is never perfectly even.
//! Both shard numbers come from a hash of the item's key (SHA-256, stable across versions and machines).
//!
//! The number of shards is a template parameter (`IndexShards`), but what counts is the number stored in
//! the table (`CONFIG#layout`, written once by the first function that needs it): a changed parameter
//! never moves existing data to keys the readers do not look at.

use sha2::{Digest, Sha256};

/// The template's default `IndexShards`.
pub const DEFAULT_INDEX_SHARDS: u32 = 8;
/// The most index shards: the counts (twice as many) are read in one BatchGetItem of at most 100 keys.
pub const MAX_INDEX_SHARDS: u32 = 48;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    index_shards: u32,
}

impl Layout {
    /// `None` outside `1..=MAX_INDEX_SHARDS`.
    pub fn new(index_shards: u32) -> Option<Self> {
        (1..=MAX_INDEX_SHARDS)
            .contains(&index_shards)
            .then_some(Self { index_shards })
    }

    /// `INDEX_SHARDS` from the environment, or the default (used only when the table holds no layout yet).
    pub fn from_env() -> Self {
        std::env::var("INDEX_SHARDS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .and_then(Self::new)
            .unwrap_or(Self {
                index_shards: DEFAULT_INDEX_SHARDS,
            })
    }

    pub fn index_shards(&self) -> u32 {
        self.index_shards
    }

    pub fn count_shards(&self) -> u32 {
        self.index_shards * 2
    }

    /// The index shard of an item, from its key within the caller (an address, or `<type>#<contact>`).
    pub fn index_shard(&self, key: &str) -> u32 {
        (digest(key)[0] % u64::from(self.index_shards)) as u32
    }

    /// The count shard of an item: from another part of the hash, so that the two spreads are independent.
    pub fn count_shard(&self, key: &str) -> u32 {
        (digest(key)[1] % u64::from(self.count_shards())) as u32
    }
}

fn digest(key: &str) -> [u64; 2] {
    let h = Sha256::digest(key.as_bytes());
    let word = |i: usize| u64::from_be_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
    [word(0), word(8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a@example.com` with 6 shards, from SHA-256 computed elsewhere (Python's hashlib).
    const FIXED_INDEX: u32 = 2;
    const FIXED_COUNT: u32 = 2;

    #[test]
    fn shards_are_stable_and_spread() {
        let layout = Layout::new(6).unwrap();
        // Fixed values: a change of the hash would move existing data away from where readers look.
        assert_eq!(
            (
                layout.index_shard("a@example.com"),
                layout.count_shard("a@example.com")
            ),
            (FIXED_INDEX, FIXED_COUNT)
        );
        let mut index = [0u32; 6];
        let mut count = [0u32; 12];
        for i in 0..60_000 {
            let key = format!("user{i}@example.com");
            index[layout.index_shard(&key) as usize] += 1;
            count[layout.count_shard(&key) as usize] += 1;
        }
        assert!(
            index.iter().all(|&n| (9_500..10_500).contains(&n)),
            "{index:?}"
        );
        assert!(
            count.iter().all(|&n| (4_700..5_300).contains(&n)),
            "{count:?}"
        );
        assert_eq!(Layout::new(0), None);
        assert_eq!(Layout::new(MAX_INDEX_SHARDS + 1), None);
    }
}
