//! The clock the polling engine reads and sleeps on: the real one on `tokio::time`, and (for
//! tests) a virtual one that jumps straight to the next wake-up, so hundreds of polls run in
//! no time.

use std::future::Future;
use std::time::Instant;

/// What the engine needs of time: "now" and "sleep until". Injected so tests can fake it.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
    /// A future that completes at `at` (at once if `at` has passed).
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send;
}

/// The real clock: `tokio::time` (needs a runtime with the time driver enabled). Follows
/// tokio's paused time too, since it reads `tokio::time::Instant`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at))
    }
}

#[cfg(test)]
pub(super) mod fake {
    //! A virtual clock and a one-future executor that advances it whenever the future under
    //! test is stalled, like tokio's paused time (which needs the `test-util` feature).

    use super::Clock;
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::{pin, Pin};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::{Duration, Instant};

    /// Virtual time: only moves when [`run`] finds nothing else to do.
    pub struct FakeClock {
        origin: Instant,
        state: Mutex<State>,
    }

    #[derive(Default)]
    struct State {
        now: Duration,
        next_key: u64,
        sleepers: BTreeMap<u64, (Instant, Waker)>,
    }

    impl FakeClock {
        pub fn new() -> Self {
            FakeClock {
                origin: Instant::now(),
                state: Mutex::default(),
            }
        }

        /// The instant virtual time started at.
        pub fn start(&self) -> Instant {
            self.origin
        }

        /// Virtual time since the start.
        pub fn elapsed(&self) -> Duration {
            self.state.lock().unwrap().now
        }

        /// Jumps to the earliest pending wake-up and wakes every sleeper due by then.
        /// `false`: nobody sleeps, so nothing can ever happen again.
        fn advance(&self) -> bool {
            let mut state = self.state.lock().unwrap();
            let Some(at) = state.sleepers.values().map(|(at, _)| *at).min() else {
                return false;
            };
            state.now = state.now.max(at - self.origin);
            let now = self.origin + state.now;
            let due: Vec<u64> = state
                .sleepers
                .iter()
                .filter(|(_, (at, _))| *at <= now)
                .map(|(k, _)| *k)
                .collect();
            let wakers: Vec<Waker> = due
                .iter()
                .filter_map(|k| state.sleepers.remove(k))
                .map(|(_, w)| w)
                .collect();
            drop(state);
            wakers.into_iter().for_each(Waker::wake);
            true
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.origin + self.elapsed()
        }

        fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send {
            FakeSleep {
                clock: self,
                at,
                key: None,
            }
        }
    }

    struct FakeSleep<'a> {
        clock: &'a FakeClock,
        at: Instant,
        key: Option<u64>,
    }

    impl Future for FakeSleep<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let clock = self.clock;
            let mut state = clock.state.lock().unwrap();
            if clock.origin + state.now >= self.at {
                if let Some(k) = self.key.take() {
                    state.sleepers.remove(&k);
                }
                return Poll::Ready(());
            }
            let key = match self.key {
                Some(k) => k,
                None => {
                    state.next_key += 1;
                    state.next_key
                }
            };
            state.sleepers.insert(key, (self.at, cx.waker().clone()));
            drop(state);
            self.key = Some(key);
            Poll::Pending
        }
    }

    impl Drop for FakeSleep<'_> {
        fn drop(&mut self) {
            if let Some(k) = self.key {
                self.clock.state.lock().unwrap().sleepers.remove(&k);
            }
        }
    }

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Runs `fut` to completion on virtual time: polls it until it stalls, then advances the
    /// clock to the next wake-up. Panics if it stalls with nobody asleep (a deadlock).
    pub fn run<T>(clock: &FakeClock, fut: impl Future<Output = T>) -> T {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        for _ in 0..10_000_000 {
            flag.0.store(false, Ordering::SeqCst);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            if !flag.0.load(Ordering::SeqCst) {
                assert!(clock.advance(), "stalled with nobody asleep: deadlock");
            }
        }
        panic!("the future never finished");
    }

    #[test]
    fn virtual_time_jumps_to_the_earliest_sleeper() {
        let clock = FakeClock::new();
        let t0 = clock.start();
        let elapsed = run(&clock, async {
            clock.sleep_until(t0 + Duration::from_secs(3600)).await;
            clock.elapsed()
        });
        assert_eq!(elapsed, Duration::from_secs(3600));
    }
}
