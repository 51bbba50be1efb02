//! `wait` and `watch`: poll until every operation is terminal or the deadline passes (SPEC §2).
//!
//! Owns the glue around the polling engine: the settings (flag, environment, profile,
//! default), the fetch through the API client, SIGINT/SIGTERM, the clock that drives the live
//! view, the final results on stdout and the exit code. The engine (`poll`) decides, the view
//! (`progress`) speaks; neither is touched here beyond their public API.
//!
//! Decisions where the SPEC is silent:
//! - After SIGINT/SIGTERM nothing goes to stdout (the results are incomplete); where each id
//!   stood goes to stderr. `watch -o json` still ends each id with its `final` event.
//! - `watch` prints the same final results on stdout as `wait`, except with `-o json`, whose
//!   `final` events already carry each body (a JSON document after them would break the
//!   JSON Lines stream).
//! - A closed stdout under `watch -o json` ends polling at once, quietly (exit 0), as a
//!   closed pipe does for `get`.
//! - The signal handlers are installed before the first request, so an early Ctrl-C is an
//!   orderly exit 130 too, never a kill in the middle of drawing.

use std::cell::RefCell;
use std::future::pending;
use std::io::{self, BufWriter, Write};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior};

use super::{write_failed, Context};
use crate::cli::{parse_duration, PollArgs};
use crate::config::OutputFormat;
use crate::error::{Error, Result};
use crate::poll::{overall_exit_code, poll_all, Outcome, PollOptions, TokioClock};
use crate::progress::{Ending, Progress, View, ViewOptions, HEARTBEAT};
use crate::render::{self, Entry};

/// Which of the two commands is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Wait,
    Watch,
}

/// Hidden test hook: the heartbeat period (e.g. `1s`) instead of [`HEARTBEAT`].
const TEST_HEARTBEAT_VAR: &str = "BPSTUDIO_OP_TEST_HEARTBEAT";

/// Polls `args.ids`, shows progress, prints each final result and returns the exit code.
pub async fn run(ctx: &Context, args: &PollArgs, mode: Mode) -> Result<i32> {
    let opts = poll_options(ctx, args);
    let out = &ctx.output;
    let json = out.format == OutputFormat::Json;
    let json_events = mode == Mode::Watch && json;
    let view = View::choose(
        mode == Mode::Watch,
        out.terminals.stderr,
        out.terminals.stdout,
        out.quiet,
        json_events,
    );
    // A dumb terminal cannot move the cursor: plain lines instead of spinners.
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let view = if view == View::Spinners && dumb {
        View::Plain
    } else {
        view
    };
    let heartbeat = std::env::var(TEST_HEARTBEAT_VAR)
        .ok()
        .and_then(|v| parse_duration(&v).ok())
        .unwrap_or(HEARTBEAT);
    let view_opts = ViewOptions {
        command: match mode {
            Mode::Wait => "wait",
            Mode::Watch => "watch",
        },
        view,
        json_events,
        color: out.color_stderr,
        heartbeat,
        github_actions: out.github_actions,
        step_summary: out.step_summary.clone(),
        terminal_size: terminal_size(),
    };

    let cancel = interrupted()?;
    let start = Instant::now();
    let progress = RefCell::new(Progress::new(
        &args.ids,
        view_opts,
        io::stdout(),
        BufWriter::new(io::stderr()),
    ));
    let tick_period = progress.borrow().tick_period();

    let interrupt_seen = std::cell::Cell::new(false);
    let outcomes = {
        let rg = args.resource_group_id.as_deref();
        let fetch = |id: String| async move { ctx.client.get_operation(&id, rg).await };
        // Events that cannot be written (`watch -o json | head -1`) end polling too.
        let events_broken = Notify::new();
        let on_event = |event: crate::poll::Event<'_>| {
            let mut p = progress.borrow_mut();
            p.on_event(&event);
            if p.output_failed() {
                events_broken.notify_one();
            }
        };
        let cancel = async {
            tokio::select! {
                _ = cancel => interrupt_seen.set(true),
                _ = events_broken.notified() => {}
            }
        };
        let polling = poll_all(&args.ids, &opts, fetch, &TokioClock, on_event, cancel);
        let mut polling = std::pin::pin!(polling);
        let mut ticker = tick_period.map(|p| {
            let mut t = tokio::time::interval_at(start + p, p);
            t.set_missed_tick_behavior(MissedTickBehavior::Delay);
            t
        });
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut polling => break outcomes,
                _ = async {
                    match ticker.as_mut() {
                        Some(t) => { t.tick().await; }
                        None => pending::<()>().await,
                    }
                } => progress.borrow_mut().tick(start.elapsed()),
            }
        };
        outcomes
    };

    let ending = if interrupt_seen.get() {
        Ending::Interrupted
    } else {
        Ending::Done
    };
    let mut progress = progress.into_inner();
    progress.finish(&outcomes, start.elapsed(), ending);
    let events_error = progress.take_output_error();
    drop(progress);
    if let Some(e) = events_error {
        return Err(write_failed(e));
    }

    // Errors in full, each naming its id (the view gave only a line).
    for (id, outcome) in &outcomes {
        if let Some(e) = outcome.error() {
            let mut e = e.clone();
            e.message = format!("{id}: {}", e.message);
            let mut err = io::stderr().lock();
            let _ = render::write_error(&mut err, &e, out.color_stderr);
        }
    }

    if ending == Ending::Done && !json_events {
        print_results(ctx, &outcomes)?;
    }
    Ok(overall_exit_code(&outcomes))
}

/// The engine's options: `--timeout`/`--interval` from the flag or environment (clap), else
/// the profile, else the SPEC's defaults.
fn poll_options(ctx: &Context, args: &PollArgs) -> PollOptions {
    let defaults = PollOptions::default();
    let profile = ctx.profile.as_ref();
    PollOptions {
        timeout: args
            .timeout
            .or(profile.and_then(|p| p.timeout))
            .unwrap_or(defaults.timeout),
        interval: args
            .interval
            .or(profile.and_then(|p| p.interval))
            .unwrap_or(defaults.interval),
        max_interval: args.max_interval,
        concurrency: usize::from(args.concurrency),
        ..defaults
    }
}

/// Each id's final result on stdout, by the same renderers (and JSON contract) as `get`.
fn print_results(ctx: &Context, outcomes: &[(String, Outcome)]) -> Result<()> {
    let entries: Vec<Entry<'_>> = outcomes
        .iter()
        .map(|(id, outcome)| match outcome {
            Outcome::Error(e) | Outcome::GaveUp { error: e, .. } => Entry::failed(id, e),
            Outcome::TimedOut { last } => Entry {
                id,
                lookup: last.as_ref(),
                error: None,
                note: Some("TIMEOUT"),
            },
            Outcome::Interrupted { last } => Entry {
                id,
                lookup: last.as_ref(),
                error: None,
                note: Some("INTERRUPTED"),
            },
            Outcome::Success(l) | Outcome::Failure(l) | Outcome::Expired(l) => Entry::answered(l),
        })
        .collect();
    // As with `get`: one id without an answer is told on stderr, except that JSON consumers
    // still get the API's error body.
    let single_unanswered = match entries.as_slice() {
        [e] if e.lookup.is_none() => {
            ctx.output.format == OutputFormat::Table
                || e.error.and_then(|e| e.api_failure()).is_none()
        }
        _ => false,
    };
    if single_unanswered {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    match ctx.output.format {
        OutputFormat::Json => render::write_json(&mut stdout, &entries),
        OutputFormat::Table => render::write_table(&mut stdout, &entries, ctx.output.table_style()),
    }
    .and_then(|_| stdout.flush())
    .map_err(write_failed)
}

/// A future that completes on SIGINT or SIGTERM; the handlers are installed at once.
fn interrupted() -> Result<impl std::future::Future<Output = ()>> {
    let install = |kind: SignalKind| {
        signal(kind).map_err(|e| Error::protocol(format!("cannot install a signal handler: {e}")))
    };
    let mut int = install(SignalKind::interrupt())?;
    let mut term = install(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// The size of the terminal on stderr (rows, columns); 24×80 when it cannot be read (an
/// injected terminal in tests).
fn terminal_size() -> (u16, u16) {
    console::Term::stderr()
        .size_checked()
        .filter(|&(rows, cols)| rows > 0 && cols > 0)
        .unwrap_or((24, 80))
}
