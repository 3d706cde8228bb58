//! The domain: what the service is, with no AWS, no Lambda and no HTTP in it (`cargo tree -p shared -e
//! normal` names none; `make check` holds it). One module per idea:
//!
//! - [`model`]: domain types that cannot hold an invalid address, token, caller or status;
//! - [`code`]: verification codes: contacts (E.164 phone or address), six-digit codes, their keyed hash;
//! - [`quota`], [`pace`], [`rate`], [`spend`]: the limits: the send quota, the send pace, the per-caller
//!   request rate, what texts may cost;
//! - [`config`] and [`app`]: the settings, and what the workflows work with;
//! - the ports: [`store`] (and its in-memory implementation), [`mail`] (the mails and the mailer),
//!   [`text`] (the text sender);
//! - [`words`]: what a person reads, in English and Chinese;
//! - [`paging`]: pages and cursors;
//! - [`delivery`]: what SES said of the mails, recorded;
//! - [`events`]: what a committed change means to a caller (webhooks, EventBridge), and its signature;
//! - [`evidence`]: the evidence log: every message sent and every answer, for a registrar's audit;
//! - [`callers`]: what is kept of a caller as a whole: the bounce circuit breaker that stops its mail;
//! - [`settings`]: a caller's settings document, checked whole;
//! - [`metrics`]: the counters (CloudWatch's embedded metric format, one line on standard output);
//! - [`workflows`]: links and codes sent, followed and checked, through one send protocol;
//! - [`error`]: what fails below the workflows.

pub mod app;
pub mod callers;
pub mod code;
pub mod config;
pub mod delivery;
pub mod error;
pub mod events;
pub mod evidence;
pub mod https;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod pace;
pub mod paging;
pub mod problem;
pub mod quota;
pub mod rate;
pub mod settings;
pub mod spend;
pub mod store;
pub mod templates;
pub mod text;
pub mod words;
pub mod workflows;
