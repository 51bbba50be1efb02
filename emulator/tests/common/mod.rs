//! A tiny HTTP/1.1 client over `std::net::TcpStream`, and request builders that sign with
//! the emulator's own `verify` functions (their arithmetic is pinned by `tests/vectors.rs`
//! against the official SDKs' vectors, so here they only serve to produce valid requests).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bpstudio_emulator::verify;

/// A response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn code(&self) -> String {
        self.json()["Code"].as_str().unwrap_or_default().to_string()
    }
}

/// Sends raw bytes and reads until the server closes. `Err` when nothing came back.
pub fn send_raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after a partial answer (truncate) still leaves what was read.
            Err(e) if !raw.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("no complete response head ({} bytes)", raw.len()),
            )
        })?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// Builds and sends a request: method, path+query, headers, body. Adds `Connection: close`
/// and `Content-Length`.
pub fn send(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut request = format!("{method} {path_and_query} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes)
}

static NONCE: AtomicU64 = AtomicU64::new(0);

pub fn fresh_nonce() -> String {
    let n = NONCE.fetch_add(1, Ordering::SeqCst);
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{t:x}{n:08x}{}", std::process::id())
}

pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

pub fn form(params: &BTreeMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

pub fn query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                verify::percent_encode(k),
                verify::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An RPC V1 request: common parameters in the query, API parameters in a form body.
#[derive(Clone)]
pub struct V1 {
    pub method: String,
    pub common: BTreeMap<String, String>,
    pub api: BTreeMap<String, String>,
    pub secret: String,
}

impl V1 {
    pub fn new(id: &str, secret: &str, action: &str) -> V1 {
        let mut common = BTreeMap::new();
        for (k, v) in [
            ("AccessKeyId", id.to_string()),
            ("Action", action.to_string()),
            ("Format", "JSON".to_string()),
            ("SignatureMethod", "HMAC-SHA1".to_string()),
            ("SignatureNonce", fresh_nonce()),
            ("SignatureVersion", "1.0".to_string()),
            ("Timestamp", timestamp(SystemTime::now())),
            ("Version", "2021-09-31".to_string()),
        ] {
            common.insert(k.to_string(), v);
        }
        V1 {
            method: "POST".to_string(),
            common,
            api: BTreeMap::new(),
            secret: secret.to_string(),
        }
    }

    pub fn get_result(id: &str, secret: &str, operation_id: &str) -> V1 {
        V1::new(id, secret, "GetExecuteOperationResult").api("OperationId", operation_id)
    }

    pub fn api(mut self, k: &str, v: &str) -> V1 {
        self.api.insert(k.to_string(), v.to_string());
        self
    }

    pub fn set(mut self, k: &str, v: &str) -> V1 {
        self.common.insert(k.to_string(), v.to_string());
        self
    }

    pub fn remove(mut self, k: &str) -> V1 {
        self.common.remove(k);
        self
    }

    pub fn method(mut self, m: &str) -> V1 {
        self.method = m.to_string();
        self
    }

    /// The string-to-sign the emulator must compute for this request.
    pub fn string_to_sign(&self) -> String {
        let mut all = self.common.clone();
        all.extend(self.api.clone());
        all.remove("Signature");
        verify::v1_string_to_sign(&self.method, &verify::v1_canonicalized_query(&all))
    }

    /// Adds `Signature` unless the test set one.
    pub fn signed(mut self) -> V1 {
        if !self.common.contains_key("Signature") {
            let signature = verify::v1_signature(&self.secret, &self.string_to_sign());
            self.common.insert("Signature".to_string(), signature);
        }
        self
    }

    pub fn send(self, addr: SocketAddr) -> HttpResponse {
        self.try_send(addr).expect("a response")
    }

    pub fn try_send(self, addr: SocketAddr) -> std::io::Result<HttpResponse> {
        let signed = self.signed();
        if signed.method == "GET" {
            let mut all = signed.common.clone();
            all.extend(signed.api.clone());
            send(addr, "GET", &format!("/?{}", query(&all)), &[], b"")
        } else {
            send(
                addr,
                &signed.method,
                &format!("/?{}", query(&signed.common)),
                &[(
                    "content-type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                )],
                form(&signed.api).as_bytes(),
            )
        }
    }
}

/// An ACS3-HMAC-SHA256 request: API parameters in a form body, every header signed.
#[derive(Clone)]
pub struct V3 {
    pub id: String,
    pub secret: String,
    pub headers: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub authorization: Option<String>,
}

impl V3 {
    pub fn new(id: &str, secret: &str, action: &str, body_params: &[(&str, &str)]) -> V3 {
        let params: BTreeMap<String, String> = body_params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = form(&params).into_bytes();
        let mut headers = BTreeMap::new();
        for (k, v) in [
            ("accept", "application/json".to_string()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("user-agent", "emulator-tests/1.0".to_string()),
            ("x-acs-action", action.to_string()),
            ("x-acs-version", "2021-09-31".to_string()),
            ("x-acs-date", timestamp(SystemTime::now())),
            ("x-acs-signature-nonce", fresh_nonce()),
            ("x-acs-content-sha256", verify::sha256_hex(&body)),
        ] {
            headers.insert(k.to_string(), v);
        }
        V3 {
            id: id.to_string(),
            secret: secret.to_string(),
            headers,
            query: BTreeMap::new(),
            body,
            authorization: None,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> V3 {
        self.headers.insert(k.to_string(), v.to_string());
        self
    }

    pub fn send(self, addr: SocketAddr) -> HttpResponse {
        let mut signed = self.headers.clone();
        signed.insert("host".to_string(), addr.to_string());
        let canonical_request = verify::v3_canonical_request(
            "POST",
            "/",
            &verify::v3_canonical_query(&self.query),
            &verify::v3_canonical_headers(&signed),
            &verify::v3_signed_headers(&signed),
            // A client signs the hash it announces, whatever the body is.
            &self.headers["x-acs-content-sha256"],
        );
        let string_to_sign = verify::v3_string_to_sign(&canonical_request);
        let authorization = self.authorization.clone().unwrap_or_else(|| {
            format!(
                "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={}",
                self.id,
                verify::v3_signed_headers(&signed),
                verify::v3_signature(&self.secret, &string_to_sign)
            )
        });
        let mut headers: Vec<(String, String)> = signed.into_iter().collect();
        headers.push(("authorization".to_string(), authorization));
        let path = if self.query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", query(&self.query))
        };
        send(addr, "POST", &path, &headers, &self.body).expect("a response")
    }
}
