//! What can fail below the workflows: the store, the mailer, the text sender, the random source.

/// A failure of the store or the mailer. Logged in full, answered as `InternalError` or `NetworkIOError`.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("store: {0}")]
    Store(String),
    #[error("mail: {0}")]
    Mail(String),
    /// SES refused the address itself (its account-level suppression list): sending again will not help.
    #[error("undeliverable: {0}")]
    Undeliverable(String),
    /// The provider (SES, End User Messaging) throttled the send; it may pass if tried again later.
    #[error("throttled: {0}")]
    Throttled(String),
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
