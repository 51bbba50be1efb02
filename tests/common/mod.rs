//! Test harness: the real `bpstudio-op` binary against an in-process emulator, in a scrubbed
//! environment (no `ALIBABA_CLOUD_*` or `BPSTUDIO_OP_*` variables; `HOME` and the config file
//! in a temp dir), as xh's `tests/cli.rs` and fd's `tests/testenv` do.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use bpstudio_emulator::{EmulatorHandle, RequestRecord, Scenario};
use tempfile::TempDir;

pub const AK_ID: &str = "LTAI5tTestAccessKeyId";
pub const AK_SECRET: &str = "TestAccessKeySecret0123456789";
pub const STS_ID: &str = "STS.NTestStsAccessKeyId";
pub const STS_SECRET: &str = "TestStsSecret+/=abc0123";
pub const STS_TOKEN: &str = "CAISTestSecurityToken+with/slash=and+plus==";

/// A home directory, a config path inside it, and a running emulator.
pub struct TestEnv {
    pub home: TempDir,
    pub emulator: EmulatorHandle,
}

/// Credentials the emulator knows, plus the scenario body given.
pub fn scenario(extra: &str) -> Scenario {
    let text = format!(
        r#"
[[credentials]]
access_key_id = "{AK_ID}"
access_key_secret = "{AK_SECRET}"

[[credentials]]
access_key_id = "{STS_ID}"
access_key_secret = "{STS_SECRET}"
security_token = "{STS_TOKEN}"

[[credentials]]
access_key_id = "LTAI5tSecondKey"
access_key_secret = "SecondSecret0123456789"

[[credentials]]
access_key_id = "LTAI5tThirdKey"
access_key_secret = "ThirdSecret0123456789"

[[credentials]]
access_key_id = "LTAI5tFourthKey"
access_key_secret = "FourthSecret0123456789"

{extra}
"#
    );
    Scenario::from_toml(&text).unwrap_or_else(|e| panic!("bad test scenario: {e}\n{text}"))
}

impl TestEnv {
    pub fn new(extra_scenario: &str) -> TestEnv {
        let emulator = bpstudio_emulator::start(scenario(extra_scenario)).expect("start emulator");
        let home = tempfile::tempdir().expect("temp home");
        TestEnv { home, emulator }
    }

    /// `bpstudio-op` with a scrubbed environment pointed at the emulator, and no credentials.
    pub fn bare(&self) -> Command {
        let mut cmd = Command::cargo_bin("bpstudio-op").expect("binary");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("XDG_CACHE_HOME", self.home.path().join(".cache"))
            .env("BPSTUDIO_OP_CONFIG", self.config_path())
            .env("BPSTUDIO_OP_ENDPOINT", self.emulator.url())
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
            .timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// [`bare`](Self::bare) with the test access key in the environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare();
        cmd.env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET);
        cmd
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.path().join(".config/bpstudio-op/config.toml")
    }

    /// Writes a file under the home directory (parents created), mode 0600.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.home.path().join(relative);
        write_private(&path, text);
        path
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self.config_path();
        write_private(&path, text);
        path
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.emulator.requests()
    }

    /// The access key ids the emulator saw, in order.
    pub fn key_ids_seen(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter_map(|r| r.access_key_id)
            .collect()
    }
}

pub fn write_private(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The stdout, stderr and exit code of a finished command.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run bpstudio-op");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Asserts that none of the secrets appears in the output.
pub fn assert_no_secrets(r: &Run) {
    for secret in [AK_SECRET, STS_SECRET, STS_TOKEN, "CAISTestSecurityToken"] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "secret {secret:?} leaked: {r:?}"
        );
    }
}
