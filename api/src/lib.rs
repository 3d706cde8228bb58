//! The vendors' API over the domain: their wire and the ten actions. No AWS SDK and no Lambda here (the
//! edge carries requests in and answers out).
//!
//! - [`params`]: request parameters (query string, form or JSON body) and their typed readers;
//! - [`render`]: answers as JSON or XML, in Alibaba's or Tencent's envelope;
//! - [`messages`]: every message of the API in English and Chinese;
//! - [`error`]: the codes that fail a request or one address of it, and [`outcomes`]: the domain's
//!   outcomes mapped to them, in one place;
//! - [`signing`]: the three signature schemes (ACS3, RPC, TC3) and [`refusal`]: why a request is refused;
//! - [`action`] and [`actions`]: the actions (six by link, four by code) and the one table of them;
//! - [`routes`]: which HTTP requests reach an action's function.

pub mod action;
pub mod actions;
pub mod error;
pub mod messages;
pub mod outcomes;
pub mod params;
pub mod phrases;
pub mod refusal;
pub mod render;
pub mod routes;
pub mod signing;
