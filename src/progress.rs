/*!
The live view of `wait` and `watch` (SPEC §2, §4): spinner lines on a terminal, plain lines and
heartbeats off one, JSON Lines events on stdout, and the GitHub Actions annotations and step
summary.

It hears the polling engine's [`Event`]s and final [`Outcome`]s and turns them into text on
the writers it is given. It knows nothing of HTTP, signals or the clock: the caller says how
much time has passed ([`Progress::tick`]) and which streams are terminals ([`ViewOptions`]).

Decisions where the SPEC is silent:
- `wait` on a terminal shows nothing while polling; off a terminal it prints a heartbeat at
  most every [`HEARTBEAT`]. `watch` off a terminal prints one line per status change and one
  final line per id, and a heartbeat when nothing else was printed for that long.
- `watch -o json` writes events on stdout; stderr then shows spinners only when stdout is not
  the same terminal (events and spinners would tangle), and heartbeats off a terminal.
- On a terminal at most `rows - 3` spinner lines are shown; the rest wait on one "more" line
  and take a spinner as others finish. Finished ids scroll up as ✔/✘ lines.
- All spinner lines are one indicatif bar with a multi-line message, redrawn once per tick:
  a `MultiProgress` of 100 bars re-measures every line on every bar's update, which alone
  broke SPEC §7's 1 % CPU budget for `watch` of 100 ids.
- The cursor is hidden while spinners run and always shown again: at the end, on an
  interruption, and when the view is dropped (a panic unwinding included).
*/

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use serde_json::{json, Value};

use crate::operation::{Lookup, Status};
use crate::poll::{Event, Outcome};
use crate::render::{neutralize, paint_status, unpack_json};

/// The version of the JSON Lines event schema of `watch -o json`.
pub const EVENT_SCHEMA: &str = "bpstudio-op.watch/1";

/// How often, at most, a heartbeat line goes to a non-terminal stderr (SPEC §2).
pub const HEARTBEAT: Duration = Duration::from_secs(60);

/// Shows the cursor again (DECTCEM).
pub const SHOW_CURSOR: &str = "\x1b[?25h";
const HIDE_CURSOR: &str = "\x1b[?25l";

/// How often a few spinners are redrawn.
const SPINNER_TICK: Duration = Duration::from_millis(100);
/// How often many spinners are redrawn: the cost grows with the lines, and SPEC §7 gives
/// `watch` of 100 ids 1 % of one CPU.
const SPINNER_TICK_MANY: Duration = Duration::from_millis(250);
/// Up to this many spinner lines count as "a few".
const FEW_SPINNERS: usize = 10;
/// How often the heartbeat clock is looked at.
const HEARTBEAT_TICK: Duration = Duration::from_secs(1);

/// What stderr shows while polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Nothing (`-q`, or `wait` on a terminal).
    Silent,
    /// A heartbeat line at most every heartbeat period (`wait` off a terminal).
    Heartbeat,
    /// One line per status change, one per finished id, heartbeats (`watch` off a terminal).
    Plain,
    /// A spinner line per id (`watch` on a terminal).
    Spinners,
}

impl View {
    /// The view for a command: `watch` or `wait`, whether stderr/stdout are terminals,
    /// `-q`, and whether events go to stdout.
    pub fn choose(
        watch: bool,
        stderr_tty: bool,
        stdout_tty: bool,
        quiet: bool,
        json: bool,
    ) -> View {
        match (quiet, watch, stderr_tty) {
            (true, _, _) => View::Silent,
            (false, false, true) => View::Silent,
            (false, false, false) => View::Heartbeat,
            (false, true, false) if json => View::Heartbeat,
            (false, true, false) => View::Plain,
            (false, true, true) if json && stdout_tty => View::Silent,
            (false, true, true) => View::Spinners,
        }
    }
}

/// How the view speaks.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// `wait` or `watch`, for the step summary's title.
    pub command: &'static str,
    pub view: View,
    /// `watch -o json`: JSON Lines events on the events writer.
    pub json_events: bool,
    /// Colour on stderr.
    pub color: bool,
    /// The heartbeat period ([`HEARTBEAT`]; shorter in tests).
    pub heartbeat: Duration,
    /// `GITHUB_ACTIONS=true`: `::error` lines for failed, expired, timed-out and errored ids.
    pub github_actions: bool,
    /// `$GITHUB_STEP_SUMMARY`: a Markdown table is appended at the end.
    pub step_summary: Option<PathBuf>,
    /// The terminal's size (rows, columns) for spinners.
    pub terminal_size: (u16, u16),
}

/// How polling ended, for the closing words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every id finished, or the deadline passed.
    Done,
    /// SIGINT or SIGTERM.
    Interrupted,
}

/// What the view knows of one id.
struct IdState {
    id: String,
    short: String,
    status: Option<Status>,
    /// `Data.Message` of the latest answer.
    message: Option<String>,
    /// A passing remark ("retrying", "throttled"), cleared by the next answer.
    remark: Option<String>,
    polls: u32,
    finished: bool,
}

/// The spinner machinery of [`View::Spinners`]: one bar whose message is every line.
struct Spinners {
    bar: ProgressBar,
    /// Most id lines shown at once; the rest share one "… N more" line.
    max_lines: usize,
    prefix_width: usize,
    columns: usize,
    /// The spinner frame, advanced on every tick.
    frame: usize,
}

/// The live view. `O` receives the JSON events (stdout), `E` everything else (stderr).
pub struct Progress<O: Write, E: Write + Send + 'static> {
    opts: ViewOptions,
    ids: Vec<IdState>,
    out: O,
    err: Arc<Mutex<E>>,
    spinners: Option<Spinners>,
    /// When the last line went to stderr (for the heartbeat).
    last_line: Duration,
    elapsed: Duration,
    /// The first write error on the events writer (a closed pipe, say).
    out_error: Option<io::Error>,
}

impl<O: Write, E: Write + Send + 'static> Progress<O, E> {
    /// A view of `ids` writing events to `out` and the rest to `err`.
    pub fn new(ids: &[String], opts: ViewOptions, out: O, err: E) -> Self {
        let err = Arc::new(Mutex::new(err));
        let ids: Vec<IdState> = ids
            .iter()
            .zip(shorten_ids(ids))
            .map(|(id, short)| IdState {
                id: id.clone(),
                short,
                status: None,
                message: None,
                remark: None,
                polls: 0,
                finished: false,
            })
            .collect();
        let spinners = (opts.view == View::Spinners).then(|| start_spinners(&opts, &err, &ids));
        let mut progress = Progress {
            opts,
            ids,
            out,
            err,
            spinners,
            last_line: Duration::ZERO,
            elapsed: Duration::ZERO,
            out_error: None,
        };
        progress.refresh_spinners();
        progress
    }

    /// How often the caller should call [`tick`](Self::tick); `None`: never needed.
    pub fn tick_period(&self) -> Option<Duration> {
        match self.opts.view {
            View::Silent => None,
            View::Spinners => {
                let lines = self.spinners.as_ref().map_or(0, |sp| sp.max_lines);
                if self.ids.len().min(lines) <= FEW_SPINNERS {
                    Some(SPINNER_TICK)
                } else {
                    Some(SPINNER_TICK_MANY)
                }
            }
            View::Heartbeat | View::Plain => Some(HEARTBEAT_TICK.min(self.opts.heartbeat)),
        }
    }

    /// Whether writing events failed (stdout closed, say): polling is pointless then.
    pub fn output_failed(&self) -> bool {
        self.out_error.is_some()
    }

    /// The first error writing events, if any (the caller decides; a closed pipe is quiet).
    pub fn take_output_error(&mut self) -> Option<io::Error> {
        self.out_error.take()
    }

    /// Time passes: spinners turn, heartbeats are due.
    pub fn tick(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        match self.opts.view {
            View::Spinners => self.refresh_spinners(),
            View::Heartbeat | View::Plain => {
                if elapsed.saturating_sub(self.last_line) >= self.opts.heartbeat {
                    let line = self.heartbeat_line();
                    self.line(&line);
                }
            }
            View::Silent => {}
        }
    }

    /// One event from the polling engine.
    pub fn on_event(&mut self, event: &Event<'_>) {
        let Some(index) = self.ids.iter().position(|s| s.id == event.id()) else {
            return;
        };
        match *event {
            Event::StatusChanged {
                status,
                lookup,
                polls,
                elapsed,
                ..
            } => {
                self.elapsed = self.elapsed.max(elapsed);
                self.answered(index, lookup, polls);
                if self.opts.json_events {
                    let doc = json!({
                        "schema": EVENT_SCHEMA,
                        "event": "status",
                        "id": self.ids[index].id,
                        "status": status.as_str(),
                        "polls": polls,
                        "elapsed_ms": millis(elapsed),
                        "message": self.ids[index].message,
                    });
                    self.emit_json(&doc);
                }
                if self.opts.view == View::Plain && !status.is_terminal() {
                    let s = &self.ids[index];
                    let line = format!(
                        "{}: {} after {} (poll {}){}",
                        neutralize(&s.id),
                        paint_status(
                            &neutralize(status.as_str()),
                            Some(status),
                            0,
                            self.opts.color
                        ),
                        fmt_elapsed(elapsed),
                        polls,
                        dash(s.message.as_deref()),
                    );
                    self.line(&line);
                }
            }
            Event::Polled {
                lookup,
                polls,
                elapsed,
                ..
            } => {
                self.elapsed = self.elapsed.max(elapsed);
                self.answered(index, lookup, polls);
            }
            Event::Retrying {
                error,
                attempt,
                polls,
                ..
            } => {
                let s = &mut self.ids[index];
                s.polls = polls;
                s.remark = Some(format!("retrying ({attempt}): {}", error.message));
            }
            Event::Throttled { polls, .. } => {
                let s = &mut self.ids[index];
                s.polls = polls;
                s.remark = Some("throttled: slowing down".into());
            }
            Event::Finished {
                outcome,
                polls,
                elapsed,
                ..
            } => {
                self.elapsed = self.elapsed.max(elapsed);
                self.finished(index, outcome, polls, elapsed);
            }
        }
        // Spinners pick the news up at the next tick: one redraw however many events came.
    }

    /// The closing words: spinners cleared and the cursor shown, a summary for `watch`,
    /// where each id stood after an interruption, the `get` hint after a timeout, and the
    /// GitHub Actions annotations and step summary.
    pub fn finish(&mut self, outcomes: &[(String, Outcome)], elapsed: Duration, ending: Ending) {
        self.elapsed = self.elapsed.max(elapsed);
        self.stop_spinners();
        let mut lines = Vec::new();
        let watching = matches!(self.opts.view, View::Spinners | View::Plain);
        if watching && ending == Ending::Done {
            lines.push(format!("bpstudio-op: {}", self.summary(outcomes)));
        }
        if ending == Ending::Interrupted {
            lines.push("bpstudio-op: interrupted; where each operation stood:".into());
            let width = outcomes
                .iter()
                .map(|(id, _)| neutralize(id).chars().count())
                .max()
                .unwrap_or(0);
            for (id, outcome) in outcomes {
                let polls = self.state(id).map_or(0, |s| s.polls);
                lines.push(format!(
                    "  {:<width$}  {}, {}",
                    neutralize(id),
                    stood(outcome),
                    plural(polls as usize, "poll")
                ));
            }
        }
        let timed_out: Vec<&str> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::TimedOut { .. }))
            .map(|(id, _)| id.as_str())
            .collect();
        if !timed_out.is_empty() {
            let which = if timed_out.len() == 1 {
                "the operation is still running and may still finish"
            } else {
                "these operations are still running and may still finish"
            };
            lines.push(format!(
                "bpstudio-op: timed out after {}: {which}. Check later with:",
                fmt_elapsed(self.elapsed)
            ));
            for id in timed_out {
                lines.push(format!("  bpstudio-op get {}", neutralize(id)));
            }
        }
        if self.opts.github_actions {
            for (id, outcome) in outcomes {
                if let Some(text) = annotation(id, outcome) {
                    lines.push(format!(
                        "::error title=bpstudio-op {}::{}",
                        self.opts.command,
                        workflow_escape(&text)
                    ));
                }
            }
        }
        for line in lines {
            self.line(&line);
        }
        if let Some(path) = self.opts.step_summary.clone() {
            let table = step_summary(self.opts.command, outcomes, |id| {
                self.state(id).map_or(0, |s| s.polls)
            });
            let written = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(table.as_bytes()));
            if let Err(e) = written {
                self.line(&format!(
                    "warning: cannot append to GITHUB_STEP_SUMMARY {}: {e}",
                    path.display()
                ));
            }
        }
    }

    fn state(&self, id: &str) -> Option<&IdState> {
        self.ids.iter().find(|s| s.id == id)
    }

    fn answered(&mut self, index: usize, lookup: &Lookup, polls: u32) {
        let s = &mut self.ids[index];
        s.polls = polls;
        s.remark = None;
        match &lookup.operation {
            Some(op) => {
                s.status = op.status.clone().or(s.status.take());
                s.message = op.message.clone().filter(|m| !m.is_empty());
            }
            None => s.remark = Some("no Data yet: not visible yet, or expired".into()),
        }
    }

    fn finished(&mut self, index: usize, outcome: &Outcome, polls: u32, elapsed: Duration) {
        {
            let s = &mut self.ids[index];
            s.polls = polls;
            s.finished = true;
            if let Some(l) = outcome.lookup() {
                if let Some(op) = &l.operation {
                    s.status = op.status.clone().or(s.status.take());
                    s.message = op.message.clone().filter(|m| !m.is_empty());
                }
            }
        }
        if self.opts.json_events {
            let s = &self.ids[index];
            let error = outcome.error().map(|e| {
                let f = e.api_failure();
                json!({
                    "message": e.message,
                    "code": f.map(|f| f.code.clone()),
                    "request_id": f.and_then(|f| f.request_id.clone()),
                })
            });
            let doc = json!({
                "schema": EVENT_SCHEMA,
                "event": "final",
                "id": s.id,
                "result": result_word(outcome),
                "status": s.status.as_ref().map(|st| st.as_str()),
                "polls": polls,
                "elapsed_ms": millis(elapsed),
                "exit_code": outcome.exit_code(),
                "body": outcome.lookup().map(|l| l.body.clone()),
                "error": error,
            });
            self.emit_json(&doc);
        }
        // Interrupted ids are listed once, by `finish`.
        if matches!(outcome, Outcome::Interrupted { .. }) {
            return;
        }
        match self.opts.view {
            View::Plain => {
                let line = self.final_line(index, outcome, polls, elapsed, false);
                self.line(&line);
            }
            View::Spinners => {
                let width = usize::from(self.opts.terminal_size.1.saturating_sub(1));
                let line = console::truncate_str(
                    &self.final_line(index, outcome, polls, elapsed, true),
                    width,
                    "…",
                )
                .into_owned();
                if let Some(sp) = &self.spinners {
                    sp.bar.println(line);
                }
            }
            View::Silent | View::Heartbeat => {}
        }
    }

    fn final_line(
        &self,
        index: usize,
        outcome: &Outcome,
        polls: u32,
        elapsed: Duration,
        short: bool,
    ) -> String {
        let s = &self.ids[index];
        let ok = matches!(outcome, Outcome::Success(_));
        let (mark, status) = if ok {
            ("✔", Some(Status::Success))
        } else {
            ("✘", Some(Status::Failure))
        };
        let mark = paint(mark, status.as_ref(), self.opts.color);
        let word = paint_status(result_word(outcome), status.as_ref(), 0, self.opts.color);
        let id = if short { &s.short } else { &s.id };
        let detail = match outcome.error() {
            Some(e) => dash(Some(&e.message)),
            None if ok => String::new(),
            None => dash(s.message.as_deref()),
        };
        format!(
            "{mark} {}: {word} after {} ({}){detail}",
            neutralize(id),
            fmt_elapsed(elapsed),
            plural(polls as usize, "poll")
        )
    }

    /// `N operations in 8s: 2 SUCCESS, 1 FAILURE`.
    fn summary(&self, outcomes: &[(String, Outcome)]) -> String {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (_, o) in outcomes {
            let w = result_word(o);
            match counts.iter_mut().find(|(k, _)| *k == w) {
                Some((_, n)) => *n += 1,
                None => counts.push((w, 1)),
            }
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "{} in {}: {}",
            plural(outcomes.len(), "operation"),
            fmt_elapsed(self.elapsed),
            parts.join(", ")
        )
    }

    /// `bpstudio-op: waiting for 2 operations: 1 RUNNING, 1 INIT (3m 12s elapsed)`.
    fn heartbeat_line(&self) -> String {
        let open: Vec<&IdState> = self.ids.iter().filter(|s| !s.finished).collect();
        let total = self.ids.len();
        let what = if open.len() == total {
            plural(total, "operation")
        } else {
            format!("{} of {}", open.len(), plural(total, "operation"))
        };
        format!(
            "bpstudio-op: waiting for {what}: {} ({} elapsed)",
            status_counts(open.iter().copied()),
            fmt_elapsed(self.elapsed)
        )
    }

    /// One line on stderr, above the spinners when there are some.
    fn line(&mut self, text: &str) {
        self.last_line = self.elapsed;
        match &self.spinners {
            Some(sp) => sp.bar.println(text),
            _ => {
                let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(err, "{text}");
                let _ = err.flush();
            }
        }
    }

    fn emit_json(&mut self, doc: &Value) {
        if self.out_error.is_some() {
            return;
        }
        let written =
            writeln!(self.out, "{}", crate::render::json_line(doc)).and_then(|_| self.out.flush());
        if let Err(e) = written {
            self.out_error = Some(e);
        }
    }

    /// Redraws the spinners: one line per unfinished id (the first `max_lines` of them),
    /// then one line for the rest.
    fn refresh_spinners(&mut self) {
        let Some(sp) = &mut self.spinners else {
            return;
        };
        sp.frame = sp.frame.wrapping_add(1);
        let frame = SPINNER_FRAMES[sp.frame % SPINNER_FRAMES.len()];
        let open: Vec<&IdState> = self.ids.iter().filter(|s| !s.finished).collect();
        let mut lines: Vec<String> = open
            .iter()
            .take(sp.max_lines)
            .map(|s| {
                let line = format!(
                    "{frame} {:<width$} {}",
                    neutralize(&s.short),
                    spinner_message(s, self.elapsed, self.opts.color),
                    width = sp.prefix_width
                );
                console::truncate_str(&line, sp.columns, "…").into_owned()
            })
            .collect();
        if open.len() > sp.max_lines {
            let rest = &open[sp.max_lines..];
            let line = format!(
                "  … {} more: {}",
                rest.len(),
                status_counts(rest.iter().copied())
            );
            lines.push(console::truncate_str(&line, sp.columns, "…").into_owned());
        }
        sp.bar.set_message(lines.join("\n"));
    }

    /// Clears the spinner lines and shows the cursor.
    fn stop_spinners(&mut self) {
        let Some(sp) = self.spinners.take() else {
            return;
        };
        sp.bar.finish_and_clear();
        let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
        let _ = err.write_all(SHOW_CURSOR.as_bytes());
        let _ = err.flush();
    }
}

impl<O: Write, E: Write + Send + 'static> Drop for Progress<O, E> {
    /// The terminal is restored whatever happens.
    fn drop(&mut self) {
        self.stop_spinners();
    }
}

fn start_spinners<E: Write + Send + 'static>(
    opts: &ViewOptions,
    err: &Arc<Mutex<E>>,
    ids: &[IdState],
) -> Spinners {
    let (rows, cols) = opts.terminal_size;
    let term = StderrTerm {
        out: err.clone(),
        rows,
        cols,
    };
    {
        let mut e = err.lock().unwrap_or_else(|e| e.into_inner());
        let _ = e.write_all(HIDE_CURSOR.as_bytes());
        let _ = e.flush();
    }
    let bar = ProgressBar::with_draw_target(
        None,
        ProgressDrawTarget::term_like_with_hz(Box::new(term), 20),
    );
    bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
    let prefix_width = ids
        .iter()
        .map(|s| s.short.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    Spinners {
        bar,
        max_lines: usize::from(rows).saturating_sub(3).max(3),
        prefix_width,
        columns: usize::from(cols.saturating_sub(1)).max(20),
        frame: 0,
    }
}

/// The spinner's frames.
const SPINNER_FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// `RUNNING   1m 05s  12 polls  Scaling out…`.
fn spinner_message(s: &IdState, elapsed: Duration, color: bool) -> String {
    let status = match &s.status {
        Some(st) => paint_status(&neutralize(st.as_str()), Some(st), 8, color),
        None => paint_status("waiting", None, 8, color),
    };
    let note = s
        .remark
        .as_deref()
        .or(s.message.as_deref())
        .map(|m| format!("  {}", brief(m, 60)))
        .unwrap_or_default();
    format!(
        "{status} {:>7}  {:<9}{note}",
        fmt_elapsed(elapsed),
        plural(s.polls as usize, "poll")
    )
}

/// A [`TermLike`] over the shared stderr writer, so an injected terminal draws too.
struct StderrTerm<E> {
    out: Arc<Mutex<E>>,
    rows: u16,
    cols: u16,
}

impl<E> fmt::Debug for StderrTerm<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StderrTerm({}x{})", self.cols, self.rows)
    }
}

impl<E: Write + Send> StderrTerm<E> {
    fn write(&self, s: &str) -> io::Result<()> {
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(s.as_bytes())
    }
    fn csi(&self, n: usize, code: char) -> io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.write(&format!("\x1b[{n}{code}"))
    }
}

impl<E: Write + Send> TermLike for StderrTerm<E> {
    fn width(&self) -> u16 {
        self.cols
    }
    fn height(&self) -> u16 {
        self.rows
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'A')
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'B')
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'C')
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.csi(n, 'D')
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write(s)?;
        self.write("\n")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.write(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.write("\r\x1b[2K")
    }
    /// Ends each draw with the cursor at the start of the last line: indicatif leaves it in
    /// the right margin, where the terminal's own `^C` echo would wrap and push everything
    /// down a line, so the clearing on exit would miss the first spinner line.
    fn flush(&self) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(b"\r")?;
        out.flush()
    }
}

/// Ids short enough for spinner lines: `op_…_ecs_modifyInstanceType_…N3OL` for the service's
/// `op_<18>_<service>_<operation>_<16>_<16>` form, the middle elided otherwise. The kept tail
/// comes from the last random part, or, when that leaves two ids alike, from another one.
pub fn shorten_ids(ids: &[String]) -> Vec<String> {
    // Which underscore-separated part, counted from the end, gives the kept tail.
    for from_end in [1, 2] {
        let short: Vec<String> = ids.iter().map(|id| shorten(id, from_end)).collect();
        let mut sorted: Vec<&String> = short.iter().collect();
        sorted.sort();
        sorted.dedup();
        if sorted.len() == short.len() {
            return short;
        }
    }
    ids.iter()
        .map(|id| {
            let count = id.chars().count();
            if count <= 40 {
                return id.clone();
            }
            let head: String = id.chars().take(20).collect();
            let tail: String = id.chars().skip(count - 19).collect();
            format!("{head}…{tail}")
        })
        .collect()
}

/// One id, shortened with the tail of its `from_end`-th part from the end.
fn shorten(id: &str, from_end: usize) -> String {
    let parts: Vec<&str> = id.split('_').collect();
    if parts.len() >= 6 && parts[0] == "op" {
        let n = parts.len();
        let middle = parts[2..n - 2].join("_");
        let random = parts[n - from_end];
        let tail: String = random
            .chars()
            .skip(random.chars().count().saturating_sub(4))
            .collect();
        return format!("op_…_{middle}_…{tail}");
    }
    let count = id.chars().count();
    if count <= 40 {
        return id.to_string();
    }
    let head: String = id.chars().take(20).collect();
    let tail: String = id.chars().skip(count - 19).collect();
    format!("{head}…{tail}")
}

/// The word for how an id ended.
fn result_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Success(_) => "SUCCESS",
        Outcome::Failure(_) => "FAILURE",
        Outcome::Expired(_) => "EXPIRED",
        Outcome::TimedOut { .. } => "TIMEOUT",
        Outcome::Error(_) | Outcome::GaveUp { .. } => "ERROR",
        Outcome::Interrupted { .. } => "INTERRUPTED",
    }
}

/// Where an id stood when polling was interrupted.
fn stood(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Interrupted { last: Some(l) } => match l.status() {
            Some(s) => format!("{}, not finished", neutralize(s.as_str())),
            None => "no Data yet, not finished".into(),
        },
        Outcome::Interrupted { last: None } => "no answer yet".into(),
        other => format!("{}, finished", result_word(other)),
    }
}

/// The `::error` text for an id that did not succeed, `None` for success and interruption.
fn annotation(id: &str, outcome: &Outcome) -> Option<String> {
    let message = outcome
        .lookup()
        .and_then(|l| l.operation.as_ref())
        .and_then(|o| o.message.as_deref())
        .map(|m| brief(m, 200));
    let text = match outcome {
        Outcome::Success(_) | Outcome::Interrupted { .. } => return None,
        Outcome::Failure(_) => format!("{id}: FAILURE{}", dash(message.as_deref())),
        Outcome::Expired(_) => format!(
            "{id}: expired or unknown (no Data; ids are valid for one hour)"
        ),
        Outcome::TimedOut { .. } => format!(
            "{id}: timed out, the operation may still finish; check later with `bpstudio-op get {id}`"
        ),
        Outcome::Error(e) | Outcome::GaveUp { error: e, .. } => {
            format!("{id}: {}", e.message)
        }
    };
    Some(neutralize(&text))
}

/// The Markdown table appended to `$GITHUB_STEP_SUMMARY`.
fn step_summary(
    command: &str,
    outcomes: &[(String, Outcome)],
    polls: impl Fn(&str) -> u32,
) -> String {
    let mut md = format!(
        "### bpstudio-op {command}\n\n| Operation | Result | Exit | Polls | Message |\n|---|---|---|---|---|\n"
    );
    for (id, outcome) in outcomes {
        let icon = match outcome {
            Outcome::Success(_) => "✅",
            Outcome::Interrupted { .. } | Outcome::TimedOut { .. } => "⏹️",
            _ => "❌",
        };
        let message = match outcome.error() {
            Some(e) => e.message.clone(),
            None => outcome
                .lookup()
                .and_then(|l| l.operation.as_ref())
                .and_then(|o| o.message.clone())
                .unwrap_or_default(),
        };
        md.push_str(&format!(
            "| `{}` | {icon} {} | {} | {} | {} |\n",
            md_cell(id).replace('`', "'"),
            result_word(outcome),
            outcome.exit_code(),
            polls(id),
            md_cell(&brief(&message, 120)),
        ));
    }
    md.push('\n');
    md
}

/// Escapes a GitHub workflow command's message (`%`, CR, LF).
fn workflow_escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Text safe inside a Markdown table cell.
fn md_cell(text: &str) -> String {
    neutralize(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// `1 RUNNING, 1 INIT`, in order of first appearance.
fn status_counts<'a>(states: impl Iterator<Item = &'a IdState>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in states {
        let word = match &s.status {
            Some(st) => neutralize(st.as_str()),
            None => "not answered yet".to_string(),
        };
        match counts.iter_mut().find(|(k, _)| *k == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Server text for one line: packed JSON compacted, whitespace folded, neutralised, cut.
fn brief(text: &str, max: usize) -> String {
    let one_line = match unpack_json(text) {
        Some(v) => serde_json::to_string(&v).unwrap_or_default(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    let safe = neutralize(&one_line);
    if safe.chars().count() <= max {
        safe
    } else {
        let mut cut: String = safe.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// ` — text` for a message worth showing, nothing otherwise.
fn dash(text: Option<&str>) -> String {
    match text.map(|t| brief(t, 100)).filter(|t| !t.is_empty()) {
        Some(t) => format!(" — {t}"),
        None => String::new(),
    }
}

fn paint(text: &str, status: Option<&Status>, color: bool) -> String {
    paint_status(text, status, 0, color)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `850ms`, `12s`, `3m 12s`, `1h 02m`.
pub fn fmt_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.subsec_millis()),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::operation::Operation;

    fn lookup(id: &str, status: &str, message: &str) -> Lookup {
        Lookup {
            requested_id: id.into(),
            request_id: Some("R".into()),
            operation: Some(Operation {
                operation_id: Some(id.into()),
                status: Some(Status::parse(status)),
                message: Some(message.into()),
                arguments: None,
            }),
            body: json!({"RequestId": "R", "Data": {"Status": status, "Message": message}}),
        }
    }

    fn options(view: View, json_events: bool) -> ViewOptions {
        ViewOptions {
            command: "watch",
            view,
            json_events,
            color: false,
            heartbeat: Duration::from_secs(60),
            github_actions: false,
            step_summary: None,
            terminal_size: (24, 100),
        }
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    fn changed<O: Write>(p: &mut Progress<O, Shared>, l: &Lookup, polls: u32, secs: u64) {
        p.on_event(&Event::StatusChanged {
            id: &l.requested_id,
            status: l.status().unwrap(),
            lookup: l,
            polls,
            elapsed: Duration::from_secs(secs),
        });
    }

    fn finished<O: Write>(
        p: &mut Progress<O, Shared>,
        id: &str,
        o: &Outcome,
        polls: u32,
        secs: u64,
    ) {
        p.on_event(&Event::Finished {
            id,
            outcome: o,
            polls,
            elapsed: Duration::from_secs(secs),
        });
    }

    #[test]
    fn ids_are_shortened_around_service_and_operation() {
        let short =
            |ids: &[&str]| shorten_ids(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            short(&[
                "op_xxxxxxxxxxxxxxxxxx_ecs_modifyInstanceType_BYSOQGWUV6PME412_ERMEZLXNN3K9N3OL"
            ]),
            ["op_…_ecs_modifyInstanceType_…N3OL"]
        );
        assert_eq!(short(&["op_ok"]), ["op_ok"]);
        // Alike at the end: the other random part tells them apart.
        assert_eq!(
            short(&[
                "op_demo00000000000001_ecs_modifyInstanceType_DEMOSUCCESS00001_BPSTUDIOEMULATOR",
                "op_demo00000000000002_ecs_modifyInstanceType_DEMOSUCCESS00002_BPSTUDIOEMULATOR",
            ]),
            [
                "op_…_ecs_modifyInstanceType_…0001",
                "op_…_ecs_modifyInstanceType_…0002"
            ]
        );
        let long = "x".repeat(30) + &"y".repeat(30);
        let s = &short(&[&long])[0];
        assert_eq!(s.chars().count(), 40);
        assert!(s.contains('…'));
    }

    #[test]
    fn elapsed_is_compact() {
        assert_eq!(fmt_elapsed(Duration::from_millis(850)), "850ms");
        assert_eq!(fmt_elapsed(Duration::from_secs(12)), "12s");
        assert_eq!(fmt_elapsed(Duration::from_secs(192)), "3m 12s");
        assert_eq!(fmt_elapsed(Duration::from_secs(3720)), "1h 02m");
    }

    #[test]
    fn view_follows_terminals_quiet_and_json() {
        assert_eq!(
            View::choose(false, false, false, false, false),
            View::Heartbeat
        );
        assert_eq!(View::choose(false, true, true, false, false), View::Silent);
        assert_eq!(
            View::choose(true, true, false, false, false),
            View::Spinners
        );
        assert_eq!(View::choose(true, false, false, false, false), View::Plain);
        assert_eq!(View::choose(true, true, true, false, true), View::Silent);
        assert_eq!(View::choose(true, true, false, false, true), View::Spinners);
        assert_eq!(
            View::choose(true, false, false, false, true),
            View::Heartbeat
        );
        assert_eq!(View::choose(true, true, true, true, false), View::Silent);
    }

    #[test]
    fn plain_lines_and_heartbeats() {
        let err = Shared::default();
        let ids = vec!["op_a".to_string(), "op_b".to_string()];
        let mut opts = options(View::Plain, false);
        opts.heartbeat = Duration::from_secs(10);
        let mut p = Progress::new(&ids, opts, io::sink(), err.clone());
        let a = lookup("op_a", "RUNNING", "step \x1b[2J one");
        changed(&mut p, &a, 1, 0);
        p.tick(Duration::from_secs(5));
        p.tick(Duration::from_secs(11));
        let done = Outcome::Success(lookup("op_a", "SUCCESS", "ok"));
        changed(&mut p, done.lookup().unwrap(), 3, 12);
        finished(&mut p, "op_a", &done, 3, 12);
        p.tick(Duration::from_secs(30));
        let text = err.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "op_a: RUNNING after 0ms (poll 1) — step \\u{1b}[2J one"
        );
        assert_eq!(
            lines[1],
            "bpstudio-op: waiting for 2 operations: 1 RUNNING, 1 not answered yet (11s elapsed)"
        );
        assert_eq!(lines[2], "✔ op_a: SUCCESS after 12s (3 polls)");
        assert_eq!(
            lines[3],
            "bpstudio-op: waiting for 1 of 2 operations: 1 not answered yet (30s elapsed)"
        );
        assert_eq!(lines.len(), 4, "{text}");
    }

    #[test]
    fn json_events_carry_schema_and_final_body() {
        let out = Shared::default();
        let ids = vec!["op_a".to_string()];
        let mut p = Progress::new(
            &ids,
            options(View::Silent, true),
            out.clone(),
            Shared::default(),
        );
        changed(&mut p, &lookup("op_a", "RUNNING", "m"), 1, 1);
        let done = Outcome::Failure(lookup("op_a", "FAILURE", "quota"));
        changed(&mut p, done.lookup().unwrap(), 2, 2);
        finished(&mut p, "op_a", &done, 2, 2);
        let events: Vec<Value> = out
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["schema"], EVENT_SCHEMA);
        assert_eq!(events[0]["event"], "status");
        assert_eq!(events[0]["status"], "RUNNING");
        assert_eq!(events[0]["elapsed_ms"], 1000);
        assert_eq!(events[2]["event"], "final");
        assert_eq!(events[2]["result"], "FAILURE");
        assert_eq!(events[2]["exit_code"], 1);
        assert_eq!(events[2]["body"]["Data"]["Message"], "quota");
    }

    #[test]
    fn spinners_draw_finish_and_restore_the_cursor() {
        let err = Shared::default();
        let ids = vec![
            "op_xxxxxxxxxxxxxxxxxx_ecs_modifyInstanceType_BYSOQGWUV6PME412_ERMEZLXNN3K9N3OL"
                .to_string(),
            "op_b".to_string(),
        ];
        let mut p = Progress::new(
            &ids,
            options(View::Spinners, false),
            io::sink(),
            err.clone(),
        );
        changed(&mut p, &lookup(&ids[0], "RUNNING", "scaling"), 1, 1);
        p.tick(Duration::from_secs(2));
        let done = Outcome::Success(lookup(&ids[0], "SUCCESS", "ok"));
        finished(&mut p, &ids[0], &done, 4, 3);
        let e = Outcome::Error(Error::network("connection refused"));
        finished(&mut p, "op_b", &e, 2, 3);
        p.finish(
            &[(ids[0].clone(), done), ("op_b".into(), e)],
            Duration::from_secs(3),
            Ending::Done,
        );
        let text = err.text();
        assert!(text.starts_with(HIDE_CURSOR), "{text:?}");
        assert!(
            text.contains("op_…_ecs_modifyInstanceType_…N3OL"),
            "{text:?}"
        );
        assert!(text.contains("RUNNING"), "{text:?}");
        assert!(text.contains("scaling"), "{text:?}");
        assert!(
            text.contains("✔ op_…_ecs_modifyInstanceType_…N3OL: SUCCESS after 3s (4 polls)"),
            "{text:?}"
        );
        assert!(
            text.contains("✘ op_b: ERROR after 3s (2 polls) — connection refused"),
            "{text:?}"
        );
        assert!(
            text.contains("2 operations in 3s: 1 SUCCESS, 1 ERROR"),
            "{text:?}"
        );
        let shown = text.rfind(SHOW_CURSOR).expect("cursor shown again");
        assert!(shown > text.rfind(HIDE_CURSOR).unwrap(), "{text:?}");
    }

    #[test]
    fn many_ids_share_a_more_line() {
        let err = Shared::default();
        let ids: Vec<String> = (0..30).map(|i| format!("op_{i}")).collect();
        let mut opts = options(View::Spinners, false);
        opts.terminal_size = (10, 80);
        let mut p = Progress::new(&ids, opts, io::sink(), err.clone());
        p.tick(Duration::from_secs(1));
        let message = |p: &Progress<io::Sink, Shared>| p.spinners.as_ref().unwrap().bar.message();
        let shown = message(&p);
        assert_eq!(shown.lines().count(), 8, "{shown}");
        assert!(shown.lines().nth(6).unwrap().contains("op_6 "), "{shown}");
        assert_eq!(
            shown.lines().last().unwrap(),
            "  … 23 more: 23 not answered yet"
        );
        let done = Outcome::Success(lookup("op_0", "SUCCESS", ""));
        finished(&mut p, "op_0", &done, 1, 1);
        p.tick(Duration::from_secs(2));
        let shown = message(&p);
        assert!(
            shown.lines().nth(6).unwrap().contains("op_7 "),
            "a waiting id takes the freed line: {shown}"
        );
        assert_eq!(
            shown.lines().last().unwrap(),
            "  … 22 more: 22 not answered yet"
        );
        drop(p);
        assert!(err.text().ends_with(SHOW_CURSOR));
    }

    #[test]
    fn many_spinners_turn_slower_and_plain_views_tick_for_heartbeats() {
        let ids = |n: usize| (0..n).map(|i| format!("op_{i}")).collect::<Vec<_>>();
        let tick = |n: usize, view: View| {
            Progress::new(&ids(n), options(view, false), io::sink(), Shared::default())
                .tick_period()
        };
        assert_eq!(tick(3, View::Spinners), Some(SPINNER_TICK));
        assert_eq!(tick(100, View::Spinners), Some(SPINNER_TICK_MANY));
        assert_eq!(tick(3, View::Plain), Some(HEARTBEAT_TICK));
        assert_eq!(tick(3, View::Silent), None);
    }

    #[test]
    fn github_annotations_and_step_summary() {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let err = Shared::default();
        let ids = vec!["op_a".to_string(), "op_b".to_string(), "op_c".to_string()];
        let mut opts = options(View::Silent, false);
        opts.github_actions = true;
        opts.step_summary = Some(summary.clone());
        opts.command = "wait";
        let mut p = Progress::new(&ids, opts, io::sink(), err.clone());
        let outcomes = vec![
            (
                "op_a".to_string(),
                Outcome::Success(lookup("op_a", "SUCCESS", "")),
            ),
            (
                "op_b".to_string(),
                Outcome::Failure(lookup("op_b", "FAILURE", "bad | thing\n2")),
            ),
            ("op_c".to_string(), Outcome::TimedOut { last: None }),
        ];
        p.finish(&outcomes, Duration::from_secs(5), Ending::Done);
        let text = err.text();
        assert!(
            text.contains("::error title=bpstudio-op wait::op_b: FAILURE — bad | thing 2\n"),
            "{text}"
        );
        assert!(
            text.contains("::error title=bpstudio-op wait::op_c: timed out"),
            "{text}"
        );
        assert!(!text.contains("op_a: "), "{text}");
        assert!(text.contains("  bpstudio-op get op_c\n"), "{text}");
        let md = std::fs::read_to_string(summary).unwrap();
        assert!(
            md.contains("| `op_b` | ❌ FAILURE | 1 | 0 | bad \\| thing 2 |"),
            "{md}"
        );
        assert!(md.contains("| `op_c` | ⏹️ TIMEOUT | 124 |"), "{md}");
    }
}
