//! Text messages: AWS End User Messaging SMS in a deployed stack; in the local stack, an outbox file
//! (JSON lines) that tests and people read. Chosen over SNS because End User Messaging is where AWS now
//! provisions SMS origination identities (phone numbers, sender IDs, pools: SNS sends through them too),
//! and `SendTextMessage` names the identity per message (`SMS_ORIGINATION_IDENTITY`) and marks codes as
//! transactional. Each message carries the per-message price cap `SMS_MAX_PRICE` (template parameter
//! `SmsMaxPricePerMessage`); where texts may go and how many a caller may send a day are in `shared::spend`.

use std::io::Write;
use std::path::PathBuf;

use aws_sdk_pinpointsmsvoicev2::types::MessageType;

use crate::sdk::LazyClient;
use shared::code::PhoneNumber;
use shared::error::BackendError;

#[derive(Clone, Debug)]
pub enum SmsSender {
    /// `SendTextMessage`, from the origination identity if one is configured.
    EndUserMessaging {
        client: LazyClient<aws_sdk_pinpointsmsvoicev2::Client>,
        origination_identity: Option<String>,
        /// The most one message may cost, in US dollars (`SMS_MAX_PRICE`): End User Messaging refuses to send
        /// a dearer one, and the code send fails with nothing spent.
        max_price: Option<String>,
    },
    /// Local stack only: each message is one JSON line `{"to", "body", "at"}` appended to this file.
    Outbox(PathBuf),
    /// A function whose action sends no text: no client, and none of its code in the binary.
    None,
}

impl SmsSender {
    /// `SMS_OUTBOX` (local) or End User Messaging with `SMS_ORIGINATION_IDENTITY`.
    pub fn from_env(aws: &aws_config::SdkConfig) -> Self {
        match std::env::var("SMS_OUTBOX") {
            Ok(path) if !path.is_empty() => Self::Outbox(PathBuf::from(path)),
            _ => Self::EndUserMessaging {
                client: {
                    let aws = aws.clone();
                    LazyClient::new(move || aws_sdk_pinpointsmsvoicev2::Client::new(&aws))
                },
                origination_identity: std::env::var("SMS_ORIGINATION_IDENTITY")
                    .ok()
                    .filter(|v| !v.is_empty()),
                max_price: std::env::var("SMS_MAX_PRICE")
                    .ok()
                    .filter(|v| !v.is_empty()),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send_text(&self, to: &PhoneNumber, body: &str) -> Result<(), BackendError> {
        match self {
            Self::EndUserMessaging {
                client,
                origination_identity,
                max_price,
            } => {
                client
                    .send_text_message()
                    .destination_phone_number(to.as_str())
                    .message_body(body)
                    .message_type(MessageType::Transactional)
                    .set_origination_identity(origination_identity.clone())
                    .set_max_price(max_price.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        let throttled = crate::sdk::is_throttling(
                            aws_sdk_pinpointsmsvoicev2::error::ProvideErrorMetadata::code(&e),
                        );
                        let text = aws_sdk_pinpointsmsvoicev2::error::DisplayErrorContext(e)
                            .to_string()
                            .replace(to.as_str(), &to.masked());
                        if throttled {
                            BackendError::Throttled(text)
                        } else {
                            BackendError::Mail(text)
                        }
                    })?;
                Ok(())
            }
            Self::None => Err(BackendError::Mail(
                "this function is not built to send text messages".into(),
            )),
            Self::Outbox(path) => {
                let line = serde_json::json!({"to": to.as_str(), "body": body, "at": chrono::Utc::now().timestamp_millis()});
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        BackendError::Mail(format!("SMS outbox {}: {e}", path.display()))
                    })?;
                // One write of one line: appends from concurrent processes do not interleave.
                file.write_all(format!("{line}\n").as_bytes())
                    .map_err(|e| BackendError::Mail(format!("SMS outbox: {e}")))
            }
        }
    }
}

impl shared::text::TextSender for SmsSender {
    fn send<'a>(&'a self, to: &'a PhoneNumber, body: &'a str) -> shared::text::Sending<'a> {
        Box::pin(self.send_text(to, body))
    }
}

/// An [`SmsSender`] where an [`shared::app::App`] takes one.
impl From<SmsSender> for shared::text::Texts {
    fn from(sender: SmsSender) -> Self {
        std::sync::Arc::new(sender)
    }
}
