//! What the code actions share: the codes' key, the log-then-answer of a backend failure, the retry bound.

use crate::error::ApiError;
use shared::app::App;
use shared::code::CodeSecret;
use shared::error::BackendError;

/// The codes' key; a function deployed without one answers `InternalError`.
pub(super) fn secret<S, M>(app: &App<S, M>) -> Result<&CodeSecret, ApiError> {
    app.code_secret.as_ref().ok_or_else(|| {
        tracing::error!("no code secret configured (CODE_SECRET_ARN or CODE_HMAC_SECRET)");
        ApiError::Internal
    })
}

pub(super) fn internal(e: BackendError) -> ApiError {
    tracing::error!(error = %e, "backend failed");
    ApiError::Internal
}

/// A write that keeps losing races is given up after this many reads.
pub(super) const MAX_ATTEMPTS: usize = 8;
