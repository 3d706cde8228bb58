//! The AWS adapters: the only code besides the Lambda edge that names an AWS SDK.
//!
//! - [`sdk`]: the SDK's configuration (timeouts, the compiled-in Amazon roots), clients made when first used;
//! - [`dynamo`]: the store port on DynamoDB (records, tokens, codes, pages, counts), and its migration;
//! - [`ses`]: the mailer port on SES v2, and [`ses_events`]: SES's events read into the domain's;
//! - [`sms`]: the text-sender port on AWS End User Messaging SMS (or the local outbox);
//! - [`secrets`]: the codes' key, from Secrets Manager (or the local environment), and [`keys`]: the front
//!   door's key pairs;
//! - [`env`]: the service's settings from a function's environment;
//! - [`events`]: the table's committed changes as events, to the bus and the webhook queue, and
//!   [`webhooks`]: the queue's messages signed and posted.

pub mod cli;
pub mod clock;
pub mod dynamo;
pub mod env;
pub mod events;
pub mod keys;
pub mod sdk;
pub mod secrets;
pub mod ses;
pub mod ses_events;
pub mod sms;
pub mod webhooks;
