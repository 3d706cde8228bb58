//! The Lambda entry: builds the clients once, then turns each HTTP event into a [`Request`], runs the
//! action, and renders its reply. Nothing here panics; every failure becomes an answer.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body as HttpBody, RequestExt, Response};
use tracing::Instrument;

use crate::app::{load_code_secret, system_clock, Action, App, Config, Reply, Request};
use crate::sms::SmsSender;
use crate::render::Style;
use crate::error::ApiError;
use crate::mail::{Mailer, SesMailer};
use crate::model::{CallerId, Lang};
use crate::params::Params;
use crate::render::{self, Format};
use crate::store::{DynamoStore, Store};

pub use lambda_http::Error;

/// The whole `main` of a function: `shared::lambda::run::<SubmitEmailVerification>().await`.
pub async fn run<A: Action>() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let config = Config::from_env()?;
    let aws = crate::aws::sdk_config().await?;
    let app = Arc::new(App {
        store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &config.table_name),
        // Constant per action: what a function does not use is neither made nor linked.
        mailer: if A::SENDS_MAIL { SesMailer::from_config(&aws, &config.sender) } else { SesMailer::none(&config.sender) },
        sms: if A::SENDS_SMS { SmsSender::from_env(&aws) } else { SmsSender::None },
        code_secret: if A::USES_CODE_SECRET { load_code_secret(&aws).await? } else { None },
        config,
        clock: system_clock(),
    });
    lambda_http::run(service_fn(move |event: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle::<A, _, _>(&app, event).await) }
    }))
    .await
}

/// One invocation, in a span that carries the action and the RequestId into every log line.
pub async fn handle<A: Action, S: Store, M: Mailer>(app: &App<S, M>, event: lambda_http::Request) -> Response<HttpBody> {
    let request_id = render::request_id_from(event.lambda_context_ref().map_or("", |c| c.request_id.as_str()));
    let span = tracing::info_span!("request", action = A::NAME, request_id = %request_id);
    async {
        let response = respond::<A, S, M>(app, &event, &request_id).await;
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

async fn respond<A: Action, S: Store, M: Mailer>(app: &App<S, M>, event: &lambda_http::Request, request_id: &str) -> Response<HttpBody> {
    let public_link = event.uri().path().ends_with("/verify-email");
    let content_type = event.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let params = match Params::parse(event.uri().query().unwrap_or(""), content_type, event.body().as_ref()) {
        Ok(p) => p,
        Err(e) => return failure::<A>(request_id, &e, Lang::En, Format::Json, public_link),
    };
    // Lang and Format first: every later error is answered in them.
    let lang = params.lang();
    // Tencent-style actions answer JSON only and ignore `Format`.
    let format = match A::STYLE {
        Style::Alibaba => Format::parse(params.get("Format")),
        Style::Tencent => Ok(Format::Json),
    };
    let (lang, format) = match (lang, format) {
        (Ok(l), Ok(f)) => (l, f),
        (Err(e), _) => return failure::<A>(request_id, &e, Lang::En, Format::Json, public_link),
        (Ok(l), Err(e)) => return failure::<A>(request_id, &e, l, Format::Json, public_link),
    };
    let (caller, source_ip, domain) = identity(event, app.config.local_caller_header);
    let link_base = match app.config.public_base_url.as_str() {
        "" => format!("https://{domain}"),
        base => base.to_string(),
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return failure::<A>(request_id, &e, lang, format, public_link),
    };
    let result = match Request::new(params, caller, &source_ip, public_link) {
        Ok(req) => A::handle(app, &req.with_link_base(link_base)).await,
        Err(e) => Err(e),
    };
    match (result, A::STYLE) {
        (Ok(Reply::Api(body)), Style::Alibaba) => {
            response(200, format.content_type(), render::success(A::NAME, request_id, body, format))
        }
        (Ok(Reply::Api(body)), Style::Tencent) => {
            response(200, render::TENCENT_CONTENT_TYPE, render::tencent_success(request_id, body))
        }
        (Ok(Reply::Page { status, html }), _) => response(status, "text/html; charset=utf-8", html),
        (Err(e), _) => failure::<A>(request_id, &e, lang, format, public_link),
    }
}

/// The caller and the source address. The caller is the IAM principal that API Gateway authenticated;
/// only when there is none and the local switch is on (never in a deployed stack) is it `X-User-Id`.
/// Also the API's domain name, for links when no public base URL is configured.
fn identity(event: &lambda_http::Request, local_caller_header: bool) -> (Result<Option<CallerId>, ApiError>, String, String) {
    let (arn, source_ip, domain) = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.authorizer.as_ref().and_then(|a| a.iam.as_ref()).and_then(|iam| iam.user_arn.clone()),
            ctx.http.source_ip.clone().unwrap_or_default(),
            ctx.domain_name.clone().unwrap_or_default(),
        ),
        _ => (None, String::new(), String::new()),
    };
    let forbidden = |_| ApiError::Forbidden;
    let caller = match arn {
        Some(arn) => CallerId::from_iam_arn(&arn).map(Some).map_err(forbidden),
        None if local_caller_header => {
            let header = event.headers().get("x-user-id").and_then(|v| v.to_str().ok()).unwrap_or("local");
            CallerId::parse(header).map(Some).map_err(forbidden)
        }
        None => Ok(None),
    };
    (caller, source_ip, domain)
}

/// An error in the action's envelope: an HTML page for the link, Tencent's HTTP 200, or Alibaba's 4xx/5xx.
fn failure<A: Action>(request_id: &str, err: &ApiError, lang: Lang, format: Format, public_link: bool) -> Response<HttpBody> {
    if err.status() >= 500 {
        tracing::error!(code = err.code(), "request failed");
    } else {
        tracing::info!(code = err.code(), "request refused");
    }
    if A::STYLE == Style::Tencent {
        return response(200, render::TENCENT_CONTENT_TYPE, render::tencent_error(request_id, err, lang));
    }
    if public_link {
        if let Reply::Page { status, html } = crate::actions::page(lang, Err(err.clone())) {
            return response(status, "text/html; charset=utf-8", html);
        }
    }
    response(err.status(), format.content_type(), render::error(request_id, err, lang, format))
}

fn response(status: u16, content_type: &str, body: String) -> Response<HttpBody> {
    let mut r = Response::new(HttpBody::Text(body));
    *r.status_mut() = lambda_http::http::StatusCode::from_u16(status).unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = lambda_http::http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(lambda_http::http::header::CONTENT_TYPE, v);
    }
    r
}
