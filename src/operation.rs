//! Domain types of a BPStudio operation, shared by the API client, the polling engine and
//! the renderers. No I/O here, no wire structs: the client converts its wire types into these.

use std::fmt;

/// The status of an operation (SPEC §1): compared case-insensitively, unknown values kept
/// verbatim and treated as not terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Init,
    Running,
    Success,
    Failure,
    /// A value the service sent that we do not know; kept as received.
    Other(String),
}

impl Status {
    /// Reads a status as the service sends it, case-insensitively.
    pub fn parse(raw: &str) -> Status {
        match raw.trim().to_ascii_uppercase().as_str() {
            "INIT" => Status::Init,
            "RUNNING" => Status::Running,
            "SUCCESS" => Status::Success,
            "FAILURE" => Status::Failure,
            _ => Status::Other(raw.to_string()),
        }
    }

    /// `SUCCESS` and `FAILURE` end an operation; everything else may still change.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Status::Success | Status::Failure)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Init => "INIT",
            Status::Running => "RUNNING",
            Status::Success => "SUCCESS",
            Status::Failure => "FAILURE",
            Status::Other(s) => s,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Data` of a `GetExecuteOperationResult` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub operation_id: Option<String>,
    /// `None` when the service sent no `Status` field.
    pub status: Option<Status>,
    pub message: Option<String>,
    /// `Arguments` as text: a JSON string as received, or other JSON re-serialised.
    pub arguments: Option<String>,
}

/// One answer of `GetExecuteOperationResult` for one requested id.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The id that was asked for.
    pub requested_id: String,
    pub request_id: Option<String>,
    /// `None`: the answer had no `Data`, the id is expired or unknown.
    pub operation: Option<Operation>,
    /// The response body as received, for `--output json` (every field kept).
    pub body: serde_json::Value,
}

impl Lookup {
    /// The status, if the operation is known and has one.
    pub fn status(&self) -> Option<&Status> {
        self.operation.as_ref().and_then(|o| o.status.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_case_insensitive_and_keeps_unknown_values() {
        assert_eq!(Status::parse("success"), Status::Success);
        assert_eq!(Status::parse("Failure"), Status::Failure);
        assert_eq!(Status::parse("PAUSED"), Status::Other("PAUSED".into()));
        assert!(!Status::parse("PAUSED").is_terminal());
        assert!(Status::parse("SUCCESS").is_terminal());
        assert!(!Status::parse("running").is_terminal());
    }
}
