//! The emulator for `scripts/bench-watch`, run as a library so the benchmark can read its exact
//! `max_in_flight` (the binary's request log has millisecond resolution only).
//!
//! ```text
//! cargo run --release --example bench_emulator -- SCENARIO.toml < control-fifo
//! ```
//!
//! Prints `listening on http://127.0.0.1:PORT` first; when stdin reaches its end it prints
//! `requests N` and `max_in_flight N` and stops. An example, not a feature.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: bench_emulator SCENARIO.toml  (stops at the end of stdin)");
        return ExitCode::from(2);
    };
    let scenario = match bpstudio_emulator::Scenario::load(Path::new(path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let emulator = match bpstudio_emulator::start(scenario) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot start the emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", emulator.url());
    let _ = out.flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let _ = writeln!(out, "requests {}", emulator.requests().len());
    let _ = writeln!(out, "max_in_flight {}", emulator.max_in_flight());
    let _ = out.flush();
    ExitCode::SUCCESS
}
