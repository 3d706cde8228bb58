//! Which HTTP requests reach an action's function: the routes its action declares ([`Action::ROUTES`]).
//! template.yaml's events are generated from them (`make template`), and the function enforces them
//! itself, so that the local stack, where `cargo lambda watch` hands a function any method at
//! `/lambda-url/<function>/`, refuses what a deployed stack's API never routes to it: a `GET` on
//! DeleteEmailVerification is 404 in both, and deletes nothing.
//!
//! [`Action::ROUTES`]: crate::action::Action::ROUTES

use shared::model::Lang;

use crate::refusal::{Refusal, Vendor};
use crate::render::{Answer, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// `GET`, as HTTP and template.yaml write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    /// `Get`: the name of the route's event in template.yaml.
    pub const fn event_name(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Post => "Post",
        }
    }
}

/// One route of an action's function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `<method> /<Action>`, signed (the API's IAM authorizer): the action itself.
    Api(Method),
    /// A public page of the action, with no signature (VerifyEmail's link page).
    Public(Public),
}

impl Route {
    pub const POST: Route = Route::Api(Method::Post);
    pub const GET: Route = Route::Api(Method::Get);
}

/// A public page: `<method> <path>`, which no signature guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Public {
    pub method: Method,
    /// `/verify-email`.
    pub path: &'static str,
    /// What it is, for the function's description in template.yaml: `the public link page`.
    pub title: &'static str,
    /// The name of its event in template.yaml: `LinkPage`.
    pub event: &'static str,
    /// Why it may go unsigned: the comment above its event in template.yaml (one line each).
    pub why: &'static [&'static str],
}

/// Which of its routes a request took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routed {
    Api,
    Page,
}

/// The route `method` at `path` takes among `routes`, or `None` when it takes none (a deployed API answers
/// such a request 404 without calling the function). A page is a route, not a path's ending: behind API
/// Gateway, the route it matched (`route_key`, `GET /verify-email`) says so; where there is none (`$default`:
/// a function URL, the local stack), the path must be exactly the page's (deployed `/verify-email`, locally
/// `/lambda-url/<function>/verify-email`). A page takes only its own method; every other path is the
/// action's (deployed `/<Action>`, locally `/lambda-url/<function>/`).
pub fn route(
    routes: &[Route],
    method: &str,
    path: &str,
    route_key: Option<&str>,
) -> Option<Routed> {
    let matched = route_key.filter(|k| !k.is_empty() && *k != "$default");
    for r in routes {
        if let Route::Public(page) = r {
            let is_page = match matched {
                Some(key) => key.split_once(' ').map(|(_, p)| p) == Some(page.path),
                None => without_local_prefix(path) == page.path,
            };
            if is_page {
                return (page.method.as_str() == method).then_some(Routed::Page);
            }
        }
    }
    routes
        .iter()
        .any(|r| matches!(r, Route::Api(m) if m.as_str() == method))
        .then_some(Routed::Api)
}

/// The path under the local stack's `/lambda-url/<function>` (every path as it is when deployed).
fn without_local_prefix(path: &str) -> &str {
    match path.strip_prefix("/lambda-url/") {
        Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
        None => path,
    }
}

/// The answer to a request that took no route: HTTP 404 in the action's envelope, with the code each
/// vendor gives an API that does not exist (Alibaba `InvalidAction.NotFound`, Tencent `InvalidAction`).
/// Nothing ran: nothing was read, written or sent.
pub fn not_found(action: &str, style: Style, method: &str, request_id: &str, lang: Lang) -> Answer {
    tracing::info!(
        method,
        "no route of the action takes this method: refused (404)"
    );
    let vendor = match style {
        Style::Alibaba => Vendor::Alibaba,
        Style::Tencent => Vendor::Tencent,
    };
    let refusal = Refusal::UnknownAction(format!("{method} {action}"));
    let mut answer = refusal.answer(vendor, request_id, lang);
    answer.status = 404;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: Public = Public {
        method: Method::Get,
        path: "/verify-email",
        title: "the page",
        event: "LinkPage",
        why: &[],
    };

    #[test]
    fn a_request_takes_a_route_of_its_action_or_none() {
        let post = [Route::POST];
        assert_eq!(
            route(&post, "POST", "/lambda-url/x/", None),
            Some(Routed::Api)
        );
        assert_eq!(route(&post, "POST", "/X", None), Some(Routed::Api));
        for m in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "post"] {
            assert_eq!(route(&post, m, "/lambda-url/x/", None), None, "{m}");
        }
        let both = [Route::GET, Route::POST];
        assert_eq!(
            route(&both, "GET", "/lambda-url/x/", None),
            Some(Routed::Api)
        );
        assert_eq!(route(&both, "PUT", "/lambda-url/x/", None), None);
        let page = [Route::POST, Route::Public(PAGE)];
        // The function's own name ends like the page: only the page's path is the page.
        assert_eq!(
            route(&page, "POST", "/lambda-url/verify-email/", None),
            Some(Routed::Api)
        );
        assert_eq!(route(&page, "GET", "/lambda-url/verify-email/", None), None);
        assert_eq!(
            route(&page, "GET", "/lambda-url/verify-email/verify-email", None),
            Some(Routed::Page)
        );
        assert_eq!(
            route(&page, "GET", "/verify-email", None),
            Some(Routed::Page)
        );
        assert_eq!(route(&page, "POST", "/verify-email", None), None);
        // Issue 20: a path that merely ends like the page is not the page.
        for path in [
            "/x/verify-email",
            "/lambda-url/verify-email/x/verify-email",
            "/VerifyEmail/verify-email",
        ] {
            assert_eq!(route(&page, "GET", path, None), None, "{path}");
            assert_eq!(route(&page, "GET", path, Some("$default")), None, "{path}");
        }
        // Behind API Gateway, the route it matched decides, whatever the path.
        assert_eq!(
            route(&page, "GET", "/verify-email", Some("GET /verify-email")),
            Some(Routed::Page)
        );
        assert_eq!(
            route(&page, "POST", "/VerifyEmail", Some("POST /VerifyEmail")),
            Some(Routed::Api)
        );
        assert_eq!(
            route(
                &page,
                "GET",
                "/stage/verify-email",
                Some("GET /verify-email")
            ),
            Some(Routed::Page),
            "a stage or custom domain's base path does not move the route"
        );
    }
}
