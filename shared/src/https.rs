//! What may be an address the service puts in a mail or calls: `https://`, or `http://` to a loopback host
//! (the local stack). Used for the link base and for webhook endpoints.

use crate::error::ConfigError;

/// The link base (`PUBLIC_BASE_URL`): empty (the API's own `https://` address), or an `https://` URL.
/// `http://` only for a loopback host (the local stack, `http://127.0.0.1:9000/...`): a deployed stack that
/// mailed `http://` links would let anyone on the path read the token.
pub fn link_base(raw: &str) -> Result<String, ConfigError> {
    let base = raw.trim().trim_end_matches('/');
    if base.is_empty() || base.starts_with("https://") {
        return Ok(base.to_string());
    }
    if let Some(rest) = base.strip_prefix("http://") {
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(base.to_string());
        }
    }
    Err(ConfigError::new(format!(
        "PUBLIC_BASE_URL must start with https:// (http:// only for a loopback host, the local stack), not {base:?}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_base_is_https_or_a_loopback_http() {
        for ok in [
            "",
            "https://verify.example.com",
            "https://verify.example.com/",
            "http://127.0.0.1:9000/lambda-url/verify-email",
            "http://localhost:9000",
            "http://[::1]:9000/x",
        ] {
            assert!(link_base(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            link_base("https://a.example/").unwrap(),
            "https://a.example"
        );
        for bad in [
            "http://verify.example.com",
            "http://127.0.0.1.example.com",
            "http://10.0.0.1",
            "ftp://x",
            "verify.example.com",
        ] {
            let e = link_base(bad).unwrap_err().to_string();
            assert!(
                e.contains("PUBLIC_BASE_URL") && e.contains("https://"),
                "{bad}: {e}"
            );
        }
    }
}
