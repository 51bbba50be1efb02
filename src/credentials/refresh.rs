/*!
Temporary credentials that renew themselves ahead of expiry.

Owns the rule of when to refresh (a margin of three minutes, scaled down to a third of the
lifetime for credentials that live only seconds), the single refresh in flight however many
requests ask at once, and the use of the disk cache ([`super::cache`]). What to fetch is a
[`Fetch`]; when it is now is a [`Clock`], injected so tests run on a fake one.
*/

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use super::cache::DiskCache;
use super::Credentials;
use crate::error::{Kind, Result};

/// The longest refresh margin: refresh when this little of the lifetime is left.
pub const MAX_MARGIN: Duration = Duration::from_secs(180);

/// The future a [`Fetch`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Credentials>> + Send + 'a>>;

/// Fetches a fresh set of temporary credentials (STS, metadata service, credentials URI).
pub trait Fetch: Send + Sync {
    /// New credentials, with their `expiration`.
    fn fetch(&self) -> FetchFuture<'_>;
}

/// "Now", injected.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// Credentials held, with when they were obtained (their lifetime sets the margin).
#[derive(Clone)]
pub(crate) struct Held {
    pub credentials: Credentials,
    pub obtained: SystemTime,
}

impl Held {
    /// How long before expiry a refresh is due: a third of the lifetime, at most 3 minutes.
    pub fn margin(&self) -> Duration {
        match self.credentials.expiration {
            Some(exp) => {
                let lifetime = exp.duration_since(self.obtained).unwrap_or_default();
                (lifetime / 3).min(MAX_MARGIN)
            }
            None => Duration::ZERO,
        }
    }

    /// Time left before expiry at `now` (`None`: never expires).
    fn remaining(&self, now: SystemTime) -> Option<Duration> {
        self.credentials
            .expiration
            .map(|exp| exp.duration_since(now).unwrap_or_default())
    }

    /// Due for a refresh: inside the margin.
    pub fn is_stale(&self, now: SystemTime) -> bool {
        self.remaining(now).is_some_and(|r| r <= self.margin())
    }

    /// Still accepted by the service (not expired).
    pub fn is_valid(&self, now: SystemTime) -> bool {
        self.remaining(now).is_none_or(|r| r > Duration::ZERO)
    }

    /// Good enough to take from the disk cache: at least twice the margin left.
    pub fn is_comfortable(&self, now: SystemTime) -> bool {
        self.remaining(now).is_none_or(|r| r > self.margin() * 2)
    }
}

/// A source of temporary credentials: holds the current set and refreshes it when due.
pub struct Refreshing {
    fetch: Box<dyn Fetch>,
    clock: Clock,
    cache: Option<DiskCache>,
    held: Mutex<State>,
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    /// A refusal or misconfiguration: answered again without asking again, so that many ids
    /// polled at once do not each call STS to hear the same "no".
    refused: Option<crate::error::Error>,
}

impl Refreshing {
    /// Refreshes through `fetch`, on `clock`, with an optional disk cache.
    pub fn new(fetch: Box<dyn Fetch>, clock: Clock, cache: Option<DiskCache>) -> Self {
        Refreshing {
            fetch,
            clock,
            cache,
            held: Mutex::new(State::default()),
        }
    }

    /// Starts with credentials already fetched (the metadata probe of the chain).
    pub fn seeded(self, credentials: Credentials) -> Self {
        let obtained = (self.clock)();
        Refreshing {
            held: Mutex::new(State {
                held: Some(Held {
                    credentials,
                    obtained,
                }),
                refused: None,
            }),
            ..self
        }
    }

    /// The credentials for the next request, refreshed first when due. One caller refreshes;
    /// the others wait for it on the lock and then take what it got.
    pub async fn credentials(&self) -> Result<Credentials> {
        let mut state = self.held.lock().await;
        if let Some(e) = &state.refused {
            return Err(e.clone());
        }
        let now = (self.clock)();
        if let Some(h) = state.held.as_ref().filter(|h| !h.is_stale(now)) {
            return Ok(h.credentials.clone());
        }
        if state.held.is_none() {
            if let Some(h) = self.cache.as_ref().and_then(|c| c.load()) {
                if h.is_comfortable(now) {
                    let c = h.credentials.clone();
                    state.held = Some(h);
                    return Ok(c);
                }
            }
        }
        match self.fetch.fetch().await {
            Ok(credentials) => {
                let h = Held {
                    credentials: credentials.clone(),
                    obtained: (self.clock)(),
                };
                if let Some(cache) = &self.cache {
                    cache.store(&h);
                }
                state.held = Some(h);
                Ok(credentials)
            }
            // A refresh that failed for a passing reason leaves the old set, while it lasts.
            Err(e) if is_passing(&e) => match state.held.as_ref() {
                Some(h) if h.is_valid((self.clock)()) => Ok(h.credentials.clone()),
                _ => Err(e),
            },
            Err(e) => {
                state.refused = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// Network trouble, a garbled answer, or a server error: worth asking again later.
fn is_passing(e: &crate::error::Error) -> bool {
    match &e.kind {
        Kind::Network | Kind::Protocol => true,
        Kind::Api(f) => f.http_status >= 500 || f.code.starts_with("Throttling"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex as StdMutex;

    /// A fake clock, in seconds after an epoch, moved by hand.
    #[derive(Clone, Default)]
    struct FakeClock(Arc<AtomicU64>);

    impl FakeClock {
        fn clock(&self) -> Clock {
            let t = self.0.clone();
            Arc::new(move || {
                SystemTime::UNIX_EPOCH
                    + Duration::from_secs(1_700_000_000 + t.load(Ordering::SeqCst))
            })
        }
        fn advance(&self, secs: u64) {
            self.0.fetch_add(secs, Ordering::SeqCst);
        }
        fn now(&self) -> SystemTime {
            (self.clock())()
        }
    }

    /// Issues `key-N` credentials living `lifetime` seconds, counting calls; can be made to fail.
    struct FakeSts {
        clock: FakeClock,
        lifetime: u64,
        calls: Arc<AtomicU64>,
        fail: Arc<StdMutex<Option<Error>>>,
    }

    impl Fetch for FakeSts {
        fn fetch(&self) -> FetchFuture<'_> {
            Box::pin(async move {
                // Let other callers pile up on the lock while this one is "on the wire".
                tokio::task::yield_now().await;
                if let Some(e) = self.fail.lock().unwrap().clone() {
                    return Err(e);
                }
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                let mut c =
                    Credentials::new(format!("key-{n}"), "secret").with_security_token("token");
                c.expiration = Some(self.clock.now() + Duration::from_secs(self.lifetime));
                Ok(c)
            })
        }
    }

    fn source(
        lifetime: u64,
    ) -> (
        FakeClock,
        Arc<AtomicU64>,
        Arc<StdMutex<Option<Error>>>,
        Refreshing,
    ) {
        let clock = FakeClock::default();
        let calls = Arc::new(AtomicU64::new(0));
        let fail = Arc::new(StdMutex::new(None));
        let sts = FakeSts {
            clock: clock.clone(),
            lifetime,
            calls: calls.clone(),
            fail: fail.clone(),
        };
        let r = Refreshing::new(Box::new(sts), clock.clock(), None);
        (clock, calls, fail, r)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn margin_is_three_minutes_or_a_third_of_short_lifetimes() {
        let at = SystemTime::UNIX_EPOCH;
        let held = |secs: u64| Held {
            credentials: Credentials {
                expiration: Some(at + Duration::from_secs(secs)),
                ..Credentials::new("a", "b")
            },
            obtained: at,
        };
        assert_eq!(held(3600).margin(), MAX_MARGIN);
        assert_eq!(held(900).margin(), MAX_MARGIN);
        assert_eq!(held(30).margin(), Duration::from_secs(10));
        assert!(!held(30).is_stale(at + Duration::from_secs(19)));
        assert!(held(30).is_stale(at + Duration::from_secs(20)));
        assert!(held(30).is_valid(at + Duration::from_secs(29)));
        assert!(!held(30).is_valid(at + Duration::from_secs(30)));
        assert!(held(30).is_comfortable(at + Duration::from_secs(9)));
        assert!(!held(30).is_comfortable(at + Duration::from_secs(10)));
        let forever = Held {
            credentials: Credentials::new("a", "b"),
            obtained: at,
        };
        assert!(!forever.is_stale(at + Duration::from_secs(1 << 40)));
    }

    #[test]
    fn refreshes_ahead_of_expiry_across_a_long_wait() {
        // 10-second credentials, a request every second for two minutes: every request
        // is signed with credentials that are still valid, and each set is used until due.
        let (clock, calls, _, r) = source(10);
        block_on(async {
            let mut last = String::new();
            let mut changes = 0;
            for _ in 0..120 {
                let c = r.credentials().await.unwrap();
                let exp = c.expiration.unwrap();
                assert!(
                    exp > clock.now() + Duration::from_secs(3),
                    "about to expire"
                );
                if c.access_key_id != last {
                    changes += 1;
                    last = c.access_key_id.clone();
                }
                clock.advance(1);
            }
            // Refreshed when a third (3.3 s) is left: about every 7 s.
            assert_eq!(calls.load(Ordering::SeqCst), changes);
            assert!((16..=20).contains(&changes), "{changes} refreshes");
        });
    }

    #[test]
    fn one_refresh_in_flight_for_many_callers() {
        let (clock, calls, _, r) = source(3600);
        let r = Arc::new(r);
        block_on(async {
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let r = r.clone();
                    tokio::spawn(async move { r.credentials().await.unwrap().access_key_id })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), "key-1");
            }
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            clock.advance(3600 - 180);
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    let r = r.clone();
                    tokio::spawn(async move { r.credentials().await.unwrap().access_key_id })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), "key-2");
            }
            assert_eq!(calls.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn a_passing_refresh_failure_keeps_valid_credentials_a_refusal_does_not() {
        let (clock, _, fail, r) = source(900);
        block_on(async {
            assert_eq!(r.credentials().await.unwrap().access_key_id, "key-1");
            clock.advance(800);
            *fail.lock().unwrap() = Some(Error::network("STS unreachable"));
            assert_eq!(r.credentials().await.unwrap().access_key_id, "key-1");
            clock.advance(100);
            assert_eq!(r.credentials().await.unwrap_err().exit_code(), 5);
            *fail.lock().unwrap() = None;
            assert_eq!(r.credentials().await.unwrap().access_key_id, "key-2");
            // A refusal is final: the same answer, without asking again.
            clock.advance(900);
            *fail.lock().unwrap() = Some(Error::config("token file gone"));
            assert_eq!(r.credentials().await.unwrap_err().exit_code(), 2);
            *fail.lock().unwrap() = None;
            assert_eq!(
                r.credentials().await.unwrap_err().message,
                "token file gone"
            );
        });
    }
}
