//! The one error type every fallible function of the tool returns, and its exit code.
//!
//! Owns the mapping from "what went wrong" to the exit codes of SPEC §3. It must not print
//! anything: `main` renders the error once, on stderr.

use std::fmt;

/// Exit codes of SPEC §3.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const EXPIRED: i32 = 3;
    pub const API: i32 = 4;
    pub const NETWORK: i32 = 5;
    pub const STILL_RUNNING: i32 = 8;
    pub const TIMEOUT: i32 = 124;
    pub const INTERRUPTED: i32 = 130;

    /// With several ids, the first code of this list that applies wins (SPEC §3).
    pub const PRECEDENCE: [i32; 9] = [
        INTERRUPTED,
        USAGE,
        API,
        NETWORK,
        EXPIRED,
        FAILURE,
        TIMEOUT,
        STILL_RUNNING,
        SUCCESS,
    ];

    /// The code that wins among `codes` by [`PRECEDENCE`]; `SUCCESS` for none.
    pub fn combine(codes: impl IntoIterator<Item = i32>) -> i32 {
        let codes: Vec<i32> = codes.into_iter().collect();
        PRECEDENCE
            .iter()
            .copied()
            .find(|c| codes.contains(c))
            .unwrap_or(SUCCESS)
    }
}

/// An error body returned by the service (SPEC §1), kept for the message and the hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status of the response.
    pub http_status: u16,
    /// The API error code, e.g. `SignatureDoesNotMatch`.
    pub code: String,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    pub recommend: Option<String>,
    /// How long the service asked us to wait before retrying (`x-acs-retry-after`).
    pub retry_after: Option<std::time::Duration>,
}

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Bad flags or arguments (exit 2).
    Usage,
    /// Configuration or credentials missing or malformed, or a refused endpoint (exit 2).
    Config,
    /// The API answered with an error code (exit 4).
    Api(Box<ApiFailure>),
    /// Network, TLS, timeout or a body that is not the expected JSON, after retries (exit 5).
    Network,
    /// A response that is not what the protocol promises (exit 5).
    Protocol,
    /// SIGINT or SIGTERM (exit 130).
    Interrupted,
}

/// An error for the person at the terminal: what failed, and what to try next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    /// What failed, in one sentence.
    pub message: String,
    /// What to try next, when we know.
    pub hint: Option<String>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(Kind::Network, message)
    }
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(Kind::Protocol, message)
    }
    pub fn api(failure: ApiFailure, message: impl Into<String>) -> Self {
        Self::new(Kind::Api(Box::new(failure)), message)
    }
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }
    /// Adds (or replaces) the "what to try next" line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit code of SPEC §3 for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Usage | Kind::Config => exit::USAGE,
            // A 5xx that outlasted the retries is the service failing, not refusing (SPEC §3).
            Kind::Api(ref f) if f.http_status >= 500 => exit::NETWORK,
            Kind::Api(_) => exit::API,
            Kind::Network | Kind::Protocol => exit::NETWORK,
            Kind::Interrupted => exit::INTERRUPTED,
        }
    }

    /// The API failure behind this error, if the service answered with one.
    pub fn api_failure(&self) -> Option<&ApiFailure> {
        match &self.kind {
            Kind::Api(f) => Some(f),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::exit::*;
    use super::{ApiFailure, Error};

    #[test]
    fn api_refusals_are_4_and_server_failures_5() {
        let refusal = ApiFailure {
            http_status: 400,
            code: "SignatureDoesNotMatch".into(),
            ..Default::default()
        };
        assert_eq!(Error::api(refusal, "x").exit_code(), API);
        let failure = ApiFailure {
            http_status: 503,
            code: "ServiceUnavailable".into(),
            ..Default::default()
        };
        assert_eq!(Error::api(failure, "x").exit_code(), NETWORK);
    }

    #[test]
    fn combine_follows_spec_order() {
        assert_eq!(combine([SUCCESS, FAILURE, EXPIRED]), EXPIRED);
        assert_eq!(combine([TIMEOUT, FAILURE]), FAILURE);
        assert_eq!(combine([STILL_RUNNING, TIMEOUT]), TIMEOUT);
        assert_eq!(combine([NETWORK, API]), API);
        assert_eq!(combine([USAGE, INTERRUPTED]), INTERRUPTED);
        assert_eq!(combine([]), SUCCESS);
    }
}
