//! Temporary credentials over time, end to end against the emulator: a GitHub-Actions-like
//! OIDC `wait` that outlasts 10-second credentials (refreshed ahead of expiry, no request
//! refused), and the disk cache of role credentials (hit, expiry, key, opt-out).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bpstudio_emulator::RequestRecord;
use common::*;

const ROLE: &str = "acs:ram::1000000000000001:role/short-lived";
const PROVIDER: &str = "acs:ram::1000000000000001:oidc-provider/github";
const OIDC_TOKEN: &str =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwOnJlZjpyZWZzL2hlYWRzL21haW4ifQ.c2ln";

/// Roles whose credentials live 10 seconds (`short-lived`) and 12 seconds (`cache-test`),
/// and an operation that succeeds 24 seconds after it is first asked about.
const SCENARIO: &str = r#"
[[roles]]
role_arn = "acs:ram::1000000000000001:role/short-lived"
duration = "10s"
oidc_provider_arn = "acs:ram::1000000000000001:oidc-provider/github"

[[roles]]
role_arn = "acs:ram::1000000000000001:role/cache-test"
duration = "12s"

[[roles]]
role_arn = "acs:ram::1000000000000001:role/long-lived"
duration = "1h"
oidc_provider_arn = "acs:ram::1000000000000001:oidc-provider/github"

[[operations]]
id = "op_slow"
steps = [ { status = "RUNNING" }, { status = "SUCCESS", after = "24s" } ]

[[operations]]
id = "op_ok"
steps = [ { status = "SUCCESS" } ]
"#;

fn of(t: &TestEnv, action: &str) -> Vec<RequestRecord> {
    t.requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some(action))
        .collect()
}

#[test]
fn github_actions_oidc_wait_outlasts_10_second_credentials() {
    let t = TestEnv::new(SCENARIO);
    let token = t.write("runner/oidc-token", OIDC_TOKEN);
    let summary = t.home.path().join("step-summary.md");
    // As in a GitHub Actions job: no access key anywhere, only the OIDC trio.
    let r = run(t
        .bare()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &token)
        .env("ALIBABA_CLOUD_STS_ENDPOINT", t.emulator.url())
        .args([
            "wait",
            "op_slow",
            "--interval",
            "1s",
            "--max-interval",
            "1s",
            "--timeout",
            "90s",
        ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("SUCCESS"), "{r:?}");
    assert_no_secrets(&r);
    assert!(
        !r.stdout.contains(OIDC_TOKEN) && !r.stderr.contains(OIDC_TOKEN),
        "{r:?}"
    );

    // The emulator's log: every poll accepted, signed with a set of credentials that was
    // renewed before it expired (24 s of polling with 10 s credentials: 3 or 4 sets).
    let polls = of(&t, "GetExecuteOperationResult");
    assert!(polls.len() >= 15, "{} polls", polls.len());
    for p in &polls {
        assert_eq!(p.verdict, "ok", "a poll was refused: {p:?}");
        let token = &p.params["SecurityToken"];
        assert!(!r.stdout.contains(token.as_str()) && !r.stderr.contains(token.as_str()));
    }
    let refreshes = of(&t, "AssumeRoleWithOIDC");
    assert!(
        (3..=6).contains(&refreshes.len()),
        "{} AssumeRoleWithOIDC",
        refreshes.len()
    );
    assert!(refreshes.iter().all(|r| r.verdict == "ok"));
    let mut keys: Vec<&str> = polls
        .iter()
        .filter_map(|p| p.access_key_id.as_deref())
        .collect();
    keys.dedup();
    assert_eq!(
        keys.len(),
        refreshes.len(),
        "each set used in turn: {keys:?}"
    );
    // Each refresh came before the previous set expired: the polls are continuous.
    let mut previous_start = 0;
    for p in &polls {
        assert!(
            p.started_ms - previous_start < 3_000 || previous_start == 0,
            "a gap in the polls"
        );
        previous_start = p.started_ms;
    }
}

fn cache_dir(t: &TestEnv) -> PathBuf {
    t.home.path().join(".cache/bpstudio-op/credentials")
}

fn cache_entries(t: &TestEnv) -> Vec<PathBuf> {
    match std::fs::read_dir(cache_dir(t)) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn ram_role_profile(t: &TestEnv, role: &str, session: Option<&str>) {
    let session = session
        .map(|s| format!("ram_session_name = \"{s}\"\n"))
        .unwrap_or_default();
    t.write_config(&format!(
        "[profiles.default]\nmode = \"RamRoleArn\"\naccess_key_id = \"{AK_ID}\"\naccess_key_secret = \"{AK_SECRET}\"\nram_role_arn = \"acs:ram::1000000000000001:role/{role}\"\n{session}"
    ));
}

fn get(t: &TestEnv, extra_env: &[(&str, &str)]) -> Run {
    let mut cmd = t.bare();
    cmd.env("ALIBABA_CLOUD_STS_ENDPOINT", t.emulator.url());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let r = run(cmd.args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    r
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_get_loop_calls_sts_once_while_the_cached_credentials_are_comfortably_valid() {
    let t = TestEnv::new(SCENARIO);
    ram_role_profile(&t, "long-lived", None);
    for _ in 0..5 {
        get(&t, &[]);
    }
    assert_eq!(of(&t, "AssumeRole").len(), 1);
    let gets = of(&t, "GetExecuteOperationResult");
    assert_eq!(gets.len(), 5);
    assert!(gets
        .iter()
        .all(|g| g.access_key_id == gets[0].access_key_id));
    let entries = cache_entries(&t);
    assert_eq!(entries.len(), 1, "{entries:?}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&entries[0]), 0o600);
        assert_eq!(mode(&cache_dir(&t)), 0o700);
    }

    // The key holds everything that determines the credentials: another session name,
    // another source key or another role is another entry.
    ram_role_profile(&t, "long-lived", Some("nightly"));
    get(&t, &[]);
    get(&t, &[]);
    assert_eq!(of(&t, "AssumeRole").len(), 2);
    t.write_config(
        "[profiles.default]\nmode = \"RamRoleArn\"\naccess_key_id = \"LTAI5tSecondKey\"\naccess_key_secret = \"SecondSecret0123456789\"\nram_role_arn = \"acs:ram::1000000000000001:role/long-lived\"\n"
    );
    get(&t, &[]);
    assert_eq!(of(&t, "AssumeRole").len(), 3);
    assert_eq!(cache_entries(&t).len(), 3);
}

#[test]
fn cached_credentials_near_expiry_are_not_used() {
    let t = TestEnv::new(SCENARIO);
    // 12-second credentials: refreshed with 4 s left, taken from the cache only with 8 s left.
    ram_role_profile(&t, "cache-test", None);
    get(&t, &[]);
    get(&t, &[]);
    assert_eq!(of(&t, "AssumeRole").len(), 1);
    std::thread::sleep(Duration::from_secs(5));
    get(&t, &[]);
    assert_eq!(of(&t, "AssumeRole").len(), 2);
    assert!(of(&t, "GetExecuteOperationResult")
        .iter()
        .all(|g| g.verdict == "ok"));
}

#[test]
fn the_cache_can_be_turned_off() {
    let t = TestEnv::new(SCENARIO);
    ram_role_profile(&t, "long-lived", None);
    for _ in 0..3 {
        get(&t, &[("BPSTUDIO_OP_CREDENTIALS_CACHE", "off")]);
    }
    assert_eq!(of(&t, "AssumeRole").len(), 3);
    assert!(cache_entries(&t).is_empty());
}

#[test]
fn oidc_credentials_are_cached_per_token() {
    let t = TestEnv::new(SCENARIO);
    let token = t.write("runner/oidc-token", OIDC_TOKEN);
    let env = |t: &TestEnv| {
        [
            (
                "ALIBABA_CLOUD_ROLE_ARN",
                "acs:ram::1000000000000001:role/long-lived".to_string(),
            ),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER.to_string()),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token.display().to_string()),
            ("ALIBABA_CLOUD_STS_ENDPOINT", t.emulator.url()),
        ]
    };
    let go = |t: &TestEnv| {
        let vars = env(t);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        get(t, &pairs)
    };
    go(&t);
    go(&t);
    assert_eq!(of(&t, "AssumeRoleWithOIDC").len(), 1);
    // A new token (the next job) is a new entry.
    t.write("runner/oidc-token", &format!("{OIDC_TOKEN}x"));
    go(&t);
    assert_eq!(of(&t, "AssumeRoleWithOIDC").len(), 2);
}
