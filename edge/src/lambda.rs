//! The Lambda entry: builds the clients once, then turns each HTTP event into a [`Request`], runs the
//! action, and renders its reply. Nothing here panics; every failure becomes an answer.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body as HttpBody, RequestExt, Response};
use tracing::Instrument;

use adapters::dynamo::DynamoStore;
use adapters::env::FromEnv;
use adapters::secrets::load_code_secret;
use adapters::ses::SesMailer;
use adapters::sms::SmsSender;
use api::action::{Action, Reply, Request};
use api::actions::{Entry, Info};
use api::error::ApiError;
use api::params::Params;
use api::render::{self, Answer, Format, Style};
use shared::app::{App, Config};
use shared::mail::Mailer;
use shared::model::{CallerId, Lang};
use shared::store::Store;

pub use lambda_http::Error;

/// The whole `main` of a function: `edge::lambda::run::<SubmitEmailVerification>().await`.
pub async fn run<A: Action>() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = Arc::new(build_app(Info::of::<A>()).await?);
    crate::sanitize::run(service_fn(move |event: lambda_http::Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle::<A, _, _>(&app, event).await) }
    }))
    .await
}

/// The application with the clients that `needs` says are used, made once at cold start.
pub async fn build_app(needs: Info) -> Result<App<DynamoStore, SesMailer>, lambda_http::Error> {
    build_app_with(needs, &adapters::sdk::lambda_sdk_config()?).await
}

pub async fn build_app_with(
    needs: Info,
    aws: &aws_config::SdkConfig,
) -> Result<App<DynamoStore, SesMailer>, lambda_http::Error> {
    let config = Config::from_env()?;
    let aws = aws.clone();
    Ok(App {
        store: DynamoStore::from_config(&aws, &config.table_name),
        // Constant per action: what a function does not use is neither made nor linked.
        mailer: if needs.sends_mail {
            SesMailer::from_config(&aws, &config.sender)
        } else {
            SesMailer::none(&config.sender)
        },
        sms: if needs.sends_sms {
            SmsSender::from_env(&aws).into()
        } else {
            std::sync::Arc::new(shared::text::NoTexts)
        },
        code_secret: if needs.uses_code_secret {
            load_code_secret(&aws).await?
        } else {
            None
        },
        config,
        clock: adapters::clock::from_env(),
    })
}

/// One invocation, in a span that carries the action and the RequestId into every log line.
pub async fn handle<A: Action, S: Store + shared::store::ReplayGuard, M: Mailer>(
    app: &App<S, M>,
    event: lambda_http::Request,
) -> Response<HttpBody> {
    handle_entry(app, Entry::<S, M>::of::<A>(), event).await
}

/// [`handle`] for an action of the table, found at run time ([`crate::actions::find`]).
pub async fn handle_entry<S: Store + shared::store::ReplayGuard, M: Mailer>(
    app: &App<S, M>,
    entry: Entry<S, M>,
    event: lambda_http::Request,
) -> Response<HttpBody> {
    let incoming = Incoming::read(&event, app.config.local_caller_header);
    let span =
        tracing::info_span!("request", action = entry.info.name, request_id = %incoming.request_id);
    async {
        let response = respond(app, entry, incoming).await;
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// The vendors' form of the Lambda request id: an upper-case UUID.
pub fn request_id_of(event: &lambda_http::Request) -> String {
    render::request_id_from(
        event
            .lambda_context_ref()
            .map_or("", |c| c.request_id.as_str()),
    )
}

async fn respond<S: Store + shared::store::ReplayGuard, M: Mailer>(
    app: &App<S, M>,
    entry: Entry<S, M>,
    incoming: Incoming,
) -> Response<HttpBody> {
    // A request that takes none of the action's routes is refused as a deployed API does, before anything runs.
    let routed = api::routes::route(
        entry.info.routes,
        &incoming.method,
        &incoming.path,
        incoming.route_key.as_deref(),
    );
    let Some(routed) = routed else {
        let lang = incoming
            .params
            .as_ref()
            .ok()
            .and_then(|p| p.lang().ok())
            .unwrap_or(Lang::En);
        return to_response(api::routes::not_found(
            entry.info.name,
            entry.info.style,
            &incoming.method,
            &incoming.request_id,
            lang,
        ));
    };
    let public_link = routed == api::routes::Routed::Page;
    // A body over the limit, or a caller over its rate, is refused before the parameters are read. The
    // front door checks both itself, before its replay record.
    let refused = if body_too_large_len(incoming.body_len) {
        Some(ApiError::BodyTooLarge)
    } else if let Ok(Some(caller)) = &incoming.caller {
        shared::rate::admit(&app.config.caller_rate, &app.store, caller, app.now())
            .await
            .err()
            .map(|wait| ApiError::Throttled {
                retry_after_seconds: wait.ceil().max(1.0) as i64,
            })
    } else {
        None
    };
    if let Some(err) = refused {
        let lang = incoming
            .params
            .as_ref()
            .ok()
            .and_then(|p| p.lang().ok())
            .unwrap_or(Lang::En);
        return failure(
            entry.info.style,
            &incoming.request_id,
            &err,
            lang,
            Format::Json,
            public_link,
        );
    }
    answer(app, entry, incoming, public_link).await
}

/// Whether the request's body (or its announced length) is over [`api::params::MAX_BODY_BYTES`].
pub fn body_too_large(event: &lambda_http::Request) -> bool {
    let announced = event
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body_too_large_len(event.body().len().max(announced))
}

fn body_too_large_len(len: usize) -> bool {
    len > api::params::MAX_BODY_BYTES
}

/// API Gateway's own id of the request (`$context.requestId` in its access log): the function's log lines
/// carry it beside the Lambda request id, so that the two logs join.
pub fn apigw_request_id(event: &lambda_http::Request) -> String {
    match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// An API Gateway event, read once into what the rest of the edge and the actions take from it.
#[derive(Debug)]
pub struct Incoming {
    /// The vendors' form of the Lambda request id.
    pub request_id: String,
    pub method: String,
    pub path: String,
    /// The route API Gateway matched (`GET /verify-email`); `None` or `$default` for a function URL.
    pub route_key: Option<String>,
    pub params: Result<Params, ApiError>,
    /// The IAM identity (or, on the local stack, `X-User-Id`); the front door puts its key's caller here.
    pub caller: Result<Option<CallerId>, ApiError>,
    pub origin: Origin,
    /// The body's length, or the announced one when larger.
    pub body_len: usize,
}

impl Incoming {
    pub fn read(event: &lambda_http::Request, local_caller_header: bool) -> Self {
        let too_large = body_too_large(event);
        Self {
            request_id: request_id_of(event),
            method: event.method().as_str().to_string(),
            path: event.uri().path().to_string(),
            route_key: match event.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
                _ => None,
            },
            // An oversized body is never parsed (refused in `respond`).
            params: if too_large {
                Ok(Params::default())
            } else {
                params_of(event)
            },
            body_len: if too_large {
                usize::MAX
            } else {
                event.body().len()
            },
            caller: caller_of(event, local_caller_header),
            origin: Origin::of(event),
        }
    }
}

/// The request's parameters: its query string and its body, read as its `Content-Type` says.
pub fn params_of(event: &lambda_http::Request) -> Result<Params, ApiError> {
    let content_type = event
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Params::parse(
        event.uri().query().unwrap_or(""),
        content_type,
        event.body().as_ref(),
    )
}

/// Where a request came from: the connection's source address, and the API's domain name (for links
/// when no public base URL is configured).
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub source_ip: String,
    pub domain: String,
    /// The `User-Agent` header, for the evidence log.
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn of(event: &lambda_http::Request) -> Self {
        let user_agent = event
            .headers()
            .get(lambda_http::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match event.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => Self {
                source_ip: ctx.http.source_ip.clone().unwrap_or_default(),
                domain: ctx.domain_name.clone().unwrap_or_default(),
                user_agent: user_agent.or_else(|| ctx.http.user_agent.clone()),
            },
            _ => Self {
                user_agent,
                ..Self::default()
            },
        }
    }
}

/// Runs one action of the table on parsed parameters for `caller`, and renders its answer (or error) in
/// the action's envelope. The per-action functions and the front door both answer through here.
pub async fn answer<S: Store, M: Mailer>(
    app: &App<S, M>,
    entry: Entry<S, M>,
    incoming: Incoming,
    public_link: bool,
) -> Response<HttpBody> {
    let Incoming {
        request_id,
        params,
        caller,
        origin,
        ..
    } = incoming;
    let request_id = request_id.as_str();
    let style = entry.info.style;
    let params = match params {
        Ok(p) => p,
        Err(e) => return failure(style, request_id, &e, Lang::En, Format::Json, public_link),
    };
    // Lang and Format first: every later error is answered in them.
    let lang = params.lang();
    // Tencent-style actions answer JSON only and ignore `Format`.
    let format = match style {
        Style::Alibaba => Format::parse(params.get("Format")),
        Style::Tencent => Ok(Format::Json),
    };
    let (lang, format) = match (lang, format) {
        (Ok(l), Ok(f)) => (l, f),
        (Err(e), _) => return failure(style, request_id, &e, Lang::En, Format::Json, public_link),
        (Ok(l), Err(e)) => return failure(style, request_id, &e, l, Format::Json, public_link),
    };
    let link_base = match app.config.public_base_url.as_str() {
        "" => format!("https://{}", origin.domain),
        base => base.to_string(),
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return failure(style, request_id, &e, lang, format, public_link),
    };
    let result = match Request::new(params, caller, &origin.source_ip, public_link) {
        Ok(req) => {
            (entry.handle)(
                app,
                &req.with_link_base(link_base)
                    .with_send_budget(app.config.send_budget)
                    .with_user_agent(origin.user_agent.clone()),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match (result, style) {
        (Ok(Reply::Api(body)), Style::Alibaba) => response(
            200,
            format.content_type(),
            render::success(entry.info.name, request_id, body, format),
        ),
        (Ok(Reply::Api(body)), Style::Tencent) => response(
            200,
            render::TENCENT_CONTENT_TYPE,
            render::tencent_success(request_id, body),
        ),
        (Ok(Reply::Page { status, html }), _) => page_response(status, html),
        (Err(e), _) => failure(style, request_id, &e, lang, format, public_link),
    }
}

/// The caller: the IAM principal that API Gateway authenticated; only when there is none and the local
/// switch is on (never in a deployed stack) is it `X-User-Id`.
fn caller_of(
    event: &lambda_http::Request,
    local_caller_header: bool,
) -> Result<Option<CallerId>, ApiError> {
    let arn = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    let forbidden = |_| ApiError::Forbidden;
    match arn {
        Some(arn) => CallerId::from_iam_arn(&arn).map(Some).map_err(forbidden),
        None if local_caller_header => {
            // A header that is not visible ASCII is refused, never read as the default caller.
            let header = match event.headers().get("x-user-id") {
                None => "local",
                Some(v) => v.to_str().map_err(|_| ApiError::Forbidden)?,
            };
            CallerId::parse(header).map(Some).map_err(forbidden)
        }
        None => Ok(None),
    }
}

/// An error in the action's envelope: an HTML page for the link, Tencent's HTTP 200, or Alibaba's 4xx/5xx.
fn failure(
    style: Style,
    request_id: &str,
    err: &ApiError,
    lang: Lang,
    format: Format,
    public_link: bool,
) -> Response<HttpBody> {
    if err.status() >= 500 {
        tracing::error!(code = err.code(), "request failed");
    } else {
        tracing::info!(code = err.code(), "request refused");
    }
    if style == Style::Tencent {
        return response(
            200,
            render::TENCENT_CONTENT_TYPE,
            render::tencent_error(request_id, err, lang),
        );
    }
    if public_link {
        if let Reply::Page { status, html } = api::actions::page(lang, None, Err(err.clone())) {
            return page_response(status, html);
        }
    }
    response(
        err.status(),
        format.content_type(),
        render::error(request_id, err, lang, format),
    )
}

/// What the public link page may do: nothing but show its own inline styles. It is never cached (a link's
/// outcome changes), and its address (which holds the token) is never sent on as a referrer.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn page_response(status: u16, html: String) -> Response<HttpBody> {
    let mut r = response(status, "text/html; charset=utf-8", html);
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", PAGE_CSP),
        ("x-content-type-options", "nosniff"),
    ] {
        r.headers_mut()
            .insert(name, lambda_http::http::HeaderValue::from_static(value));
    }
    r
}

pub(crate) fn response(status: u16, content_type: &str, body: String) -> Response<HttpBody> {
    let mut r = Response::new(HttpBody::Text(body));
    *r.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = lambda_http::http::HeaderValue::from_str(content_type) {
        r.headers_mut()
            .insert(lambda_http::http::header::CONTENT_TYPE, v);
    }
    r
}

/// An answer of the wire as Lambda's HTTP response.
pub fn to_response(answer: Answer) -> Response<HttpBody> {
    let mut r = response(answer.status, &answer.content_type, answer.body);
    for (name, value) in answer.headers {
        r.headers_mut()
            .insert(name, lambda_http::http::HeaderValue::from_static(value));
    }
    r
}
