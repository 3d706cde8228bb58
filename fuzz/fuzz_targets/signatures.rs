//! The signature parsers: ACS3 and TC3 `Authorization` values, RFC 3986 encoding, canonical pairs and the
//! RPC string to sign on any text; then a signature over what the input makes must verify, and the same
//! with one byte of the string to sign changed must not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use api::signing::{
    authorization_fields, canonical_pairs, encode, hmac_matches, hmac_sha1, hmac_sha256, HmacSha1,
    HmacSha256,
};
use api::signing::{acs3, rpc, tc3};

fn decoded(s: &str) -> String {
    percent_decode_str(s)
        .decode_utf8()
        .expect("encode writes UTF-8")
        .into_owned()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // The parsers of `Authorization`.
    if let Some(a) = acs3::Authorization::parse(&text) {
        assert!(
            !a.key_id.is_empty() && !a.signed_headers.is_empty(),
            "{text:?}"
        );
        assert!(
            a.signed_headers
                .iter()
                .all(|h| !h.is_empty() && !h.bytes().any(|b| b.is_ascii_uppercase())),
            "{text:?}"
        );
    }
    if let Some(a) = tc3::Authorization::parse(&text) {
        assert!(!a.key_id.is_empty() && !a.service.is_empty(), "{text:?}");
    }
    for algorithm in [acs3::ALGORITHM, tc3::ALGORITHM] {
        let _ = authorization_fields(&text, algorithm);
    }

    // Encoding: only unreserved characters and %XX, and it decodes back.
    let e = encode(&text);
    assert!(
        e.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
        "{e:?}"
    );
    assert_eq!(decoded(&e), text);

    // The input as form pairs: canonical pairs are sorted and decode to the same pairs.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let refs = || pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let canonical = canonical_pairs(refs());
    let parts: Vec<(&str, &str)> = if canonical.is_empty() {
        Vec::new()
    } else {
        canonical
            .split('&')
            .map(|p| p.split_once('=').expect("k=v"))
            .collect()
    };
    assert!(
        parts.windows(2).all(|w| w[0] <= w[1]),
        "not sorted: {canonical:?}"
    );
    let mut back: Vec<(String, String)> = parts
        .iter()
        .map(|(k, v)| (decoded(k), decoded(v)))
        .collect();
    let mut given = pairs.clone();
    back.sort();
    given.sort();
    assert_eq!(back, given);

    // RPC: method, "&%2F&", the canonical pairs without Signature, encoded once more.
    let sts = rpc::string_to_sign("POST", refs());
    let signed: Vec<(&str, &str)> = refs().filter(|(k, _)| *k != "Signature").collect();
    assert_eq!(
        sts.strip_prefix("POST&%2F&").map(decoded),
        Some(canonical_pairs(signed))
    );
    let secret = pairs.first().map(|(_, v)| v.as_str()).unwrap_or("secret");
    let at = data.len() % sts.len();
    let mut flipped = sts.clone().into_bytes();
    flipped[at] ^= 1 + data.first().copied().unwrap_or(0) % 255;
    let sig = hmac_sha1(&rpc::key(secret), sts.as_bytes());
    assert!(hmac_matches::<HmacSha1>(
        &rpc::key(secret),
        sts.as_bytes(),
        &sig
    ));
    assert!(!hmac_matches::<HmacSha1>(&rpc::key(secret), &flipped, &sig));

    // ACS3: a canonical request of the pairs as query and headers, signed, sent, parsed and verified.
    let mut headers: Vec<String> = pairs
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|h| is_header_name(h))
        .collect();
    headers.sort();
    headers.dedup();
    headers.insert(0, "host".into());
    let lookup = |name: &str| {
        pairs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let sts = acs3::string_to_sign(&acs3::canonical_request(
        "POST", "/", &pairs, &headers, &lookup, data,
    ));
    let sig = hmac_sha256(secret.as_bytes(), sts.as_bytes());
    let value = format!(
        "ACS3-HMAC-SHA256 Credential=key,SignedHeaders={},Signature={}",
        headers.join(";"),
        hex::encode(&sig)
    );
    let auth = acs3::Authorization::parse(&value).unwrap_or_else(|| panic!("refused {value:?}"));
    assert_eq!(auth.signed_headers, headers);
    assert!(hmac_matches::<HmacSha256>(
        secret.as_bytes(),
        sts.as_bytes(),
        &auth.signature
    ));
    let mut flipped = sts.into_bytes();
    let at = data.len() % flipped.len();
    flipped[at] ^= 0x20;
    assert!(!hmac_matches::<HmacSha256>(
        secret.as_bytes(),
        &flipped,
        &auth.signature
    ));

    // TC3: the key of one day and service.
    let key = tc3::signing_key(secret, "2024-02-29", "intl");
    let sts = tc3::string_to_sign(
        "1709164800",
        "2024-02-29",
        "intl",
        &tc3::canonical_request("POST", &canonical, &headers, &lookup, data),
    );
    let sig = hmac_sha256(&key, sts.as_bytes());
    let value = format!("TC3-HMAC-SHA256 Credential=AKID/2024-02-29/intl/tc3_request, SignedHeaders={}, Signature={}", headers.join(";"), hex::encode(&sig));
    let auth = tc3::Authorization::parse(&value).unwrap_or_else(|| panic!("refused {value:?}"));
    assert!(hmac_matches::<HmacSha256>(
        &key,
        sts.as_bytes(),
        &auth.signature
    ));
    assert!(!hmac_matches::<HmacSha256>(
        &tc3::signing_key(secret, "2024-03-01", "intl"),
        sts.as_bytes(),
        &auth.signature
    ));
});

/// A name the parsers keep as it is: no ',', ';', '=' or blanks (they separate fields).
fn is_header_name(h: &str) -> bool {
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
