//! Logs: JSON lines through tracing-subscriber, each carrying the request span (action and RequestId).
//! Addresses and tokens never appear in clear: fields use `EmailAddress::masked` and `TokenHash::short`.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        // Every span from the request down: each line carries the action and the RequestId.
        .with_span_list(true)
        .with_target(false)
        .try_init();
}
