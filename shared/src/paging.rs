//! Pages of a newest-first listing. A listing is ordered by creation time, then by a key that is unique
//! per caller (the address; for contacts `<type>#<contact>`), both descending. A page starts at an offset
//! (`PageNum`/`PageSize`, `Offset`/`Limit`: the vendors' way, whose cost grows with the depth) or right
//! after a [`Cursor`] handed out with the previous page (`NextToken`, this service's extension: constant
//! cost per page however deep).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The position of one item in a newest-first listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Creation time, epoch milliseconds.
    #[serde(rename = "t")]
    pub created_ms: i64,
    /// The item's key, unique within the caller's listing.
    #[serde(rename = "k")]
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many items of the listing.
    Offset(u64),
    /// Start with the item that follows this one.
    After(Cursor),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub start: PageStart,
    /// At most this many items (at least 1).
    pub size: u32,
}

impl PageQuery {
    pub fn offset(offset: u64, size: u32) -> Self {
        Self {
            start: PageStart::Offset(offset),
            size: size.max(1),
        }
    }
    pub fn after(cursor: Cursor, size: u32) -> Self {
        Self {
            start: PageStart::After(cursor),
            size: size.max(1),
        }
    }
}

impl From<&Cursor> for Cursor {
    fn from(c: &Cursor) -> Self {
        c.clone()
    }
}

impl From<&crate::model::VerificationRecord> for Cursor {
    fn from(r: &crate::model::VerificationRecord) -> Self {
        Self {
            created_ms: r.created.timestamp_millis(),
            key: r.email.as_str().to_string(),
        }
    }
}

impl From<&crate::code::ContactRecord> for Cursor {
    fn from(c: &crate::code::ContactRecord) -> Self {
        Self {
            created_ms: c.created.timestamp_millis(),
            key: c.contact.key(),
        }
    }
}

/// One page, with the exact number of items of the whole (filtered) listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    pub fn empty(total: u64) -> Self {
        Self {
            items: Vec::new(),
            total,
            next: None,
        }
    }
}

/// Takes one page out of a whole listing, already filtered and sorted newest first (the memory store and
/// the single-key look-ups use it; the DynamoDB store reads only what the page needs).
pub fn page_of<T>(sorted_newest_first: Vec<T>, query: &PageQuery) -> Page<T>
where
    for<'a> Cursor: From<&'a T>,
{
    let cursor_of = |t: &T| Cursor::from(t);
    let total = sorted_newest_first.len() as u64;
    let size = query.size as usize;
    let rest: Vec<T> = match &query.start {
        PageStart::Offset(n) => sorted_newest_first
            .into_iter()
            .skip(usize::try_from(*n).unwrap_or(usize::MAX))
            .collect(),
        PageStart::After(c) => sorted_newest_first
            .into_iter()
            .filter(|t| &cursor_of(t) < c)
            .collect(),
    };
    let more = rest.len() > size;
    let items: Vec<T> = rest.into_iter().take(size).collect();
    let next = if more {
        items.last().map(&cursor_of)
    } else {
        None
    };
    Page { items, total, next }
}

/// What a `NextToken` carries: the cursor, and the page number it leads to (for `CurrentPageNum`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextToken {
    #[serde(rename = "p")]
    pub page: u64,
    #[serde(flatten)]
    pub cursor: Cursor,
}

/// Longest token accepted (a cursor holds one address or contact, at most 254 characters).
pub const MAX_TOKEN_LEN: usize = 1024;

impl NextToken {
    /// Opaque to callers: base64url of a small JSON object.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// `None` for anything that is not a token this service handed out (the caller gets an error naming
    /// `NextToken`). A token only narrows a listing of the caller's own items, so a forged one can never
    /// show another caller's.
    pub fn decode(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        let t: NextToken = serde_json::from_slice(&bytes).ok()?;
        (t.page >= 2
            && t.cursor.created_ms >= 0
            && !t.cursor.key.is_empty()
            && t.cursor.key.len() <= 512)
            .then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(t: i64, k: &str) -> Cursor {
        Cursor {
            created_ms: t,
            key: k.into(),
        }
    }

    #[test]
    fn a_token_reads_back_as_itself_and_garbage_is_refused() {
        let t = NextToken {
            page: 3,
            cursor: c(1_700_000_000_123, "a@example.com"),
        };
        assert_eq!(NextToken::decode(&t.encode()), Some(t));
        for bad in ["", "x", "eyJwIjoxfQ", &"A".repeat(2000), "e30"] {
            assert_eq!(NextToken::decode(bad), None, "{bad}");
        }
        let page_one = NextToken {
            page: 1,
            cursor: c(1, "a"),
        };
        assert_eq!(NextToken::decode(&page_one.encode()), None);
    }

    #[test]
    fn pages_by_offset_and_by_cursor_walk_the_same_items() {
        let items: Vec<Cursor> = (0..7).rev().map(|i| c(i / 2, &format!("k{i}"))).collect();
        let mut walked = Vec::new();
        let mut q = PageQuery::offset(0, 3);
        loop {
            let page = page_of(items.clone(), &q);
            assert_eq!(page.total, 7);
            walked.extend(page.items.clone());
            match page.next {
                Some(next) => q = PageQuery::after(next, 3),
                None => break,
            }
        }
        assert_eq!(walked, items);
        let third = page_of(items.clone(), &PageQuery::offset(6, 3));
        assert_eq!((third.items, third.next), (vec![items[6].clone()], None));
        assert!(page_of(items.clone(), &PageQuery::offset(u64::MAX, 3))
            .items
            .is_empty());
    }
}
