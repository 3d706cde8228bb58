//! E-mail addresses: `EmailAddress::parse` on any text. An accepted address is ASCII, without upper case,
//! at most 254 bytes, and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::model::{mask_email, EmailAddress};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let _ = mask_email(&raw);
    let Ok(a) = EmailAddress::parse(&raw) else {
        return;
    };
    let s = a.as_str();
    assert!(s.is_ascii(), "{raw:?} was stored as {s:?}");
    assert!(
        s.len() <= EmailAddress::MAX_LEN,
        "{raw:?} was stored with {} bytes",
        s.len()
    );
    assert!(
        !s.bytes()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace() || b.is_ascii_control()),
        "{raw:?} -> {s:?}"
    );
    assert_eq!(
        EmailAddress::parse(s).as_ref(),
        Ok(&a),
        "{raw:?} -> {s:?} does not parse back to itself"
    );
    assert_eq!(
        EmailAddress::parse(&s.to_ascii_uppercase()).as_ref(),
        Ok(&a),
        "{s:?} in upper case is another address"
    );
    let _ = a.masked();
});
