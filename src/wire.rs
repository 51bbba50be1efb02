//! What every HTTP conversation of the tool shares, whoever holds the client (the API client,
//! STS, the metadata service, a credentials URI): describing a failed request or an unexpected
//! body without quoting it, masking secrets in text a server sent back, and reading the
//! service's error body. No client is built here (`tls` has the TLS settings) and nothing is
//! printed.

use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiFailure;
use crate::sign;

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

/// The error body every Alibaba Cloud RPC service answers with (`RequestId`, `HostId`, `Code`,
/// `Message`, `Recommend`), or `None` when `bytes` is not one (no `Code`). `Code` is kept as
/// sent, a number written out. The message is as received: mask secrets before showing it.
pub fn api_failure(http_status: u16, bytes: &[u8]) -> Option<ApiFailure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Wire {
        request_id: Option<String>,
        host_id: Option<String>,
        code: Option<Value>,
        message: Option<String>,
        recommend: Option<String>,
    }
    let w: Wire = serde_json::from_slice(bytes).ok()?;
    let code = match w.code? {
        Value::String(s) => s,
        other => other.to_string(),
    };
    Some(ApiFailure {
        http_status,
        code,
        message: w.message,
        request_id: w.request_id,
        host_id: w.host_id,
        recommend: w.recommend,
        retry_after: None,
    })
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
    fn describes_bodies_without_quoting_them() {
        assert_eq!(describe_body(b""), "an empty body");
        assert_eq!(describe_body(b"<html>"), "an HTML page");
        assert_eq!(describe_body(&[0xff, 0]), "2 bytes of binary data");
        assert_eq!(describe_body(b"{}"), "JSON without the expected fields");
        assert_eq!(describe_body(b"secret!"), "7 bytes that are not JSON");
    }

    #[test]
    fn reads_the_error_body_with_a_string_or_number_code() {
        let f = api_failure(
            400,
            br#"{"RequestId":"R","HostId":"h","Code":"SignatureDoesNotMatch","Message":"m","Recommend":"u"}"#,
        )
        .unwrap();
        assert_eq!(f.code, "SignatureDoesNotMatch");
        assert_eq!(f.request_id.as_deref(), Some("R"));
        assert_eq!(f.recommend.as_deref(), Some("u"));
        assert_eq!(api_failure(500, br#"{"Code":500}"#).unwrap().code, "500");
        assert!(api_failure(502, b"<html>").is_none());
        assert!(api_failure(400, br#"{"Message":"no code"}"#).is_none());
    }
}
