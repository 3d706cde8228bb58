//! The Tencent-style actions: a six-digit code by SMS or mail, and the caller's list of contacts it
//! verified.

mod create;
mod delete;
mod describe;
mod send;

pub use create::CreateIntlPhoneEmail;
pub use delete::DeleteIntlPhoneEmail;
pub use describe::DescribeIntlPhoneEmailList;
pub use send::SendIntlPhoneEmailCode;

use crate::error::ApiError;
use shared::app::App;
use shared::code::CodeSecret;
use shared::error::BackendError;

/// The codes' key; a function deployed without one answers `InternalError`.
fn secret<S, M>(app: &App<S, M>) -> Result<&CodeSecret, ApiError> {
    app.code_secret.as_ref().ok_or_else(|| {
        tracing::error!("no code secret configured (CODE_SECRET_ARN or CODE_HMAC_SECRET)");
        ApiError::Internal
    })
}

fn internal(e: BackendError) -> ApiError {
    tracing::error!(error = %e, "backend failed");
    ApiError::Internal
}

/// A write that keeps losing races is given up after this many reads.
const MAX_ATTEMPTS: usize = 8;
