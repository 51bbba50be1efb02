//! The live view of `watch` tested on purpose: plain lines off a terminal, spinners with an
//! injected terminal and under a real pseudo-terminal (`script`), `-q`, and SIGINT/SIGTERM
//! sent to the running binary (exit 130, where each id stood, the cursor shown again).

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const OPS: &str = r#"
[[operations]]
id = "op_ok"
steps = [ { status = "INIT" }, { status = "RUNNING", after = "300ms", message = "scaling \u001b[2J out" },
          { status = "SUCCESS", after = "1200ms" } ]

[[operations]]
id = "op_xxxxxxxxxxxxxxxxxx_ecs_modifyInstanceType_BYSOQGWUV6PME412_ERMEZLXNN3K9N3OL"
steps = [ { status = "RUNNING" }, { status = "FAILURE", after = "600ms", message = "quota exceeded" } ]

[[operations]]
id = "op_run"
status = "RUNNING"
"#;

const LONG_ID: &str =
    "op_xxxxxxxxxxxxxxxxxx_ecs_modifyInstanceType_BYSOQGWUV6PME412_ERMEZLXNN3K9N3OL";
const SHORT_ID: &str = "op_…_ecs_modifyInstanceType_…N3OL";
const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

#[test]
fn off_a_terminal_one_plain_line_per_change_and_per_end() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .cmd()
        .args(["watch", "op_ok", LONG_ID, "--interval", "150ms"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        !r.stderr.contains('\x1b'),
        "no escape sequences off a terminal: {r:?}"
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    let first = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
    let init = first("op_ok: INIT after ").expect("INIT line");
    let running = first("op_ok: RUNNING after ").expect("RUNNING line");
    let done = first("✔ op_ok: SUCCESS after ").expect("final line");
    assert!(init < running && running < done, "{r:?}");
    // Server text is neutralised.
    assert!(
        lines[running].ends_with("— scaling \\u{1b}[2J out"),
        "{r:?}"
    );
    // Full ids off a terminal (logs are searched), one line per change only.
    assert!(
        r.stderr.contains(&format!("✘ {LONG_ID}: FAILURE after ")),
        "{r:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("op_ok: RUNNING"))
            .count(),
        1,
        "{r:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("bpstudio-op: 2 operations in "),
        "{r:?}"
    );
    assert!(
        lines.last().unwrap().ends_with(": 1 SUCCESS, 1 FAILURE"),
        "{r:?}"
    );
    // The results table still goes to stdout, like wait.
    assert!(r.stdout.starts_with("OPERATION ID"), "{r:?}");
}

#[test]
fn quiet_keeps_only_errors() {
    let t = TestEnv::new(OPS);
    let r = run(t.cmd().env("BPSTUDIO_OP_TEST_TTY", "stderr").args([
        "-q",
        "watch",
        "op_ok",
        "--interval",
        "150ms",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    let r = run(t.cmd().args([
        "-q",
        "watch",
        "op_run",
        "--interval",
        "150ms",
        "--timeout",
        "1s",
    ]));
    assert_eq!(r.code, 124, "{r:?}");
    assert!(r.stderr.contains("may still finish"), "{r:?}");
    assert!(!r.stderr.contains("op_run: RUNNING"), "{r:?}");
}

#[test]
fn with_an_injected_terminal_spinners_draw_then_finish_cleanly() {
    let t = TestEnv::new(OPS);
    let r = run(t
        .cmd()
        .env("BPSTUDIO_OP_TEST_TTY", "stderr")
        .env("TERM", "xterm-256color")
        .args(["watch", "op_ok", LONG_ID, "--interval", "150ms"]));
    assert_eq!(r.code, 1, "{r:?}");
    let err = &r.stderr;
    assert!(err.starts_with(HIDE_CURSOR), "{err:?}");
    // A spinner line: frame, shortened id, coloured status, elapsed, polls, the message.
    assert!(
        err.contains(&format!("{SHORT_ID} \x1b[33mRUNNING \x1b[0m")),
        "{err:?}"
    );
    // Server text neutralised (and cut to the 80-column injected terminal).
    assert!(err.contains(" polls    scaling \\u{1b"), "{err:?}");
    assert!(["⠋", "⠙", "⠹"].iter().any(|f| err.contains(f)), "{err:?}");
    assert!(err.contains("\x1b[1A"), "lines redrawn in place: {err:?}");
    // Each id ends in a ✔/✘ line, then the summary once the cursor is back.
    assert!(
        err.contains("\x1b[32m✔\x1b[0m op_ok: \x1b[32mSUCCESS\x1b[0m after "),
        "{err:?}"
    );
    assert!(
        err.contains(&format!(
            "\x1b[31m✘\x1b[0m {SHORT_ID}: \x1b[31mFAILURE\x1b[0m after "
        )),
        "{err:?}"
    );
    let shown = err.rfind(SHOW_CURSOR).expect("cursor shown again");
    assert!(shown > err.rfind(HIDE_CURSOR).unwrap());
    assert!(
        err[shown..].starts_with(&format!("{SHOW_CURSOR}bpstudio-op: 2 operations in ")),
        "{err:?}"
    );
    assert!(
        !r.stdout.contains('\x1b'),
        "stdout is not the terminal: {r:?}"
    );
}

#[test]
fn under_a_real_pseudo_terminal_spinners_draw() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let t = TestEnv::new(OPS);
    let bin = assert_cmd::cargo::cargo_bin("bpstudio-op");
    let out = Command::new("script")
        .args(["-qfec"])
        .arg(format!(
            "stty cols 100 rows 20; {} watch op_ok --interval 150ms",
            bin.display()
        ))
        .arg("/dev/null")
        .envs(base_env(&t))
        .env("TERM", "xterm")
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text:?}");
    assert!(
        text.contains(HIDE_CURSOR) && text.contains(SHOW_CURSOR),
        "{text:?}"
    );
    assert!(text.contains("RUNNING"), "{text:?}");
    assert!(text.contains("✔"), "{text:?}");
    assert!(text.contains("1 operation in "), "{text:?}");
}

/// The environment of [`TestEnv::cmd`], for processes started by hand.
fn base_env(t: &TestEnv) -> Vec<(String, String)> {
    let home = t.home.path().display().to_string();
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".into(), home.clone()),
        ("XDG_CONFIG_HOME".into(), format!("{home}/.config")),
        (
            "BPSTUDIO_OP_CONFIG".into(),
            t.config_path().display().to_string(),
        ),
        ("BPSTUDIO_OP_ENDPOINT".into(), t.emulator.url()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED".into(), "true".into()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID".into(), AK_ID.into()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET".into(), AK_SECRET.into()),
    ]
}

fn spawn(t: &TestEnv, tty: &str, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("bpstudio-op"))
        .env_clear()
        .envs(base_env(t))
        .env("BPSTUDIO_OP_TEST_TTY", tty)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bpstudio-op")
}

/// Sends `signal` once the binary has polled a few times; returns (exit code, stdout,
/// stderr, time from the signal to the exit).
fn interrupt(
    t: &TestEnv,
    mut child: Child,
    signal: &str,
) -> (Option<i32>, String, String, Duration) {
    let start = Instant::now();
    while t.requests().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the binary never polled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after {signal}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = sent.elapsed();
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, out, err, took)
}

#[test]
fn sigint_stops_promptly_restores_the_cursor_and_says_where_ids_stood() {
    let t = TestEnv::new(OPS);
    let child = spawn(
        &t,
        "stderr",
        &["watch", "op_run", "op_ok", "--interval", "100ms"],
    );
    // op_ok succeeds at 1.2 s; interrupt before that is not guaranteed, so accept either.
    let (code, out, err, took) = interrupt(&t, child, "-INT");
    assert_eq!(code, Some(130), "{err:?}");
    // Promptly, not at the 60m default timeout; generous for a loaded CI machine.
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    let shown = err.rfind(SHOW_CURSOR).expect("cursor shown again");
    assert!(shown > err.rfind(HIDE_CURSOR).unwrap(), "{err:?}");
    let tail = &err[shown..];
    assert!(
        tail.contains("bpstudio-op: interrupted; where each operation stood:\n"),
        "{err:?}"
    );
    assert!(
        tail.contains("  op_run  RUNNING, not finished, "),
        "{err:?}"
    );
    assert!(tail.contains("  op_ok   "), "{err:?}");
    assert_eq!(out, "", "no results on stdout after an interruption");
    // Polling stopped: nothing more reaches the emulator.
    let seen = t.requests().len();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(t.requests().len(), seen);
}

#[test]
fn sigterm_stops_wait_off_a_terminal_with_exit_130() {
    let t = TestEnv::new(OPS);
    let child = spawn(&t, "none", &["wait", "op_run", "--interval", "100ms"]);
    let (code, _out, err, took) = interrupt(&t, child, "-TERM");
    assert_eq!(code, Some(130), "{err:?}");
    // Promptly, not at the 60m default timeout; generous for a loaded CI machine.
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(
        err.contains("interrupted; where each operation stood:\n  op_run  RUNNING, not finished, "),
        "{err:?}"
    );
}

#[test]
fn sigint_under_json_events_still_ends_each_id_with_a_final_event() {
    let t = TestEnv::new(OPS);
    let child = spawn(
        &t,
        "none",
        &["-o", "json", "watch", "op_run", "--interval", "100ms"],
    );
    let (code, out, err, _took) = interrupt(&t, child, "-INT");
    assert_eq!(code, Some(130), "{err:?}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = events.last().expect("events");
    assert_eq!(last["event"], "final", "{out}");
    assert_eq!(last["result"], "INTERRUPTED", "{out}");
    assert_eq!(last["exit_code"], 130, "{out}");
    assert_eq!(last["status"], "RUNNING", "{out}");
    assert!(
        err.contains("interrupted; where each operation stood:"),
        "{err:?}"
    );
}

#[test]
fn closed_stdout_under_json_events_ends_quietly() {
    use std::io::BufRead;
    let t = TestEnv::new(
        r#"
[[operations]]
id = "op_slow"
steps = [ { status = "INIT" }, { status = "RUNNING", after = "300ms" } ]
"#,
    );
    let mut child = spawn(
        &t,
        "none",
        &[
            "-o",
            "json",
            "watch",
            "op_slow",
            "--interval",
            "100ms",
            "--timeout",
            "30s",
        ],
    );
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"status\":\"INIT\""), "{first}");
    // The reader is gone (like `| head -1`): the next event fails, and polling ends.
    let start = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still polling 10 s after stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
}
