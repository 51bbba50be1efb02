//! The command-line definition: subcommands, global options and their environment variables.
//!
//! Owns argument syntax only (SPEC §2). It must not read files, credentials or the network:
//! `commands` turns these values into work. The precedence "flag, then environment variable"
//! is clap's; "then config file, then default" is applied in `commands::settings`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::config::{OutputFormat, SignatureVersion};

const GET_EXAMPLES: &str = "\
Examples:
  bpstudio-op get op_0123456789abcdefgh_ecs_modifyInstanceType_BYSOQGWUV6PME412_ERMEZLXNN3K9N3OL
  bpstudio-op get op_a op_b --output json | jq -r '.[].Data.Status'
  bpstudio-op get op_a --exit-status && echo finished-ok
  bpstudio-op --profile prod --region ap-southeast-1 get op_a";

const WAIT_EXAMPLES: &str = "\
Examples:
  bpstudio-op wait op_a                       # exit 0 on SUCCESS, 1 on FAILURE, 124 on timeout
  bpstudio-op wait op_a op_b --timeout 30m --interval 5s
  BPSTUDIO_OP_TIMEOUT=2h bpstudio-op wait op_a -o json > result.json";

const WATCH_EXAMPLES: &str = "\
Examples:
  bpstudio-op watch op_a op_b                 # live spinners on a terminal
  bpstudio-op watch op_a -o json | jq -c 'select(.event == \"final\")'
  bpstudio-op watch op_a --max-interval 10s --timeout 1h";

const CONFIGURE_EXAMPLES: &str = "\
Examples:
  bpstudio-op configure                                  # interactive, profile 'default'
  bpstudio-op configure --profile prod --region ap-southeast-1
  printf '%s\\n' \"$SECRET\" | bpstudio-op configure --access-key-id LTAI... --secret-stdin";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  bpstudio-op completions bash > ~/.local/share/bash-completion/completions/bpstudio-op
  bpstudio-op completions zsh > \"${fpath[1]}/_bpstudio-op\"
  bpstudio-op completions fish > ~/.config/fish/completions/bpstudio-op.fish";

const ABOUT: &str = "What happened to my Alibaba Cloud BPStudio (CADT) operation?";

const LONG_ABOUT: &str = "\
What happened to my Alibaba Cloud BPStudio (CADT) operation?

`get` shows an operation's status, `wait` blocks until it succeeds or fails (for scripts and CI),
and `watch` shows it live. Credentials are found the way Alibaba's own tools find them: the
ALIBABA_CLOUD_* environment variables, this tool's config file, the aliyun CLI's
~/.aliyun/config.json, or ~/.alibabacloud/credentials.ini.

Exit codes: 0 success, 1 operation FAILURE, 2 usage or configuration error, 3 expired or unknown
operation, 4 the API refused the call, 5 network or protocol failure, 8 still running
(get --exit-status), 124 timeout, 130 interrupted.";

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "bpstudio-op",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any subcommand (SPEC §2).
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Profile to use, from this tool's config file or the aliyun CLI's
    #[arg(
        long,
        global = true,
        env = "ALIBABA_CLOUD_PROFILE",
        value_name = "NAME"
    )]
    pub profile: Option<String>,

    /// Config file [default: <config dir>/bpstudio-op/config.toml]
    #[arg(long, global = true, env = "BPSTUDIO_OP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1
    #[arg(
        long,
        global = true,
        env = "ALIBABA_CLOUD_REGION_ID",
        value_name = "ID"
    )]
    pub region: Option<String>,

    /// Endpoint URL or host, overriding the region's (plain http:// only to loopback)
    #[arg(
        long,
        global = true,
        env = "BPSTUDIO_OP_ENDPOINT",
        value_name = "URL-or-HOST"
    )]
    pub endpoint: Option<String>,

    /// Output format [default: table]
    #[arg(short, long, global = true, env = "BPSTUDIO_OP_OUTPUT", value_enum)]
    pub output: Option<OutputFormat>,

    /// When to colour the output (NO_COLOR is honoured)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print nothing but results and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Trace each request and response on stderr (secrets redacted)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Time allowed to open a connection
    #[arg(long, global = true, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// Time allowed for a whole response once connected
    #[arg(long, global = true, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub read_timeout: Duration,

    /// Retries of a request after a network error, 5xx or throttling
    #[arg(long, global = true, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)
    #[arg(long, global = true, value_enum)]
    pub signature_version: Option<SignatureVersion>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the status of one or more operations, once
    #[command(after_help = GET_EXAMPLES)]
    Get(GetArgs),
    /// Wait until every operation succeeds or fails, then print the results
    #[command(after_help = WAIT_EXAMPLES)]
    Wait(PollArgs),
    /// Like wait, with a live view of each operation on stderr
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(PollArgs),
    /// Create or update a profile in the config file
    #[command(after_help = CONFIGURE_EXAMPLES)]
    Configure(crate::configure::ConfigureArgs),
    /// Print a shell completion script
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `get`.
#[derive(Debug, Args, Clone)]
pub struct GetArgs {
    /// Operation ids, as returned by ExecuteOperationASync (op_...)
    #[arg(required = true, value_name = "OPERATION_ID")]
    pub ids: Vec<String>,

    /// Resource group the operations belong to
    #[arg(long, value_name = "RG")]
    pub resource_group_id: Option<String>,

    /// Exit 1 for FAILURE and 8 for INIT/RUNNING, not only 0
    #[arg(long)]
    pub exit_status: bool,
}

/// `wait` and `watch`.
#[derive(Debug, Args, Clone)]
pub struct PollArgs {
    /// Operation ids, as returned by ExecuteOperationASync (op_...)
    #[arg(required = true, value_name = "OPERATION_ID")]
    pub ids: Vec<String>,

    /// Resource group the operations belong to
    #[arg(long, value_name = "RG")]
    pub resource_group_id: Option<String>,

    /// Give up after this long (exit 124) [default: 60m]
    #[arg(long, env = "BPSTUDIO_OP_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// First delay between polls of an operation [default: 2s]
    #[arg(long, env = "BPSTUDIO_OP_INTERVAL", value_name = "DURATION", value_parser = parse_duration)]
    pub interval: Option<Duration>,

    /// Longest delay between polls while nothing changes
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub max_interval: Duration,

    /// Most requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Parses durations written like `90s`, `2m`, `1h30m` or `500ms`; zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("'{text}' is not a duration ({e}); write it like 90s, 2m, 1h30m or 500ms")
    })?;
    if d.is_zero() {
        return Err(format!(
            "'{text}' is zero; give a positive duration such as 2s"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["bpstudio-op", "-o", "json", "get", "op_a"]).unwrap();
        let after = Cli::try_parse_from(["bpstudio-op", "get", "op_a", "-o", "json"]).unwrap();
        assert_eq!(before.global.output, Some(OutputFormat::Json));
        assert_eq!(after.global.output, Some(OutputFormat::Json));
    }

    #[test]
    fn durations_parse_in_human_form() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("30").unwrap_err().contains("90s"));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn get_needs_an_id() {
        assert!(Cli::try_parse_from(["bpstudio-op", "get"]).is_err());
    }
}
