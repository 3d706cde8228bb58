//! Outcome codes: the ones an address gets inside a list, and the ones that fail a whole request.

use crate::messages::{Msg, ParamProblem};
use crate::phrases::Phrase;

/// The `Code` of one address in SuccessList, FailList or ExistList.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemCode {
    Success,
    ParameterIllegal,
    SendTokenQuotaExceeded,
    EmailVerificationExist,
    EmailVerified,
    EmailVerificationNotExist,
    NetworkIOError,
    InternalError,
    /// A hard bounce or a complaint (or SES's suppression list) made the address undeliverable.
    EmailUndeliverable,
    /// The caller's mail is stopped by the bounce circuit breaker.
    MailSuspended,
}

impl ItemCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::ParameterIllegal => "ParameterIllegal",
            Self::SendTokenQuotaExceeded => "SendTokenQuotaExceeded",
            Self::EmailVerificationExist => "EmailVerificationExist",
            Self::EmailVerified => "EmailVerified",
            Self::EmailVerificationNotExist => "EmailVerificationNotExist",
            Self::NetworkIOError => "NetworkIOError",
            Self::InternalError => "InternalError",
            Self::EmailUndeliverable => "EmailUndeliverable",
            Self::MailSuspended => "MailSuspended",
        }
    }
}

/// An error that fails the whole request. Nothing was written when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("ParameterIllegal: {0:?}")]
    ParameterIllegal(ParamProblem),
    #[error("Forbidden")]
    Forbidden,
    #[error("EmailVerificationNotExist")]
    EmailVerificationNotExist,
    #[error("TokenInvalid")]
    TokenInvalid,
    #[error("TokenExpired")]
    TokenExpired,
    #[error("InternalError")]
    Internal,
    // The verification codes' outcomes (Tencent-style actions).
    #[error("code send limited")]
    CodeSendLimited { retry_after_seconds: i64 },
    #[error("wrong code")]
    CodeWrong { tries_left: u32 },
    #[error("code unusable: {0:?}")]
    CodeUnusable(CodeProblem),
    #[error("contact already verified")]
    ContactVerified,
    #[error("contact not found")]
    ContactNotFound,
    #[error("code could not be sent")]
    CodeSendFailed,
    /// The caller is over its request rate.
    #[error("throttled")]
    Throttled { retry_after_seconds: i64 },
    /// A code by mail to an address that hard-bounced or complained.
    #[error("email undeliverable")]
    EmailUndeliverable,
    /// A code by mail from a caller whose mail the bounce circuit breaker stopped.
    #[error("mail suspended")]
    MailSuspended,
    /// A text message to a country the stack does not send to (`SmsAllowedCountries`).
    #[error("SMS country not allowed")]
    SmsCountryNotAllowed,
    /// The caller sent its text messages of the day (`SmsDailyLimitPerCaller`).
    #[error("SMS daily limit")]
    SmsDailyLimit,
    /// The body is over [`MAX_BODY_BYTES`]: refused before it is parsed.
    #[error("body too large")]
    BodyTooLarge,
}

/// Why a code cannot be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeProblem {
    Expired,
    /// None was sent, or it was used.
    Missing,
    /// Too many wrong tries.
    Locked,
}

/// The largest request body read (64 KiB): a larger one is refused before it is parsed. The largest
/// legitimate body (100 addresses of 254 characters, as JSON) is under 27 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

impl ApiError {
    /// The code in the Alibaba-style answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ParameterIllegal(_) => "ParameterIllegal",
            Self::Forbidden => "Forbidden",
            Self::EmailVerificationNotExist => "EmailVerificationNotExist",
            Self::TokenInvalid => "TokenInvalid",
            Self::TokenExpired => "TokenExpired",
            Self::Internal => "InternalError",
            Self::Throttled { .. } => "Throttling",
            Self::BodyTooLarge => "RequestEntityTooLarge",
            other => other.tencent_code(),
        }
    }

    /// The code in the Tencent-style answers (`Response.Error.Code`).
    pub fn tencent_code(&self) -> &'static str {
        match self {
            Self::ParameterIllegal(ParamProblem::Missing(_)) => "MissingParameter",
            Self::ParameterIllegal(_) => "InvalidParameterValue.InvalidParameterFormat",
            Self::Forbidden => "AuthFailure",
            Self::CodeSendLimited { .. } => "FailedOperation.SendVerifyCodeIsLimited",
            Self::CodeWrong { .. } => "InternalError.VerifyCodeErr",
            Self::CodeUnusable(_) => "InternalError.CheckVerifyCodeErr",
            Self::ContactVerified => "InternalError.VerifiedPhoneEmailErr",
            Self::ContactNotFound => "ResourceNotFound.PhoneEmailNotExist",
            Self::CodeSendFailed => "InternalError.SendVerifyCodeErr",
            Self::Throttled { .. } => "RequestLimitExceeded",
            Self::EmailUndeliverable => "FailedOperation.EmailUndeliverable",
            Self::MailSuspended => "FailedOperation.MailSuspended",
            Self::SmsCountryNotAllowed => "UnsupportedOperation",
            Self::SmsDailyLimit => "LimitExceeded",
            Self::BodyTooLarge => "RequestSizeLimitExceeded",
            Self::EmailVerificationNotExist
            | Self::TokenInvalid
            | Self::TokenExpired
            | Self::Internal => "InternalError",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::ParameterIllegal(_) | Self::TokenInvalid | Self::TokenExpired => 400,
            Self::Forbidden | Self::MailSuspended => 403,
            Self::EmailVerificationNotExist | Self::ContactNotFound => 404,
            Self::CodeSendLimited { .. } | Self::Throttled { .. } | Self::SmsDailyLimit => 429,
            Self::EmailUndeliverable | Self::SmsCountryNotAllowed => 400,
            Self::CodeWrong { .. } | Self::CodeUnusable(_) | Self::ContactVerified => 400,
            Self::Internal | Self::CodeSendFailed => 500,
            Self::BodyTooLarge => 413,
        }
    }

    pub fn msg(&self) -> Msg {
        match self {
            Self::ParameterIllegal(p) => Msg::Param(p.clone()),
            Self::Forbidden => Msg::Forbidden,
            Self::EmailVerificationNotExist => Msg::EmailVerificationNotExist,
            Self::TokenInvalid => Msg::TokenInvalid,
            Self::TokenExpired => Msg::TokenExpired,
            Self::Internal => Msg::Internal,
            Self::CodeSendLimited {
                retry_after_seconds,
            } => Msg::CodeSendLimited {
                retry_after_seconds: *retry_after_seconds,
            },
            Self::CodeWrong { tries_left } => Msg::CodeWrong {
                tries_left: *tries_left,
            },
            Self::CodeUnusable(CodeProblem::Expired) => Msg::CodeExpired,
            Self::CodeUnusable(CodeProblem::Missing) => Msg::CodeMissing,
            Self::CodeUnusable(CodeProblem::Locked) => Msg::CodeLocked,
            Self::ContactVerified => Msg::ContactVerified,
            Self::ContactNotFound => Msg::ContactNotFound,
            Self::CodeSendFailed => Msg::CodeSendFailed,
            Self::Throttled {
                retry_after_seconds,
            } => Msg::Throttled {
                retry_after_seconds: *retry_after_seconds,
            },
            Self::EmailUndeliverable => Msg::EmailUndeliverable,
            Self::MailSuspended => Msg::MailSuspended,
            Self::SmsCountryNotAllowed => Msg::SmsCountryNotAllowed,
            Self::SmsDailyLimit => Msg::SmsDailyLimit,
            Self::BodyTooLarge => Msg::BodyTooLarge {
                max_kib: MAX_BODY_BYTES / 1024,
            },
        }
    }

    pub fn missing(name: &'static str) -> Self {
        Self::ParameterIllegal(ParamProblem::Missing(name))
    }

    pub fn invalid(name: &'static str, expected: impl Into<Phrase>) -> Self {
        Self::ParameterIllegal(ParamProblem::Invalid {
            name,
            expected: expected.into(),
        })
    }
}
