//! The codes' HMAC key: the local stack's `CODE_HMAC_SECRET`, or a Secrets Manager secret.

use shared::code::{CodeSecret, WeakSecret};
use shared::config::ConfigError;

/// The local stack's key, `CODE_HMAC_SECRET`, when it is set.
pub fn local_code_secret() -> Option<Result<CodeSecret, ConfigError>> {
    let secret = std::env::var("CODE_HMAC_SECRET").ok()?;
    Some(CodeSecret::new(secret.into_bytes()).map_err(weak_secret))
}

fn weak_secret(_: WeakSecret) -> ConfigError {
    ConfigError::new("the code secret is shorter than 32 bytes")
}

/// The codes' HMAC key: `CODE_HMAC_SECRET` (local stack), or the Secrets Manager secret named by
/// `CODE_SECRET_ARN`, read once at cold start (deployed). `None` when neither is set.
pub async fn load_code_secret(
    aws: &aws_config::SdkConfig,
) -> Result<Option<CodeSecret>, ConfigError> {
    if let Some(local) = local_code_secret() {
        return local.map(Some);
    }
    let Ok(arn) = std::env::var("CODE_SECRET_ARN") else {
        return Ok(None);
    };
    let out = aws_sdk_secretsmanager::Client::new(aws)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            ConfigError::new(format!(
                "reading the code secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
    let secret = out
        .secret_string
        .ok_or_else(|| ConfigError::new("the code secret has no string value"))?;
    CodeSecret::new(secret.into_bytes())
        .map(Some)
        .map_err(weak_secret)
}
