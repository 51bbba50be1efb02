/*!
The ECS instance RAM role, from the instance metadata service (SPEC §5 source 6, mode
`EcsRamRole`).

Owns the metadata protocol as the official libraries speak it: `PUT /latest/api/token` with
`X-aliyun-ecs-metadata-token-ttl-seconds` (IMDSv2), then `GET
/latest/meta-data/ram/security-credentials/[<role>]` with `X-aliyun-ecs-metadata-token`, falling
back to no token (IMDSv1) unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`. Timeouts of one second,
never through a proxy, and an unreachable service costs one timeout, not three.
*/

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Deserialize;

use super::http;
use super::refresh::{Fetch, FetchFuture};
use super::{non_empty, Credentials, Env};
use crate::endpoint;
use crate::error::{Error, Result};
use crate::wire::{describe_body, describe_error};

/// The metadata service of every ECS instance.
pub const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";
/// Overrides the metadata service address (tests point it at the emulator).
pub const ENV_IMDS_ENDPOINT: &str = "BPSTUDIO_OP_IMDS_ENDPOINT";
/// The instance's role name, instead of asking the metadata service.
pub const ENV_ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// `true` skips the metadata service in the chain.
pub const ENV_ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// `true` refuses to fall back to IMDSv1 (no token).
pub const ENV_IMDSV1_DISABLED: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";

const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// Six hours, as the SDKs ask.
const TOKEN_TTL_SECONDS: &str = "21600";
const ROLES_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the environment turns the metadata source of the chain off.
pub fn disabled(env: &dyn Env) -> bool {
    env.var(ENV_ECS_METADATA_DISABLED)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The metadata service's base URL (no trailing `/`): [`ENV_IMDS_ENDPOINT`] or
/// [`DEFAULT_ENDPOINT`]. An override over plain http must be a loopback address.
pub fn base_url(env: &dyn Env) -> Result<String> {
    let Some(text) = non_empty(env, ENV_IMDS_ENDPOINT) else {
        return Ok(DEFAULT_ENDPOINT.to_string());
    };
    let trimmed = text.trim().trim_end_matches('/');
    if trimmed == DEFAULT_ENDPOINT {
        return Ok(trimmed.to_string());
    }
    let e = endpoint::parse_endpoint(trimmed).map_err(|e| {
        Error::config(format!("{ENV_IMDS_ENDPOINT}: {}", e.message))
            .with_hint(format!("fix or unset {ENV_IMDS_ENDPOINT}"))
    })?;
    Ok(e.url.trim_end_matches('/').to_string())
}

/// Fetches the instance role's credentials.
pub struct EcsRole {
    base: String,
    role_name: Option<String>,
    v1_disabled: bool,
    /// Whether a fetch has succeeded: before, an unreachable service means "not an ECS
    /// instance" (a misconfiguration); after, a passing network failure.
    answered: AtomicBool,
}

impl EcsRole {
    /// The role `role_name` (else [`ENV_ECS_METADATA`], else discovered) at the environment's
    /// metadata address.
    pub fn new(env: &dyn Env, role_name: Option<String>) -> Result<Self> {
        Ok(EcsRole {
            base: base_url(env)?,
            role_name: role_name
                .filter(|r| !r.is_empty())
                .or_else(|| non_empty(env, ENV_ECS_METADATA)),
            v1_disabled: env
                .var(ENV_IMDSV1_DISABLED)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            answered: AtomicBool::new(false),
        })
    }

    /// Where the metadata service is, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self) -> Result<Credentials> {
        let client = http::client(TIMEOUT, TIMEOUT, false)?;
        let token = self.token(&client).await?;
        let role = match &self.role_name {
            Some(r) => r.clone(),
            None => {
                let body = self.read(&client, ROLES_PATH, token.as_deref()).await?;
                let text = String::from_utf8_lossy(&body);
                let name = text.lines().next().unwrap_or("").trim().to_string();
                if name.is_empty() {
                    return Err(Error::config(format!(
                        "the ECS metadata service at {} lists no RAM role for this instance",
                        self.base
                    ))
                    .with_hint("attach a RAM role to the instance (ECS console > Instance > Bind RAM Role)"));
                }
                name
            }
        };
        let body = self
            .read(&client, &format!("{ROLES_PATH}{role}"), token.as_deref())
            .await?;
        let c = self.decode(&role, &body)?;
        self.answered.store(true, Ordering::Relaxed);
        Ok(c)
    }

    /// An IMDSv2 token; `None` to go on without one (v1). An unreachable service is an error
    /// here already, so that it costs one timeout.
    async fn token(&self, client: &reqwest::Client) -> Result<Option<String>> {
        let url = format!("{}/latest/api/token", self.base);
        let response = client
            .put(&url)
            .header(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let body = http::read_capped(response)
            .await
            .map_err(|e| self.unreachable(&e))?;
        match body {
            Some(b) if status == 200 && !b.is_empty() => {
                Ok(Some(String::from_utf8_lossy(&b).trim().to_string()))
            }
            _ if self.v1_disabled => Err(Error::config(format!(
                "the ECS metadata service at {} gave no IMDSv2 token (HTTP {status}) and \
                 {ENV_IMDSV1_DISABLED}=true forbids going on without one",
                self.base
            ))
            .with_hint(format!("unset {ENV_IMDSV1_DISABLED} to allow IMDSv1"))),
            _ => Ok(None),
        }
    }

    async fn read(
        &self,
        client: &reqwest::Client,
        path: &str,
        token: Option<&str>,
    ) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let mut req = client.get(&url);
        if let Some(t) = token {
            req = req.header(TOKEN_HEADER, t);
        }
        let response = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let body = http::read_capped(response)
            .await
            .map_err(|e| self.unreachable(&e))?
            .ok_or_else(|| {
                Error::protocol(format!(
                    "the ECS metadata service answered {path} with a body too large"
                ))
            })?;
        match status {
            200 => Ok(body),
            404 => Err(Error::config(format!(
                "the ECS metadata service at {} has no {} (HTTP 404)",
                self.base,
                match path.strip_prefix(ROLES_PATH) {
                    Some(role) if !role.is_empty() => format!("RAM role named '{role}'"),
                    _ => "RAM role for this instance".to_string(),
                }
            ))
            .with_hint(format!(
                "check the role name ({ENV_ECS_METADATA} or the profile's ram_role_name), or \
                 attach a RAM role to the instance"
            ))),
            401 | 403 => Err(Error::config(format!(
                "the ECS metadata service at {} refused {path} (HTTP {status})",
                self.base
            ))
            .with_hint(
                "the instance may require IMDSv2 tokens; check that PUT /latest/api/token is allowed",
            )),
            _ => Err(Error::network(format!(
                "the ECS metadata service at {} answered {path} with HTTP {status}",
                self.base
            ))),
        }
    }

    fn decode(&self, role: &str, body: &[u8]) -> Result<Credentials> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            code: Option<String>,
            access_key_id: Option<String>,
            access_key_secret: Option<String>,
            security_token: Option<String>,
            expiration: Option<String>,
        }
        let bad = || {
            Error::protocol(format!(
                "the ECS metadata service at {} answered role '{role}' with {} instead of credentials",
                self.base,
                describe_body(body)
            ))
        };
        let a: Answer = serde_json::from_slice(body).map_err(|_| bad())?;
        if let Some(code) = a.code.as_deref().filter(|c| *c != "Success") {
            return Err(Error::config(format!(
                "the ECS metadata service at {} answered role '{role}' with Code {code}",
                self.base
            )));
        }
        http::temporary(
            a.access_key_id,
            a.access_key_secret,
            a.security_token,
            a.expiration.as_deref(),
        )
        .ok_or_else(bad)
    }

    fn unreachable(&self, e: &reqwest::Error) -> Error {
        let message = format!(
            "the ECS metadata service at {} {}",
            self.base,
            describe_error(e)
        );
        let error = if self.answered.load(Ordering::Relaxed) {
            Error::network(message)
        } else {
            Error::config(message)
        };
        error.with_hint(format!(
            "is this an ECS instance? Elsewhere, choose another credential source, or set \
             {ENV_ECS_METADATA_DISABLED}=true"
        ))
    }
}

impl Fetch for EcsRole {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MapEnv;

    #[test]
    fn address_defaults_and_overrides() {
        assert_eq!(base_url(&MapEnv::new()).unwrap(), DEFAULT_ENDPOINT);
        let env = MapEnv::new().with(ENV_IMDS_ENDPOINT, "http://127.0.0.1:8080/");
        assert_eq!(base_url(&env).unwrap(), "http://127.0.0.1:8080");
        let env = MapEnv::new().with(ENV_IMDS_ENDPOINT, "http://100.100.100.200/");
        assert_eq!(base_url(&env).unwrap(), DEFAULT_ENDPOINT);
        let env = MapEnv::new().with(ENV_IMDS_ENDPOINT, "http://169.254.0.1");
        assert_eq!(base_url(&env).unwrap_err().exit_code(), 2);
        assert!(disabled(
            &MapEnv::new().with(ENV_ECS_METADATA_DISABLED, "TRUE")
        ));
        assert!(!disabled(&MapEnv::new()));
    }
}
