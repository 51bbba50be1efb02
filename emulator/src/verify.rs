/*!
The emulator's own signature arithmetic, for RPC signature V1 (`HMAC-SHA1`) and
`ACS3-HMAC-SHA256` (V3), written from Alibaba Cloud's published algorithm and checked
against the official SDKs' vectors in `tests/data/signing/`.

Every function here is pure: strings in, strings out. No clock, no I/O, no HTTP types.
This module must never use the client's signer (`bpstudio-op`'s `src/sign.rs`): a stand-in
that shares code with what it checks proves nothing.
*/

use std::collections::BTreeMap;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The V3 algorithm name, first line of its string-to-sign and prefix of `Authorization`.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Percent-encodes per RFC 3986: the unreserved `A-Za-z0-9-_.~` stay, every other byte of
/// the UTF-8 text becomes `%XX` (uppercase). So space is `%20`, `*` is `%2A`, `~` stays.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// V1 step 1: the canonicalized query string. Every parameter except `Signature` itself,
/// sorted by name (byte order), each name and value percent-encoded, joined `k=v&k=v`.
pub fn v1_canonicalized_query(params: &BTreeMap<String, String>) -> String {
    encoded_sorted_query(
        params
            .iter()
            .filter(|(name, _)| name.as_str() != "Signature"),
    )
}

/// `k=v` pairs with names and values percent-encoded, sorted on the encoded names (as the
/// documentation says; for ASCII names it is the same order), joined by `&`.
fn encoded_sorted_query<'a>(params: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// V1 step 2: `METHOD&%2F&` followed by the canonicalized query string encoded once more.
pub fn v1_string_to_sign(http_method: &str, canonicalized_query: &str) -> String {
    format!(
        "{}&{}&{}",
        http_method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(canonicalized_query)
    )
}

/// V1 step 3: the HMAC key is the secret followed by `&`.
pub fn v1_hmac_key(access_key_secret: &str) -> String {
    format!("{access_key_secret}&")
}

/// V1 step 4: Base64 of HMAC-SHA1(key = secret + "&", string-to-sign).
pub fn v1_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(v1_hmac_key(access_key_secret).as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Lowercase hex SHA-256, used for the V3 payload hash and the hashed canonical request.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// V3 step 1: the canonical query string: query parameters sorted by name, names and values
/// percent-encoded, `k=v` joined by `&`; empty when there is no query.
pub fn v3_canonical_query(query: &BTreeMap<String, String>) -> String {
    encoded_sorted_query(query.iter())
}

/// V3 step 2: the canonical headers: each signed header as `name:value\n`, names lowercased
/// and sorted, values trimmed. `headers` holds the values of exactly the signed headers.
pub fn v3_canonical_headers(headers: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (name, value) in headers {
        out.push_str(&name.to_ascii_lowercase());
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out
}

/// V3 step 3: the signed-headers list: the lowercased names, sorted, joined by `;`.
pub fn v3_signed_headers(headers: &BTreeMap<String, String>) -> String {
    let mut names: Vec<String> = headers.keys().map(|n| n.to_ascii_lowercase()).collect();
    names.sort();
    names.join(";")
}

/// V3 step 4: the canonical request, six lines: method, path, canonical query, canonical
/// headers (which end in their own newline), signed headers, payload hash.
pub fn v3_canonical_request(
    http_method: &str,
    pathname: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_sha256_hex: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        http_method.to_ascii_uppercase(),
        pathname,
        canonical_query,
        canonical_headers,
        signed_headers,
        payload_sha256_hex
    )
}

/// V3 step 5: the string-to-sign: the algorithm name, a newline, hex SHA-256 of the
/// canonical request.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// V3 step 6: lowercase hex HMAC-SHA256(key = secret, string-to-sign).
pub fn v3_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The three parts of a V3 `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Authorization {
    /// `Credential=`: the access key id.
    pub credential: String,
    /// `SignedHeaders=`: lowercased header names, in the order given.
    pub signed_headers: Vec<String>,
    /// `Signature=`: lowercase hex.
    pub signature: String,
}

/// Parses `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`;
/// `None` when it is not of that form (the service answers `IncompleteSignature`).
pub fn parse_v3_authorization(header: &str) -> Option<V3Authorization> {
    let rest = header.trim().strip_prefix(V3_ALGORITHM)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.trim().split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name.trim() {
            "Credential" => credential = Some(value.trim().to_string()),
            "SignedHeaders" => signed = Some(value.trim().to_string()),
            "Signature" => signature = Some(value.trim().to_string()),
            _ => return None,
        }
    }
    let credential = credential.filter(|c| !c.is_empty())?;
    let signed = signed.filter(|s| !s.is_empty())?;
    let signature = signature.filter(|s| !s.is_empty())?;
    Some(V3Authorization {
        credential,
        signed_headers: signed
            .split(';')
            .map(|n| n.trim().to_ascii_lowercase())
            .collect(),
        signature,
    })
}

/// Compares two signatures without an early exit on the first differing byte.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("a*b~c+d/e f"), "a%2Ab~c%2Bd%2Fe%20f");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn authorization_header_parses() {
        let auth = parse_v3_authorization(
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date,Signature=ab",
        )
        .unwrap();
        assert_eq!(auth.credential, "id");
        assert_eq!(auth.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(auth.signature, "ab");
        assert!(parse_v3_authorization("ACS3-HMAC-SHA256 Credential=id").is_none());
        assert!(parse_v3_authorization("Bearer x").is_none());
    }
}
