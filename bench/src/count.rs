//! Counting AWS requests: an SDK interceptor that sees every HTTP request a client sends (each attempt,
//! retries included) and counts it by service and operation (`("DynamoDB", "GetItem")`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use adapters::dynamo::DynamoStore;
use adapters::ses::SesMailer;
use adapters::sms::SmsSender;
use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shared::app::{App, Clock, Config};

/// The service names the SDK gives its operations.
pub const DYNAMODB: &str = "DynamoDB";
pub const SESV2: &str = "SESv2";

/// Requests by (service, operation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<(String, String), u64>);

impl Counts {
    /// Every request to `service`.
    pub fn total(&self, service: &str) -> u64 {
        self.0
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, n)| n)
            .sum()
    }

    /// `service`'s requests by operation: `BatchGetItem 1 + TransactWriteItems 1`; `-` when none.
    pub fn breakdown(&self, service: &str) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, op), n)| format!("{op} {n}"))
            .collect();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(" + ")
        }
    }
}

/// An SDK interceptor that counts requests. Clones share one count.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(Arc<Mutex<Counts>>);

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The counts so far, and a fresh start.
    pub fn take(&self) -> Counts {
        std::mem::take(&mut *self.lock())
    }

    pub fn snapshot(&self) -> Counts {
        self.lock().clone()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    /// Called once per attempt, just before the request goes out.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            Some(m) => (m.service().to_string(), m.name().to_string()),
            None => ("unknown".to_string(), "unknown".to_string()),
        };
        *self.lock().0.entry(key).or_default() += 1;
        Ok(())
    }
}

/// A DynamoDB client built as the functions build theirs, plus the counter.
pub fn dynamodb_client(aws: &SdkConfig, counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(aws)
            .interceptor(counter.clone())
            .build(),
    )
}

/// An SES v2 client built as the functions build theirs, plus the counter.
pub fn sesv2_client(aws: &SdkConfig, counter: &RequestCounter) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(aws)
            .interceptor(counter.clone())
            .build(),
    )
}

/// The application as `edge::lambda::run` builds it (DynamoDB and SES v2), with both clients counted.
pub fn counted_app(
    config: Config,
    aws: &SdkConfig,
    counter: &RequestCounter,
    clock: Clock,
) -> App<DynamoStore, SesMailer> {
    App {
        store: DynamoStore::new(dynamodb_client(aws, counter), &config.table_name),
        mailer: SesMailer::new(sesv2_client(aws, counter), &config.sender),
        sms: SmsSender::from_env(aws).into(),
        code_secret: adapters::secrets::local_code_secret().and_then(Result::ok),
        config,
        clock,
    }
}
