//! No request can make a function panic before our code runs (issue 20, defect 0).
//!
//! `lambda_http` turns an API Gateway event into an HTTP request with `Url::parse(..).unwrap()` over the
//! `X-Forwarded-Proto` and `Host` headers and the path, and with `.expect(..)` over the URI it builds with
//! the raw query string. A header such as `X-Forwarded-Proto: 1` or `Host: a b` made it panic, and a release
//! build (`panic = "abort"`) then lost its instance: a 502 and a cold start, at any stranger's will.
//! [`run`] puts [`Sanitize`] in front of that conversion: whatever would not make a URI is dropped (a
//! scheme other than `http` or `https`, a host or path that does not parse) or percent-encoded (the query),
//! so every request reaches the action and gets an answer in the vendor's shape. A dropped `Host` also fails
//! a signature that covered it: the front door never checks a host other than the one the client signed.

use std::task::{Context, Poll};

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::{header::HOST, HeaderName};
use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceBuilder};
use lambda_http::{Adapter, IntoResponse, Request};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// What a query string may not carry as it is: spaces, quotes, angle brackets, backquotes, braces, pipes,
/// backslashes, carets, and every byte outside visible ASCII.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'#');

fn x_forwarded_proto() -> HeaderName {
    HeaderName::from_static("x-forwarded-proto")
}

/// The path `lambda_http` builds its URI from: the raw path, behind the stage unless it is `$default`.
fn path_with_stage(stage: Option<&str>, path: &str) -> String {
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() {
        return path.into();
    }
    match stage {
        None | Some("$default") => path.into(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.into(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

/// The URI `lambda_http` would build from `event`, or `None` where it would panic.
fn uri_of(event: &ApiGatewayV2httpRequest) -> Option<String> {
    let path = path_with_stage(
        event.request_context.stage.as_deref(),
        event.raw_path.as_deref().unwrap_or_default(),
    );
    let host = match event.headers.get(HOST) {
        Some(h) => h.to_str().ok(),
        None => None,
    }
    .or(event.request_context.domain_name.as_deref());
    let mut uri = match host {
        None => url::Url::parse(&format!("http://localhost{path}"))
            .ok()?
            .path()
            .to_string(),
        Some(host) => {
            let scheme = event
                .headers
                .get(x_forwarded_proto())
                .and_then(|s| s.to_str().ok())
                .unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{path}"))
                .ok()?
                .to_string()
        }
    };
    if let Some(query) = event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    lambda_http::http::Uri::try_from(uri.as_str()).ok()?;
    Some(uri)
}

/// Makes `event` one that `lambda_http` converts without panicking; changes nothing in a well-formed one.
/// Returns whether it changed anything. Each step drops or encodes the least it can.
pub fn sanitize(event: &mut ApiGatewayV2httpRequest) -> bool {
    if uri_of(event).is_some() {
        return false;
    }
    // The query string: percent-encoded where it may not stand as it is.
    if let Some(query) = &event.raw_query_string {
        event.raw_query_string = Some(utf8_percent_encode(query, QUERY).to_string());
    }
    // The scheme: only what a URL of this API can have.
    let proto = event.headers.get(x_forwarded_proto()).map(|v| v.to_str());
    if uri_of(event).is_none() && matches!(proto, Some(p) if !matches!(p, Ok("http" | "https"))) {
        event.headers.remove(x_forwarded_proto());
    }
    // The host: the header, else the API's domain name.
    if uri_of(event).is_none() && event.headers.contains_key(HOST) {
        event.headers.remove(HOST);
    }
    if uri_of(event).is_none() && event.request_context.domain_name.is_some() {
        event.request_context.domain_name = None;
    }
    // The path, last: a request whose path makes no URI reaches no route (404).
    if uri_of(event).is_none() {
        event.raw_path = Some("/".into());
    }
    if uri_of(event).is_none() {
        event.request_context.stage = None;
    }
    if uri_of(event).is_none() {
        event.raw_query_string = None;
    }
    true
}

/// The layer in front of `lambda_http`'s conversion.
#[derive(Clone)]
pub struct Sanitize<S> {
    inner: S,
}

impl<S> Service<LambdaEvent<LambdaRequest>> for Sanitize<S>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        #[allow(irrefutable_let_patterns)]
        if let LambdaRequest::ApiGatewayV2(request) = &mut event.payload {
            if sanitize(request) {
                tracing::info!("a request that would not make a URI was sanitised");
            }
        }
        self.inner.call(event)
    }
}

/// `lambda_http::run`, with [`Sanitize`] in front of its conversion.
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: std::fmt::Debug + Into<lambda_http::lambda_runtime::Diagnostic>,
{
    let service = ServiceBuilder::new()
        .layer_fn(|inner| Sanitize { inner })
        .layer_fn(Adapter::from)
        .service(handler);
    lambda_http::lambda_runtime::run(service).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(headers: &[(&str, &str)], path: &str, query: &str) -> ApiGatewayV2httpRequest {
        let mut v = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.example.com",
                "domainPrefix": "api", "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9", "userAgent": "t"}, "requestId": "r", "routeKey": "$default",
                "stage": "$default", "time": "04/Dec/2026:10:00:00 +0000", "timeEpoch": 1},
            "isBase64Encoded": false
        });
        for (k, val) in headers {
            v["headers"][*k] = serde_json::Value::String(val.to_string());
        }
        serde_json::from_value(v).expect("an API Gateway v2 event")
    }

    /// The conversion `lambda_http` runs; a panic in it fails the test.
    fn convert(e: ApiGatewayV2httpRequest) -> Request {
        Request::from(LambdaRequest::ApiGatewayV2(e))
    }

    #[test]
    fn the_three_headers_of_the_report_no_longer_panic() {
        for headers in [
            vec![("x-forwarded-proto", "1")],
            vec![("x-forwarded-proto", "a b")],
            vec![("host", "a b")],
        ] {
            let mut e = event(&headers, "/", "");
            let before = e.clone();
            assert!(
                std::panic::catch_unwind(|| convert(before)).is_err(),
                "lambda_http itself panics on {headers:?}"
            );
            assert!(sanitize(&mut e), "{headers:?}");
            let req = convert(e);
            assert_eq!(req.uri().path(), "/");
        }
    }

    #[test]
    fn a_well_formed_request_is_left_as_it_is() {
        let mut e = event(
            &[("host", "api.example.com"), ("x-forwarded-proto", "https")],
            "/SubmitEmailVerification",
            "Email=a%40example.com&Lang=zh",
        );
        let before = e.clone();
        assert!(!sanitize(&mut e));
        assert_eq!(e.headers, before.headers);
        assert_eq!(e.raw_query_string, before.raw_query_string);
        let req = convert(e);
        assert_eq!(req.uri().host(), Some("api.example.com"));
        assert_eq!(req.uri().query(), Some("Email=a%40example.com&Lang=zh"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, failure_persistence: None, ..Default::default() })]

        /// Whatever the client puts in these headers, the path and the query, the conversion does not panic.
        #[test]
        fn no_header_path_or_query_makes_the_conversion_panic(
            proto in "\\PC{0,12}",
            host in "\\PC{0,24}",
            path in "/?\\PC{0,24}",
            query in "\\PC{0,24}",
        ) {
            let mut headers = Vec::new();
            if lambda_http::http::HeaderValue::from_str(&proto).is_ok() {
                headers.push(("x-forwarded-proto", proto.as_str()));
            }
            if lambda_http::http::HeaderValue::from_str(&host).is_ok() {
                headers.push(("host", host.as_str()));
            }
            let mut e = event(&headers, &path, &query);
            sanitize(&mut e);
            let converted = std::panic::catch_unwind(|| convert(e));
            proptest::prop_assert!(converted.is_ok(), "panicked on {:?} {:?} {:?} {:?}", proto, host, path, query);
        }
    }
}
