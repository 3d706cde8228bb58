//! The crate every function is built from. One module per idea:
//!
//! - [`model`]: domain types that cannot hold an invalid address, token, caller or status;
//! - [`params`]: request parameters (query string, form or JSON body) and their typed readers;
//! - [`quota`]: the send quota (interval and daily cap);
//! - [`pace`]: sending at a bounded rate, and again after throttling;
//! - [`rate`]: the per-caller request rate;
//! - [`code`]: verification codes: contacts (E.164 phone or address), six-digit codes, their keyed hash;
//! - [`sms`]: text messages (End User Messaging SMS, or the local outbox);
//! - [`store`]: storage behind a trait, DynamoDB and in-memory;
//! - [`mail`]: the verification mail (text + HTML, en/zh) and SES v2 behind a trait;
//! - [`i18n`]: every message in English and Chinese;
//! - [`error`]: outcome and error codes;
//! - [`render`]: answers as JSON or XML;
//! - [`app`] and [`actions`]: the actions (six by link, four by code), free of Lambda;
//! - [`routes`]: the HTTP routes of each action, which its function enforces;
//! - [`lambda`]: the entry point every function's `main` calls;
//! - [`front_door`]: the signed front door at `/` that the vendors' own SDKs call (ACS3, RPC, TC3);
//! - [`telemetry`]: JSON log lines with the RequestId, nothing secret in clear.

pub mod actions;
pub mod app;
pub mod aws;
pub mod code;
pub mod delivery;
pub mod error;
pub mod front_door;
pub mod i18n;
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod pace;
pub mod paging;
pub mod params;
pub mod quota;
pub mod rate;
pub mod render;
pub mod routes;
pub mod sms;
pub mod spend;
pub mod store;
pub mod telemetry;
