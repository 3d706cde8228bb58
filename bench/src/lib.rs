//! What `make bench` and the request-budget test (`tests/tests/request_budget.rs`) share: a counter of the
//! requests the AWS SDK clients send, the application built with counted clients, stand-ins for the
//! store and the mailer (a fixed delay per call, or none at all), and front-door requests signed as the
//! vendors' SDKs sign them.

pub mod count;
pub mod fakes;
pub mod signed;
