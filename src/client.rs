//! The BPStudio API client: signs, sends, retries and decodes `GetExecuteOperationResult`.
//!
//! Owns the wire (SPEC §1): request shape, per-attempt signing with a fresh timestamp and
//! nonce, retries with backoff, the response size cap, and the conversion of wire structs into
//! domain types. It is the only module that reads the clock for signing or draws nonces. It
//! knows nothing of the terminal: the `--verbose` trace goes to an injected sink.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

pub use crate::config::SignatureVersion;
use crate::credentials::{CredentialSource, Credentials};
use crate::endpoint::Endpoint;
use crate::error::{ApiFailure, Error, Result};
use crate::operation::{Lookup, Operation, Status};
use crate::sign::{self, RpcRequest, SigningKey};
use crate::wire::{self, describe_body, describe_error, mask};

/// The API version of BPStudio this client speaks.
pub const API_VERSION: &str = "2021-09-31";
/// The one action this tool calls.
pub const ACTION: &str = "GetExecuteOperationResult";
/// Bodies larger than this are refused: a real answer is a few kilobytes.
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;

/// Where `--verbose` lines go.
pub type TraceSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How the client talks to the service.
#[derive(Clone)]
pub struct ClientOptions {
    pub endpoint: Endpoint,
    pub signature: SignatureVersion,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Retries after the first attempt, for retryable failures only.
    pub retries: u32,
    pub max_body: usize,
    /// Base of the exponential backoff between attempts.
    pub backoff_base: Duration,
    pub trace: Option<TraceSink>,
}

impl ClientOptions {
    pub fn new(endpoint: Endpoint) -> Self {
        ClientOptions {
            endpoint,
            signature: SignatureVersion::V1,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            retries: 3,
            max_body: DEFAULT_MAX_BODY,
            backoff_base: Duration::from_millis(200),
            trace: None,
        }
    }
}

/// The API client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    options: Arc<ClientOptions>,
    credentials: CredentialSource,
}

/// What one attempt came to.
enum Attempt {
    Done(Lookup),
    /// Worth another attempt; the server may have said how long to wait.
    Retry(Error, Option<Duration>),
    Fail(Error),
}

/// What we sent in one attempt, kept to explain a refusal.
struct Sent {
    string_to_sign: String,
    credentials: Credentials,
}

impl Client {
    /// Builds the HTTP client (rustls with the ring provider, system proxy variables honoured).
    pub fn new(options: ClientOptions, credentials: CredentialSource) -> Result<Client> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::tls_config())
            .user_agent(concat!("bpstudio-op/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .timeout(options.connect_timeout + options.read_timeout)
            .build()
            .map_err(|e| {
                Error::config(format!("cannot set up the HTTP client: {e}"))
                    .with_hint("check the HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables")
            })?;
        Ok(Client {
            http,
            options: Arc::new(options),
            credentials,
        })
    }

    /// The credential source this client signs with.
    pub fn credentials(&self) -> &CredentialSource {
        &self.credentials
    }

    /// One `GetExecuteOperationResult` for `id`, retried per SPEC §1.
    pub async fn get_operation(&self, id: &str, resource_group_id: Option<&str>) -> Result<Lookup> {
        let attempts = self.options.retries + 1;
        let mut attempt = 1;
        loop {
            match self.attempt(id, resource_group_id).await? {
                Attempt::Done(lookup) => return Ok(lookup),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, _) if attempt >= attempts => {
                    return Err(e.with_hint(format!(
                        "gave up after {attempts} attempts; try again later, or raise --retries"
                    )))
                }
                Attempt::Retry(e, after) => {
                    let delay = after.unwrap_or_else(|| self.backoff(attempt));
                    self.trace(&format!(
                        "* attempt {attempt} failed ({}); retrying in {} ms",
                        e.message,
                        delay.as_millis()
                    ));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Exponential backoff with full jitter: a random delay up to `base · 2^(attempt-1)`,
    /// at most 5 s.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .options
            .backoff_base
            .saturating_mul(1 << (attempt - 1).min(8))
            .min(Duration::from_secs(5));
        let ms = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::random_range(ms / 2..=ms))
    }

    fn trace(&self, line: &str) {
        if let Some(t) = &self.options.trace {
            t(line);
        }
    }

    async fn attempt(&self, id: &str, resource_group_id: Option<&str>) -> Result<Attempt> {
        let credentials = self.credentials.credentials().await?;
        let opts = &self.options;
        let mut form = vec![("OperationId".to_owned(), id.to_owned())];
        if let Some(rg) = resource_group_id {
            form.push(("ResourceGroupId".to_owned(), rg.to_owned()));
        }
        let req = RpcRequest {
            method: "POST",
            host: &opts.endpoint.host,
            action: ACTION,
            version: API_VERSION,
            query: Vec::new(),
            form,
        };
        let key = SigningKey {
            access_key_id: &credentials.access_key_id,
            access_key_secret: &credentials.access_key_secret,
            security_token: credentials.security_token.as_deref(),
        };
        // A fresh timestamp and nonce for every attempt (SPEC §1).
        let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let nonce = format!("{:032x}", rand::random::<u128>());

        let (url, headers, body, string_to_sign) = match opts.signature {
            SignatureVersion::V1 => {
                let s = sign::sign_v1(&req, &key, &timestamp, &nonce);
                let headers = vec![(
                    "content-type".to_owned(),
                    sign::FORM_CONTENT_TYPE.to_owned(),
                )];
                let url = format!("{}?{}", opts.endpoint.url, s.query_string);
                (url, headers, s.body, s.string_to_sign)
            }
            SignatureVersion::V3 => {
                let s = sign::sign_v3(&req, &key, &timestamp, &nonce);
                let url = if s.query_string.is_empty() {
                    opts.endpoint.url.clone()
                } else {
                    format!("{}?{}", opts.endpoint.url, s.query_string)
                };
                (url, s.headers, s.body, s.string_to_sign)
            }
        };
        let sent = Sent {
            string_to_sign,
            credentials: credentials.clone(),
        };

        if opts.trace.is_some() {
            self.trace(&format!("> POST {}", sign::redact_query(&url)));
            for (k, v) in &headers {
                let v = match k.as_str() {
                    "authorization" => sign::redact_authorization(v),
                    "x-acs-security-token" => "***".to_owned(),
                    _ => v.clone(),
                };
                self.trace(&format!("> {k}: {v}"));
            }
            self.trace(&format!("> {body}"));
        }

        let mut builder = self.http.post(&url).body(body);
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Attempt::Retry(self.network_error(id, &e), None)),
        };
        let status = response.status().as_u16();
        let server_date = response
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = match self.read_capped(response).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => {
                return Ok(Attempt::Fail(
                    Error::protocol(format!(
                        "the response for {id} is larger than {} MiB, which no real answer is",
                        opts.max_body / (1024 * 1024)
                    ))
                    .with_hint("check --endpoint: it may not be a BPStudio API endpoint"),
                ))
            }
            Err(ReadError::Http(e)) => return Ok(Attempt::Retry(self.network_error(id, &e), None)),
        };
        if opts.trace.is_some() {
            self.trace(&format!(
                "< HTTP {status} ({} ms, {} bytes)",
                started.elapsed().as_millis(),
                bytes.len()
            ));
            let text = String::from_utf8_lossy(&bytes);
            let cut: String = text.chars().take(2000).collect();
            self.trace(&format!(
                "< {}",
                mask(
                    &crate::render::neutralize(&cut),
                    &sent.credentials.secrets()
                )
            ));
        }

        if (200..300).contains(&status) {
            return Ok(match decode_lookup(id, &bytes) {
                Ok(lookup) => Attempt::Done(lookup),
                Err(e) => Attempt::Fail(e),
            });
        }
        Ok(self.classify_failure(id, status, &bytes, retry_after, server_date, &sent))
    }

    fn network_error(&self, id: &str, e: &reqwest::Error) -> Error {
        Error::network(format!(
            "the request for {id} to {} {}",
            self.options.endpoint.url,
            describe_error(e)
        ))
        .with_hint("check the network, --endpoint/--region, and any HTTPS_PROXY setting")
    }

    async fn read_capped(
        &self,
        mut response: reqwest::Response,
    ) -> std::result::Result<Vec<u8>, ReadError> {
        let max = self.options.max_body;
        if response.content_length().is_some_and(|n| n as usize > max) {
            return Err(ReadError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
            if body.len() + chunk.len() > max {
                return Err(ReadError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify_failure(
        &self,
        id: &str,
        status: u16,
        bytes: &[u8],
        retry_after: Option<Duration>,
        server_date: Option<String>,
        sent: &Sent,
    ) -> Attempt {
        let Some(mut failure) = wire::api_failure(status, bytes) else {
            let e = Error::protocol(format!(
                "the service answered HTTP {status} for {id} with a body that is not an API error ({})",
                describe_body(bytes)
            ))
            .with_hint("check --endpoint: a proxy or gateway may have answered instead of BPStudio");
            return if status >= 500 {
                Attempt::Retry(e, retry_after)
            } else {
                Attempt::Fail(e)
            };
        };
        // The server echoes the string to sign, which holds the STS token.
        failure.message = failure
            .message
            .map(|m| mask(&m, &sent.credentials.secrets()));
        failure.retry_after = retry_after;
        let code = failure.code.clone();
        let retryable = status >= 500
            || code.starts_with("Throttling")
            || code == "ServiceUnavailable"
            || code == "InternalError";
        let hint = self.hint_for(&failure, server_date.as_deref(), sent);
        let mut error = Error::api(
            failure,
            format!("the API refused {ACTION} for {id}: {code}"),
        );
        if let Some(h) = hint {
            error = error.with_hint(h);
        }
        if retryable {
            Attempt::Retry(error, retry_after)
        } else {
            Attempt::Fail(error)
        }
    }

    /// What to try next, by API code (SPEC §4).
    fn hint_for(&self, f: &ApiFailure, server_date: Option<&str>, sent: &Sent) -> Option<String> {
        let source = self.credentials.describe();
        let code = f.code.as_str();
        Some(match code {
            "SignatureDoesNotMatch" | "IncompleteSignature" => {
                let server = f
                    .message
                    .as_deref()
                    .and_then(|m| m.split_once("server string to sign is:"))
                    .map(|(_, s)| s.trim());
                match server {
                    Some(s) if s == mask(&sent.string_to_sign, &sent.credentials.secrets()) => format!(
                        "the server's string to sign equals ours, so the access key secret is wrong \
                         for access key id {} (credentials from {source}); fix it, e.g. with `bpstudio-op configure`",
                        sent.credentials.access_key_id
                    ),
                    Some(_) => "the server's string to sign differs from ours: something changed the \
                         request on the way (a proxy?), or this is a bug in bpstudio-op; \
                         run with -v and report it"
                        .to_owned(),
                    None => format!(
                        "check the access key secret for {} (credentials from {source})",
                        sent.credentials.access_key_id
                    ),
                }
            }
            "InvalidTimeStamp.Expired" => match server_date.and_then(clock_skew) {
                Some(skew) => format!(
                    "this machine's clock is {skew} the server's (the service allows 15 minutes); \
                     synchronise it, e.g. `sudo timedatectl set-ntp true`"
                ),
                None => "this machine's clock is more than 15 minutes off; synchronise it, \
                         e.g. `sudo timedatectl set-ntp true`"
                    .to_owned(),
            },
            c if c.starts_with("InvalidAccessKeyId") => format!(
                "the service does not know access key id {} (credentials from {source}); \
                 check it, or choose another profile with --profile",
                sent.credentials.access_key_id
            ),
            c if c.starts_with("InvalidSecurityToken") || c.starts_with("MissingSecurityToken") => {
                format!("the STS security token from {source} is expired or does not belong to the access key; get fresh temporary credentials")
            }
            c if c.starts_with("Throttling") => {
                "the service is throttling this access key; wait and retry, or lower --concurrency"
                    .to_owned()
            }
            c if c.starts_with("Forbidden") || c.starts_with("NoPermission") => format!(
                "the RAM identity behind {} needs permission for bpstudio:{ACTION}",
                sent.credentials.access_key_id
            ),
            "InvalidApi.NotFound" => {
                "the endpoint does not serve BPStudio 2021-09-31; check --endpoint and --region"
                    .to_owned()
            }
            _ => return None,
        })
    }
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

/// `x-acs-retry-after`: milliseconds, as the service sends it.
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|ms| Duration::from_millis(ms.min(60_000)))
}

/// "20m 3s ahead of" / "5m behind" from the server's `Date` header.
fn clock_skew(server_date: &str) -> Option<String> {
    let server = httpdate::parse_http_date(server_date).ok()?;
    let now = SystemTime::now();
    let (d, dir) = match now.duration_since(server) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(e) => (e.duration(), "behind"),
    };
    let d = Duration::from_secs(d.as_secs());
    Some(format!("{} {dir}", humantime::format_duration(d)))
}

/// Converts a 2xx body into a [`Lookup`]: `Data` absent or null means expired or unknown.
pub fn decode_lookup(id: &str, bytes: &[u8]) -> Result<Lookup> {
    let body: Value = serde_json::from_slice(bytes).map_err(|_| {
        Error::protocol(format!(
            "the answer for {id} is not JSON ({})",
            describe_body(bytes)
        ))
        .with_hint("check --endpoint: it may not be a BPStudio API endpoint, or a proxy answered")
    })?;
    let Value::Object(map) = &body else {
        return Err(Error::protocol(format!(
            "the answer for {id} is JSON but not an object"
        )));
    };
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let request_id = text(map.get("RequestId"));
    let operation = match map.get("Data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(data)) => Some(Operation {
            operation_id: text(data.get("OperationId")),
            status: text(data.get("Status")).map(|s| Status::parse(&s)),
            message: text(data.get("Message")),
            arguments: text(data.get("Arguments")),
        }),
        Some(_) => {
            return Err(Error::protocol(format!(
                "the answer for {id} has a Data field that is not an object"
            )))
        }
    };
    Ok(Lookup {
        requested_id: id.to_owned(),
        request_id,
        operation,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_success_body_keeping_every_field() {
        let body = br#"{"RequestId":"R1","Code":200,"Data":{"OperationId":"op_a","Status":"running","Message":"{\"a\":1}","Arguments":{"k":"v"}},"New":true}"#;
        let l = decode_lookup("op_a", body).unwrap();
        assert_eq!(l.request_id.as_deref(), Some("R1"));
        let op = l.operation.as_ref().unwrap();
        assert_eq!(op.status, Some(Status::Running));
        assert_eq!(op.message.as_deref(), Some("{\"a\":1}"));
        assert_eq!(op.arguments.as_deref(), Some("{\"k\":\"v\"}"));
        assert_eq!(l.body["New"], Value::Bool(true));
    }

    #[test]
    fn no_data_means_expired() {
        let l = decode_lookup("op_a", br#"{"RequestId":"R1","Code":"200"}"#).unwrap();
        assert!(l.operation.is_none());
        let l = decode_lookup("op_a", br#"{"RequestId":"R1","Data":null}"#).unwrap();
        assert!(l.operation.is_none());
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let e = decode_lookup("op_a", b"<html>502 Bad Gateway</html>").unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.message.contains("HTML"), "{}", e.message);
        let e = decode_lookup("op_a", &[0xff, 0x00, 0x13]).unwrap_err();
        assert!(e.message.contains("binary"), "{}", e.message);
        assert_eq!(decode_lookup("op_a", b"[1]").unwrap_err().exit_code(), 5);
    }

    #[test]
    fn retry_after_is_milliseconds() {
        assert_eq!(parse_retry_after("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("x"), None);
    }

    #[test]
    fn clock_skew_names_the_direction() {
        let past = SystemTime::now() - Duration::from_secs(20 * 60 + 5);
        let text = clock_skew(&httpdate::fmt_http_date(past)).unwrap();
        assert!(text.starts_with("20m"), "{text}");
        assert!(text.ends_with("ahead of"), "{text}");
    }

    #[test]
    fn secrets_are_masked_in_plain_and_encoded_forms() {
        let c = Credentials {
            access_key_id: "id".into(),
            access_key_secret: "s3cretvalue".into(),
            security_token: Some("tok+en/=".into()),
            expiration: None,
        };
        let text = "a s3cretvalue b tok+en/= c tok%2Ben%2F%3D d tok%252Ben%252F%253D";
        assert_eq!(mask(text, &c.secrets()), "a *** b *** c *** d ***");
    }
}
