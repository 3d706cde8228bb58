//! Alibaba Cloud's RPC signature (HMAC-SHA1, `SignatureVersion` 1.0): what older `aliyun-*-sdk-core`
//! clients send, and `alibabacloud-tea-openapi` with `signature_algorithm='v2'`. Every parameter, from
//! the query string and a form body alike, is signed except `Signature` itself.
//!
//! ```text
//! StringToSign = METHOD + "&%2F&" + encode(sorted "k=v" pairs joined by "&", each side encoded)
//! Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
//! ```

use super::{canonical_pairs, encode};

pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";

pub fn string_to_sign<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let signed = params.into_iter().filter(|(k, _)| *k != "Signature");
    format!("{method}&%2F&{}", encode(&canonical_pairs(signed)))
}

/// The HMAC key: the secret and `&`.
pub fn key(secret: &str) -> Vec<u8> {
    format!("{secret}&").into_bytes()
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::super::{hmac_matches, HmacSha1};
    use super::*;

    /// Alibaba Cloud's published example ("Request signatures", RPC): ECS DescribeRegions with
    /// `testid` / `testsecret`.
    #[test]
    fn the_published_example_signs_as_published() {
        let params = [
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
            ("Signature", "ignored: never signed"),
        ];
        let sts = string_to_sign("GET", params);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1\
%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0\
%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        let given = base64::engine::general_purpose::STANDARD
            .decode("OLeaidS1JvxuMvnyHOwuJ+uX5qY=")
            .unwrap();
        assert!(hmac_matches::<HmacSha1>(
            &key("testsecret"),
            sts.as_bytes(),
            &given
        ));
        assert!(!hmac_matches::<HmacSha1>(
            &key("testsecret"),
            string_to_sign("POST", params).as_bytes(),
            &given
        ));
        assert!(!hmac_matches::<HmacSha1>(
            b"testsecret",
            sts.as_bytes(),
            &given
        ));
    }
}
