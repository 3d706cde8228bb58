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
            _ => Self::end_user_messaging(
                aws,
                std::env::var("SMS_ORIGINATION_IDENTITY")
                    .ok()
                    .filter(|v| !v.is_empty()),
                std::env::var("SMS_MAX_PRICE")
                    .ok()
                    .filter(|v| !v.is_empty()),
            ),
        }
    }

    /// End User Messaging, with the SDK's retries off: a `SendTextMessage` that timed out may have been
    /// sent, and a retry would send the text twice (then, failing, give its count back). A timeout is an
    /// uncertain send instead ([`BackendError::Uncertain`]): counted as sent, never sent again.
    pub fn end_user_messaging(
        aws: &aws_config::SdkConfig,
        origination_identity: Option<String>,
        max_price: Option<String>,
    ) -> Self {
        let aws = aws.clone();
        Self::EndUserMessaging {
            client: LazyClient::new(move || {
                let config = aws_sdk_pinpointsmsvoicev2::config::Builder::from(&aws)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_pinpointsmsvoicev2::Client::from_conf(config)
            }),
            origination_identity,
            max_price,
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
                        use aws_sdk_pinpointsmsvoicev2::error::SdkError;
                        let throttled = crate::sdk::is_throttling(
                            aws_sdk_pinpointsmsvoicev2::error::ProvideErrorMetadata::code(&e),
                        );
                        // Refused by the service, or never sent: nothing went out. Anything else (a
                        // timeout, a connection lost, an answer that could not be read) may have.
                        let not_sent = matches!(
                            e,
                            SdkError::ServiceError(_) | SdkError::ConstructionFailure(_)
                        ) || matches!(&e, SdkError::DispatchFailure(d) if d.is_user() || d.as_connector_error().is_some_and(|c| c.is_user()));
                        let text = aws_sdk_pinpointsmsvoicev2::error::DisplayErrorContext(e)
                            .to_string()
                            .replace(to.as_str(), &to.masked());
                        if throttled {
                            BackendError::Throttled(text)
                        } else if not_sent {
                            BackendError::Mail(text)
                        } else {
                            BackendError::Uncertain(text)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Issue 20: End User Messaging that takes the request and never answers (a timeout after the text
    /// may have gone). The SDK must not send it again, and the send is uncertain, not failed.
    #[tokio::test]
    async fn a_text_that_timed_out_is_sent_once_and_uncertain() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                held.push(socket); // read nothing, answer nothing
            }
        });
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_sdk_pinpointsmsvoicev2::config::SharedCredentialsProvider::new(
                    aws_sdk_pinpointsmsvoicev2::config::Credentials::for_tests(),
                ),
            )
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_millis(300))
                    .build(),
            )
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        let sender = SmsSender::end_user_messaging(&aws, None, None);
        let to = PhoneNumber::parse("+14155550123").unwrap();
        let err = sender.send_text(&to, "123456").await.unwrap_err();
        assert!(matches!(err, BackendError::Uncertain(_)), "{err:?}");
        assert!(!err.to_string().contains("+14155550123"), "masked: {err}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            requests.load(Ordering::SeqCst),
            1,
            "sent once, never retried"
        );
    }
}
