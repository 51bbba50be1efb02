//! Drives many futures of one type inside one task, polling only those that were woken (a
//! minimal `FuturesUnordered`, kept by index so results land in argument order).
//!
//! One task rather than spawned ones: the per-id futures borrow the engine's state, and
//! dropping this set drops every in-flight fetch at once (cancellation, deadline).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// The parent task's waker, shared by every child.
type Parent = Arc<Mutex<Option<Waker>>>;

/// A child's waker: marks the child as ready and wakes the parent.
struct ChildWake {
    woken: AtomicBool,
    parent: Parent,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self
            .parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            w.wake_by_ref();
        }
    }
}

struct Child<F> {
    future: Option<Pin<Box<F>>>,
    wake: Arc<ChildWake>,
    waker: Waker,
}

/// A set of futures polled together; each finishes on its own.
pub(super) struct Concurrent<F> {
    children: Vec<Child<F>>,
    parent: Parent,
}

impl<F: Future> Concurrent<F> {
    /// Holds `futures`, none polled yet.
    pub(super) fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let parent: Parent = Arc::default();
        let children = futures
            .into_iter()
            .map(|f| {
                let wake = Arc::new(ChildWake {
                    woken: AtomicBool::new(true),
                    parent: parent.clone(),
                });
                Child {
                    future: Some(Box::pin(f)),
                    waker: Waker::from(wake.clone()),
                    wake,
                }
            })
            .collect();
        Concurrent { children, parent }
    }

    /// Polls every woken, unfinished child; hands each that finishes to `done` with its
    /// index. Ready once every child has finished.
    pub(super) fn poll_each(
        &mut self,
        cx: &mut Context<'_>,
        mut done: impl FnMut(usize, F::Output),
    ) -> Poll<()> {
        {
            let mut parent = self.parent.lock().unwrap_or_else(|e| e.into_inner());
            if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        let mut pending = false;
        for (index, child) in self.children.iter_mut().enumerate() {
            let Some(future) = child.future.as_mut() else {
                continue;
            };
            if !child.wake.woken.swap(false, Ordering::SeqCst) {
                pending = true;
                continue;
            }
            match future.as_mut().poll(&mut Context::from_waker(&child.waker)) {
                Poll::Ready(output) => {
                    child.future = None;
                    done(index, output);
                }
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Drops every unfinished child (and whatever it was awaiting) and returns their indices.
    pub(super) fn abandon(&mut self) -> Vec<usize> {
        self.children
            .iter_mut()
            .enumerate()
            .filter_map(|(i, c)| c.future.take().map(|_| i))
            .collect()
    }
}
