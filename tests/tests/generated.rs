//! What follows from the action table (`api::actions::ALL`), checked without a running stack:
//! template.yaml's generated parts are what `make template` writes, and each function takes exactly its
//! action's routes (anything else is 404, and runs nothing), as a deployed API routes them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adapters::env::FromEnv;
use adapters::sms::SmsSender;
use api::actions::{find, Info, ALL};
use api::routes::Route;
use serde_json::{json, Value};
use shared::app::{App, Config};
use shared::error::BackendError;
use shared::mail::{Mailer, OutgoingMail};
use shared::store::MemoryStore;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn template_yaml_is_what_the_action_table_makes() {
    let path = stack_tests::template::path();
    let current = std::fs::read_to_string(&path).expect("template.yaml");
    let generated = stack_tests::template::generate(&current).unwrap_or_else(|e| panic!("{e}"));
    if generated != current {
        let (line, (now, wanted)) = current
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap_or((
                current.lines().count().min(generated.lines().count()),
                ("(end of file)", "(more lines)"),
            ));
        panic!(
            "template.yaml is not what the action table makes: run make template.\n\
             First difference, line {}:\n  file:      {now}\n  generated: {wanted}",
            line + 1
        );
    }
}

/// Every action of the table has its function, its sample event and its documentation; every function
/// on disk is an action of the table or one of the two others (the template test checks the rest).
#[test]
fn every_action_has_its_function_sample_event_and_documentation() {
    let openapi = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let api = std::fs::read_to_string(root().join("docs/API.md")).unwrap();
    for info in ALL.iter() {
        let f = info.function_name();
        assert!(
            root()
                .join("functions")
                .join(&f)
                .join("Cargo.toml")
                .exists(),
            "functions/{f}/ is missing"
        );
        assert!(
            root().join("events").join(format!("{f}.json")).exists(),
            "events/{f}.json is missing"
        );
        assert!(
            openapi.contains(&format!("/lambda-url/{f}/:")),
            "docs/openapi.yaml does not document /lambda-url/{f}/"
        );
        assert!(
            api.contains(info.name),
            "docs/API.md does not document {}",
            info.name
        );
    }
    let names = stack_tests::template::all_functions();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let f = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            names.iter().any(|(_, n)| *n == f),
            "functions/{f} is neither an action of the table nor the front door nor ses-events"
        );
    }
}

/// The local documentation's methods are the table's: each function's path in docs/openapi.yaml documents
/// exactly the methods of its action's routes.
#[test]
fn the_documented_methods_are_the_routes_of_the_table() {
    let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for info in ALL.iter() {
        let path = format!("/lambda-url/{}/", info.function_name());
        let item = doc["paths"][path.as_str()]
            .as_mapping()
            .unwrap_or_else(|| panic!("{path} is not in docs/openapi.yaml"));
        let mut documented: Vec<String> = item
            .keys()
            .filter_map(|k| k.as_str())
            .filter(|k| ["get", "post", "put", "delete", "patch", "head"].contains(k))
            .map(str::to_uppercase)
            .collect();
        documented.sort();
        let mut routes: Vec<String> = info
            .routes
            .iter()
            .filter_map(|r| match r {
                Route::Api(m) => Some(m.as_str().to_string()),
                Route::Public(_) => None,
            })
            .collect();
        routes.sort();
        assert_eq!(documented, routes, "{path}");
    }
}

/// A mailer that takes every mail.
struct Accept;

impl Mailer for Accept {
    async fn send(&self, _mail: &OutgoingMail) -> Result<Option<String>, BackendError> {
        Ok(None)
    }
}

fn app() -> App<MemoryStore, Accept> {
    static ENV: OnceLock<()> = OnceLock::new();
    ENV.get_or_init(|| {
        std::env::set_var("TABLE_NAME", "unused");
        std::env::set_var("SENDER_ADDRESS", "no-reply@example.com");
    });
    App {
        store: MemoryStore::new(),
        mailer: Accept,
        sms: SmsSender::None.into(),
        code_secret: None,
        config: Config::from_env().expect("configuration"),
        clock: shared::app::system_clock(),
    }
}

/// The sample event of `info`'s function (events/<function>.json), sent with `method` to `path`.
fn event(info: &Info, method: &str, path: &str) -> lambda_http::Request {
    let file = root().join(format!("events/{}.json", info.function_name()));
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    e["rawPath"] = json!(path);
    // API Gateway names the route it matched; a function URL (the local stack's /lambda-url/) has none.
    e["routeKey"] = if path.starts_with("/lambda-url/") {
        json!("$default")
    } else {
        json!(format!("{method} {path}"))
    };
    e["requestContext"]["routeKey"] = e["routeKey"].clone();
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    lambda_http::request::from_str(&e.to_string()).expect("an API Gateway event")
}

async fn call(
    app: &App<MemoryStore, Accept>,
    info: &Info,
    method: &str,
    path: &str,
) -> (u16, Value) {
    let entry = find::<MemoryStore, Accept>(info.name).expect("in the table");
    let response = edge::lambda::handle_entry(app, entry, event(info, method, path)).await;
    let status = response.status().as_u16();
    let body = match response.into_body() {
        lambda_http::Body::Text(t) => t,
        other => panic!("{other:?}"),
    };
    (status, serde_json::from_str(&body).unwrap_or(json!(body)))
}

fn info(name: &str) -> &'static Info {
    ALL.iter().find(|i| i.name == name).unwrap()
}

/// Issue 16: a `GET` on the local DeleteEmailVerification deleted the record; a deployed stack answers 404.
/// Now every function answers 404 to a method its action does not take, locally and deployed alike, in the
/// action's envelope, and runs nothing.
#[tokio::test]
async fn a_method_the_action_does_not_take_is_404_and_runs_nothing() {
    let app = app();
    for info in ALL.iter() {
        let local = format!("/lambda-url/{}/", info.function_name());
        let deployed = format!("/{}", info.name);
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let takes = info
                .routes
                .iter()
                .any(|r| matches!(r, Route::Api(m) if m.as_str() == method));
            for path in [&local, &deployed] {
                let (status, body) = call(&app, info, method, path).await;
                if takes {
                    assert_ne!(status, 404, "{method} {path}: {body}");
                    continue;
                }
                assert_eq!(status, 404, "{method} {path}: {body}");
                let (code, id) = match info.style {
                    api::render::Style::Alibaba => (&body["Code"], &body["RequestId"]),
                    api::render::Style::Tencent => (
                        &body["Response"]["Error"]["Code"],
                        &body["Response"]["RequestId"],
                    ),
                };
                assert!(
                    code.as_str()
                        .is_some_and(|c| c.starts_with("InvalidAction")),
                    "{method} {path}: {body}"
                );
                assert_eq!(id.as_str().map(str::len), Some(36), "{body}");
            }
        }
    }

    // The reported case, on a store of its own: the record is still there after a GET on Delete.
    let app = self::app();
    let (submit, delete, query) = (
        info("SubmitEmailVerification"),
        info("DeleteEmailVerification"),
        info("QueryEmailVerification"),
    );
    let (status, body) = call(
        &app,
        submit,
        "POST",
        "/lambda-url/submit-email-verification/",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["SuccessList"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    let (status, body) = call(
        &app,
        delete,
        "GET",
        "/lambda-url/delete-email-verification/",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(&app, query, "POST", "/lambda-url/query-email-verification/").await;
    assert_eq!(status, 200, "the record is still there: {body}");
    let (status, body) = call(
        &app,
        delete,
        "POST",
        "/lambda-url/delete-email-verification/",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&app, query, "POST", "/lambda-url/query-email-verification/").await;
    assert_eq!(status, 404, "deleted by POST: {body}");
}

/// The public link page takes GET at its own path only; the function's own path is the API's.
#[tokio::test]
async fn the_link_page_takes_only_its_method_at_its_path() {
    let app = app();
    let verify = info("VerifyEmail");
    let (status, page) = call(&app, verify, "GET", "/verify-email").await;
    // An unknown token: the page, not a 404 of the router.
    assert_eq!(status, 404, "{page}");
    assert!(
        page.as_str()
            .is_some_and(|p| p.contains("data-code=\"TokenInvalid\"")),
        "{page}"
    );
    let (status, page) = call(&app, verify, "GET", "/lambda-url/verify-email/verify-email").await;
    assert!(
        page.as_str().is_some_and(|p| p.contains("data-code=")),
        "{status} {page}"
    );
    for (method, path) in [
        ("POST", "/verify-email"),
        ("GET", "/lambda-url/verify-email/"),
        ("GET", "/VerifyEmail"),
    ] {
        let (status, body) = call(&app, verify, method, path).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(
            body["Code"], "InvalidAction.NotFound",
            "{method} {path}: {body}"
        );
    }
}

/// Each sample event (events/<function>.json, what `cargo lambda invoke` sends) takes a route of its action.
#[test]
fn every_sample_event_takes_a_route_of_its_action() {
    for info in ALL.iter() {
        let file = root().join(format!("events/{}.json", info.function_name()));
        let e: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let method = e["requestContext"]["http"]["method"].as_str().unwrap_or("");
        let path = e["rawPath"].as_str().unwrap_or("");
        let key = e["requestContext"]["routeKey"].as_str();
        assert!(
            api::routes::route(info.routes, method, path, key).is_some(),
            "{}: {method} {path} is not a route of {}",
            file.display(),
            info.name
        );
    }
}
