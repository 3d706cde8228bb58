//! A caller's settings document (the contract's "Caller settings"): every member optional, absent settings =
//! the vendors' behaviour. Parsed once, whole: [`CallerSettings::parse`] checks every member and names each
//! field that is wrong and why, so that `make callers ARGS='put ...'` stores all of it or nothing.
//!
//! The members and what they do:
//! - `Deadline` (`Days` 1–60, `RemindAfterDays` ascending, each below `Days`): the registrar's deadline;
//! - `Sender` (`Address`, `Name`, `ReplyTo`) and `Templates` (per language and kind): the caller's brand;
//! - `Webhooks` (`Url`, `Secret`, `Events`): where its events are pushed;
//! - `MailPerDay`: its own cap of mails a UTC day, in place of the stack's `MailPerDayPerCaller`.
//!
//! Here they are checked for their shape and their values; what uses them checks nothing again.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::model::{EmailAddress, Lang};
pub use crate::problem::Problem;
use crate::templates::TemplateSet;
pub use crate::templates::{TemplateKind, TemplateParts};

/// The event types a webhook may ask for (the contract's "Events"), `*` for all.
pub fn event_types() -> Vec<&'static str> {
    crate::events::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect()
}

/// The largest settings document (its JSON text), and the largest template part.
pub const MAX_DOCUMENT_BYTES: usize = 350 * 1024;
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
pub const MAX_WEBHOOKS: usize = 10;
pub const MAX_REMINDERS: usize = 10;
pub const MAX_MAIL_PER_DAY: u64 = 10_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// Days from the first send to the deadline (1–60).
    pub days: u32,
    /// Days after the first send on which a reminder goes, ascending, each below `days`.
    pub remind_after_days: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sender {
    pub address: EmailAddress,
    pub name: Option<String>,
    pub reply_to: Option<EmailAddress>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    /// The signing key: the bytes of the base64 part after `whsec_`.
    pub key: Vec<u8>,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
}

/// A caller's settings, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerSettings {
    pub deadline: Option<Deadline>,
    pub sender: Option<Sender>,
    pub templates: BTreeMap<Lang, BTreeMap<TemplateKind, TemplateParts>>,
    pub webhooks: Vec<Webhook>,
    pub mail_per_day: Option<u32>,
    /// `templates`, compiled and checked (once, as the document is read).
    pub compiled: Compiled,
}

/// A caller's templates, compiled. Two settings are equal when their `templates` are: this follows them.
#[derive(Clone, Default)]
pub struct Compiled(Option<std::sync::Arc<TemplateSet>>);

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Compiled(Some)"
        } else {
            "Compiled(None)"
        })
    }
}

impl PartialEq for Compiled {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Compiled {}

impl CallerSettings {
    /// The caller's own templates, when it set any.
    pub fn template_set(&self) -> Option<&TemplateSet> {
        self.compiled.0.as_deref()
    }
}

/// Collects the problems of one document.
struct Check(Vec<Problem>);

impl Check {
    fn fail(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            reason: reason.into(),
        });
    }

    /// The members of an object, each known one once; every other member is a problem.
    fn object<'a>(
        &mut self,
        field: &str,
        v: &'a Value,
        known: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(map) = v.as_object() else {
            self.fail(field, "must be a JSON object");
            return None;
        };
        for name in map.keys() {
            if !known.contains(&name.as_str()) {
                let at = if field == "(document)" {
                    name.clone()
                } else {
                    format!("{field}.{name}")
                };
                self.fail(
                    at,
                    format!(
                        "is not a member here (the members are {})",
                        known.join(", ")
                    ),
                );
            }
        }
        Some(map)
    }

    fn integer(&mut self, field: &str, v: &Value, min: u64, max: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.fail(field, format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    }

    fn address(&mut self, field: &str, v: &Value) -> Option<EmailAddress> {
        match v.as_str().map(EmailAddress::parse) {
            Some(Ok(a)) => Some(a),
            _ => {
                self.fail(field, "must be a valid email address");
                None
            }
        }
    }
}

fn join(parent: &str, name: &str) -> String {
    format!("{parent}.{name}")
}

/// `https://` (or `http://` to a loopback host, for the local stack), as links are.
fn https_url(url: &str) -> bool {
    crate::https::link_base(url).is_ok_and(|u| !u.is_empty()) && !url.contains(char::is_whitespace)
}

impl CallerSettings {
    /// Reads and checks a whole document; every problem, or the settings.
    pub fn parse(text: &str) -> Result<Self, Vec<Problem>> {
        let problem = |field: &str, reason: String| {
            vec![Problem {
                field: field.into(),
                reason,
            }]
        };
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(problem(
                "(document)",
                format!("is over {} KiB", MAX_DOCUMENT_BYTES / 1024),
            ));
        }
        let doc: Value = serde_json::from_str(text).map_err(|e| {
            problem(
                "(document)",
                format!(
                    "is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let mut check = Check(Vec::new());
        let mut settings = CallerSettings::default();
        let Some(top) = check.object(
            "(document)",
            &doc,
            &["Deadline", "Sender", "Templates", "Webhooks", "MailPerDay"],
        ) else {
            return Err(check.0);
        };
        if let Some(v) = top.get("Deadline") {
            settings.deadline = deadline(&mut check, v);
        }
        if let Some(v) = top.get("Sender") {
            settings.sender = sender(&mut check, v);
        }
        if let Some(v) = top.get("Templates") {
            settings.templates = templates(&mut check, v);
        }
        if let Some(v) = top.get("Webhooks") {
            settings.webhooks = webhooks(&mut check, v);
        }
        if let Some(v) = top.get("MailPerDay") {
            settings.mail_per_day = check
                .integer("MailPerDay", v, 1, MAX_MAIL_PER_DAY)
                .map(|n| n as u32);
        }
        if !settings.templates.is_empty() {
            let name = settings.sender.as_ref().and_then(|s| s.name.as_deref());
            match TemplateSet::compile(&settings.templates, name) {
                Ok(set) => settings.compiled = Compiled(Some(std::sync::Arc::new(set))),
                Err(problems) => check.0.extend(problems),
            }
        }
        if check.0.is_empty() {
            Ok(settings)
        } else {
            Err(check.0)
        }
    }
}

fn deadline(check: &mut Check, v: &Value) -> Option<Deadline> {
    let map = check.object("Deadline", v, &["Days", "RemindAfterDays"])?;
    let days = match map.get("Days") {
        Some(d) => check.integer("Deadline.Days", d, 1, 60),
        None => {
            check.fail("Deadline.Days", "is required (1 to 60)");
            None
        }
    };
    let mut remind = Vec::new();
    if let Some(list) = map.get("RemindAfterDays") {
        match list.as_array() {
            Some(items) if items.len() <= MAX_REMINDERS => {
                for (i, item) in items.iter().enumerate() {
                    let field = format!("Deadline.RemindAfterDays[{i}]");
                    let Some(n) = check.integer(&field, item, 1, 59) else {
                        continue;
                    };
                    if remind.last().is_some_and(|last| n <= u64::from(*last)) {
                        check.fail(
                            field,
                            "must be greater than the day before it (ascending, each once)",
                        );
                    } else if days.is_some_and(|d| n >= d) {
                        check.fail(
                            field,
                            format!("must be less than Deadline.Days ({})", days.unwrap_or(0)),
                        );
                    } else {
                        remind.push(n as u32);
                    }
                }
            }
            Some(_) => check.fail(
                "Deadline.RemindAfterDays",
                format!("must hold at most {MAX_REMINDERS} days"),
            ),
            None => check.fail(
                "Deadline.RemindAfterDays",
                "must be a list of whole numbers of days",
            ),
        }
    }
    Some(Deadline {
        days: days? as u32,
        remind_after_days: remind,
    })
}

fn sender(check: &mut Check, v: &Value) -> Option<Sender> {
    let map = check.object("Sender", v, &["Address", "Name", "ReplyTo"])?;
    let address = match map.get("Address") {
        Some(a) => check.address("Sender.Address", a),
        None => {
            check.fail("Sender.Address", "is required");
            None
        }
    };
    let name = map.get("Name").and_then(|n| match n.as_str() {
        Some(s)
            if !s.trim().is_empty()
                && s.chars().count() <= 100
                && !s
                    .chars()
                    .any(|c| c.is_control() || c == '"' || c == '<' || c == '>') =>
        {
            Some(s.trim().to_string())
        }
        _ => {
            check.fail(
                "Sender.Name",
                "must be one line of 1 to 100 characters, without \", < or >",
            );
            None
        }
    });
    let reply_to = map
        .get("ReplyTo")
        .and_then(|r| check.address("Sender.ReplyTo", r));
    Some(Sender {
        address: address?,
        name,
        reply_to,
    })
}

fn templates(
    check: &mut Check,
    v: &Value,
) -> BTreeMap<Lang, BTreeMap<TemplateKind, TemplateParts>> {
    let mut out = BTreeMap::new();
    let Some(langs) = check.object("Templates", v, &["en", "zh"]) else {
        return out;
    };
    for (lang_name, kinds_value) in langs {
        let lang = match lang_name.as_str() {
            "en" => Lang::En,
            "zh" => Lang::Zh,
            _ => continue, // reported as an unknown member
        };
        let field = join("Templates", lang_name);
        let kind_names: Vec<&str> = TemplateKind::ALL.iter().map(|k| k.as_str()).collect();
        let Some(kinds) = check.object(&field, kinds_value, &kind_names) else {
            continue;
        };
        let mut of_lang = BTreeMap::new();
        for kind in TemplateKind::ALL {
            let Some(parts_value) = kinds.get(kind.as_str()) else {
                continue;
            };
            let field = join(&field, kind.as_str());
            let Some(parts) = check.object(&field, parts_value, kind.parts()) else {
                continue;
            };
            let mut kept = TemplateParts::new();
            for part in kind.parts() {
                let at = join(&field, part);
                match parts.get(*part).map(Value::as_str) {
                    None => check.fail(at, "is required"),
                    Some(None) => check.fail(at, "must be a string"),
                    Some(Some(text)) if text.trim().is_empty() => {
                        check.fail(at, "must not be empty")
                    }
                    Some(Some(text)) if text.len() > MAX_TEMPLATE_BYTES => {
                        check.fail(at, format!("is over {} KiB", MAX_TEMPLATE_BYTES / 1024))
                    }
                    Some(Some(text)) if *part == "Subject" && text.contains(['\r', '\n']) => {
                        check.fail(at, "must be one line")
                    }
                    Some(Some(text)) => {
                        kept.insert(part.to_string(), text.to_string());
                    }
                }
            }
            of_lang.insert(kind, kept);
        }
        out.insert(lang, of_lang);
    }
    out
}

fn webhooks(check: &mut Check, v: &Value) -> Vec<Webhook> {
    let mut out = Vec::new();
    let Some(list) = v.as_array() else {
        check.fail("Webhooks", "must be a list");
        return out;
    };
    if list.len() > MAX_WEBHOOKS {
        check.fail(
            "Webhooks",
            format!("must hold at most {MAX_WEBHOOKS} endpoints"),
        );
        return out;
    }
    for (i, item) in list.iter().enumerate() {
        let field = format!("Webhooks[{i}]");
        let Some(map) = check.object(&field, item, &["Url", "Secret", "Events"]) else {
            continue;
        };
        let url = match map.get("Url").and_then(Value::as_str) {
            Some(u) if https_url(u) => Some(u.to_string()),
            _ => {
                check.fail(
                    join(&field, "Url"),
                    "must be an https:// URL (http:// only for a loopback host)",
                );
                None
            }
        };
        let key = match map
            .get("Secret")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("whsec_"))
            .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64))
        {
            Some(Ok(key)) if (24..=64).contains(&key.len()) => Some(key),
            _ => {
                check.fail(
                    join(&field, "Secret"),
                    "must be whsec_ followed by 24 to 64 bytes in base64 (Standard Webhooks)",
                );
                None
            }
        };
        let events = match map.get("Events") {
            None => vec!["*".to_string()],
            Some(Value::Array(events)) if !events.is_empty() => {
                let mut kept = Vec::new();
                for (j, e) in events.iter().enumerate() {
                    match e.as_str() {
                        Some(name) if name == "*" || event_types().contains(&name) => {
                            kept.push(name.to_string())
                        }
                        _ => check.fail(
                            format!("{field}.Events[{j}]"),
                            format!("must be * or one of {}", event_types().join(", ")),
                        ),
                    }
                }
                kept
            }
            Some(_) => {
                check.fail(
                    join(&field, "Events"),
                    "must be a non-empty list of event types",
                );
                Vec::new()
            }
        };
        if let (Some(url), Some(key)) = (url, key) {
            out.push(Webhook { url, key, events });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(doc: Value) -> Vec<String> {
        CallerSettings::parse(&doc.to_string())
            .expect_err("refused")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn an_empty_document_is_todays_behaviour_and_a_full_one_is_read_whole() {
        assert_eq!(
            CallerSettings::parse("{}").unwrap(),
            CallerSettings::default()
        );
        let s = CallerSettings::parse(
            &json!({
                "Deadline": {"Days": 15, "RemindAfterDays": [5, 10, 13]},
                "Sender": {"Address": "verify@registrar.example", "Name": "Example Registrar", "ReplyTo": "help@registrar.example"},
                "Templates": {"en": {"Sms": {"Text": "{{ code }}"}, "Link": {"Subject": "Verify", "Text": "{{ link }}", "Html": "<a href=\"{{ link }}\">x</a>"}}},
                "Webhooks": [{"Url": "https://hooks.registrar.example/verify", "Secret": SECRET, "Events": ["*"]}],
                "MailPerDay": 10000
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            s.deadline,
            Some(Deadline {
                days: 15,
                remind_after_days: vec![5, 10, 13]
            })
        );
        assert_eq!(s.sender.unwrap().name.as_deref(), Some("Example Registrar"));
        assert_eq!(
            s.templates[&Lang::En][&TemplateKind::Sms]["Text"],
            "{{ code }}"
        );
        assert_eq!(s.webhooks[0].key.len(), 24);
        assert_eq!(s.mail_per_day, Some(10_000));
    }

    #[test]
    fn every_problem_is_named_with_its_field_and_reason() {
        let all = problems(json!({
            "Deadline": {"Days": 61, "RemindAfterDays": [5, 5, 0], "Extra": 1},
            "Sender": {"Name": "Bad \"Name\""},
            "Templates": {"fr": {}, "en": {"Link": {"Subject": "two\nlines", "Text": ""}, "Sms": {"Text": 1}}},
            "Webhooks": [{"Url": "http://hooks.example", "Secret": "nope", "Events": ["email.nope"]}],
            "MailPerDay": 0,
            "Unknown": true
        }));
        for expected in [
            "Deadline.Days: must be a whole number from 1 to 60",
            "Deadline.RemindAfterDays[1]: must be greater than the day before it",
            "Deadline.RemindAfterDays[2]: must be a whole number from 1 to 59",
            "Deadline.Extra: is not a member here",
            "Sender.Address: is required",
            "Sender.Name: must be one line",
            "Templates.fr: is not a member here",
            "Templates.en.Link.Subject: must be one line",
            "Templates.en.Link.Text: must not be empty",
            "Templates.en.Link.Html: is required",
            "Templates.en.Sms.Text: must be a string",
            "Webhooks[0].Url: must be an https:// URL",
            "Webhooks[0].Secret: must be whsec_",
            "Webhooks[0].Events[0]: must be * or one of",
            "MailPerDay: must be a whole number from 1 to",
            "Unknown: is not a member here",
        ] {
            assert!(
                all.iter().any(|p| p.starts_with(expected)),
                "{expected:?} missing from {all:#?}"
            );
        }
        assert_eq!(
            problems(json!({"Deadline": {"Days": 10, "RemindAfterDays": [3, 10]}})),
            ["Deadline.RemindAfterDays[1]: must be less than Deadline.Days (10)"]
        );
        assert_eq!(
            problems(json!({"Deadline": {"RemindAfterDays": [3]}})),
            ["Deadline.Days: is required (1 to 60)"]
        );
        assert_eq!(problems(json!([1])), ["(document): must be a JSON object"]);
        let not_json = CallerSettings::parse("{\"Deadline\":").unwrap_err();
        assert!(not_json[0]
            .to_string()
            .starts_with("(document): is not valid JSON"));
        let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_DOCUMENT_BYTES));
        assert!(CallerSettings::parse(&huge).unwrap_err()[0]
            .reason
            .contains("KiB"));
    }
}
