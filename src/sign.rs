//! Request signing for Alibaba Cloud RPC APIs: signature V1 (`HMAC-SHA1`,
//! `SignatureVersion=1.0`) and V3 (`ACS3-HMAC-SHA256`), as pure functions.
//!
//! Owns: the percent-encoding and form-encoding rules, the canonical strings, the
//! string-to-sign, the HMAC, and the exact query string, body and headers that carry a
//! signature on the wire. Every step is a public function so the vectors in
//! `tests/data/signing/` can check each one separately.
//!
//! Must not touch: the clock, randomness, the network, the environment or any HTTP library.
//! The timestamp and the nonce are inputs; only the API client reads the clock and draws the
//! nonce (a fresh pair for every attempt, SPEC §1). Nothing here logs; the `Debug`
//! implementations and [`redact_query`] / [`redact_authorization`] keep secrets out of logs.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The `SignatureMethod` of signature V1.
pub const V1_SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// The `SignatureVersion` of signature V1.
pub const V1_SIGNATURE_VERSION: &str = "1.0";
/// The response format the tool asks for in V1 (`Format` common parameter).
pub const V1_FORMAT: &str = "JSON";
/// The algorithm name of signature V3, first line of its string-to-sign.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// The `Content-Type` of a form body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// What the `Debug` implementations print instead of a secret.
pub const REDACTED: &str = "** redacted **";

/// One API call to sign: everything but the credentials, the time and the nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcRequest<'a> {
    /// HTTP method, upper case, e.g. `"POST"`.
    pub method: &'a str,
    /// The `Host` header: `host` or `host:port` (see `endpoint::Endpoint::host`). Signed by V3
    /// only.
    pub host: &'a str,
    /// API operation, e.g. `"GetExecuteOperationResult"`.
    pub action: &'a str,
    /// API version, e.g. `"2021-09-31"`.
    pub version: &'a str,
    /// Extra query parameters, e.g. `RegionId`. Signed, sent in the query string.
    pub query: Vec<(String, String)>,
    /// API parameters, e.g. `OperationId`. Signed, sent only in the form body, in this order.
    pub form: Vec<(String, String)>,
}

/// The credentials a request is signed with.
///
/// `Debug` prints the access key id and redacts the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey<'a> {
    /// The access key id, sent in the clear (`AccessKeyId`, `Credential=`).
    pub access_key_id: &'a str,
    /// The access key secret: the HMAC key, never sent.
    pub access_key_secret: &'a str,
    /// The STS token of temporary credentials, sent with the request and signed.
    pub security_token: Option<&'a str>,
}

impl fmt::Debug for SigningKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &REDACTED)
            .field("security_token", &self.security_token.map(|_| REDACTED))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: the only bytes both encoders keep as they are.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(UPPER_HEX[usize::from(b >> 4)] as char);
    out.push(UPPER_HEX[usize::from(b & 0x0f)] as char);
}

/// Percent-encodes `s` by Alibaba Cloud's signing rule.
///
/// RFC 3986: the unreserved `A-Z a-z 0-9 - _ . ~` stay; every other byte of the UTF-8
/// encoding becomes `%XX` with upper-case hex. So a space is `%20` (never `+`), `*` is `%2A`,
/// `~` stays, `é` is `%C3%A9`. This is the SDKs' `quote(s, safe='~')` after Java's
/// `URLEncoder` fix-ups (`+`→`%20`, `*`→`%2A`, `%7E`→`~`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Encodes `params` as an `application/x-www-form-urlencoded` body, in the order given, the way
/// the official SDKs send it.
///
/// Same as [`percent_encode`] for names and values, except that a space becomes `+` (Python's
/// `urlencode`/`quote_plus`): `op with space*~` is `op+with+space%2A~`. A literal `+` is `%2B`.
pub fn form_encode(params: &[(String, String)]) -> String {
    fn encode_plus(out: &mut String, s: &str) {
        for &b in s.as_bytes() {
            match b {
                b' ' => out.push('+'),
                b if is_unreserved(b) => out.push(b as char),
                b => push_escaped(out, b),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_plus(&mut out, k);
        out.push('=');
        encode_plus(&mut out, v);
    }
    out
}

/// `key=value` pairs, both [`percent_encode`]d, sorted by key (byte order of the unencoded
/// key, ties kept in input order), joined by `&`. Shared by V1 and V3.
fn sorted_encoded_pairs(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Rule: sort parameters by name, in the byte order of their names (both versions).
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        // Rule: an empty value is still signed, as `Name=`.
        out.push_str(&percent_encode(v));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Signature V1 (RPC, HMAC-SHA1)
// ---------------------------------------------------------------------------------------------

/// A request signed with V1: the intermediate strings and what goes on the wire.
///
/// `Debug` redacts `Signature` and `SecurityToken` wherever they appear.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedV1 {
    /// Every signed parameter (query and body), encoded and sorted.
    pub canonicalized_query_string: String,
    /// `METHOD&%2F&<percent-encoded canonicalized query string>`.
    pub string_to_sign: String,
    /// Base64 of the HMAC-SHA1 of the string-to-sign.
    pub signature: String,
    /// The query string as sent (without `?`): the query parameters and `Signature`, encoded
    /// and sorted by name. Body parameters are not in it.
    pub query_string: String,
    /// The form body as sent (empty when there are no form parameters).
    pub body: String,
    /// `Content-Type` of the body: the form type when there is a body, else `None`.
    pub content_type: Option<&'static str>,
}

impl fmt::Debug for SignedV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedV1")
            .field(
                "canonicalized_query_string",
                &redact_query(&self.canonicalized_query_string),
            )
            .field(
                "string_to_sign",
                &redact_encoded_param(&self.string_to_sign, "SecurityToken"),
            )
            .field("signature", &REDACTED)
            .field("query_string", &redact_query(&self.query_string))
            .field("body", &self.body)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// The V1 common parameters (SPEC §1), in the order the API documents them.
///
/// `AccessKeyId`, `Action`, `Format=JSON`, `SignatureMethod=HMAC-SHA1`, `SignatureNonce`,
/// `SignatureVersion=1.0`, `Timestamp` (ISO 8601 UTC, e.g. `2025-01-02T03:04:05Z`), `Version`,
/// and `SecurityToken` for temporary credentials.
pub fn common_params_v1(
    req: &RpcRequest<'_>,
    key: &SigningKey<'_>,
    timestamp: &str,
    nonce: &str,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("AccessKeyId".to_owned(), key.access_key_id.to_owned()),
        ("Action".to_owned(), req.action.to_owned()),
        ("Format".to_owned(), V1_FORMAT.to_owned()),
        ("SignatureMethod".to_owned(), V1_SIGNATURE_METHOD.to_owned()),
        ("SignatureNonce".to_owned(), nonce.to_owned()),
        (
            "SignatureVersion".to_owned(),
            V1_SIGNATURE_VERSION.to_owned(),
        ),
        ("Timestamp".to_owned(), timestamp.to_owned()),
        ("Version".to_owned(), req.version.to_owned()),
    ];
    if let Some(token) = key.security_token {
        params.push(("SecurityToken".to_owned(), token.to_owned()));
    }
    params
}

/// Step 1 of V1: the canonicalized query string of every signed parameter.
///
/// Rule: encode each name and value with [`percent_encode`], sort by name, join `name=value`
/// pairs with `&`. The parameters are the common ones, the query ones and the body ones alike.
pub fn canonicalize_v1(params: &[(String, String)]) -> String {
    sorted_encoded_pairs(params)
}

/// Step 2 of V1: `METHOD & percent_encode("/") & percent_encode(canonicalized)`.
///
/// Rule: the canonicalized string is encoded a second time, so `%3A` becomes `%253A`.
pub fn string_to_sign_v1(method: &str, canonicalized_query_string: &str) -> String {
    format!(
        "{}&{}&{}",
        method,
        percent_encode("/"),
        percent_encode(canonicalized_query_string)
    )
}

/// Step 3 of V1: the HMAC key is the access key secret followed by `&`.
pub fn hmac_key_v1(access_key_secret: &str) -> String {
    format!("{access_key_secret}&")
}

/// Step 4 of V1: Base64 (standard alphabet, padded) of HMAC-SHA1(`key`, `data`).
pub fn hmac_sha1_base64(key: &str, data: &str) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs with V1 a request whose query parameters already hold every common parameter
/// (everything but `Signature`).
///
/// This is the core of [`sign_v1`], public so that requests built by other clients (the
/// documentation's example, the SDKs' captured requests) can be checked whole.
pub fn sign_v1_params(
    method: &str,
    query: &[(String, String)],
    form: &[(String, String)],
    access_key_secret: &str,
) -> SignedV1 {
    // Rule: query and body parameters are signed together.
    let mut signed: Vec<(String, String)> = Vec::with_capacity(query.len() + form.len());
    signed.extend_from_slice(query);
    signed.extend_from_slice(form);
    let canonicalized_query_string = canonicalize_v1(&signed);
    let string_to_sign = string_to_sign_v1(method, &canonicalized_query_string);
    let signature = hmac_sha1_base64(&hmac_key_v1(access_key_secret), &string_to_sign);

    // Rule: `Signature` travels in the query, next to the common parameters; the body
    // parameters travel only in the body.
    let mut wire: Vec<(String, String)> = Vec::with_capacity(query.len() + 1);
    wire.extend_from_slice(query);
    wire.push(("Signature".to_owned(), signature.clone()));
    let query_string = sorted_encoded_pairs(&wire);

    SignedV1 {
        canonicalized_query_string,
        string_to_sign,
        signature,
        query_string,
        body: form_encode(form),
        content_type: (!form.is_empty()).then_some(FORM_CONTENT_TYPE),
    }
}

/// Signs `req` with signature V1 at `timestamp` with `nonce`.
///
/// The common parameters of [`common_params_v1`] and `req.query` go in the query string with
/// the `Signature`; `req.form` goes only in the body. All of them are signed.
pub fn sign_v1(
    req: &RpcRequest<'_>,
    key: &SigningKey<'_>,
    timestamp: &str,
    nonce: &str,
) -> SignedV1 {
    let mut query = common_params_v1(req, key, timestamp, nonce);
    query.extend(req.query.iter().cloned());
    sign_v1_params(req.method, &query, &req.form, key.access_key_secret)
}

// ---------------------------------------------------------------------------------------------
// Signature V3 (ACS3-HMAC-SHA256)
// ---------------------------------------------------------------------------------------------

/// A request signed with V3: the intermediate strings and what goes on the wire.
///
/// `Debug` redacts the `x-acs-security-token` value and the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedV3 {
    /// Every header to send, lower-case names sorted, `authorization` last. Includes `host`,
    /// which must equal what the HTTP library sends.
    pub headers: Vec<(String, String)>,
    /// The query parameters, encoded and sorted.
    pub canonical_query_string: String,
    /// `name:value\n` for every signed header.
    pub canonical_headers: String,
    /// The signed header names joined by `;`.
    pub signed_headers: String,
    /// The six lines that are hashed.
    pub canonical_request: String,
    /// Hex SHA-256 of the canonical request.
    pub hashed_canonical_request: String,
    /// `ACS3-HMAC-SHA256\n<hashed canonical request>`.
    pub string_to_sign: String,
    /// Hex HMAC-SHA256 of the string-to-sign.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// The query string as sent (without `?`); equal to the canonical query string.
    pub query_string: String,
    /// The form body as sent (empty when there are no form parameters).
    pub body: String,
}

impl fmt::Debug for SignedV3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "x-acs-security-token" => REDACTED.to_owned(),
                    "authorization" => redact_authorization(v),
                    _ => v.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        f.debug_struct("SignedV3")
            .field("headers", &headers)
            .field("canonical_query_string", &self.canonical_query_string)
            .field(
                "canonical_headers",
                &redact_header_line(&self.canonical_headers),
            )
            .field("signed_headers", &self.signed_headers)
            .field(
                "canonical_request",
                &redact_header_line(&self.canonical_request),
            )
            .field("hashed_canonical_request", &self.hashed_canonical_request)
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &REDACTED)
            .field("authorization", &redact_authorization(&self.authorization))
            .field("query_string", &self.query_string)
            .field("body", &self.body)
            .finish()
    }
}

/// Lower-case hex SHA-256 of `data` (the `x-acs-content-sha256` header and the hashed
/// canonical request).
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Lower-case hex HMAC-SHA256(`key`, `data`): the V3 signature.
pub fn hmac_sha256_hex(key: &str, data: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts a key of any length");
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// V3 canonical query string: names and values [`percent_encode`]d, sorted by name, joined as
/// `name=value` with `&`; empty when there are no query parameters.
pub fn canonical_query_string_v3(query: &[(String, String)]) -> String {
    sorted_encoded_pairs(query)
}

/// The headers as V3 signs them: names lower-cased, values trimmed, sorted by name.
fn normalized_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// V3 canonical headers: for every header, `lower-case-name:trimmed-value\n`, sorted by name.
pub fn canonical_headers_v3(headers: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in normalized_headers(headers) {
        out.push_str(&k);
        out.push(':');
        out.push_str(&v);
        out.push('\n');
    }
    out
}

/// V3 signed headers: the lower-case names of [`canonical_headers_v3`], sorted, joined by `;`.
pub fn signed_headers_v3(headers: &[(String, String)]) -> String {
    normalized_headers(headers)
        .into_iter()
        .map(|(k, _)| k)
        .collect::<Vec<_>>()
        .join(";")
}

/// V3 canonical request over an arbitrary header set (every header in `headers` is signed):
///
/// ```text
/// METHOD\nPATH\nCANONICAL_QUERY\nCANONICAL_HEADERS\nSIGNED_HEADERS\nHASHED_PAYLOAD
/// ```
///
/// where CANONICAL_HEADERS already ends with `\n`, so an empty line precedes SIGNED_HEADERS.
pub fn canonical_request_v3(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    hashed_payload: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method,
        path,
        canonical_query_string_v3(query),
        canonical_headers_v3(headers),
        signed_headers_v3(headers),
        hashed_payload
    )
}

/// V3 string-to-sign: `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
pub fn string_to_sign_v3(hashed_canonical_request: &str) -> String {
    format!("{V3_ALGORITHM}\n{hashed_canonical_request}")
}

/// V3 `Authorization` header:
/// `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<hex>`.
pub fn authorization_v3(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!("{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// The headers [`sign_v3`] signs, before `authorization`: `host`, `content-type` when there is
/// a form body, and `x-acs-action`, `x-acs-content-sha256`, `x-acs-date`,
/// `x-acs-security-token` (temporary credentials), `x-acs-signature-nonce`, `x-acs-version`.
pub fn headers_to_sign_v3(
    req: &RpcRequest<'_>,
    key: &SigningKey<'_>,
    timestamp: &str,
    nonce: &str,
    content_sha256: &str,
) -> Vec<(String, String)> {
    let mut headers = vec![("host".to_owned(), req.host.to_owned())];
    if !req.form.is_empty() {
        headers.push(("content-type".to_owned(), FORM_CONTENT_TYPE.to_owned()));
    }
    headers.push(("x-acs-action".to_owned(), req.action.to_owned()));
    headers.push(("x-acs-content-sha256".to_owned(), content_sha256.to_owned()));
    headers.push(("x-acs-date".to_owned(), timestamp.to_owned()));
    if let Some(token) = key.security_token {
        headers.push(("x-acs-security-token".to_owned(), token.to_owned()));
    }
    headers.push(("x-acs-signature-nonce".to_owned(), nonce.to_owned()));
    headers.push(("x-acs-version".to_owned(), req.version.to_owned()));
    normalized_headers(&headers)
}

/// Signs `req` with signature V3 at `timestamp` with `nonce`.
///
/// The path is `/`; `req.query` goes in the query string, `req.form` in the body. The signed
/// headers are those of [`headers_to_sign_v3`]; the result's `headers` adds `authorization`.
pub fn sign_v3(
    req: &RpcRequest<'_>,
    key: &SigningKey<'_>,
    timestamp: &str,
    nonce: &str,
) -> SignedV3 {
    // Rule: the body is hashed exactly as sent.
    let body = form_encode(&req.form);
    let content_sha256 = hex_sha256(body.as_bytes());
    let signed = headers_to_sign_v3(req, key, timestamp, nonce, &content_sha256);

    // Rule: canonical request over the method, `/`, the query, the signed headers and the
    // payload hash; then its hash, the string-to-sign and the HMAC with the bare secret.
    let canonical_query_string = canonical_query_string_v3(&req.query);
    let canonical_headers = canonical_headers_v3(&signed);
    let signed_headers = signed_headers_v3(&signed);
    let canonical_request =
        canonical_request_v3(req.method, "/", &req.query, &signed, &content_sha256);
    let hashed_canonical_request = hex_sha256(canonical_request.as_bytes());
    let string_to_sign = string_to_sign_v3(&hashed_canonical_request);
    let signature = hmac_sha256_hex(key.access_key_secret, &string_to_sign);
    let authorization = authorization_v3(key.access_key_id, &signed_headers, &signature);

    let mut headers = signed;
    headers.push(("authorization".to_owned(), authorization.clone()));
    SignedV3 {
        headers,
        query_string: canonical_query_string.clone(),
        canonical_query_string,
        canonical_headers,
        signed_headers,
        canonical_request,
        hashed_canonical_request,
        string_to_sign,
        signature,
        authorization,
        body,
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction, for logs
// ---------------------------------------------------------------------------------------------

const MASK: &str = "***";

/// Replaces the values of `Signature` and `SecurityToken` in a query string by `***`, for
/// `--verbose` traces. Other parameters are kept as they are. Accepts a bare query string, one
/// with a leading `?`, or a whole URL (everything up to the first `?` is kept).
pub fn redact_query(q: &str) -> String {
    let (prefix, rest) = match q.find('?') {
        Some(at) => q.split_at(at + 1),
        None => ("", q),
    };
    let parts: Vec<String> = rest
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name == "Signature" || name == "SecurityToken" => {
                format!("{name}={MASK}")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{prefix}{}", parts.join("&"))
}

/// Replaces the signature in an `Authorization` header value (`...,Signature=<hex>`) by `***`.
pub fn redact_authorization(h: &str) -> String {
    match h.find("Signature=") {
        Some(at) => {
            let start = at + "Signature=".len();
            let end = h[start..].find(',').map_or(h.len(), |i| start + i);
            format!("{}{MASK}{}", &h[..start], &h[end..])
        }
        None => h.to_owned(),
    }
}

/// In a V1 string-to-sign, where the canonicalized query is encoded once more, replaces the
/// value of `name` (`name%3D<value>%26`) by `***`.
fn redact_encoded_param(s: &str, name: &str) -> String {
    let marker = format!("{name}%3D");
    match s.find(&marker) {
        Some(at) => {
            let start = at + marker.len();
            let end = s[start..].find("%26").map_or(s.len(), |i| start + i);
            format!("{}{MASK}{}", &s[..start], &s[end..])
        }
        None => s.to_owned(),
    }
}

/// In V3 canonical headers (or a canonical request), replaces the value on the
/// `x-acs-security-token:` line by `***`.
fn redact_header_line(s: &str) -> String {
    s.split('\n')
        .map(|line| {
            if line.starts_with("x-acs-security-token:") {
                format!("x-acs-security-token:{MASK}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn request<'a>() -> RpcRequest<'a> {
        RpcRequest {
            method: "POST",
            host: "bpstudio.cn-hangzhou.aliyuncs.com",
            action: "GetExecuteOperationResult",
            version: "2021-09-31",
            query: pairs(&[("RegionId", "cn-hangzhou")]),
            form: pairs(&[("OperationId", "op-1")]),
        }
    }

    const KEY: SigningKey<'static> = SigningKey {
        access_key_id: "LTAI5tExampleAccessKeyId",
        access_key_secret: "TheSecretValue42",
        security_token: Some("TheStsTokenValue42"),
    };

    /// The reference, written independently of the implementation: RFC 3986 unreserved
    /// bytes are kept, every other byte is `%` and two upper-case hex digits.
    fn reference_encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                let unreserved = b.is_ascii_uppercase()
                    || b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b"-_.~".contains(&b);
                if unreserved {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// Every byte 0..=255 that can occur in UTF-8 (all but C0, C1, F5..FF) is checked, alone
    /// (ASCII) or inside a multi-byte character.
    #[test]
    fn percent_encode_every_byte() {
        let mut seen = [false; 256];
        let mut check = |s: &str| {
            assert_eq!(percent_encode(s), reference_encode(s), "input {s:?}");
            for b in s.bytes() {
                seen[usize::from(b)] = true;
            }
        };
        // Every 1- and 2-byte character, then enough 3- and 4-byte ones to hit every lead and
        // continuation byte.
        for cp in 0u32..0x800 {
            check(&char::from_u32(cp).unwrap().to_string());
        }
        for cp in (0x800u32..=0x10FFFF).step_by(0x3F) {
            if let Some(c) = char::from_u32(cp) {
                check(&c.to_string());
            }
        }
        for s in [
            "\u{FFFF}",
            "\u{10FFFF}",
            "\u{10000}",
            "\u{D7FF}",
            "\u{E000}",
        ] {
            check(s);
        }
        for b in 0u8..=255 {
            let impossible = matches!(b, 0xC0 | 0xC1 | 0xF5..=0xFF);
            assert_eq!(seen[usize::from(b)], !impossible, "byte {b:#04x}");
        }
        // A few hand-checked multi-byte results.
        assert_eq!(percent_encode("\u{0800}"), "%E0%A0%80");
        assert_eq!(percent_encode("\u{10FFFF}"), "%F4%8F%BF%BF");
    }

    #[test]
    fn percent_encode_table() {
        let table = [
            ("", ""),
            ("AZaz09-_.~", "AZaz09-_.~"),
            (" ", "%20"),
            ("*", "%2A"),
            ("+", "%2B"),
            ("/", "%2F"),
            (":", "%3A"),
            ("=", "%3D"),
            ("&", "%26"),
            ("%", "%25"),
            ("%20", "%2520"),
            ("!'()", "%21%27%28%29"),
            ("\n\t\0", "%0A%09%00"),
            ("\u{7f}", "%7F"),
            ("é", "%C3%A9"),
            ("中文", "%E4%B8%AD%E6%96%87"),
            ("😀", "%F0%9F%98%80"),
            ("2025-01-02T03:04:05Z", "2025-01-02T03%3A04%3A05Z"),
        ];
        for (input, expected) in table {
            assert_eq!(percent_encode(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn form_encode_uses_plus_for_space_and_keeps_order() {
        assert_eq!(form_encode(&[]), "");
        assert_eq!(
            form_encode(&pairs(&[("Z", "a b"), ("A", "+*~/é")])),
            "Z=a+b&A=%2B%2A~%2F%C3%A9"
        );
        assert_eq!(form_encode(&pairs(&[("Empty", "")])), "Empty=");
    }

    #[test]
    fn nonce_and_timestamp_change_the_signature() {
        let req = request();
        let base = sign_v1(&req, &KEY, "2025-01-02T03:04:05Z", "n1");
        assert_ne!(
            base.signature,
            sign_v1(&req, &KEY, "2025-01-02T03:04:05Z", "n2").signature
        );
        assert_ne!(
            base.signature,
            sign_v1(&req, &KEY, "2025-01-02T03:04:06Z", "n1").signature
        );
        assert_eq!(
            base,
            sign_v1(&req, &KEY, "2025-01-02T03:04:05Z", "n1"),
            "pure"
        );

        let base = sign_v3(&req, &KEY, "2025-01-02T03:04:05Z", "n1");
        assert_ne!(
            base.signature,
            sign_v3(&req, &KEY, "2025-01-02T03:04:05Z", "n2").signature
        );
        assert_ne!(
            base.signature,
            sign_v3(&req, &KEY, "2025-01-02T03:04:06Z", "n1").signature
        );
        assert_eq!(base, sign_v3(&req, &KEY, "2025-01-02T03:04:05Z", "n1"));
    }

    #[test]
    fn v1_body_params_are_signed_but_not_in_query() {
        let req = request();
        let s = sign_v1(&req, &KEY, "t", "n");
        assert!(s.canonicalized_query_string.contains("OperationId=op-1"));
        assert!(!s.query_string.contains("OperationId"));
        assert!(s.query_string.contains("RegionId=cn-hangzhou"));
        assert!(s.query_string.contains("SecurityToken=TheStsTokenValue42"));
        assert_eq!(s.body, "OperationId=op-1");
        assert_eq!(s.content_type, Some(FORM_CONTENT_TYPE));
        let mut other = request();
        other.form = pairs(&[("OperationId", "op-2")]);
        assert_ne!(s.signature, sign_v1(&other, &KEY, "t", "n").signature);
    }

    #[test]
    fn v3_headers_and_query() {
        let req = request();
        let s = sign_v3(&req, &KEY, "t", "n");
        let names: Vec<&str> = s.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "host",
                "x-acs-action",
                "x-acs-content-sha256",
                "x-acs-date",
                "x-acs-security-token",
                "x-acs-signature-nonce",
                "x-acs-version",
                "authorization"
            ]
        );
        assert_eq!(s.query_string, "RegionId=cn-hangzhou");
        assert_eq!(s.body, "OperationId=op-1");
        // Without a body there is no content-type; the hash is the one of "".
        let mut get = request();
        get.method = "GET";
        get.form.clear();
        let g = sign_v3(&get, &KEY, "t", "n");
        assert!(!g.headers.iter().any(|(k, _)| k == "content-type"));
        assert!(g.headers.contains(&(
            "x-acs-content-sha256".to_owned(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned()
        )));
    }

    #[test]
    fn redact_query_masks_signature_and_token_only() {
        assert_eq!(
            redact_query("?AccessKeyId=id&SecurityToken=tok%2B&Signature=sig%3D&SignatureNonce=n"),
            "?AccessKeyId=id&SecurityToken=***&Signature=***&SignatureNonce=n"
        );
        assert_eq!(
            redact_query("https://h/?SecurityToken=t&Signature=s%2B&Version=1"),
            "https://h/?SecurityToken=***&Signature=***&Version=1"
        );
        assert_eq!(
            redact_query("Signature=s&SignatureNonce=n"),
            "Signature=***&SignatureNonce=n"
        );
        assert_eq!(redact_query("https://h/"), "https://h/");
        assert_eq!(redact_query("a=1"), "a=1");
        assert_eq!(redact_query(""), "");
    }

    #[test]
    fn redact_authorization_masks_signature() {
        assert_eq!(
            redact_authorization(
                "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=abc123"
            ),
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=***"
        );
        assert_eq!(redact_authorization("Bearer x"), "Bearer x");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let req = request();
        let v1 = sign_v1(&req, &KEY, "t", "n");
        let v3 = sign_v3(&req, &KEY, "t", "n");
        for text in [
            format!("{KEY:?}"),
            format!("{v1:?}"),
            format!("{v3:?}"),
            format!("{v1:#?}"),
            format!("{v3:#?}"),
        ] {
            assert!(!text.contains("TheSecretValue42"), "{text}");
            assert!(!text.contains("TheStsTokenValue42"), "{text}");
            assert!(!text.contains(&v1.signature), "{text}");
            assert!(!text.contains(&v3.signature), "{text}");
        }
        assert!(format!("{KEY:?}").contains(REDACTED));
        assert!(format!("{KEY:?}").contains("LTAI5tExampleAccessKeyId"));
    }
}
