/*!
The on-disk cache of role credentials, so that `bpstudio-op get` in a shell loop does not call
STS every time.

Owns where entries live (`<cache dir>/bpstudio-op/credentials/<key>.json`, the directory mode
0700, each file 0600, written atomically), their key (a SHA-256 of everything that determines
the credentials, secrets included only hashed), and the switch that turns it off
(`BPSTUDIO_OP_CREDENTIALS_CACHE=off`). When an entry is good enough to use is
[`super::refresh`]'s call. Any problem with the cache only means "not cached": it never fails
a command.
*/

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::refresh::Held;
use super::{Credentials, Env};

/// `off`, `false`, `0` or `no` turns the credentials cache off.
pub const ENV_CACHE: &str = "BPSTUDIO_OP_CREDENTIALS_CACHE";

/// One cache entry: a file named by its key.
#[derive(Debug, Clone)]
pub struct DiskCache {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    /// Unix seconds.
    expiration: u64,
    /// Unix seconds.
    obtained: u64,
}

const VERSION: u32 = 1;

/// The cache directory for `env` and `home`: `$XDG_CACHE_HOME` when absolute, else the
/// platform's (`~/Library/Caches` on macOS, `~/.cache` elsewhere), then `bpstudio-op/credentials`.
pub fn directory(env: &dyn Env, home: Option<&Path>) -> Option<PathBuf> {
    let base = env
        .var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            let home = home?;
            Some(if cfg!(target_os = "macos") {
                home.join("Library").join("Caches")
            } else {
                home.join(".cache")
            })
        })?;
    Some(base.join("bpstudio-op").join("credentials"))
}

/// Whether the environment turns the cache off.
pub fn disabled(env: &dyn Env) -> bool {
    env.var(ENV_CACHE).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "false" | "0" | "no"
        )
    })
}

/// A SHA-256 of a secret, for keys: tells secrets apart without keeping them.
pub fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl DiskCache {
    /// The entry for `key` (any text naming everything that determines the credentials) in
    /// `dir`.
    pub fn new(dir: &Path, key: &str) -> DiskCache {
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        DiskCache {
            path: dir.join(format!("{}.json", &digest[..32])),
        }
    }

    /// Where the entry lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached credentials, if the entry exists and reads back whole.
    pub(crate) fn load(&self) -> Option<Held> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let e: Entry = serde_json::from_str(&text).ok()?;
        if e.version != VERSION {
            return None;
        }
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        Some(Held {
            credentials: Credentials {
                access_key_id: e.access_key_id,
                access_key_secret: e.access_key_secret,
                security_token: e.security_token,
                expiration: Some(at(e.expiration)),
            },
            obtained: at(e.obtained),
        })
    }

    /// Stores `held` (only credentials that expire); failures are ignored.
    pub(crate) fn store(&self, held: &Held) {
        let _ = self.try_store(held);
    }

    fn try_store(&self, held: &Held) -> std::io::Result<()> {
        let secs = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let Some(expiration) = held.credentials.expiration else {
            return Ok(());
        };
        let c = &held.credentials;
        let entry = Entry {
            version: VERSION,
            access_key_id: c.access_key_id.clone(),
            access_key_secret: c.access_key_secret.clone(),
            security_token: c.security_token.clone(),
            expiration: secs(expiration),
            obtained: secs(held.obtained),
        };
        let dir = self.path.parent().expect("entries live in a directory");
        create_private_dir(dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let result = (|| {
            let mut f = private_file(&tmp)?;
            f.write_all(serde_json::to_string(&entry)?.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MapEnv;

    #[test]
    fn round_trips_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("c/bpstudio-op/credentials");
        let cache = DiskCache::new(&cache_dir, "role|arn|key");
        assert!(cache.load().is_none());
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let held = Held {
            credentials: Credentials {
                expiration: Some(at + Duration::from_secs(3600)),
                ..Credentials::new("STS.x", "sec").with_security_token("tok")
            },
            obtained: at,
        };
        cache.store(&held);
        let back = cache.load().unwrap();
        assert_eq!(back.credentials, held.credentials);
        assert_eq!(back.obtained, at);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(cache.path()), 0o600);
            assert_eq!(mode(&cache_dir), 0o700);
        }
        assert_ne!(
            DiskCache::new(&cache_dir, "role|arn|other").path(),
            cache.path()
        );
        std::fs::write(cache.path(), "{ not json").unwrap();
        assert!(cache.load().is_none());
    }

    #[test]
    fn directory_and_switch_come_from_the_environment() {
        let home = Path::new("/home/u");
        let env = MapEnv::new().with("XDG_CACHE_HOME", "/xdg");
        assert_eq!(
            directory(&env, Some(home)).unwrap(),
            Path::new("/xdg/bpstudio-op/credentials")
        );
        let relative = MapEnv::new().with("XDG_CACHE_HOME", "rel");
        assert!(directory(&relative, Some(home))
            .unwrap()
            .starts_with("/home/u"));
        assert!(directory(&MapEnv::new(), None).is_none());
        for off in ["off", "FALSE", "0", "no"] {
            assert!(disabled(&MapEnv::new().with(ENV_CACHE, off)), "{off}");
        }
        assert!(!disabled(&MapEnv::new()));
        assert!(!disabled(&MapEnv::new().with(ENV_CACHE, "on")));
    }
}
