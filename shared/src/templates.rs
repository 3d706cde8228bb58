//! The words of every mail and text as templates (the contract's "The caller's brand"): the built-in ones
//! (`shared/templates/builtin.json`, today's mails) and a caller's own (`Templates` in its settings), rendered
//! by one sandboxed engine (minijinja) with one set of variables. One path: a kind or language the caller did
//! not set is rendered from the built-in set, by the same code.
//!
//! A caller's templates are checked when its settings are put ([`TemplateSet::compile`]), so that none that
//! passes can fail when a mail goes out:
//! - each part compiles, is at most 64 KiB, and uses only the contract's variables;
//! - it uses only the filters, tests and functions listed here: no include, import, extends, macro call on
//!   a value or `autoescape` block, and no `safe` (HTML escapes every variable);
//! - Link and Reminder use `link`, Code and Sms use `code`, in every part but the subject;
//! - it renders with short, long and missing values, within the engine's fuel;
//! - its HTML escapes a value that holds markup;
//! - an Sms rendered with the longest values fits one text message (160 GSM-7 characters or 70 UCS-2).
//!
//! Templates are compiled once per cold start (the built-ins) or per settings change (a caller's).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use minijinja::machinery::{get_compiled_template, Instruction, Instructions};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use sha2::{Digest, Sha256};

use crate::model::Lang;
use crate::problem::Problem;

/// Which mail or text a template is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TemplateKind {
    Link,
    Reminder,
    Code,
    Sms,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 4] = [Self::Link, Self::Reminder, Self::Code, Self::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "Link",
            Self::Reminder => "Reminder",
            Self::Code => "Code",
            Self::Sms => "Sms",
        }
    }

    /// The parts a template of this kind has: a text message has only `Text`.
    pub fn parts(self) -> &'static [&'static str] {
        match self {
            Self::Sms => &["Text"],
            _ => &["Subject", "Text", "Html"],
        }
    }
}

/// One template's parts, by name (`Subject`, `Text`, `Html`).
pub type TemplateParts = BTreeMap<String, String>;

/// The variables a template may use (the contract's, and no others).
pub const VARIABLES: [&str; 9] = [
    "link",
    "code",
    "email",
    "contact",
    "domains",
    "deadline",
    "days_left",
    "valid_for",
    "sender_name",
];

/// The filters a template may use: the engine's, less `safe` and those that take another filter's name.
pub const FILTERS: &[&str] = &[
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "e",
    "escape",
    "first",
    "format",
    "int",
    "join",
    "last",
    "length",
    "lower",
    "replace",
    "round",
    "string",
    "title",
    "trim",
    "upper",
];

/// The tests (`is ...`) a template may use.
pub const TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "odd",
    "even",
    "number",
    "string",
    "sequence",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
];

/// The functions a template may call.
pub const FUNCTIONS: &[&str] = &["range"];

/// The engine's work budget for one part (instructions and string bytes), far above what a 64 KiB template
/// with 100 domain names needs: a template cannot hold a function for long.
const FUEL: u64 = 2_000_000;

/// The version of the built-in templates, as the evidence log names it.
pub const BUILTIN_VERSION: &str = "builtin-2";

/// The values a mail or text is rendered with. `None` is an undefined variable: it prints nothing and is
/// false in an `if`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    pub link: Option<String>,
    pub code: Option<String>,
    pub email: Option<String>,
    pub contact: Option<String>,
    /// As a person reads them (Unicode).
    pub domains: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC, as Query shows it.
    pub deadline: Option<String>,
    pub days_left: Option<i64>,
    /// A phrase such as "3 days" or "10 minutes", in the mail's language.
    pub valid_for: String,
    pub sender_name: Option<String>,
}

impl Vars {
    fn value(&self) -> Value {
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        let mut put = |name: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                map.insert(name.into(), Value::from(v.as_str()));
            }
        };
        put("link", &self.link);
        put("code", &self.code);
        put("email", &self.email);
        put("contact", &self.contact);
        put("deadline", &self.deadline);
        put("sender_name", &self.sender_name);
        map.insert("domains".into(), Value::from(self.domains.clone()));
        map.insert("valid_for".into(), Value::from(self.valid_for.as_str()));
        if let Some(n) = self.days_left {
            map.insert("days_left".into(), Value::from(n));
        }
        Value::from(map)
    }
}

/// A mail's parts (an Sms has only `text`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Which template made a message, for the evidence log: `link.en` and `builtin-2`, or the caller's with a
/// version that changes with its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateUsed {
    pub name: String,
    pub version: String,
}

/// The variable a template of `kind` must use, and the one it cannot have.
fn required(kind: TemplateKind) -> (&'static str, &'static str) {
    match kind {
        TemplateKind::Link | TemplateKind::Reminder => ("link", "code"),
        TemplateKind::Code | TemplateKind::Sms => ("code", "link"),
    }
}

fn name(lang: Lang, kind: TemplateKind, part: &str) -> String {
    format!("{}.{}.{}", lang.as_str(), kind.as_str(), part)
}

/// An engine that knows only the filters, tests and functions listed above (`Environment::empty`, so the
/// engine's other built-ins are not linked into every function: BENCHMARKS.md has the size).
fn environment() -> Environment<'static> {
    use minijinja::{filters as f, functions, tests as t};
    let mut env = Environment::empty();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".Html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // FILTERS, in its order; `safe` is not among them: whatever a template says, HTML escapes a variable.
    env.add_filter("abs", f::abs);
    env.add_filter("capitalize", f::capitalize);
    env.add_filter("count", f::length);
    env.add_filter("d", f::default);
    env.add_filter("default", f::default);
    env.add_filter("e", f::escape);
    env.add_filter("escape", f::escape);
    env.add_filter("first", f::first);
    env.add_filter("format", f::format);
    env.add_filter("int", f::int);
    env.add_filter("join", f::join);
    env.add_filter("last", f::last);
    env.add_filter("length", f::length);
    env.add_filter("lower", f::lower);
    env.add_filter("replace", f::replace);
    env.add_filter("round", f::round);
    env.add_filter("string", f::string);
    env.add_filter("title", f::title);
    env.add_filter("trim", f::trim);
    env.add_filter("upper", f::upper);
    // TESTS, in its order.
    env.add_test("defined", t::is_defined);
    env.add_test("undefined", t::is_undefined);
    env.add_test("none", t::is_none);
    env.add_test("odd", t::is_odd);
    env.add_test("even", t::is_even);
    env.add_test("number", t::is_number);
    env.add_test("string", t::is_string);
    env.add_test("sequence", t::is_sequence);
    env.add_test("eq", t::is_eq);
    env.add_test("ne", t::is_ne);
    env.add_test("lt", t::is_lt);
    env.add_test("le", t::is_le);
    env.add_test("gt", t::is_gt);
    env.add_test("ge", t::is_ge);
    env.add_test("in", t::is_in);
    // FUNCTIONS.
    env.add_function("range", functions::range);
    env
}

/// A set of templates, compiled: the built-ins, or one caller's.
pub struct TemplateSet {
    env: Environment<'static>,
    has: BTreeSet<(Lang, TemplateKind)>,
    /// Per language and kind, a short hash of its parts' text (`builtin-2` for the built-ins).
    versions: BTreeMap<(Lang, TemplateKind), String>,
}

impl std::fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSet")
            .field("has", &self.has)
            .finish()
    }
}

impl TemplateSet {
    /// Compiles and checks a caller's templates; every problem, named by its field, or the set.
    /// `sender_name` is the caller's own (`Sender.Name`), for the length of its texts.
    pub fn compile(
        templates: &BTreeMap<Lang, BTreeMap<TemplateKind, TemplateParts>>,
        sender_name: Option<&str>,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut set = Self {
            env: environment(),
            has: BTreeSet::new(),
            versions: BTreeMap::new(),
        };
        for (lang, kinds) in templates {
            for (kind, parts) in kinds {
                let before = problems.len();
                for part in kind.parts() {
                    let Some(source) = parts.get(*part) else {
                        continue; // reported by the settings' own check
                    };
                    let field = format!("Templates.{}", name(*lang, *kind, part));
                    check_part(
                        &mut set.env,
                        &name(*lang, *kind, part),
                        source,
                        *kind,
                        part,
                        &field,
                        &mut problems,
                    );
                }
                if problems.len() == before && parts.len() == kind.parts().len() {
                    set.has.insert((*lang, *kind));
                    set.versions.insert((*lang, *kind), version_of(parts));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        for (lang, kind) in set.has.clone() {
            set.check_renders(lang, kind, sender_name, &mut problems);
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems)
        }
    }

    /// The built-in templates (compiled once per process, at the first mail).
    pub fn builtin() -> &'static TemplateSet {
        static BUILTIN: OnceLock<TemplateSet> = OnceLock::new();
        BUILTIN.get_or_init(Self::compile_builtin)
    }

    /// Compiles the built-in templates: what [`TemplateSet::builtin`] does once (and `make bench` times).
    pub fn compile_builtin() -> TemplateSet {
        let mut set = TemplateSet {
            env: environment(),
            has: BTreeSet::new(),
            versions: BTreeMap::new(),
        };
        for (lang, kinds) in builtin_sources() {
            for (kind, parts) in kinds {
                for (part, source) in parts {
                    // The built-ins are checked by this module's tests; one that fails is a build fault.
                    if let Err(e) = set.env.add_template_owned(name(lang, kind, &part), source) {
                        tracing::error!(error = %e, "a built-in template does not compile");
                        continue;
                    }
                }
                set.has.insert((lang, kind));
                set.versions.insert((lang, kind), BUILTIN_VERSION.into());
            }
        }
        set
    }

    /// Whether the set has this kind in this language.
    pub fn has(&self, lang: Lang, kind: TemplateKind) -> bool {
        self.has.contains(&(lang, kind))
    }

    fn render_part(
        &self,
        lang: Lang,
        kind: TemplateKind,
        part: &str,
        vars: &Value,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(&name(lang, kind, part))?.render(vars)
    }

    fn render(
        &self,
        lang: Lang,
        kind: TemplateKind,
        vars: &Vars,
    ) -> Result<Rendered, minijinja::Error> {
        let v = vars.value();
        let mut out = Rendered {
            text: self.render_part(lang, kind, "Text", &v)?,
            ..Rendered::default()
        };
        if kind != TemplateKind::Sms {
            // One line, whatever a value held.
            out.subject = self
                .render_part(lang, kind, "Subject", &v)?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            out.html = self.render_part(lang, kind, "Html", &v)?;
        }
        Ok(out)
    }

    fn check_renders(
        &self,
        lang: Lang,
        kind: TemplateKind,
        sender_name: Option<&str>,
        problems: &mut Vec<Problem>,
    ) {
        let field = |part: &str| format!("Templates.{}", name(lang, kind, part));
        for vars in samples(lang, kind, sender_name) {
            let v = vars.value();
            for part in kind.parts() {
                if let Err(e) = self.render_part(lang, kind, part, &v) {
                    problems.push(Problem {
                        field: field(part),
                        reason: format!("cannot be rendered: {}", error_text(&e)),
                    });
                    return;
                }
            }
        }
        if kind != TemplateKind::Sms {
            let html = self.render_part(lang, kind, "Html", &probe(kind).value());
            if html.is_ok_and(|h| h.contains(PROBE)) {
                problems.push(Problem {
                    field: field("Html"),
                    reason: "puts a variable into the HTML unescaped".into(),
                });
            }
        }
        if kind == TemplateKind::Sms {
            let longest = samples(lang, kind, sender_name)
                .iter()
                .filter_map(|vars| self.render_part(lang, kind, "Text", &vars.value()).ok())
                .max_by_key(|t| sms_units(t).0)
                .unwrap_or_default();
            let (units, limit, alphabet) = sms_units(&longest);
            if units > limit {
                problems.push(Problem {
                    field: field("Text"),
                    reason: format!(
                        "is over one text message when rendered with the longest values: {units} {alphabet} characters, at most {limit}"
                    ),
                });
            }
        }
    }
}

/// Renders `kind` in `lang`: with the caller's template when it has one, else the built-in one. A caller's
/// template that fails here (its checks make that a fault of ours) falls back to the built-in one, so the
/// message still goes out.
pub fn render(
    caller: Option<&TemplateSet>,
    lang: Lang,
    kind: TemplateKind,
    vars: &Vars,
) -> Result<(Rendered, TemplateUsed), String> {
    let builtin = TemplateSet::builtin();
    let mut sets: Vec<&TemplateSet> = Vec::with_capacity(2);
    if let Some(own) = caller.filter(|s| s.has(lang, kind)) {
        sets.push(own);
    }
    sets.push(builtin);
    let mut last = String::new();
    for set in sets {
        match set.render(lang, kind, vars) {
            Ok(r) => {
                let used = TemplateUsed {
                    name: format!("{}.{}", kind.as_str().to_ascii_lowercase(), lang.as_str()),
                    version: set
                        .versions
                        .get(&(lang, kind))
                        .cloned()
                        .unwrap_or_else(|| BUILTIN_VERSION.into()),
                };
                return Ok((r, used));
            }
            Err(e) => {
                last = error_text(&e);
                tracing::error!(kind = kind.as_str(), lang = lang.as_str(), error = %last, "a template failed to render");
            }
        }
    }
    Err(last)
}

/// The sample values a preview renders with (`make callers ARGS='preview ...'`): a registrant of two domain
/// names, ten days before its deadline (five for a reminder).
pub fn preview_vars(kind: TemplateKind, lang: Lang, sender_name: Option<&str>) -> Vars {
    let is_link = matches!(kind, TemplateKind::Link | TemplateKind::Reminder);
    let (valid_for, code_valid_for) = match lang {
        Lang::En => ("3 days", "10 minutes"),
        Lang::Zh => ("3 天", "10 分钟"),
    };
    let days_left = if kind == TemplateKind::Reminder {
        5
    } else {
        10
    };
    Vars {
        link: is_link.then(|| {
            format!(
                "https://verify.registrar.example/verify-email?Token={}&Lang={}",
                "3f9a0c5d1e7b2468".repeat(4),
                lang.as_str()
            )
        }),
        code: (!is_link).then(|| "042317".to_string()),
        email: (kind != TemplateKind::Sms).then(|| "registrant@example.com".to_string()),
        contact: Some(if kind == TemplateKind::Sms {
            "+8613800138000".to_string()
        } else {
            "registrant@example.com".to_string()
        }),
        domains: if is_link {
            vec!["example.com".into(), "例子.中国".into()]
        } else {
            Vec::new()
        },
        deadline: is_link.then(|| "2026-12-20 10:00:00".to_string()),
        days_left: is_link.then_some(days_left),
        valid_for: if is_link { valid_for } else { code_valid_for }.into(),
        sender_name: sender_name.map(str::to_string),
    }
}

/// `caller-` and 12 hex digits of the parts' hash: a changed template is a new version.
fn version_of(parts: &TemplateParts) -> String {
    let mut h = Sha256::new();
    for (name, text) in parts {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    format!("caller-{}", &hex::encode(h.finalize())[..12])
}

fn error_text(e: &minijinja::Error) -> String {
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    match e.line() {
        Some(line) => format!("{what} (line {line})"),
        None => what,
    }
}

fn check_part(
    env: &mut Environment<'static>,
    name: &str,
    source: &str,
    kind: TemplateKind,
    part: &str,
    field: &str,
    problems: &mut Vec<Problem>,
) {
    let mut fail = |reason: String| {
        problems.push(Problem {
            field: field.to_string(),
            reason,
        })
    };
    if let Err(e) = env.add_template_owned(name.to_string(), source.to_string()) {
        fail(format!("does not compile: {}", error_text(&e)));
        return;
    }
    let Ok(template) = env.get_template(name) else {
        return;
    };
    let used = template.undeclared_variables(false);
    let (needed, foreign) = required(kind);
    let mut unknown: Vec<&String> = used
        .iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()) && !FUNCTIONS.contains(&v.as_str()))
        .collect();
    unknown.sort();
    for v in unknown {
        fail(format!(
            "uses {v}, which is not a variable (the variables are {})",
            VARIABLES.join(", ")
        ));
    }
    if used.contains(foreign) {
        fail(format!(
            "uses {foreign}, which a {} message does not have",
            kind.as_str()
        ));
    }
    if part != "Subject" && !used.contains(needed) {
        fail(format!("must use {{{{ {needed} }}}}"));
    }
    let compiled = get_compiled_template(&template);
    let mut all = vec![&compiled.instructions];
    all.extend(compiled.blocks.values());
    for instructions in all {
        if let Some(reason) = forbidden(instructions) {
            fail(reason);
        }
    }
    if !problems.is_empty() {
        env.remove_template(name);
    }
}

/// The first thing the sandbox does not allow in these instructions.
fn forbidden(instructions: &Instructions<'_>) -> Option<String> {
    let mut i = 0;
    while let Some(instruction) = instructions.get(i) {
        i += 1;
        let refused = match instruction {
            Instruction::ApplyFilter(name, ..) if !FILTERS.contains(name) => {
                format!(
                    "uses the filter {name}, which is not allowed here (the filters are {})",
                    FILTERS.join(", ")
                )
            }
            Instruction::PerformTest(name, ..) if !TESTS.contains(name) => {
                format!(
                    "uses the test {name}, which is not allowed here (the tests are {})",
                    TESTS.join(", ")
                )
            }
            Instruction::CallFunction(name, _) if !FUNCTIONS.contains(name) => {
                format!(
                    "calls {name}(), which is not allowed here (the functions are {})",
                    FUNCTIONS.join(", ")
                )
            }
            Instruction::CallMethod(name, _) => {
                format!("calls the method {name}(), which is not allowed here")
            }
            Instruction::PushAutoEscape => {
                "uses an autoescape block, which is not allowed here (HTML escapes every variable)"
                    .to_string()
            }
            _ => continue,
        };
        return Some(refused);
    }
    None
}

/// What a value holding markup is, in a rendered HTML part that does not escape it.
const PROBE: &str = "<i id=\"unescaped\">";

fn probe(kind: TemplateKind) -> Vars {
    let mut v = samples(Lang::En, kind, Some(PROBE)).swap_remove(0);
    let p = |s: &str| Some(format!("{s}{PROBE}"));
    v.email = p("probe@example.com");
    v.contact = p("probe@example.com");
    v.deadline = p("2026-01-01 00:00:00");
    v.domains = vec![format!("example.com{PROBE}")];
    v.valid_for = format!("3 days{PROBE}");
    v.link = v.link.as_deref().and_then(p);
    v.code = v.code.as_deref().and_then(p);
    v
}

/// The value sets a caller's template must render with: short and missing values, and the longest ones.
fn samples(lang: Lang, kind: TemplateKind, sender_name: Option<&str>) -> Vec<Vars> {
    let longest_domain = format!(
        "{}.{}.{}.example",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(55)
    );
    let link = format!(
        "https://verify.registrar.example/verify-email?Token={}&Lang={}",
        "f".repeat(64),
        lang.as_str()
    );
    let (long_valid_for, short_valid_for) = match (lang, kind) {
        (Lang::En, TemplateKind::Code | TemplateKind::Sms) => ("10 minutes", "1 minute"),
        (Lang::Zh, TemplateKind::Code | TemplateKind::Sms) => ("10 分钟", "1 分钟"),
        (Lang::En, _) => ("72 hours", "1 day"),
        (Lang::Zh, _) => ("72 小时", "1 天"),
    };
    let (is_link, is_sms) = match kind {
        TemplateKind::Link | TemplateKind::Reminder => (true, false),
        TemplateKind::Code => (false, false),
        TemplateKind::Sms => (false, true),
    };
    let code = (!is_link).then(|| "999999".to_string());
    let email = format!("{}@{}", "x".repeat(64), longest_domain);
    let contact = if is_sms {
        "+999999999999999".to_string()
    } else {
        email.clone()
    };
    let short = Vars {
        link: is_link.then(|| link.clone()),
        code: code.clone(),
        email: (!is_sms).then(|| "a@b.example".to_string()),
        contact: Some(if is_sms {
            "+12025550100".into()
        } else {
            "a@b.example".into()
        }),
        domains: Vec::new(),
        deadline: None,
        days_left: None,
        valid_for: short_valid_for.into(),
        sender_name: None,
    };
    let long = Vars {
        link: is_link.then(|| link.clone()),
        code,
        email: (!is_sms).then(|| email.clone()),
        contact: Some(contact),
        domains: if is_link {
            (0..100).map(|_| longest_domain.clone()).collect()
        } else {
            Vec::new()
        },
        deadline: is_link.then(|| "2026-12-31 23:59:59".to_string()),
        days_left: is_link.then_some(60),
        valid_for: long_valid_for.into(),
        sender_name: sender_name.map(str::to_string),
    };
    let mut one_day = long.clone();
    one_day.days_left = is_link.then_some(1);
    one_day.domains.truncate(1);
    let mut past = short.clone();
    past.days_left = is_link.then_some(0);
    past.deadline = is_link.then(|| "2026-01-01 00:00:00".to_string());
    past.sender_name = sender_name.map(str::to_string);
    vec![long, short, one_day, past]
}

/// The GSM 03.38 basic character set (one unit each) and its extension (two units each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// A text's length as one message counts it: (units, the most one message holds, the alphabet).
pub fn sms_units(text: &str) -> (usize, usize, &'static str) {
    let mut gsm = 0;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            gsm += 1;
        } else if GSM7_EXTENDED.contains(c) {
            gsm += 2;
        } else {
            return (text.encode_utf16().count(), 70, "UCS-2");
        }
    }
    (gsm, 160, "GSM-7")
}

/// The built-in templates' text, in the shape of a settings document's `Templates`.
pub fn builtin_json() -> &'static str {
    include_str!("../templates/builtin.json")
}

/// Per language, per kind, its parts (name, text).
type Sources = Vec<(Lang, Vec<(TemplateKind, Vec<(String, String)>)>)>;

fn builtin_sources() -> Sources {
    let doc: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> =
        serde_json::from_str(builtin_json()).unwrap_or_default();
    let mut out = Vec::new();
    for (lang, kinds) in doc {
        let Ok(lang) = lang.parse::<Lang>() else {
            continue;
        };
        let kinds = kinds
            .into_iter()
            .filter_map(|(kind, parts)| {
                let kind = TemplateKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
                Some((kind, parts.into_iter().collect()))
            })
            .collect();
        out.push((lang, kinds));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(pairs: &[(&str, &str)]) -> TemplateParts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn one(kind: TemplateKind, p: TemplateParts) -> Result<TemplateSet, Vec<String>> {
        let mut kinds = BTreeMap::new();
        kinds.insert(kind, p);
        let mut t = BTreeMap::new();
        t.insert(Lang::En, kinds);
        TemplateSet::compile(&t, Some("Example Registrar"))
            .map_err(|ps| ps.iter().map(ToString::to_string).collect())
    }

    fn link(subject: &str, text: &str, html: &str) -> Result<TemplateSet, Vec<String>> {
        one(
            TemplateKind::Link,
            parts(&[("Subject", subject), ("Text", text), ("Html", html)]),
        )
    }

    fn refused(r: Result<TemplateSet, Vec<String>>, expected: &str) {
        let problems = r.expect_err("refused");
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected:?} not in {problems:#?}"
        );
    }

    /// The engine registers exactly the listed filters, tests and functions: each listed one is known, and
    /// one of the engine's other built-ins is not.
    #[test]
    fn the_engine_knows_the_listed_filters_tests_and_functions_and_no_others() {
        use minijinja::ErrorKind;
        let env = environment();
        let kind_of = |source: &str| {
            env.render_str(
                source,
                minijinja::context! { email => "a@b.example", n => 2 },
            )
            .err()
            .map(|e| e.kind())
        };
        for name in FILTERS {
            let kind = kind_of(&format!("{{{{ email|{name} }}}}"));
            assert_ne!(kind, Some(ErrorKind::UnknownFilter), "{name}");
        }
        for name in TESTS {
            let kind = kind_of(&format!("{{% if n is {name}(1) %}}{{% endif %}}"));
            assert_ne!(kind, Some(ErrorKind::UnknownTest), "{name}");
        }
        for name in FUNCTIONS {
            let kind = kind_of(&format!("{{{{ {name}(1) }}}}"));
            assert_ne!(kind, Some(ErrorKind::UnknownFunction), "{name}");
        }
        assert_eq!(kind_of("{{ email|safe }}"), Some(ErrorKind::UnknownFilter));
        assert_eq!(kind_of("{{ email|sort }}"), Some(ErrorKind::UnknownFilter));
        assert_eq!(
            kind_of("{% if n is divisibleby(2) %}{% endif %}"),
            Some(ErrorKind::UnknownTest)
        );
        assert_eq!(
            kind_of("{{ namespace() }}"),
            Some(ErrorKind::UnknownFunction)
        );
    }

    #[test]
    fn the_builtins_pass_the_callers_checks_and_render_every_kind() {
        let doc: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> =
            serde_json::from_str(builtin_json()).unwrap();
        let mut t = BTreeMap::new();
        for (lang, kinds) in &doc {
            let lang: Lang = lang.parse().unwrap();
            let mut of_lang = BTreeMap::new();
            for (kind, p) in kinds {
                let kind = TemplateKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind)
                    .unwrap();
                of_lang.insert(kind, p.clone());
            }
            t.insert(lang, of_lang);
        }
        assert_eq!(t.len(), 2);
        TemplateSet::compile(&t, Some("Example Registrar")).expect("the built-ins pass");
        let b = TemplateSet::builtin();
        for lang in [Lang::En, Lang::Zh] {
            for kind in TemplateKind::ALL {
                assert!(b.has(lang, kind), "{lang:?} {kind:?}");
            }
        }
    }

    #[test]
    fn a_caller_template_is_used_for_its_kind_and_language_and_the_builtin_for_the_rest() {
        let set = link(
            "Verify for {{ sender_name }}",
            "Open {{ link }} for {{ domains|join(', ') }}",
            "<a href=\"{{ link }}\">{{ email }}</a>",
        )
        .unwrap();
        let vars = Vars {
            link: Some("https://x.example/verify-email?Token=ab&Lang=en".into()),
            email: Some("o'neil&co@example.com".into()),
            domains: vec!["a.example".into(), "b.example".into()],
            valid_for: "3 days".into(),
            sender_name: Some("Acme <Registrar>".into()),
            ..Vars::default()
        };
        let (r, used) = render(Some(&set), Lang::En, TemplateKind::Link, &vars).unwrap();
        assert_eq!(r.subject, "Verify for Acme <Registrar>");
        assert_eq!(
            r.text,
            "Open https://x.example/verify-email?Token=ab&Lang=en for a.example, b.example"
        );
        assert_eq!(
            r.html,
            "<a href=\"https:&#x2f;&#x2f;x.example&#x2f;verify-email?Token=ab&amp;Lang=en\">o&#x27;neil&amp;co@example.com</a>"
        );
        assert!(used.version.starts_with("caller-"), "{used:?}");
        let (zh, used) = render(Some(&set), Lang::Zh, TemplateKind::Link, &vars).unwrap();
        assert_eq!(used.version, BUILTIN_VERSION);
        assert_eq!(zh.subject, "请验证您的邮箱地址");
        let (_, used) = render(Some(&set), Lang::En, TemplateKind::Reminder, &vars).unwrap();
        assert_eq!(
            (used.name.as_str(), used.version.as_str()),
            ("reminder.en", BUILTIN_VERSION)
        );
    }

    #[test]
    fn every_refusal_names_the_part_and_the_reason() {
        refused(
            link("x", "{{ link ", "{{ link }}"),
            "Templates.en.Link.Text: does not compile",
        );
        refused(
            link("x", "{{ link }} {{ password }}", "{{ link }}"),
            "Templates.en.Link.Text: uses password, which is not a variable",
        );
        refused(link("x", "{{ code }}", "{{ link }}"), "must use {{ link }}");
        refused(
            link("x", "{{ link }}{{ code }}", "{{ link }}"),
            "uses code, which a Link message does not have",
        );
        refused(
            link("x", "{{ link }}", "{{ link|safe }}"),
            "uses the filter safe",
        );
        refused(
            link(
                "x",
                "{{ link }}",
                "{% autoescape false %}{{ link }}{% endautoescape %}",
            ),
            "autoescape",
        );
        refused(
            link("x", "{{ link }}{% include 'en.Link.Html' %}", "{{ link }}"),
            "include",
        );
        refused(
            link("x", "{{ link }}", "{{ link|map('upper') }}"),
            "the filter map",
        );
        refused(
            link("x", "{{ link }}", "{{ link.upper() }}"),
            "method upper",
        );
        refused(
            link("x", "{{ link }}{{ lipsum() }}", "{{ link }}"),
            "calls lipsum()",
        );
        refused(
            link("x", "{{ link }}{{ days_left + 'x' }}", "{{ link }}"),
            "cannot be rendered",
        );
        refused(
            link("x", "{{ link }}{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}", "{{ link }}"),
            "cannot be rendered",
        );
        refused(
            one(TemplateKind::Sms, parts(&[("Text", "{{ link }}")])),
            "Templates.en.Sms.Text: must use {{ code }}",
        );
    }

    #[test]
    fn the_icann_example_is_accepted_unchanged_and_says_what_a_registrant_needs() {
        let doc = include_str!("../../examples/icann-registrant-verification.json");
        let settings =
            crate::settings::CallerSettings::parse(doc).expect("the example passes put's checks");
        let set = settings.template_set().expect("it has templates");
        for (lang, password, days, hold) in [
            (
                Lang::En,
                "We will never ask for your password",
                "5 days are left",
                "suspended (clientHold)",
            ),
            (
                Lang::Zh,
                "我们绝不会向您索要密码",
                "还有 5 天",
                "暂停解析（clientHold）",
            ),
        ] {
            let vars = preview_vars(TemplateKind::Reminder, lang, Some("Example Registrar"));
            let (r, used) = render(Some(set), lang, TemplateKind::Reminder, &vars).unwrap();
            assert!(used.version.starts_with("caller-"));
            for part in [&r.text, &r.html] {
                for needed in [
                    "example.com",
                    "例子.中国",
                    "registrant@example.com",
                    password,
                    days,
                    hold,
                    "2026-12-20 10:00:00",
                    "Example Registrar",
                ] {
                    assert!(part.contains(needed), "{lang:?} lacks {needed:?}:\n{part}");
                }
            }
            assert!(r.subject.contains("example.com +1"), "{}", r.subject);
            assert!(
                !r.text.contains('<'),
                "the text part is plain text: {}",
                r.text
            );
        }
    }

    #[test]
    fn a_text_over_one_message_with_the_longest_values_is_refused() {
        let fits = format!("{{{{ code }}}} {}", "x".repeat(150));
        assert!(one(TemplateKind::Sms, parts(&[("Text", &fits)])).is_ok());
        let over = format!("{{{{ code }}}} {}", "x".repeat(154));
        refused(
            one(TemplateKind::Sms, parts(&[("Text", &over)])),
            "161 GSM-7 characters, at most 160",
        );
        // The sender's name is counted at its own length.
        refused(
            one(
                TemplateKind::Sms,
                parts(&[(
                    "Text",
                    &format!("{{{{ sender_name }}}} {{{{ code }}}} {}", "x".repeat(136)),
                )]),
            ),
            "GSM-7",
        );
        let zh = format!("验证码 {{{{ code }}}}{}", "码".repeat(61));
        refused(
            one(TemplateKind::Sms, parts(&[("Text", &zh)])),
            "UCS-2 characters, at most 70",
        );
        assert_eq!(sms_units("€^ab"), (6, 160, "GSM-7"));
        assert_eq!(sms_units("a码"), (2, 70, "UCS-2"));
    }
}
