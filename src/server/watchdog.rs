//! Each connection's watchdog: a request must arrive whole within `header_read` of its first byte, and a
//! connection with no request in flight is closed after `idle`. It learns both from atomics its socket
//! ([`Watched`]) and its requests ([`InFlight`]) set, and reads no clock on the request path.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use super::ServerConfig;

/// What a connection's watchdog knows, kept by its socket and its requests with atomics alone (no clock is
/// read on the request path): whether bytes of a request have arrived that no handler has yet, how many
/// requests are being handled, and how many have been answered. The watchdog looks every quarter of the
/// shorter timeout and notes when it first saw each state, so a timeout fires within a quarter of its length
/// after it is due.
pub(super) struct Activity {
    /// Bytes of a request arrived, and it is not yet whole (its head or body still coming).
    arriving: AtomicBool,
    in_flight: AtomicUsize,
    answered: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity { arriving: AtomicBool::new(false), in_flight: AtomicUsize::new(0), answered: AtomicU64::new(0) }
    }

    /// Bytes arrived.
    fn read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && !self.arriving.load(Ordering::Relaxed) {
            self.arriving.store(true, Ordering::Relaxed);
        }
    }

    /// Resolves when the connection should close, saying why, or with `None` when it has ended by itself.
    pub(super) async fn watchdog(
        &self,
        config: &ServerConfig,
        stopping: &mut watch::Receiver<bool>,
        serving: &tokio::task::AbortHandle,
    ) -> Option<&'static str> {
        let tick = (config.header_read.min(config.idle) / 4).max(Duration::from_millis(1));
        let mut idle_since = Instant::now();
        let mut arriving_since: Option<Instant> = None;
        let mut answered = 0;
        loop {
            if serving.is_finished() {
                return None;
            }
            let now = Instant::now();
            let busy = self.in_flight.load(Ordering::Relaxed) > 0;
            if *stopping.borrow() && !busy {
                return Some("the server is shutting down and no request is in flight");
            }
            let n = self.answered.load(Ordering::Relaxed);
            if busy || n != answered {
                answered = n;
                idle_since = now;
            }
            if !busy && self.arriving.load(Ordering::Relaxed) {
                let since = *arriving_since.get_or_insert(now);
                if now - since >= config.header_read {
                    return Some("a request did not arrive whole in time");
                }
            } else {
                arriving_since = None;
                if !busy && now - idle_since >= config.idle {
                    return Some("idle for too long");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                changed = stopping.changed() => {
                    if changed.is_err() {
                        // The server is gone; the drain bounds what is left.
                        return None;
                    }
                }
            }
        }
    }
}

/// A request being handled on a connection: from when it arrived whole until its answer is made (or it is
/// dropped).
pub(super) struct InFlight(Arc<Activity>);

impl InFlight {
    pub(super) fn start(activity: Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.arriving.store(false, Ordering::Relaxed);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.answered.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that tells its [`Activity`] when it reads.
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// `inner`, telling `activity` when bytes arrive.
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
