/*!
Scenarios: what the emulator knows (credentials, clock), which operations it serves and how
they evolve (lifecycles), and which faults it injects. All parsing lives in
[`Scenario::from_toml`]; [`Scenario::load`] only reads the file and names it in errors.

This module owns the scenario model and its TOML form; it knows nothing of HTTP.
*/

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Everything an emulator run is configured with.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    /// Global behaviour: clock, `Code` type, windows.
    pub settings: Settings,
    /// Access keys the emulator accepts.
    pub credentials: Vec<Credential>,
    /// Named status sequences, referenced by operations and rules.
    pub lifecycles: Vec<Lifecycle>,
    /// Operation ids known from the start.
    pub operations: Vec<OperationSpec>,
    /// Which lifecycle an `ExecuteOperationASync` call gets.
    pub rules: Vec<Rule>,
    /// Injected failures.
    pub faults: Vec<Fault>,
    /// RAM roles STS `AssumeRole` / `AssumeRoleWithOIDC` hand out credentials for.
    pub roles: Vec<Role>,
    /// The ECS instance metadata service, when served.
    pub imds: Option<Imds>,
    /// The credentials-URI endpoint, when served.
    pub credentials_uri: Option<CredentialsUri>,
}

/// `[[roles]]`: a role the emulator's STS (`Version=2015-04-01`) lets callers assume.
#[derive(Clone, Debug)]
pub struct Role {
    /// `role_arn`, e.g. `acs:ram::1234567890123456:role/bpstudio-op`.
    pub role_arn: String,
    /// `duration`: lifetime of the credentials issued (default 1 h; `DurationSeconds` may shorten it).
    pub duration: Duration,
    /// `oidc_provider_arn`: `AssumeRoleWithOIDC` is accepted with this provider only
    /// (not at all when absent).
    pub oidc_provider_arn: Option<String>,
    /// `oidc_token`: the OIDC token it must carry (any non-empty one when absent).
    pub oidc_token: Option<String>,
}

/// `[imds]`: the ECS metadata service (`/latest/...`), for the `EcsRamRole` source.
#[derive(Clone, Debug)]
pub struct Imds {
    /// `role_name`: the instance's RAM role.
    pub role_name: String,
    /// `require_token`: IMDSv2 only (requests without `X-aliyun-ecs-metadata-token` get 401).
    pub require_token: bool,
    /// `duration`: lifetime of the credentials issued (default 6 h).
    pub duration: Duration,
}

/// `[credentials_uri]`: a URL answering with temporary credentials (`ALIBABA_CLOUD_CREDENTIALS_URI`).
#[derive(Clone, Debug)]
pub struct CredentialsUri {
    /// `path`: where it answers (default `/credentials`).
    pub path: String,
    /// `duration`: lifetime of the credentials issued (default 1 h).
    pub duration: Duration,
}

/// `[settings]`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Success `Code` as a JSON number (`200`) instead of a string (`"200"`).
    pub code_as_number: bool,
    /// Offset of the emulator's clock from real time, in milliseconds (negative: behind).
    pub clock_skew_ms: i64,
    /// Pins the emulator's clock (signature checks, `Date` header) to this instant.
    pub fixed_time: Option<SystemTime>,
    /// Accepted distance between a request's timestamp and the emulator's clock.
    pub timestamp_window: Duration,
    /// Lifecycle of `ExecuteOperationASync` operations when no rule matches.
    pub default_lifecycle: Option<String>,
    /// How long a created operation id answers with `Data`.
    pub operation_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            code_as_number: false,
            clock_skew_ms: 0,
            fixed_time: None,
            timestamp_window: Duration::from_secs(15 * 60),
            default_lifecycle: None,
            operation_ttl: Duration::from_secs(3600),
        }
    }
}

/// `[[credentials]]`: one access key pair, optionally an STS key that requires its token.
#[derive(Clone, Debug)]
pub struct Credential {
    /// `access_key_id`.
    pub access_key_id: String,
    /// `access_key_secret`.
    pub access_key_secret: String,
    /// `security_token`: when set, requests must carry exactly this token.
    pub security_token: Option<String>,
    /// `rate_limit_per_second`: more requests than this within one second get `Throttling.User`.
    pub rate_limit_per_second: Option<u32>,
}

/// When a lifecycle step becomes the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStart {
    /// From the start (a step with neither `after` nor `polls`).
    Immediately,
    /// This long after the operation's clock started.
    After(Duration),
    /// From the N-th request (1-based) for this operation id on.
    Poll(u32),
}

/// One status of a lifecycle.
#[derive(Clone, Debug)]
pub struct Step {
    /// `status`: `INIT`, `RUNNING`, `SUCCESS`, `FAILURE`, or anything else (served verbatim).
    pub status: String,
    /// `after` or `polls`.
    pub start: StepStart,
    /// `message`: overrides the operation's `Data.Message` while this step is current.
    pub message: Option<String>,
    /// `arguments`: overrides the operation's `Data.Arguments` while this step is current.
    pub arguments: Option<String>,
}

/// `[[lifecycles]]`: a named sequence of steps.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    /// `name`.
    pub name: String,
    /// `steps`, in order.
    pub steps: Vec<Step>,
}

/// `[[operations]]`: an operation id the emulator knows before anyone asks.
#[derive(Clone, Debug)]
pub struct OperationSpec {
    /// `id`.
    pub id: String,
    /// The steps, from `lifecycle`, inline `steps`, or a single `status`.
    pub steps: Vec<Step>,
    /// `message`: `Data.Message`.
    pub message: Option<String>,
    /// `arguments`: `Data.Arguments`.
    pub arguments: Option<String>,
    /// `expired`: always answered without `Data`.
    pub expired: bool,
    /// `visible_after`: answered without `Data` until this long after its first request.
    pub visible_after: Option<Duration>,
    /// `expires_after`: answered without `Data` from this long after its first request on.
    pub expires_after: Option<Duration>,
}

/// `[[rules]]`: picks the lifecycle of an `ExecuteOperationASync` call.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `service_type`: matches `ServiceType` (any when absent).
    pub service_type: Option<String>,
    /// `operation`: matches `Operation` (any when absent).
    pub operation: Option<String>,
    /// `lifecycle`: the steps it gets.
    pub steps: Vec<Step>,
    /// `message`, `arguments`: its `Data.Message` / `Data.Arguments`.
    pub message: Option<String>,
    /// See `message`.
    pub arguments: Option<String>,
    /// `visible_after`: the new id answers without `Data` until this long after creation.
    pub visible_after: Option<Duration>,
    /// `expires_after`: the new id expires this long after creation (default `operation_ttl`).
    pub expires_after: Option<Duration>,
}

/// What a fault does to the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// `Throttling.User` error, optionally with `x-acs-retry-after`.
    Throttle,
    /// A 5xx error body (`ServiceUnavailable` / `InternalError`).
    Status,
    /// The normal answer, late.
    Delay,
    /// Close the connection without a response.
    Drop,
    /// Announce more bytes than are sent, then close.
    Truncate,
    /// A 502 HTML error page (a proxy in the way).
    Html,
    /// A huge, valid-looking JSON body, streamed.
    Oversize,
    /// The normal answer, one byte per `interval`.
    Trickle,
    /// 200 with binary junk that is not JSON.
    Garbage,
}

impl FaultKind {
    /// The name used in TOML and in the request log.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Status => "status",
            FaultKind::Delay => "delay",
            FaultKind::Drop => "drop",
            FaultKind::Truncate => "truncate",
            FaultKind::Html => "html",
            FaultKind::Oversize => "oversize",
            FaultKind::Trickle => "trickle",
            FaultKind::Garbage => "garbage",
        }
    }
}

/// `[[faults]]`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// `operation_id`: only requests naming this id (all requests when absent).
    pub operation_id: Option<String>,
    /// `attempts`: which requests for that id, 1-based (all when absent).
    pub attempts: Option<Vec<u32>>,
    /// `kind`.
    pub kind: FaultKind,
    /// `status`: HTTP status for `status` (503 by default), `throttle` (400), `html` (502).
    pub status: Option<u16>,
    /// `code`, `message`: override the error body's `Code` / `Message`.
    pub code: Option<String>,
    /// See `code`.
    pub message: Option<String>,
    /// `delay`: wait this long before answering (any kind; the whole point of `delay`).
    pub delay: Option<Duration>,
    /// `bytes`: body size for `oversize` (default 20 MB), announced size for `truncate`.
    pub bytes: Option<u64>,
    /// `retry_after`: `x-acs-retry-after` header (milliseconds) on `throttle`.
    pub retry_after: Option<Duration>,
    /// `interval`: time between bytes for `trickle` (default 1 s).
    pub interval: Option<Duration>,
}

impl Scenario {
    /// Parses a scenario from TOML text. Errors name the line (and column) at fault.
    pub fn from_toml(text: &str) -> Result<Scenario, String> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| e.to_string())?;
        raw.resolve(text)
    }

    /// Reads and parses a scenario file. Errors name the file.
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        Scenario::from_toml(&text).map_err(|e| format!("scenario {}: {e}", path.display()))
    }

    /// Adds an accepted access key pair.
    pub fn with_access_key(mut self, id: &str, secret: &str) -> Scenario {
        self.credentials.push(Credential {
            access_key_id: id.to_string(),
            access_key_secret: secret.to_string(),
            security_token: None,
            rate_limit_per_second: None,
        });
        self
    }

    /// Adds an accepted STS key: requests with this id must carry exactly `token`.
    pub fn with_sts_key(mut self, id: &str, secret: &str, token: &str) -> Scenario {
        self.credentials.push(Credential {
            access_key_id: id.to_string(),
            access_key_secret: secret.to_string(),
            security_token: Some(token.to_string()),
            rate_limit_per_second: None,
        });
        self
    }

    /// The built-in demo: fake credentials ([`DEMO_ACCESS_KEY_ID`] and friends) and three
    /// operations ([`DEMO_SUCCESS_ID`], [`DEMO_FAILURE_ID`], [`DEMO_EXPIRED_ID`]).
    pub fn demo() -> Scenario {
        Scenario::from_toml(DEMO_TOML).expect("the demo scenario parses")
    }

    /// The steps of the lifecycle named `name`, if the scenario has one.
    pub fn lifecycle(&self, name: &str) -> Option<&Lifecycle> {
        self.lifecycles.iter().find(|l| l.name == name)
    }
}

/// Demo access key id (fake; printed in the README).
pub const DEMO_ACCESS_KEY_ID: &str = "LTAIDemoAccessKeyId0001";
/// Demo access key secret (fake; printed in the README).
pub const DEMO_ACCESS_KEY_SECRET: &str = "DemoAccessKeySecretNotARealOne0001";
/// Demo STS access key id.
pub const DEMO_STS_ACCESS_KEY_ID: &str = "STS.DemoStsAccessKeyId0001";
/// Demo STS access key secret.
pub const DEMO_STS_ACCESS_KEY_SECRET: &str = "DemoStsSecretNotARealOne0001";
/// Demo STS security token.
pub const DEMO_STS_SECURITY_TOKEN: &str = "CAISDemoSecurityTokenNotARealOne0001";
/// Demo RAM role for STS `AssumeRole` / `AssumeRoleWithOIDC`.
pub const DEMO_ROLE_ARN: &str = "acs:ram::1000000000000001:role/bpstudio-op-demo";
/// Demo OIDC provider for `AssumeRoleWithOIDC`.
pub const DEMO_OIDC_PROVIDER_ARN: &str = "acs:ram::1000000000000001:oidc-provider/demo-ci";
/// Demo ECS instance RAM role name served by the metadata endpoint.
pub const DEMO_ECS_ROLE_NAME: &str = "BpstudioOpDemoEcsRole";
/// Demo operation: INIT → RUNNING (2 s) → SUCCESS (8 s).
pub const DEMO_SUCCESS_ID: &str =
    "op_demo00000000000001_ecs_modifyInstanceType_DEMOSUCCESS00001_BPSTUDIOEMULATOR";
/// Demo operation: INIT → RUNNING (1 s) → FAILURE (4 s).
pub const DEMO_FAILURE_ID: &str =
    "op_demo00000000000002_ecs_startInstance_DEMOFAILURE00002_BPSTUDIOEMULATOR";
/// Demo operation: expired (no `Data`).
pub const DEMO_EXPIRED_ID: &str =
    "op_demo00000000000003_ecs_stopInstance_DEMOEXPIRED00003_BPSTUDIOEMULATOR";

const DEMO_TOML: &str = r#"
[settings]
default_lifecycle = "quick-success"

[[credentials]]
access_key_id = "LTAIDemoAccessKeyId0001"
access_key_secret = "DemoAccessKeySecretNotARealOne0001"

[[credentials]]
access_key_id = "STS.DemoStsAccessKeyId0001"
access_key_secret = "DemoStsSecretNotARealOne0001"
security_token = "CAISDemoSecurityTokenNotARealOne0001"

[[lifecycles]]
name = "quick-success"
steps = [
  { status = "INIT" },
  { status = "RUNNING", after = "2s" },
  { status = "SUCCESS", after = "8s" },
]

[[lifecycles]]
name = "quick-failure"
steps = [
  { status = "INIT" },
  { status = "RUNNING", after = "1s" },
  { status = "FAILURE", after = "4s", message = "{\"code\":\"InvalidInstanceType.NotSupported\",\"message\":\"The specified instance type ecs.g7.large is not available in zone cn-hangzhou-k.\",\"requestId\":\"5E2C3B5A-0000-4000-8000-DEM000000002\"}" },
]

[[operations]]
id = "op_demo00000000000001_ecs_modifyInstanceType_DEMOSUCCESS00001_BPSTUDIOEMULATOR"
lifecycle = "quick-success"
message = "{\"result\":\"ok\",\"instanceId\":\"i-bp1demo0000000000001\",\"newInstanceType\":\"ecs.g7.xlarge\"}"
arguments = "{\"instanceId\":\"i-bp1demo0000000000001\",\"instanceType\":\"ecs.g7.xlarge\",\"regionId\":\"cn-hangzhou\"}"

[[operations]]
id = "op_demo00000000000002_ecs_startInstance_DEMOFAILURE00002_BPSTUDIOEMULATOR"
lifecycle = "quick-failure"
arguments = "{\"instanceId\":\"i-bp1demo0000000000002\",\"regionId\":\"cn-hangzhou\"}"

[[operations]]
id = "op_demo00000000000003_ecs_stopInstance_DEMOEXPIRED00003_BPSTUDIOEMULATOR"
expired = true

[[roles]]
role_arn = "acs:ram::1000000000000001:role/bpstudio-op-demo"
oidc_provider_arn = "acs:ram::1000000000000001:oidc-provider/demo-ci"

[imds]
role_name = "BpstudioOpDemoEcsRole"

[credentials_uri]
path = "/credentials"
"#;

// ---- TOML form ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    credentials: Vec<RawCredential>,
    #[serde(default)]
    lifecycles: Vec<RawLifecycle>,
    #[serde(default)]
    operations: Vec<RawOperation>,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    faults: Vec<RawFault>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    imds: Option<RawImds>,
    #[serde(default)]
    credentials_uri: Option<RawCredentialsUri>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    role_arn: String,
    #[serde(default)]
    duration: Option<DurationText>,
    #[serde(default)]
    oidc_provider_arn: Option<String>,
    #[serde(default)]
    oidc_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImds {
    role_name: String,
    #[serde(default)]
    require_token: bool,
    #[serde(default)]
    duration: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentialsUri {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    duration: Option<DurationText>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    code_as_number: bool,
    #[serde(default)]
    clock_skew: Option<SignedDuration>,
    #[serde(default)]
    fixed_time: Option<Timestamp>,
    #[serde(default)]
    timestamp_window: Option<DurationText>,
    #[serde(default)]
    default_lifecycle: Option<toml::Spanned<String>>,
    #[serde(default)]
    operation_ttl: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredential {
    access_key_id: String,
    access_key_secret: String,
    #[serde(default)]
    security_token: Option<String>,
    #[serde(default)]
    rate_limit_per_second: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    status: String,
    #[serde(default)]
    after: Option<DurationText>,
    #[serde(default)]
    polls: Option<u32>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLifecycle {
    name: String,
    steps: Vec<toml::Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperation {
    id: String,
    #[serde(default)]
    lifecycle: Option<toml::Spanned<String>>,
    #[serde(default)]
    steps: Option<Vec<toml::Spanned<RawStep>>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    visible_after: Option<DurationText>,
    #[serde(default)]
    expires_after: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    service_type: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    lifecycle: Option<toml::Spanned<String>>,
    #[serde(default)]
    steps: Option<Vec<toml::Spanned<RawStep>>>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    visible_after: Option<DurationText>,
    #[serde(default)]
    expires_after: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    attempts: Option<Vec<u32>>,
    kind: FaultKind,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    delay: Option<DurationText>,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    retry_after: Option<DurationText>,
    #[serde(default)]
    interval: Option<DurationText>,
}

/// A duration written like `90s`, `2m`, `1h30m`, `500ms`.
struct DurationText(Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(DurationText)
            .map_err(|e| de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// A duration with an optional sign: `-20m`, `+1h`, `0s`.
struct SignedDuration(i64);

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let trimmed = text.trim();
        let (sign, body) = match trimmed.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        humantime::parse_duration(body.trim())
            .map(|d| SignedDuration(sign * d.as_millis() as i64))
            .map_err(|e| de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// An RFC 3339 UTC instant such as `2025-01-02T03:04:05Z`.
struct Timestamp(SystemTime);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(text.trim())
            .map(Timestamp)
            .map_err(|e| {
                de::Error::custom(format!(
                    "invalid time {text:?} (want e.g. 2025-01-02T03:04:05Z): {e}"
                ))
            })
    }
}

fn line_of(text: &str, span: std::ops::Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

fn resolve_steps(text: &str, steps: Vec<toml::Spanned<RawStep>>) -> Result<Vec<Step>, String> {
    if steps.is_empty() {
        return Err("a lifecycle needs at least one step".to_string());
    }
    steps
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span());
            let raw = spanned.into_inner();
            let start = match (raw.after, raw.polls) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "line {line}: a step takes `after` or `polls`, not both"
                    ))
                }
                (Some(after), None) => StepStart::After(after.0),
                (None, Some(0)) => {
                    return Err(format!("line {line}: `polls` counts from 1"));
                }
                (None, Some(n)) => StepStart::Poll(n),
                (None, None) => StepStart::Immediately,
            };
            Ok(Step {
                status: raw.status,
                start,
                message: raw.message,
                arguments: raw.arguments,
            })
        })
        .collect()
}

fn named_steps(
    text: &str,
    lifecycles: &[Lifecycle],
    name: &toml::Spanned<String>,
) -> Result<Vec<Step>, String> {
    lifecycles
        .iter()
        .find(|l| &l.name == name.get_ref())
        .map(|l| l.steps.clone())
        .ok_or_else(|| {
            format!(
                "line {}: no lifecycle named {:?} (known: {})",
                line_of(text, name.span()),
                name.get_ref(),
                lifecycles
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

impl RawScenario {
    fn resolve(self, text: &str) -> Result<Scenario, String> {
        let mut lifecycles = Vec::new();
        for raw in self.lifecycles {
            if lifecycles.iter().any(|l: &Lifecycle| l.name == raw.name) {
                return Err(format!("lifecycle {:?} is defined twice", raw.name));
            }
            let steps = resolve_steps(text, raw.steps)
                .map_err(|e| format!("lifecycle {:?}: {e}", raw.name))?;
            lifecycles.push(Lifecycle {
                name: raw.name,
                steps,
            });
        }

        let default_lifecycle = match self.settings.default_lifecycle {
            Some(name) => {
                named_steps(text, &lifecycles, &name)?;
                Some(name.into_inner())
            }
            None => None,
        };

        let mut operations = Vec::new();
        for raw in self.operations {
            let steps = match (raw.lifecycle, raw.steps, raw.status) {
                (Some(name), None, None) => named_steps(text, &lifecycles, &name)?,
                (None, Some(steps), None) => resolve_steps(text, steps)
                    .map_err(|e| format!("operation {:?}: {e}", raw.id))?,
                (None, None, Some(status)) => vec![Step {
                    status,
                    start: StepStart::Immediately,
                    message: None,
                    arguments: None,
                }],
                (None, None, None) if raw.expired => Vec::new(),
                (None, None, None) => {
                    return Err(format!(
                        "operation {:?}: give it a `lifecycle`, inline `steps`, a `status`, or `expired = true`",
                        raw.id
                    ))
                }
                _ => {
                    return Err(format!(
                        "operation {:?}: `lifecycle`, `steps` and `status` exclude each other",
                        raw.id
                    ))
                }
            };
            operations.push(OperationSpec {
                id: raw.id,
                steps,
                message: raw.message,
                arguments: raw.arguments,
                expired: raw.expired,
                visible_after: raw.visible_after.map(|d| d.0),
                expires_after: raw.expires_after.map(|d| d.0),
            });
        }

        let mut rules = Vec::new();
        for raw in self.rules {
            let steps = match (raw.lifecycle, raw.steps) {
                (Some(name), None) => named_steps(text, &lifecycles, &name)?,
                (None, Some(steps)) => resolve_steps(text, steps)?,
                _ => {
                    return Err(
                        "a rule needs exactly one of `lifecycle` or inline `steps`".to_string()
                    )
                }
            };
            rules.push(Rule {
                service_type: raw.service_type,
                operation: raw.operation,
                steps,
                message: raw.message,
                arguments: raw.arguments,
                visible_after: raw.visible_after.map(|d| d.0),
                expires_after: raw.expires_after.map(|d| d.0),
            });
        }

        let faults = self
            .faults
            .into_iter()
            .map(|raw| Fault {
                operation_id: raw.operation_id,
                attempts: raw.attempts,
                kind: raw.kind,
                status: raw.status,
                code: raw.code,
                message: raw.message,
                delay: raw.delay.map(|d| d.0),
                bytes: raw.bytes,
                retry_after: raw.retry_after.map(|d| d.0),
                interval: raw.interval.map(|d| d.0),
            })
            .collect();

        let credentials = self
            .credentials
            .into_iter()
            .map(|raw| Credential {
                access_key_id: raw.access_key_id,
                access_key_secret: raw.access_key_secret,
                security_token: raw.security_token,
                rate_limit_per_second: raw.rate_limit_per_second,
            })
            .collect();

        let defaults = Settings::default();
        Ok(Scenario {
            settings: Settings {
                code_as_number: self.settings.code_as_number,
                clock_skew_ms: self.settings.clock_skew.map_or(0, |s| s.0),
                fixed_time: self.settings.fixed_time.map(|t| t.0),
                timestamp_window: self
                    .settings
                    .timestamp_window
                    .map_or(defaults.timestamp_window, |d| d.0),
                default_lifecycle,
                operation_ttl: self
                    .settings
                    .operation_ttl
                    .map_or(defaults.operation_ttl, |d| d.0),
            },
            credentials,
            lifecycles,
            operations,
            rules,
            faults,
            roles: self
                .roles
                .into_iter()
                .map(|raw| Role {
                    role_arn: raw.role_arn,
                    duration: raw.duration.map_or(Duration::from_secs(3600), |d| d.0),
                    oidc_provider_arn: raw.oidc_provider_arn,
                    oidc_token: raw.oidc_token,
                })
                .collect(),
            imds: self.imds.map(|raw| Imds {
                role_name: raw.role_name,
                require_token: raw.require_token,
                duration: raw.duration.map_or(Duration::from_secs(6 * 3600), |d| d.0),
            }),
            credentials_uri: match self.credentials_uri {
                Some(raw) => {
                    let path = raw.path.unwrap_or_else(|| "/credentials".to_string());
                    if !path.starts_with('/') || path == "/" || path.starts_with("/latest/") {
                        return Err(format!(
                            "credentials_uri.path {path:?} must start with '/' and not be '/' or under /latest/"
                        ));
                    }
                    Some(CredentialsUri {
                        path,
                        duration: raw.duration.map_or(Duration::from_secs(3600), |d| d.0),
                    })
                }
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_parses() {
        let demo = Scenario::demo();
        assert_eq!(demo.operations.len(), 3);
        assert_eq!(demo.credentials[0].access_key_id, DEMO_ACCESS_KEY_ID);
        assert_eq!(
            demo.credentials[0].access_key_secret,
            DEMO_ACCESS_KEY_SECRET
        );
        assert_eq!(demo.operations[0].id, DEMO_SUCCESS_ID);
        assert_eq!(demo.operations[1].id, DEMO_FAILURE_ID);
        assert_eq!(demo.operations[2].id, DEMO_EXPIRED_ID);
    }

    #[test]
    fn errors_name_the_line() {
        let err = Scenario::from_toml("[settings]\nclock_skew = \"soon\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Scenario::from_toml("[[operations]]\nid = \"x\"\n\nlifecycle = \"nope\"\n")
            .unwrap_err();
        assert!(err.contains("line 4") && err.contains("nope"), "{err}");
        let err = Scenario::from_toml("[[faults]]\nkind = \"explode\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Scenario::from_toml("[settings]\ncolour = 1\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn signed_skew_and_steps() {
        let s = Scenario::from_toml(
            r#"
[settings]
clock_skew = "-20m"
[[operations]]
id = "a"
steps = [{ status = "INIT" }, { status = "SUCCESS", polls = 3 }]
"#,
        )
        .unwrap();
        assert_eq!(s.settings.clock_skew_ms, -20 * 60 * 1000);
        assert_eq!(s.operations[0].steps[1].start, StepStart::Poll(3));
    }
}
