//! What the workflows work with: a store, a mailer, a text sender, the codes' key, the configuration and
//! a clock (tests move time).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::code::CodeSecret;
pub use crate::config::Config;
use crate::text::Texts;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// What an action works with: a store, a mailer, the SMS sender, the codes' HMAC key, the
/// configuration and a clock (tests move time).
pub struct App<S, M> {
    pub store: S,
    pub mailer: M,
    pub sms: Texts,
    /// `None` in functions that send no codes.
    pub code_secret: Option<CodeSecret>,
    pub config: Config,
    pub clock: Clock,
}

impl<S, M> App<S, M> {
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}
