//! The XML writer: `render::success` and `render::error` with `Format::Xml` on any values (a JSON object
//! from the input, or fields cut from it). The answer must be well-formed (only characters XML allows,
//! matching tags, one root, defined entities) and every text must read back as given, but the characters
//! XML forbids, which become U+FFFD. Text is read as a conforming XML 1.0 reader does, end-of-line handling
//! included: a carriage return must come back as itself (DEFECT_CR in shared/tests/properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event;
use serde_json::{Map, Value};
use api::error::ApiError;
use shared::model::Lang;
use api::render::{self, Format};

const NAMES: [&str; 6] = [
    "Email",
    "Data",
    "Code",
    "SuccessList",
    "Message",
    "FailList",
];

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let (request_id, body) = if mode % 2 == 0 {
        // Field names come from the code, never from a request (they are not escaped): only values are fuzzed.
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(rest) else {
            return;
        };
        if !names_ok(&Value::Object(body.clone())) {
            return;
        }
        ("ID".to_string(), body)
    } else {
        // Fields cut at '|'; the list fields hold items cut at ','.
        let mut pieces = text.split('|');
        let request_id = pieces.next().unwrap_or_default().to_string();
        let mut body = Map::new();
        for (i, piece) in pieces.enumerate() {
            let name = format!("{}{}", NAMES[i % NAMES.len()], i / NAMES.len());
            let value = if name.contains("List") || name.starts_with("Data") {
                Value::Array(
                    piece
                        .split(',')
                        .map(|item| serde_json::json!({ "Email": item, "Code": item.len() }))
                        .collect(),
                )
            } else {
                Value::from(piece)
            };
            body.insert(name, value);
        }
        (request_id, body)
    };
    let doc = render::success("Fuzz", &request_id, body.clone(), Format::Xml);
    let mut all = Map::new();
    all.insert("RequestId".into(), Value::from(request_id.as_str()));
    all.extend(body);
    assert_eq!(
        read(&doc),
        expected("FuzzResponse", &Value::Object(all), "FuzzResponse"),
        "{doc:?}"
    );

    let n = rest
        .iter()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(*b as u64));
    let err = match mode % 4 {
        0 => ApiError::CodeWrong {
            tries_left: n as u32,
        },
        1 => ApiError::CodeSendLimited {
            retry_after_seconds: n as i64,
        },
        2 => ApiError::missing("Email"),
        _ => ApiError::invalid("Code", "a valid email address"),
    };
    let lang = if mode & 4 == 0 { Lang::En } else { Lang::Zh };
    let doc = render::error(&text, &err, lang, Format::Xml);
    let mut want = Element {
        name: "Error".into(),
        ..Element::default()
    };
    for (name, value) in [
        ("RequestId", text.to_string()),
        ("Code", err.code().to_string()),
        ("Message", err.msg().text(lang)),
    ] {
        want.children.push(Element {
            name: name.into(),
            text: sanitised(&value),
            children: Vec::new(),
        });
    }
    assert_eq!(read(&doc), want, "{doc:?}");
});

/// Whether every field name is a plain XML name, as the answers' names are (`SuccessList`, `Email`...).
fn names_ok(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.iter().all(|(k, v)| {
            k.starts_with(|c: char| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric())
                && names_ok(v)
        }),
        Value::Array(items) => items.iter().all(names_ok),
        _ => true,
    }
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn sanitised(s: &str) -> String {
    s.chars()
        .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

fn expected(name: &str, value: &Value, field: &str) -> Element {
    let mut el = Element {
        name: name.into(),
        ..Element::default()
    };
    match value {
        Value::Object(map) => el.children = map.iter().map(|(k, v)| expected(k, v, k)).collect(),
        Value::Array(items) => {
            let item = if field == "Data" {
                "EmailVerification"
            } else {
                "SendResult"
            };
            el.children = items.iter().map(|v| expected(item, v, field)).collect();
        }
        Value::String(s) => el.text = sanitised(s),
        Value::Null => {}
        other => el.text = other.to_string(),
    }
    el
}

/// The document as a tree; panics (a finding) when it is not well-formed.
fn read(doc: &str) -> Element {
    if let Some(c) = doc.chars().find(|c| !xml_char(*c)) {
        panic!("character {c:?} is not allowed in XML: {doc:?}");
    }
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    match reader.read_event() {
        Ok(Event::Decl(_)) => {}
        other => panic!("no XML declaration first: {other:?}"),
    }
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("ill-formed ({e}): {doc:?}"))
        {
            Event::Start(s) => {
                assert!(root.is_none(), "a second root: {doc:?}");
                stack.push(Element {
                    name: String::from_utf8(s.name().as_ref().to_vec()).unwrap(),
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let el = stack.pop().expect("an end tag without a start");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("text outside the root")
                .text
                .push_str(&t.xml10_content().unwrap()),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c,
                    None => match r.decode().unwrap().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => panic!("undefined entity &{other};: {doc:?}"),
                    },
                };
                assert!(xml_char(c), "a reference to {c:?}: {doc:?}");
                stack
                    .last_mut()
                    .expect("a reference outside the root")
                    .text
                    .push(c);
            }
            Event::Eof => break,
            other => panic!("unexpected {other:?}: {doc:?}"),
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {doc:?}");
    root.expect("no root element")
}
