//! The delay between two polls of one id (SPEC §2), as pure arithmetic: no clock, no RNG.
//!
//! The engine in `mod.rs` reads the clock and draws the jitter; this module only says how
//! long, and when at the latest.

use std::time::{Duration, Instant};

/// Growth of the delay per unchanged poll (SPEC §2: "about 1.5×").
const GROWTH: f64 = 1.5;
/// Growth of the delay when the service throttles us.
const THROTTLE_GROWTH: f64 = 2.0;
/// The shortest interval the engine accepts, so a zero `--interval` cannot hammer the API.
pub(super) const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The un-jittered delay of one id: starts at the interval, grows while nothing changes,
/// never above the cap.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    interval: Duration,
    cap: Duration,
    current: Duration,
}

impl Backoff {
    /// A backoff starting at `interval` and capped at `max_interval` (or at `interval`, if
    /// that is larger: the cap never undercuts the first delay).
    pub(super) fn new(interval: Duration, max_interval: Duration) -> Self {
        let interval = interval.max(MIN_INTERVAL);
        Backoff {
            interval,
            cap: max_interval.max(interval),
            current: interval,
        }
    }

    /// After a status change: back to the interval.
    pub(super) fn reset(&mut self) -> Duration {
        self.current = self.interval;
        self.current
    }

    /// After an unchanged poll (or a transient error): 1.5× longer, up to the cap.
    pub(super) fn grow(&mut self) -> Duration {
        self.current = scale(self.current, GROWTH, self.cap);
        self.current
    }

    /// After a throttling answer: twice as long, up to the cap.
    pub(super) fn throttle(&mut self) -> Duration {
        self.current = scale(self.current, THROTTLE_GROWTH, self.cap);
        self.current
    }

    /// The base interval (after the floor of [`MIN_INTERVAL`]).
    pub(super) fn interval(&self) -> Duration {
        self.interval
    }

    /// The longest delay this backoff ever returns.
    pub(super) fn cap(&self) -> Duration {
        self.cap
    }
}

fn scale(d: Duration, factor: f64, cap: Duration) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor)
        .unwrap_or(cap)
        .min(cap)
}

/// `delay` scaled by a factor in `[1 - fraction, 1 + fraction]`, the factor picked by `draw`
/// (uniform in `[0, 1)`), then capped at `cap`: the cap is a promise to the user, the
/// jitter only spreads polls of many ids apart.
pub(super) fn jitter(delay: Duration, fraction: f64, draw: f64, cap: Duration) -> Duration {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let draw = if draw.is_finite() {
        draw.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let factor = 1.0 + fraction * (2.0 * draw - 1.0);
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor)
        .unwrap_or(cap)
        .min(cap)
}

/// When the next poll starts: after `sleep`, but no later than `last_call`, the latest start
/// that still leaves the fetch time to answer before the deadline. `None`: `now` is already
/// at or past `last_call`, no poll fits any more.
pub(super) fn next_poll_at(now: Instant, sleep: Duration, last_call: Instant) -> Option<Instant> {
    if now >= last_call {
        return None;
    }
    Some(
        now.checked_add(sleep)
            .map_or(last_call, |at| at.min(last_call)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn grows_by_half_per_unchanged_poll_up_to_the_cap() {
        let mut b = Backoff::new(S(2), S(30));
        let grown: Vec<f64> = (0..8).map(|_| b.grow().as_secs_f64()).collect();
        assert_eq!(
            grown,
            [3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0, 30.0]
        );
    }

    #[test]
    fn reset_returns_to_the_interval() {
        let mut b = Backoff::new(S(2), S(30));
        for _ in 0..5 {
            b.grow();
        }
        assert_eq!(b.reset(), S(2));
        assert_eq!(b.grow(), Duration::from_secs(3));
    }

    #[test]
    fn throttling_doubles_up_to_the_cap() {
        let mut b = Backoff::new(S(2), S(30));
        assert_eq!(b.throttle(), S(4));
        assert_eq!(b.throttle(), S(8));
        assert_eq!(b.throttle(), S(16));
        assert_eq!(b.throttle(), S(30));
    }

    #[test]
    fn cap_never_undercuts_the_interval_and_interval_has_a_floor() {
        let mut b = Backoff::new(S(10), S(5));
        assert_eq!(b.cap(), S(10));
        assert_eq!(b.grow(), S(10));
        assert_eq!(Backoff::new(Duration::ZERO, S(5)).interval(), MIN_INTERVAL);
    }

    #[test]
    fn jitter_spans_twenty_percent_either_way() {
        let d = S(10);
        assert_eq!(jitter(d, 0.2, 0.0, S(60)), S(8));
        assert_eq!(jitter(d, 0.2, 0.5, S(60)), S(10));
        assert!(jitter(d, 0.2, 0.999_999, S(60)) < S(12));
        assert_eq!(jitter(d, 0.0, 0.9, S(60)), d);
    }

    #[test]
    fn jitter_stays_in_bounds_over_many_random_draws() {
        let d = S(10);
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        for _ in 0..100_000 {
            let j = jitter(d, 0.2, rand::random::<f64>(), S(60));
            assert!(j >= S(8) && j <= S(12), "{j:?}");
            lo = lo.min(j);
            hi = hi.max(j);
        }
        // The draws really spread: both ends of the range are reached closely.
        assert!(lo < Duration::from_millis(8_050), "{lo:?}");
        assert!(hi > Duration::from_millis(11_950), "{hi:?}");
    }

    #[test]
    fn jitter_never_exceeds_the_cap() {
        for i in 0..1000 {
            let draw = f64::from(i) / 1000.0;
            assert!(jitter(S(30), 0.2, draw, S(30)) <= S(30));
        }
        assert_eq!(jitter(S(30), 0.2, f64::NAN, S(30)), S(30));
    }

    #[test]
    fn the_next_poll_never_starts_after_the_last_call() {
        let t0 = Instant::now();
        let last = t0 + S(58);
        assert_eq!(next_poll_at(t0, S(5), last), Some(t0 + S(5)));
        assert_eq!(next_poll_at(t0 + S(50), S(30), last), Some(last));
        assert_eq!(next_poll_at(last, S(1), last), None);
        assert_eq!(next_poll_at(t0 + S(59), S(1), last), None);
    }
}
