//! The local clock (the contract's "The local clock"): on the local stack only, every function adds the whole
//! seconds in the file named by `LOCAL_CLOCK_FILE` (`.stack/<LAMBDA_PORT>/clock-offset`, set by
//! `local/env.sh`) to its clock, read at each reading of the clock, so that a test can move time:
//! `echo 432000 > .stack/9000/clock-offset` is five days later. A deployed stack never has the variable
//! (tests/tests/deployment.rs holds the template to that), so it never reads any file.

use chrono::{DateTime, Duration, Utc};

/// The variable that turns the local clock on.
pub const LOCAL_CLOCK_FILE: &str = "LOCAL_CLOCK_FILE";

/// The offset now: the file's whole seconds; 0 when the variable is unset, or the file absent or not a number.
pub fn local_offset() -> Duration {
    let Some(path) = std::env::var_os(LOCAL_CLOCK_FILE) else {
        return Duration::zero();
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .and_then(Duration::try_seconds)
        .unwrap_or_else(Duration::zero)
}

/// The functions' clock: the system's, moved by the local offset when `LOCAL_CLOCK_FILE` is set.
pub fn from_env() -> shared::app::Clock {
    if std::env::var_os(LOCAL_CLOCK_FILE).is_some() {
        std::sync::Arc::new(|| Utc::now() + local_offset())
    } else {
        shared::app::system_clock()
    }
}

/// The time the signers of a request live in: `now` of the service's clock without the local offset.
/// The vendors' SDKs sign with the real time, so the front door checks their window against it.
pub fn real(now: DateTime<Utc>) -> DateTime<Utc> {
    now - local_offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_read_at_each_reading_and_only_with_the_variable() {
        let file = std::env::temp_dir().join(format!("clock-offset-{}", uuid::Uuid::new_v4()));
        // Unset: no file is read, whatever it says.
        std::fs::write(&file, "86400").unwrap();
        assert_eq!(local_offset(), Duration::zero());
        std::env::set_var(LOCAL_CLOCK_FILE, &file);
        let clock = from_env();
        assert_eq!(local_offset(), Duration::days(1));
        assert!(clock() - Utc::now() > Duration::hours(23));
        std::fs::write(&file, "432000\n").unwrap();
        assert!(
            clock() - Utc::now() > Duration::days(4),
            "read again at each reading"
        );
        std::fs::write(&file, "soon").unwrap();
        assert_eq!(local_offset(), Duration::zero());
        std::fs::remove_file(&file).unwrap();
        assert_eq!(local_offset(), Duration::zero(), "absent: 0");
        std::env::remove_var(LOCAL_CLOCK_FILE);
    }
}
