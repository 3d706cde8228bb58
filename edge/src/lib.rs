//! The Lambda edge: the only code that names `lambda_*`. An API Gateway event comes in, is read once into
//! the parts the actions take (request id, caller, origin, parameters), and the action's answer goes out.
//!
//! - [`lambda`]: the entry point of each per-action function (its whole `main` is one call);
//! - [`front_door`]: the signed front door at `/` that the vendors' own SDKs call (ACS3, RPC, TC3);
//! - [`sanitize`]: no request makes `lambda_http`'s conversion panic;
//! - [`ses_events`]: the SES events consumer;
//! - [`events`] and [`webhooks`]: the table's changes as events, and their webhooks posted;
//! - [`telemetry`]: JSON log lines with the RequestId, nothing secret in clear.

pub mod events;
pub mod front_door;
pub mod lambda;
pub mod sanitize;
pub mod ses_events;
pub mod sweep;
pub mod telemetry;
pub mod webhooks;
