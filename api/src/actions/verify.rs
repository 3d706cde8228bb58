use askama::Template;

use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::Body;
use crate::routes::{Method, Public, Route};
use shared::app::App;
use shared::mail::Mailer;
use shared::model::{Lang, TokenRecord};
use shared::store::Store;
use shared::words::{words, Words};
use shared::workflows::link::verify_link;

/// Confirms an address with the token from its mail. Serves the API (`POST /VerifyEmail`, the caller must
/// own the record) and the public link page (`GET /verify-email?Token=...`, an HTML page). A valid link
/// opened again is a success that changes nothing, so mail scanners that open links first do no harm.
pub struct VerifyEmail;

impl Action for VerifyEmail {
    const NAME: &'static str = "VerifyEmail";
    const DYNAMODB: &'static [&'static str] = &["GetItem", "UpdateItem"];
    const ROUTES: &'static [Route] = &[
        Route::POST,
        Route::Public(Public {
            method: Method::Get,
            path: "/verify-email",
            title: "the public link page",
            event: "LinkPage",
            why: &[
                "The link in the mail: opened by the address owner in a browser, who has no AWS credentials.",
                "The token is the only secret; the page is idempotent, so mail scanners that open it first do no harm.",
            ],
        }),
    ];

    #[tracing::instrument(name = "verify", skip_all, fields(public_link = req.public_link))]
    async fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> Result<Reply, ApiError> {
        if !req.public_link {
            let caller = req.caller()?;
            verify(app, req, Some(caller)).await?;
            return Ok(Reply::Api(Body::new()));
        }
        // The page speaks the mail's language unless the link says otherwise.
        let result = verify(app, req, None).await;
        let lang = match (&result, req.params.get("Lang")) {
            (_, Some(_)) => req.lang,
            (Ok(token), None) => token.lang,
            (Err(_), None) => req.lang,
        };
        let sender = result.as_ref().ok().and_then(|t| t.sender_name.as_deref());
        Ok(page(
            lang,
            sender,
            result.as_ref().map(|_| ()).map_err(Clone::clone),
        ))
    }
}

/// Checks the token and marks its record verified; returns the token's record.
async fn verify<S: Store, M: Mailer>(
    app: &App<S, M>,
    req: &Request,
    caller: Option<&shared::model::CallerId>,
) -> Result<TokenRecord, ApiError> {
    let token = req.params.token()?;
    Ok(verify_link(app, &token, caller, &req.source()).await?)
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    w: &'a Words,
    lang: &'a str,
    /// The caller's `Sender.Name`, as its mail gave it: the heading names it.
    sender: Option<&'a str>,
    verified: bool,
    code: &'a str,
    reason: &'a str,
    next: &'a str,
}

/// The link page: 200 when verified; otherwise, in a person's words (never the API's), what went wrong and
/// what to do, with a matching status. `data-code` on the outcome keeps the API's code for scripts.
pub fn page(lang: Lang, sender: Option<&str>, result: Result<(), ApiError>) -> Reply {
    let w = words(lang);
    let (status, code, reason, next) = match &result {
        Ok(()) => (200, "Success", "", ""),
        Err(ApiError::TokenExpired) => (410, "TokenExpired", w.page_expired, w.page_what_next),
        Err(e @ ApiError::TokenInvalid) => (404, e.code(), w.page_unknown, w.page_what_next),
        Err(e @ ApiError::ParameterIllegal(_)) => (
            e.status(),
            e.code(),
            w.page_incomplete,
            w.page_incomplete_next,
        ),
        Err(e) => (e.status(), e.code(), w.page_busy, w.page_busy_next),
    };
    let html = Page {
        w,
        lang: lang.as_str(),
        sender,
        verified: result.is_ok(),
        code,
        reason,
        next,
    }
    .render()
    .unwrap_or_else(|_| code.to_string());
    Reply::Page { status, html }
}
