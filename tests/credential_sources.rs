//! Where `get` finds its credentials (SPEC §5, sources 1, 3, 4 and 5, and `--profile`), seen
//! from the emulator: each source signs with its own access key id, so the request log says
//! which source won.

mod common;

use common::*;

const OPS: &str = r#"
[[operations]]
id = "op_ok"
steps = [ { status = "SUCCESS" } ]
"#;

const OUR_ID: &str = "LTAI5tSecondKey";
const OUR_SECRET: &str = "SecondSecret0123456789";
const ALIYUN_ID: &str = "LTAI5tThirdKey";
const ALIYUN_SECRET: &str = "ThirdSecret0123456789";
const INI_ID: &str = "LTAI5tFourthKey";
const INI_SECRET: &str = "FourthSecret0123456789";

fn our_config() -> String {
    format!(
        r#"
[profiles.default]
mode = "AK"
access_key_id = "{OUR_ID}"
access_key_secret = "{OUR_SECRET}"

[profiles.sts]
mode = "StsToken"
access_key_id = "{STS_ID}"
access_key_secret = "{STS_SECRET}"
security_token = "{STS_TOKEN}"
"#
    )
}

fn aliyun_config() -> String {
    format!(
        r#"{{
  "current": "work",
  "profiles": [
    {{"name": "default", "mode": "AK", "access_key_id": "LTAI5tNobodyKnowsMe", "access_key_secret": "x0000000", "region_id": "cn-hangzhou"}},
    {{"name": "work", "mode": "AK", "access_key_id": "{ALIYUN_ID}", "access_key_secret": "{ALIYUN_SECRET}", "region_id": "cn-hangzhou", "output_format": "json", "language": "en"}},
    {{"name": "temp", "mode": "StsToken", "access_key_id": "{STS_ID}", "access_key_secret": "{STS_SECRET}", "sts_token": "{STS_TOKEN}", "region_id": "cn-hangzhou"}}
  ],
  "meta_path": ""
}}"#
    )
}

fn ini() -> String {
    format!(
        "[default]\ntype = access_key\naccess_key_id = {INI_ID}\naccess_key_secret = {INI_SECRET}\n"
    )
}

fn get_ok(t: &TestEnv, cmd: &mut assert_cmd::Command) -> String {
    let r = run(cmd.args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    t.key_ids_seen()
        .pop()
        .expect("a request reached the emulator")
}

#[test]
fn environment_variables_come_first() {
    let t = TestEnv::new(OPS);
    t.write_config(&our_config());
    t.write(".aliyun/config.json", &aliyun_config());
    t.write(".alibabacloud/credentials.ini", &ini());
    assert_eq!(get_ok(&t, &mut t.cmd()), AK_ID);
}

#[test]
fn then_our_default_profile() {
    let t = TestEnv::new(OPS);
    t.write_config(&our_config());
    t.write(".aliyun/config.json", &aliyun_config());
    t.write(".alibabacloud/credentials.ini", &ini());
    assert_eq!(get_ok(&t, &mut t.bare()), OUR_ID);
}

#[test]
fn then_the_aliyun_cli_current_profile() {
    let t = TestEnv::new(OPS);
    t.write(".aliyun/config.json", &aliyun_config());
    t.write(".alibabacloud/credentials.ini", &ini());
    assert_eq!(get_ok(&t, &mut t.bare()), ALIYUN_ID);
}

#[test]
fn then_the_credentials_file() {
    let t = TestEnv::new(OPS);
    t.write(".alibabacloud/credentials.ini", &ini());
    assert_eq!(get_ok(&t, &mut t.bare()), INI_ID);
}

#[test]
fn the_credentials_file_can_be_named() {
    let t = TestEnv::new(OPS);
    let path = t.write("elsewhere/creds", &ini());
    let mut cmd = t.bare();
    cmd.env("ALIBABA_CLOUD_CREDENTIALS_FILE", &path);
    assert_eq!(get_ok(&t, &mut cmd), INI_ID);
}

#[test]
fn an_explicit_profile_from_our_file_or_the_aliyun_cli() {
    let t = TestEnv::new(OPS);
    t.write_config(&our_config());
    t.write(".aliyun/config.json", &aliyun_config());
    // Ours, StsToken mode.
    let mut cmd = t.cmd();
    cmd.args(["--profile", "sts"]);
    assert_eq!(
        get_ok(&t, &mut cmd),
        STS_ID,
        "--profile beats the environment"
    );
    // The aliyun CLI's, StsToken mode, named by the environment variable.
    let mut cmd = t.bare();
    cmd.env("ALIBABA_CLOUD_PROFILE", "temp");
    assert_eq!(get_ok(&t, &mut cmd), STS_ID);
    let mut cmd = t.bare();
    cmd.args(["--profile", "work"]);
    assert_eq!(get_ok(&t, &mut cmd), ALIYUN_ID);
}

#[test]
fn a_missing_explicit_profile_is_2_and_lists_what_exists() {
    let t = TestEnv::new(OPS);
    t.write_config(&our_config());
    t.write(".aliyun/config.json", &aliyun_config());
    let r = run(t.cmd().args(["--profile", "nope", "get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("nope"), "{r:?}");
    assert!(
        r.stderr.contains("config.toml") && r.stderr.contains("config.json"),
        "{r:?}"
    );
    assert_eq!(t.requests().len(), 0);
}

#[test]
fn a_malformed_config_is_2_naming_file_and_line() {
    let t = TestEnv::new(OPS);
    t.write_config("[profiles.default]\nmode = \"AK\"\naccess_key_id = \n");
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("config.toml"), "{r:?}");
    assert!(r.stderr.contains("line 3"), "{r:?}");
}

#[test]
fn a_malformed_aliyun_config_is_2_naming_the_file() {
    let t = TestEnv::new(OPS);
    t.write(".aliyun/config.json", "{ not json");
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(".aliyun/config.json"), "{r:?}");
}

#[test]
fn a_config_readable_by_others_draws_a_warning() {
    let t = TestEnv::new(OPS);
    let path = t.write_config(&our_config());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = run(t.bare().args(["get", "op_ok"]));
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stderr.contains("warning:") && r.stderr.contains("chmod 600"),
            "{r:?}"
        );
        let r = run(t.bare().args(["get", "op_ok", "-q"]));
        assert_eq!(r.stderr, "", "--quiet silences warnings: {r:?}");
    }
}

#[test]
fn settings_come_from_the_profile_unless_a_flag_or_variable_says_otherwise() {
    let t = TestEnv::new(OPS);
    t.write_config(&our_config().replace(
        "[profiles.sts]",
        "output = \"json\"\nsignature_version = \"v3\"\n\n[profiles.sts]",
    ));
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.trim_start().starts_with('{'),
        "profile output = json: {r:?}"
    );
    assert_eq!(
        t.requests().pop().unwrap().signature_version.as_deref(),
        Some("v3")
    );
    let r = run(t
        .bare()
        .env("BPSTUDIO_OP_OUTPUT", "table")
        .args(["get", "op_ok"]));
    assert!(
        r.stdout.starts_with("Operation"),
        "variable beats profile: {r:?}"
    );
    let r = run(t.bare().env("BPSTUDIO_OP_OUTPUT", "table").args([
        "get",
        "op_ok",
        "-o",
        "json",
        "--signature-version",
        "v1",
    ]));
    assert!(
        r.stdout.trim_start().starts_with('{'),
        "flag beats variable: {r:?}"
    );
    assert_eq!(
        t.requests().pop().unwrap().signature_version.as_deref(),
        Some("v1")
    );
}
