//! Temporary credentials end to end: the real binary against the emulator's STS, instance
//! metadata and credentials-URI doors. Each profile mode from our config and from the aliyun
//! CLI's, each environment source and the chain order, each failure with its message and exit
//! code, and no secret or token in any output.

mod common;

use std::path::PathBuf;

use bpstudio_emulator::RequestRecord;
use common::*;

const ROLE: &str = "acs:ram::1000000000000001:role/bpstudio-op-test";
const PROVIDER: &str = "acs:ram::1000000000000001:oidc-provider/github";
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2lnbmF0dXJlT0lEQw";
const ECS_ROLE: &str = "EcsTestRole";

const DOORS: &str = r#"
[[roles]]
role_arn = "acs:ram::1000000000000001:role/bpstudio-op-test"
duration = "1h"
oidc_provider_arn = "acs:ram::1000000000000001:oidc-provider/github"
oidc_token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2lnbmF0dXJlT0lEQw"

[[roles]]
role_arn = "acs:ram::1000000000000001:role/second-hop"
duration = "1h"

[imds]
role_name = "EcsTestRole"
require_token = true

[credentials_uri]
path = "/credentials"

[[operations]]
id = "op_ok"
steps = [ { status = "SUCCESS" } ]
"#;

fn doors() -> TestEnv {
    TestEnv::new(DOORS)
}

/// `bare()` with the STS address at the emulator and the disk cache off (cache tests are in
/// `credentials_refresh.rs`).
fn sts_cmd(t: &TestEnv) -> assert_cmd::Command {
    let mut cmd = t.bare();
    cmd.env("ALIBABA_CLOUD_STS_ENDPOINT", t.emulator.url())
        .env("BPSTUDIO_OP_CREDENTIALS_CACHE", "off");
    cmd
}

fn token_file(t: &TestEnv, token: &str) -> PathBuf {
    t.write("oidc/token", token)
}

fn actions(t: &TestEnv) -> Vec<String> {
    t.requests().into_iter().filter_map(|r| r.action).collect()
}

fn api_calls(t: &TestEnv) -> Vec<RequestRecord> {
    t.requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some("GetExecuteOperationResult"))
        .collect()
}

/// `get op_ok` succeeded, signed with credentials the emulator issued, and no secret, token or
/// OIDC token shows in its output.
fn assert_signed_with_issued(t: &TestEnv, r: &Run) {
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("SUCCESS"), "{r:?}");
    let calls = api_calls(t);
    assert!(!calls.is_empty(), "{:?}", actions(t));
    for call in &calls {
        assert_eq!(call.verdict, "ok", "{call:?}");
        let id = call.access_key_id.as_deref().unwrap_or("");
        assert!(id.starts_with("STS.NEmu"), "signed with {id}");
        let token = call.params.get("SecurityToken").expect("an STS token");
        assert!(
            !r.stdout.contains(token.as_str()) && !r.stderr.contains(token.as_str()),
            "issued token leaked: {r:?}"
        );
    }
    assert_no_secrets(r);
    assert!(
        !r.stdout.contains(OIDC_TOKEN) && !r.stderr.contains(OIDC_TOKEN),
        "{r:?}"
    );
}

fn first(t: &TestEnv, action: &str) -> RequestRecord {
    t.requests()
        .into_iter()
        .find(|r| r.action.as_deref() == Some(action))
        .unwrap_or_else(|| panic!("no {action} among {:?}", actions(t)))
}

fn aliyun(t: &TestEnv, current: &str, profiles: &str) {
    t.write(
        ".aliyun/config.json",
        &format!(r#"{{"current": "{current}", "profiles": [{profiles}], "meta_path": ""}}"#),
    );
}

// --- Each mode from our config file. ---

#[test]
fn ram_role_arn_profile_assumes_the_role_with_its_access_key() {
    let t = doors();
    t.write_config(&format!(
        "[profiles.default]\nmode = \"RamRoleArn\"\naccess_key_id = \"{AK_ID}\"\naccess_key_secret = \"{AK_SECRET}\"\nram_role_arn = \"{ROLE}\"\nexternal_id = \"ext-1\"\n"
    ));
    let r = run(sts_cmd(&t).args(["get", "op_ok", "-v"]));
    assert_signed_with_issued(&t, &r);
    let assume = first(&t, "AssumeRole");
    assert_eq!(assume.verdict, "ok");
    assert_eq!(assume.access_key_id.as_deref(), Some(AK_ID));
    assert_eq!(assume.signature_version.as_deref(), Some("v1"));
    assert_eq!(assume.params["RoleArn"], ROLE);
    assert_eq!(assume.params["DurationSeconds"], "3600");
    assert_eq!(assume.params["ExternalId"], "ext-1");
    assert!(
        assume.params["RoleSessionName"].starts_with("bpstudio-op-"),
        "{assume:?}"
    );
}

#[test]
fn oidc_profile_reads_the_token_file() {
    let t = doors();
    let file = token_file(&t, &format!("{OIDC_TOKEN}\n"));
    t.write_config(&format!(
        "[profiles.ci]\nmode = \"OIDC\"\nram_role_arn = \"{ROLE}\"\noidc_provider_arn = \"{PROVIDER}\"\noidc_token_file = \"{}\"\nram_session_name = \"ci-run-7\"\nexpired_seconds = 900\n",
        file.display()
    ));
    let r = run(sts_cmd(&t).args(["--profile", "ci", "get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    let assume = first(&t, "AssumeRoleWithOIDC");
    assert_eq!(assume.signature_version, None, "anonymous");
    assert_eq!(assume.params["OIDCToken"], OIDC_TOKEN);
    assert_eq!(assume.params["OIDCProviderArn"], PROVIDER);
    assert_eq!(assume.params["RoleSessionName"], "ci-run-7");
    assert_eq!(assume.params["DurationSeconds"], "900");
}

#[test]
fn ecs_ram_role_profile_uses_imdsv2_and_discovers_the_role() {
    let t = doors();
    t.write_config("[profiles.default]\nmode = \"EcsRamRole\"\n");
    let r = run(t
        .bare()
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
        .args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    let seen = actions(&t);
    assert_eq!(
        &seen[..4],
        [
            "MetadataToken",
            "MetadataRoleName",
            "MetadataCredentials",
            "GetExecuteOperationResult"
        ],
        "{seen:?}"
    );
    assert!(t.requests().iter().all(|r| r.verdict == "ok"));
}

#[test]
fn credentials_uri_profile() {
    let t = doors();
    t.write_config(&format!(
        "[profiles.default]\nmode = \"CredentialsURI\"\ncredentials_uri = \"{}\"\n",
        uri_of(&t)
    ));
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert_eq!(first(&t, "CredentialsURI").verdict, "ok");
}

#[test]
fn chainable_ram_role_arn_assumes_from_another_profile() {
    let t = doors();
    t.write_config(&format!(
        "[profiles.base]\nmode = \"RamRoleArn\"\naccess_key_id = \"{AK_ID}\"\naccess_key_secret = \"{AK_SECRET}\"\nram_role_arn = \"{ROLE}\"\n\
         [profiles.default]\nmode = \"ChainableRamRoleArn\"\nsource_profile = \"base\"\nram_role_arn = \"acs:ram::1000000000000001:role/second-hop\"\n"
    ));
    let r = run(sts_cmd(&t).args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    let hops: Vec<RequestRecord> = t
        .requests()
        .into_iter()
        .filter(|r| r.action.as_deref() == Some("AssumeRole"))
        .collect();
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0].access_key_id.as_deref(), Some(AK_ID));
    assert_eq!(hops[0].params["RoleArn"], ROLE);
    // The second hop is signed with the first role's temporary key and token.
    assert!(hops[1]
        .access_key_id
        .as_deref()
        .unwrap()
        .starts_with("STS.NEmu"));
    assert!(hops[1].params.contains_key("SecurityToken"));
    assert_eq!(
        hops[1].params["RoleArn"],
        "acs:ram::1000000000000001:role/second-hop"
    );
}

// --- The same modes from the aliyun CLI's ~/.aliyun/config.json, as the CLI writes them. ---

#[test]
fn aliyun_cli_profiles_of_every_role_mode_work_as_they_are() {
    let t = doors();
    let file = token_file(&t, OIDC_TOKEN);
    let uri = uri_of(&t);
    aliyun(
        &t,
        "ram",
        &format!(
            r#"{{"name": "ram", "mode": "RamRoleArn", "access_key_id": "{AK_ID}", "access_key_secret": "{AK_SECRET}", "sts_token": "", "ram_role_arn": "{ROLE}", "ram_session_name": "cli-session", "expired_seconds": 900, "region_id": "cn-hangzhou", "output_format": "json", "language": "en"}},
               {{"name": "oidc", "mode": "OIDC", "ram_role_arn": "{ROLE}", "ram_session_name": "cli-oidc", "oidc_provider_arn": "{PROVIDER}", "oidc_token_file": "{}", "region_id": "cn-hangzhou"}},
               {{"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "{ECS_ROLE}", "region_id": "cn-hangzhou"}},
               {{"name": "uri", "mode": "CredentialsURI", "credentials_uri": "{uri}", "region_id": "cn-hangzhou"}},
               {{"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "ram", "ram_role_arn": "acs:ram::1000000000000001:role/second-hop", "ram_session_name": "hop"}}"#,
            file.display()
        ),
    );
    // The current profile, with no --profile.
    let r = run(sts_cmd(&t).args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    let assume = first(&t, "AssumeRole");
    assert_eq!(assume.params["RoleSessionName"], "cli-session");
    assert_eq!(assume.params["DurationSeconds"], "900");

    // Each other profile by name, against the same emulator.
    let before = t.requests().len();
    for (profile, door) in [
        ("oidc", "AssumeRoleWithOIDC"),
        ("ecs", "MetadataCredentials"),
        ("uri", "CredentialsURI"),
        ("chain", "AssumeRole"),
    ] {
        let r = run(sts_cmd(&t)
            .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
            .args(["--profile", profile, "get", "op_ok"]));
        assert_eq!(r.code, 0, "{profile}: {r:?}");
        assert_no_secrets(&r);
        let new: Vec<RequestRecord> = t.requests().into_iter().skip(before).collect();
        assert!(
            new.iter()
                .any(|q| q.action.as_deref() == Some(door) && q.verdict == "ok"),
            "{profile}: no {door}"
        );
    }
    let chained = t
        .requests()
        .into_iter()
        .filter(|r| r.params.get("RoleSessionName").map(String::as_str) == Some("hop"))
        .count();
    assert_eq!(chained, 1);
}

// --- Environment sources and the chain order. ---

#[test]
fn oidc_environment_is_source_2_before_our_config() {
    let t = doors();
    let file = token_file(&t, OIDC_TOKEN);
    t.write_config(&format!(
        "[profiles.default]\naccess_key_id = \"{AK_ID}\"\naccess_key_secret = \"{AK_SECRET}\"\n"
    ));
    let r = run(sts_cmd(&t)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &file)
        .env("ALIBABA_CLOUD_ROLE_SESSION_NAME", "gha-42")
        .args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert_eq!(
        first(&t, "AssumeRoleWithOIDC").params["RoleSessionName"],
        "gha-42"
    );
    // Source 1 still comes first.
    let r = run(sts_cmd(&t)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", AK_SECRET)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &file)
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.key_ids_seen().last().map(String::as_str), Some(AK_ID));
}

#[test]
fn ecs_metadata_is_source_6_after_the_files_and_before_the_uri() {
    let t = doors();
    let uri = uri_of(&t);
    let imds = |cmd: &mut assert_cmd::Command| {
        cmd.env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
            .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
            .env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri);
    };
    // Nothing before it: the instance role, and the URI is never asked.
    let mut cmd = t.bare();
    imds(&mut cmd);
    let r = run(cmd.args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert!(actions(&t).contains(&"MetadataCredentials".to_string()));
    assert!(!actions(&t).contains(&"CredentialsURI".to_string()));

    // A key in the shared credentials file (source 5) comes first: no metadata request.
    let t = doors();
    t.write(
        ".alibabacloud/credentials.ini",
        &format!("[default]\ntype = access_key\naccess_key_id = {AK_ID}\naccess_key_secret = {AK_SECRET}\n"),
    );
    let mut cmd = t.bare();
    cmd.env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url());
    let r = run(cmd.args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(actions(&t), ["GetExecuteOperationResult"]);

    // ALIBABA_CLOUD_ECS_METADATA names the role: no discovery request.
    let t = doors();
    let mut cmd = t.bare();
    cmd.env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
        .env("ALIBABA_CLOUD_ECS_METADATA", ECS_ROLE);
    let r = run(cmd.args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert!(!actions(&t).contains(&"MetadataRoleName".to_string()));
}

#[test]
fn credentials_uri_is_source_7_when_metadata_is_off_or_down() {
    let t = doors();
    let uri = uri_of(&t);
    // The harness turns the metadata service off.
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", &uri)
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
        .args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert!(!actions(&t).iter().any(|a| a.starts_with("Metadata")));

    // Metadata on but unreachable: the chain moves on within about a second.
    let t = doors();
    let closed = closed_port();
    let started = std::time::Instant::now();
    let r = run(t
        .bare()
        .env_remove("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
        .env(
            "BPSTUDIO_OP_IMDS_ENDPOINT",
            format!("http://127.0.0.1:{closed}"),
        )
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", uri_of(&t))
        .args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    // About a second for the unreachable metadata service; generous for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
}

/// The emulator's credentials URI.
fn uri_of(t: &TestEnv) -> String {
    format!("{}/credentials", t.emulator.url().trim_end_matches('/'))
}

/// A port with nothing listening.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// --- Failures: which source, the STS code and request id, what to check; exit 4 or 2. ---

#[test]
fn wrong_role_is_refused_with_code_request_id_and_what_to_check() {
    let t = doors();
    t.write_config(&format!(
        "[profiles.default]\nmode = \"RamRoleArn\"\naccess_key_id = \"{AK_ID}\"\naccess_key_secret = \"{AK_SECRET}\"\nram_role_arn = \"acs:ram::1000000000000001:role/nope\"\n"
    ));
    let r = run(sts_cmd(&t).args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("STS refused AssumeRole of role acs:ram::1000000000000001:role/nope (profile 'default' in "),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("code:       EntityNotExist.Role (HTTP 404)"),
        "{r:?}"
    );
    assert!(r.stderr.contains("request id: "), "{r:?}");
    assert!(r.stderr.contains("hint:       check the role ARN"), "{r:?}");
    assert!(r.stdout.is_empty());
    assert_no_secrets(&r);
    assert!(
        api_calls(&t).is_empty(),
        "no BPStudio call without credentials"
    );

    // `wait` on several ids: one refusal from STS, reported for each id, exit 4.
    let before = t.requests().len();
    let r = run(sts_cmd(&t).args(["wait", "op_ok", "op_ok2", "op_ok3", "--timeout", "10s"]));
    assert_eq!(r.code, 4, "{r:?}");
    let asked: Vec<String> = t.requests()[before..]
        .iter()
        .filter_map(|r| r.action.clone())
        .collect();
    assert_eq!(asked, ["AssumeRole"], "STS asked once");
    assert_no_secrets(&r);
}

#[test]
fn bad_oidc_token_is_refused_naming_the_token_file() {
    let t = doors();
    let file = token_file(&t, "eyJ.not-the-right-token.sig");
    let r = run(sts_cmd(&t)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &file)
        .env("GITHUB_ACTIONS", "true")
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("AuthenticationFail.OIDCToken.Invalid"),
        "{r:?}"
    );
    assert!(r.stderr.contains(&file.display().to_string()), "{r:?}");
    assert!(
        r.stderr.contains("::error title=bpstudio-op::STS refused"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("not-the-right-token"), "{r:?}");

    // A provider the role does not trust.
    let r = run(sts_cmd(&t)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env(
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1000000000000001:oidc-provider/other",
        )
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &file)
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("EntityNotExist.OIDCProvider"), "{r:?}");

    // No token file: a misconfiguration.
    let r = run(sts_cmd(&t)
        .env("ALIBABA_CLOUD_ROLE_ARN", ROLE)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            t.home.path().join("missing"),
        )
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cannot read the OIDC token file"),
        "{r:?}"
    );
}

#[test]
fn metadata_down_for_an_ecs_profile_is_a_misconfiguration() {
    let t = doors();
    t.write_config("[profiles.default]\nmode = \"EcsRamRole\"\n");
    let started = std::time::Instant::now();
    let r = run(t
        .bare()
        .env(
            "BPSTUDIO_OP_IMDS_ENDPOINT",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args(["get", "op_ok"]));
    // About a second for the unreachable metadata service; generous for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("the ECS metadata service at http://127.0.0.1:"),
        "{r:?}"
    );
    assert!(r.stderr.contains("is this an ECS instance?"), "{r:?}");

    // A role the instance does not have.
    let r = run(t
        .bare()
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
        .env("ALIBABA_CLOUD_ECS_METADATA", "OtherRole")
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no RAM role named 'OtherRole'"), "{r:?}");
}

#[test]
fn uri_returning_garbage_is_a_misconfiguration_that_quotes_nothing() {
    let t = doors();
    let garbage = one_answer_server("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"AccessKeyId\": \"STS.half\", \"AccessKeySecret\": \"LEAKEDSECRET\"}");
    let r = run(t
        .bare()
        .env(
            "ALIBABA_CLOUD_CREDENTIALS_URI",
            format!("http://{garbage}/creds"),
        )
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("answered JSON without the expected fields instead of credentials"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("LEAKEDSECRET"), "{r:?}");
    let html = one_answer_server(
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\n\r\n<html>proxy</html>",
    );
    let r = run(t
        .bare()
        .env(
            "ALIBABA_CLOUD_CREDENTIALS_URI",
            format!("http://{html}/creds"),
        )
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("HTTP 502 with an HTML page"), "{r:?}");
    // Plain http to anything but loopback is refused before any request.
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_CREDENTIALS_URI", "http://192.0.2.1/creds")
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("refusing the plain http:// credentials URI"),
        "{r:?}"
    );
}

/// A server on a free loopback port that answers each connection with `response`, then closes.
fn one_answer_server(response: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(response.as_bytes());
        }
    });
    addr
}

#[test]
fn shared_credentials_file_role_types() {
    let t = doors();
    t.write(
        ".alibabacloud/credentials.ini",
        &format!(
            "[default]\ntype = ram_role_arn\naccess_key_id = {AK_ID}\naccess_key_secret = {AK_SECRET}\nrole_arn = {ROLE}\nrole_session_name = ini-session\n"
        ),
    );
    let r = run(sts_cmd(&t).args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
    assert_eq!(
        first(&t, "AssumeRole").params["RoleSessionName"],
        "ini-session"
    );

    let t = doors();
    let file = token_file(&t, OIDC_TOKEN);
    t.write(
        ".alibabacloud/credentials.ini",
        &format!(
            "[default]\ntype = oidc_role_arn\nrole_arn = {ROLE}\noidc_provider_arn = {PROVIDER}\noidc_token_file_path = {}\n",
            file.display()
        ),
    );
    let r = run(sts_cmd(&t).args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);

    let t = doors();
    t.write(
        ".alibabacloud/credentials.ini",
        &format!("[default]\ntype = ecs_ram_role\nrole_name = {ECS_ROLE}\n"),
    );
    let r = run(t
        .bare()
        .env("BPSTUDIO_OP_IMDS_ENDPOINT", t.emulator.url())
        .args(["get", "op_ok"]));
    assert_signed_with_issued(&t, &r);
}
