//! Tencent Cloud's older signature ("signature v1"), which Tencent's SDKs use unless told to use TC3
//! (`tencentcloud-sdk-nodejs-intl-en` by default; the Python SDK with `ClientProfile(signMethod=...)`).
//! Every parameter travels in the query string (GET) or a form body (POST), the common ones included:
//! `Action`, `SecretId`, `Timestamp` (epoch seconds), `Nonce` (a random positive integer),
//! `SignatureMethod` (`HmacSHA1`, the default, or `HmacSHA256`) and `Signature`.
//!
//! ```text
//! StringToSign = METHOD + host + path + "?" + k=v&… over every parameter but Signature, sorted by name,
//!                values as they are (not URL-encoded)
//! Signature    = base64(HMAC(SecretKey, StringToSign)), SHA-1 or SHA-256 as SignatureMethod says
//! ```

use super::{hmac_matches, HmacSha1, HmacSha256};

/// The two hashes the scheme offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    HmacSha1,
    HmacSha256,
}

impl Method {
    /// `SignatureMethod` as sent; absent means HmacSHA1, as Tencent documents.
    pub fn parse(name: Option<&str>) -> Option<Self> {
        match name.map(str::trim) {
            None | Some("HmacSHA1") => Some(Self::HmacSha1),
            Some("HmacSHA256") => Some(Self::HmacSha256),
            Some(_) => None,
        }
    }

    /// Whether `signature` is this method's HMAC of `data` under `secret`, in constant time.
    pub fn matches(self, secret: &str, data: &str, signature: &[u8]) -> bool {
        match self {
            Self::HmacSha1 => {
                hmac_matches::<HmacSha1>(secret.as_bytes(), data.as_bytes(), signature)
            }
            Self::HmacSha256 => {
                hmac_matches::<HmacSha256>(secret.as_bytes(), data.as_bytes(), signature)
            }
        }
    }
}

/// The string to sign, from the request's parameters (`Signature` among them is left out).
pub fn string_to_sign<'a>(
    method: &str,
    host: &str,
    path: &str,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}{host}{path}?{}", joined.join("&"))
}

#[cfg(test)]
mod tests {
    use super::super::hmac_sha1;
    use super::*;

    /// The string of Tencent's documentation ("Signature", CVM DescribeInstances).
    #[test]
    fn the_documented_string_to_sign() {
        let params = [
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Limit", "20"),
            ("Nonce", "11886"),
            ("Offset", "0"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******"),
            ("Timestamp", "1465185768"),
            ("Version", "2017-03-12"),
            ("Signature", "ignored"),
        ];
        assert_eq!(
            string_to_sign("GET", "cvm.tencentcloudapi.com", "/", params.iter().rev().copied()),
            "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******&Timestamp=1465185768&Version=2017-03-12"
        );
    }

    #[test]
    fn the_method_chooses_the_hash_and_nothing_else_is_accepted() {
        assert_eq!(Method::parse(None), Some(Method::HmacSha1));
        assert_eq!(Method::parse(Some("HmacSHA256")), Some(Method::HmacSha256));
        assert_eq!(Method::parse(Some("hmacsha256")), None);
        assert_eq!(Method::parse(Some("TC3-HMAC-SHA256")), None);
        let sig = hmac_sha1(b"secret", b"data");
        assert!(Method::HmacSha1.matches("secret", "data", &sig));
        assert!(!Method::HmacSha256.matches("secret", "data", &sig));
        assert!(!Method::HmacSha1.matches("secret", "datA", &sig));
    }
}
