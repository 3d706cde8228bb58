//! The text-message port: how a workflow hands a text to whatever sends it (AWS End User Messaging, the
//! local outbox, a test's fake). Texts are few and dear, so one dynamic call per text costs nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::code::PhoneNumber;
use crate::error::BackendError;

/// The future of one text handed over.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), BackendError>> + Send + 'a>>;

pub trait TextSender: Send + Sync + 'static {
    /// Hands `body` over for `to`. `Err(BackendError::Throttled)` when the provider asks to slow down.
    fn send<'a>(&'a self, to: &'a PhoneNumber, body: &'a str) -> Sending<'a>;
}

/// The text sender an [`crate::app::App`] holds.
pub type Texts = Arc<dyn TextSender>;

/// A function whose action sends no text: every send fails, and no client is built.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTexts;

impl TextSender for NoTexts {
    fn send<'a>(&'a self, _: &'a PhoneNumber, _: &'a str) -> Sending<'a> {
        Box::pin(async {
            Err(BackendError::Mail(
                "this function is not built to send text messages".into(),
            ))
        })
    }
}
