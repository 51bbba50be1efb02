/*!
The files that hold profiles: `bpstudio-op`'s own TOML config, the aliyun CLI's
`~/.aliyun/config.json`, and the SDKs' shared `~/.alibabacloud/credentials[.ini]`.

Owns their formats: every rule lives in a `parse*(&str)` function that is unit-tested on inline
text; the `load*(&Path)` functions only read the file and add the path to errors. It must not
decide which source wins (that is [`crate::credentials`]) and must not print: warnings are
returned to the caller.

Secrets read here never appear in `Debug` output or in error messages: parse errors name the
line and the key, never quote the line.
*/

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The profile used when the config file does not name one with `profile = "..."`.
pub const DEFAULT_PROFILE: &str = "default";

/// Keys allowed at the top level of the config file.
const TOP_LEVEL_KEYS: &[&str] = &["profile", "profiles"];

/// The keys `bpstudio-op configure` writes, in the order they are documented.
pub const PROFILE_KEYS: &[&str] = &[
    "mode",
    "access_key_id",
    "access_key_secret",
    "security_token",
    "region_id",
    "endpoint",
    "output",
    "signature_version",
    "timeout",
    "interval",
];

/// The keys of the temporary-credential modes (RamRoleArn, OIDC, EcsRamRole, CredentialsURI,
/// ChainableRamRoleArn), named as in the aliyun CLI's `config.json`, in documentation order.
/// Allowed in a profile besides [`PROFILE_KEYS`]; `configure` leaves them as they are.
pub const ROLE_KEYS: &[&str] = &[
    "ram_role_arn",
    "ram_session_name",
    "expired_seconds",
    "external_id",
    "policy",
    "source_profile",
    "oidc_provider_arn",
    "oidc_token_file",
    "ram_role_name",
    "credentials_uri",
    "sts_region",
    "sts_endpoint",
];

/// `bpstudio-op`'s config file (`<config dir>/bpstudio-op/config.toml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which profile is used when none is named (default: `"default"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The profiles, by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Problems worth a warning that do not stop the tool (e.g. a file readable by others);
    /// filled by [`load`], never printed here.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Config {
    /// The profile called `name`, if the file has one.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The profile used when none is named: the `profile` key, else `"default"`.
    pub fn default_profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or(DEFAULT_PROFILE)
    }

    /// The names of all profiles, sorted.
    pub fn profile_names(&self) -> Vec<&str> {
        self.profiles.keys().map(String::as_str).collect()
    }
}

/// How a profile obtains credentials (the aliyun CLI's `mode` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A long-term AccessKey pair.
    Ak,
    /// An AccessKey pair with an STS security token.
    StsToken,
    /// STS `AssumeRole` from a source AccessKey pair.
    RamRoleArn,
    /// The ECS instance RAM role, from the metadata service.
    EcsRamRole,
    /// STS `AssumeRoleWithOIDC`.
    Oidc,
    /// Credentials served by a URL.
    CredentialsUri,
    /// A role assumed with the credentials of another profile.
    ChainableRamRoleArn,
}

impl Mode {
    /// Every mode the file format knows, in documentation order.
    pub const ALL: [Mode; 7] = [
        Mode::Ak,
        Mode::StsToken,
        Mode::RamRoleArn,
        Mode::EcsRamRole,
        Mode::Oidc,
        Mode::CredentialsUri,
        Mode::ChainableRamRoleArn,
    ];

    /// The name as written in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ak => "AK",
            Mode::StsToken => "StsToken",
            Mode::RamRoleArn => "RamRoleArn",
            Mode::EcsRamRole => "EcsRamRole",
            Mode::Oidc => "OIDC",
            Mode::CredentialsUri => "CredentialsURI",
            Mode::ChainableRamRoleArn => "ChainableRamRoleArn",
        }
    }

    /// Parses a mode name, ignoring case like the aliyun CLI (`NormalizeMode`).
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Mode::parse(s).ok_or_else(|| {
            format!(
                "unknown mode `{s}`, expected one of {}",
                Mode::ALL.map(Mode::as_str).join(", ")
            )
        })
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Output format of results on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Human-readable.
    Table,
    /// The API's JSON, pretty-printed.
    Json,
}

impl OutputFormat {
    /// The name as written in config files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
        }
    }
}

/// Which RPC signature the requests carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SignatureVersion {
    /// `HMAC-SHA1`, `SignatureVersion=1.0`.
    V1,
    /// `ACS3-HMAC-SHA256`.
    V3,
}

impl SignatureVersion {
    /// The name as written in config files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVersion::V1 => "v1",
            SignatureVersion::V3 => "v3",
        }
    }
}

/// One `[profiles.NAME]` table: how to get credentials, and default settings.
///
/// Every field is optional: a profile may hold only settings (region, output...) and leave
/// credentials to another source. `Debug` redacts the secret and the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `AK` or `StsToken` (later more); when absent, `StsToken` if a token is present, else `AK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<String>,
    /// STS security token (`StsToken` mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    /// Endpoint URL or host, overriding the region's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_version: Option<SignatureVersion>,
    /// Default `--timeout` of `wait`/`watch`, written like `60m`.
    #[serde(
        default,
        with = "duration_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// Default `--interval` of `wait`/`watch`, written like `2s`.
    #[serde(
        default,
        with = "duration_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    /// The role to assume (RamRoleArn, OIDC, ChainableRamRoleArn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_role_arn: Option<String>,
    /// `RoleSessionName` of the assumed role; default `bpstudio-op-<unix time>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_session_name: Option<String>,
    /// `DurationSeconds` of the assumed role (at least 900; default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_seconds: Option<u64>,
    /// `ExternalId` of `AssumeRole`, when the role's trust policy requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `Policy`: a JSON policy that narrows the assumed role's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// ChainableRamRoleArn: the profile whose credentials assume the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_profile: Option<String>,
    /// OIDC: the identity provider's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_provider_arn: Option<String>,
    /// OIDC: the file holding the OIDC token (re-read at each refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_token_file: Option<String>,
    /// EcsRamRole: the instance's role name (discovered from the metadata service when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_role_name: Option<String>,
    /// CredentialsURI: the URL that serves credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_uri: Option<String>,
    /// STS region: `sts.<region>.aliyuncs.com` instead of `sts.aliyuncs.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_region: Option<String>,
    /// STS endpoint (URL or host), overriding `sts_region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_endpoint: Option<String>,
}

impl Profile {
    /// Whether the profile says anything about credentials (a mode, a key or a token).
    pub fn has_credentials(&self) -> bool {
        self.mode.is_some()
            || self.access_key_id.is_some()
            || self.access_key_secret.is_some()
            || self.security_token.is_some()
            || self.has_role_keys()
    }

    /// Whether any key of a temporary-credential mode ([`ROLE_KEYS`]) is set.
    pub fn has_role_keys(&self) -> bool {
        [
            &self.ram_role_arn,
            &self.ram_session_name,
            &self.external_id,
            &self.policy,
            &self.source_profile,
            &self.oidc_provider_arn,
            &self.oidc_token_file,
            &self.ram_role_name,
            &self.credentials_uri,
            &self.sts_region,
            &self.sts_endpoint,
        ]
        .iter()
        .any(|v| v.is_some())
            || self.expired_seconds.is_some()
    }

    /// The mode, explicit or inferred: `StsToken` when a token is present, else `AK`.
    pub fn effective_mode(&self) -> Mode {
        self.mode.unwrap_or(if self.security_token.is_some() {
            Mode::StsToken
        } else {
            Mode::Ak
        })
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "** redacted **");
        f.debug_struct("Profile")
            .field("mode", &self.mode)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &redacted(&self.access_key_secret))
            .field("security_token", &redacted(&self.security_token))
            .field("region_id", &self.region_id)
            .field("endpoint", &self.endpoint)
            .field("output", &self.output)
            .field("signature_version", &self.signature_version)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .field("ram_role_arn", &self.ram_role_arn)
            .field("ram_session_name", &self.ram_session_name)
            .field("expired_seconds", &self.expired_seconds)
            .field("external_id", &redacted(&self.external_id))
            .field("policy", &self.policy)
            .field("source_profile", &self.source_profile)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("oidc_token_file", &self.oidc_token_file)
            .field("ram_role_name", &self.ram_role_name)
            .field("credentials_uri", &self.credentials_uri)
            .field("sts_region", &self.sts_region)
            .field("sts_endpoint", &self.sts_endpoint)
            .finish()
    }
}

/// Durations written like `90s`, `2m`, `1h30m` (humantime).
mod duration_opt {
    use super::*;

    pub fn serialize<S: Serializer>(
        v: &Option<Duration>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim()).map(Some).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration ({e}); write it like `90s`, `2m` or `1h30m`"
            ))
        })
    }
}

/// A malformed file: what is wrong, and on which line when known. Never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: Option<usize>,
    pub message: String,
}

impl ParseError {
    fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `bpstudio-op`'s TOML config. Unknown keys are errors naming every one of them.
pub fn parse(text: &str) -> Result<Config, ParseError> {
    // Syntax first, as a plain table, so unknown keys can all be listed at once.
    let table: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    check_unknown_keys(text, &table)?;
    toml::from_str::<Config>(text).map_err(|e| toml_error(text, &e))
}

/// Serializes a config back to TOML (comments are not kept; see [`crate::configure`]).
pub fn to_toml(config: &Config) -> Result<String, toml::ser::Error> {
    toml::to_string(config)
}

/// Turns a toml error into a [`ParseError`] with the line, without the snippet that
/// `toml`'s `Display` adds (it would quote a secret on a bad line).
fn toml_error(text: &str, e: &toml::de::Error) -> ParseError {
    let line = e.span().map(|span| line_of_offset(text, span.start));
    let message = e.message().trim();
    // serde quotes the offending value ("invalid type: integer `123`"), which may be a secret.
    let on_secret_line = line
        .and_then(|l| text.lines().nth(l - 1))
        .is_some_and(|l| SECRET_KEYS.iter().any(|k| l.contains(k)));
    let message = if on_secret_line
        || ["invalid type", "invalid value", "invalid length"]
            .iter()
            .any(|p| message.starts_with(p))
    {
        without_quoted_values(message)
    } else {
        message.to_string()
    };
    ParseError::new(line, message)
}

/// Keys whose values never appear in messages.
const SECRET_KEYS: &[&str] = &["access_key_secret", "security_token"];

/// Drops `` `...` `` and `"..."` spans from a serde message.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '`' || c == '"' => {
                quote = Some(c);
                if out.ends_with(' ') {
                    out.pop();
                }
            }
            None => out.push(c),
        }
    }
    out
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn check_unknown_keys(text: &str, table: &toml::Table) -> Result<(), ParseError> {
    let mut problems = Vec::new();
    let mut first_line: Option<usize> = None;
    let mut note = |place: &str, key: &str, allowed: &[&str], first_line: &mut Option<usize>| {
        let mut p = format!("unknown key `{key}` {place}");
        if let Some(s) = closest(key, allowed) {
            p.push_str(&format!(" (did you mean `{s}`?)"));
        }
        problems.push(p);
        if let Some(line) = find_key_line(text, key) {
            *first_line = Some(first_line.map_or(line, |f| f.min(line)));
        }
    };
    for key in table.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            let allowed: Vec<&str> = TOP_LEVEL_KEYS.to_vec();
            note("at the top level", key, &allowed, &mut first_line);
        }
    }
    if let Some(toml::Value::Table(profiles)) = table.get("profiles") {
        for (name, profile) in profiles {
            if let toml::Value::Table(profile) = profile {
                let known: Vec<&str> = PROFILE_KEYS.iter().chain(ROLE_KEYS).copied().collect();
                for key in profile.keys() {
                    if !known.contains(&key.as_str()) {
                        let place = format!("in [profiles.{name}]");
                        note(&place, key, &known, &mut first_line);
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let mut message = problems.join("; ");
        message.push_str(&format!(
            "; known keys of a profile: {}, and for role modes: {}",
            PROFILE_KEYS.join(", "),
            ROLE_KEYS.join(", ")
        ));
        Err(ParseError::new(first_line, message))
    }
}

/// The first line that assigns `key` (`key =` or `"key" =`), for pointing at a typo.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let l = line.trim_start();
            let rest = l
                .strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")));
            rest.is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// The allowed key nearest to a misspelt one, when it is near enough to be a typo.
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads the file, or `Ok(None)` when there is none; other read errors name the path.
fn read_optional(path: &Path, what: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::config(format!(
            "cannot read {what} {}: {e}",
            path.display()
        ))),
    }
}

fn malformed(what: &str, path: &Path, e: &ParseError) -> Error {
    Error::config(format!("malformed {what} {}: {e}", path.display()))
}

/// Loads `bpstudio-op`'s config file: `Ok(None)` when it does not exist. A file readable
/// by group or others is loaded with a warning in [`Config::warnings`].
pub fn load(path: &Path) -> Result<Option<Config>> {
    let Some(text) = read_optional(path, "config file")? else {
        return Ok(None);
    };
    let mut config = parse(&text).map_err(|e| {
        malformed("config file", path, &e)
            .with_hint("fix the line named above, or run `bpstudio-op configure` to rewrite the profile (see config.example.toml for every key)")
    })?;
    config.warnings.extend(permission_warning(path));
    Ok(Some(config))
}

/// A warning when the file is readable by group or others (Unix only).
pub fn permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Some(format!(
                "config file {} is accessible by group or others (mode {:o}); it may hold secrets: run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The aliyun CLI's `~/.aliyun/config.json`. Only the fields this tool reads are kept;
/// the many others the CLI writes are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AliyunConfig {
    /// The profile in use (`aliyun configure switch`); the CLI defaults it to `default`.
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub profiles: Vec<AliyunProfile>,
}

impl AliyunConfig {
    /// The profile called `name`.
    pub fn profile(&self, name: &str) -> Option<&AliyunProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The name of the current profile: `current`, or `default` when empty.
    pub fn current_profile_name(&self) -> &str {
        if self.current.is_empty() {
            DEFAULT_PROFILE
        } else {
            &self.current
        }
    }

    /// The names of all profiles, in file order.
    pub fn profile_names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }
}

/// One profile of the aliyun CLI (`config/profile.go` field names). `Debug` redacts secrets.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AliyunProfile {
    #[serde(default)]
    pub name: String,
    /// `AK`, `StsToken`, `RamRoleArn`, ... (any string: the CLI knows more modes than we do).
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub access_key_secret: String,
    #[serde(default)]
    pub sts_token: String,
    #[serde(default)]
    pub region_id: String,
    #[serde(default)]
    pub ram_role_arn: String,
    #[serde(default)]
    pub ram_session_name: String,
    /// `DurationSeconds`; 0 when absent (the CLI writes a number).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expired_seconds: u64,
    #[serde(default)]
    pub external_id: String,
    #[serde(default)]
    pub source_profile: String,
    #[serde(default)]
    pub oidc_provider_arn: String,
    #[serde(default)]
    pub oidc_token_file: String,
    #[serde(default)]
    pub ram_role_name: String,
    #[serde(default)]
    pub credentials_uri: String,
    #[serde(default)]
    pub sts_region: String,
}

/// A number the CLI writes as a JSON number; a numeric string is accepted too.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("expected a non-negative integer")),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(0),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("expected a non-negative integer")),
        _ => Err(serde::de::Error::custom("expected a non-negative integer")),
    }
}

impl fmt::Debug for AliyunProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &str| if v.is_empty() { "" } else { "** redacted **" };
        f.debug_struct("AliyunProfile")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &redacted(&self.access_key_secret))
            .field("sts_token", &redacted(&self.sts_token))
            .field("region_id", &self.region_id)
            .field("ram_role_arn", &self.ram_role_arn)
            .field("ram_session_name", &self.ram_session_name)
            .field("expired_seconds", &self.expired_seconds)
            .field("external_id", &redacted(&self.external_id))
            .field("source_profile", &self.source_profile)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("oidc_token_file", &self.oidc_token_file)
            .field("ram_role_name", &self.ram_role_name)
            .field("credentials_uri", &self.credentials_uri)
            .field("sts_region", &self.sts_region)
            .finish()
    }
}

/// Parses the aliyun CLI's `config.json`.
pub fn parse_aliyun(text: &str) -> Result<AliyunConfig, ParseError> {
    // Nulls are what an older CLI writes for empty values; treat them as absent.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ParseError::new(Some(e.line()), json_message(&e)))?;
    let value = strip_nulls(value);
    serde_json::from_value(value).map_err(|e| ParseError::new(None, json_message(&e)))
}

/// serde_json's message without its " at line L column C" suffix (the line is reported apart).
/// Also drops the value serde quotes in "invalid type" messages, which may be a secret.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    if message.starts_with("invalid ") {
        without_quoted_values(message)
    } else {
        message.to_string()
    }
}

fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Loads the aliyun CLI's `config.json`: `Ok(None)` when it does not exist.
pub fn load_aliyun(path: &Path) -> Result<Option<AliyunConfig>> {
    let Some(text) = read_optional(path, "aliyun CLI config")? else {
        return Ok(None);
    };
    parse_aliyun(&text).map(Some).map_err(|e| {
        malformed("aliyun CLI config", path, &e)
            .with_hint("fix it with `aliyun configure`, or move it aside")
    })
}

/// The SDKs' shared credentials file (`~/.alibabacloud/credentials.ini`), an INI file:
/// `[section]` headers, `key = value` (or `key: value`) lines, `#` and `;` comments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialsFile {
    sections: Vec<IniSection>,
}

impl CredentialsFile {
    /// The section called `name` (section names are case-sensitive, as in the SDKs).
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The section names, in file order.
    pub fn section_names(&self) -> Vec<&str> {
        self.sections.iter().map(|s| s.name.as_str()).collect()
    }
}

/// One `[section]` of an INI file; keys are lower-cased like Python's `configparser`.
/// `Debug` shows the keys only, since values may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IniSection {
    pub name: String,
    values: BTreeMap<String, String>,
}

impl IniSection {
    /// The value of `key` (case-insensitive), if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The value of `key` when present and not empty.
    pub fn get_non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for IniSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IniSection")
            .field("name", &self.name)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Parses the shared credentials INI file.
///
/// Like the SDKs' readers (Python `configparser`, Go `ini`): whole-line comments start with
/// `#` or `;`; a value is cut at an inline ` #` or ` ;`; surrounding quotes are removed; a
/// repeated section continues the first; a later key replaces an earlier one.
pub fn parse_credentials_file(text: &str) -> Result<CredentialsFile, ParseError> {
    let mut file = CredentialsFile::default();
    let mut current: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if i == 0 && line.starts_with('\u{feff}') {
            // A byte-order mark that Windows editors add.
            return parse_credentials_file(text.trim_start_matches('\u{feff}'));
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest
                .split_once(']')
                .map(|(n, after)| (n.trim(), after.trim()))
            else {
                return Err(ParseError::new(
                    Some(line_no),
                    "section header without a closing `]`",
                ));
            };
            let (name, after) = name;
            if name.is_empty() {
                return Err(ParseError::new(Some(line_no), "empty section name"));
            }
            if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                return Err(ParseError::new(
                    Some(line_no),
                    "unexpected text after the section header",
                ));
            }
            current = Some(match file.sections.iter().position(|s| s.name == name) {
                Some(existing) => existing,
                None => {
                    file.sections.push(IniSection {
                        name: name.to_string(),
                        values: BTreeMap::new(),
                    });
                    file.sections.len() - 1
                }
            });
            continue;
        }
        let Some((key, value)) = split_key_value(line) else {
            return Err(ParseError::new(
                Some(line_no),
                "expected `[section]` or `key = value`",
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ParseError::new(Some(line_no), "a `= value` without a key"));
        }
        let Some(section) = current else {
            return Err(ParseError::new(
                Some(line_no),
                format!("key `{key}` before any `[section]` header"),
            ));
        };
        file.sections[section]
            .values
            .insert(key.to_ascii_lowercase(), clean_value(value));
    }
    Ok(file)
}

/// Splits at the first `=` or `:`, whichever comes first.
fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let at = line.find(['=', ':'])?;
    Some((&line[..at], &line[at + 1..]))
}

fn clean_value(value: &str) -> String {
    let mut v = value.trim();
    // An inline comment starts at `#` or `;` after whitespace.
    let bytes = v.as_bytes();
    if let Some(cut) = (1..bytes.len())
        .find(|&i| (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace())
    {
        v = v[..cut].trim_end();
    }
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            v = &v[1..v.len() - 1];
            break;
        }
    }
    v.to_string()
}

/// Loads the shared credentials file: `Ok(None)` when it does not exist.
pub fn load_credentials_file(path: &Path) -> Result<Option<CredentialsFile>> {
    let Some(text) = read_optional(path, "credentials file")? else {
        return Ok(None);
    };
    parse_credentials_file(&text)
        .map(Some)
        .map_err(|e| malformed("credentials file", path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_profile() {
        let c = parse(
            r#"
profile = "dev"
[profiles.dev]
mode = "StsToken"
access_key_id = "LTAIid"
access_key_secret = "s3cret"
security_token = "tok"
region_id = "ap-southeast-1"
endpoint = "127.0.0.1:8080"
output = "json"
signature_version = "v3"
timeout = "1h30m"
interval = "2s"
"#,
        )
        .unwrap();
        assert_eq!(c.default_profile_name(), "dev");
        let p = c.profile("dev").unwrap();
        assert_eq!(p.mode, Some(Mode::StsToken));
        assert_eq!(p.access_key_id.as_deref(), Some("LTAIid"));
        assert_eq!(p.security_token.as_deref(), Some("tok"));
        assert_eq!(p.region_id.as_deref(), Some("ap-southeast-1"));
        assert_eq!(p.output, Some(OutputFormat::Json));
        assert_eq!(p.signature_version, Some(SignatureVersion::V3));
        assert_eq!(p.timeout, Some(Duration::from_secs(5400)));
        assert_eq!(p.interval, Some(Duration::from_secs(2)));
        assert!(c.profile("default").is_none());
    }

    #[test]
    fn empty_file_is_an_empty_config_with_default_profile_name() {
        let c = parse("").unwrap();
        assert_eq!(c.default_profile_name(), "default");
        assert!(c.profiles.is_empty());
    }

    #[test]
    fn mode_is_case_insensitive_and_inferred() {
        let c = parse("[profiles.a]\nmode = \"ak\"\n[profiles.b]\nsecurity_token = \"t\"\n[profiles.c]\nregion_id = \"cn-hangzhou\"\n").unwrap();
        assert_eq!(c.profile("a").unwrap().mode, Some(Mode::Ak));
        assert_eq!(c.profile("b").unwrap().effective_mode(), Mode::StsToken);
        assert!(!c.profile("c").unwrap().has_credentials());
        assert_eq!(c.profile("c").unwrap().effective_mode(), Mode::Ak);
    }

    #[test]
    fn unknown_mode_names_the_line_and_the_modes() {
        let e = parse("[profiles.a]\n\nmode = \"Magic\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("Magic"), "{e}");
        assert!(e.message.contains("StsToken"), "{e}");
    }

    #[test]
    fn unknown_keys_are_all_named_with_suggestions() {
        let e = parse("[profiles.default]\naccess_key_id = \"x\"\nregoin_id = \"cn-hangzhou\"\notput = \"json\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("`regoin_id`"), "{e}");
        assert!(e.message.contains("did you mean `region_id`"), "{e}");
        assert!(e.message.contains("`otput`"), "{e}");
        assert!(e.message.contains("did you mean `output`"), "{e}");
        let e = parse("profiles_x = 1\n").unwrap_err();
        assert!(e.message.contains("at the top level"), "{e}");
    }

    #[test]
    fn syntax_error_names_the_line_without_quoting_secrets() {
        let text = "[profiles.default]\naccess_key_secret = \"abc\nregion_id = \"x\"\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(!e.to_string().contains("abc"), "{e}");
        // A type error on the secret's own line must not echo it either.
        let e = parse("[profiles.default]\naccess_key_secret = 12345678\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(!e.to_string().contains("12345678"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected_with_line() {
        let e = parse("[profiles.a]\noutput = \"yaml\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("[profiles.a]\nsignature_version = \"v2\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse("[profiles.a]\ntimeout = \"soon\"\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("1h30m"), "{e}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = parse("[profiles.a]\naccess_key_id = \"ID1\"\naccess_key_secret = \"SEKRIT\"\nsecurity_token = \"TOKEN\"\n").unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("ID1"));
        assert!(!dbg.contains("SEKRIT") && !dbg.contains("TOKEN"), "{dbg}");
        assert!(dbg.contains("** redacted **"));
    }

    #[test]
    fn round_trips_through_to_toml() {
        let text = "profile = \"x\"\n[profiles.x]\nmode = \"StsToken\"\naccess_key_id = \"a\"\naccess_key_secret = \"b\"\nsecurity_token = \"c\"\noutput = \"table\"\nsignature_version = \"v1\"\ntimeout = \"1h 30m\"\ninterval = \"500ms\"\n";
        let c = parse(text).unwrap();
        assert_eq!(parse(&to_toml(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn example_config_parses_and_documents_every_key() {
        let text = include_str!("../config.example.toml");
        let c = parse(text).expect("config.example.toml must parse");
        assert!(!c.profiles.is_empty());
        for key in PROFILE_KEYS.iter().chain(ROLE_KEYS).chain(TOP_LEVEL_KEYS) {
            assert!(
                text.contains(key),
                "config.example.toml does not mention `{key}`"
            );
        }
        for mode in Mode::ALL {
            assert!(text.contains(mode.as_str()), "example misses mode {mode}");
        }
    }

    #[test]
    fn load_missing_file_is_none_and_malformed_names_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(load(&path).unwrap(), None);
        std::fs::write(&path, "[profiles.a]\nbogus = 1\n").unwrap();
        let e = load(&path).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.message.contains(&path.display().to_string()), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
        assert!(e.hint.is_some());
    }

    #[cfg(unix)]
    #[test]
    fn load_warns_when_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.default]\nregion_id = \"cn-hangzhou\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = load(&path).unwrap().unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("chmod 600"), "{:?}", c.warnings);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&path).unwrap().unwrap().warnings.is_empty());
    }

    const ALIYUN: &str = r#"{
        "current": "work",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "id0", "access_key_secret": "sec0",
             "region_id": "cn-hangzhou", "output_format": "json", "language": "en", "sts_token": null},
            {"name": "work", "mode": "StsToken", "access_key_id": "id1", "access_key_secret": "sec1",
             "sts_token": "tok1", "region_id": "cn-shanghai", "ram_role_arn": "", "expired_seconds": 0}
        ],
        "meta_path": ""
    }"#;

    #[test]
    fn parses_aliyun_cli_config() {
        let c = parse_aliyun(ALIYUN).unwrap();
        assert_eq!(c.current_profile_name(), "work");
        assert_eq!(c.profile_names(), vec!["default", "work"]);
        let w = c.profile("work").unwrap();
        assert_eq!(w.mode, "StsToken");
        assert_eq!(w.sts_token, "tok1");
        assert_eq!(w.region_id, "cn-shanghai");
        assert_eq!(c.profile("default").unwrap().sts_token, "");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("sec1") && !dbg.contains("tok1"), "{dbg}");
        assert_eq!(
            parse_aliyun("{}").unwrap().current_profile_name(),
            "default"
        );
    }

    #[test]
    fn malformed_aliyun_config_names_the_line() {
        let e = parse_aliyun("{\n\"current\": \"x\",\n\"profiles\": [\n}").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(!e.message.contains(" at line "), "{e}");
        let e = parse_aliyun("{\"profiles\": [{\"access_key_secret\": 98765432}]}").unwrap_err();
        assert!(!e.message.contains("98765432"), "{e}");
        let e = parse_aliyun("{\"profiles\": {}}").unwrap_err();
        assert!(e.message.contains("invalid type"), "{e}");
    }

    #[test]
    fn parses_credentials_ini() {
        let f = parse_credentials_file(
            "# shared by the SDKs\n\
             [default]\n\
             enable = true # comment\n\
             Type = access_key\n\
             access_key_id = \"foo\"\n\
             access_key_secret: bar ; trailing\n\
             \n\
             [client1]\n\
             type = sts\n\
             security_token = a#b\n",
        )
        .unwrap();
        assert_eq!(f.section_names(), vec!["default", "client1"]);
        let d = f.section("default").unwrap();
        assert_eq!(d.get("type"), Some("access_key"));
        assert_eq!(d.get("enable"), Some("true"));
        assert_eq!(d.get("access_key_id"), Some("foo"));
        assert_eq!(d.get("access_key_secret"), Some("bar"));
        // `#` not preceded by whitespace is part of the value.
        assert_eq!(
            f.section("client1").unwrap().get("security_token"),
            Some("a#b")
        );
        assert!(f.section("Default").is_none());
        assert!(!format!("{f:?}").contains("bar"));
    }

    #[test]
    fn malformed_ini_names_the_line() {
        let e = parse_credentials_file("access_key_id = x\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse_credentials_file("[default]\n\njust-a-secret-word\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(!e.message.contains("just-a-secret-word"), "{e}");
        let e = parse_credentials_file("[default\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse_credentials_file("[]\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn ini_repeated_sections_merge_and_bom_is_ignored() {
        let f = parse_credentials_file("\u{feff}[a]\nx = 1\n[b]\n[a]\ny = 2\nx = 3\n").unwrap();
        let a = f.section("a").unwrap();
        assert_eq!(a.get("x"), Some("3"));
        assert_eq!(a.get("y"), Some("2"));
        assert_eq!(a.get_non_empty("z"), None);
    }
}
