//! Reading the evidence log (`crate::evidence`): what a caller's DescribeVerificationEvidence shows.

use chrono::{DateTime, Duration, Utc};

use crate::error::BackendError;
use crate::evidence::{in_order, Entry, Retention, Subject};
use crate::model::CallerId;
use crate::store::Store;

/// A subject's log as its caller reads it: what the retention keeps at `now`, oldest first.
pub async fn log<S: Store>(
    store: &S,
    caller: &CallerId,
    subject: &Subject,
    now: DateTime<Utc>,
    retention: Retention,
) -> Result<Vec<Entry>, BackendError> {
    let from = now - retention.duration();
    // A day past now: entries a moved local clock wrote ahead of it are shown too.
    let entries = store
        .evidence(caller, subject, from, now + Duration::days(1))
        .await?;
    Ok(in_order(
        entries
            .into_iter()
            .filter(|e| retention.keeps(e.at, now))
            .collect(),
    ))
}
