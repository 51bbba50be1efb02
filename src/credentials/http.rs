//! The HTTP plumbing the credential fetchers share: a client with short timeouts, a capped
//! body read, and the temporary credentials their answers carry. Describing failures and
//! masking secrets is `crate::wire`'s, shared with the API client.

use std::time::Duration;

use super::Credentials;
use crate::error::{Error, Result};

/// Answers larger than this are refused: credentials are a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// An HTTP client for a credential endpoint. `proxy: false` never goes through a proxy (the
/// metadata service, loopback addresses).
pub fn client(connect: Duration, read: Duration, proxy: bool) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(crate::tls::tls_config())
        .user_agent(concat!("bpstudio-op/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect)
        .read_timeout(read)
        .timeout(connect + read);
    if !proxy {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| {
        Error::config(format!(
            "cannot set up the HTTP client for credentials: {e}"
        ))
        .with_hint("check the HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables")
    })
}

/// The body of `response`, at most [`MAX_BODY`] bytes (`None` when larger).
pub async fn read_capped(
    mut response: reqwest::Response,
) -> std::result::Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Temporary credentials from the four fields every credential endpoint answers with; `None`
/// when one is missing or the expiration does not parse.
pub fn temporary(
    id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    expiration: Option<&str>,
) -> Option<Credentials> {
    let mut c = Credentials::new(id?, secret?).with_security_token(token?);
    c.expiration = Some(parse_expiration(expiration?)?);
    Some(c)
}

/// Parses an `Expiration` such as `2025-01-02T03:04:05Z`.
pub fn parse_expiration(text: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z'))
        .ok()
        .or_else(|| humantime::parse_rfc3339(text.trim()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expiration() {
        let t = parse_expiration("2025-01-02T03:04:05Z").unwrap();
        assert_eq!(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_735_787_045
        );
        assert!(parse_expiration("tomorrow").is_none());
    }

    #[test]
    fn temporary_needs_all_four_fields() {
        let some = |s: &str| Some(s.to_string());
        let c = temporary(
            some("STS.a"),
            some("s"),
            some("t"),
            Some("2025-01-02T03:04:05Z"),
        )
        .unwrap();
        assert_eq!(c.security_token.as_deref(), Some("t"));
        assert!(c.expiration.is_some());
        assert!(temporary(some("STS.a"), some("s"), None, Some("2025-01-02T03:04:05Z")).is_none());
        assert!(temporary(some("STS.a"), some("s"), some("t"), Some("soon")).is_none());
    }
}
