//! Tencent Cloud TC3-HMAC-SHA256 (API 3.0): the action in `X-TC-Action` (not signed), the time in
//! `X-TC-Timestamp`, a JSON body (or, for GET, the query string).
//!
//! ```text
//! CanonicalRequest = METHOD \n / \n query \n name:value\n per signed header (lower case) \n
//!                    signed;headers \n hex(SHA-256(body))
//! StringToSign     = "TC3-HMAC-SHA256\n" + timestamp + "\n" + date/service/tc3_request + "\n"
//!                    + hex(SHA-256(CanonicalRequest))
//! key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request")
//! Signature        = hex(HMAC-SHA256(key, StringToSign))
//! ```

use super::{authorization_fields, hmac_sha256, sha256_hex};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// `TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub key_id: String,
    pub date: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: Vec<u8>,
}

impl Authorization {
    pub fn parse(value: &str) -> Option<Self> {
        let f = authorization_fields(value, ALGORITHM)?;
        let mut scope = f.credential.split('/');
        let (key_id, date, service, terminator) =
            (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
        if key_id.is_empty()
            || service.is_empty()
            || terminator != "tc3_request"
            || scope.next().is_some()
        {
            return None;
        }
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        Some(Self {
            key_id: key_id.into(),
            date: date.into(),
            service: service.into(),
            signed_headers: f.signed_headers,
            signature: f.signature,
        })
    }
}

/// The canonical request. `header` gives a header's value (name in lower case); names and values are
/// put in lower case and trimmed, as Tencent's documentation says.
pub fn canonical_request(
    method: &str,
    query: &str,
    signed_headers: &[String],
    header: &dyn Fn(&str) -> Vec<String>,
    body: &[u8],
) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        headers.push_str(&format!(
            "{name}:{}\n",
            header(name).join(",").trim().to_lowercase()
        ));
    }
    format!(
        "{method}\n/\n{query}\n{headers}\n{}\n{}",
        signed_headers.join(";"),
        sha256_hex(body)
    )
}

pub fn string_to_sign(
    timestamp: &str,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The signing key derived from the secret for one day and service.
pub fn signing_key(secret: &str, date: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("TC3{secret}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    hmac_sha256(&k_service, b"tc3_request")
}

#[cfg(test)]
mod tests {
    use super::super::{hmac_matches, HmacSha256};
    use super::*;

    /// Tencent Cloud's published example ("Signature v3"): CVM DescribeInstances at 1551113065.
    #[test]
    fn the_published_example_signs_as_published() {
        let auth = Authorization::parse(
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
        )
        .unwrap();
        assert_eq!(
            (
                auth.key_id.as_str(),
                auth.date.as_str(),
                auth.service.as_str()
            ),
            ("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "2019-02-25", "cvm")
        );
        let headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "cvm.tencentcloudapi.com"),
        ];
        let lookup = |name: &str| {
            headers
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .collect()
        };
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let canonical =
            canonical_request("POST", "", &auth.signed_headers, &lookup, body.as_bytes());
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n\
35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let sts = string_to_sign("1551113065", &auth.date, &auth.service, &canonical);
        assert_eq!(sts, "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
        let key = signing_key(
            "Gu5t9xGARNpq86cd98joQYCN3*******",
            &auth.date,
            &auth.service,
        );
        assert_eq!(
            hex::encode(hmac_sha256(&key, sts.as_bytes())),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
        assert!(hmac_matches::<HmacSha256>(
            &key,
            sts.as_bytes(),
            &auth.signature
        ));
        let other_day = signing_key(
            "Gu5t9xGARNpq86cd98joQYCN3*******",
            "2019-02-26",
            &auth.service,
        );
        assert!(!hmac_matches::<HmacSha256>(
            &other_day,
            sts.as_bytes(),
            &auth.signature
        ));
    }

    #[test]
    fn malformed_authorizations_are_refused() {
        for bad in [
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request/x, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=id/yesterday/cvm/tc3_request, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request, SignedHeaders=host",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request, SignedHeaders=host, Signature=xyz",
            "HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request, SignedHeaders=host, Signature=00",
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
    }
}
