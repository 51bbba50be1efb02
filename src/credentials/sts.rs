/*!
The STS client: `AssumeRole` (signed with the caller's credentials, RPC signature V1 from
[`crate::sign`]) and `AssumeRoleWithOIDC` (anonymous, the OIDC token is the proof), version
`2015-04-01`, and which STS address they go to.

Owns the STS wire (parameters, answer, error body) and the messages that say which role, which
source and what to check. Reads the clock and draws nonces for its own requests, like the API
client does for its. Never puts a secret, a token or an OIDC token in a message.
*/

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::cache;
use super::http;
use super::refresh::{Fetch, FetchFuture};
use super::{non_empty, CredentialSource, Credentials, Env};
use crate::endpoint::{self, Endpoint};
use crate::error::{Error, Result};
use crate::sign::{self, RpcRequest, SigningKey};
use crate::wire::{self, describe_body, describe_error, mask};

/// The STS API version.
pub const STS_VERSION: &str = "2015-04-01";
/// Overrides the STS address (a URL or host).
pub const ENV_STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";
/// Chooses the regional STS endpoint `sts.<region>.aliyuncs.com`.
pub const ENV_STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// `true` chooses the VPC STS endpoint `sts-vpc.<region>.aliyuncs.com`.
pub const ENV_VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// The default `DurationSeconds`, as in the official SDKs.
pub const DEFAULT_DURATION_SECONDS: u64 = 3600;
/// The shortest session STS grants.
pub const MIN_DURATION_SECONDS: u64 = 900;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The STS address: `ALIBABA_CLOUD_STS_ENDPOINT`, else the profile's `sts_endpoint`, else
/// `sts[-vpc].<region>.aliyuncs.com` for the profile's `sts_region` or
/// `ALIBABA_CLOUD_STS_REGION`, else `sts.aliyuncs.com`. Plain http only to loopback.
pub fn endpoint(
    env: &dyn Env,
    profile_endpoint: Option<&str>,
    profile_region: Option<&str>,
) -> Result<Endpoint> {
    let (text, from) = match (non_empty(env, ENV_STS_ENDPOINT), profile_endpoint) {
        (Some(e), _) => (e, ENV_STS_ENDPOINT.to_string()),
        (None, Some(e)) if !e.is_empty() => (e.to_string(), "the profile's sts_endpoint".into()),
        _ => {
            let vpc = env
                .var(ENV_VPC_ENDPOINT_ENABLED)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let region = profile_region
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .or_else(|| non_empty(env, ENV_STS_REGION));
            let prefix = if vpc { "sts-vpc" } else { "sts" };
            let host = match region {
                Some(r) => format!("{prefix}.{}.aliyuncs.com", r.trim()),
                None => "sts.aliyuncs.com".to_string(),
            };
            (host, "the STS region".to_string())
        }
    };
    endpoint::parse_endpoint(&text).map_err(|e| {
        Error::config(format!("STS address from {from}: {}", e.message)).with_hint(
            e.hint
                .unwrap_or_else(|| format!("fix or unset {ENV_STS_ENDPOINT}")),
        )
    })
}

/// The default `RoleSessionName`: `bpstudio-op-<unix seconds>`, as the SDKs name theirs.
pub fn default_session_name() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("bpstudio-op-{secs}")
}

/// The role to assume and how.
#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    /// `RoleSessionName`, and whether it was configured (a default one is not part of the
    /// cache key).
    pub session_name: String,
    pub session_name_configured: bool,
    /// `DurationSeconds`.
    pub duration_seconds: u64,
    pub policy: Option<String>,
    pub external_id: Option<String>,
}

impl Role {
    /// A role with the defaults; `session_name` `None` takes [`default_session_name`].
    pub fn new(arn: String, session_name: Option<String>, duration_seconds: Option<u64>) -> Self {
        let configured = session_name.as_ref().is_some_and(|s| !s.is_empty());
        Role {
            arn,
            session_name: session_name
                .filter(|s| !s.is_empty())
                .unwrap_or_else(default_session_name),
            session_name_configured: configured,
            duration_seconds: duration_seconds
                .filter(|d| *d > 0)
                .unwrap_or(DEFAULT_DURATION_SECONDS),
            policy: None,
            external_id: None,
        }
    }

    /// Checks what STS would refuse anyway, before asking it.
    pub fn check(&self, place: &str) -> Result<()> {
        if self.duration_seconds < MIN_DURATION_SECONDS {
            return Err(Error::config(format!(
                "{place} asks for {}-second role sessions; STS grants at least {MIN_DURATION_SECONDS}",
                self.duration_seconds
            ))
            .with_hint("set expired_seconds to 900 or more (default 3600)"));
        }
        Ok(())
    }
}

/// Who asks STS for the role.
pub enum Caller {
    /// `AssumeRole`, signed with these credentials.
    Source(CredentialSource),
    /// `AssumeRoleWithOIDC` with the token in this file (re-read at each refresh).
    Oidc {
        provider_arn: String,
        token_file: PathBuf,
    },
}

/// Fetches role credentials from STS.
pub struct AssumeRole {
    endpoint: Endpoint,
    http: reqwest::Client,
    role: Role,
    caller: Caller,
    /// Where the role is configured, for messages: "profile 'ci' in /path", "environment".
    origin: String,
}

impl AssumeRole {
    pub fn new(endpoint: Endpoint, role: Role, caller: Caller, origin: String) -> Result<Self> {
        Ok(AssumeRole {
            endpoint,
            http: http::client(CONNECT_TIMEOUT, READ_TIMEOUT, true)?,
            role,
            caller,
            origin,
        })
    }

    fn action(&self) -> &'static str {
        match self.caller {
            Caller::Source(_) => "AssumeRole",
            Caller::Oidc { .. } => "AssumeRoleWithOIDC",
        }
    }

    /// Everything that determines the credentials, for the disk cache; `None` when the caller
    /// cannot be told apart from another (then nothing is cached).
    pub fn cache_key(&self) -> Option<String> {
        let caller = match &self.caller {
            Caller::Source(source) => format!("source:{}", source.fingerprint()?),
            Caller::Oidc {
                provider_arn,
                token_file,
            } => {
                let token = std::fs::read_to_string(token_file).ok()?;
                format!(
                    "oidc:{provider_arn}:{}:{}",
                    token_file.display(),
                    cache::fingerprint(token.trim())
                )
            }
        };
        let r = &self.role;
        Some(format!(
            "{}|{}|{}|{}|{}|{}|{}|{caller}",
            self.action(),
            self.endpoint.url,
            r.arn,
            if r.session_name_configured {
                r.session_name.as_str()
            } else {
                ""
            },
            r.duration_seconds,
            r.policy
                .as_deref()
                .map(cache::fingerprint)
                .unwrap_or_default(),
            r.external_id
                .as_deref()
                .map(cache::fingerprint)
                .unwrap_or_default(),
        ))
    }

    async fn assume(&self) -> Result<Credentials> {
        let r = &self.role;
        let mut form = vec![
            ("RoleArn".to_string(), r.arn.clone()),
            ("RoleSessionName".to_string(), r.session_name.clone()),
            (
                "DurationSeconds".to_string(),
                r.duration_seconds.to_string(),
            ),
        ];
        if let Some(p) = &r.policy {
            form.push(("Policy".to_string(), p.clone()));
        }
        let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let nonce = format!("{:032x}", rand::random::<u128>());
        // What must never show in a message.
        let mut secrets: Vec<String> = Vec::new();
        let url = match &self.caller {
            Caller::Source(source) => {
                if let Some(id) = &r.external_id {
                    form.push(("ExternalId".to_string(), id.clone()));
                }
                let c = source.credentials().await?;
                secrets.extend(c.secrets().into_iter().map(str::to_string));
                let req = RpcRequest {
                    method: "POST",
                    host: &self.endpoint.host,
                    action: "AssumeRole",
                    version: STS_VERSION,
                    query: Vec::new(),
                    form: form.clone(),
                };
                let key = SigningKey {
                    access_key_id: &c.access_key_id,
                    access_key_secret: &c.access_key_secret,
                    security_token: c.security_token.as_deref(),
                };
                let signed = sign::sign_v1(&req, &key, &timestamp, &nonce);
                format!("{}?{}", self.endpoint.url, signed.query_string)
            }
            Caller::Oidc {
                provider_arn,
                token_file,
            } => {
                let token = read_token(token_file)?;
                secrets.push(token.clone());
                form.insert(1, ("OIDCProviderArn".to_string(), provider_arn.clone()));
                form.insert(2, ("OIDCToken".to_string(), token));
                let query = [
                    ("Action", "AssumeRoleWithOIDC"),
                    ("Format", "JSON"),
                    ("SignatureNonce", &nonce),
                    ("Timestamp", &timestamp),
                    ("Version", STS_VERSION),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string()));
                format!("{}?{}", self.endpoint.url, sign::form_encode(&query))
            }
        };
        let body = sign::form_encode(&form);
        let action = self.action();
        let response = self
            .http
            .post(&url)
            .header("content-type", sign::FORM_CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| self.network_error(&e))?;
        let status = response.status().as_u16();
        let bytes = match http::read_capped(response).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(Error::protocol(format!(
                    "STS {action} at {} answered with a body too large to be credentials",
                    self.endpoint.url
                ))
                .with_hint(self.address_hint()))
            }
            Err(e) => return Err(self.network_error(&e)),
        };
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        if (200..300).contains(&status) {
            return self.decode(&bytes);
        }
        Err(self.refusal(status, &bytes, &secrets))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Credentials> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            credentials: Option<WireCredentials>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct WireCredentials {
            access_key_id: Option<String>,
            access_key_secret: Option<String>,
            security_token: Option<String>,
            expiration: Option<String>,
        }
        let bad = || {
            Error::protocol(format!(
                "STS {} at {} answered with {} instead of credentials",
                self.action(),
                self.endpoint.url,
                describe_body(bytes)
            ))
            .with_hint(self.address_hint())
        };
        let answer: Answer = serde_json::from_slice(bytes).map_err(|_| bad())?;
        let w = answer.credentials.ok_or_else(bad)?;
        http::temporary(
            w.access_key_id,
            w.access_key_secret,
            w.security_token,
            w.expiration.as_deref(),
        )
        .ok_or_else(bad)
    }

    fn refusal(&self, status: u16, bytes: &[u8], secrets: &[&str]) -> Error {
        let action = self.action();
        let Some(mut failure) = wire::api_failure(status, bytes) else {
            return Error::protocol(format!(
                "STS {action} at {} answered HTTP {status} with {}, not an STS error",
                self.endpoint.url,
                describe_body(bytes)
            ))
            .with_hint(self.address_hint());
        };
        failure.message = failure.message.map(|m| mask(&m, secrets));
        let code = failure.code.clone();
        Error::api(
            failure,
            format!(
                "STS refused {action} of role {} ({}): {code}",
                self.role.arn, self.origin
            ),
        )
        .with_hint(self.hint_for(&code))
    }

    fn hint_for(&self, code: &str) -> String {
        let arn = &self.role.arn;
        match (&self.caller, code) {
            (_, "EntityNotExist.Role") => format!(
                "check the role ARN {arn} ({}): it must name an existing RAM role, e.g. acs:ram::<account id>:role/<name>",
                self.origin
            ),
            (Caller::Oidc { provider_arn, .. }, "EntityNotExist.OIDCProvider") => format!(
                "check the OIDC provider ARN {provider_arn}: it must name an OIDC identity provider of the role's account"
            ),
            (Caller::Oidc { token_file, provider_arn }, c) if c.starts_with("AuthenticationFail") || c.contains("OIDC") => format!(
                "the OIDC token in {} was not accepted: check that it is fresh and that its issuer and audience match the identity provider {provider_arn}, and that the trust policy of {arn} trusts that provider",
                token_file.display()
            ),
            (_, "InvalidParameter.DurationSeconds") => {
                "set expired_seconds between 900 and the role's maximum session duration".to_string()
            }
            (Caller::Source(source), c)
                if c.starts_with("InvalidAccessKeyId")
                    || c.starts_with("SignatureDoesNotMatch")
                    || c.starts_with("InvalidSecurityToken")
                    || c.starts_with("MissingSecurityToken") =>
            {
                format!(
                    "STS does not accept the source credentials ({}): check that access key",
                    source.describe()
                )
            }
            (Caller::Source(source), _) => format!(
                "check the role ARN {arn}, that the identity behind {} may call sts:AssumeRole on it, and that the role's trust policy trusts that account",
                source.describe()
            ),
            (Caller::Oidc { .. }, _) => format!(
                "check the role ARN {arn} and that its trust policy trusts the OIDC provider"
            ),
        }
    }

    fn network_error(&self, e: &reqwest::Error) -> Error {
        Error::network(format!(
            "STS {} for role {} at {} {}",
            self.action(),
            self.role.arn,
            self.endpoint.url,
            describe_error(e)
        ))
        .with_hint(self.address_hint())
    }

    fn address_hint(&self) -> String {
        format!(
            "check the network and the STS address ({ENV_STS_ENDPOINT}, {ENV_STS_REGION}, \
             or the profile's sts_endpoint / sts_region)"
        )
    }
}

impl Fetch for AssumeRole {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.assume())
    }
}

/// The OIDC token, trimmed; an error names the file (never its content).
fn read_token(path: &PathBuf) -> Result<String> {
    let hint = "check ALIBABA_CLOUD_OIDC_TOKEN_FILE (or the profile's oidc_token_file); in \
                GitHub Actions, write the token from ACTIONS_ID_TOKEN_REQUEST_URL to that file \
                before this step";
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        Ok(_) => Err(
            Error::config(format!("the OIDC token file {} is empty", path.display()))
                .with_hint(hint),
        ),
        Err(e) => Err(Error::config(format!(
            "cannot read the OIDC token file {}: {e}",
            path.display()
        ))
        .with_hint(hint)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MapEnv;

    #[test]
    fn sts_address_follows_the_sdks() {
        let url =
            |env: MapEnv, e: Option<&str>, r: Option<&str>| endpoint(&env, e, r).map(|e| e.url);
        assert_eq!(
            url(MapEnv::new(), None, None).unwrap(),
            "https://sts.aliyuncs.com/"
        );
        let regional = MapEnv::new().with(ENV_STS_REGION, "cn-shanghai");
        assert_eq!(
            url(regional.clone(), None, None).unwrap(),
            "https://sts.cn-shanghai.aliyuncs.com/"
        );
        assert_eq!(
            url(regional.clone(), None, Some("cn-beijing")).unwrap(),
            "https://sts.cn-beijing.aliyuncs.com/"
        );
        let vpc = regional.with(ENV_VPC_ENDPOINT_ENABLED, "TRUE");
        assert_eq!(
            url(vpc, None, None).unwrap(),
            "https://sts-vpc.cn-shanghai.aliyuncs.com/"
        );
        let over = MapEnv::new().with(ENV_STS_ENDPOINT, "http://127.0.0.1:9/");
        assert_eq!(
            url(over, Some("sts.example.com"), None).unwrap(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            url(MapEnv::new(), Some("sts.example.com"), Some("x")).unwrap(),
            "https://sts.example.com/"
        );
        let plain = MapEnv::new().with(ENV_STS_ENDPOINT, "http://sts.example.com");
        let e = url(plain, None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains(ENV_STS_ENDPOINT), "{e}");
    }

    #[test]
    fn role_defaults_and_checks() {
        let r = Role::new("arn".into(), None, None);
        assert!(
            r.session_name.starts_with("bpstudio-op-"),
            "{}",
            r.session_name
        );
        assert!(!r.session_name_configured);
        assert_eq!(r.duration_seconds, 3600);
        let r = Role::new("arn".into(), Some("s".into()), Some(600));
        assert!(r.session_name_configured);
        let e = r.check("profile 'x'").unwrap_err();
        assert!(e.message.contains("600"), "{e}");
    }
}
