//! Phone numbers: `PhoneNumber::parse` (and `Contact::parse` for `Type` 1) on any text. An accepted number
//! is E.164 (`+`, then 2 to 15 digits, the first not 0) and parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::code::{Contact, ContactType, PhoneNumber};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let parsed = PhoneNumber::parse(&raw);
    let contact = Contact::parse(ContactType::Phone, &raw);
    assert_eq!(contact, parsed.as_ref().ok().cloned().map(Contact::Phone));
    let Ok(n) = parsed else { return };
    let s = n.as_str();
    let digits = s.strip_prefix('+').unwrap_or("");
    assert!(
        (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0'),
        "{raw:?} -> {s:?}"
    );
    assert_eq!(
        PhoneNumber::parse(s).as_ref(),
        Ok(&n),
        "{raw:?} -> {s:?} does not parse back to itself"
    );
    let _ = n.masked();
});
