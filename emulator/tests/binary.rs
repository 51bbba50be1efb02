//! The `bpstudio-emulator` binary: its first stdout line, `--demo`, `--access-key`,
//! `--scenario`, `--log`, and a clean stop on SIGTERM / SIGINT.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::V1;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bpstudio-emulator"));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bpstudio-emulator-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the binary and returns it with the address from its first stdout line.
fn launch(args: &[&str]) -> (Child, SocketAddr, String) {
    let mut child = binary().args(args).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    (child, SocketAddr::from(([127, 0, 0, 1], port)), first)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator did not stop within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn first_line_log_and_sigterm() {
    let dir = temp_dir("log");
    let log = dir.join("requests.jsonl");
    let (mut child, addr, first) = launch(&[
        "--port",
        "0",
        "--access-key",
        "LTAIcliKey0001:cliSecret0001",
        "--access-key",
        "LTAIcliKey0002:cliSecret0002",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(first, format!("listening on http://{addr}\n"));

    let ok = V1::get_result("LTAIcliKey0002", "cliSecret0002", "op_x").send(addr);
    assert_eq!(ok.status, 200);
    let refused = V1::get_result("LTAIcliKey0001", "wrong", "op_x").send(addr);
    assert_eq!(refused.status, 400);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["verdict"], "ok");
    assert_eq!(lines[0]["operation_id"], "op_x");
    assert_eq!(lines[0]["signature_version"], "v1");
    assert_eq!(lines[0]["http_status"], 200);
    assert_eq!(lines[1]["verdict"], "SignatureDoesNotMatch");
    assert_eq!(lines[1]["access_key_id"], "LTAIcliKey0001");

    signal(&child, "TERM");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn demo_prints_its_ids_and_serves_them_and_stops_on_sigint() {
    let (mut child, addr, _) = launch(&["--demo"]);
    let response = V1::get_result(
        bpstudio_emulator::DEMO_ACCESS_KEY_ID,
        bpstudio_emulator::DEMO_ACCESS_KEY_SECRET,
        bpstudio_emulator::DEMO_SUCCESS_ID,
    )
    .send(addr);
    assert_eq!(response.json()["Data"]["Status"], "INIT");
    let response = V1::get_result(
        bpstudio_emulator::DEMO_ACCESS_KEY_ID,
        bpstudio_emulator::DEMO_ACCESS_KEY_SECRET,
        bpstudio_emulator::DEMO_EXPIRED_ID,
    )
    .send(addr);
    assert!(response.json().get("Data").is_none());

    signal(&child, "INT");
    assert!(wait_exit(&mut child).success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    for needle in [
        bpstudio_emulator::DEMO_ACCESS_KEY_ID,
        bpstudio_emulator::DEMO_ACCESS_KEY_SECRET,
        bpstudio_emulator::DEMO_SUCCESS_ID,
        bpstudio_emulator::DEMO_FAILURE_ID,
        bpstudio_emulator::DEMO_EXPIRED_ID,
    ] {
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
    }
}

#[test]
fn scenario_file_is_served_and_a_bad_one_is_named() {
    let dir = temp_dir("scenario");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[credentials]]\naccess_key_id = \"LTAIfile\"\naccess_key_secret = \"fileSecret\"\n\n[[operations]]\nid = \"op_file\"\nstatus = \"RUNNING\"\n",
    )
    .unwrap();
    let (mut child, addr, _) = launch(&["--scenario", good.to_str().unwrap()]);
    let response = V1::get_result("LTAIfile", "fileSecret", "op_file").send(addr);
    assert_eq!(response.json()["Data"]["Status"], "RUNNING");
    signal(&child, "TERM");
    assert!(wait_exit(&mut child).success());

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[settings]\n\nclock_skew = \"whenever\"\n").unwrap();
    let output = binary()
        .args(["--scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn shipped_example_scenario_parses() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/example.toml");
    let scenario = bpstudio_emulator::Scenario::load(&path).unwrap();
    assert!(!scenario.operations.is_empty());
    assert!(!scenario.faults.is_empty());
}

#[test]
fn a_signal_right_after_the_first_line_stops_cleanly() {
    for name in ["TERM", "INT", "TERM"] {
        let (mut child, _, _) = launch(&["--demo"]);
        signal(&child, name);
        assert!(wait_exit(&mut child).success(), "SIG{name}");
    }
}
