//! The subcommands (being written).

/// Runs the parsed command line; returns the process exit code.
pub fn run() -> i32 {
    0
}
