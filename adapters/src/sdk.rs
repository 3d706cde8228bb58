//! The AWS SDK set-up the functions share, made once per cold start, and as little of it as each needs.
//!
//! Three choices keep the cold start short (figures in BENCHMARKS.md):
//! - TLS trusts the Amazon Trust Services roots compiled into the binary (`certs/amazon-trust-services.pem`:
//!   Amazon Root CA 1 to 4 and Starfield Services Root CA G2, the roots every AWS service endpoint chains to).
//!   The SDK's default reads and parses the whole platform root store when the first client is made, which
//!   costs more than everything else at start together. `AWS_TLS_ROOTS=native` goes back to the platform
//!   store, for a network that re-signs TLS (an inspecting proxy with its own root).
//! - Region, credentials and endpoints come straight from the environment Lambda sets, without the SDK's
//!   config loader and its default chains, which are then not linked in either: see [`lambda_sdk_config`].
//! - Clients a function may not need (SES, SMS) are made on first use, see [`LazyClient`], and only for the
//!   actions that use them (`Action::SENDS_MAIL`...).

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::sdk_config::{
    RetryConfig, SharedCredentialsProvider, SharedTimeSource, TimeoutConfig,
};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use shared::config::ConfigError;

/// The roots every AWS endpoint's certificate chains to (https://www.amazontrust.com/repository/).
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

/// Which roots TLS trusts, from `AWS_TLS_ROOTS`: `amazon` (the default) or `native`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsRoots {
    Amazon,
    Native,
}

impl TlsRoots {
    pub fn from_env() -> Result<Self, ConfigError> {
        match std::env::var("AWS_TLS_ROOTS").as_deref() {
            Err(_) | Ok("") | Ok("amazon") => Ok(Self::Amazon),
            Ok("native") => Ok(Self::Native),
            Ok(other) => Err(ConfigError::new(format!(
                "AWS_TLS_ROOTS must be amazon or native, not {other:?}"
            ))),
        }
    }
}

/// How long a connection, one attempt, and a whole call (retries included) to an AWS service may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(7);

/// The SDK configuration of a Lambda function, taken from the environment Lambda sets and nothing else:
/// the region (`AWS_REGION`), the function's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, read by the SDK's environment provider), the endpoints (`AWS_ENDPOINT_URL` and
/// `AWS_ENDPOINT_URL_<SERVICE>`, the local stack's), with the HTTPS client that [`TlsRoots`] asks for.
///
/// It is what [`sdk_config`] settles on when these variables are set, built without the SDK's config
/// loader: no profile files read, and none of the default chains' code (profiles, SSO, STS for web
/// identity and roles, container and instance metadata) linked into the functions. Without the region or
/// the credentials in the environment it refuses to start, and says so; the command-line tools, which run
/// where profiles are, use [`sdk_config`].
pub fn lambda_sdk_config() -> Result<SdkConfig, ConfigError> {
    let region = non_empty_env("AWS_REGION").ok_or_else(|| {
        ConfigError::new("AWS_REGION is not set (Lambda sets it; so does local/env.sh)")
    })?;
    if non_empty_env("AWS_ACCESS_KEY_ID").is_none()
        || non_empty_env("AWS_SECRET_ACCESS_KEY").is_none()
    {
        return Err(ConfigError::new(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them; so does local/env.sh)",
        ));
    }
    let endpoints = EnvEndpoints::from_env();
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ))
        // What the loader gives for this behavior version: a lazy identity cache, standard retries.
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .retry_config(RetryConfig::standard())
        .timeout_config(timeouts())
        .sleep_impl(TokioSleep::new())
        .time_source(SharedTimeSource::default());
    if let Some(url) = endpoints.global() {
        builder = builder.endpoint_url(url);
    }
    builder = builder.service_config(endpoints);
    if TlsRoots::from_env()? == TlsRoots::Amazon {
        builder = builder.http_client(amazon_roots_https_client()?);
    }
    Ok(builder.build())
}

/// The endpoints from the environment, as the SDK's loader reads them there (it also reads profiles):
/// `AWS_ENDPOINT_URL_<SERVICE ID>` (upper case, spaces as `_`: `AWS_ENDPOINT_URL_DYNAMODB`), then
/// `AWS_ENDPOINT_URL`; none when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
#[derive(Debug)]
struct EnvEndpoints {
    ignore: bool,
}

impl EnvEndpoints {
    fn from_env() -> Self {
        Self {
            ignore: non_empty_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }

    fn global(&self) -> Option<String> {
        non_empty_env("AWS_ENDPOINT_URL").filter(|_| !self.ignore)
    }
}

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if self.ignore && key.env().starts_with("AWS_ENDPOINT_URL") {
            return None;
        }
        let service = key.service_id().to_uppercase().replace(' ', "_");
        non_empty_env(&format!("{}_{service}", key.env())).or_else(|| non_empty_env(key.env()))
    }
}

fn timeouts() -> TimeoutConfig {
    // A stalled service (DynamoDB, SES, End User Messaging) answers with an error in seconds instead of
    // holding the request until the function times out: the actions then say so (InternalError,
    // NetworkIOError) and undo what they started.
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK configuration for the command-line tools (`migrate-index`): the environment's region and
/// credentials when they are there, as [`lambda_sdk_config`] takes them, else the SDK's default chains
/// (profiles, SSO...), with the timeouts and the HTTPS client of the functions.
pub async fn sdk_config() -> Result<SdkConfig, ConfigError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = non_empty_env("AWS_REGION") {
        loader = loader.region(aws_config::Region::new(region));
    }
    if non_empty_env("AWS_ACCESS_KEY_ID").is_some()
        && non_empty_env("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    loader = loader.timeout_config(timeouts());
    let loader = match TlsRoots::from_env()? {
        TlsRoots::Amazon => loader.http_client(amazon_roots_https_client()?),
        TlsRoots::Native => loader,
    };
    Ok(loader.load().await)
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The SDK's own default HTTPS client (hyper 1, rustls with aws-lc, proxy settings from the environment),
/// with a trust store of the Amazon roots only.
pub fn amazon_roots_https_client() -> Result<SharedHttpClient, ConfigError> {
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| ConfigError::new(format!("TLS set-up: {e}")))?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut builder = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(context.clone());
            builder.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                builder.set_sleep_impl(components.sleep_impl());
            }
            builder.set_proxy_config(Some(ProxyConfig::from_env()));
            builder.build()
        }),
    )
}

/// A client made the first time it is used, then kept: a function that sends no mail never pays for an
/// SES client at cold start. Cloning shares the one client.
pub struct LazyClient<C>(Arc<LazyLock<C, Box<dyn FnOnce() -> C + Send>>>);

impl<C> LazyClient<C> {
    pub fn new(make: impl FnOnce() -> C + Send + 'static) -> Self {
        Self(Arc::new(LazyLock::new(Box::new(make))))
    }

    /// A client that exists already (tests hand one in).
    pub fn ready(client: C) -> Self
    where
        C: Send + 'static,
    {
        Self::new(move || client)
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C> Deref for LazyClient<C> {
    type Target = C;
    fn deref(&self) -> &C {
        LazyLock::force(&self.0)
    }
}

impl<C> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LazyClient")
    }
}

/// Whether an AWS error code says "slow down": SES v2's `TooManyRequestsException`, End User
/// Messaging's `ThrottlingException`, and the SDKs' generic throttling codes.
pub fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "TooManyRequestsException"
                | "ThrottlingException"
                | "Throttling"
                | "ThrottledException"
                | "RequestLimitExceeded"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_trust_services_roots() {
        let names: Vec<&str> = AMAZON_TRUST_SERVICES_ROOTS
            .lines()
            .filter(|l| l.starts_with("-----BEGIN CERTIFICATE"))
            .collect();
        assert_eq!(names.len(), 5);
        let mut roots = rustls::RootCertStore::empty();
        use rustls_pki_types::pem::PemObject;
        let ders = rustls_pki_types::CertificateDer::pem_slice_iter(
            AMAZON_TRUST_SERVICES_ROOTS.as_bytes(),
        )
        .collect::<Result<Vec<_>, _>>()
        .expect("valid PEM");
        let (valid, invalid) = roots.add_parsable_certificates(ders);
        assert_eq!((valid, invalid), (5, 0));
    }

    #[test]
    fn a_lazy_client_is_made_once_and_only_when_used() {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let lazy = LazyClient::new(|| {
            MADE.fetch_add(1, Ordering::SeqCst);
            42
        });
        let copy = lazy.clone();
        assert_eq!(MADE.load(Ordering::SeqCst), 0);
        assert_eq!(*copy, 42);
        assert_eq!(*lazy, 42);
        assert_eq!(MADE.load(Ordering::SeqCst), 1);
    }
}
