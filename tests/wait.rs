//! `bpstudio-op wait` (and `watch -o json`) end to end: the real binary against emulator
//! lifecycles of a few seconds. Every exit code `wait` can produce (SPEC §3) and their order,
//! the timeout hint, heartbeats, the concurrency bound, a throttling storm, GitHub Actions
//! annotations and step summary, and the JSON Lines events parsed back.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Lifecycles that end within about a second of the first request, and ones that never do.
const OPS: &str = r#"
[[operations]]
id = "op_ok"
steps = [ { status = "INIT" }, { status = "RUNNING", after = "300ms" },
          { status = "SUCCESS", after = "900ms", message = "{\"result\":\"ok\"}" } ]

[[operations]]
id = "op_fail"
steps = [ { status = "RUNNING" }, { status = "FAILURE", after = "600ms", message = "quota exceeded | zone k" } ]

[[operations]]
id = "op_run"
status = "RUNNING"
message = "still scaling"

[[operations]]
id = "op_old"
expired = true
"#;

fn fast(args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    v.extend([
        "--interval".into(),
        "200ms".into(),
        "--max-interval".into(),
        "400ms".into(),
    ]);
    v
}

fn polls_of(t: &TestEnv, id: &str) -> usize {
    t.requests()
        .iter()
        .filter(|r| r.operation_id.as_deref() == Some(id))
        .count()
}

#[test]
fn success_exits_0_with_the_result_on_stdout_and_nothing_on_stderr() {
    let t = TestEnv::new(OPS);
    let r = run(t.cmd().args(fast(&["wait", "op_ok"])));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("Operation   op_ok\nStatus      SUCCESS\n"),
        "{r:?}"
    );
    assert_eq!(r.stderr, "", "{r:?}");
    assert!(polls_of(&t, "op_ok") >= 3, "it polled until SUCCESS");
}

#[test]
fn failure_exits_1_and_stops_polling_at_once() {
    let t = TestEnv::new(OPS);
    let start = Instant::now();
    let r = run(t.cmd().args(fast(&["wait", "op_fail"])));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("FAILURE"), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(15), "{r:?}");
    // The FAILURE answer is the last request: no polling after it.
    let seen = t.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.operation_id.as_deref(), Some("op_fail"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(t.requests().len(), seen.len());
}

#[test]
fn timeout_exits_124_with_the_hint_to_check_later() {
    let t = TestEnv::new(OPS);
    let start = Instant::now();
    let r = run(t.cmd().args(fast(&["wait", "op_run", "--timeout", "2s"])));
    let took = start.elapsed();
    assert_eq!(r.code, 124, "{r:?}");
    assert!(
        took < Duration::from_secs(5),
        "never outlives --timeout by much: {took:?}"
    );
    assert!(r.stderr.contains("may still finish"), "{r:?}");
    assert!(r.stderr.contains("\n  bpstudio-op get op_run\n"), "{r:?}");
    // The last answer is still shown, marked as a timeout.
    assert!(r.stdout.contains("RUNNING (TIMEOUT)"), "{r:?}");
}

#[test]
fn expired_exits_3_and_wins_over_failure() {
    let t = TestEnv::new(OPS);
    let r = run(t.cmd().args(fast(&["wait", "op_fail", "op_old"])));
    assert_eq!(r.code, 3, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[1].starts_with("op_fail") && lines[1].contains("FAILURE"),
        "{r:?}"
    );
    assert!(
        lines[2].starts_with("op_old") && lines[2].contains("EXPIRED"),
        "{r:?}"
    );
    // An id without Data is polled again during the 10 s grace, then declared expired.
    assert!(polls_of(&t, "op_old") > 2, "{r:?}");
}

#[test]
fn mixed_outcomes_follow_the_spec_order_and_json_keeps_argument_order() {
    let t = TestEnv::new(OPS);
    let r = run(t.cmd().args(fast(&[
        "-o",
        "json",
        "wait",
        "op_run",
        "op_ok",
        "op_fail",
        "--timeout",
        "3s",
    ])));
    // FAILURE (1) comes before TIMEOUT (124) in SPEC §3's order.
    assert_eq!(r.code, 1, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    let statuses: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Data"]["Status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["RUNNING", "SUCCESS", "FAILURE"], "{r:?}");
    // The body as received: the emulator's fields, untouched.
    assert_eq!(doc[1]["Code"], "200");
    assert_eq!(doc[1]["Data"]["Message"], "{\"result\":\"ok\"}");
    assert!(r.stderr.contains("bpstudio-op get op_run"), "{r:?}");

    // Without the failure, the timeout decides.
    let t = TestEnv::new(OPS);
    let r = run(t
        .cmd()
        .args(fast(&["wait", "op_ok", "op_run", "--timeout", "2s"])));
    assert_eq!(r.code, 124, "{r:?}");
}

#[test]
fn concurrency_bound_holds_over_40_ids() {
    let mut scenario = String::from("[[faults]]\nkind = \"delay\"\ndelay = \"150ms\"\n\n");
    let ids: Vec<String> = (0..40).map(|i| format!("op_many{i:02}")).collect();
    for id in &ids {
        scenario.push_str(&format!(
            "[[operations]]\nid = \"{id}\"\nsteps = [ {{ status = \"RUNNING\" }}, {{ status = \"SUCCESS\", polls = 2 }} ]\n\n"
        ));
    }
    let t = TestEnv::new(&scenario);
    let mut args = vec!["wait".to_string(), "--concurrency".into(), "4".into()];
    args.extend(ids.iter().cloned());
    let r = run(t
        .cmd()
        .args(fast(&args.iter().map(String::as_str).collect::<Vec<_>>())));
    assert_eq!(r.code, 0, "{r:?}");
    let in_flight = t.emulator.max_in_flight();
    assert!(in_flight <= 4, "max in flight {in_flight}");
    assert!(in_flight >= 2, "requests did overlap: {in_flight}");
    assert_eq!(t.requests().len(), 80, "two polls per id");
    assert_eq!(r.stdout.lines().count(), 41, "{r:?}");
}

#[test]
fn a_throttling_storm_is_survived() {
    let t = TestEnv::new(
        r#"
[[operations]]
id = "op_busy"
steps = [ { status = "RUNNING" }, { status = "SUCCESS", after = "1s" } ]

[[faults]]
operation_id = "op_busy"
attempts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
kind = "throttle"
retry_after = "50ms"
"#,
    );
    let r = run(t.cmd().args([
        "wait",
        "op_busy",
        "--interval",
        "100ms",
        "--max-interval",
        "400ms",
        "--timeout",
        "30s",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let throttled = t
        .requests()
        .iter()
        .filter(|r| r.fault.as_deref() == Some("throttle"))
        .count();
    assert_eq!(
        throttled, 10,
        "every throttled request was answered by retrying later"
    );
    assert!(r.stdout.contains("SUCCESS"), "{r:?}");
}

#[test]
fn github_actions_get_annotations_and_a_step_summary() {
    let t = TestEnv::new(OPS);
    let summary = t.home.path().join("step-summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let r = run(t
        .cmd()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(fast(&[
            "wait",
            "op_ok",
            "op_fail",
            "op_run",
            "--timeout",
            "2s",
        ])));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "::error title=bpstudio-op wait::op_fail: FAILURE — quota exceeded | zone k\n"
        ),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("::error title=bpstudio-op wait::op_run: timed out"),
        "{r:?}"
    );
    assert!(
        !r.stderr.contains("::error title=bpstudio-op wait::op_ok"),
        "{r:?}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("# earlier step\n"),
        "appended, not replaced: {md}"
    );
    assert!(
        md.contains("| Operation | Result | Exit | Polls | Message |"),
        "{md}"
    );
    assert!(md.contains("| `op_ok` | ✅ SUCCESS | 0 |"), "{md}");
    assert!(
        md.contains("| `op_fail` | ❌ FAILURE | 1 |") && md.contains("quota exceeded \\| zone k"),
        "{md}"
    );
    assert!(md.contains("| `op_run` | ⏹️ TIMEOUT | 124 |"), "{md}");
}

#[test]
fn api_errors_name_the_id_and_annotate_in_actions() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .bare()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-secret")
        .env("GITHUB_ACTIONS", "true")
        .args(fast(&["wait", "op_ok"])));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("error: op_ok: "), "{r:?}");
    assert!(r.stderr.contains("SignatureDoesNotMatch"), "{r:?}");
    assert!(
        r.stderr.contains("::error title=bpstudio-op wait::op_ok: "),
        "{r:?}"
    );
    assert_eq!(
        r.stdout, "",
        "one id without an answer: the error says it all: {r:?}"
    );
    assert_no_secrets(&r);
}

#[test]
fn heartbeats_off_a_terminal_and_none_on_one() {
    let t = TestEnv::new(OPS);
    let r = run(t.cmd().env("BPSTUDIO_OP_TEST_HEARTBEAT", "1s").args(fast(&[
        "wait",
        "op_run",
        "op_ok",
        "--timeout",
        "3500ms",
    ])));
    assert_eq!(r.code, 124, "{r:?}");
    let beats: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("bpstudio-op: waiting for "))
        .collect();
    assert!(
        beats.len() >= 2 && beats.len() <= 4,
        "about one a second: {r:?}"
    );
    assert!(
        beats
            .iter()
            .any(|b| b.starts_with("bpstudio-op: waiting for 2 operations: ")
                || b.starts_with("bpstudio-op: waiting for 1 of 2 operations: 1 RUNNING (")),
        "{r:?}"
    );
    assert!(beats.last().unwrap().ends_with("s elapsed)"), "{r:?}");

    // A terminal needs no heartbeat; -q none either.
    for extra in [
        ("BPSTUDIO_OP_TEST_TTY", "stderr"),
        ("BPSTUDIO_OP_TEST_TTY", "none"),
    ] {
        let t = TestEnv::new(OPS);
        let mut cmd = t.cmd();
        cmd.env("BPSTUDIO_OP_TEST_HEARTBEAT", "1s")
            .env(extra.0, extra.1);
        if extra.1 == "none" {
            cmd.arg("-q");
        }
        let r = run(cmd.args(fast(&["wait", "op_run", "--timeout", "2500ms"])));
        assert_eq!(r.code, 124, "{r:?}");
        assert!(!r.stderr.contains("waiting for"), "{r:?}");
        assert!(
            r.stderr.contains("may still finish"),
            "errors still speak: {r:?}"
        );
    }
}

#[test]
fn timeout_and_interval_defaults_come_from_env_and_profile() {
    let t = TestEnv::new(OPS);
    let start = Instant::now();
    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_TIMEOUT", "1s")
        .env("BPSTUDIO_OP_INTERVAL", "100ms")
        .args(["wait", "op_run"]));
    assert_eq!(r.code, 124, "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "ended at the 1s timeout, not later"
    );
    assert!(polls_of(&t, "op_run") >= 4, "the 100ms interval applied");

    let t = TestEnv::new(OPS);
    t.write_config("[profiles.default]\ntimeout = \"1s\"\ninterval = \"100ms\"\n");
    let start = Instant::now();
    let r = run(t.cmd().args(["wait", "op_run"]));
    assert_eq!(r.code, 124, "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "ended at the 1s timeout, not later"
    );
    // The flag beats the profile.
    let r = run(t.cmd().args(["wait", "op_run", "--timeout", "300ms"]));
    assert_eq!(r.code, 124, "{r:?}");
}

#[test]
fn watch_json_lines_parse_back() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .cmd()
        .args(fast(&["-o", "json", "watch", "op_ok", "op_fail"])));
    assert_eq!(r.code, 1, "{r:?}");
    let events: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        assert_eq!(e["schema"], "bpstudio-op.watch/1", "{e}");
        assert!(e["elapsed_ms"].is_u64() && e["polls"].is_u64(), "{e}");
    }
    let of = |id: &str| -> Vec<&Value> { events.iter().filter(|e| e["id"] == id).collect() };
    let ok = of("op_ok");
    let kinds: Vec<(&str, &str)> = ok
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("status", "INIT"),
            ("status", "RUNNING"),
            ("status", "SUCCESS"),
            ("final", "SUCCESS")
        ]
    );
    let last = ok.last().unwrap();
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["result"], "SUCCESS");
    assert_eq!(last["body"]["Data"]["OperationId"], "op_ok");
    assert_eq!(last["body"]["Code"], "200");
    let fail = of("op_fail");
    assert_eq!(fail.last().unwrap()["exit_code"], 1);
    assert_eq!(fail.last().unwrap()["result"], "FAILURE");
    assert_eq!(
        events.iter().filter(|e| e["event"] == "final").count(),
        2,
        "one final event per id"
    );
    // Off a terminal with JSON on stdout, stderr has no per-change lines.
    assert!(!r.stderr.contains("op_ok: "), "{r:?}");
}
