//! Hostile input, end to end: the real binary against servers that misbehave on purpose —
//! the emulator's faults and raw TCP servers written here. Each case must end with a clear
//! error (or a neutralised display), within its timeouts, and must never write a control
//! character from the server to the terminal.
//!
//! The time limits asserted here are hang guards, generous multiples of the timeouts given on
//! the command line, not speed targets (those are measured by `scripts/bench`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// The id every scenario here knows.
const ID: &str = "op_target";

/// What a terminal would act on: C0 controls but newline, DEL, C1 controls (raw or UTF-8
/// encoded), and the bidi overrides.
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Asserts that neither stream holds anything a terminal would interpret, `what` naming the run.
fn assert_terminal_safe(out: &Output, what: &str) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8(bytes.clone())
            .unwrap_or_else(|_| panic!("{what}: {name} is not UTF-8: {bytes:?}"));
        let bad = unsafe_chars(&without_our_colours(&text));
        assert!(bad.is_empty(), "{what}: {name} carries {bad:?}:\n{text}");
    }
}

/// The text without the SGR colour codes bpstudio-op itself writes when colour is on (the
/// server's own ESC never gets this far: it is shown as `\u{1b}`).
fn without_our_colours(text: &str) -> String {
    [
        "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[1m", "\x1b[2m", "\x1b[0m",
    ]
    .iter()
    .fold(text.to_owned(), |t, code| t.replace(code, ""))
}

/// Runs the command, returning its output and how long it took.
fn timed(cmd: &mut assert_cmd::Command) -> (Output, Duration) {
    let start = Instant::now();
    let out = cmd.output().expect("run bpstudio-op");
    (out, start.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scenario_with_fault(fault: &str) -> String {
    format!(
        "[[operations]]\nid = \"{ID}\"\nstatus = \"RUNNING\"\n\n[[faults]]\noperation_id = \"{ID}\"\n{fault}\n"
    )
}

// ---- Too big ----------------------------------------------------------------------------

#[test]
fn a_response_larger_than_the_cap_is_refused_at_once() {
    // 64 MB announced in Content-Length: refused before reading, and not retried.
    let t = TestEnv::new(&scenario_with_fault(
        "kind = \"oversize\"\nbytes = 64000000",
    ));
    let (out, took) = timed(t.cmd().args(["get", ID]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("larger than 8 MiB"), "{err}");
    assert!(err.contains("--endpoint"), "names what to check: {err}");
    assert_eq!(t.requests().len(), 1, "a refused body is not retried");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_terminal_safe(&out, "oversize");
}

/// A raw HTTP/1.1 server for one connection at a time: answers every request with `head`,
/// then calls `body` with the stream until it returns or the client goes away. Counts the
/// bytes written after the head.
fn raw_server(
    head: &'static str,
    body: fn(&mut TcpStream, &AtomicU64),
) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let counter = counter.clone();
            thread::spawn(move || {
                // Read the request head (the body is small and follows at once).
                let mut buf = [0u8; 8192];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.read(&mut buf);
                if stream.write_all(head.as_bytes()).is_ok() {
                    body(&mut stream, &counter);
                }
            });
        }
    });
    (url, sent)
}

#[test]
fn a_chunked_response_without_length_is_cut_off_at_the_cap() {
    // No Content-Length to refuse up front: the cap must hold while streaming. The server
    // would send 256 MiB; the client must hang up soon after 8 MiB.
    let (url, sent) = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        |stream, sent| {
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
            if stream.write_all(b"5\r\n{\"a\":\r\n").is_err() {
                return;
            }
            for _ in 0..4096 {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    return;
                }
                sent.fetch_add(64 * 1024, Ordering::Relaxed);
            }
        },
    );
    let t = TestEnv::new("");
    let (out, took) = timed(t.cmd().args(["--endpoint", &url, "get", ID]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("larger than 8 MiB"),
        "{}",
        text(&out.stderr)
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let streamed = sent.load(Ordering::Relaxed);
    assert!(
        streamed < 64 * 1024 * 1024,
        "the client read {streamed} bytes of a body over the cap"
    );
    assert_terminal_safe(&out, "chunked oversize");
}

// ---- Too slow ---------------------------------------------------------------------------

#[test]
fn a_server_trickling_a_byte_a_second_is_cut_off_by_the_timeouts() {
    // Each byte comes within the read timeout, so only the whole-request bound (connect +
    // read timeout) can end it; a ~300-byte answer would otherwise take five minutes.
    let t = TestEnv::new(&scenario_with_fault(
        "kind = \"trickle\"\ninterval = \"1s\"",
    ));
    let (out, took) = timed(t.cmd().args([
        "--connect-timeout",
        "1s",
        "--read-timeout",
        "2s",
        "--retries",
        "0",
        "get",
        ID,
    ]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("timed out"), "{err}");
    assert!(
        took < Duration::from_secs(20),
        "a 3 s bound took {took:?}: the trickle was not cut off"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_terminal_safe(&out, "trickle");
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let (url, _) = raw_server("", |stream, _| {
        // Hold the connection open, say nothing.
        let mut buf = [0u8; 1];
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let _ = stream.read(&mut buf);
    });
    let t = TestEnv::new("");
    let (out, took) = timed(t.cmd().args([
        "--endpoint",
        &url,
        "--connect-timeout",
        "1s",
        "--read-timeout",
        "1s",
        "--retries",
        "1",
        "get",
        ID,
    ]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("timed out"), "{err}");
    assert!(err.contains("gave up after 2 attempts"), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_body_cut_short_is_a_clear_network_error() {
    let t = TestEnv::new(&scenario_with_fault("kind = \"truncate\""));
    let (out, _) = timed(t.cmd().args(["--retries", "1", "get", ID]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("gave up after 2 attempts"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(t.requests().len(), 2, "a cut body is worth a retry");
    assert_terminal_safe(&out, "truncate");
}

// ---- Not JSON ---------------------------------------------------------------------------

#[test]
fn binary_junk_is_a_clear_protocol_error_in_every_mode() {
    // The junk starts with NUL, 0xff, an ESC [31m and a PNG signature.
    let t = TestEnv::new(&scenario_with_fault("kind = \"garbage\""));
    for args in [
        vec!["get", ID],
        vec!["get", ID, "-o", "json"],
        vec!["-v", "get", ID],
        vec!["--color", "always", "get", ID],
    ] {
        let (out, _) = timed(t.cmd().env("BPSTUDIO_OP_TEST_TTY", "both").args(&args));
        assert_eq!(
            out.status.code(),
            Some(5),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(err.contains("not JSON"), "{args:?}: {err}");
        assert!(err.contains("bytes of binary data"), "{args:?}: {err}");
        assert_terminal_safe(&out, &format!("garbage {args:?}"));
    }
    // The junk is a valid answer to nobody: no retry.
    assert_eq!(t.requests().len(), 4);
}

#[test]
fn an_html_page_from_a_proxy_is_named_as_such() {
    let t = TestEnv::new(&scenario_with_fault("kind = \"html\""));
    let (out, _) = timed(t.cmd().args(["--retries", "0", "get", ID]));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("HTML page"),
        "{}",
        text(&out.stderr)
    );
    assert_terminal_safe(&out, "html");
}

// ---- Escape sequences in what the server says ---------------------------------------------

/// Escape sequences that clear the screen, set the window title, write the clipboard
/// (OSC 52), use an 8-bit CSI, reverse text (Trojan Source), overprint with CR/BS, ring the
/// bell — as TOML escapes for a scenario.
const NASTY: &str = r"\u001b[2J\u001b[H\u001b]0;pwned\u0007 \u001b]52;c;cm0gLXJmIH4=\u001b\\ \u009b31m \u202eevil\u202c \u2066iso\u2069 ok\rFAILURE\b\b \u0007 \u007f tab\tend";

fn nasty_scenario() -> String {
    format!(
        r#"
[[operations]]
id = "{ID}"
status = "RUNNING"
message = "{NASTY}"
arguments = "{{\"note\": \"{json_nasty}\", \"n\": 1}}"

[[operations]]
id = "op_nasty_status"
status = "\u001b]0;title\u0007RUNNING\u009b2J"
message = "plain"

[[operations]]
id = "op_nasty_done"
steps = [ {{ status = "SUCCESS" }} ]
message = "{NASTY}"
"#,
        // Inside the JSON document packed in Arguments: JSON escapes, TOML-escaped.
        json_nasty = r"\\u001b[2J\\u001b]0;pwned\\u0007\\u202e"
    )
}

#[test]
fn escape_sequences_in_message_and_arguments_are_shown_not_obeyed() {
    let t = TestEnv::new(&nasty_scenario());
    for (tty, color) in [("both", "auto"), ("both", "always"), ("none", "never")] {
        let (out, _) = timed(t.cmd().env("BPSTUDIO_OP_TEST_TTY", tty).args([
            "--color",
            color,
            "get",
            ID,
            "op_nasty_status",
        ]));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_terminal_safe(&out, &format!("get of two on {tty}, colour {color}"));
        // Shown, visibly: the user can still see what the server sent.
        let stdout = text(&out.stdout);
        assert!(stdout.contains("\\u{1b}[2J"), "{stdout}");
        assert!(stdout.contains("\\u{1b}]0;title"), "{stdout}");
    }
    // One operation: key/value lines, with Arguments decoded from its packed JSON.
    let (out, _) = timed(t.cmd().args(["--color", "never", "get", ID]));
    assert_terminal_safe(&out, "one nasty operation");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\"n\": 1"),
        "Arguments pretty-printed: {stdout}"
    );
}

#[test]
fn json_output_keeps_the_text_but_escapes_control_characters() {
    let t = TestEnv::new(&nasty_scenario());
    let (out, _) = timed(t.cmd().args(["-o", "json", "get", ID]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Every C0 control (ESC, BEL, CR, BS, TAB) is a JSON escape, not a raw byte.
    assert!(
        !out.stdout.iter().any(|&b| b < 0x20 && b != b'\n'),
        "{}",
        text(&out.stdout)
    );
    // ...and the value is exactly what the server sent.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = v["Data"]["Message"].as_str().unwrap();
    assert!(
        message.starts_with("\x1b[2J\x1b[H\x1b]0;pwned\x07"),
        "{message:?}"
    );
}

#[test]
fn escape_sequences_in_an_api_error_are_neutralised_on_stderr() {
    let t = TestEnv::new(&scenario_with_fault(&format!(
        "kind = \"status\"\nstatus = 400\ncode = \"Forbidden.\\u001b[2J\"\nmessage = \"{NASTY}\""
    )));
    let (out, _) = timed(t.cmd().args(["get", ID]));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_terminal_safe(&out, "api error");
    assert!(
        text(&out.stderr).contains("\\u{1b}]0;pwned"),
        "{}",
        text(&out.stderr)
    );
    let (out, _) = timed(t.cmd().args(["-v", "get", ID]));
    assert_eq!(out.status.code(), Some(4));
    assert_terminal_safe(&out, "api error, -v trace");
}

#[test]
fn escape_sequences_never_reach_the_terminal_from_wait_or_watch() {
    let t = TestEnv::new(&nasty_scenario());
    for (cmd, tty) in [("wait", "none"), ("watch", "none"), ("watch", "both")] {
        let (out, took) = timed(
            t.cmd()
                .env("BPSTUDIO_OP_TEST_TTY", tty)
                .env("TERM", "dumb")
                .args([
                    "--color",
                    "never",
                    cmd,
                    "op_nasty_done",
                    "op_nasty_status",
                    "--timeout",
                    "3s",
                    "--interval",
                    "1s",
                ]),
        );
        // op_nasty_status never ends: the deadline does.
        assert_eq!(
            out.status.code(),
            Some(124),
            "{cmd}/{tty}: {}",
            text(&out.stderr)
        );
        assert!(took < Duration::from_secs(30), "{cmd} took {took:?}");
        assert_terminal_safe(&out, &format!("{cmd} on {tty}"));
    }
}

// ---- A server we must not trust ---------------------------------------------------------

/// An HTTPS server on `localhost` with the certificate of `tests/data/tls/` (signed by a
/// test CA that no system trusts). Answers each request with a small success body; returns
/// its URL and the number of requests that got through the TLS handshake.
fn tls_server() -> (String, Arc<AtomicU64>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let cert = CertificateDer::from(std::fs::read(dir.join("localhost.der")).unwrap());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        std::fs::read(dir.join("localhost.key.der")).unwrap(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut buf = [0u8; 8192];
            // The handshake happens here; a client that refuses the certificate ends it.
            if tls.read(&mut buf).is_err() {
                continue;
            }
            counter.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                r#"{{"RequestId":"R-TLS","Code":"200","Data":{{"OperationId":"{ID}","Status":"SUCCESS"}}}}"#
            );
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (url, served)
}

#[test]
fn a_server_certificate_is_verified_against_the_trusted_roots() {
    let t = TestEnv::new("");
    let (url, served) = tls_server();
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");

    // The system's roots do not know the test CA: refused during the handshake, and no
    // request (with its access key id) is sent.
    let (out, _) = timed(
        t.cmd()
            .args(["--endpoint", &url, "--retries", "0", "get", ID]),
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("certificate"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(served.load(Ordering::Relaxed), 0, "a request got through");

    // With the test CA as the trusted roots (the platform verifier reads SSL_CERT_FILE when
    // the first handshake needs roots), the same server is trusted.
    let (out, _) = timed(
        t.cmd()
            .env("SSL_CERT_FILE", &ca)
            .env("SSL_CERT_DIR", t.home.path().join("no-such-dir"))
            .args(["--endpoint", &url, "--retries", "0", "get", ID]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("SUCCESS"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(served.load(Ordering::Relaxed), 1);
}
