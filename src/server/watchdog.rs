//! The server's watchdog (one task for all its connections): a request must arrive whole within
//! `header_read` of its first byte, and a connection with no request in flight is closed after `idle`; at
//! shutdown, idle connections close at once and busy ones once answered. It learns all of it from atomics
//! each connection's socket ([`Watched`]) and requests ([`InFlight`]) set, and reads no clock on the request
//! path.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ServerConfig;
use super::drain::StopSignal;

/// What a connection's watchdog knows, kept by its socket and its requests with atomics alone (no clock is
/// read on the request path): whether bytes of a request have arrived that no handler has yet, how many
/// requests are being handled, and how many have been answered. The watchdog looks every quarter of the
/// shorter timeout and notes when it first saw each state, so a timeout fires within a quarter of its length
/// after it is due.
pub(super) struct Activity {
    /// Bytes of a request arrived, and it is not yet whole (its head or body still coming).
    arriving: AtomicBool,
    /// Requests being handled (the low 32 bits) and answered (the high 32, wrapping): one count for both, so
    /// a request moves one count twice ([`InFlight`]).
    requests: AtomicU64,
}

/// One answered request in [`Activity::requests`].
const ANSWERED: u64 = 1 << 32;

/// The requests being handled, of a value of [`Activity::requests`].
fn in_flight(requests: u64) -> u64 {
    requests & (ANSWERED - 1)
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity { arriving: AtomicBool::new(false), requests: AtomicU64::new(0) }
    }

    /// Bytes arrived.
    fn read(&self) {
        if in_flight(self.requests.load(Ordering::Relaxed)) == 0 && !self.arriving.load(Ordering::Relaxed) {
            self.arriving.store(true, Ordering::Relaxed);
        }
    }
}

/// What the watchdog keeps of one connection between looks.
struct Watching {
    activity: Arc<Activity>,
    serving: tokio::task::AbortHandle,
    graceful: Arc<StopSignal>,
    peer: SocketAddr,
    idle_since: Instant,
    arriving_since: Option<Instant>,
    answered: u64,
}

impl Watching {
    /// Why the connection should close now, if it should.
    fn look(&mut self, now: Instant, config: &ServerConfig, stopping: bool) -> Option<&'static str> {
        let requests = self.activity.requests.load(Ordering::Relaxed);
        let busy = in_flight(requests) > 0;
        if stopping {
            if !busy {
                return Some("the server is shutting down and no request is in flight");
            }
            // hyper answers what is in flight, then closes; the drain bounds how long that may take.
            self.graceful.stop();
        }
        let n = requests >> 32;
        if busy || n != self.answered {
            self.answered = n;
            self.idle_since = now;
        }
        if !busy && self.activity.arriving.load(Ordering::Relaxed) {
            let since = *self.arriving_since.get_or_insert(now);
            if now - since >= config.header_read {
                return Some("a request did not arrive whole in time");
            }
        } else {
            self.arriving_since = None;
            if !busy && now - self.idle_since >= config.idle {
                return Some("idle for too long");
            }
        }
        None
    }
}

/// A server's watchdog: one task that looks at every connection every quarter of the shorter timeout (at
/// once when shutdown begins, then every few milliseconds until the connections are gone) and aborts the ones
/// past a timeout, or idle at shutdown. One task with one timer, not a task or a timer per connection (a
/// spawn per connection, and a timer wheel the runtime works through on every park), and not a thread of its
/// own: in a process of one thread (the runtime on one CPU) the kernel looks up a socket's file without
/// counting a reference to it, and a second thread made every `recv`, `send` and `epoll_wait` count and
/// uncount one (0.09 µs of kernel time a replayed request, 1.2%). It reads the connections' atomics only
/// when it looks.
pub(super) struct Watchdog {
    shared: Arc<WatchdogShared>,
}

struct WatchdogShared {
    config: Arc<ServerConfig>,
    connections: std::sync::Mutex<Vec<Watching>>,
    stopping: AtomicBool,
    /// Wakes the task to look at once (shutdown began).
    look_now: tokio::sync::Notify,
    /// The task, once started.
    task: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl Watchdog {
    /// A watchdog for a server's connections; its task starts with the first connection.
    pub(super) fn new(config: Arc<ServerConfig>) -> Watchdog {
        Watchdog {
            shared: Arc::new(WatchdogShared {
                config,
                connections: std::sync::Mutex::new(Vec::new()),
                stopping: AtomicBool::new(false),
                look_now: tokio::sync::Notify::new(),
                task: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Watches a connection until it ends or is closed. Called on the server's runtime.
    pub(super) fn watch(
        &self,
        activity: Arc<Activity>,
        serving: tokio::task::AbortHandle,
        graceful: Arc<StopSignal>,
        peer: SocketAddr,
    ) {
        self.shared.task.get_or_init(|| tokio::spawn(self.shared.clone().run()).abort_handle());
        let now = Instant::now();
        let w = Watching { activity, serving, graceful, peer, idle_since: now, arriving_since: None, answered: 0 };
        self.shared.connections.lock().unwrap_or_else(|e| e.into_inner()).push(w);
    }

    /// Shutdown: idle connections close at once, busy ones once their requests are answered.
    pub(super) fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.look_now.notify_one();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(task) = self.shared.task.get() {
            task.abort();
        }
    }
}

impl WatchdogShared {
    async fn run(self: Arc<Self>) {
        let tick = (self.config.header_read.min(self.config.idle) / 4).max(Duration::from_millis(1));
        loop {
            let stopping = self.stopping.load(Ordering::Acquire);
            let now = Instant::now();
            self.connections.lock().unwrap_or_else(|e| e.into_inner()).retain_mut(|w| {
                if w.serving.is_finished() {
                    return false;
                }
                match w.look(now, &self.config, stopping) {
                    Some(why) => {
                        tracing::debug!(peer = %w.peer, "closing the connection: {why}");
                        w.serving.abort();
                        false
                    }
                    None => true,
                }
            });
            // While shutting down, busy connections are looked at often, so each closes soon after its answer.
            let wait = if stopping { tick.min(Duration::from_millis(5)) } else { tick };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.look_now.notified() => {}
            }
        }
    }
}

/// A request being handled on a connection: from when it arrived whole until its answer is made (or it is
/// dropped).
///
/// Over HTTP/1 the connection's task is the only writer of its count: hyper answers one request at a time
/// and polls the answer's future inside the connection's own, so the count is moved on with a load and a
/// store, not an atomic addition (whose locked instruction cost replay more than the rest of this
/// bookkeeping). HTTP/2 answers each stream on a task of its own, possibly on another thread, and adds.
pub(super) struct InFlight<'a> {
    activity: &'a Activity,
    shared: bool,
}

impl InFlight<'_> {
    /// A request of `version` starts being handled.
    pub(super) fn start(activity: &Activity, version: http::Version) -> InFlight<'_> {
        let in_flight = InFlight { activity, shared: version == http::Version::HTTP_2 };
        in_flight.add(1);
        activity.arriving.store(false, Ordering::Relaxed);
        in_flight
    }

    fn add(&self, n: u64) {
        let requests = &self.activity.requests;
        match self.shared {
            true => {
                requests.fetch_add(n, Ordering::Relaxed);
            }
            false => requests.store(requests.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // One more answered, one fewer in flight.
        self.add(ANSWERED - 1);
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
