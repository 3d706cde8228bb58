//! The template engine (issue 19): what it adds to a zip and a cold start, next to hello-world built the
//! same way (`hello-templates` = `hello` + the engine and the built-in templates, used as the functions use
//! them), and what its work costs in-process: the built-ins compiled (once per cold start, at the first
//! mail), a caller's settings with templates parsed and checked (once per settings change) and one mail
//! rendered (each mail).

use std::path::Path;
use std::time::Instant;

use shared::model::Lang;
use shared::settings::CallerSettings;
use shared::templates::{preview_vars, render, TemplateKind, TemplateSet};

use crate::stats::Samples;

/// The shipped example that a registrar starts from.
pub const EXAMPLE: &str = "examples/icann-registrant-verification.json";

pub struct Engine {
    /// `target/lambda/hello-templates/bootstrap.zip` (hello's is among the sizes).
    pub templates_zip: Option<u64>,
    pub runs: usize,
    /// Microseconds per run.
    pub compile_builtin: Samples,
    pub parse_example: Result<Samples, String>,
    pub render_builtin: Samples,
    pub render_example: Result<Samples, String>,
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Samples {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = Instant::now();
        std::hint::black_box(f());
        out.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    Samples::new(out)
}

pub fn measure(runs: usize) -> Engine {
    let vars = preview_vars(TemplateKind::Link, Lang::En, Some("Example Registrar"));
    let builtin = TemplateSet::compile_builtin();
    let example = std::fs::read_to_string(EXAMPLE)
        .map_err(|e| format!("{EXAMPLE}: {e}"))
        .and_then(|text| {
            CallerSettings::parse(&text)
                .map(|s| (text, s))
                .map_err(|p| format!("{EXAMPLE} is refused: {p:?}"))
        });
    Engine {
        templates_zip: std::fs::metadata(Path::new("target/lambda/hello-templates/bootstrap.zip"))
            .ok()
            .map(|m| m.len()),
        runs,
        compile_builtin: time(runs, TemplateSet::compile_builtin),
        parse_example: example
            .as_ref()
            .map(|(text, _)| time(runs, || CallerSettings::parse(text).is_ok()))
            .map_err(Clone::clone),
        render_builtin: time(runs, || {
            render(Some(&builtin), Lang::En, TemplateKind::Link, &vars)
        }),
        render_example: example
            .as_ref()
            .map(|(_, settings)| {
                time(runs, || {
                    render(settings.template_set(), Lang::En, TemplateKind::Link, &vars)
                })
            })
            .map_err(Clone::clone),
    }
}
