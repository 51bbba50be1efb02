/*!
The credential chain of SPEC §5: which source gives the AccessKey, and the credentials it gives.

Owns the order of the sources and the rules for each (which file, which section, which mode).
The file formats belong to [`crate::config`]; the environment is injected through [`Env`] so
tests never touch the process environment. It must not sign, send requests or print.

Shape (after aws-config's `meta/credentials/chain.rs`): every source answers
`Result<Option<_>>`: `Ok(None)` means "not here, try the next", `Err` stops the chain and names
the source. [`resolve`] walks the sources once and returns a [`CredentialSource`], which is
asked afresh for [`CredentialSource::credentials`] before every request, so that temporary
credentials (later: RamRoleArn, OIDC, ECS RAM role, credentials URI) can refresh themselves
behind it.

Secrets never appear in `Debug`, `Display` or error messages.
*/

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
pub const SUPPORTED_MODES: &[Mode] = &[Mode::Ak, Mode::StsToken];

/// The `type`s of the shared credentials file this version supports.
const SUPPORTED_INI_TYPES: &[&str] = &["access_key", "sts"];
/// `type`s the SDKs know that this version does not support yet.
const KNOWN_INI_TYPES: &[&str] = &[
    "ecs_ram_role",
    "ram_role_arn",
    "oidc_role_arn",
    "rsa_key_pair",
    "bearer",
];

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
}

/// The kinds of source. Later: `RamRoleArn`, `Oidc`, `EcsRamRole`, `CredentialsUri`, each
/// holding its cached temporary credentials and refreshing them before `expiration`.
enum Provider {
    /// Credentials known up front (AK, StsToken).
    Static(Credentials),
}

impl CredentialSource {
    /// The credentials to sign the next request with.
    pub async fn credentials(&self) -> Result<Credentials> {
        match &self.inner.provider {
            Provider::Static(c) => Ok(c.clone()),
        }
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
        CredentialSource {
            inner: Arc::new(Source {
                provider: Provider::Static(c),
                description,
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
    // Sources 2 (OIDC), 6 (ECS RAM role) and 7 (credentials URI) slot in here later.
    const CHAIN: [ChainStep; 4] = [
        from_environment,
        from_config_default_profile,
        from_aliyun_current_profile,
        from_credentials_file,
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
    our_profile_source(name, profile, path).map(Some)
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
    aliyun_profile_source(profile, &path).map(Some)
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
    ini_section_source(&file, SECTION, &path, looked)
}

fn ini_section_source(
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
        return our_profile_source(name, profile, lookup.config_path);
    }
    // A settings-only profile of ours may take its credentials from the aliyun CLI's namesake.
    let aliyun = lookup.aliyun_config()?;
    if let Some((path, profile)) = aliyun
        .as_ref()
        .and_then(|(path, c)| c.profile(name).map(|p| (path, p)))
    {
        return aliyun_profile_source(profile, path);
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
        .join(" or ")
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

/// Credentials of a profile of our config file.
fn our_profile_source(name: &str, p: &Profile, path: &Path) -> Result<CredentialSource> {
    let place = format!("profile '{name}' in {}", path.display());
    let required = |value: &Option<String>, key: &str| -> Result<String> {
        value.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::config(format!("{place} has no {key}")).with_hint(configure_hint(name))
        })
    };
    let mode = p.effective_mode();
    let credentials = match mode {
        Mode::Ak => {
            if p.security_token.is_some() {
                return Err(
                    Error::config(format!("{place} has a security_token but mode AK"))
                        .with_hint("set mode = \"StsToken\" to use the token, or remove it"),
                );
            }
            Credentials::new(
                required(&p.access_key_id, "access_key_id")?,
                required(&p.access_key_secret, "access_key_secret")?,
            )
        }
        Mode::StsToken => Credentials::new(
            required(&p.access_key_id, "access_key_id")?,
            required(&p.access_key_secret, "access_key_secret")?,
        )
        .with_security_token(required(&p.security_token, "security_token")?),
        other => return Err(unsupported_mode(other.as_str(), &place)),
    };
    Ok(CredentialSource::fixed(credentials, place))
}

/// Credentials of a profile of the aliyun CLI (`config/profile.go` modes and keys).
fn aliyun_profile_source(p: &AliyunProfile, path: &Path) -> Result<CredentialSource> {
    let place = format!("profile '{}' in {}", p.name, path.display());
    let fix = format!("run `aliyun configure --profile {}`", p.name);
    let required = |value: &str, key: &str| -> Result<String> {
        if value.is_empty() {
            Err(Error::config(format!("{place} has no {key}")).with_hint(fix.clone()))
        } else {
            Ok(value.to_string())
        }
    };
    if p.mode.is_empty() {
        return Err(
            Error::config(format!("{place} has no mode (it is not configured yet)")).with_hint(fix),
        );
    }
    let credentials = match Mode::parse(&p.mode) {
        Some(Mode::Ak) => Credentials::new(
            required(&p.access_key_id, "access_key_id")?,
            required(&p.access_key_secret, "access_key_secret")?,
        ),
        Some(Mode::StsToken) => Credentials::new(
            required(&p.access_key_id, "access_key_id")?,
            required(&p.access_key_secret, "access_key_secret")?,
        )
        .with_security_token(required(&p.sts_token, "sts_token")?),
        _ => return Err(unsupported_mode(&p.mode, &place)),
    };
    Ok(CredentialSource::fixed(credentials, place))
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
    fn unsupported_mode_in_our_profile() {
        let home = Home::new();
        let e = run(
            &home,
            Some("[profiles.default]\nmode = \"RamRoleArn\"\n"),
            MapEnv::new(),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("RamRoleArn"), "{e}");
        assert!(e.message.contains("AK, StsToken"), "{e}");
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
        write("[default]\ntype = ram_role_arn\n");
        let e = run(&home, None, MapEnv::new(), None).unwrap_err();
        assert!(
            e.message.contains("ram_role_arn") && e.message.contains("access_key, sts"),
            "{e}"
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
