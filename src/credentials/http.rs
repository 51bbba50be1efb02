//! The HTTP plumbing the credential fetchers share: a client with short timeouts, a capped
//! body read, error text, and masking of secrets in text a server sent back.

use std::time::Duration;

use super::Credentials;
use crate::error::{Error, Result};
use crate::sign;

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

/// What went wrong with a request, with its causes ("timed out", "connection refused").
pub fn describe_error(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut text = what.to_string();
    let mut source = std::error::Error::source(e);
    let mut last = String::new();
    while let Some(s) = source {
        let part = s.to_string();
        if !last.contains(&part) && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        last = part;
        source = s.source();
    }
    text
}

/// A few words about a body that is not what was expected; never the body itself, which may
/// hold a secret.
pub fn describe_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim_start();
    if bytes.is_empty() {
        "an empty body".to_string()
    } else if t.starts_with('<') {
        "an HTML page".to_string()
    } else if std::str::from_utf8(bytes).is_err() {
        format!("{} bytes of binary data", bytes.len())
    } else if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() {
        "JSON without the expected fields".to_string()
    } else {
        format!("{} bytes that are not JSON", bytes.len())
    }
}

/// `text` with each of `secrets` masked, in plain and percent-encoded (once and twice) forms.
pub fn mask(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        let once = sign::percent_encode(s);
        let twice = sign::percent_encode(&once);
        for form in [s.to_string(), once, twice] {
            out = out.replace(&form, "***");
        }
    }
    out
}

/// The secret and token of `c`, for [`mask`].
pub fn secrets_of(c: &Credentials) -> Vec<&str> {
    let mut v = vec![c.access_key_secret.as_str()];
    v.extend(c.security_token.as_deref());
    v
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
    fn masks_plain_and_encoded_forms() {
        let text = "a tok+en/= b tok%2Ben%2F%3D c tok%252Ben%252F%253D";
        assert_eq!(mask(text, &["tok+en/="]), "a *** b *** c ***");
    }

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
    fn describes_bodies_without_quoting_them() {
        assert_eq!(describe_body(b""), "an empty body");
        assert_eq!(describe_body(b"<html>"), "an HTML page");
        assert_eq!(describe_body(&[0xff, 0]), "2 bytes of binary data");
        assert_eq!(describe_body(b"{}"), "JSON without the expected fields");
        assert_eq!(describe_body(b"secret!"), "7 bytes that are not JSON");
    }
}
