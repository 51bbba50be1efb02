//! `bpstudio-emulator`: run the BPStudio stand-in until SIGINT or SIGTERM.
//!
//! Parses flags, builds the scenario, starts the server and prints
//! `listening on http://<host>:<port>` as the first stdout line, flushed at once.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use bpstudio_emulator::Scenario;
use clap::Parser;

/// A local, signature-verifying stand-in for the Alibaba Cloud BPStudio API.
#[derive(Parser, Debug)]
#[command(name = "bpstudio-emulator", version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port; read it from the first stdout line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Scenario file (TOML): credentials, clock, lifecycles, operations, faults.
    #[arg(long, value_name = "FILE.toml")]
    scenario: Option<PathBuf>,
    /// Serve the built-in demo (credentials and operations listed on stderr).
    #[arg(long)]
    demo: bool,
    /// Accept this access key too (repeatable).
    #[arg(long = "access-key", value_name = "ID:SECRET")]
    access_keys: Vec<String>,
    /// Write one JSON line per request to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    log: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bpstudio-emulator: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let mut scenario = match (&cli.scenario, cli.demo) {
        (Some(_), true) => return Err("--scenario and --demo exclude each other".into()),
        (Some(path), false) => Scenario::load(path)?,
        (None, true) => Scenario::demo(),
        (None, false) => Scenario::default(),
    };
    for pair in &cli.access_keys {
        let (id, secret) = pair
            .split_once(':')
            .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
            .ok_or_else(|| "--access-key wants ID:SECRET".to_string())?;
        scenario = scenario.with_access_key(id, secret);
    }
    if scenario.credentials.is_empty() {
        eprintln!(
            "bpstudio-emulator: warning: no credentials configured, every signed request will get InvalidAccessKeyId.NotFound (use --access-key ID:SECRET, --demo or a scenario)"
        );
    }
    let log: Option<Box<dyn Write + Send>> = match &cli.log {
        Some(path) => {
            Some(Box::new(std::fs::File::create(path).map_err(|e| {
                format!("cannot create log {}: {e}", path.display())
            })?))
        }
        None => None,
    };
    let demo = cli.demo;
    // Handlers go in before the first line: a script may signal as soon as it reads it.
    let signals = Signals::install()?;
    let emulator =
        bpstudio_emulator::start_with_log(scenario, SocketAddr::new(cli.host, cli.port), log)
            .map_err(|e| format!("cannot listen on {}:{}: {e}", cli.host, cli.port))?;

    {
        let mut stdout = std::io::stdout().lock();
        // Scripts read the port from this exact first line.
        let _ = writeln!(stdout, "listening on {}", emulator.url());
        let _ = stdout.flush();
    }
    if demo {
        eprintln!(
            "demo credentials: access key id {}  secret {}",
            bpstudio_emulator::DEMO_ACCESS_KEY_ID,
            bpstudio_emulator::DEMO_ACCESS_KEY_SECRET
        );
        eprintln!(
            "demo STS credentials: id {}  secret {}  token {}",
            bpstudio_emulator::DEMO_STS_ACCESS_KEY_ID,
            bpstudio_emulator::DEMO_STS_ACCESS_KEY_SECRET,
            bpstudio_emulator::DEMO_STS_SECURITY_TOKEN
        );
        eprintln!(
            "demo operations:\n  {}  (INIT -> RUNNING -> SUCCESS within ~8 s)\n  {}  (-> FAILURE within ~4 s)\n  {}  (expired: no Data)",
            bpstudio_emulator::DEMO_SUCCESS_ID,
            bpstudio_emulator::DEMO_FAILURE_ID,
            bpstudio_emulator::DEMO_EXPIRED_ID
        );
        eprintln!(
            "demo credential doors: STS AssumeRole / AssumeRoleWithOIDC at {url}/ (Version 2015-04-01, role {}, OIDC provider {}), metadata role {} at {url}/latest/meta-data/ram/security-credentials/, credentials URI {url}/credentials",
            bpstudio_emulator::DEMO_ROLE_ARN,
            bpstudio_emulator::DEMO_OIDC_PROVIDER_ARN,
            bpstudio_emulator::DEMO_ECS_ROLE_NAME,
            url = emulator.url()
        );
    }

    signals.wait();
    emulator.stop();
    Ok(())
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), registered at once, awaited later.
struct Signals {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the signal handler: {e}"))?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _context = runtime.enter();
            let interrupt = signal(SignalKind::interrupt())
                .map_err(|e| format!("cannot listen for SIGINT: {e}"))?;
            let terminate = signal(SignalKind::terminate())
                .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
            drop(_context);
            Ok(Signals {
                runtime,
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals { runtime })
    }

    /// Blocks until one of the signals arrives.
    fn wait(self) {
        #[cfg(unix)]
        {
            let Signals {
                runtime,
                mut interrupt,
                mut terminate,
            } = self;
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
        }
        #[cfg(not(unix))]
        {
            let _ = self.runtime.block_on(tokio::signal::ctrl_c());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
