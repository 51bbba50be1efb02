/*!
The polling engine of `wait` and `watch` (SPEC §2 "Polling", §3 exit codes).

It owns the schedule (backoff with jitter, the deadline, the grace for ids not yet visible,
throttling and transient errors), the concurrency bound and cancellation, and it decides each
id's [`Outcome`]. It must not touch HTTP or the terminal: one lookup is an injected `fetch`
(the caller's client, which already did its own per-request retries and asks the credential
source afresh on every call), time is an injected [`Clock`], and progress goes out as
[`Event`]s to a callback the renderer owns. Like gh's `run watch` with its injected clock, and
hyperfine's `MockExecutor`, so tests run hundreds of polls on a virtual clock in no time.

Decisions where the SPEC is silent:
- The deadline is hard: no sleep ends after it, and whatever is in flight when it passes is
  dropped (the id times out with its last answer), so `wait` never outlives `--timeout`. To
  still look once near the end, the last sleep is shortened so a final poll starts one
  `interval` before the deadline, leaving that fetch an interval to answer.
- Jitter (±20 %) is applied to every sleep, then capped at `max_interval`.
- A `Throttling*` code lengthens the delay (×2, up to `max_interval`) and never counts as a
  failure; `ServiceUnavailable` (or HTTP 429/503) lengthens it too, and it also counts toward
  the transient-error limit, as do network and protocol errors, `InternalError` and any 5xx.
- During the grace, an id without `Data` is polled every `interval` (no growth), with one poll
  right at the end of the grace, where it is declared expired.
*/

mod backoff;
mod clock;
mod concurrent;

pub use clock::{Clock, TokioClock};

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::error::{exit, Error, Kind};
use crate::operation::{Lookup, Status};
use backoff::{next_poll_at, Backoff, MIN_INTERVAL};
use concurrent::Concurrent;

/// How to poll (SPEC §2). [`Default`] gives the SPEC's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOptions {
    /// The first delay, and the delay after each status change (`--interval`, default 2 s;
    /// at least 10 ms).
    pub interval: Duration,
    /// The longest delay between two polls of one id (`--max-interval`, default 30 s; never
    /// less than `interval`).
    pub max_interval: Duration,
    /// One deadline for all ids, counted from the call of [`poll_all`] (`--timeout`,
    /// default 60 min).
    pub timeout: Duration,
    /// Most fetches in flight at once (`--concurrency`, default 8; 0 counts as 1).
    pub concurrency: usize,
    /// How long an id without `Data` is polled again before it is expired (default 10 s),
    /// counted from the call of [`poll_all`].
    pub grace: Duration,
    /// Transient errors in a row after which an id gives up (default 5; 0 counts as 1).
    pub max_transient: u32,
    /// Relative jitter of each sleep: 0.2 means ±20 % (default). 0 disables it.
    pub jitter: f64,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(60 * 60),
            concurrency: 8,
            grace: Duration::from_secs(10),
            max_transient: 5,
            jitter: 0.2,
        }
    }
}

/// Progress of one id, for the live view and the JSON event stream. Borrowed: copy what you
/// keep. `polls` counts fetches of that id so far (errors included); `elapsed` runs from the
/// call of [`poll_all`]; `next_delay` is `None` when no further poll fits before the deadline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// The id answered with a status it had not answered before (the first status included).
    StatusChanged {
        id: &'a str,
        status: &'a Status,
        lookup: &'a Lookup,
        polls: u32,
        elapsed: Duration,
    },
    /// The id answered and is not terminal: it will be polled again after `next_delay`.
    /// Also sent for an answer without `Data` during the grace.
    Polled {
        id: &'a str,
        lookup: &'a Lookup,
        polls: u32,
        elapsed: Duration,
        next_delay: Option<Duration>,
    },
    /// A transient error; `attempt` counts them in a row (the id gives up at
    /// [`PollOptions::max_transient`]).
    Retrying {
        id: &'a str,
        error: &'a Error,
        attempt: u32,
        polls: u32,
        elapsed: Duration,
        next_delay: Option<Duration>,
    },
    /// The service throttled us (or is unavailable): the delay was lengthened.
    Throttled {
        id: &'a str,
        error: &'a Error,
        polls: u32,
        elapsed: Duration,
        next_delay: Option<Duration>,
    },
    /// The id is done; sent exactly once per id, the last event of that id.
    Finished {
        id: &'a str,
        outcome: &'a Outcome,
        polls: u32,
        elapsed: Duration,
    },
}

impl Event<'_> {
    /// The operation id the event is about.
    pub fn id(&self) -> &str {
        match self {
            Event::StatusChanged { id, .. }
            | Event::Polled { id, .. }
            | Event::Retrying { id, .. }
            | Event::Throttled { id, .. }
            | Event::Finished { id, .. } => id,
        }
    }
}

/// How polling one id ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The operation reached `SUCCESS` (exit 0).
    Success(Lookup),
    /// The operation reached `FAILURE` (exit 1).
    Failure(Lookup),
    /// No `Data` after the grace: the id is expired or unknown (exit 3).
    Expired(Lookup),
    /// The deadline passed first (exit 124); `last` is the last answer, if any came.
    TimedOut { last: Option<Lookup> },
    /// An error that retrying cannot fix: signature, credentials, permission, any other API
    /// code, configuration (its own exit code: 4, 2, …).
    Error(Error),
    /// `attempts` transient errors in a row, the last being `error` (exit 5).
    GaveUp { error: Error, attempts: u32 },
    /// Cancelled (SIGINT/SIGTERM) before the id was done (exit 130).
    Interrupted { last: Option<Lookup> },
}

impl Outcome {
    /// The exit code of SPEC §3 for this id alone.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Success(_) => exit::SUCCESS,
            Outcome::Failure(_) => exit::FAILURE,
            Outcome::Expired(_) => exit::EXPIRED,
            Outcome::TimedOut { .. } => exit::TIMEOUT,
            Outcome::Error(e) => e.exit_code(),
            Outcome::GaveUp { .. } => exit::NETWORK,
            Outcome::Interrupted { .. } => exit::INTERRUPTED,
        }
    }

    /// The answer this outcome rests on: the final one, or the last one seen.
    pub fn lookup(&self) -> Option<&Lookup> {
        match self {
            Outcome::Success(l) | Outcome::Failure(l) | Outcome::Expired(l) => Some(l),
            Outcome::TimedOut { last } | Outcome::Interrupted { last } => last.as_ref(),
            Outcome::Error(_) | Outcome::GaveUp { .. } => None,
        }
    }

    /// The error that ended polling, if one did.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Error(e) | Outcome::GaveUp { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// The exit code of the whole command: the first that applies in SPEC §3's order.
pub fn overall_exit_code(outcomes: &[(String, Outcome)]) -> i32 {
    exit::combine(outcomes.iter().map(|(_, o)| o.exit_code()))
}

/// Polls every id in `ids` until each is terminal, the deadline passes or `cancel` completes,
/// and returns one outcome per id, in argument order.
///
/// - `fetch(id)` does one lookup (with the client's own retries); it is called afresh for
///   every poll, at most [`PollOptions::concurrency`] calls in flight at once.
/// - `clock` gives "now" and "sleep until": [`TokioClock`] for real.
/// - `on_event` hears every [`Event`], in the order they happen.
/// - `cancel` (SIGINT/SIGTERM) stops everything at once: in-flight fetches are dropped and
///   every unfinished id becomes [`Outcome::Interrupted`].
///
/// Everything runs inside the returned future (no spawned tasks).
pub async fn poll_all<F, Fut, C, E, X>(
    ids: &[String],
    opts: &PollOptions,
    fetch: F,
    clock: &C,
    on_event: E,
    cancel: X,
) -> Vec<(String, Outcome)>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Lookup, Error>>,
    C: Clock,
    E: FnMut(Event<'_>),
    X: Future<Output = ()>,
{
    let start = clock.now();
    let deadline = later(start, opts.timeout);
    let interval = opts.interval.max(MIN_INTERVAL);
    let engine = Engine {
        ids,
        opts,
        fetch,
        clock,
        on_event: Mutex::new(on_event),
        permits: Semaphore::new(opts.concurrency.max(1)),
        progress: ids.iter().map(|_| Mutex::default()).collect(),
        start,
        // The last poll starts one interval before the deadline, so it can answer in time.
        last_call: deadline.checked_sub(interval).unwrap_or(start).max(start),
        grace_end: later(start, opts.grace),
    };

    let mut outcomes: Vec<Option<Outcome>> = ids.iter().map(|_| None).collect();
    let mut ids_in_flight = Concurrent::new((0..ids.len()).map(|i| engine.poll_one(i)));
    let mut cancel = pin!(cancel);
    let mut deadline_passed = pin!(clock.sleep_until(deadline));
    poll_fn(|cx| {
        if cancel.as_mut().poll(cx).is_ready() {
            for i in ids_in_flight.abandon() {
                let last = engine.progress(i).last.take();
                engine.finish(&mut outcomes, i, Outcome::Interrupted { last });
            }
            return Poll::Ready(());
        }
        let all_done = ids_in_flight.poll_each(cx, |i, outcome| {
            engine.finish(&mut outcomes, i, outcome);
        });
        if all_done.is_ready() {
            return Poll::Ready(());
        }
        if deadline_passed.as_mut().poll(cx).is_ready() {
            for i in ids_in_flight.abandon() {
                let last = engine.progress(i).last.take();
                engine.finish(&mut outcomes, i, Outcome::TimedOut { last });
            }
            return Poll::Ready(());
        }
        Poll::Pending
    })
    .await;
    drop(ids_in_flight);

    ids.iter()
        .cloned()
        .zip(outcomes.into_iter().map(|o| {
            o.expect("every id ends with an outcome: its own, the deadline's or cancel's")
        }))
        .collect()
}

/// `start + d`, or a time so far ahead it never comes when that overflows.
fn later(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d)
        .or_else(|| start.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(start)
}

/// What one id has done so far; kept outside its future so cancel and the deadline can
/// still report it after dropping that future.
#[derive(Debug, Default)]
struct Progress {
    polls: u32,
    last: Option<Lookup>,
}

/// The state shared by the per-id loops of one [`poll_all`] call.
struct Engine<'a, F, C, E> {
    ids: &'a [String],
    opts: &'a PollOptions,
    fetch: F,
    clock: &'a C,
    on_event: Mutex<E>,
    permits: Semaphore,
    progress: Vec<Mutex<Progress>>,
    start: Instant,
    last_call: Instant,
    grace_end: Instant,
}

/// What an error means for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorClass {
    /// Slow down; `counts`: also a transient failure toward the limit.
    Throttled { counts: bool },
    /// Retry at the normal pace; counts toward the limit.
    Transient,
    /// Retrying cannot help: stop this id now.
    Fatal,
}

fn classify(error: &Error) -> ErrorClass {
    match &error.kind {
        Kind::Network | Kind::Protocol => ErrorClass::Transient,
        Kind::Api(f) if f.code.starts_with("Throttling") => ErrorClass::Throttled { counts: false },
        Kind::Api(f) if f.code == "ServiceUnavailable" || matches!(f.http_status, 429 | 503) => {
            ErrorClass::Throttled { counts: true }
        }
        Kind::Api(f) if f.code.starts_with("InternalError") || f.http_status >= 500 => {
            ErrorClass::Transient
        }
        Kind::Api(_) | Kind::Usage | Kind::Config | Kind::Interrupted => ErrorClass::Fatal,
    }
}

impl<F, Fut, C, E> Engine<'_, F, C, E>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Lookup, Error>>,
    C: Clock,
    E: FnMut(Event<'_>),
{
    fn progress(&self, index: usize) -> MutexGuard<'_, Progress> {
        self.progress[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, event: Event<'_>) {
        (self.on_event.lock().unwrap_or_else(|e| e.into_inner()))(event);
    }

    fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.start)
    }

    /// Records `outcome` for id `index` and announces it.
    fn finish(&self, outcomes: &mut [Option<Outcome>], index: usize, outcome: Outcome) {
        let polls = self.progress(index).polls;
        self.emit(Event::Finished {
            id: &self.ids[index],
            outcome: &outcome,
            polls,
            elapsed: self.elapsed(),
        });
        outcomes[index] = Some(outcome);
    }

    /// `base` with jitter, never above the cap.
    fn jittered(&self, base: Duration, backoff: &Backoff) -> Duration {
        backoff::jitter(base, self.opts.jitter, rand::random::<f64>(), backoff.cap())
    }

    /// Polls one id until it is terminal or fails for good. Never returns at the deadline
    /// or on cancel: [`poll_all`] drops it then.
    async fn poll_one(&self, index: usize) -> Outcome {
        let id = &self.ids[index];
        let max_transient = self.opts.max_transient.max(1);
        let mut backoff = Backoff::new(self.opts.interval, self.opts.max_interval);
        let mut last_status: Option<Status> = None;
        let mut transient = 0u32;
        loop {
            let result = {
                let _permit = self.permits.acquire().await.expect("never closed");
                (self.fetch)(id.clone()).await
            };
            let now = self.clock.now();
            let elapsed = now.saturating_duration_since(self.start);
            let polls = {
                let mut p = self.progress(index);
                p.polls += 1;
                p.polls
            };

            let next = match result {
                Ok(lookup) if lookup.operation.is_none() => {
                    transient = 0;
                    if now >= self.grace_end {
                        return Outcome::Expired(lookup);
                    }
                    // Not visible yet: again at the interval, and once right at the grace's end.
                    let sleep = self.jittered(backoff.interval(), &backoff);
                    let next =
                        next_poll_at(now, sleep, self.last_call).map(|at| at.min(self.grace_end));
                    self.emit(Event::Polled {
                        id,
                        lookup: &lookup,
                        polls,
                        elapsed,
                        next_delay: next.map(|at| at - now),
                    });
                    self.progress(index).last = Some(lookup);
                    next
                }
                Ok(lookup) => {
                    transient = 0;
                    let status = lookup.status().cloned();
                    let base = match status {
                        Some(status) if last_status.as_ref() != Some(&status) => {
                            self.emit(Event::StatusChanged {
                                id,
                                status: &status,
                                lookup: &lookup,
                                polls,
                                elapsed,
                            });
                            match status {
                                Status::Success => return Outcome::Success(lookup),
                                Status::Failure => return Outcome::Failure(lookup),
                                _ => {}
                            }
                            last_status = Some(status);
                            backoff.reset()
                        }
                        // Unchanged, or a `Data` without `Status`: keep polling, slower.
                        _ => backoff.grow(),
                    };
                    let next = next_poll_at(now, self.jittered(base, &backoff), self.last_call);
                    self.emit(Event::Polled {
                        id,
                        lookup: &lookup,
                        polls,
                        elapsed,
                        next_delay: next.map(|at| at - now),
                    });
                    self.progress(index).last = Some(lookup);
                    next
                }
                Err(error) => {
                    let class = classify(&error);
                    if matches!(
                        class,
                        ErrorClass::Transient | ErrorClass::Throttled { counts: true }
                    ) {
                        transient += 1;
                        if transient >= max_transient {
                            return Outcome::GaveUp {
                                error,
                                attempts: transient,
                            };
                        }
                    }
                    let base = match class {
                        ErrorClass::Fatal => return Outcome::Error(error),
                        ErrorClass::Throttled { .. } => backoff.throttle(),
                        ErrorClass::Transient => backoff.grow(),
                    };
                    let next = next_poll_at(now, self.jittered(base, &backoff), self.last_call);
                    let next_delay = next.map(|at| at - now);
                    self.emit(match class {
                        ErrorClass::Throttled { .. } => Event::Throttled {
                            id,
                            error: &error,
                            polls,
                            elapsed,
                            next_delay,
                        },
                        _ => Event::Retrying {
                            id,
                            error: &error,
                            attempt: transient,
                            polls,
                            elapsed,
                            next_delay,
                        },
                    });
                    next
                }
            };

            match next {
                Some(at) => self.clock.sleep_until(at).await,
                // No poll fits before the deadline any more: wait for poll_all to end us.
                None => std::future::pending::<()>().await,
            }
        }
    }
}

#[cfg(test)]
mod tests;
