//! Mail through Amazon SES v2 `SendEmail`.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use aws_sdk_sesv2::Client;

use crate::sdk::LazyClient;
use shared::error::BackendError;
use shared::mail::{Mailer, OutgoingMail};

#[derive(Clone)]
pub struct SesMailer {
    /// `None` in a function whose action sends no mail.
    client: Option<LazyClient<Client>>,
    from: String,
    /// The stack's configuration set (`SES_CONFIGURATION_SET`): its reputation metrics and its events.
    configuration_set: Option<String>,
}

fn configuration_set() -> Option<String> {
    std::env::var("SES_CONFIGURATION_SET")
        .ok()
        .filter(|v| !v.is_empty())
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client: Some(LazyClient::ready(client)),
            from: from.into(),
            configuration_set: configuration_set(),
        }
    }

    /// The SES client is made when the first mail goes out, not at cold start.
    pub fn from_config(aws: &aws_config::SdkConfig, from: impl Into<String>) -> Self {
        let aws = aws.clone();
        Self {
            client: Some(LazyClient::new(move || Client::new(&aws))),
            from: from.into(),
            configuration_set: configuration_set(),
        }
    }

    /// For a function that sends no mail: no SES client, and none of its code in the binary.
    pub fn none(from: impl Into<String>) -> Self {
        Self {
            client: None,
            from: from.into(),
            configuration_set: None,
        }
    }
}

/// SES refused the address itself: it is on the account-level suppression list.
pub fn is_suppressed(code: Option<&str>, text: &str) -> bool {
    matches!(code, Some("MessageRejected") | Some("BadRequestException"))
        && text.to_ascii_lowercase().contains("suppress")
}

fn content(data: &str) -> Result<Content, BackendError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| BackendError::Mail(e.to_string()))
}

impl Mailer for SesMailer {
    #[tracing::instrument(skip_all, fields(to = %mail.to.masked()))]
    async fn send(&self, mail: &OutgoingMail) -> Result<Option<String>, BackendError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        let Some(client) = &self.client else {
            return Err(BackendError::Mail(
                "this function is not built to send mail".into(),
            ));
        };
        let tags = mail
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| BackendError::Mail(e.to_string()))?;
        let sent = client
            .send_email()
            // The caller's own sender (its settings' `Sender`), else the stack's.
            .from_email_address(mail.from.as_deref().unwrap_or(&self.from))
            .set_reply_to_addresses(mail.reply_to.clone().map(|r| vec![r]))
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            // SES may echo the address in its error text: mask it before it can reach a log.
            .map_err(|e| {
                let code = aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                let throttled = crate::sdk::is_throttling(code.as_deref());
                let text = aws_sdk_sesv2::error::DisplayErrorContext(e)
                    .to_string()
                    .replace(mail.to.as_str(), &mail.to.masked());
                if throttled {
                    BackendError::Throttled(text)
                } else if is_suppressed(code.as_deref(), &text) {
                    BackendError::Undeliverable(text)
                } else {
                    BackendError::Mail(text)
                }
            })?;
        Ok(sent.message_id)
    }
}
