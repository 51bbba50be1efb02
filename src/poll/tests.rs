//! The engine's rules (SPEC §2), each on the virtual clock of `clock::fake`.

use super::clock::fake::{run, FakeClock};
use super::*;
use crate::error::ApiFailure;
use crate::operation::Operation;
use std::sync::atomic::{AtomicUsize, Ordering};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A `Lookup` with `Data` and (optionally) a `Status`.
fn answer(id: &str, status: Option<&str>) -> Lookup {
    Lookup {
        requested_id: id.to_string(),
        request_id: Some("req-1".into()),
        operation: Some(Operation {
            operation_id: Some(id.to_string()),
            status: status.map(Status::parse),
            message: None,
            arguments: None,
        }),
        body: serde_json::json!({}),
    }
}

/// A `Lookup` without `Data`: expired or not visible yet.
fn no_data(id: &str) -> Lookup {
    Lookup {
        requested_id: id.to_string(),
        request_id: Some("req-1".into()),
        operation: None,
        body: serde_json::json!({}),
    }
}

fn api_error(code: &str, http_status: u16) -> Error {
    Error::api(
        ApiFailure {
            http_status,
            code: code.into(),
            ..ApiFailure::default()
        },
        format!("the API answered {code}"),
    )
}

fn running(id: &str) -> Result<Lookup, Error> {
    Ok(answer(id, Some("RUNNING")))
}

/// SPEC defaults, without jitter so times are exact.
fn opts() -> PollOptions {
    PollOptions {
        jitter: 0.0,
        ..PollOptions::default()
    }
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// What one `poll_all` run did, on virtual time.
struct Trace {
    outcomes: Vec<(String, Outcome)>,
    /// Every fetch: id and virtual time at its start.
    calls: Vec<(String, Duration)>,
    /// Every event, as `id kind detail`.
    events: Vec<String>,
    /// Virtual time when `poll_all` returned.
    end: Duration,
}

impl Trace {
    fn calls_of(&self, id: &str) -> Vec<Duration> {
        self.calls
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, t)| *t)
            .collect()
    }
    fn gaps_of(&self, id: &str) -> Vec<f64> {
        self.calls_of(id)
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect()
    }
    fn outcome(&self, id: &str) -> &Outcome {
        &self.outcomes.iter().find(|(i, _)| i == id).unwrap().1
    }
}

fn describe(e: &Event<'_>) -> String {
    match e {
        Event::StatusChanged { id, status, .. } => format!("{id} changed {status}"),
        Event::Polled { id, .. } => format!("{id} polled"),
        Event::Retrying { id, attempt, .. } => format!("{id} retrying {attempt}"),
        Event::Throttled { id, .. } => format!("{id} throttled"),
        Event::Finished {
            id, outcome, polls, ..
        } => format!("{id} finished {} after {polls}", outcome.exit_code()),
    }
}

/// Runs `poll_all` on `names` where each fetch answers `script(id, n, t)`: `n` counts that
/// id's fetches from 1, `t` is the virtual time. Each fetch takes `latency`.
fn drive_with(
    names: &[&str],
    opts: &PollOptions,
    latency: Duration,
    cancel_at: Option<Duration>,
    script: impl Fn(&str, u32, Duration) -> Result<Lookup, Error>,
) -> Trace {
    let clock = FakeClock::new();
    let ids = ids(names);
    let calls = Mutex::new(Vec::new());
    let mut events = Vec::new();
    let fetch = |id: String| {
        let t = clock.elapsed();
        let n = {
            let mut calls = calls.lock().unwrap();
            calls.push((id.clone(), t));
            calls.iter().filter(|(i, _)| *i == id).count() as u32
        };
        let answer = script(&id, n, t);
        let clock = &clock;
        async move {
            clock.sleep_until(clock.now() + latency).await;
            answer
        }
    };
    let cancel = async {
        match cancel_at {
            Some(at) => clock.sleep_until(clock.start() + at).await,
            None => std::future::pending().await,
        }
    };
    let outcomes = run(
        &clock,
        poll_all(
            &ids,
            opts,
            fetch,
            &clock,
            |e| events.push(describe(&e)),
            cancel,
        ),
    );
    Trace {
        outcomes,
        calls: calls.into_inner().unwrap(),
        events,
        end: clock.elapsed(),
    }
}

fn drive(
    names: &[&str],
    opts: &PollOptions,
    script: impl Fn(&str, u32, Duration) -> Result<Lookup, Error>,
) -> Trace {
    drive_with(names, opts, Duration::ZERO, None, script)
}

#[test]
fn the_delay_grows_by_half_per_unchanged_poll_up_to_the_cap() {
    let o = PollOptions {
        timeout: secs(200.0),
        ..opts()
    };
    let t = drive(&["a"], &o, |id, _, _| running(id));
    let gaps = t.gaps_of("a");
    assert_eq!(
        gaps[..10],
        [2.0, 3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0, 30.0, 30.0]
    );
    assert!(gaps.iter().all(|g| *g <= 30.0), "{gaps:?}");
    // The last sleep is shortened: the final poll starts one interval before the deadline.
    assert_eq!(*t.calls_of("a").last().unwrap(), secs(198.0));
    assert_eq!(t.end, secs(200.0));
    let Outcome::TimedOut { last: Some(last) } = t.outcome("a") else {
        panic!("{:?}", t.outcome("a"))
    };
    assert_eq!(last.status(), Some(&Status::Running));
    assert_eq!(t.outcome("a").exit_code(), 124);
}

#[test]
fn a_status_change_resets_the_delay_to_the_interval() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        1..=4 => Ok(answer(id, Some("INIT"))),
        5..=7 => running(id),
        _ => Ok(answer(id, Some("SUCCESS"))),
    });
    assert_eq!(t.gaps_of("a"), [2.0, 3.0, 4.5, 6.75, 2.0, 3.0, 4.5]);
    assert!(matches!(t.outcome("a"), Outcome::Success(_)));
    let changes: Vec<&String> = t.events.iter().filter(|e| e.contains("changed")).collect();
    assert_eq!(
        changes,
        ["a changed INIT", "a changed RUNNING", "a changed SUCCESS"]
    );
}

#[test]
fn jittered_delays_stay_within_twenty_percent_of_the_schedule() {
    let o = PollOptions {
        jitter: 0.2,
        timeout: secs(3600.0),
        ..PollOptions::default()
    };
    for _ in 0..20 {
        let t = drive(&["a"], &o, |id, _, _| running(id));
        let gaps = t.gaps_of("a");
        // Drop the last gap: shortened to meet the deadline.
        for (k, g) in gaps[..gaps.len() - 1].iter().enumerate() {
            let base = (2.0 * 1.5f64.powi(k as i32)).min(30.0);
            let (lo, hi) = (base * 0.8 - 1e-6, (base * 1.2).min(30.0) + 1e-6);
            assert!((lo..=hi).contains(g), "gap {k}: {g} not in {lo}..{hi}");
        }
        assert!(t.calls_of("a").iter().all(|c| *c <= secs(3600.0)));
    }
}

#[test]
fn the_deadline_is_never_overslept() {
    for timeout in [0.5, 1.0, 7.0, 61.0, 100.3, 299.9] {
        for latency in [0.0, 0.7, 5.0] {
            let o = PollOptions {
                jitter: 0.2,
                timeout: secs(timeout),
                concurrency: 2,
                ..PollOptions::default()
            };
            let t = drive_with(&["a", "b", "c"], &o, secs(latency), None, |id, _, _| {
                running(id)
            });
            for (_, at) in &t.calls {
                assert!(*at <= secs(timeout), "fetch at {at:?} after {timeout}");
            }
            // Sleeps and in-flight fetches are cut at the deadline: not a moment later.
            assert_eq!(t.end, secs(timeout), "timeout {timeout}, latency {latency}");
            assert!(t
                .outcomes
                .iter()
                .all(|(_, o)| matches!(o, Outcome::TimedOut { .. })));
        }
    }
}

#[test]
fn throttling_lengthens_the_delay_instead_of_failing() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        1 => running(id),
        2..=12 => Err(api_error("Throttling.User", 400)),
        _ => Ok(answer(id, Some("SUCCESS"))),
    });
    let gaps = t.gaps_of("a");
    assert_eq!(gaps[..5], [2.0, 4.0, 8.0, 16.0, 30.0]);
    // Eleven throttled answers in a row never give up.
    assert!(
        matches!(t.outcome("a"), Outcome::Success(_)),
        "{:?}",
        t.outcome("a")
    );
    assert_eq!(
        t.events.iter().filter(|e| e.contains("throttled")).count(),
        11
    );
}

#[test]
fn service_unavailable_slows_down_and_counts_as_transient() {
    let t = drive(&["a"], &opts(), |_, _, _| {
        Err(api_error("ServiceUnavailable", 503))
    });
    assert_eq!(t.gaps_of("a"), [4.0, 8.0, 16.0, 30.0]);
    let Outcome::GaveUp { error, attempts: 5 } = t.outcome("a") else {
        panic!("{:?}", t.outcome("a"))
    };
    assert_eq!(error.api_failure().unwrap().code, "ServiceUnavailable");
    assert_eq!(t.outcome("a").exit_code(), 5);
}

#[test]
fn five_transient_errors_in_a_row_give_up() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        1 => running(id),
        _ => Err(Error::network("connection reset")),
    });
    assert_eq!(t.calls_of("a").len(), 6);
    assert!(matches!(
        t.outcome("a"),
        Outcome::GaveUp { attempts: 5, .. }
    ));
    assert_eq!(t.outcome("a").exit_code(), 5);
    let retries: Vec<&String> = t.events.iter().filter(|e| e.contains("retrying")).collect();
    assert_eq!(
        retries,
        [
            "a retrying 1",
            "a retrying 2",
            "a retrying 3",
            "a retrying 4"
        ]
    );
}

#[test]
fn four_transient_errors_then_an_answer_carry_on_and_reset_the_count() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        2..=5 | 7..=10 => Err(if n % 2 == 0 {
            Error::protocol("not JSON")
        } else {
            api_error("InternalError", 500)
        }),
        1 | 6 => running(id),
        _ => Ok(answer(id, Some("SUCCESS"))),
    });
    assert_eq!(t.calls_of("a").len(), 11);
    assert!(matches!(t.outcome("a"), Outcome::Success(_)));
}

#[test]
fn errors_retrying_cannot_fix_stop_the_id_at_once() {
    for (error, code) in [
        (api_error("SignatureDoesNotMatch", 400), 4),
        (api_error("InvalidAccessKeyId.NotFound", 404), 4),
        (api_error("Forbidden.RAM", 403), 4),
        (Error::config("no credentials found"), 2),
    ] {
        let t = drive(&["a"], &opts(), |_, _, _| Err(error.clone()));
        assert_eq!(t.calls.len(), 1);
        assert_eq!(t.outcome("a"), &Outcome::Error(error.clone()));
        assert_eq!(t.outcome("a").exit_code(), code);
        assert_eq!(t.end, Duration::ZERO);
    }
}

#[test]
fn an_id_without_data_is_polled_again_during_the_grace() {
    // Visible from 5 s on: found, and polled on to its end.
    let t = drive(&["a"], &opts(), |id, n, at| {
        if at < secs(5.0) {
            Ok(no_data(id))
        } else if n < 6 {
            running(id)
        } else {
            Ok(answer(id, Some("SUCCESS")))
        }
    });
    assert!(
        matches!(t.outcome("a"), Outcome::Success(_)),
        "{:?}",
        t.outcome("a")
    );
    assert_eq!(
        t.calls_of("a")[..4],
        [secs(0.0), secs(2.0), secs(4.0), secs(6.0)]
    );
}

#[test]
fn an_id_without_data_after_the_grace_is_expired() {
    let t = drive(&["a"], &opts(), |id, _, _| Ok(no_data(id)));
    assert_eq!(
        t.calls_of("a"),
        [0.0, 2.0, 4.0, 6.0, 8.0, 10.0].map(secs),
        "polled at the interval, and right at the end of the grace"
    );
    assert!(matches!(t.outcome("a"), Outcome::Expired(_)));
    assert_eq!(t.outcome("a").exit_code(), 3);
    assert!(t.end <= secs(11.0));

    // A longer interval still lands a poll at the end of the grace.
    let o = PollOptions {
        interval: secs(4.0),
        ..opts()
    };
    let t = drive(&["a"], &o, |id, _, _| Ok(no_data(id)));
    assert_eq!(t.calls_of("a"), [0.0, 4.0, 8.0, 10.0].map(secs));
}

#[test]
fn an_id_whose_data_disappears_after_the_grace_is_expired_at_once() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        1..=5 => running(id),
        _ => Ok(no_data(id)),
    });
    assert_eq!(t.calls_of("a").len(), 6);
    assert!(matches!(t.outcome("a"), Outcome::Expired(_)));
}

#[test]
fn failure_stops_that_id_at_once_and_the_others_go_on() {
    let o = PollOptions {
        timeout: secs(120.0),
        ..opts()
    };
    let t = drive(&["a", "b"], &o, |id, n, _| match (id, n) {
        ("a", 3) => Ok(answer(id, Some("failure"))),
        ("a", 4..) => panic!("a was fetched after its FAILURE"),
        _ => running(id),
    });
    assert_eq!(t.calls_of("a").len(), 3);
    assert!(matches!(t.outcome("a"), Outcome::Failure(_)));
    assert!(t.calls_of("b").len() > 3);
    assert!(matches!(
        t.outcome("b"),
        Outcome::TimedOut { last: Some(_) }
    ));
    assert_eq!(overall_exit_code(&t.outcomes), 1);
    assert!(t.events.contains(&"a finished 1 after 3".to_string()));
}

#[test]
fn unknown_statuses_and_status_less_data_keep_polling() {
    let t = drive(&["a"], &opts(), |id, n, _| match n {
        1..=3 => Ok(answer(id, Some("PAUSED"))),
        4..=5 => Ok(answer(id, None)),
        _ => Ok(answer(id, Some("Success"))),
    });
    assert_eq!(t.calls_of("a").len(), 6);
    assert_eq!(t.gaps_of("a"), [2.0, 3.0, 4.5, 6.75, 10.125]);
    assert!(matches!(t.outcome("a"), Outcome::Success(_)));
    assert!(t.events.contains(&"a changed PAUSED".to_string()));
}

#[test]
fn never_more_fetches_in_flight_than_the_concurrency() {
    let clock = FakeClock::new();
    let names: Vec<String> = (0..40).map(|i| format!("op{i:02}")).collect();
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let fetches = AtomicUsize::new(0);
    let fetch = |id: String| {
        let (clock, in_flight, peak, fetches) = (&clock, &in_flight, &peak, &fetches);
        async move {
            let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            let k = fetches.fetch_add(1, Ordering::SeqCst);
            clock
                .sleep_until(clock.now() + Duration::from_millis(300 + (k as u64 % 7) * 100))
                .await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            // Ids finish after different numbers of polls.
            let done = clock.elapsed() > secs(5.0 + (id[2..].parse::<f64>().unwrap()));
            Ok(answer(&id, Some(if done { "SUCCESS" } else { "RUNNING" })))
        }
    };
    let o = opts();
    let outcomes = run(
        &clock,
        poll_all(&names, &o, fetch, &clock, |_| {}, std::future::pending()),
    );
    assert_eq!(peak.load(Ordering::SeqCst), 8);
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);
    assert!(fetches.load(Ordering::SeqCst) > 40);
    let order: Vec<&String> = outcomes.iter().map(|(id, _)| id).collect();
    assert_eq!(order, names.iter().collect::<Vec<_>>());
    assert!(outcomes
        .iter()
        .all(|(_, o)| matches!(o, Outcome::Success(_))));
}

#[test]
fn cancel_interrupts_every_unfinished_id_and_drops_in_flight_fetches() {
    struct Guard<'a>(&'a AtomicUsize);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let clock = FakeClock::new();
    let started = AtomicUsize::new(0);
    let dropped = AtomicUsize::new(0);
    let names = ids(&["done", "polled", "hanging"]);
    let fetch = |id: String| {
        let (clock, started, dropped) = (&clock, &started, &dropped);
        started.fetch_add(1, Ordering::SeqCst);
        async move {
            let _guard = Guard(dropped);
            match id.as_str() {
                "done" => Ok(answer(&id, Some("SUCCESS"))),
                "polled" => running(&id),
                _ => {
                    clock.sleep_until(clock.now() + secs(3600.0)).await;
                    running(&id)
                }
            }
        }
    };
    let mut events = Vec::new();
    let cancel = clock.sleep_until(clock.start() + secs(3.0));
    let o = opts();
    let outcomes = run(
        &clock,
        poll_all(
            &names,
            &o,
            fetch,
            &clock,
            |e| events.push(describe(&e)),
            cancel,
        ),
    );
    assert_eq!(clock.elapsed(), secs(3.0));
    assert_eq!(
        started.load(Ordering::SeqCst),
        dropped.load(Ordering::SeqCst)
    );
    assert!(matches!(outcomes[0].1, Outcome::Success(_)));
    assert!(matches!(
        &outcomes[1].1,
        Outcome::Interrupted { last: Some(l) } if l.status() == Some(&Status::Running)
    ));
    assert_eq!(outcomes[2].1, Outcome::Interrupted { last: None });
    assert_eq!(overall_exit_code(&outcomes), 130);
    assert!(events.contains(&"hanging finished 130 after 0".to_string()));
}

#[test]
fn cancel_during_a_slow_fetch_before_the_first_answer() {
    let t = drive_with(&["a"], &opts(), secs(30.0), Some(secs(0.5)), |id, _, _| {
        running(id)
    });
    assert_eq!(t.end, secs(0.5));
    assert_eq!(t.outcome("a"), &Outcome::Interrupted { last: None });
}

#[test]
fn outcomes_come_back_in_argument_order() {
    // "c" finishes first, "a" last.
    let t = drive(&["a", "b", "c"], &opts(), |id, n, _| {
        let polls_needed = match id {
            "a" => 5,
            "b" => 3,
            _ => 1,
        };
        if n >= polls_needed {
            Ok(answer(id, Some("SUCCESS")))
        } else {
            running(id)
        }
    });
    let order: Vec<&str> = t.outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    let finished: Vec<&String> = t.events.iter().filter(|e| e.contains("finished")).collect();
    assert_eq!(
        finished,
        [
            "c finished 0 after 1",
            "b finished 0 after 3",
            "a finished 0 after 5"
        ]
    );
}

#[test]
fn each_poll_is_a_fresh_call_of_fetch() {
    let t = drive(&["a", "b"], &opts(), |id, n, _| {
        if n == 4 {
            Ok(answer(id, Some("SUCCESS")))
        } else {
            running(id)
        }
    });
    assert_eq!(t.calls.len(), 8);
    assert!(t.events.contains(&"a finished 0 after 4".to_string()));
}

#[test]
fn no_ids_means_nothing_to_do() {
    let t = drive(&[], &opts(), |id, _, _| running(id));
    assert!(t.outcomes.is_empty() && t.calls.is_empty());
    assert_eq!(overall_exit_code(&t.outcomes), 0);
}

#[test]
fn the_overall_exit_code_follows_the_spec_order() {
    let l = || answer("x", Some("SUCCESS"));
    let all = |o: Vec<Outcome>| -> i32 {
        let v: Vec<(String, Outcome)> = o.into_iter().map(|o| ("x".to_string(), o)).collect();
        overall_exit_code(&v)
    };
    let gave_up = || Outcome::GaveUp {
        error: Error::network("reset"),
        attempts: 5,
    };
    assert_eq!(all(vec![Outcome::Success(l()), Outcome::Success(l())]), 0);
    assert_eq!(
        all(vec![
            Outcome::TimedOut { last: None },
            Outcome::Failure(l())
        ]),
        1
    );
    assert_eq!(all(vec![Outcome::Failure(l()), Outcome::Expired(l())]), 3);
    assert_eq!(all(vec![Outcome::Expired(l()), gave_up()]), 5);
    assert_eq!(
        all(vec![gave_up(), Outcome::Error(api_error("Forbidden", 403))]),
        4
    );
    assert_eq!(
        all(vec![
            Outcome::Error(api_error("Forbidden", 403)),
            Outcome::Error(Error::config("no credentials"))
        ]),
        2
    );
    assert_eq!(
        all(vec![
            Outcome::Error(Error::config("no credentials")),
            Outcome::Interrupted { last: None }
        ]),
        130
    );
    assert_eq!(
        all(vec![
            Outcome::Success(l()),
            Outcome::TimedOut { last: None }
        ]),
        124
    );
}

#[test]
fn errors_are_classified_by_what_retrying_can_do() {
    use ErrorClass::*;
    assert_eq!(classify(&Error::network("reset")), Transient);
    assert_eq!(classify(&Error::protocol("not JSON")), Transient);
    assert_eq!(classify(&api_error("InternalError", 500)), Transient);
    assert_eq!(classify(&api_error("SomethingOdd", 502)), Transient);
    assert_eq!(
        classify(&api_error("Throttling", 400)),
        Throttled { counts: false }
    );
    assert_eq!(
        classify(&api_error("Throttling.User", 503)),
        Throttled { counts: false }
    );
    assert_eq!(
        classify(&api_error("ServiceUnavailable", 503)),
        Throttled { counts: true }
    );
    assert_eq!(classify(&api_error("SignatureDoesNotMatch", 400)), Fatal);
    assert_eq!(classify(&api_error("Forbidden.RAM", 403)), Fatal);
    assert_eq!(classify(&Error::config("no credentials")), Fatal);
}

#[test]
fn default_options_are_the_spec_defaults() {
    let o = PollOptions::default();
    assert_eq!(o.interval, Duration::from_secs(2));
    assert_eq!(o.max_interval, Duration::from_secs(30));
    assert_eq!(o.timeout, Duration::from_secs(3600));
    assert_eq!(o.concurrency, 8);
    assert_eq!(o.grace, Duration::from_secs(10));
    assert_eq!(o.max_transient, 5);
}

#[tokio::test]
async fn runs_on_tokio_time_with_the_real_clock() {
    let o = PollOptions {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
        ..PollOptions::default()
    };
    let calls = AtomicUsize::new(0);
    let names = ids(&["a", "b"]);
    let fetch = |id: String| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::task::yield_now().await;
            Ok(answer(
                &id,
                Some(if n >= 4 { "SUCCESS" } else { "RUNNING" }),
            ))
        }
    };
    let outcomes = poll_all(
        &names,
        &o,
        fetch,
        &TokioClock,
        |_| {},
        std::future::pending(),
    )
    .await;
    assert_eq!(overall_exit_code(&outcomes), 0);
}

#[test]
fn the_polling_future_is_send_so_callers_may_spawn_it() {
    fn assert_send<T: Send>(_: &T) {}
    let names = ids(&["a"]);
    let o = opts();
    let fut = poll_all(
        &names,
        &o,
        |id: String| async move { running(&id) },
        &TokioClock,
        |_| {},
        std::future::pending(),
    );
    assert_send(&fut);
}
