//! `bpstudio-op configure` driven as a script would (SPEC §2): flags plus the secret on stdin,
//! then `get` signing with what was written, seen from the emulator.

mod common;

use common::*;

const OPS: &str = r#"
[[operations]]
id = "op_ok"
steps = [ { status = "SUCCESS" } ]
"#;

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn scripted_configure_then_get_uses_the_new_profile() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .bare()
        .args(["configure", "--access-key-id", AK_ID, "--secret-stdin"])
        .write_stdin(format!("{AK_SECRET}\n")));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    assert_eq!(r.stdout, "", "configure prints nothing on stdout");
    let path = t.config_path();
    assert_eq!(
        r.stderr,
        format!("Saved profile 'default' (AK) to {}\n", path.display())
    );
    #[cfg(unix)]
    {
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(path.parent().unwrap()), 0o700);
    }

    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.key_ids_seen(), vec![AK_ID.to_string()]);
}

#[test]
fn sts_profile_with_global_options_after_the_subcommand() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .bare()
        .args([
            "configure",
            "--profile",
            "ci",
            "--mode",
            "StsToken",
            "--access-key-id",
            STS_ID,
            "--secret-stdin",
            "-o",
            "json",
        ])
        .write_stdin(format!("{STS_SECRET}\n{STS_TOKEN}\n")));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    let text = std::fs::read_to_string(t.config_path()).unwrap();
    assert!(text.contains("[profiles.ci]"), "{text}");
    assert!(text.contains("output = \"json\""), "{text}");

    // The first profile of a new file is its default one: no --profile needed.
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.key_ids_seen(), vec![STS_ID.to_string()]);
    assert!(
        r.stdout.trim_start().starts_with('{'),
        "json output from the profile: {r:?}"
    );
}

#[test]
fn updating_one_profile_keeps_the_others() {
    let t = TestEnv::new(OPS);
    t.write_config(&format!(
        "# mine\n[profiles.default]\naccess_key_id = \"{STS_ID}\"\naccess_key_secret = \"{STS_SECRET}\"\n\n\
         [profiles.other]\nregion_id = \"ap-southeast-1\"\n"
    ));
    let r = run(t
        .bare()
        .args(["configure", "--access-key-id", AK_ID, "--secret-stdin"])
        .write_stdin(format!("{AK_SECRET}\n")));
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(t.config_path()).unwrap();
    assert!(text.starts_with("# mine\n"), "{text}");
    assert!(
        text.contains("[profiles.other]\nregion_id = \"ap-southeast-1\"\n"),
        "{text}"
    );
    assert!(!text.contains(STS_SECRET), "{text}");
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.key_ids_seen(), vec![AK_ID.to_string()]);
}

#[test]
fn an_empty_secret_is_refused_with_exit_2_and_nothing_written() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .bare()
        .args(["configure", "--access-key-id", AK_ID, "--secret-stdin"])
        .write_stdin("\n"));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("empty access key secret"), "{r:?}");
    assert!(!t.config_path().exists());
}

#[test]
fn settings_from_the_environment_are_not_written_into_the_profile() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_REGION_ID", "ap-southeast-1")
        .env("BPSTUDIO_OP_OUTPUT", "json")
        .args(["configure", "--access-key-id", AK_ID, "--secret-stdin"])
        .args(["--signature-version", "v3"])
        .write_stdin(format!("{AK_SECRET}\n")));
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(t.config_path()).unwrap();
    assert!(text.contains("signature_version = \"v3\""), "typed: {text}");
    assert!(
        !text.contains("region_id"),
        "from the environment only: {text}"
    );
    assert!(
        !text.contains("output"),
        "from the environment only: {text}"
    );
}
