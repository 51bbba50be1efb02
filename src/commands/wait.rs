//! `wait` and `watch`: poll until every operation is terminal or the deadline passes.

use super::Context;
use crate::cli::PollArgs;
use crate::error::{Error, Result};

/// Which of the two commands is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Wait,
    Watch,
}

pub async fn run(_ctx: &Context, _args: &PollArgs, _mode: Mode) -> Result<i32> {
    Err(Error::usage("wait and watch are being built").with_hint("use `bpstudio-op get` for now"))
}
