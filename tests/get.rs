//! `bpstudio-op get` end to end: the real binary against the emulator. Every exit code of
//! SPEC §3 that `get` can produce, both output formats, faults and retries, and no secrets.

mod common;

use common::*;
use serde_json::Value;

const OPS: &str = r#"
[[operations]]
id = "op_ok"
steps = [ { status = "SUCCESS" } ]
message = "{\"step\":\"done\",\"instances\":[\"i-1\",\"i-2\"]}"
arguments = "{\"InstanceType\":\"ecs.g7.large\"}"

[[operations]]
id = "op_failed"
steps = [ { status = "FAILURE" } ]
message = "quota exceeded for ecs.g7.large"

[[operations]]
id = "op_running"
steps = [ { status = "RUNNING" } ]

[[operations]]
id = "op_old"
expired = true

[[operations]]
id = "op_hostile"
steps = [ { status = "RUNNING" } ]
message = "\u001b[2J\u001b]0;owned\u0007 clear screen \u202e reversed"
"#;

fn env() -> TestEnv {
    TestEnv::new(OPS)
}

#[test]
fn one_id_prints_key_value_lines_and_exits_0() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("Operation   op_ok\nStatus      SUCCESS\n"),
        "{r:?}"
    );
    // Packed JSON in Message is decoded and pretty-printed.
    assert!(
        r.stdout
            .contains("Message     {\n              \"step\": \"done\","),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("\"InstanceType\": \"ecs.g7.large\""),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains('\x1b'),
        "no colour off a terminal: {r:?}"
    );
    assert_eq!(r.stderr, "", "{r:?}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let t = env();
    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_TEST_TTY", "both")
        .args(["get", "op_ok"]));
    assert!(r.stdout.contains("\x1b[32mSUCCESS"), "{r:?}");
    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_TEST_TTY", "both")
        .env("NO_COLOR", "1")
        .args(["get", "op_ok"]));
    assert!(!r.stdout.contains('\x1b'), "{r:?}");
    let r = run(t.cmd().args(["get", "op_ok", "--color", "always"]));
    assert!(r.stdout.contains("\x1b[32mSUCCESS"), "{r:?}");
}

#[test]
fn several_ids_are_rows_in_argument_order() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_failed", "op_ok", "op_running"]));
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("OPERATION ID"), "{r:?}");
    assert!(
        lines[1].starts_with("op_failed ") && lines[1].contains("FAILURE"),
        "{r:?}"
    );
    assert!(
        lines[2].starts_with("op_ok ") && lines[2].contains("SUCCESS"),
        "{r:?}"
    );
    assert!(
        lines[3].starts_with("op_running ") && lines[3].contains("RUNNING"),
        "{r:?}"
    );
}

#[test]
fn json_is_the_body_as_received() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_ok", "-o", "json"]));
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    assert_eq!(v["Data"]["Status"], "SUCCESS");
    assert_eq!(v["Data"]["OperationId"], "op_ok");
    assert!(v["RequestId"].is_string(), "{v}");
    // Packed JSON stays a string, as the service sent it.
    assert!(v["Data"]["Message"].is_string(), "{v}");

    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_OUTPUT", "json")
        .args(["get", "op_running", "op_ok"]));
    let v: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    let arr = v.as_array().expect("an array for several ids");
    assert_eq!(arr[0]["Data"]["OperationId"], "op_running");
    assert_eq!(arr[1]["Data"]["OperationId"], "op_ok");
}

#[test]
fn json_is_usable_with_jq() {
    if std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("jq is not installed; .ci/run installs it");
        return;
    }
    let t = env();
    let r = run(t.cmd().args(["get", "op_ok", "op_failed", "-o", "json"]));
    let mut jq = std::process::Command::new("jq")
        .args(["-r", ".[].Data.Status"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    jq.stdin
        .take()
        .unwrap()
        .write_all(r.stdout.as_bytes())
        .unwrap();
    let out = jq.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SUCCESS\nFAILURE\n");
}

#[test]
fn exit_status_reports_failure_and_running() {
    let t = env();
    assert_eq!(run(t.cmd().args(["get", "op_failed"])).code, 0);
    assert_eq!(
        run(t.cmd().args(["get", "op_failed", "--exit-status"])).code,
        1
    );
    assert_eq!(
        run(t.cmd().args(["get", "op_running", "--exit-status"])).code,
        8
    );
    assert_eq!(run(t.cmd().args(["get", "op_ok", "--exit-status"])).code, 0);
}

#[test]
fn expired_or_unknown_is_3_either_way() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_old"]));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("expired or unknown"), "{r:?}");
    assert_eq!(
        run(t.cmd().args(["get", "op_never_created", "--exit-status"])).code,
        3
    );
}

#[test]
fn several_ids_take_the_first_code_in_spec_order() {
    let t = env();
    // 3 comes before 1 and 8.
    let r = run(t
        .cmd()
        .args(["get", "op_failed", "op_old", "op_running", "--exit-status"]));
    assert_eq!(r.code, 3, "{r:?}");
    // 1 comes before 8.
    let r = run(t
        .cmd()
        .args(["get", "op_running", "op_failed", "--exit-status"]));
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn resource_group_id_is_sent() {
    let t = env();
    let r = run(t
        .cmd()
        .args(["get", "op_ok", "--resource-group-id", "rg-acfm2abc"]));
    assert_eq!(r.code, 0, "{r:?}");
    let req = t.requests().pop().unwrap();
    assert_eq!(
        req.params.get("ResourceGroupId").map(String::as_str),
        Some("rg-acfm2abc")
    );
    assert_eq!(
        req.params.get("OperationId").map(String::as_str),
        Some("op_ok")
    );
    assert_eq!(req.method, "POST");
}

#[test]
fn v3_signature_on_request() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_ok", "--signature-version", "v3"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        t.requests().pop().unwrap().signature_version.as_deref(),
        Some("v3")
    );
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        t.requests().pop().unwrap().signature_version.as_deref(),
        Some("v1")
    );
}

#[test]
fn tricky_ids_are_signed_right() {
    let t = TestEnv::new(
        r#"
[[operations]]
id = "op with space*~+/=&é中"
steps = [ { status = "SUCCESS" } ]
"#,
    );
    for sig in ["v1", "v3"] {
        let r = run(t.cmd().args([
            "get",
            "op with space*~+/=&é中",
            "--signature-version",
            sig,
            "--exit-status",
        ]));
        assert_eq!(r.code, 0, "{sig}: {r:?}");
    }
}

#[test]
fn sts_credentials_from_the_environment() {
    let t = env();
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET)
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
        .args(["get", "op_ok", "-v"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET)
        .env("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN)
        .args(["get", "op_ok", "-v", "--signature-version", "v3"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_no_secrets(&r);
}

#[test]
fn verbose_traces_requests_without_secrets() {
    let t = env();
    let r = run(t.cmd().args(["get", "op_ok", "-v"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("* credentials: environment variables"),
        "{r:?}"
    );
    assert!(r.stderr.contains("* endpoint: http://127.0.0.1:"), "{r:?}");
    assert!(r.stderr.contains("(signature v1)"), "{r:?}");
    assert!(r.stderr.contains("> POST http://127.0.0.1:"), "{r:?}");
    assert!(r.stderr.contains("Signature=***"), "{r:?}");
    assert!(r.stderr.contains("< HTTP 200"), "{r:?}");
    assert_no_secrets(&r);
}

#[test]
fn wrong_secret_is_4_with_the_hint_that_the_secret_is_wrong() {
    let t = env();
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "NotTheRightSecret0000")
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("SignatureDoesNotMatch"), "{r:?}");
    assert!(r.stderr.contains("request id:"), "{r:?}");
    assert!(
        r.stderr.contains("string to sign equals ours") && r.stderr.contains("secret is wrong"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("NotTheRightSecret0000"), "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    // A signature error is never retried.
    assert_eq!(t.requests().len(), 1);
}

#[test]
fn unknown_access_key_is_4() {
    let t = env();
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tNobodyKnowsMe")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "whatever0000")
        .args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("InvalidAccessKeyId.NotFound"), "{r:?}");
    assert!(
        r.stderr.contains("environment"),
        "names the credential source: {r:?}"
    );
}

#[test]
fn skewed_clock_hint_gives_the_skew() {
    let t = TestEnv::new("[settings]\nclock_skew = \"-40m\"\n");
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("InvalidTimeStamp.Expired"), "{r:?}");
    assert!(
        r.stderr.contains("40m") && r.stderr.contains("ahead of"),
        "{r:?}"
    );
}

#[test]
fn usage_errors_are_2() {
    let t = env();
    let r = run(t.cmd().args(["get"]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(t.cmd().args(["get", "op_ok", "--output", "yaml"]));
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(t.cmd().args(["frobnicate"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(t.requests().len(), 0);
}

#[test]
fn unknown_region_is_2_and_names_the_regions() {
    let t = env();
    let r = run(t.cmd().env_remove("BPSTUDIO_OP_ENDPOINT").args([
        "get",
        "op_ok",
        "--region",
        "eu-central-1",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cn-hangzhou") && r.stderr.contains("ap-southeast-1"),
        "{r:?}"
    );
    assert!(r.stderr.contains("--endpoint"), "{r:?}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let t = env();
    let r = run(t
        .cmd()
        .args(["get", "op_ok", "--endpoint", "http://bpstudio.example.com/"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("https"), "{r:?}");
    assert_eq!(t.requests().len(), 0);
}

#[test]
fn no_credentials_anywhere_is_2_with_a_way_out() {
    let t = env();
    let r = run(t.bare().args(["get", "op_ok"]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no credentials"), "{r:?}");
    assert!(r.stderr.contains("configure"), "{r:?}");
    assert_eq!(t.requests().len(), 0);
}

#[test]
fn throttling_then_success_is_retried_with_a_fresh_signature() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nattempts = [1]\nkind = \"throttle\"\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    let reqs = t.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].verdict, "Throttling.User");
    assert_eq!(reqs[1].verdict, "ok");
    assert_ne!(
        reqs[0].params.get("SignatureNonce"),
        reqs[1].params.get("SignatureNonce"),
        "every attempt has a fresh nonce"
    );
}

#[test]
fn a_503_then_success_is_retried() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nattempts = [1]\nkind = \"status\"\nstatus = 503\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.requests().len(), 2);
}

#[test]
fn a_dropped_connection_is_retried() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nattempts = [1]\nkind = \"drop\"\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(t.requests().len(), 2);
}

#[test]
fn a_garbage_body_is_5() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nkind = \"garbage\"\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok"]));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("not JSON"), "{r:?}");
}

#[test]
fn an_html_error_page_is_5_after_retries() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nkind = \"html\"\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok", "--retries", "1"]));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("HTML"), "{r:?}");
}

#[test]
fn retries_exhausted_is_5() {
    let t = TestEnv::new(&format!(
        "{OPS}\n[[faults]]\noperation_id = \"op_ok\"\nkind = \"status\"\nstatus = 503\n"
    ));
    let r = run(t.cmd().args(["get", "op_ok", "--retries", "2"]));
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(t.requests().len(), 3, "one attempt and two retries");
    assert!(r.stderr.contains("gave up after 3 attempts"), "{r:?}");
}

#[test]
fn nothing_listening_is_5() {
    let t = env();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = run(t.cmd().args([
        "get",
        "op_ok",
        "--retries",
        "0",
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("could not connect"), "{r:?}");
}

#[test]
fn hostile_server_text_is_neutralised_in_the_table() {
    let t = env();
    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_TEST_TTY", "both")
        .args(["get", "op_hostile"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stdout.contains("\x1b[2J") && !r.stdout.contains("\x1b]0;"),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains('\x07') && !r.stdout.contains('\u{202e}'),
        "{r:?}"
    );
    assert!(r.stdout.contains("\\u{1b}[2J"), "{r:?}");
}

#[test]
fn code_as_a_number_is_accepted() {
    let t = TestEnv::new(&format!("[settings]\ncode_as_number = true\n{OPS}"));
    let r = run(t.cmd().args(["get", "op_ok", "-o", "json"]));
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["Code"].is_number(), "{v}");
}

#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    // Like `bpstudio-op get ... | head -0`: the reader is gone before the result is written.
    let t = env();
    let cmd = t.cmd();
    let mut std_cmd = std::process::Command::new(cmd.get_program());
    std_cmd.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            std_cmd.env(k, v);
        }
    }
    let mut child = std_cmd
        .args(["get", "op_ok", "op_failed", "op_running"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{out:?}");
}

#[test]
fn help_of_each_subcommand_shows_examples() {
    let t = env();
    for sub in ["get", "wait", "watch", "configure", "completions"] {
        let r = run(t.bare().args([sub, "--help"]));
        assert_eq!(r.code, 0, "{sub}: {r:?}");
        assert!(r.stdout.contains("Examples:"), "{sub}: {r:?}");
        assert!(r.stdout.contains("bpstudio-op "), "{sub}: {r:?}");
    }
}

/// A one-connection stand-in proxy on loopback: records the request line it is sent.
fn proxy_listener() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 256];
            let n = conn.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    (port, rx)
}

#[test]
fn https_proxy_and_no_proxy_are_honoured() {
    let t = env();
    // Nothing listens on the target: only the proxy (or its absence) decides what happens.
    let target = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("https://127.0.0.1:{target}");

    let (proxy, seen) = proxy_listener();
    let r = run(t
        .cmd()
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"))
        .args(["get", "op_ok", "--retries", "0", "--endpoint", &endpoint]));
    assert_eq!(r.code, 5, "{r:?}");
    let line = seen
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the request went through the proxy");
    assert!(
        line.starts_with(&format!("CONNECT 127.0.0.1:{target} ")),
        "{line}"
    );

    let (proxy, seen) = proxy_listener();
    let r = run(t
        .cmd()
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"))
        .env("NO_PROXY", "127.0.0.1")
        .args(["get", "op_ok", "--retries", "0", "--endpoint", &endpoint]));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("Connection refused"),
        "went direct: {r:?}"
    );
    assert!(
        seen.try_recv().is_err(),
        "NO_PROXY kept the request off the proxy"
    );
}
