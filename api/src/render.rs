//! Rendering of answers: JSON (default) or XML (`Format=XML`), in the vendors' shapes.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::messages::Msg;
use crate::refusal::{Refusal, Vendor};
use shared::model::Lang;

/// An answer's fields, in order (PascalCase names).
pub type Body = Map<String, Value>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Xml,
}

impl Format {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::to_ascii_uppercase).as_deref() {
            None | Some("JSON") => Ok(Self::Json),
            Some("XML") => Ok(Self::Xml),
            Some(_) => Err(ApiError::invalid("Format", crate::phrases::JSON_OR_XML)),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json;charset=utf-8",
            Self::Xml => "application/xml;charset=utf-8",
        }
    }
}

/// An upper-case UUID, as the vendors write request ids.
pub fn request_id_from(lambda_request_id: &str) -> String {
    match uuid::Uuid::parse_str(lambda_request_id) {
        Ok(id) => id.hyphenated().to_string().to_uppercase(),
        Err(_) => uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase(),
    }
}

/// Which vendor's envelope an action answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Flat PascalCase objects; errors are HTTP 4xx/5xx `{"RequestId", "Code", "Message"}`; JSON or XML.
    Alibaba,
    /// `{"Response": {...}}`; errors are HTTP 200 `{"Response": {"Error": {...}, "RequestId"}}`, JSON only.
    Tencent,
}

/// Tencent's SDK raises an error only for this exact content type (no charset).
/// An answer on the wire, whatever carries it: its HTTP status, content type and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    /// Extra headers (the link page's security headers).
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Answer {
    pub fn new(status: u16, content_type: &str, body: String) -> Self {
        Self {
            status,
            content_type: content_type.to_string(),
            body,
            headers: Vec::new(),
        }
    }
}

impl Refusal {
    /// The refusal in `vendor`'s envelope: Alibaba's 4xx/5xx `{RequestId, Code, Message}`, or Tencent's
    /// HTTP 200 `{"Response": {"Error": {Code, Message}, "RequestId"}}` (the only error form its SDK reads).
    pub fn answer(&self, vendor: Vendor, request_id: &str, lang: Lang) -> Answer {
        let message = Msg::Refused(self.clone()).text(lang);
        match vendor {
            Vendor::Alibaba => {
                let (code, status) = self.alibaba();
                let body =
                    serde_json::json!({"RequestId": request_id, "Code": code, "Message": message});
                Answer::new(status, "application/json;charset=utf-8", body.to_string())
            }
            Vendor::Tencent => {
                let body = serde_json::json!({"Response": {"Error": {"Code": self.tencent(), "Message": message}, "RequestId": request_id}});
                Answer::new(200, TENCENT_CONTENT_TYPE, body.to_string())
            }
        }
    }
}

pub const TENCENT_CONTENT_TYPE: &str = "application/json";

/// A Tencent-style success: `{"Response": {...fields, "RequestId"}}`.
pub fn tencent_success(request_id: &str, body: Body) -> String {
    let mut response = body;
    response.insert("RequestId".into(), Value::String(request_id.into()));
    let mut all = Map::new();
    all.insert("Response".into(), Value::Object(response));
    Value::Object(all).to_string()
}

/// A Tencent-style error: `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`; a refused send also
/// says `RetryAfterSeconds` in `Error`.
pub fn tencent_error(request_id: &str, err: &ApiError, lang: Lang) -> String {
    let mut error = Map::new();
    error.insert("Code".into(), Value::String(err.tencent_code().into()));
    error.insert("Message".into(), Value::String(err.msg().text(lang)));
    if let ApiError::CodeSendLimited {
        retry_after_seconds,
    } = err
    {
        error.insert(
            "RetryAfterSeconds".into(),
            Value::from(*retry_after_seconds),
        );
    }
    let mut response = Map::new();
    response.insert("Error".into(), Value::Object(error));
    response.insert("RequestId".into(), Value::String(request_id.into()));
    let mut all = Map::new();
    all.insert("Response".into(), Value::Object(response));
    Value::Object(all).to_string()
}

/// A success: `RequestId` first, then the action's fields.
pub fn success(action: &str, request_id: &str, body: Body, format: Format) -> String {
    let mut all = Map::new();
    all.insert("RequestId".into(), Value::String(request_id.into()));
    all.extend(body);
    render(&format!("{action}Response"), &all, format)
}

/// A whole-request error: `{"RequestId", "Code", "Message"}` (XML root `Error`).
pub fn error(request_id: &str, err: &ApiError, lang: Lang, format: Format) -> String {
    let mut all = Map::new();
    all.insert("RequestId".into(), Value::String(request_id.into()));
    all.insert("Code".into(), Value::String(err.code().into()));
    all.insert("Message".into(), Value::String(err.msg().text(lang)));
    render("Error", &all, format)
}

fn render(root: &str, body: &Body, format: Format) -> String {
    match format {
        Format::Json => Value::Object(body.clone()).to_string(),
        Format::Xml => xml(root, body),
    }
}

/// The element name of one entry of a list field, as in the vendor's XML examples.
fn item_name(list: &str) -> &'static str {
    match list {
        "Data" => "EmailVerification",
        "Domains" => "Domain",
        "Evidence" => "Entry",
        _ => "SendResult",
    }
}

fn xml(root: &str, body: &Body) -> String {
    let mut w = Writer::new(Vec::new());
    // Writing into a Vec cannot fail; a failed write would only shorten the document.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    write_element(&mut w, root, &Value::Object(body.clone()), root);
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// XML 1.0 allows tab, newline, carriage return and the characters from U+0020 but U+FFFE and U+FFFF:
/// every other character (control characters above all) becomes U+FFFD, so that no value can make the
/// answer ill-formed.
fn xml_text(s: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if s.chars().all(allowed) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
            .collect(),
    )
}

fn write_element(w: &mut Writer<Vec<u8>>, name: &str, value: &Value, field: &str) {
    let _ = w.write_event(Event::Start(BytesStart::new(name)));
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                write_element(w, k, v, k);
            }
        }
        Value::Array(items) => {
            for item in items {
                write_element(w, item_name(field), item, field);
            }
        }
        Value::String(s) => {
            // Escaped here: `<`, `>`, `&`, quotes, and a carriage return as `&#xD;`, which a reader would
            // otherwise normalise into a line feed.
            let escaped = quick_xml::escape::escape(xml_text(s).as_ref()).replace('\r', "&#xD;");
            let _ = w.write_event(Event::Text(BytesText::from_escaped(escaped)));
        }
        Value::Null => {}
        other => {
            let _ = w.write_event(Event::Text(BytesText::new(&other.to_string())));
        }
    }
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test bodies are objects"),
        }
    }

    #[test]
    fn json_puts_the_request_id_first_and_keeps_order() {
        let out = success(
            "X",
            "ID-1",
            body(json!({"SuccessList": [], "FailList": []})),
            Format::Json,
        );
        assert_eq!(
            out,
            r#"{"RequestId":"ID-1","SuccessList":[],"FailList":[]}"#
        );
    }

    #[test]
    fn xml_has_the_vendor_shape_and_escapes() {
        let b = body(
            json!({"FailList": [{"Email": "a<b>@x.com", "Code": "ParameterIllegal"}], "SuccessList": []}),
        );
        let out = success("ResendEmailVerification", "ID-1", b, Format::Xml);
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ResendEmailVerificationResponse><RequestId>ID-1</RequestId>\
<FailList><SendResult><Email>a&lt;b&gt;@x.com</Email><Code>ParameterIllegal</Code></SendResult></FailList>\
<SuccessList></SuccessList></ResendEmailVerificationResponse>"
        );
    }

    /// Issue 9, defect 5: control characters in a value must not make the XML answer ill-formed.
    #[test]
    fn xml_stays_well_formed_whatever_the_values_hold() {
        let b = body(
            json!({"FailList": [{"Email": "a\u{1}b\u{8}c\u{1b}@x.com\u{fffe}", "Code": "ParameterIllegal"}]}),
        );
        let out = success("SubmitEmailVerification", "ID-1", b, Format::Xml);
        let mut reader = quick_xml::Reader::from_str(&out);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Text(t)) => {
                    let raw = t.decode().unwrap();
                    let text = quick_xml::escape::unescape(&raw).unwrap();
                    assert!(
                        text.chars()
                            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')),
                        "{text:?}"
                    );
                    assert!(!text.contains('\u{fffe}'), "{text:?}");
                }
                Ok(_) => {}
                Err(e) => panic!("ill-formed XML ({e}): {out}"),
            }
        }
        assert!(
            out.contains("<Email>a\u{fffd}b\u{fffd}c\u{fffd}@x.com\u{fffd}</Email>"),
            "{out}"
        );
    }

    /// A carriage return survives the round trip (XML readers turn a raw one into a line feed).
    #[test]
    fn a_carriage_return_reads_back_as_itself() {
        let out = success("X", "ID", body(json!({"Email": "a\r\nb<&>"})), Format::Xml);
        // XML 1.0 (2.11) has every conforming reader turn a raw CR into LF: none may be left raw.
        assert!(!out.contains('\r'), "{out:?}");
        // The text of <Email>, with its character and entity references resolved (the reader hands them
        // over as events of their own).
        let mut reader = quick_xml::Reader::from_str(&out);
        let (mut inside, mut text) = (false, String::new());
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) => inside = e.name().as_ref() == b"Email",
                quick_xml::events::Event::End(_) => inside = false,
                quick_xml::events::Event::Text(t) if inside => text.push_str(&t.decode().unwrap()),
                quick_xml::events::Event::GeneralRef(r) if inside => {
                    match r.resolve_char_ref().unwrap() {
                        Some(c) => text.push(c),
                        None => text.push_str(
                            quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap())
                                .unwrap(),
                        ),
                    }
                }
                _ => {}
            }
        }
        assert_eq!(text, "a\r\nb<&>", "from {out}");
    }

    #[test]
    fn errors_are_localised() {
        let err = ApiError::missing("Email");
        let zh = error("ID", &err, Lang::Zh, Format::Json);
        let v: Value = serde_json::from_str(&zh).unwrap();
        assert_eq!(v["Code"], "ParameterIllegal");
        assert_eq!(v["Message"], "缺少必填参数 Email。");
        assert!(error("ID", &err, Lang::En, Format::Xml).starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>ID</RequestId><Code>ParameterIllegal</Code>"));
    }

    #[test]
    fn tencent_envelopes() {
        let ok = tencent_success("ID", body(json!({"TotalCount": 0})));
        assert_eq!(ok, r#"{"Response":{"TotalCount":0,"RequestId":"ID"}}"#);
        let err = tencent_error(
            "ID",
            &ApiError::CodeSendLimited {
                retry_after_seconds: 42,
            },
            Lang::En,
        );
        let v: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(
            v["Response"]["Error"]["Code"],
            "FailedOperation.SendVerifyCodeIsLimited"
        );
        assert_eq!(v["Response"]["Error"]["RetryAfterSeconds"], 42);
        assert_eq!(v["Response"]["RequestId"], "ID");
        let missing = tencent_error("ID", &ApiError::missing("Type"), Lang::Zh);
        assert!(
            missing.contains("\"MissingParameter\"") && missing.contains("缺少必填参数 Type。")
        );
    }

    #[test]
    fn request_ids_are_upper_case_uuids() {
        assert_eq!(
            request_id_from("0ea54e99-db48-4ce3-a099-6ed8e451b8ac"),
            "0EA54E99-DB48-4CE3-A099-6ED8E451B8AC"
        );
        let made = request_id_from("not-a-uuid");
        assert_eq!(made.len(), 36);
        assert_eq!(made, made.to_uppercase());
    }

    #[test]
    fn format_is_json_or_xml() {
        assert_eq!(Format::parse(None).unwrap(), Format::Json);
        assert_eq!(Format::parse(Some("xml")).unwrap(), Format::Xml);
        assert_eq!(
            Format::parse(Some("yaml")).unwrap_err().code(),
            "ParameterIllegal"
        );
    }
}
