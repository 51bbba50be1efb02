//! The subcommands: each turns parsed arguments into work and an exit code.
//!
//! Owns the glue: settings precedence (flag, then environment variable — both clap's — then
//! the config file, then the default), which streams are terminals, and the one place where
//! an error becomes text on stderr and an exit code. Modules below it (client, render, poll)
//! never print on their own.

mod get;
mod wait;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, ColorChoice, Command, GlobalArgs};
use crate::client::{Client, ClientOptions};
use crate::config::{self, Config, OutputFormat, Profile, SignatureVersion};
use crate::credentials::{self, Env, ProcessEnv};
use crate::endpoint;
use crate::error::{exit, Error, Kind, Result};
use crate::render;

/// Which of the standard streams are terminals. Tests force it with `BPSTUDIO_OP_TEST_TTY`
/// (`stdout`, `stderr`, `both` or `none`), as xh does with `XH_TEST_MODE_TERM`.
#[derive(Debug, Clone, Copy)]
pub struct Terminals {
    pub stdout: bool,
    pub stderr: bool,
    pub stdin: bool,
}

impl Terminals {
    fn detect(env: &dyn Env) -> Self {
        let real = Terminals {
            stdout: io::stdout().is_terminal(),
            stderr: io::stderr().is_terminal(),
            stdin: io::stdin().is_terminal(),
        };
        match env.var("BPSTUDIO_OP_TEST_TTY").as_deref() {
            Some("both") => Terminals {
                stdout: true,
                stderr: true,
                ..real
            },
            Some("stdout") => Terminals {
                stdout: true,
                stderr: false,
                ..real
            },
            Some("stderr") => Terminals {
                stdout: false,
                stderr: true,
                ..real
            },
            Some("none") => Terminals {
                stdout: false,
                stderr: false,
                stdin: false,
            },
            _ => real,
        }
    }
}

/// Everything a subcommand needs to know about how to speak.
pub struct Output {
    pub format: OutputFormat,
    pub terminals: Terminals,
    pub color_stdout: bool,
    pub color_stderr: bool,
    pub quiet: bool,
    /// `GITHUB_ACTIONS=true`: also emit workflow commands and a step summary.
    pub github_actions: bool,
    pub step_summary: Option<PathBuf>,
}

impl Output {
    /// Writes an error on stderr (and a GitHub `::error` line in Actions).
    pub fn error(&self, error: &Error) {
        let mut err = io::stderr().lock();
        let _ = render::write_error(&mut err, error, self.color_stderr);
        if self.github_actions {
            let _ = writeln!(
                err,
                "::error title=bpstudio-op::{}",
                workflow_escape(&error.message)
            );
        }
    }

    /// How to draw a table on stdout: coloured or not, fitted to the terminal when it is one.
    pub fn table_style(&self) -> render::TableStyle {
        let width = self
            .terminals
            .stdout
            .then(|| {
                console::Term::stdout()
                    .size_checked()
                    .map(|(_, cols)| cols as usize)
            })
            .flatten();
        render::TableStyle {
            color: self.color_stdout,
            width,
        }
    }

    /// A warning on stderr, unless `--quiet`.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            let (y, r) = if self.color_stderr {
                ("\x1b[33m", "\x1b[0m")
            } else {
                ("", "")
            };
            eprintln!("{y}warning:{r} {}", render::neutralize(text));
        }
    }
}

/// Escapes a GitHub workflow command's message (`%`, CR, LF).
pub fn workflow_escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Parses the command line, runs it and returns the process exit code.
pub fn run() -> i32 {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // --help and --version print on stdout and succeed; usage errors exit 2.
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return code;
        }
    };
    let env = ProcessEnv;
    let terminals = Terminals::detect(&env);
    let output = output_for(&cli.global, None, terminals, &env);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output.error(&Error::network(format!(
                "cannot start the async runtime: {e}"
            )));
            return exit::NETWORK;
        }
    };
    // `configure` stores only what was typed, not what the environment happens to say.
    let typed = |id: &str| {
        matches
            .subcommand()
            .is_some_and(|(_, m)| m.value_source(id) == Some(ValueSource::CommandLine))
    };
    let typed = Typed {
        region: typed("region"),
        output: typed("output"),
        signature_version: typed("signature_version"),
    };
    match runtime.block_on(execute(cli, typed, terminals, &env)) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => exit::SUCCESS,
        Err(e) => {
            output.error(&e);
            e.exit_code()
        }
    }
}

/// A closed pipe on stdout (`| head`) is not an error worth a word (ripgrep does the same).
fn is_broken_pipe(e: &Error) -> bool {
    e.kind == Kind::Protocol && e.message == BROKEN_PIPE
}

const BROKEN_PIPE: &str = "broken pipe";

/// Converts a write error on stdout; a broken pipe becomes a quiet exit 0.
pub fn write_failed(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Error::protocol(BROKEN_PIPE)
    } else {
        Error::protocol(format!("cannot write the output: {e}"))
    }
}

/// Which global options were given on the command line (not by the environment).
#[derive(Debug, Clone, Copy)]
struct Typed {
    region: bool,
    output: bool,
    signature_version: bool,
}

async fn execute(cli: Cli, typed: Typed, terminals: Terminals, env: &dyn Env) -> Result<i32> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = io::stdout().lock();
            clap_complete::generate(*shell, &mut Cli::command(), "bpstudio-op", &mut out);
            out.flush().map_err(write_failed)?;
            Ok(exit::SUCCESS)
        }
        Command::Configure(args) => {
            // --profile, --region, -o and --signature-version are global options.
            let mut args = args.clone();
            args.profile = cli.global.profile.clone();
            args.region = cli.global.region.clone().filter(|_| typed.region);
            args.output = cli.global.output.filter(|_| typed.output);
            args.signature_version = cli
                .global
                .signature_version
                .filter(|_| typed.signature_version);
            crate::configure::run_on_terminal(&args, &config_path(&cli.global)?)?;
            Ok(exit::SUCCESS)
        }
        Command::Get(args) => {
            let ctx = Context::new(&cli.global, terminals, env)?;
            get::run(&ctx, args).await
        }
        Command::Wait(args) => {
            let ctx = Context::new(&cli.global, terminals, env)?;
            wait::run(&ctx, args, wait::Mode::Wait).await
        }
        Command::Watch(args) => {
            let ctx = Context::new(&cli.global, terminals, env)?;
            wait::run(&ctx, args, wait::Mode::Watch).await
        }
    }
}

/// The config file's path: `--config`/`BPSTUDIO_OP_CONFIG`, else `<config dir>/bpstudio-op/config.toml`.
fn config_path(global: &GlobalArgs) -> Result<PathBuf> {
    if let Some(p) = &global.config {
        return Ok(p.clone());
    }
    dirs::config_dir()
        .map(|d| d.join("bpstudio-op").join("config.toml"))
        .ok_or_else(|| {
            Error::config("cannot find the user's config directory (is HOME set?)")
                .with_hint("name the config file with --config PATH or BPSTUDIO_OP_CONFIG")
        })
}

fn output_for(
    global: &GlobalArgs,
    profile: Option<&Profile>,
    terminals: Terminals,
    env: &dyn Env,
) -> Output {
    let no_color = env.var("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = |is_tty: bool| match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_tty && !no_color,
    };
    Output {
        format: global
            .output
            .or(profile.and_then(|p| p.output))
            .unwrap_or(OutputFormat::Table),
        terminals,
        color_stdout: color(terminals.stdout),
        color_stderr: color(terminals.stderr),
        quiet: global.quiet,
        github_actions: env.var("GITHUB_ACTIONS").as_deref() == Some("true"),
        step_summary: env
            .var("GITHUB_STEP_SUMMARY")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    }
}

/// What `get`, `wait` and `watch` share: settings, output, and a ready API client.
pub struct Context {
    pub output: Output,
    pub client: Client,
    /// The settings profile (explicit, or the config file's default), for timeout defaults.
    pub profile: Option<Profile>,
}

impl Context {
    fn new(global: &GlobalArgs, terminals: Terminals, env: &dyn Env) -> Result<Context> {
        let path = config_path(global)?;
        let config: Option<Config> = config::load(&path)?;
        let home = dirs::home_dir();
        let lookup = credentials::Lookup {
            explicit_profile: global.profile.as_deref(),
            config_path: &path,
            config: config.as_ref(),
            home: home.clone(),
            env,
        };
        let profile = credentials::settings_profile(&lookup);
        let output = output_for(global, profile.as_ref(), terminals, env);
        if let Some(c) = &config {
            for w in &c.warnings {
                output.warn(w);
            }
        }
        let source = credentials::resolve(&lookup)?;

        let region = global
            .region
            .clone()
            .or_else(|| profile.as_ref().and_then(|p| p.region_id.clone()));
        let endpoint_text = global
            .endpoint
            .clone()
            .or_else(|| profile.as_ref().and_then(|p| p.endpoint.clone()));
        let vpc = env
            .var("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = endpoint::resolve(region.as_deref(), endpoint_text.as_deref(), vpc)?;

        let mut options = ClientOptions::new(endpoint);
        options.signature = global
            .signature_version
            .or(profile.as_ref().and_then(|p| p.signature_version))
            .unwrap_or(SignatureVersion::V1);
        options.connect_timeout = global.connect_timeout;
        options.read_timeout = global.read_timeout;
        options.retries = global.retries;
        if global.verbose {
            let trace: crate::client::TraceSink = Arc::new(|line: &str| {
                let _ = writeln!(io::stderr().lock(), "{line}");
            });
            // The first questions when a call is refused: which key, which host, which signature.
            trace(&format!("* credentials: {}", source.describe()));
            trace(&format!(
                "* endpoint: {} (signature {})",
                options.endpoint.url,
                options.signature.as_str()
            ));
            options.trace = Some(trace);
        }
        let client = Client::new(options, source)?;
        Ok(Context {
            output,
            client,
            profile,
        })
    }
}
