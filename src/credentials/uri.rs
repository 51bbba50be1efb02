/*!
Credentials served by a URL (SPEC §5 source 7, mode `CredentialsURI`), in the aliyun CLI's
format: `{"Code": "Success", "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}`.

Owns that format, the rule that the URL is https or a loopback http address, and the messages
when the URL answers anything else. Never shows the URL's query (it may carry a secret).
*/

use std::time::Duration;

use serde::Deserialize;

use super::http;
use super::refresh::{Fetch, FetchFuture};
use super::Credentials;
use crate::endpoint;
use crate::error::{Error, Result};
use crate::wire::{describe_body, describe_error};

/// The credentials URI of the chain.
pub const ENV_CREDENTIALS_URI: &str = "ALIBABA_CLOUD_CREDENTIALS_URI";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches credentials from a URL.
pub struct CredentialsUri {
    url: reqwest::Url,
    http: reqwest::Client,
    /// Where the URL is configured, for messages.
    origin: String,
}

impl CredentialsUri {
    /// Checks `text` (from `origin`) and prepares the client.
    pub fn new(text: &str, origin: String) -> Result<Self> {
        let fix = format!("fix the credentials URI in {origin}");
        let url = reqwest::Url::parse(text.trim()).map_err(|e| {
            Error::config(format!(
                "the credentials URI in {origin} is not a URL ({e})"
            ))
            .with_hint(fix.clone())
        })?;
        let loopback = url
            .host_str()
            .is_some_and(|h| endpoint::is_loopback_host(h.trim_matches(['[', ']'])));
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::config(format!(
                    "refusing the plain http:// credentials URI in {origin}: credentials must \
                     travel over https unless the host is a loopback address"
                ))
                .with_hint(fix))
            }
            other => {
                return Err(Error::config(format!(
                    "the credentials URI in {origin} has scheme `{other}`; only https (or http \
                     to a loopback address) is supported"
                ))
                .with_hint(fix))
            }
        }
        Ok(CredentialsUri {
            http: http::client(CONNECT_TIMEOUT, READ_TIMEOUT, !loopback)?,
            url,
            origin,
        })
    }

    /// The URL without its query, for messages.
    pub fn shown(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.set_fragment(None);
        let _ = u.set_password(None);
        let _ = u.set_username("");
        u.to_string()
    }

    async fn get(&self) -> Result<Credentials> {
        let shown = self.shown();
        let unreachable = |e: &reqwest::Error| {
            Error::network(format!("the credentials URI {shown} {}", describe_error(e)))
                .with_hint(format!("check that the service behind {shown} is running"))
        };
        let response = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = http::read_capped(response)
            .await
            .map_err(|e| unreachable(&e))?
            .unwrap_or_default();
        let garbage = |what: String| {
            Error::config(format!(
                "the credentials URI {shown} ({}) answered {what} instead of credentials",
                self.origin
            ))
            .with_hint(
                "it must answer HTTP 200 with JSON {\"Code\": \"Success\", \"AccessKeyId\", \
                 \"AccessKeySecret\", \"SecurityToken\", \"Expiration\"}",
            )
        };
        if status != 200 {
            return Err(garbage(format!(
                "HTTP {status} with {}",
                describe_body(&body)
            )));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            code: Option<String>,
            access_key_id: Option<String>,
            access_key_secret: Option<String>,
            security_token: Option<String>,
            expiration: Option<String>,
        }
        let a: Answer = serde_json::from_slice(&body).map_err(|_| garbage(describe_body(&body)))?;
        if let Some(code) = a.code.as_deref().filter(|c| *c != "Success") {
            return Err(garbage(format!("Code {code}")));
        }
        http::temporary(
            a.access_key_id,
            a.access_key_secret,
            a.security_token,
            a.expiration.as_deref(),
        )
        .ok_or_else(|| garbage(describe_body(&body)))
    }
}

impl Fetch for CredentialsUri {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        let origin = || "environment variable X".to_string();
        assert!(CredentialsUri::new("https://creds.example.com/x", origin()).is_ok());
        let u = CredentialsUri::new("http://127.0.0.1:9/c?token=SECRETQ", origin()).unwrap();
        assert_eq!(u.shown(), "http://127.0.0.1:9/c");
        assert!(CredentialsUri::new("http://[::1]:9/c", origin()).is_ok());
        for bad in ["http://10.0.0.1/c", "ftp://127.0.0.1/", "not a url"] {
            let e = CredentialsUri::new(bad, origin()).err().unwrap();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }
}
