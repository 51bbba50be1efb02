//! HTTP-level behaviour: every error code, clock and nonce rules, actions, lifecycles,
//! faults, throttling, the request log and `max_in_flight`, through a plain TCP client.

mod common;

use std::time::{Duration, Instant, SystemTime};

use bpstudio_emulator::{start, Scenario};
use common::{send, HttpResponse, V1, V3};

const ID: &str = "LTAItestKey0001";
const SECRET: &str = "testSecret0001";
const STS_ID: &str = "STS.testKey0001";
const STS_SECRET: &str = "stsSecret+/=0001";
const STS_TOKEN: &str = "CAIStoken+with/slash=";

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml(toml)
        .unwrap()
        .with_access_key(ID, SECRET)
        .with_sts_key(STS_ID, STS_SECRET, STS_TOKEN)
}

const OPS: &str = r#"
[[operations]]
id = "op_done"
status = "SUCCESS"
message = "{\"ok\":true}"
arguments = "{\"k\":1}"

[[operations]]
id = "op_expired"
expired = true
"#;

fn assert_error(response: &HttpResponse, status: u16, code: &str) {
    let text = String::from_utf8_lossy(&response.body).to_string();
    assert_eq!(response.status, status, "{text}");
    let json = response.json();
    assert_eq!(json["Code"], code, "{text}");
    for field in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(json[field].is_string(), "{field} missing: {text}");
    }
    assert!(json.get("Data").is_none());
    assert!(response.header("date").is_some(), "Date header");
}

#[test]
fn v1_post_and_get_answer_with_data() {
    let emulator = start(scenario(OPS)).unwrap();
    for method in ["POST", "GET"] {
        let response = V1::get_result(ID, SECRET, "op_done")
            .method(method)
            .send(emulator.addr());
        assert_eq!(response.status, 200);
        let json = response.json();
        assert_eq!(json["Code"], "200");
        assert!(json["RequestId"].is_string());
        assert_eq!(json["Data"]["OperationId"], "op_done");
        assert_eq!(json["Data"]["Status"], "SUCCESS");
        assert_eq!(json["Data"]["Message"], "{\"ok\":true}");
        assert_eq!(json["Data"]["Arguments"], "{\"k\":1}");
        let date = response.header("date").expect("Date header");
        httpdate::parse_http_date(date).expect("an HTTP date");
    }
    let records = emulator.requests();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].method, "POST");
    assert_eq!(records[1].method, "GET");
    for record in &records {
        assert_eq!(record.verdict, "ok");
        assert_eq!(record.signature_version.as_deref(), Some("v1"));
        assert_eq!(record.action.as_deref(), Some("GetExecuteOperationResult"));
        assert_eq!(record.operation_id.as_deref(), Some("op_done"));
        assert_eq!(record.access_key_id.as_deref(), Some(ID));
        assert_eq!(record.http_status, 200);
        assert!(record.params.contains_key("Signature"));
    }
}

#[test]
fn v3_answers_with_data_and_checks_the_body_hash() {
    let emulator = start(scenario(OPS)).unwrap();
    let request = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done"), ("ResourceGroupId", "")],
    );
    let response = request.clone().send(emulator.addr());
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(response.json()["Data"]["Status"], "SUCCESS");
    assert_eq!(
        emulator.requests()[0].signature_version.as_deref(),
        Some("v3")
    );

    // Headers the client signs are whatever it names, even unusual ones.
    let response = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done")],
    )
    .header("x-custom-thing", "  spaced value ")
    .send(emulator.addr());
    assert_eq!(response.status, 200);

    // A body hash header that does not match the body.
    let mut tampered = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done")],
    );
    tampered
        .headers
        .insert("x-acs-content-sha256".into(), "0".repeat(64));
    assert_error(
        &tampered.send(emulator.addr()),
        400,
        "SignatureDoesNotMatch",
    );
}

#[test]
fn wrong_secret_echoes_the_server_string_to_sign() {
    let emulator = start(scenario(OPS)).unwrap();
    let request = V1::get_result(ID, "not-the-secret", "op done*~é");
    let expected = request.string_to_sign();
    let response = request.send(emulator.addr());
    assert_error(&response, 400, "SignatureDoesNotMatch");
    let message = response.json()["Message"].as_str().unwrap().to_string();
    let echoed = message
        .split_once("server string to sign is:")
        .expect("echo")
        .1;
    assert_eq!(echoed, expected);
    assert_eq!(emulator.requests()[0].verdict, "SignatureDoesNotMatch");

    let v3 = V3::new(
        ID,
        "not-the-secret",
        "GetExecuteOperationResult",
        &[("OperationId", "x")],
    );
    let response = v3.send(emulator.addr());
    assert_error(&response, 400, "SignatureDoesNotMatch");
    assert!(response.json()["Message"]
        .as_str()
        .unwrap()
        .contains("server string to sign is:ACS3-HMAC-SHA256\n"));
}

#[test]
fn malformed_v3_authorization_is_an_incomplete_signature() {
    let emulator = start(scenario(OPS)).unwrap();
    let mut request = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "x")],
    );
    request.authorization = Some("ACS3-HMAC-SHA256 Credential=LTAItestKey0001".into());
    assert_error(&request.send(emulator.addr()), 400, "IncompleteSignature");
}

#[test]
fn unknown_access_key_is_not_found() {
    let emulator = start(scenario(OPS)).unwrap();
    let response = V1::get_result("LTAIunknown", SECRET, "op_done").send(emulator.addr());
    assert_error(&response, 404, "InvalidAccessKeyId.NotFound");
    let response = V3::new(
        "LTAIunknown",
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "x")],
    )
    .send(emulator.addr());
    assert_error(&response, 404, "InvalidAccessKeyId.NotFound");
}

#[test]
fn missing_parameters_are_named() {
    let emulator = start(scenario(OPS)).unwrap();
    let addr = emulator.addr();
    for (param, code) in [
        ("AccessKeyId", "MissingAccessKeyId"),
        ("SignatureNonce", "MissingSignatureNonce"),
        ("Timestamp", "MissingTimestamp"),
        ("SignatureMethod", "MissingSignatureMethod"),
        ("Action", "MissingAction"),
        ("Version", "MissingVersion"),
    ] {
        let response = V1::get_result(ID, SECRET, "op_done")
            .remove(param)
            .send(addr);
        assert_error(&response, 400, code);
    }
    // No signature at all.
    let request = V1::get_result(ID, SECRET, "op_done");
    let response = send(
        addr,
        "GET",
        &format!("/?{}", common::query(&request.common)),
        &[],
        b"",
    )
    .unwrap();
    assert_error(&response, 400, "MissingSignature");
    assert_eq!(emulator.requests().last().unwrap().signature_version, None);
    // No OperationId.
    let response = V1::new(ID, SECRET, "GetExecuteOperationResult").send(addr);
    assert_error(&response, 400, "MissingOperationId");
    // V3 without a date.
    let mut request = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "x")],
    );
    request.headers.remove("x-acs-date");
    assert_error(&request.send(addr), 400, "MissingParameter");
}

#[test]
fn unknown_action_or_version_is_an_unknown_api() {
    let emulator = start(scenario(OPS)).unwrap();
    let addr = emulator.addr();
    let response = V1::new(ID, SECRET, "DescribeRegions").send(addr);
    assert_error(&response, 404, "InvalidApi.NotFound");
    let response = V1::get_result(ID, SECRET, "op_done")
        .set("Version", "2021-09-30")
        .send(addr);
    assert_error(&response, 404, "InvalidApi.NotFound");
    let response = V3::new(ID, SECRET, "GetExecuteOperationResult", &[])
        .header("x-acs-version", "2022-01-01")
        .send(addr);
    assert_error(&response, 404, "InvalidApi.NotFound");
}

#[test]
fn timestamps_must_be_well_formed_and_recent() {
    let emulator = start(scenario(OPS)).unwrap();
    let addr = emulator.addr();
    let response = V1::get_result(ID, SECRET, "op_done")
        .set("Timestamp", "2025/01/02 03:04:05")
        .send(addr);
    assert_error(&response, 400, "InvalidTimeStamp.Format");
    let response = V3::new(ID, SECRET, "GetExecuteOperationResult", &[])
        .header("x-acs-date", "yesterday")
        .send(addr);
    assert_error(&response, 400, "InvalidTimeStamp.Format");

    for offset in [-20i64, 20] {
        let at = if offset < 0 {
            SystemTime::now() - Duration::from_secs(20 * 60)
        } else {
            SystemTime::now() + Duration::from_secs(20 * 60)
        };
        let response = V1::get_result(ID, SECRET, "op_done")
            .set("Timestamp", &common::timestamp(at))
            .send(addr);
        assert_error(&response, 400, "InvalidTimeStamp.Expired");
    }
    let five_minutes_ago = SystemTime::now() - Duration::from_secs(5 * 60);
    let response = V1::get_result(ID, SECRET, "op_done")
        .set("Timestamp", &common::timestamp(five_minutes_ago))
        .send(addr);
    assert_eq!(response.status, 200);
}

#[test]
fn a_skewed_emulator_clock_rejects_correct_clients_and_says_so_in_date() {
    let emulator = start(scenario("[settings]\nclock_skew = \"-30m\"\n")).unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_error(&response, 400, "InvalidTimeStamp.Expired");
    let date = httpdate::parse_http_date(response.header("date").unwrap()).unwrap();
    let behind = SystemTime::now().duration_since(date).unwrap();
    assert!(
        behind > Duration::from_secs(29 * 60) && behind < Duration::from_secs(31 * 60),
        "{behind:?}"
    );
    // A client that follows the server's clock gets through.
    let response = V1::get_result(ID, SECRET, "op_done")
        .set("Timestamp", &common::timestamp(date))
        .send(emulator.addr());
    assert_eq!(response.status, 200);
}

#[test]
fn a_nonce_is_accepted_once_per_access_key() {
    let emulator = start(scenario(OPS)).unwrap();
    let addr = emulator.addr();
    let request = V1::get_result(ID, SECRET, "op_done");
    assert_eq!(request.clone().send(addr).status, 200);
    assert_error(&request.send(addr), 400, "SignatureNonceUsed");

    let v3 = V3::new(
        ID,
        SECRET,
        "GetExecuteOperationResult",
        &[("OperationId", "op_done")],
    );
    assert_eq!(v3.clone().send(addr).status, 200);
    assert_error(&v3.send(addr), 400, "SignatureNonceUsed");

    // The same nonce under another key is a different nonce.
    let nonce = common::fresh_nonce();
    let a = V1::get_result(ID, SECRET, "op_done").set("SignatureNonce", &nonce);
    let b = V1::get_result(STS_ID, STS_SECRET, "op_done")
        .set("SecurityToken", STS_TOKEN)
        .set("SignatureNonce", &nonce);
    assert_eq!(a.send(addr).status, 200);
    assert_eq!(b.send(addr).status, 200);
}

#[test]
fn sts_keys_need_their_own_token() {
    let emulator = start(scenario(OPS)).unwrap();
    let addr = emulator.addr();
    let response = V1::get_result(STS_ID, STS_SECRET, "op_done").send(addr);
    assert_error(&response, 400, "MissingSecurityToken");
    let response = V1::get_result(STS_ID, STS_SECRET, "op_done")
        .set("SecurityToken", "CAISsomeoneelse")
        .send(addr);
    assert_error(&response, 400, "InvalidSecurityToken.MismatchWithAccessKey");
    let response = V1::get_result(ID, SECRET, "op_done")
        .set("SecurityToken", STS_TOKEN)
        .send(addr);
    assert_error(&response, 400, "InvalidSecurityToken.Malformed");
    let response = V1::get_result(STS_ID, STS_SECRET, "op_done")
        .set("SecurityToken", STS_TOKEN)
        .send(addr);
    assert_eq!(response.status, 200);

    let v3 = |token: Option<&str>| {
        let request = V3::new(
            STS_ID,
            STS_SECRET,
            "GetExecuteOperationResult",
            &[("OperationId", "op_done")],
        );
        match token {
            Some(t) => request.header("x-acs-security-token", t),
            None => request,
        }
        .send(addr)
    };
    assert_error(&v3(None), 400, "MissingSecurityToken");
    assert_error(
        &v3(Some("CAISother")),
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    );
    assert_eq!(v3(Some(STS_TOKEN)).status, 200);
}

#[test]
fn expired_and_unknown_ids_answer_without_data() {
    let emulator = start(scenario(OPS)).unwrap();
    for id in ["op_expired", "op_never_heard_of"] {
        let response = V1::get_result(ID, SECRET, id).send(emulator.addr());
        assert_eq!(response.status, 200);
        let json = response.json();
        assert_eq!(json["Code"], "200");
        assert!(json["RequestId"].is_string());
        assert!(json.get("Data").is_none(), "{json}");
    }
}

#[test]
fn code_can_be_a_number() {
    let emulator = start(scenario(&format!(
        "[settings]\ncode_as_number = true\n{OPS}"
    )))
    .unwrap();
    let json = V1::get_result(ID, SECRET, "op_done")
        .send(emulator.addr())
        .json();
    assert_eq!(json["Code"], 200);
    assert!(json["Code"].is_number());
}

fn status_of(emulator: &bpstudio_emulator::EmulatorHandle, id: &str) -> String {
    let json = V1::get_result(ID, SECRET, id).send(emulator.addr()).json();
    json["Data"]["Status"]
        .as_str()
        .unwrap_or("<no Data>")
        .to_string()
}

#[test]
fn lifecycles_advance_by_time_from_the_first_request() {
    let emulator = start(scenario(
        r#"
[[lifecycles]]
name = "fast"
steps = [
  { status = "INIT" },
  { status = "RUNNING", after = "400ms" },
  { status = "SUCCESS", after = "900ms", message = "done" },
]
[[operations]]
id = "op_timed"
lifecycle = "fast"
message = "working"
"#,
    ))
    .unwrap();
    // The clock starts at the first request, however late it comes.
    std::thread::sleep(Duration::from_millis(1000));
    let first = Instant::now();
    assert_eq!(status_of(&emulator, "op_timed"), "INIT");
    std::thread::sleep(Duration::from_millis(500).saturating_sub(first.elapsed()));
    assert_eq!(status_of(&emulator, "op_timed"), "RUNNING");
    std::thread::sleep(Duration::from_millis(1000).saturating_sub(first.elapsed()));
    let json = V1::get_result(ID, SECRET, "op_timed")
        .send(emulator.addr())
        .json();
    assert_eq!(json["Data"]["Status"], "SUCCESS");
    assert_eq!(json["Data"]["Message"], "done");
}

#[test]
fn lifecycles_advance_by_polls() {
    let emulator = start(scenario(
        r#"
[[operations]]
id = "op_polled"
steps = [ { status = "INIT" }, { status = "RUNNING", polls = 2 }, { status = "FAILURE", polls = 4, message = "boom" } ]
"#,
    ))
    .unwrap();
    let seen: Vec<String> = (0..5).map(|_| status_of(&emulator, "op_polled")).collect();
    assert_eq!(seen, ["INIT", "RUNNING", "RUNNING", "FAILURE", "FAILURE"]);
}

#[test]
fn visible_after_hides_data_at_first() {
    let emulator = start(scenario(
        "[[operations]]\nid = \"op_late\"\nstatus = \"RUNNING\"\nvisible_after = \"300ms\"\n",
    ))
    .unwrap();
    assert_eq!(status_of(&emulator, "op_late"), "<no Data>");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(status_of(&emulator, "op_late"), "RUNNING");
}

#[test]
fn execute_operation_async_creates_an_id_that_follows_its_rule() {
    let emulator = start(scenario(
        r#"
[settings]
default_lifecycle = "slow"
[[lifecycles]]
name = "slow"
steps = [ { status = "INIT" }, { status = "SUCCESS", after = "1h" } ]
[[lifecycles]]
name = "two-polls"
steps = [ { status = "RUNNING" }, { status = "SUCCESS", polls = 2 } ]
[[rules]]
service_type = "ecs"
operation = "modifyInstanceType"
lifecycle = "two-polls"
"#,
    ))
    .unwrap();
    let addr = emulator.addr();
    let response = V1::new(ID, SECRET, "ExecuteOperationASync")
        .api("ServiceType", "ecs")
        .api("Operation", "modifyInstanceType")
        .api(
            "Attributes",
            r#"{"instanceId":"i-1","instanceType":"ecs.g7.large"}"#,
        )
        .api("ResourceGroupId", "rg-1")
        .send(addr);
    assert_eq!(response.status, 200);
    let json = response.json();
    assert_eq!(json["Code"], "200");
    let id = json["Data"].as_str().unwrap().to_string();
    // op_<18>_<service>_<operation>_<16>_<16>
    let parts: Vec<&str> = id.split('_').collect();
    assert_eq!(parts.len(), 6, "{id}");
    assert_eq!(parts[0], "op");
    assert_eq!(parts[1].len(), 18);
    assert_eq!(parts[2], "ecs");
    assert_eq!(parts[3], "modifyInstanceType");
    assert!(parts[4].len() == 16 && parts[5].len() == 16);
    assert!(parts[4]
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(
        emulator.requests()[0].operation_id.as_deref(),
        Some(id.as_str())
    );

    let first = V1::get_result(ID, SECRET, &id).send(addr).json();
    assert_eq!(first["Data"]["Status"], "RUNNING");
    assert_eq!(
        first["Data"]["Arguments"],
        r#"{"instanceId":"i-1","instanceType":"ecs.g7.large"}"#
    );
    assert_eq!(status_of(&emulator, &id), "SUCCESS");

    // No rule matches: the default lifecycle.
    let other = V3::new(
        ID,
        SECRET,
        "ExecuteOperationASync",
        &[("ServiceType", "rds"), ("Operation", "restart")],
    )
    .send(addr)
    .json();
    let other_id = other["Data"].as_str().unwrap();
    assert!(other_id.contains("_rds_restart_"));
    assert_eq!(status_of(&emulator, other_id), "INIT");

    let response = V1::new(ID, SECRET, "ExecuteOperationASync")
        .api("Operation", "x")
        .send(addr);
    assert_error(&response, 400, "MissingServiceType");
}

#[test]
fn per_key_rate_limit_throttles() {
    let emulator = start(
        Scenario::from_toml(&format!(
            "[[credentials]]\naccess_key_id = \"{ID}\"\naccess_key_secret = \"{SECRET}\"\nrate_limit_per_second = 2\n"
        ))
        .unwrap(),
    )
    .unwrap();
    let statuses: Vec<String> = (0..3)
        .map(|_| {
            let response = V1::get_result(ID, SECRET, "x").send(emulator.addr());
            response.json()["Code"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(statuses, ["200", "200", "Throttling.User"]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        V1::get_result(ID, SECRET, "x").send(emulator.addr()).status,
        200
    );
}

fn fault_scenario(fault: &str) -> Scenario {
    scenario(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_done\"\n{fault}\n"
    ))
}

#[test]
fn throttle_fault_with_retry_after() {
    let emulator = start(fault_scenario(
        "kind = \"throttle\"\nattempts = [1]\nretry_after = \"1500ms\"",
    ))
    .unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_error(&response, 400, "Throttling.User");
    assert_eq!(response.header("x-acs-retry-after"), Some("1500"));
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_eq!(response.status, 200);
    let records = emulator.requests();
    assert_eq!(records[0].fault.as_deref(), Some("throttle"));
    assert_eq!(records[0].verdict, "Throttling.User");
    assert_eq!(records[1].fault, None);
}

#[test]
fn status_fault_on_chosen_attempts_only() {
    let emulator = start(fault_scenario("kind = \"status\"\nattempts = [1, 2]")).unwrap();
    let addr = emulator.addr();
    assert_error(
        &V1::get_result(ID, SECRET, "op_done").send(addr),
        503,
        "ServiceUnavailable",
    );
    assert_error(
        &V1::get_result(ID, SECRET, "op_done").send(addr),
        503,
        "ServiceUnavailable",
    );
    assert_eq!(V1::get_result(ID, SECRET, "op_done").send(addr).status, 200);
    // Other ids are untouched.
    assert_eq!(
        V1::get_result(ID, SECRET, "op_other").send(addr).status,
        200
    );

    let emulator = start(fault_scenario("kind = \"status\"\nstatus = 500")).unwrap();
    assert_error(
        &V1::get_result(ID, SECRET, "op_done").send(emulator.addr()),
        500,
        "InternalError",
    );
}

#[test]
fn delay_fault_answers_late() {
    let emulator = start(fault_scenario("kind = \"delay\"\ndelay = \"400ms\"")).unwrap();
    let started = Instant::now();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.json()["Data"]["Status"], "SUCCESS");
    assert!(emulator.requests()[0].duration_ms >= 400);
}

#[test]
fn drop_fault_closes_without_a_response() {
    let emulator = start(fault_scenario("kind = \"drop\"\nattempts = [1]")).unwrap();
    let result = V1::get_result(ID, SECRET, "op_done").try_send(emulator.addr());
    assert!(result.is_err(), "{result:?}");
    assert_eq!(emulator.requests()[0].fault.as_deref(), Some("drop"));
    assert_eq!(emulator.requests()[0].http_status, 0);
    assert_eq!(
        V1::get_result(ID, SECRET, "op_done")
            .send(emulator.addr())
            .status,
        200
    );
}

#[test]
fn truncate_fault_sends_less_than_announced() {
    let emulator = start(fault_scenario("kind = \"truncate\"")).unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_eq!(response.status, 200);
    let announced: usize = response.header("content-length").unwrap().parse().unwrap();
    assert!(response.body.len() < announced);
    assert!(serde_json::from_slice::<serde_json::Value>(&response.body).is_err());
}

#[test]
fn html_fault_is_a_502_page() {
    let emulator = start(fault_scenario("kind = \"html\"")).unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_eq!(response.status, 502);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&response.body).contains("<html>"));
}

#[test]
fn oversize_fault_streams_a_huge_valid_looking_body() {
    let emulator = start(fault_scenario("kind = \"oversize\"\nbytes = 3000000")).unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("3000000"));
    assert_eq!(response.body.len(), 3_000_000);
    let json = response.json();
    assert_eq!(json["Data"]["OperationId"], "op_done");
}

#[test]
fn trickle_fault_sends_one_byte_at_a_time() {
    let emulator = start(fault_scenario("kind = \"trickle\"\ninterval = \"2ms\"")).unwrap();
    let started = Instant::now();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    let len = response.body.len() as u32;
    assert!(started.elapsed() >= Duration::from_millis(2) * (len - 1) / 2);
    assert_eq!(response.json()["Data"]["Status"], "SUCCESS");
}

#[test]
fn garbage_fault_is_200_with_junk() {
    let emulator = start(fault_scenario("kind = \"garbage\"")).unwrap();
    let response = V1::get_result(ID, SECRET, "op_done").send(emulator.addr());
    assert_eq!(response.status, 200);
    assert!(!response.body.is_empty());
    assert!(serde_json::from_slice::<serde_json::Value>(&response.body).is_err());
}

#[test]
fn faults_without_an_id_hit_every_id() {
    let emulator = start(scenario(&format!(
        "{OPS}\n[[faults]]\nkind = \"status\"\nstatus = 502\nattempts = [1]\n"
    )))
    .unwrap();
    let addr = emulator.addr();
    for id in ["op_done", "op_other"] {
        assert_eq!(V1::get_result(ID, SECRET, id).send(addr).status, 502);
        assert_eq!(V1::get_result(ID, SECRET, id).send(addr).status, 200);
    }
}

#[test]
fn max_in_flight_counts_delayed_requests() {
    let emulator = start(fault_scenario("kind = \"delay\"\ndelay = \"500ms\"")).unwrap();
    let addr = emulator.addr();
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || V1::get_result(ID, SECRET, "op_done").send(addr)))
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().status, 200);
    }
    assert_eq!(emulator.max_in_flight(), 4);
    let records = emulator.requests();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.verdict == "ok"));
    assert!(records
        .windows(2)
        .all(|w| w[0].started_ms <= w[1].started_ms));
}

#[test]
fn every_response_has_a_date_even_unsigned_garbage() {
    let emulator = start(scenario(OPS)).unwrap();
    let response = send(emulator.addr(), "GET", "/?Action=Nope", &[], b"").unwrap();
    assert!(response.header("date").is_some());
    assert_eq!(response.status, 400);
    assert_eq!(response.code(), "MissingVersion");
}

#[test]
fn expires_after_removes_data_mid_way() {
    let emulator = start(scenario(
        "[[operations]]\nid = \"op_short\"\nstatus = \"RUNNING\"\nexpires_after = \"300ms\"\n",
    ))
    .unwrap();
    assert_eq!(status_of(&emulator, "op_short"), "RUNNING");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(status_of(&emulator, "op_short"), "<no Data>");
}

#[test]
fn rules_can_delay_visibility_and_shorten_expiry_of_created_ids() {
    let emulator = start(scenario(
        r#"
[[rules]]
steps = [ { status = "RUNNING" } ]
visible_after = "200ms"
expires_after = "500ms"
"#,
    ))
    .unwrap();
    let json = V1::new(ID, SECRET, "ExecuteOperationASync")
        .api("ServiceType", "ecs")
        .api("Operation", "rebootInstance")
        .send(emulator.addr())
        .json();
    let id = json["Data"].as_str().unwrap().to_string();
    assert_eq!(status_of(&emulator, &id), "<no Data>");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(status_of(&emulator, &id), "RUNNING");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(status_of(&emulator, &id), "<no Data>");
}
