//! The Tencent-style actions: a six-digit code by SMS or mail, and the caller's list of contacts it
//! verified.

mod common;
mod create;
mod delete;
mod describe;
mod send;

pub use create::CreateIntlPhoneEmail;
pub use delete::DeleteIntlPhoneEmail;
pub use describe::DescribeIntlPhoneEmailList;
pub use send::SendIntlPhoneEmailCode;
