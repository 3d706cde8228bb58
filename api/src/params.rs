//! Request parameters: from the query string, a form body or a JSON body (a body wins over the query),
//! and the typed readers every action uses.

use std::collections::HashMap;

use crate::error::ApiError;
use crate::messages::ParamProblem;
use crate::phrases::Phrase;
use shared::code::{Contact, ContactType, VerifyCode};
use shared::model::{DomainName, EmailAddress, Lang, Token};

pub use crate::error::MAX_BODY_BYTES;

/// The most addresses one call may name.
pub const MAX_EMAILS: usize = 100;
/// The most domain names one `Domains` may hold.
pub const MAX_DOMAINS: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>, Shadowed);

/// The names that a body gave again over the query string (the body's value counts, as the contract says).
/// A signed request names each parameter once: the front door refuses these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Shadowed(Vec<String>);

impl Params {
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            Shadowed::default(),
        )
    }

    /// Merges the query string with the body. `content_type` chooses how the body is read; an empty body
    /// adds nothing. A JSON body must be an object; its arrays of strings become comma-separated lists.
    pub fn parse(query: &str, content_type: &str, body: &[u8]) -> Result<Self, ApiError> {
        let mut map = once_each(form_urlencoded::parse(query.as_bytes()).into_owned())?;
        let body_is_blank = body.iter().all(u8::is_ascii_whitespace);
        let mut shadowed = Vec::new();
        if !body_is_blank {
            let ct = content_type.to_ascii_lowercase();
            let from_body = if ct.starts_with("application/x-www-form-urlencoded") {
                once_each(form_urlencoded::parse(body).into_owned())?
            } else if ct.is_empty() || ct.contains("json") || ct.starts_with("text/plain") {
                json_object(body)?
            } else {
                return Err(ApiError::invalid(
                    "Content-Type",
                    crate::phrases::A_CONTENT_TYPE,
                ));
            };
            for (k, v) in from_body {
                if map.insert(k.clone(), v).is_some() {
                    shadowed.push(k);
                }
            }
        }
        Ok(Self(map, Shadowed(shadowed)))
    }

    /// A name that both the query string and the body gave (the body's value is the one read).
    pub fn given_twice(&self) -> Option<&str> {
        self.1 .0.first().map(String::as_str)
    }

    /// A parameter's value exactly as it came (the front door signs these).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets `name` to `value` unless the request gave it.
    pub fn or_default(mut self, name: &str, value: &str) -> Self {
        self.0
            .entry(name.to_string())
            .or_insert_with(|| value.to_string());
        self
    }

    /// Every parameter as it came, in no particular order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A parameter's value, trimmed; absent and blank are the same.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    pub fn lang(&self) -> Result<Lang, ApiError> {
        self.get("Lang").map_or(Ok(Lang::En), |v| {
            v.parse()
                .map_err(|_| ApiError::ParameterIllegal(ParamProblem::UnknownLang))
        })
    }

    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ApiError::invalid(name, crate::phrases::TRUE_OR_FALSE)),
        }
    }

    /// An integer within `range`, or `default` when absent.
    pub fn int(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<i64>,
        expected: impl Into<Phrase>,
        default: Option<i64>,
    ) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if range.contains(&n) => Ok(Some(n)),
                _ => Err(ApiError::invalid(name, expected)),
            },
        }
    }

    /// `PageNum` (at least 1, default 1) and `PageSize` (1 to `max`, default `default`): Alibaba's paging.
    pub fn page_num_and_size(&self, max: i64, default: i64) -> Result<(u64, u64), ApiError> {
        let num = self
            .int(
                "PageNum",
                1..=i64::from(u32::MAX),
                crate::phrases::AT_LEAST_1,
                Some(1),
            )?
            .unwrap_or(1);
        let size = self
            .int(
                "PageSize",
                1..=max,
                crate::phrases::FROM_1_TO_500,
                Some(default),
            )?
            .unwrap_or(default);
        Ok((num as u64, size as u64))
    }

    pub fn token(&self) -> Result<Token, ApiError> {
        let raw = self.get("Token").ok_or(ApiError::missing("Token"))?;
        Token::parse(raw).map_err(|_| ApiError::ParameterIllegal(ParamProblem::MalformedToken))
    }

    /// One address (Query): a malformed one fails the request.
    pub fn email(&self) -> Result<EmailAddress, ApiError> {
        let raw = self.get("Email").ok_or(ApiError::missing("Email"))?;
        EmailAddress::parse(raw)
            .map_err(|_| ApiError::invalid("Email", crate::phrases::ONE_EMAIL_ADDRESS))
    }

    /// A comma-separated list of 1 to 100 addresses. Malformed ones are kept apart so that the good ones of
    /// the same call can still be served; duplicates (after normalisation) are served once.
    /// `Domains` (Submit, Resend): the domain names the contact covers, separated by commas (or a JSON
    /// array), at most [`MAX_DOMAINS`], each IDNA-checked; repeats are kept once. `None` when absent.
    pub fn domains(&self) -> Result<Option<Vec<DomainName>>, ApiError> {
        let Some(raw) = self.get("Domains") else {
            return Ok(None);
        };
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.len() > MAX_DOMAINS {
            return Err(ApiError::invalid(
                "Domains",
                crate::phrases::AT_MOST_100_DOMAINS,
            ));
        }
        let mut list: Vec<DomainName> = Vec::new();
        for item in items {
            let name = DomainName::parse(item)
                .map_err(|_| ApiError::invalid("Domains", crate::phrases::DOMAIN_NAMES))?;
            if !list.contains(&name) {
                list.push(name);
            }
        }
        Ok(Some(list))
    }

    pub fn email_list(&self) -> Result<EmailList, ApiError> {
        let raw = self.get("Email").ok_or(ApiError::missing("Email"))?;
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Err(ApiError::missing("Email"));
        }
        if items.len() > MAX_EMAILS {
            return Err(ApiError::ParameterIllegal(ParamProblem::TooManyEmails {
                max: MAX_EMAILS,
            }));
        }
        let mut list = EmailList::default();
        for item in items {
            match EmailAddress::parse(item) {
                Ok(email) if !list.valid.contains(&email) => list.valid.push(email),
                Ok(_) => {}
                Err(_) if !list.invalid.iter().any(|s| s == item) => {
                    list.invalid.push(item.to_string())
                }
                Err(_) => {}
            }
        }
        Ok(list)
    }
}

impl Params {
    /// `Type`: 1 (mobile) or 2 (email).
    pub fn contact_type(&self) -> Result<ContactType, ApiError> {
        let raw = self.get("Type").ok_or(ApiError::missing("Type"))?;
        ContactType::parse(raw).ok_or(ApiError::invalid("Type", crate::phrases::A_CONTACT_TYPE))
    }

    /// `Code` read as `kind` says: a phone number in E.164 or an address.
    pub fn contact(&self, kind: ContactType) -> Result<Contact, ApiError> {
        let raw = self.get("Code").ok_or(ApiError::missing("Code"))?;
        Contact::parse(kind, raw).ok_or(match kind {
            ContactType::Phone => ApiError::invalid("Code", crate::phrases::AN_E164_NUMBER),
            ContactType::Email => ApiError::invalid("Code", crate::phrases::AN_EMAIL_ADDRESS),
        })
    }

    pub fn verify_code(&self) -> Result<VerifyCode, ApiError> {
        let raw = self
            .get("VerifyCode")
            .ok_or(ApiError::missing("VerifyCode"))?;
        VerifyCode::parse(raw)
            .map_err(|_| ApiError::invalid("VerifyCode", crate::phrases::SIX_DIGITS))
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct EmailList {
    pub valid: Vec<EmailAddress>,
    pub invalid: Vec<String>,
}

/// Name-value pairs into a map, refusing a name that comes twice.
fn once_each(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<HashMap<String, String>, ApiError> {
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if map.contains_key(&k) {
            return Err(ApiError::ParameterIllegal(ParamProblem::Duplicate(k)));
        }
        map.insert(k, v);
    }
    Ok(map)
}

fn json_object(body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let malformed = || ApiError::ParameterIllegal(ParamProblem::MalformedJson);
    // Read as a list of members, not a map: a map would keep the last of two equal names silently.
    let Members(members) = serde_json::from_slice(body).map_err(|_| malformed())?;
    let mut pairs = Vec::with_capacity(members.len());
    let mut seen = std::collections::HashSet::new();
    for (k, v) in members {
        if !seen.insert(k.clone()) {
            return Err(ApiError::ParameterIllegal(ParamProblem::Duplicate(k)));
        }
        if !v.is_null() {
            pairs.push((k, scalar_or_list(v).ok_or_else(malformed)?));
        }
    }
    once_each(pairs)
}

/// A JSON object's members in their order, equal names included.
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(member) = m.next_entry::<String, serde_json::Value>()? {
                    out.push(member);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn scalar_or_list(v: serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            parts.map(|p| p.join(","))
        }
        Value::Null | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_wins_over_query_and_json_arrays_become_lists() {
        let p = Params::parse(
            "Lang=zh&Email=q%40x.com",
            "application/json",
            br#"{"Email":["A@x.com","b@x.com"],"PageNum":2,"SendIfExist":true}"#,
        )
        .unwrap();
        assert_eq!(p.get("Lang"), Some("zh"));
        assert_eq!(p.get("Email"), Some("A@x.com,b@x.com"));
        assert_eq!(p.get("PageNum"), Some("2"));
        assert!(p.bool("SendIfExist", false).unwrap());
    }

    #[test]
    fn form_bodies_decode_plus_signs_as_encoded() {
        let p = Params::parse(
            "",
            "application/x-www-form-urlencoded",
            b"Email=a%2Bb%40example.com",
        )
        .unwrap();
        assert_eq!(p.email().unwrap().as_str(), "a+b@example.com");
    }

    #[test]
    fn a_name_twice_in_one_source_is_refused_and_over_the_query_is_noted() {
        for (query, ct, body) in [
            ("Email=a%40x.com&Email=b%40x.com", "", &b""[..]),
            (
                "",
                "application/x-www-form-urlencoded",
                b"Email=a%40x.com&Email=b%40x.com",
            ),
            (
                "",
                "application/json",
                br#"{"Email":"a@x.com","Email":"b@x.com"}"#,
            ),
            (
                "",
                "application/json",
                br#"{"Email":"a@x.com","Email":null}"#,
            ),
        ] {
            let err = Params::parse(query, ct, body).unwrap_err();
            assert_eq!(
                err,
                ApiError::ParameterIllegal(ParamProblem::Duplicate("Email".into())),
                "{query} {body:?}"
            );
        }
        let p = Params::parse(
            "Email=q%40x.com&Lang=zh",
            "application/json",
            br#"{"Email":"b@x.com"}"#,
        )
        .unwrap();
        assert_eq!(
            (p.get("Email"), p.given_twice()),
            (Some("b@x.com"), Some("Email"))
        );
        let once = Params::parse("Lang=zh", "application/json", br#"{"Email":"b@x.com"}"#).unwrap();
        assert_eq!(once.given_twice(), None);
    }

    #[test]
    fn malformed_json_is_a_parameter_error() {
        for body in [&b"{not json"[..], b"[1,2]", br#"{"Email":{"x":1}}"#] {
            let err = Params::parse("", "application/json", body).unwrap_err();
            assert_eq!(err, ApiError::ParameterIllegal(ParamProblem::MalformedJson));
        }
    }

    #[test]
    fn booleans_are_case_insensitive_and_strict() {
        let p = Params::from_pairs([("A", "True"), ("B", "FALSE"), ("C", "maybe")]);
        assert!(p.bool("A", false).unwrap());
        assert!(!p.bool("B", true).unwrap());
        assert_eq!(p.bool("C", false).unwrap_err().code(), "ParameterIllegal");
        assert!(p.bool("D", true).unwrap());
    }

    #[test]
    fn email_lists_split_dedupe_and_keep_the_bad_apart() {
        let p = Params::from_pairs([("Email", " a@x.com, A@X.com ,bad, b@x.com,,bad")]);
        let list = p.email_list().unwrap();
        assert_eq!(
            list.valid.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            ["a@x.com", "b@x.com"]
        );
        assert_eq!(list.invalid, ["bad"]);
    }

    #[test]
    fn email_lists_have_bounds() {
        assert_eq!(
            Params::default().email_list().unwrap_err(),
            ApiError::missing("Email")
        );
        assert_eq!(
            Params::from_pairs([("Email", " , ")])
                .email_list()
                .unwrap_err(),
            ApiError::missing("Email")
        );
        let many = (0..101)
            .map(|i| format!("u{i}@x.com"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            Params::from_pairs([("Email", many)])
                .email_list()
                .unwrap_err(),
            ApiError::ParameterIllegal(ParamProblem::TooManyEmails { max: 100 })
        );
        let hundred = (0..100)
            .map(|i| format!("u{i}@x.com"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            Params::from_pairs([("Email", hundred)])
                .email_list()
                .unwrap()
                .valid
                .len(),
            100
        );
    }

    #[test]
    fn lang_is_en_or_zh() {
        assert_eq!(Params::default().lang().unwrap(), Lang::En);
        assert_eq!(
            Params::from_pairs([("Lang", "ZH")]).lang().unwrap(),
            Lang::Zh
        );
        assert_eq!(
            Params::from_pairs([("Lang", "fr")])
                .lang()
                .unwrap_err()
                .code(),
            "ParameterIllegal"
        );
        for tag in ["zh-CN", "zh-Hans", "ZH-HANS-CN", "zh_cn"] {
            assert_eq!(
                Params::from_pairs([("Lang", tag)]).lang().unwrap(),
                Lang::Zh,
                "{tag}"
            );
        }
        for tag in ["en-US", "EN-gb", "en"] {
            assert_eq!(
                Params::from_pairs([("Lang", tag)]).lang().unwrap(),
                Lang::En,
                "{tag}"
            );
        }
        for bad in [
            "fr",
            "english",
            "zh-",
            "en-US-",
            "zh--CN",
            "en-toolongsubtag",
        ] {
            let e = Params::from_pairs([("Lang", bad)]).lang().unwrap_err();
            let (en, zh) = (e.msg().text(Lang::En), e.msg().text(Lang::Zh));
            for m in [&en, &zh] {
                assert!(
                    m.contains("expected en or zh") && m.contains("应为 en 或 zh"),
                    "{bad}: {m}"
                );
            }
        }
    }
}
