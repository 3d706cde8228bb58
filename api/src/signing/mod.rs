//! What the three signature schemes share: RFC 3986 encoding, HMAC, SHA-256, and comparing a signature
//! in constant time.

pub mod acs3;
pub mod rpc;
pub mod tc1;
pub mod tc3;

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) is encoded, as the vendors'
/// signers do (Python's `quote(s, safe='~')`).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// `k=v` pairs, each side encoded, sorted, joined by `&`: the canonical query of ACS3 and RPC.
pub fn canonical_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Whether `given` is the HMAC of `data` under `key`, compared in constant time.
pub fn hmac_matches<D: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8], given: &[u8]) -> bool {
    match <D as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(given).is_ok()
        }
        Err(_) => false,
    }
}

/// The three fields of an ACS3 or TC3 `Authorization` after the algorithm's name:
/// `Credential=…, SignedHeaders=a;b, Signature=<hex>` (either separator). Header names come in lower case.
pub struct AuthorizationFields<'a> {
    pub credential: &'a str,
    pub signed_headers: Vec<String>,
    pub signature: Vec<u8>,
}

pub fn authorization_fields<'a>(
    value: &'a str,
    algorithm: &str,
) -> Option<AuthorizationFields<'a>> {
    let rest = value.trim().strip_prefix(algorithm)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, v) = part.trim().split_once('=')?;
        match name {
            "Credential" => credential = Some(v),
            "SignedHeaders" => {
                signed = Some(
                    v.split(';')
                        .map(|h| h.trim().to_ascii_lowercase())
                        .filter(|h| !h.is_empty())
                        .collect::<Vec<_>>(),
                )
            }
            "Signature" => signature = Some(hex::decode(v).ok()?),
            _ => {}
        }
    }
    Some(AuthorizationFields {
        credential: credential?,
        signed_headers: signed?,
        signature: signature?,
    })
}

pub type HmacSha256 = Hmac<Sha256>;
pub type HmacSha1 = Hmac<sha1::Sha1>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_only_the_unreserved_characters() {
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("a b+c*d/e:f@g,h"), "a%20b%2Bc%2Ad%2Fe%3Af%40g%2Ch");
        assert_eq!(encode("中"), "%E4%B8%AD");
    }

    #[test]
    fn pairs_are_sorted_after_encoding() {
        assert_eq!(
            canonical_pairs([("b", "2"), ("a", "x y"), ("A", "")]),
            "A=&a=x%20y&b=2"
        );
    }

    #[test]
    fn a_wrong_or_short_signature_does_not_match() {
        let good = hmac_sha256(b"k", b"data");
        assert!(hmac_matches::<HmacSha256>(b"k", b"data", &good));
        assert!(!hmac_matches::<HmacSha256>(b"k", b"datA", &good));
        assert!(!hmac_matches::<HmacSha256>(b"k", b"data", &good[..31]));
        assert!(!hmac_matches::<HmacSha256>(b"k", b"data", &[]));
    }
}
