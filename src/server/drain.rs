//! Shutting down: each connection is told to finish what it is answering and close ([`Stoppable`]), and the
//! server waits for them all ([`Live`]).
//!
//! hyper-util's `GracefulShutdown` does both, but its connection future polls a `watch` receiver (a
//! `Notified`, under a lock) every time the connection wakes: some 480 instructions a request, a sixth of
//! what replay adds to a bare hyper server. Here the connection's poll costs a comparison of wakers and a
//! load, and the watchdog, which looks at every connection on shutdown, pulls the trigger.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use atomic_waker::AtomicWaker;
use hyper_util::server::graceful::GracefulConnection;

/// The trigger of one connection's graceful shutdown.
#[derive(Default)]
pub(super) struct StopSignal {
    stop: AtomicBool,
    waker: AtomicWaker,
}

impl StopSignal {
    /// Tells the connection to finish the request in flight, if any, and close.
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// A connection that shuts down gracefully (hyper's `graceful_shutdown`: in-flight requests are answered,
/// keep-alive ends) once its [`StopSignal`] fires.
pub(super) struct Stoppable<C> {
    conn: C,
    signal: Arc<StopSignal>,
    /// The waker registered: a task's waker stays the same while it runs, so it is registered once, not on
    /// every poll (two atomic operations a poll, a few polls a request).
    registered: Option<std::task::Waker>,
    stopping: bool,
}

impl<C> Stoppable<C> {
    pub(super) fn new(conn: C, signal: Arc<StopSignal>) -> Self {
        Stoppable { conn, signal, registered: None, stopping: false }
    }
}

impl<C: GracefulConnection> Future for Stoppable<C> {
    type Output = Result<(), C::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `conn` is structurally pinned: it is never moved out of `self`, and `Stoppable` has no
        // `Drop` of its own; the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let mut conn = unsafe { Pin::new_unchecked(&mut this.conn) };
        if !this.stopping {
            if !this.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                this.signal.waker.register(cx.waker());
                this.registered = Some(cx.waker().clone());
            }
            if this.signal.stop.load(Ordering::Acquire) {
                this.stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
        conn.poll(cx)
    }
}

/// How many connections are open, and a wake-up when there are none.
#[derive(Default)]
pub(super) struct Live {
    open: AtomicUsize,
    none: tokio::sync::Notify,
}

impl Live {
    /// Counts a connection until the guard is dropped (with the task that serves it).
    pub(super) fn open(self: &Arc<Live>) -> Open {
        self.open.fetch_add(1, Ordering::AcqRel);
        Open(self.clone())
    }

    /// Resolves once no connection is open.
    pub(super) async fn closed(&self) {
        loop {
            let notified = self.none.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One open connection, counted by [`Live`].
pub(super) struct Open(Arc<Live>);

impl Drop for Open {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none.notify_waiters();
        }
    }
}
