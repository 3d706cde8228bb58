//! Request parameters: `Params::parse` on any query string and body, then every typed reader on what it
//! gave, and on each value as if it were every parameter. Nothing may panic; what a reader accepts must be
//! what it documents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::code::{Contact, ContactType};
use shared::model::EmailAddress;
use api::params::{Params, MAX_EMAILS};

const CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
    "multipart/form-data",
    "application/json; charset=utf-8",
];
const READ: [&str; 8] = [
    "Email",
    "Lang",
    "Token",
    "Code",
    "VerifyCode",
    "PageNum",
    "Flag",
    "Type",
];

fuzz_target!(|data: &[u8]| {
    // Byte 0 picks the content type, byte 1 how many of the next bytes are the query string; the rest is the body.
    let [ct, query_len, rest @ ..] = data else {
        return;
    };
    let (query, body) = rest.split_at((*query_len as usize).min(rest.len()));
    let query = String::from_utf8_lossy(query);
    let ct = CONTENT_TYPES[*ct as usize % CONTENT_TYPES.len()];
    let Ok(p) = Params::parse(&query, ct, body) else {
        return;
    };
    check(&p);
    for (_, v) in p.pairs().take(4) {
        check(&Params::from_pairs(READ.map(|name| (name, v))));
    }
});

fn check(p: &Params) {
    for (k, v) in p.pairs() {
        assert_eq!(p.raw(k), Some(v));
        assert_eq!(p.get(k), Some(v.trim()).filter(|s| !s.is_empty()));
    }
    let given = |name: &str| p.get(name).unwrap_or_default().to_string();

    if let Ok(b) = p.bool("Flag", false) {
        assert!(p.get("Flag").is_none() || given("Flag").eq_ignore_ascii_case(&b.to_string()));
    }
    let _ = p.lang();
    if let Ok(Some(n)) = p.int("PageNum", -5..=100, "a page", None) {
        assert!((-5..=100).contains(&n));
        assert_eq!(given("PageNum").parse::<i64>(), Ok(n));
    }
    if let Ok(t) = p.token() {
        assert!(
            t.as_str().len() == 64
                && t.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    if let Ok(c) = p.verify_code() {
        assert!(c.as_str().len() == 6 && c.as_str().bytes().all(|b| b.is_ascii_digit()));
    }
    for kind in [ContactType::Phone, ContactType::Email] {
        if let Ok(c) = p.contact(kind) {
            assert_eq!(c.kind(), kind);
            assert_eq!(
                Contact::parse(kind, c.as_str()).as_ref(),
                Some(&c),
                "{:?} does not parse back",
                c.as_str()
            );
            let _ = c.masked();
        }
    }
    let _ = p.contact_type();
    if let Ok(e) = p.email() {
        assert_eq!(EmailAddress::parse(e.as_str()).as_ref(), Ok(&e));
    }
    if let Ok(list) = p.email_list() {
        assert!(list.valid.len() + list.invalid.len() <= MAX_EMAILS);
        for (i, e) in list.valid.iter().enumerate() {
            assert!(!list.valid[..i].contains(e), "{e:?} twice");
            assert_eq!(EmailAddress::parse(e.as_str()).as_ref(), Ok(e));
        }
        for bad in &list.invalid {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} is valid");
        }
    }
}
