//! The credential side doors: STS `AssumeRole` / `AssumeRoleWithOIDC` at `/`, the ECS
//! metadata service under `/latest/`, and the credentials URI; and that what they hand out
//! signs BPStudio calls until it expires.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bpstudio_emulator::{start, Scenario};
use common::{send, V1, V3};

const ID: &str = "LTAIsourceKey0001";
const SECRET: &str = "sourceSecret0001";
const ROLE: &str = "acs:ram::1234567890123456:role/bpstudio-op";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ci";

fn scenario(extra: &str) -> Scenario {
    Scenario::from_toml(&format!(
        r#"
[[roles]]
role_arn = "{ROLE}"
oidc_provider_arn = "{PROVIDER}"
oidc_token = "eyJ.header.payload"

[[roles]]
role_arn = "acs:ram::1234567890123456:role/short"
duration = "1s"

[[operations]]
id = "op_done"
status = "SUCCESS"
{extra}
"#
    ))
    .unwrap()
    .with_access_key(ID, SECRET)
}

fn credentials(json: &serde_json::Value) -> (String, String, String, String) {
    let c = if json["Credentials"].is_object() {
        &json["Credentials"]
    } else {
        json
    };
    let field = |k: &str| {
        c[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {c}"))
            .to_string()
    };
    (
        field("AccessKeyId"),
        field("AccessKeySecret"),
        field("SecurityToken"),
        field("Expiration"),
    )
}

fn assume_role(
    addr: std::net::SocketAddr,
    role: &str,
    duration: Option<&str>,
) -> common::HttpResponse {
    let mut request = V1::new(ID, SECRET, "AssumeRole")
        .set("Version", "2015-04-01")
        .api("RoleArn", role)
        .api("RoleSessionName", "bpstudio-op");
    if let Some(d) = duration {
        request = request.api("DurationSeconds", d);
    }
    request.send(addr)
}

#[test]
fn assume_role_issues_credentials_that_sign_bpstudio_calls() {
    let emulator = start(scenario("")).unwrap();
    let addr = emulator.addr();
    let response = assume_role(addr, ROLE, Some("900"));
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let json = response.json();
    assert!(json["RequestId"].is_string());
    assert_eq!(
        json["AssumedRoleUser"]["Arn"],
        format!("{ROLE}/bpstudio-op")
    );
    let (id, secret, token, expiration) = credentials(&json);
    assert!(id.starts_with("STS."));
    let expires = humantime::parse_rfc3339(&expiration).unwrap();
    let lifetime = expires.duration_since(SystemTime::now()).unwrap();
    assert!(lifetime > Duration::from_secs(890) && lifetime <= Duration::from_secs(900));

    let ok = V1::get_result(&id, &secret, "op_done")
        .set("SecurityToken", &token)
        .send(addr);
    assert_eq!(ok.json()["Data"]["Status"], "SUCCESS");
    let ok = V3::new(
        &id,
        &secret,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done")],
    )
    .header("x-acs-security-token", &token)
    .send(addr);
    assert_eq!(ok.status, 200);
    let missing = V1::get_result(&id, &secret, "op_done").send(addr);
    assert_eq!(missing.code(), "MissingSecurityToken");

    assert_eq!(
        assume_role(addr, ROLE, Some("60")).code(),
        "InvalidParameter.DurationSeconds"
    );
    let unknown = assume_role(addr, "acs:ram::1:role/nobody", None);
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "EntityNotExist.Role");
    // AssumeRole is signed like any call.
    let forged = V1::new(ID, "wrong", "AssumeRole")
        .set("Version", "2015-04-01")
        .api("RoleArn", ROLE)
        .api("RoleSessionName", "s")
        .send(addr);
    assert_eq!(forged.code(), "SignatureDoesNotMatch");
    let records = emulator.requests();
    assert_eq!(records[0].action.as_deref(), Some("AssumeRole"));
    assert_eq!(records[0].verdict, "ok");
}

#[test]
fn issued_credentials_expire() {
    let emulator = start(scenario("")).unwrap();
    let addr = emulator.addr();
    let json = assume_role(addr, "acs:ram::1234567890123456:role/short", None).json();
    let (id, secret, token, _) = credentials(&json);
    std::thread::sleep(Duration::from_millis(1100));
    let response = V1::get_result(&id, &secret, "op_done")
        .set("SecurityToken", &token)
        .send(addr);
    assert_eq!(response.status, 400);
    assert_eq!(response.code(), "InvalidSecurityToken.Expired");
}

#[test]
fn assume_role_with_oidc_is_anonymous_and_checks_the_provider_and_token() {
    let emulator = start(scenario("")).unwrap();
    let addr = emulator.addr();
    let call = |provider: &str, token: &str| {
        let mut query = BTreeMap::new();
        for (k, v) in [
            ("Action", "AssumeRoleWithOIDC"),
            ("Version", "2015-04-01"),
            ("Format", "JSON"),
            ("Timestamp", &common::timestamp(SystemTime::now())),
        ] {
            query.insert(k.to_string(), v.to_string());
        }
        let mut body = BTreeMap::new();
        for (k, v) in [
            ("RoleArn", ROLE),
            ("OIDCProviderArn", provider),
            ("OIDCToken", token),
            ("RoleSessionName", "ci"),
        ] {
            body.insert(k.to_string(), v.to_string());
        }
        send(
            addr,
            "POST",
            &format!("/?{}", common::query(&query)),
            &[(
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            common::form(&body).as_bytes(),
        )
        .unwrap()
    };
    let ok = call(PROVIDER, "eyJ.header.payload");
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let (id, secret, token, _) = credentials(&ok.json());
    let get = V1::get_result(&id, &secret, "op_done")
        .set("SecurityToken", &token)
        .send(addr);
    assert_eq!(get.status, 200);

    let wrong_provider = call("acs:ram::1:oidc-provider/other", "eyJ.header.payload");
    assert_eq!(wrong_provider.code(), "EntityNotExist.OIDCProvider");
    let wrong_token = call(PROVIDER, "eyJ.forged");
    assert_eq!(wrong_token.code(), "AuthenticationFail.OIDCToken.Invalid");
}

#[test]
fn metadata_service_with_and_without_imdsv2_tokens() {
    let emulator = start(scenario("[imds]\nrole_name = \"EcsRole\"\n")).unwrap();
    let addr = emulator.addr();
    let base = "/latest/meta-data/ram/security-credentials/";
    let token = send(
        addr,
        "PUT",
        "/latest/api/token",
        &[(
            "X-aliyun-ecs-metadata-token-ttl-seconds".to_string(),
            "21600".to_string(),
        )],
        b"",
    )
    .unwrap();
    assert_eq!(token.status, 200);
    let token = String::from_utf8(token.body).unwrap();
    let with_token = vec![("X-aliyun-ecs-metadata-token".to_string(), token)];

    let role = send(addr, "GET", base, &with_token, b"").unwrap();
    assert_eq!(String::from_utf8_lossy(&role.body), "EcsRole");
    let creds = send(addr, "GET", &format!("{base}EcsRole"), &with_token, b"").unwrap();
    assert_eq!(creds.status, 200);
    let json = creds.json();
    assert_eq!(json["Code"], "Success");
    assert!(json["LastUpdated"].is_string());
    let (id, secret, sts_token, _) = credentials(&json);
    let get = V1::get_result(&id, &secret, "op_done")
        .set("SecurityToken", &sts_token)
        .send(addr);
    assert_eq!(get.status, 200);

    // IMDSv1 allowed here; a bad token never is; an unknown role is 404.
    assert_eq!(send(addr, "GET", base, &[], b"").unwrap().status, 200);
    let bad = vec![(
        "X-aliyun-ecs-metadata-token".to_string(),
        "nope".to_string(),
    )];
    assert_eq!(send(addr, "GET", base, &bad, b"").unwrap().status, 401);
    assert_eq!(
        send(addr, "GET", &format!("{base}Other"), &with_token, b"")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        send(addr, "PUT", "/latest/api/token", &[], b"")
            .unwrap()
            .status,
        400
    );

    let hardened = start(scenario(
        "[imds]\nrole_name = \"EcsRole\"\nrequire_token = true\n",
    ))
    .unwrap();
    assert_eq!(
        send(hardened.addr(), "GET", base, &[], b"").unwrap().status,
        401
    );
    let labels: Vec<_> = emulator
        .requests()
        .iter()
        .map(|r| r.action.clone().unwrap())
        .collect();
    assert_eq!(labels[0], "MetadataToken");
    assert_eq!(labels[2], "MetadataCredentials");
}

#[test]
fn credentials_uri_hands_out_working_credentials() {
    let emulator = start(scenario("[credentials_uri]\npath = \"/creds\"\n")).unwrap();
    let addr = emulator.addr();
    let response = send(addr, "GET", "/creds", &[], b"").unwrap();
    assert_eq!(response.status, 200);
    let json = response.json();
    assert_eq!(json["Code"], "Success");
    let (id, secret, token, _) = credentials(&json);
    let get = V3::new(
        &id,
        &secret,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done")],
    )
    .header("x-acs-security-token", &token)
    .send(addr);
    assert_eq!(get.status, 200);
    assert_eq!(
        send(addr, "GET", "/elsewhere", &[], b"").unwrap().status,
        404
    );
    assert!(response.header("date").is_some());
}

#[test]
fn the_demo_serves_every_credential_door() {
    let emulator = start(Scenario::demo()).unwrap();
    let addr = emulator.addr();
    assert_eq!(
        send(addr, "GET", "/credentials", &[], b"").unwrap().status,
        200
    );
    let role = send(
        addr,
        "GET",
        "/latest/meta-data/ram/security-credentials/",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&role.body),
        bpstudio_emulator::DEMO_ECS_ROLE_NAME
    );
    let json = V1::new(
        bpstudio_emulator::DEMO_ACCESS_KEY_ID,
        bpstudio_emulator::DEMO_ACCESS_KEY_SECRET,
        "AssumeRole",
    )
    .set("Version", "2015-04-01")
    .api("RoleArn", bpstudio_emulator::DEMO_ROLE_ARN)
    .api("RoleSessionName", "demo")
    .send(addr)
    .json();
    assert!(json["Credentials"]["AccessKeyId"].is_string());
}
