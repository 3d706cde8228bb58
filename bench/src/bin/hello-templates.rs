//! The template engine's baseline (issue 19): the hello-world function plus the engine and the built-in
//! templates, used the way the functions use them. Each invocation renders a Link mail; the built-ins are
//! compiled at the first one, as in the functions (not before the first poll). Next to `hello` it shows what
//! the engine adds to a zip and to a cold start.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::model::Lang;
use shared::templates::{render, TemplateKind, Vars};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let text = |k: &str| {
            event
                .payload
                .get(k)
                .and_then(Value::as_str)
                .map(String::from)
        };
        let vars = Vars {
            link: text("link"),
            email: text("email"),
            valid_for: "3 days".into(),
            ..Vars::default()
        };
        let (mail, _) = render(None, Lang::En, TemplateKind::Link, &vars)?;
        Ok::<Value, Error>(serde_json::json!({"subject": mail.subject, "html": mail.html}))
    }))
    .await
}
