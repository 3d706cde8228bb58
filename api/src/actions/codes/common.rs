//! What the code actions share: the codes' key.

use crate::error::ApiError;
use shared::app::App;
use shared::code::CodeSecret;

/// The codes' key; a function deployed without one answers `InternalError`.
pub(super) fn secret<S, M>(app: &App<S, M>) -> Result<&CodeSecret, ApiError> {
    app.code_secret.as_ref().ok_or_else(|| {
        tracing::error!("no code secret configured (CODE_SECRET_ARN or CODE_HMAC_SECRET)");
        ApiError::Internal
    })
}
