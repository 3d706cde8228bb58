//! The one place where the domain's outcomes become the vendors' codes and messages. A backend failure is
//! logged here, once, and answered `InternalError`.

use shared::error::BackendError;
use shared::workflows::code::{CheckRefusal, CodeError, CodeRefusal};
use shared::workflows::link::{LinkOutcome, LinkRefusal, SendMode, VerifyError};

use crate::error::{ApiError, CodeProblem, ItemCode};
use crate::messages::Msg;

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        tracing::error!(error = %shared::error::Chain(&e), "backend failed");
        ApiError::Internal
    }
}

/// Which list of a Submit or Resend answer an address goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Success,
    Exist,
    Fail,
}

/// One address's outcome of a Submit or Resend, as the vendor words it.
pub fn link_item(outcome: &LinkOutcome, mode: SendMode) -> (List, ItemCode, Msg) {
    let submit = matches!(mode, SendMode::Submit { .. });
    match outcome {
        LinkOutcome::Sent => (List::Success, ItemCode::Success, Msg::Success),
        LinkOutcome::AlreadyVerified if submit => {
            (List::Exist, ItemCode::EmailVerified, Msg::EmailVerified)
        }
        LinkOutcome::AlreadyVerified => (List::Fail, ItemCode::EmailVerified, Msg::EmailVerified),
        LinkOutcome::Pending => (
            List::Exist,
            ItemCode::EmailVerificationExist,
            Msg::EmailVerificationExist,
        ),
        LinkOutcome::NoRecord => (
            List::Fail,
            ItemCode::EmailVerificationNotExist,
            Msg::EmailVerificationNotExist,
        ),
        LinkOutcome::Undeliverable => (
            List::Fail,
            ItemCode::EmailUndeliverable,
            Msg::EmailUndeliverable,
        ),
        LinkOutcome::MailSuspended => (List::Fail, ItemCode::MailSuspended, Msg::MailSuspended),
        LinkOutcome::QuotaExceeded {
            retry_after_seconds,
        } => (
            List::Fail,
            ItemCode::SendTokenQuotaExceeded,
            Msg::QuotaExceeded {
                retry_after_seconds: *retry_after_seconds,
            },
        ),
        LinkOutcome::NotHandedOver => (List::Fail, ItemCode::NetworkIOError, Msg::NetworkIo),
        LinkOutcome::Failed => (List::Fail, ItemCode::InternalError, Msg::Internal),
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Refused(LinkRefusal::Invalid) => ApiError::TokenInvalid,
            VerifyError::Refused(LinkRefusal::Expired) => ApiError::TokenExpired,
            VerifyError::Backend(e) => e.into(),
        }
    }
}

impl From<CodeRefusal> for ApiError {
    fn from(r: CodeRefusal) -> Self {
        match r {
            CodeRefusal::CountryNotAllowed => ApiError::SmsCountryNotAllowed,
            CodeRefusal::ContactVerified => ApiError::ContactVerified,
            CodeRefusal::Undeliverable => ApiError::EmailUndeliverable,
            CodeRefusal::MailSuspended => ApiError::MailSuspended,
            CodeRefusal::Limited {
                retry_after_seconds,
            } => ApiError::CodeSendLimited {
                retry_after_seconds,
            },
            CodeRefusal::DailyLimit => ApiError::SmsDailyLimit,
            CodeRefusal::NotHandedOver => ApiError::CodeSendFailed,
        }
    }
}

impl From<CheckRefusal> for ApiError {
    fn from(r: CheckRefusal) -> Self {
        match r {
            CheckRefusal::Missing => ApiError::CodeUnusable(CodeProblem::Missing),
            CheckRefusal::Expired => ApiError::CodeUnusable(CodeProblem::Expired),
            CheckRefusal::Locked => ApiError::CodeUnusable(CodeProblem::Locked),
            CheckRefusal::Wrong { tries_left } => ApiError::CodeWrong { tries_left },
        }
    }
}

impl<R: Into<ApiError>> From<CodeError<R>> for ApiError {
    fn from(e: CodeError<R>) -> Self {
        match e {
            CodeError::Refused(r) => r.into(),
            CodeError::Backend(e) => e.into(),
        }
    }
}
