//! `bpstudio-op`: what happened to my Alibaba Cloud BPStudio operation?
//!
//! The binary in `main.rs` only parses arguments, calls [`run`] and maps the one error that
//! comes back to one exit code. The modules, by dependency direction:
//!
//! - [`operation`], [`error`]: domain types, no I/O.
//! - [`sign`]: pure signing functions (RPC V1 and V3), no clock, no I/O.
//! - [`config`], [`credentials`]: profile files and the credential chain.
//! - [`endpoint`]: which host a request goes to; [`tls`]: the TLS settings of every client;
//!   [`wire`]: describing failures, masking secrets, the service's error body.
//! - [`client`]: the API client (HTTP, retries); knows nothing of the terminal.
//! - [`poll`]: the polling engine, generic over "fetch" and "sleep".
//! - [`render`]: table and JSON output; knows nothing of HTTP.
//! - [`progress`]: the live view of `watch` and `wait` (spinners, plain lines, JSON events,
//!   GitHub Actions annotations); knows nothing of HTTP.
//! - [`cli`], [`commands`]: argument parsing and the subcommands that tie it together.

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod configure;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod operation;
pub mod poll;
pub mod progress;
pub mod render;
pub mod sign;
pub mod tls;
pub mod wire;

pub use commands::run;
