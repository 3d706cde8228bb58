//! Alibaba Cloud ACS3-HMAC-SHA256 (the V3 signature of `alibabacloud-tea-openapi`): the action in
//! `x-acs-action`, the parameters in the query string, the signed headers named in `Authorization`.
//!
//! ```text
//! CanonicalRequest = METHOD \n path \n sorted query (RFC 3986) \n name:value\n per signed header \n
//!                    signed;header;names \n hex(SHA-256(body))
//! StringToSign     = "ACS3-HMAC-SHA256\n" + hex(SHA-256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//! ```

use super::{authorization_fields, canonical_pairs, sha256_hex};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// `ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=a;b,Signature=<hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub key_id: String,
    pub signed_headers: Vec<String>,
    pub signature: Vec<u8>,
}

impl Authorization {
    pub fn parse(value: &str) -> Option<Self> {
        let f = authorization_fields(value, ALGORITHM)?;
        (!f.credential.is_empty() && !f.signed_headers.is_empty()).then(|| Self {
            key_id: f.credential.to_string(),
            signed_headers: f.signed_headers,
            signature: f.signature,
        })
    }
}

/// The canonical request. `header` gives every value of a header (name in lower case); values are trimmed,
/// sorted and joined by `,`, as the SDKs do.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    signed_headers: &[String],
    header: &dyn Fn(&str) -> Vec<String>,
    body: &[u8],
) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        let mut values: Vec<String> = header(name).iter().map(|v| v.trim().to_string()).collect();
        values.sort();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let path = if path.is_empty() { "/" } else { path };
    format!(
        "{method}\n{path}\n{}\n{headers}\n{}\n{}",
        canonical_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        signed_headers.join(";"),
        sha256_hex(body)
    )
}

pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::{hmac_matches, hmac_sha256, HmacSha256};
    use super::*;

    /// Alibaba Cloud's published example ("V3 request structure and signature"): ECS RunInstances.
    #[test]
    fn the_published_example_signs_as_published() {
        let query = [
            (
                "ImageId".to_string(),
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd".to_string(),
            ),
            ("RegionId".to_string(), "cn-shanghai".to_string()),
        ];
        let headers = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            (
                "x-acs-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ];
        let lookup = |name: &str| {
            headers
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .collect()
        };
        let auth = Authorization::parse(
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
        )
        .unwrap();
        assert_eq!(auth.key_id, "YourAccessKeyId");
        let canonical = canonical_request("POST", "/", &query, &auth.signed_headers, &lookup, b"");
        assert_eq!(
            canonical,
            "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2014-05-26\n\n\
host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let sts = string_to_sign(&canonical);
        assert_eq!(
            sts,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"YourAccessKeySecret", sts.as_bytes())),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        assert!(hmac_matches::<HmacSha256>(
            b"YourAccessKeySecret",
            sts.as_bytes(),
            &auth.signature
        ));
        assert!(!hmac_matches::<HmacSha256>(
            b"YourAccessKeySecreT",
            sts.as_bytes(),
            &auth.signature
        ));
    }

    #[test]
    fn malformed_authorizations_are_refused() {
        for bad in [
            "",
            "ACS3-HMAC-SHA256",
            "ACS3-HMAC-SHA256Credential=a,SignedHeaders=host,Signature=00",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=zz",
            "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00",
            "ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00",
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
    }
}
