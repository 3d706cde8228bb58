//! What can fail below the workflows: the store, the mailer, the text sender, the random source.

/// A failure of the store or the mailer. Logged in full, answered as `InternalError` or `NetworkIOError`.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("store: {0}")]
    Store(String),
    /// The store's client failed: its error is kept as the cause, and [`Chain`] writes all of it.
    #[error("store: {0}")]
    StoreFailed(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("mail: {0}")]
    Mail(String),
    /// SES refused the address itself (its account-level suppression list): sending again will not help.
    #[error("undeliverable: {0}")]
    Undeliverable(String),
    /// The provider (SES, End User Messaging) throttled the send; it may pass if tried again later.
    #[error("throttled: {0}")]
    Throttled(String),
    /// The provider may have taken the message (the call timed out, or failed after it was sent): it counts
    /// as sent (spent, and what it carries works), and it is not sent again.
    #[error("uncertain: {0}")]
    Uncertain(String),
    #[error("random source: {0}")]
    Random(#[from] crate::model::RandomSourceFailed),
}

/// A setting that is missing or malformed: the function does not start.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

/// An error and every cause under it, `a: b: c`, for the one log line where the error is answered.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        // The first cause of a variant that shows it (`store: {0}`) is already written.
        if let Some(c) = cause {
            if self.0.to_string().ends_with(&c.to_string()) {
                cause = c.source();
            }
        }
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[test]
    fn a_store_failure_keeps_its_cause_and_the_chain_writes_it_once() {
        let e = BackendError::StoreFailed(Box::new(Outer(Inner)));
        assert_eq!(e.to_string(), "store: outer");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(Chain(&e).to_string(), "store: outer: inner");
        assert_eq!(
            Chain(&BackendError::Store("x".into())).to_string(),
            "store: x"
        );
    }
}
