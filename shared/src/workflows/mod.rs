//! The workflows: what the service does, in domain terms, with the ports of [`crate::app::App`]. They take
//! parsed values and answer domain outcomes; the vendors' wire (`api`) parses the parameters before and
//! renders the outcomes after.
//!
//! - [`protocol`]: the one send protocol (reserve, hand over, commit or undo) for links and codes;
//! - [`link`]: sending a link, and following one;
//! - [`code`]: sending a code, and checking one;
//! - [`day`]: a caller's day of texts or mails, counted per send and given back on undo;
//! - [`sweep`]: the deadline sweep: reminders and missed deadlines;
//! - [`evidence`]: the evidence log as a caller reads it;
//! - delivery events are recorded by [`crate::delivery::record`].

pub mod code;
pub mod day;
pub mod evidence;
pub mod link;
pub mod protocol;
pub mod sweep;

use crate::model::Lang;

/// What a workflow needs of the request that started it.
#[derive(Clone, Debug)]
pub struct Context {
    /// The language of the mail or text.
    pub lang: Lang,
    /// The address the request came from (`UserClientIp`, or the connection's).
    pub client_ip: String,
    /// Where mail links point: `<link_base>/verify-email?Token=...`.
    pub link_base: String,
    /// Until when messages may be handed over (the request's time budget).
    pub deadline: tokio::time::Instant,
    /// The domain names the contact covers (`Domains`), when the request gave them: they replace the
    /// record's; `None` keeps them.
    pub domains: Option<Vec<crate::model::DomainName>>,
    /// The request's `User-Agent`, for the evidence log.
    pub user_agent: Option<String>,
}

impl Context {
    /// Where the request came from, as evidence keeps it.
    pub fn source(&self) -> crate::evidence::Source {
        crate::evidence::Source::new(&self.client_ip, self.user_agent.as_deref())
    }
}
