/*!
The credential chain of SPEC §5: which source gives the AccessKey, and the credentials it gives.

Owns the order of the sources and the rules for each (which file, which section, which mode,
which environment variable). The file formats belong to [`crate::config`]; the environment is
injected through [`Env`] so tests never touch the process environment. This module itself does
not send requests or print: the fetchers of temporary credentials live in its submodules
([`sts`], [`imds`], [`uri`]), the refresh-ahead-of-expiry rule in [`refresh`], the disk cache
in [`cache`].

Shape (after aws-config's `meta/credentials/chain.rs`): every source answers
`Result<Option<_>>`: `Ok(None)` means "not here, try the next", `Err` stops the chain and names
the source. [`resolve`] walks the sources once and returns a [`CredentialSource`], which is
asked afresh for [`CredentialSource::credentials`] before every request, so that temporary
credentials (RamRoleArn, OIDC, ECS RAM role, credentials URI, ChainableRamRoleArn) refresh
themselves behind it, one refresh at a time.

Secrets never appear in `Debug`, `Display` or error messages.
*/

pub mod cache;
mod http;
pub mod imds;
pub mod refresh;
pub mod sts;
pub mod uri;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{self, AliyunConfig, AliyunProfile, Config, CredentialsFile, Mode, Profile};
use crate::error::{Error, Result};

/// AccessKey id of the environment source.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// AccessKey secret of the environment source.
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// STS token of the environment source.
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// The shared credentials file, instead of `~/.alibabacloud/credentials.ini`.
pub const ENV_CREDENTIALS_FILE: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
/// `true` skips the aliyun CLI's config, as in the official SDKs.
pub const ENV_CLI_PROFILE_DISABLED: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";

/// The modes this version can turn into credentials.
pub const SUPPORTED_MODES: &[Mode] = &Mode::ALL;

/// Source 2: the role to assume with OIDC.
pub const ENV_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// Source 2: the OIDC identity provider.
pub const ENV_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// Source 2: the file holding the OIDC token.
pub const ENV_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// `RoleSessionName` of source 2.
pub const ENV_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";

/// How many `source_profile` links a ChainableRamRoleArn profile may follow.
const MAX_CHAIN_DEPTH: usize = 5;

/// The `type`s of the shared credentials file this version supports.
const SUPPORTED_INI_TYPES: &[&str] = &[
    "access_key",
    "sts",
    "ram_role_arn",
    "oidc_role_arn",
    "ecs_ram_role",
];
/// `type`s the SDKs know that this version does not support yet.
const KNOWN_INI_TYPES: &[&str] = &["rsa_key_pair", "bearer"];

/// An AccessKey pair, with an STS token for temporary credentials. `Debug` redacts secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
    /// When temporary credentials stop working; `None` for long-term keys.
    pub expiration: Option<SystemTime>,
}

impl Credentials {
    /// Long-term AccessKey credentials.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
            expiration: None,
        }
    }

    /// The same credentials with an STS security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// The secret and the token, for [`crate::wire::mask`].
    pub fn secrets(&self) -> Vec<&str> {
        let mut v = vec![self.access_key_secret.as_str()];
        v.extend(self.security_token.as_deref());
        v
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"** redacted **")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The environment, injected: [`ProcessEnv`] in the binary, [`MapEnv`] in tests.
pub trait Env: Send + Sync {
    /// The variable's value, `None` when unset or not Unicode.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// An environment held in a map, for tests.
#[derive(Clone, Default)]
pub struct MapEnv(HashMap<String, String>);

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        MapEnv::default()
    }

    /// The same environment with `name` set.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MapEnv(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// A variable that is set and not empty (the SDKs treat empty as unset).
fn non_empty(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.is_empty())
}

/// Everything the chain may look at, gathered by the CLI.
pub struct Lookup<'a> {
    /// `--profile` or `ALIBABA_CLOUD_PROFILE`, already merged by the CLI.
    pub explicit_profile: Option<&'a str>,
    /// Where `bpstudio-op`'s config file is (named in messages even when it does not exist).
    pub config_path: &'a Path,
    /// That file, already loaded; `None` when it does not exist.
    pub config: Option<&'a Config>,
    /// The home directory, for `~/.aliyun/config.json` and `~/.alibabacloud/credentials.ini`.
    pub home: Option<PathBuf>,
    pub env: &'a dyn Env,
}

impl Lookup<'_> {
    fn aliyun_config_path(&self) -> Option<PathBuf> {
        self.home
            .as_ref()
            .map(|h| h.join(".aliyun").join("config.json"))
    }

    fn aliyun_disabled(&self) -> bool {
        self.env
            .var(ENV_CLI_PROFILE_DISABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The aliyun CLI's config, when enabled and present, with its path.
    fn aliyun_config(&self) -> Result<Option<(PathBuf, AliyunConfig)>> {
        if self.aliyun_disabled() {
            return Ok(None);
        }
        let Some(path) = self.aliyun_config_path() else {
            return Ok(None);
        };
        Ok(config::load_aliyun(&path)?.map(|c| (path, c)))
    }

    fn profile_name(&self) -> Option<&str> {
        self.explicit_profile.filter(|p| !p.is_empty())
    }
}

/// Where credentials come from; cheap to clone, `Send + Sync`, shared by concurrent requests.
#[derive(Clone)]
pub struct CredentialSource {
    inner: Arc<Source>,
}

struct Source {
    provider: Provider,
    description: String,
    /// What tells these credentials apart from others, for the keys of the disk cache of the
    /// roles they assume; `None` when nothing does (then such roles are not cached).
    fingerprint: Option<String>,
}

/// The kinds of source.
enum Provider {
    /// Credentials known up front (AK, StsToken).
    Static(Credentials),
    /// Temporary credentials (RamRoleArn, OIDC, ECS RAM role, credentials URI,
    /// ChainableRamRoleArn), refreshed before they expire.
    Refreshing(refresh::Refreshing),
}

impl CredentialSource {
    /// The credentials to sign the next request with.
    pub async fn credentials(&self) -> Result<Credentials> {
        match &self.inner.provider {
            Provider::Static(c) => Ok(c.clone()),
            Provider::Refreshing(r) => r.credentials().await,
        }
    }

    /// Temporary credentials from `fetch`, refreshed ahead of expiry on `clock`.
    pub fn refreshing(
        fetch: Box<dyn refresh::Fetch>,
        clock: refresh::Clock,
        cache: Option<cache::DiskCache>,
        description: String,
    ) -> Self {
        Self::from_refreshing(
            refresh::Refreshing::new(fetch, clock, cache),
            description,
            None,
        )
    }

    fn from_refreshing(
        r: refresh::Refreshing,
        description: String,
        fingerprint: Option<String>,
    ) -> Self {
        CredentialSource {
            inner: Arc::new(Source {
                provider: Provider::Refreshing(r),
                description,
                fingerprint,
            }),
        }
    }

    /// What tells these credentials apart (never a secret: secrets only hashed).
    pub fn fingerprint(&self) -> Option<String> {
        self.inner.fingerprint.clone()
    }

    /// Where the credentials come from, for `--verbose` and error messages; never a secret.
    pub fn describe(&self) -> String {
        self.inner.description.clone()
    }

    /// Fixed credentials, for tests and embedding.
    pub fn from_static(c: Credentials) -> Self {
        Self::fixed(c, "static credentials".to_string())
    }

    fn fixed(c: Credentials, description: String) -> Self {
        let fingerprint = format!(
            "static:{}:{}:{}",
            c.access_key_id,
            cache::fingerprint(&c.access_key_secret),
            c.security_token
                .as_deref()
                .map(cache::fingerprint)
                .unwrap_or_default()
        );
        CredentialSource {
            inner: Arc::new(Source {
                provider: Provider::Static(c),
                description,
                fingerprint: Some(fingerprint),
            }),
        }
    }
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSource")
            .field("source", &self.inner.description)
            .finish()
    }
}

/// One step of the chain; it notes in `looked` what it found when it yields nothing.
type ChainStep = fn(&Lookup, &mut Vec<String>) -> Result<Option<CredentialSource>>;

/// Finds the credential source of SPEC §5: the explicit profile, else the first source of
/// the chain that has credentials.
pub fn resolve(lookup: &Lookup) -> Result<CredentialSource> {
    if let Some(name) = lookup.profile_name() {
        return named_profile(lookup, name);
    }
    const CHAIN: [ChainStep; 7] = [
        from_environment,
        from_oidc_environment,
        from_config_default_profile,
        from_aliyun_current_profile,
        from_credentials_file,
        from_ecs_metadata,
        from_credentials_uri,
    ];
    let mut looked = Vec::new();
    for step in CHAIN {
        if let Some(source) = step(lookup, &mut looked)? {
            return Ok(source);
        }
    }
    Err(Error::config("no credentials found").with_hint(format!(
        "looked in:\n  - {}\nrun `bpstudio-op configure` to store an AccessKey in a profile, \
         or set {ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET}",
        looked.join("\n  - ")
    )))
}

/// Source 1: `ALIBABA_CLOUD_ACCESS_KEY_ID` + `_SECRET` (+ `ALIBABA_CLOUD_SECURITY_TOKEN`).
fn from_environment(lookup: &Lookup, looked: &mut Vec<String>) -> Result<Option<CredentialSource>> {
    let id = non_empty(lookup.env, ENV_ACCESS_KEY_ID);
    let secret = non_empty(lookup.env, ENV_ACCESS_KEY_SECRET);
    let (id, secret) = match (id, secret) {
        (None, None) => {
            looked.push(format!(
                "environment variables {ENV_ACCESS_KEY_ID}/{ENV_ACCESS_KEY_SECRET} (not set)"
            ));
            return Ok(None);
        }
        (Some(id), Some(secret)) => (id, secret),
        (Some(_), None) => {
            return Err(half_set_env(ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET));
        }
        (None, Some(_)) => {
            return Err(half_set_env(ENV_ACCESS_KEY_SECRET, ENV_ACCESS_KEY_ID));
        }
    };
    let mut c = Credentials::new(id, secret);
    let mut description =
        format!("environment variables {ENV_ACCESS_KEY_ID}/{ENV_ACCESS_KEY_SECRET}");
    if let Some(token) = non_empty(lookup.env, ENV_SECURITY_TOKEN) {
        c = c.with_security_token(token);
        description.push_str(&format!("/{ENV_SECURITY_TOKEN}"));
    }
    Ok(Some(CredentialSource::fixed(c, description)))
}

fn half_set_env(set: &str, missing: &str) -> Error {
    Error::config(format!(
        "environment variable {set} is set but {missing} is not"
    ))
    .with_hint(format!("set both, or unset {set} to use a profile"))
}

/// Source 3: the default profile of `bpstudio-op`'s config file, when it has credentials.
fn from_config_default_profile(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    let path = lookup.config_path;
    let Some(config) = lookup.config else {
        looked.push(format!("{} (no such file)", path.display()));
        return Ok(None);
    };
    let name = config.default_profile_name();
    let Some(profile) = config.profile(name) else {
        if config.profile.is_some() {
            // `profile = "x"` is a choice: a missing [profiles.x] is a mistake, not "next".
            return Err(Error::config(format!(
                "config file {} sets profile = \"{name}\" but has no [profiles.{name}]",
                path.display()
            ))
            .with_hint(format!(
                "{}; or run `bpstudio-op configure --profile {name}`",
                list_names("profiles there", &config.profile_names())
            )));
        }
        looked.push(format!("{} (no profile '{name}')", path.display()));
        return Ok(None);
    };
    if !profile.has_credentials() {
        looked.push(format!(
            "{} (profile '{name}' has settings but no credentials)",
            path.display()
        ));
        return Ok(None);
    }
    our_profile_source(lookup, name, profile, 0).map(Some)
}

/// Source 4: the current profile of the aliyun CLI's `~/.aliyun/config.json`.
fn from_aliyun_current_profile(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    if lookup.aliyun_disabled() {
        looked.push(format!(
            "aliyun CLI config (skipped: {ENV_CLI_PROFILE_DISABLED}=true)"
        ));
        return Ok(None);
    }
    let Some((path, aliyun)) = lookup.aliyun_config()? else {
        match lookup.aliyun_config_path() {
            Some(p) => looked.push(format!("{} (no such file)", p.display())),
            None => looked.push("~/.aliyun/config.json (no home directory)".to_string()),
        }
        return Ok(None);
    };
    let name = aliyun.current_profile_name();
    let Some(profile) = aliyun.profile(name) else {
        looked.push(format!(
            "{} (current profile '{name}' is not in the file)",
            path.display()
        ));
        return Ok(None);
    };
    aliyun_profile_source(lookup, &aliyun, profile, &path, 0).map(Some)
}

/// Source 5: section `default` of `ALIBABA_CLOUD_CREDENTIALS_FILE`, else of
/// `~/.alibabacloud/credentials.ini` (Java, Python), else `~/.alibabacloud/credentials` (Go).
fn from_credentials_file(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    const SECTION: &str = "default";
    let (path, file) = if let Some(named) = non_empty(lookup.env, ENV_CREDENTIALS_FILE) {
        let path = PathBuf::from(named);
        match config::load_credentials_file(&path)? {
            Some(file) => (path, file),
            None => {
                return Err(Error::config(format!(
                    "{ENV_CREDENTIALS_FILE} names {}, which does not exist",
                    path.display()
                ))
                .with_hint(format!("fix the path, or unset {ENV_CREDENTIALS_FILE}")))
            }
        }
    } else {
        let Some(home) = &lookup.home else {
            looked.push("~/.alibabacloud/credentials.ini (no home directory)".to_string());
            return Ok(None);
        };
        let dir = home.join(".alibabacloud");
        let mut found = None;
        for path in [dir.join("credentials.ini"), dir.join("credentials")] {
            if let Some(file) = config::load_credentials_file(&path)? {
                found = Some((path, file));
                break;
            }
        }
        match found {
            Some(found) => found,
            None => {
                looked.push(format!(
                    "{} and {} (no such files)",
                    dir.join("credentials.ini").display(),
                    dir.join("credentials").display()
                ));
                return Ok(None);
            }
        }
    };
    ini_section_source(lookup, &file, SECTION, &path, looked)
}

fn ini_section_source(
    lookup: &Lookup,
    file: &CredentialsFile,
    name: &str,
    path: &Path,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    let Some(section) = file.section(name) else {
        looked.push(format!("{} (no section [{name}])", path.display()));
        return Ok(None);
    };
    // The Java SDK reads only sections with `enable = true`; honour an explicit `false`.
    if section
        .get("enable")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    {
        looked.push(format!(
            "{} (section [{name}] has enable = false)",
            path.display()
        ));
        return Ok(None);
    }
    let place = format!("section [{name}] of {}", path.display());
    let required = |key: &str| -> Result<String> {
        section
            .get_non_empty(key)
            .map(str::to_string)
            .ok_or_else(|| {
                Error::config(format!("{place} has no `{key}`"))
                    .with_hint(format!("add `{key} = ...` to the section"))
            })
    };
    // Without `type`, a section holding a key pair is read as `access_key`, like the Java SDK.
    let kind = match section.get_non_empty("type") {
        Some(t) => t.to_string(),
        None if section.get_non_empty("access_key_id").is_some() => "access_key".to_string(),
        None => {
            return Err(
                Error::config(format!("{place} has no `type`")).with_hint(format!(
                    "add `type = access_key` (or one of: {})",
                    SUPPORTED_INI_TYPES.join(", ")
                )),
            )
        }
    };
    // The role types, with the SDKs' key names (`role_arn`, `oidc_token_file_path`...).
    let role_mode = match kind.as_str() {
        "ram_role_arn" => Some(Mode::RamRoleArn),
        "oidc_role_arn" => Some(Mode::Oidc),
        "ecs_ram_role" => Some(Mode::EcsRamRole),
        _ => None,
    };
    if let Some(mode) = role_mode {
        let get = |key: &str| section.get_non_empty(key).map(str::to_string);
        let expired_seconds = match get("duration_seconds") {
            Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                Error::config(format!(
                    "{place} has a duration_seconds that is not a number"
                ))
                .with_hint("write it in seconds, e.g. duration_seconds = 3600")
            })?),
            None => None,
        };
        let spec = ProfileSpec {
            place: place.clone(),
            fix: "add it to the section".to_string(),
            token_key: "security_token",
            ini_names: true,
            mode,
            access_key_id: get("access_key_id"),
            access_key_secret: get("access_key_secret"),
            security_token: None,
            ram_role_arn: get("role_arn"),
            ram_session_name: get("role_session_name"),
            expired_seconds,
            external_id: get("external_id"),
            policy: get("policy"),
            source_profile: None,
            oidc_provider_arn: get("oidc_provider_arn"),
            oidc_token_file: get("oidc_token_file_path"),
            ram_role_name: get("role_name"),
            credentials_uri: None,
            sts_region: get("sts_region"),
            sts_endpoint: get("sts_endpoint"),
        };
        let no_chain = |_: &str| -> Result<CredentialSource> {
            Err(Error::config(format!(
                "{place}: source profiles are not supported here"
            )))
        };
        return profile_source(lookup, spec, &no_chain).map(Some);
    }
    let credentials = match kind.as_str() {
        "access_key" => {
            Credentials::new(required("access_key_id")?, required("access_key_secret")?)
        }
        "sts" => Credentials::new(required("access_key_id")?, required("access_key_secret")?)
            .with_security_token(required("security_token")?),
        other => {
            let what = if KNOWN_INI_TYPES.contains(&other) {
                "which bpstudio-op does not support yet"
            } else {
                "which is unknown"
            };
            return Err(Error::config(format!(
                "{place} has type = {other}, {what}; supported types: {}",
                SUPPORTED_INI_TYPES.join(", ")
            ))
            .with_hint(unsupported_hint()));
        }
    };
    Ok(Some(CredentialSource::fixed(credentials, place)))
}

/// `--profile NAME`: that profile of our config, else of the aliyun CLI's, else an error.
fn named_profile(lookup: &Lookup, name: &str) -> Result<CredentialSource> {
    let ours = lookup.config.and_then(|c| c.profile(name));
    if let Some(profile) = ours.filter(|p| p.has_credentials()) {
        return our_profile_source(lookup, name, profile, 0);
    }
    // A settings-only profile of ours may take its credentials from the aliyun CLI's namesake.
    let aliyun = lookup.aliyun_config()?;
    if let Some((path, config, profile)) = aliyun
        .as_ref()
        .and_then(|(path, c)| c.profile(name).map(|p| (path, c, p)))
    {
        return aliyun_profile_source(lookup, config, profile, path, 0);
    }
    if ours.is_some() {
        return Err(Error::config(format!(
            "profile '{name}' in {} has settings but no credentials",
            lookup.config_path.display()
        ))
        .with_hint(configure_hint(name)));
    }
    let in_ours = match lookup.config {
        Some(c) => list_names(
            &format!("profiles in {}", lookup.config_path.display()),
            &c.profile_names(),
        ),
        None => format!("{} does not exist", lookup.config_path.display()),
    };
    let in_aliyun = match (&aliyun, lookup.aliyun_config_path()) {
        (Some((path, c)), _) => list_names(
            &format!("profiles in {}", path.display()),
            &c.profile_names(),
        ),
        (None, _) if lookup.aliyun_disabled() => {
            format!("the aliyun CLI config is skipped ({ENV_CLI_PROFILE_DISABLED}=true)")
        }
        (None, Some(path)) => format!("{} does not exist", path.display()),
        (None, None) => "no home directory for ~/.aliyun/config.json".to_string(),
    };
    Err(Error::config(format!(
        "profile '{name}' not found in {} nor in the aliyun CLI config",
        lookup.config_path.display()
    ))
    .with_hint(format!(
        "{in_ours}; {in_aliyun}\ncreate it with `bpstudio-op configure --profile {name}`, \
         or pick another with --profile / ALIBABA_CLOUD_PROFILE"
    )))
}

fn list_names(what: &str, names: &[&str]) -> String {
    if names.is_empty() {
        format!("{what}: none")
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

fn configure_hint(name: &str) -> String {
    format!("run `bpstudio-op configure --profile {name}` to store an AccessKey in it")
}

fn unsupported_hint() -> String {
    format!(
        "use a profile with mode {}, or set {ENV_ACCESS_KEY_ID}/{ENV_ACCESS_KEY_SECRET} \
         (and {ENV_SECURITY_TOKEN})",
        supported_modes()
    )
}

fn supported_modes() -> String {
    SUPPORTED_MODES
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn unsupported_mode(mode: &str, place: &str) -> Error {
    Error::config(format!(
        "{place} uses mode {mode}, which bpstudio-op does not support yet; supported modes: {}",
        SUPPORTED_MODES
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_hint(unsupported_hint())
}

/// A profile of either file, in one shape: what its mode needs, and how to name it.
struct ProfileSpec {
    /// "profile 'x' in /path".
    place: String,
    /// What to run to fix it.
    fix: String,
    /// The name of the token key in this file (`security_token` or `sts_token`).
    token_key: &'static str,
    /// The keys are those of the SDKs' credentials file (`role_arn`, `role_session_name`,
    /// `oidc_token_file_path`, `role_name`) rather than the aliyun CLI's.
    ini_names: bool,
    mode: Mode,
    access_key_id: Option<String>,
    access_key_secret: Option<String>,
    security_token: Option<String>,
    ram_role_arn: Option<String>,
    ram_session_name: Option<String>,
    expired_seconds: Option<u64>,
    external_id: Option<String>,
    policy: Option<String>,
    source_profile: Option<String>,
    oidc_provider_arn: Option<String>,
    oidc_token_file: Option<String>,
    ram_role_name: Option<String>,
    credentials_uri: Option<String>,
    sts_region: Option<String>,
    sts_endpoint: Option<String>,
}

impl ProfileSpec {
    fn required(&self, value: &Option<String>, key: &str) -> Result<String> {
        let key = match (self.ini_names, key) {
            (true, "ram_role_arn") => "role_arn",
            (true, "oidc_token_file") => "oidc_token_file_path",
            _ => key,
        };
        value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::config(format!("{} has no {key}", self.place)).with_hint(self.fix.clone())
        })
    }

    fn role(&self) -> Result<sts::Role> {
        let mut role = sts::Role::new(
            self.required(&self.ram_role_arn, "ram_role_arn")?,
            self.ram_session_name.clone(),
            self.expired_seconds,
        );
        role.policy = self.policy.clone().filter(|p| !p.is_empty());
        role.external_id = self.external_id.clone().filter(|p| !p.is_empty());
        role.check(&self.place)?;
        Ok(role)
    }

    fn sts_endpoint(&self, lookup: &Lookup) -> Result<crate::endpoint::Endpoint> {
        sts::endpoint(
            lookup.env,
            self.sts_endpoint.as_deref(),
            self.sts_region.as_deref(),
        )
    }

    /// The AccessKey pair (and token) of AK, StsToken and RamRoleArn.
    fn access_key(&self) -> Result<Credentials> {
        let c = Credentials::new(
            self.required(&self.access_key_id, "access_key_id")?,
            self.required(&self.access_key_secret, "access_key_secret")?,
        );
        Ok(
            match self.security_token.clone().filter(|t| !t.is_empty()) {
                Some(t) => c.with_security_token(t),
                None => c,
            },
        )
    }
}

/// The credential source a profile describes. `source` resolves a `source_profile` name in
/// the same file (ChainableRamRoleArn), one link deeper.
fn profile_source(
    lookup: &Lookup,
    spec: ProfileSpec,
    source: &dyn Fn(&str) -> Result<CredentialSource>,
) -> Result<CredentialSource> {
    let place = spec.place.clone();
    match spec.mode {
        Mode::Ak => {
            if spec.security_token.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(
                    Error::config(format!("{place} has a {} but mode AK", spec.token_key))
                        .with_hint("set mode = \"StsToken\" to use the token, or remove it"),
                );
            }
            Ok(CredentialSource::fixed(spec.access_key()?, place))
        }
        Mode::StsToken => {
            let token = spec.required(&spec.security_token, spec.token_key)?;
            let c = spec.access_key()?;
            Ok(CredentialSource::fixed(c.with_security_token(token), place))
        }
        Mode::RamRoleArn => {
            let role = spec.role()?;
            let key =
                CredentialSource::fixed(spec.access_key()?, format!("the AccessKey of {place}"));
            let fetch = sts::AssumeRole::new(
                spec.sts_endpoint(lookup)?,
                role.clone(),
                sts::Caller::Source(key),
                place.clone(),
            )?;
            Ok(role_source(
                lookup,
                fetch,
                format!("{place} (RamRoleArn {})", role.arn),
            ))
        }
        Mode::ChainableRamRoleArn => {
            let name = spec.required(&spec.source_profile, "source_profile")?;
            let role = spec.role()?;
            let from = source(&name)?;
            let fetch = sts::AssumeRole::new(
                spec.sts_endpoint(lookup)?,
                role.clone(),
                sts::Caller::Source(from),
                place.clone(),
            )?;
            Ok(role_source(
                lookup,
                fetch,
                format!(
                    "{place} (ChainableRamRoleArn {} from profile '{name}')",
                    role.arn
                ),
            ))
        }
        Mode::Oidc => {
            let role = spec.role()?;
            let provider_arn = spec.required(&spec.oidc_provider_arn, "oidc_provider_arn")?;
            let token_file =
                PathBuf::from(spec.required(&spec.oidc_token_file, "oidc_token_file")?);
            let fetch = sts::AssumeRole::new(
                spec.sts_endpoint(lookup)?,
                role.clone(),
                sts::Caller::Oidc {
                    provider_arn,
                    token_file,
                },
                place.clone(),
            )?;
            Ok(role_source(
                lookup,
                fetch,
                format!("{place} (OIDC {})", role.arn),
            ))
        }
        Mode::EcsRamRole => {
            let ecs = imds::EcsRole::new(lookup.env, spec.ram_role_name.clone())?;
            let description = format!("{place} (EcsRamRole, metadata service {})", ecs.base());
            Ok(CredentialSource::refreshing(
                Box::new(ecs),
                refresh::system_clock(),
                None,
                description,
            ))
        }
        Mode::CredentialsUri => {
            let text = match spec.credentials_uri.clone().filter(|u| !u.is_empty()) {
                Some(u) => u,
                // As the aliyun CLI does, the environment fills an empty credentials_uri.
                None => non_empty(lookup.env, uri::ENV_CREDENTIALS_URI).ok_or_else(|| {
                    Error::config(format!("{place} has no credentials_uri"))
                        .with_hint(spec.fix.clone())
                })?,
            };
            let u = uri::CredentialsUri::new(&text, place.clone())?;
            let description = format!("{place} (CredentialsURI {})", u.shown());
            Ok(CredentialSource::refreshing(
                Box::new(u),
                refresh::system_clock(),
                None,
                description,
            ))
        }
    }
}

/// Role credentials from STS, cached on disk unless the cache is off or the caller cannot be
/// told apart.
fn role_source(lookup: &Lookup, fetch: sts::AssumeRole, description: String) -> CredentialSource {
    let key = fetch.cache_key();
    let disk = if cache::disabled(lookup.env) {
        None
    } else {
        key.as_ref().and_then(|key| {
            cache::directory(lookup.env, lookup.home.as_deref())
                .map(|dir| cache::DiskCache::new(&dir, key))
        })
    };
    CredentialSource::from_refreshing(
        refresh::Refreshing::new(Box::new(fetch), refresh::system_clock(), disk),
        description,
        key.map(|k| format!("role:{}", cache::fingerprint(&k))),
    )
}

fn chain_too_deep(place: &str) -> Error {
    Error::config(format!(
        "{place}: source_profile links more than {MAX_CHAIN_DEPTH} profiles deep (a loop?)"
    ))
    .with_hint("make the chain of source_profile end at a profile with an AccessKey")
}

/// Credentials of a profile of our config file.
fn our_profile_source(
    lookup: &Lookup,
    name: &str,
    p: &Profile,
    depth: usize,
) -> Result<CredentialSource> {
    let path = lookup.config_path;
    let place = format!("profile '{name}' in {}", path.display());
    if depth > MAX_CHAIN_DEPTH {
        return Err(chain_too_deep(&place));
    }
    // Without a mode, the keys say which one is meant.
    let mode = p.mode.unwrap_or(if p.credentials_uri.is_some() {
        Mode::CredentialsUri
    } else if p.oidc_provider_arn.is_some() {
        Mode::Oidc
    } else if p.source_profile.is_some() {
        Mode::ChainableRamRoleArn
    } else if p.ram_role_arn.is_some() {
        Mode::RamRoleArn
    } else if p.ram_role_name.is_some() {
        Mode::EcsRamRole
    } else {
        p.effective_mode()
    });
    let spec = ProfileSpec {
        place: place.clone(),
        fix: configure_hint(name),
        token_key: "security_token",
        ini_names: false,
        mode,
        access_key_id: p.access_key_id.clone(),
        access_key_secret: p.access_key_secret.clone(),
        security_token: p.security_token.clone(),
        ram_role_arn: p.ram_role_arn.clone(),
        ram_session_name: p.ram_session_name.clone(),
        expired_seconds: p.expired_seconds,
        external_id: p.external_id.clone(),
        policy: p.policy.clone(),
        source_profile: p.source_profile.clone(),
        oidc_provider_arn: p.oidc_provider_arn.clone(),
        oidc_token_file: p.oidc_token_file.clone(),
        ram_role_name: p.ram_role_name.clone(),
        credentials_uri: p.credentials_uri.clone(),
        sts_region: p.sts_region.clone(),
        sts_endpoint: p.sts_endpoint.clone(),
    };
    let source = |other: &str| -> Result<CredentialSource> {
        match lookup.config.and_then(|c| c.profile(other)) {
            Some(q) => our_profile_source(lookup, other, q, depth + 1),
            None => Err(Error::config(format!(
                "{place} names source_profile '{other}', which is not in {}",
                path.display()
            ))
            .with_hint(format!(
                "add [profiles.{other}] with an AccessKey, or fix source_profile"
            ))),
        }
    };
    profile_source(lookup, spec, &source)
}

/// Credentials of a profile of the aliyun CLI (`config/profile.go` modes and keys).
fn aliyun_profile_source(
    lookup: &Lookup,
    config: &AliyunConfig,
    p: &AliyunProfile,
    path: &Path,
    depth: usize,
) -> Result<CredentialSource> {
    let place = format!("profile '{}' in {}", p.name, path.display());
    let fix = format!("run `aliyun configure --profile {}`", p.name);
    if depth > MAX_CHAIN_DEPTH {
        return Err(chain_too_deep(&place));
    }
    if p.mode.is_empty() {
        return Err(
            Error::config(format!("{place} has no mode (it is not configured yet)")).with_hint(fix),
        );
    }
    let Some(mode) = Mode::parse(&p.mode) else {
        return Err(unsupported_mode(&p.mode, &place));
    };
    let opt = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
    let spec = ProfileSpec {
        place: place.clone(),
        fix,
        token_key: "sts_token",
        ini_names: false,
        mode,
        access_key_id: opt(&p.access_key_id),
        access_key_secret: opt(&p.access_key_secret),
        // The CLI keeps an sts_token next to the key of other modes too; only these use it.
        security_token: opt(&p.sts_token)
            .filter(|_| matches!(mode, Mode::StsToken | Mode::RamRoleArn)),
        ram_role_arn: opt(&p.ram_role_arn),
        ram_session_name: opt(&p.ram_session_name),
        expired_seconds: Some(p.expired_seconds).filter(|s| *s > 0),
        external_id: opt(&p.external_id),
        policy: None,
        source_profile: opt(&p.source_profile),
        oidc_provider_arn: opt(&p.oidc_provider_arn),
        oidc_token_file: opt(&p.oidc_token_file),
        ram_role_name: opt(&p.ram_role_name),
        credentials_uri: opt(&p.credentials_uri),
        sts_region: opt(&p.sts_region),
        sts_endpoint: None,
    };
    let source = |other: &str| -> Result<CredentialSource> {
        match config.profile(other) {
            Some(q) => aliyun_profile_source(lookup, config, q, path, depth + 1),
            None => Err(Error::config(format!(
                "{place} names source_profile '{other}', which is not in {}",
                path.display()
            ))
            .with_hint(format!(
                "run `aliyun configure --profile {other}`, or fix source_profile"
            ))),
        }
    };
    profile_source(lookup, spec, &source)
}

/// Source 2: `ALIBABA_CLOUD_ROLE_ARN` + `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` +
/// `ALIBABA_CLOUD_OIDC_TOKEN_FILE` → STS `AssumeRoleWithOIDC` (GitHub Actions, ACK RRSA).
fn from_oidc_environment(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    let env = lookup.env;
    let names = [ENV_ROLE_ARN, ENV_OIDC_PROVIDER_ARN, ENV_OIDC_TOKEN_FILE];
    let [arn, provider, file] = names.map(|n| non_empty(env, n));
    // The role ARN alone may be meant for something else; the OIDC variables are not.
    if provider.is_none() && file.is_none() {
        looked.push(format!(
            "environment variables {} (not set)",
            names.join("/")
        ));
        return Ok(None);
    }
    let (Some(arn), Some(provider_arn), Some(file)) = (arn, provider, file) else {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| non_empty(env, n).is_none())
            .collect();
        return Err(Error::config(format!(
            "OIDC credentials need {}, but {} not set",
            names.join(", "),
            match missing.as_slice() {
                [one] => format!("{one} is"),
                more => format!("{} are", more.join(" and ")),
            }
        ))
        .with_hint("set all three (the role to assume, the OIDC identity provider's ARN and the token file), or none"));
    };
    let origin = "environment variables ALIBABA_CLOUD_ROLE_ARN/ALIBABA_CLOUD_OIDC_*".to_string();
    let role = sts::Role::new(arn, non_empty(env, ENV_ROLE_SESSION_NAME), None);
    let fetch = sts::AssumeRole::new(
        sts::endpoint(env, None, None)?,
        role.clone(),
        sts::Caller::Oidc {
            provider_arn,
            token_file: PathBuf::from(file),
        },
        origin.clone(),
    )?;
    Ok(Some(role_source(
        lookup,
        fetch,
        format!("{origin} (OIDC {})", role.arn),
    )))
}

/// Source 6: the ECS instance RAM role, unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`.
/// The metadata service is asked now (at most about a second when it is not there), so that
/// the chain can move on to source 7.
fn from_ecs_metadata(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    if imds::disabled(lookup.env) {
        looked.push(format!(
            "ECS instance metadata (skipped: {}=true)",
            imds::ENV_ECS_METADATA_DISABLED
        ));
        return Ok(None);
    }
    let ecs = imds::EcsRole::new(lookup.env, None)?;
    let probe = block_on_side_thread(refresh::Fetch::fetch(&ecs));
    match probe {
        Ok(first) => {
            let description = format!(
                "the ECS instance RAM role (metadata service {})",
                ecs.base()
            );
            let r = refresh::Refreshing::new(Box::new(ecs), refresh::system_clock(), None)
                .seeded(first);
            Ok(Some(CredentialSource::from_refreshing(
                r,
                description,
                None,
            )))
        }
        Err(e) => {
            looked.push(format!("ECS instance metadata ({})", e.message));
            Ok(None)
        }
    }
}

/// Runs `future` to completion on a runtime of its own thread: the chain is resolved from
/// synchronous code that may itself run inside the caller's runtime.
fn block_on_side_thread<T: Send>(future: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the metadata probe")
                .block_on(future)
        })
        .join()
        .expect("the metadata probe does not panic")
    })
}

/// Source 7: `ALIBABA_CLOUD_CREDENTIALS_URI`.
fn from_credentials_uri(
    lookup: &Lookup,
    looked: &mut Vec<String>,
) -> Result<Option<CredentialSource>> {
    let Some(text) = non_empty(lookup.env, uri::ENV_CREDENTIALS_URI) else {
        looked.push(format!(
            "environment variable {} (not set)",
            uri::ENV_CREDENTIALS_URI
        ));
        return Ok(None);
    };
    let origin = format!("environment variable {}", uri::ENV_CREDENTIALS_URI);
    let u = uri::CredentialsUri::new(&text, origin)?;
    let description = format!(
        "the credentials URI {} ({})",
        u.shown(),
        uri::ENV_CREDENTIALS_URI
    );
    Ok(Some(CredentialSource::refreshing(
        Box::new(u),
        refresh::system_clock(),
        None,
        description,
    )))
}

/// The profile whose settings (region, endpoint, output, signature version, timeout,
/// interval) apply: the explicit profile (ours; else the aliyun CLI's, for its `region_id`),
/// or our default profile. Unreadable files count as absent here: [`resolve`] reports them.
pub fn settings_profile(lookup: &Lookup) -> Option<Profile> {
    if let Some(name) = lookup.profile_name() {
        if let Some(p) = lookup.config.and_then(|c| c.profile(name)) {
            return Some(p.clone());
        }
        let (_, aliyun) = lookup.aliyun_config().ok()??;
        let p = aliyun.profile(name)?;
        return Some(Profile {
            region_id: Some(p.region_id.clone()).filter(|r| !r.is_empty()),
            ..Profile::default()
        });
    }
    let config = lookup.config?;
    config.profile(config.default_profile_name()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "TOPSECRETVALUE";
    const TOKEN: &str = "TOKENVALUE";

    struct Home {
        dir: tempfile::TempDir,
    }

    impl Home {
        fn new() -> Self {
            Home {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn path(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }
        fn config_path(&self) -> PathBuf {
            self.dir.path().join("bpstudio-op.toml")
        }
        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            p
        }
        fn aliyun(&self, text: &str) -> PathBuf {
            self.write(".aliyun/config.json", text)
        }
    }

    fn run(
        home: &Home,
        config: Option<&str>,
        env: MapEnv,
        profile: Option<&str>,
    ) -> Result<CredentialSource> {
        let config = config.map(|t| config::parse(t).unwrap());
        let path = home.config_path();
        // Never the real metadata service, nor the user's cache.
        let env = if env.var(imds::ENV_ECS_METADATA_DISABLED).is_none() {
            env.with(imds::ENV_ECS_METADATA_DISABLED, "true")
        } else {
            env
        };
        let env = env.with(cache::ENV_CACHE, "off");
        let lookup = Lookup {
            explicit_profile: profile,
            config_path: &path,
            config: config.as_ref(),
            home: Some(home.path()),
            env: &env,
        };
        resolve(&lookup)
    }

    fn creds(source: &CredentialSource) -> Credentials {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(source.credentials())
            .unwrap()
    }

    fn assert_no_secret(e: &Error) {
        let all = format!("{e} {:?} {e:?}", e.hint);
        assert!(
            !all.contains(SECRET) && !all.contains(TOKEN),
            "secret leaked: {all}"
        );
    }

    fn aliyun_json(current: &str, profiles: &str) -> String {
        format!(r#"{{"current": "{current}", "profiles": [{profiles}], "meta_path": ""}}"#)
    }

    fn aliyun_ak(name: &str, id: &str) -> String {
        format!(
            r#"{{"name": "{name}", "mode": "AK", "access_key_id": "{id}", "access_key_secret": "{SECRET}", "region_id": "cn-shanghai", "output_format": "json"}}"#
        )
    }

    fn ours(name: &str, id: &str) -> String {
        format!("[profiles.{name}]\naccess_key_id = \"{id}\"\naccess_key_secret = \"{SECRET}\"\nregion_id = \"ap-southeast-1\"\n")
    }

    #[test]
    fn source_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<CredentialSource>();
    }

    #[test]
    fn environment_comes_first() {
        let home = Home::new();
        home.aliyun(&aliyun_json("default", &aliyun_ak("default", "cli")));
        let env = MapEnv::new()
            .with(ENV_ACCESS_KEY_ID, "envid")
            .with(ENV_ACCESS_KEY_SECRET, SECRET)
            .with(ENV_SECURITY_TOKEN, TOKEN);
        let s = run(&home, Some(&ours("default", "mine")), env, None).unwrap();
        let c = creds(&s);
        assert_eq!(c.access_key_id, "envid");
        assert_eq!(c.security_token.as_deref(), Some(TOKEN));
        assert!(
            s.describe().contains("ALIBABA_CLOUD_SECURITY_TOKEN"),
            "{}",
            s.describe()
        );
        let dbg = format!("{c:?} {s:?}");
        assert!(!dbg.contains(SECRET) && !dbg.contains(TOKEN), "{dbg}");
        assert!(dbg.contains("** redacted **"));
    }

    #[test]
    fn half_set_environment_is_an_error() {
        let home = Home::new();
        let e = run(
            &home,
            None,
            MapEnv::new().with(ENV_ACCESS_KEY_ID, "id"),
            None,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains(ENV_ACCESS_KEY_SECRET), "{e}");
        let e = run(
            &home,
            None,
            MapEnv::new().with(ENV_ACCESS_KEY_SECRET, SECRET),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains(ENV_ACCESS_KEY_ID), "{e}");
        assert_no_secret(&e);
    }

    #[test]
    fn empty_environment_variables_count_as_unset() {
        let home = Home::new();
        let env = MapEnv::new()
            .with(ENV_ACCESS_KEY_ID, "")
            .with(ENV_ACCESS_KEY_SECRET, "");
        let s = run(&home, Some(&ours("default", "mine")), env, None).unwrap();
        assert_eq!(creds(&s).access_key_id, "mine");
    }

    #[test]
    fn our_default_profile_before_the_aliyun_cli() {
        let home = Home::new();
        home.aliyun(&aliyun_json("default", &aliyun_ak("default", "cli")));
        let s = run(&home, Some(&ours("default", "mine")), MapEnv::new(), None).unwrap();
        assert_eq!(creds(&s).access_key_id, "mine");
        assert_eq!(
            s.describe(),
            format!("profile 'default' in {}", home.config_path().display())
        );
    }

    #[test]
    fn config_profile_key_chooses_the_default_profile() {
        let home = Home::new();
        let text = format!(
            "profile = \"dev\"\n{}{}",
            ours("default", "d"),
            ours("dev", "v")
        );
        let s = run(&home, Some(&text), MapEnv::new(), None).unwrap();
        assert_eq!(creds(&s).access_key_id, "v");
        let e = run(&home, Some("profile = \"nope\"\n"), MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("[profiles.nope]"), "{e}");
    }

    #[test]
    fn settings_only_profile_falls_through_to_the_aliyun_cli() {
        let home = Home::new();
        let p = home.aliyun(&aliyun_json(
            "work",
            &format!(
                r#"{}, {{"name": "work", "mode": "StsToken", "access_key_id": "sts", "access_key_secret": "{SECRET}", "sts_token": "{TOKEN}"}}"#,
                aliyun_ak("default", "cli")
            ),
        ));
        let text = "[profiles.default]\nregion_id = \"cn-hangzhou\"\n";
        let s = run(&home, Some(text), MapEnv::new(), None).unwrap();
        let c = creds(&s);
        assert_eq!(c.access_key_id, "sts");
        assert_eq!(c.security_token.as_deref(), Some(TOKEN));
        assert_eq!(s.describe(), format!("profile 'work' in {}", p.display()));
    }

    #[test]
    fn aliyun_cli_can_be_disabled() {
        let home = Home::new();
        home.aliyun(&aliyun_json("default", &aliyun_ak("default", "cli")));
        home.write(
            ".alibabacloud/credentials",
            "[default]\ntype = access_key\naccess_key_id = ini\naccess_key_secret = x\n",
        );
        let env = MapEnv::new().with(ENV_CLI_PROFILE_DISABLED, "true");
        let s = run(&home, None, env, None).unwrap();
        assert_eq!(creds(&s).access_key_id, "ini");
    }

    #[test]
    fn unsupported_aliyun_mode_names_mode_and_supported_ones() {
        let home = Home::new();
        home.aliyun(&aliyun_json(
            "sso",
            r#"{"name": "sso", "mode": "CloudSSO"}"#,
        ));
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("CloudSSO"), "{e}");
        assert!(e.message.contains("AK, StsToken"), "{e}");
        home.aliyun(&aliyun_json("x", r#"{"name": "x", "mode": ""}"#));
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("no mode"), "{e}");
    }

    #[test]
    fn incomplete_role_profiles_name_the_missing_key() {
        let home = Home::new();
        let cases = [
            ("mode = \"RamRoleArn\"\naccess_key_id = \"a\"\naccess_key_secret = \"b\"\n", "ram_role_arn"),
            ("mode = \"RamRoleArn\"\nram_role_arn = \"acs:ram::1:role/r\"\n", "access_key_id"),
            ("mode = \"OIDC\"\nram_role_arn = \"acs:ram::1:role/r\"\n", "oidc_provider_arn"),
            ("oidc_provider_arn = \"p\"\nram_role_arn = \"acs:ram::1:role/r\"\n", "oidc_token_file"),
            ("mode = \"ChainableRamRoleArn\"\nram_role_arn = \"r\"\n", "source_profile"),
            ("source_profile = \"nope\"\nram_role_arn = \"r\"\n", "source_profile 'nope'"),
            ("mode = \"CredentialsURI\"\n", "credentials_uri"),
            ("credentials_uri = \"http://10.0.0.1/c\"\n", "plain http://"),
            ("ram_role_arn = \"r\"\naccess_key_id = \"a\"\naccess_key_secret = \"b\"\nexpired_seconds = 60\n", "900"),
        ];
        for (body, needle) in cases {
            let text = format!("[profiles.default]\n{body}");
            let e = run(&home, Some(&text), MapEnv::new(), None).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{body}");
            assert!(e.message.contains(needle), "{body}: {e}");
        }
        let e = run(
            &home,
            Some("[profiles.a]\nsource_profile = \"b\"\nram_role_arn = \"r\"\n[profiles.b]\nsource_profile = \"a\"\nram_role_arn = \"r\"\n"),
            MapEnv::new(),
            Some("a"),
        )
        .unwrap_err();
        assert!(e.message.contains("a loop"), "{e}");
    }

    #[test]
    fn oidc_environment_needs_all_three_variables() {
        let home = Home::new();
        let env = MapEnv::new().with(ENV_OIDC_TOKEN_FILE, "/tmp/token");
        let e = run(&home, None, env, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message.contains(ENV_ROLE_ARN) && e.message.contains(ENV_OIDC_PROVIDER_ARN),
            "{e}"
        );
        // The role ARN alone is not a request for OIDC.
        let env = MapEnv::new().with(ENV_ROLE_ARN, "acs:ram::1:role/r");
        let e = run(&home, None, env, None).unwrap_err();
        assert_eq!(e.message, "no credentials found");
        let env = MapEnv::new()
            .with(ENV_ROLE_ARN, "acs:ram::1:role/r")
            .with(ENV_OIDC_PROVIDER_ARN, "acs:ram::1:oidc-provider/p")
            .with(ENV_OIDC_TOKEN_FILE, "/tmp/token")
            .with(ENV_ACCESS_KEY_ID, "envid")
            .with(ENV_ACCESS_KEY_SECRET, SECRET);
        // Source 1 comes first; without it, OIDC.
        let s = run(&home, Some(&ours("default", "mine")), env.clone(), None).unwrap();
        assert!(s.describe().contains(ENV_ACCESS_KEY_ID), "{}", s.describe());
        let env: MapEnv = [
            (ENV_ROLE_ARN, "acs:ram::1:role/r"),
            (ENV_OIDC_PROVIDER_ARN, "acs:ram::1:oidc-provider/p"),
            (ENV_OIDC_TOKEN_FILE, "/tmp/token"),
        ]
        .into_iter()
        .collect();
        let s = run(&home, Some(&ours("default", "mine")), env, None).unwrap();
        assert!(
            s.describe().contains("OIDC acs:ram::1:role/r"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn credentials_uri_is_the_last_source() {
        let home = Home::new();
        let env = MapEnv::new().with(
            uri::ENV_CREDENTIALS_URI,
            "http://127.0.0.1:9/creds?k=SECRETQ",
        );
        let s = run(&home, None, env.clone(), None).unwrap();
        assert!(
            s.describe().contains("http://127.0.0.1:9/creds"),
            "{}",
            s.describe()
        );
        assert!(!s.describe().contains("SECRETQ"));
        let s = run(&home, Some(&ours("default", "mine")), env, None).unwrap();
        assert_eq!(creds(&s).access_key_id, "mine");
    }

    #[test]
    fn an_unreachable_metadata_service_costs_about_a_second_then_the_chain_moves_on() {
        let home = Home::new();
        // A listener that accepts connections and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let env = MapEnv::new()
            .with(imds::ENV_ECS_METADATA_DISABLED, "false")
            .with(imds::ENV_IMDS_ENDPOINT, format!("http://{addr}"))
            .with(uri::ENV_CREDENTIALS_URI, "http://127.0.0.1:9/creds");
        let started = std::time::Instant::now();
        let s = run(&home, None, env, None).unwrap();
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_millis(2500), "{took:?}");
        assert!(s.describe().contains("credentials URI"), "{}", s.describe());
        drop(silent);
    }

    #[test]
    fn incomplete_profiles_are_errors_with_a_fix() {
        let home = Home::new();
        let e = run(
            &home,
            Some("[profiles.default]\nmode = \"AK\"\naccess_key_id = \"x\"\n"),
            MapEnv::new(),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("access_key_secret"), "{e}");
        assert!(e
            .hint
            .as_deref()
            .unwrap()
            .contains("bpstudio-op configure --profile default"));
        let text = format!("[profiles.default]\nmode = \"StsToken\"\naccess_key_id = \"x\"\naccess_key_secret = \"{SECRET}\"\n");
        let e = run(&home, Some(&text), MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("security_token"), "{e}");
        assert_no_secret(&e);
        let text = format!("[profiles.default]\nmode = \"AK\"\naccess_key_id = \"x\"\naccess_key_secret = \"{SECRET}\"\nsecurity_token = \"{TOKEN}\"\n");
        let e = run(&home, Some(&text), MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("mode AK"), "{e}");
        assert_no_secret(&e);
    }

    #[test]
    fn malformed_aliyun_config_stops_the_chain_naming_the_path() {
        let home = Home::new();
        let p = home.aliyun("{ not json");
        home.write(
            ".alibabacloud/credentials.ini",
            "[default]\ntype = access_key\naccess_key_id = ini\naccess_key_secret = x\n",
        );
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains(&p.display().to_string()), "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn credentials_ini_then_credentials() {
        let home = Home::new();
        home.write(
            ".alibabacloud/credentials",
            "[default]\ntype = access_key\naccess_key_id = plain\naccess_key_secret = x\n",
        );
        let s = run(&home, None, MapEnv::new(), None).unwrap();
        assert_eq!(creds(&s).access_key_id, "plain");
        let ini = home.write(
            ".alibabacloud/credentials.ini",
            &format!("[other]\ntype = access_key\n[default]\nenable = true\ntype = sts\naccess_key_id = ini\naccess_key_secret = {SECRET}\nsecurity_token = {TOKEN}\n"),
        );
        let s = run(&home, None, MapEnv::new(), None).unwrap();
        let c = creds(&s);
        assert_eq!(c.access_key_id, "ini");
        assert_eq!(c.security_token.as_deref(), Some(TOKEN));
        assert_eq!(
            s.describe(),
            format!("section [default] of {}", ini.display())
        );
    }

    #[test]
    fn credentials_file_from_environment() {
        let home = Home::new();
        let f = home.write(
            "elsewhere.ini",
            "[default]\naccess_key_id = env-file\naccess_key_secret = x\n",
        );
        let env = MapEnv::new().with(ENV_CREDENTIALS_FILE, f.display().to_string());
        let s = run(&home, None, env, None).unwrap();
        assert_eq!(creds(&s).access_key_id, "env-file");
        let env = MapEnv::new().with(ENV_CREDENTIALS_FILE, "/nonexistent/creds.ini");
        let e = run(&home, None, env, None).unwrap_err();
        assert!(e.message.contains("/nonexistent/creds.ini"), "{e}");
    }

    #[test]
    fn credentials_file_rules() {
        let home = Home::new();
        let write = |text: &str| home.write(".alibabacloud/credentials.ini", text);
        write("[default]\nenable = false\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n");
        assert!(run(&home, None, MapEnv::new(), None)
            .unwrap_err()
            .message
            .contains("no credentials found"));
        write("[default]\ntype = rsa_key_pair\n");
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(
            e.message.contains("rsa_key_pair") && e.message.contains("access_key, sts"),
            "{e}"
        );
        write("[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = b\n");
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("has no role_arn"), "{e}");
        write("[default]\ntype = oidc_role_arn\nrole_arn = r\noidc_provider_arn = p\n");
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("has no oidc_token_file_path"), "{e}");
        write("[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = b\nrole_arn = acs:ram::1:role/r\n");
        let s = run(&home, None, MapEnv::new(), None).unwrap();
        assert!(
            s.describe().contains("RamRoleArn acs:ram::1:role/r"),
            "{}",
            s.describe()
        );
        write(&format!(
            "[default]\ntype = access_key\naccess_key_secret = {SECRET}\n"
        ));
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(e.message.contains("`access_key_id`"), "{e}");
        assert_no_secret(&e);
        let p = write("[default]\nnot an assignment\n");
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(
            e.message.contains(&p.display().to_string()) && e.message.contains("line 2"),
            "{e}"
        );
        write("[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n");
        assert_eq!(
            creds(&run(&home, None, MapEnv::new(), None).unwrap()).access_key_secret,
            "b"
        );
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let home = Home::new();
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert_eq!(e.message, "no credentials found");
        assert_eq!(e.exit_code(), 2);
        let hint = e.hint.unwrap();
        for needle in [
            ENV_ACCESS_KEY_ID,
            &home.config_path().display().to_string(),
            ".aliyun/config.json",
            "credentials.ini",
            "bpstudio-op configure",
        ] {
            assert!(hint.contains(needle), "hint misses {needle}: {hint}");
        }
    }

    #[test]
    fn explicit_profile_ours_then_aliyun_then_error_listing_names() {
        let home = Home::new();
        home.aliyun(&aliyun_json(
            "default",
            &format!(
                "{}, {}",
                aliyun_ak("default", "cli"),
                aliyun_ak("prod", "cliprod")
            ),
        ));
        let text = format!("{}{}", ours("default", "mine"), ours("dev", "mydev"));
        let env = MapEnv::new()
            .with(ENV_ACCESS_KEY_ID, "envid")
            .with(ENV_ACCESS_KEY_SECRET, "x");
        // An explicit profile beats the environment.
        let s = run(&home, Some(&text), env.clone(), Some("dev")).unwrap();
        assert_eq!(creds(&s).access_key_id, "mydev");
        let s = run(&home, Some(&text), env.clone(), Some("prod")).unwrap();
        assert_eq!(creds(&s).access_key_id, "cliprod");
        let e = run(&home, Some(&text), env, Some("staging")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("'staging'"), "{e}");
        let hint = e.hint.unwrap();
        assert!(hint.contains("default, dev"), "{hint}");
        assert!(hint.contains("default, prod"), "{hint}");
        assert!(
            hint.contains("bpstudio-op configure --profile staging"),
            "{hint}"
        );
    }

    #[test]
    fn explicit_settings_only_profile_takes_aliyun_credentials() {
        let home = Home::new();
        home.aliyun(&aliyun_json("default", &aliyun_ak("dev", "clidev")));
        let text =
            "[profiles.dev]\nregion_id = \"cn-hangzhou\"\n[profiles.lonely]\noutput = \"json\"\n";
        let s = run(&home, Some(text), MapEnv::new(), Some("dev")).unwrap();
        assert_eq!(creds(&s).access_key_id, "clidev");
        let e = run(&home, Some(text), MapEnv::new(), Some("lonely")).unwrap_err();
        assert!(e.message.contains("no credentials"), "{e}");
    }

    #[test]
    fn settings_profile_follows_the_selection() {
        let home = Home::new();
        home.aliyun(&aliyun_json("default", &aliyun_ak("cli", "x")));
        let config = config::parse(&format!(
            "profile = \"dev\"\n{}{}",
            ours("default", "d"),
            ours("dev", "v")
        ))
        .unwrap();
        let path = home.config_path();
        let env = MapEnv::new();
        let mut lookup = Lookup {
            explicit_profile: None,
            config_path: &path,
            config: Some(&config),
            home: Some(home.path()),
            env: &env,
        };
        assert_eq!(
            settings_profile(&lookup).unwrap().access_key_id.as_deref(),
            Some("v")
        );
        lookup.explicit_profile = Some("default");
        assert_eq!(
            settings_profile(&lookup).unwrap().access_key_id.as_deref(),
            Some("d")
        );
        lookup.explicit_profile = Some("cli");
        let p = settings_profile(&lookup).unwrap();
        assert_eq!(p.region_id.as_deref(), Some("cn-shanghai"));
        assert_eq!(p.access_key_id, None);
        lookup.explicit_profile = Some("missing");
        assert!(settings_profile(&lookup).is_none());
        lookup.config = None;
        lookup.explicit_profile = None;
        assert!(settings_profile(&lookup).is_none());
    }

    #[test]
    fn from_static_describes_itself() {
        let s = CredentialSource::from_static(Credentials::new("a", SECRET));
        assert_eq!(s.describe(), "static credentials");
        assert_eq!(creds(&s.clone()).access_key_secret, SECRET);
        assert!(!format!("{s:?}").contains(SECRET));
    }
}
