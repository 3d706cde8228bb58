//! Why the front door refused a request, in each vendor's own codes and envelope. A refused request
//! reaches no action: it changes nothing and sends nothing. Its words are in [`crate::messages`], its
//! envelope in [`crate::render`].

use crate::phrases::Phrase;

/// Whose signature scheme a request used, and so whose envelope its refusal comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    Alibaba,
    Tencent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No signature of any scheme.
    NotSigned,
    /// A part the scheme requires (a header or parameter) is absent.
    Missing(&'static str),
    /// `Authorization` (or a signature parameter) does not have the scheme's form.
    Malformed(Phrase),
    /// The request time cannot be read.
    BadTimestamp,
    UnknownKey,
    DisabledKey,
    /// The request time is further from the server's clock than the vendor allows.
    Expired {
        max_minutes: i64,
    },
    BadSignature,
    /// The nonce (Alibaba) or the signature (Tencent) was already used within its window.
    Replayed,
    UnknownAction(String),
    /// The key pair may not call this action (its `Actions` list).
    ActionNotAllowed(String),
    /// The key pairs or the replay record could not be read or written.
    Unavailable,
}

impl Refusal {
    /// Alibaba Cloud's code and HTTP status.
    pub fn alibaba(&self) -> (&'static str, u16) {
        match self {
            Self::NotSigned | Self::Missing(_) => ("MissingParameter", 400),
            Self::Malformed(_) => ("IncompleteSignature", 400),
            Self::BadTimestamp => ("InvalidTimeStamp.Format", 400),
            Self::UnknownKey => ("InvalidAccessKeyId.NotFound", 404),
            Self::DisabledKey => ("InvalidAccessKeyId.Inactive", 400),
            Self::Expired { .. } => ("InvalidTimeStamp.Expired", 400),
            Self::BadSignature => ("SignatureDoesNotMatch", 400),
            Self::Replayed => ("SignatureNonceUsed", 400),
            Self::UnknownAction(_) => ("InvalidAction.NotFound", 404),
            Self::ActionNotAllowed(_) => ("Forbidden.RAM", 403),
            Self::Unavailable => ("ServiceUnavailable", 503),
        }
    }

    /// Tencent Cloud's code (always HTTP 200).
    pub fn tencent(&self) -> &'static str {
        match self {
            Self::NotSigned | Self::Missing(_) | Self::Malformed(_) | Self::BadTimestamp => {
                "AuthFailure.InvalidAuthorization"
            }
            Self::UnknownKey | Self::DisabledKey => "AuthFailure.SecretIdNotFound",
            Self::Expired { .. } => "AuthFailure.SignatureExpire",
            Self::BadSignature | Self::Replayed => "AuthFailure.SignatureFailure",
            Self::UnknownAction(_) => "InvalidAction",
            Self::ActionNotAllowed(_) => "UnauthorizedOperation",
            Self::Unavailable => "InternalError",
        }
    }
}
