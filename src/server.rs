//! The one HTTP serve loop shared by the reference service, the recording proxy and the replay server.
//!
//! hyper 1 through hyper-util's `auto::Builder` (HTTP/1.1 and h2c), a task per connection, bodies collected up
//! to a limit, and graceful shutdown: stop accepting, close idle connections, let in-flight requests finish,
//! give up after a bounded drain. Handlers see a whole request (`Request<Bytes>`) and return a whole response:
//! every body in this protocol is small, and whole bodies keep handlers simple and testable without a socket.
//!
//! Two timeouts keep a connection from being held forever (see [`ServerConfig`]): a request must arrive
//! whole, head and body, within [`ServerConfig::header_read`] of its first byte, and a connection with no
//! request in flight is closed after [`ServerConfig::idle`]. Each connection has a watchdog that knows both
//! from what its socket reads and what its handler is doing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::model::ServiceError;
use crate::protocol;

/// Something that answers whole requests.
pub trait Handler: Send + Sync + 'static {
    /// The answer to a whole request.
    fn handle(&self, req: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send;

    /// The answer when a body cannot be read (too large, or the connection broke): an AWS-shaped error in
    /// the caller's protocol.
    fn body_error(&self, parts: &http::request::Parts, error: ServiceError) -> Response<Bytes> {
        let protocol = protocol::detect(&parts.method, parts.uri.path(), &parts.headers)
            .map_or_else(|r| r.protocol, |c| c.protocol);
        protocol::error_response(protocol, &error, &crate::protocol::request_id())
    }
}

/// Limits and timing of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body accepted; larger ones get 413. Default 8 MiB.
    pub max_body: usize,
    /// The most bytes of large request bodies (over 64 KiB each) being read or handled at once, across all
    /// connections; past it a request gets 503 `ServiceUnavailableException`. Default 64 MiB. (Small bodies,
    /// every SDK request, are not counted: they cost the request path nothing.)
    pub max_bodies_in_flight: usize,
    /// How long shutdown waits for in-flight requests before giving up on them. Default 10 s.
    pub drain: Duration,
    /// How long a request may take to arrive whole, head and body, from its first byte; a connection that
    /// sends part of one and stops is closed (within a quarter of this after it runs out). Default 10 s.
    pub header_read: Duration,
    /// How long a connection may stay open with no request in flight before it is closed (within a quarter
    /// of the shorter timeout after). Default 60 s (AWS's load balancers' own default).
    pub idle: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: 8 * 1024 * 1024,
            max_bodies_in_flight: 64 * 1024 * 1024,
            drain: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// A running server. Dropping it without [`Server::shutdown`] stops accepting at once.
#[must_use = "the server stops accepting when dropped"]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `handler` on `listener` until [`Server::shutdown`].
    pub fn spawn<H: Handler>(listener: TcpListener, handler: Arc<H>, config: ServerConfig) -> std::io::Result<Server> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, handler, config, async move {
            let _ = stopped.await;
        }));
        Ok(Server { addr, stop: Some(stop), task: Some(task) })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, waits for in-flight requests (bounded by the drain time), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The tokio runtime every server of the binary runs on. On one CPU (a pinned process, a one-core container)
/// a single-threaded runtime does the same work without the work-stealing scheduler's cross-thread
/// bookkeeping; otherwise one worker per CPU.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    tracing::debug!(threads = if one_cpu { "one" } else { "one per CPU" }, "async runtime");
    builder.enable_all().build()
}

/// Binds a listener, with a message that names the address on failure.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on '{addr}': {e} (expected a free HOST:PORT such as 127.0.0.1:0)"))
}

/// The serve loop: accepts until `shutdown` resolves, then drains.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    serve_with_tls(listener, None, handler, config, shutdown).await
}

/// [`serve`], over TLS when an acceptor is given (HTTPS upstreams in tests, `reference --tls-cert`).
pub async fn serve_with_tls<H: Handler>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Arc<H>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // HTTP/1.1 responses are copied into one buffer and sent with one `write`, instead of a `writev` of head
    // and body. Every body here is small, and the copy costs less than the vectored write: replay's CPU per
    // request fell 7% with it (BENCHMARKS.md, "Replay throughput").
    builder.http1().writev(false);
    let graceful = GracefulShutdown::new();
    let (stopping_tx, stopping) = watch::channel(false);
    let shared = Arc::new(Shared { handler, bodies: AtomicUsize::new(0), max_bodies: config.max_bodies_in_flight });
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let conn = Connection {
                    shared: shared.clone(),
                    config: config.clone(),
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                    stopping: stopping.clone(),
                    peer,
                };
                match &tls {
                    None => {
                        conn.serve(stream);
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        let handshake = config.header_read;
                        tokio::spawn(async move {
                            match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                                Ok(Ok(s)) => conn.serve(s),
                                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Idle connections close now; in-flight requests finish within the drain.
    let _ = stopping_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections drained"),
        () = tokio::time::sleep(config.drain) => tracing::warn!(drain = ?config.drain, "connections still open after the drain time; closing"),
    }
}

/// What every request of a server shares: the handler, and the bytes of large bodies in flight.
struct Shared<H> {
    handler: Arc<H>,
    bodies: AtomicUsize,
    max_bodies: usize,
}

/// The bytes of one large request body, charged to the server's count until dropped.
struct BodyCharge<'a> {
    count: &'a AtomicUsize,
    bytes: usize,
}

impl BodyCharge<'_> {
    /// Adds `n` bytes, unless the count would pass `max`.
    fn add(&mut self, n: usize, max: usize) -> bool {
        if self.count.fetch_add(n, Ordering::Relaxed) + n > max {
            self.count.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        self.bytes += n;
        true
    }
}

impl Drop for BodyCharge<'_> {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.count.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

/// Bodies up to this size are not counted against [`ServerConfig::max_bodies_in_flight`].
const SMALL_BODY: usize = 64 * 1024;

/// One accepted connection, with what serving it needs.
struct Connection<H> {
    shared: Arc<Shared<H>>,
    config: Arc<ServerConfig>,
    builder: auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    stopping: watch::Receiver<bool>,
    peer: SocketAddr,
}

impl<H: Handler> Connection<H> {
    /// Serves the connection (a task) until it ends, its watchdog (another) closes it, or shutdown finds it
    /// idle.
    fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Connection { shared, config, builder, watcher, mut stopping, peer } = self;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let max_body = config.max_body;
        let on_request = activity.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let (shared, activity) = (shared.clone(), on_request.clone());
            async move { Ok::<_, Infallible>(answer(&shared, req, max_body, activity).await.map(Full::new)) }
        });
        let conn = watcher.watch(builder.serve_connection(io, service).into_owned());
        // The watchdog is a task of its own, not a second future polled beside the connection: that one was
        // polled (its timer looked at) every time the connection woke, some 1,100 instructions a request.
        let serving = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
        let abort = serving.abort_handle();
        tokio::spawn(async move {
            if let Some(why) = activity.watchdog(&config, &mut stopping, &abort).await {
                tracing::debug!(%peer, "closing the connection: {why}");
                abort.abort();
            }
        });
    }
}

/// What a connection's watchdog knows, kept by its socket and its requests with atomics alone (no clock is
/// read on the request path): whether bytes of a request have arrived that no handler has yet, how many
/// requests are being handled, and how many have been answered. The watchdog looks every quarter of the
/// shorter timeout and notes when it first saw each state, so a timeout fires within a quarter of its length
/// after it is due.
struct Activity {
    /// Bytes of a request arrived, and it is not yet whole (its head or body still coming).
    arriving: AtomicBool,
    in_flight: AtomicUsize,
    answered: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { arriving: AtomicBool::new(false), in_flight: AtomicUsize::new(0), answered: AtomicU64::new(0) }
    }

    /// Bytes arrived.
    fn read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && !self.arriving.load(Ordering::Relaxed) {
            self.arriving.store(true, Ordering::Relaxed);
        }
    }

    /// Resolves when the connection should close, saying why, or with `None` when it has ended by itself.
    async fn watchdog(
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
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> InFlight {
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
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
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

/// Reads the body (the request is still arriving until then), then lets the handler answer.
async fn answer<H: Handler>(
    shared: &Shared<H>,
    req: Request<Incoming>,
    max_body: usize,
    activity: Arc<Activity>,
) -> Response<Bytes> {
    let handler = &*shared.handler;
    let (parts, body) = req.into_parts();
    let mut charge = BodyCharge { count: &shared.bodies, bytes: 0 };
    // A large body counts whole against the server's bytes in flight, from when it passes the small size.
    let read =
        read_body(body, max_body, &mut |len| len <= SMALL_BODY || charge.add(len - charge.bytes, shared.max_bodies))
            .await;
    let _in_flight = InFlight::start(activity);
    match read {
        Err(BodyError::Busy) => {
            let err = ServiceError::new(
                503,
                "ServiceUnavailableException",
                format!(
                    "Too many request bytes in flight on this server (more than {} in large bodies); retry later",
                    shared.max_bodies
                ),
            );
            handler.body_error(&parts, err)
        }
        Ok(body) => handler.handle(Request::from_parts(parts, body)).await,
        Err(BodyError::TooLarge) => {
            let err = ServiceError::new(
                413,
                "RequestEntityTooLargeException",
                format!("Request body is larger than the {max_body}-byte limit"),
            );
            handler.body_error(&parts, err)
        }
        Err(BodyError::Read(e)) => {
            handler.body_error(&parts, ServiceError::serialization(format!("Could not read the request body: {e}")))
        }
    }
}

#[derive(Debug)]
enum BodyError {
    TooLarge,
    Busy,
    Read(String),
}

/// A whole request body of at most `max` bytes. A body that arrives in one piece (an SDK's request, nearly
/// always) is returned as it came, without the list of chunks `collect` allocates and walks for it.
/// An announced length over the limit is not refused before reading: a client still sending its body when
/// the answer comes would see a broken pipe instead of the 413.
/// `room(held)` is asked before the body's buffer grows to hold `held` bytes, and says whether it may.
async fn read_body<B>(mut body: B, max: usize, room: &mut impl FnMut(usize) -> bool) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut first = Bytes::new();
    let mut rest: Option<bytes::BytesMut> = None;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else { break };
        let Ok(data) = frame.map_err(|e| BodyError::Read(e.to_string()))?.into_data() else { continue }; // trailers
        let len = first.len() + rest.as_ref().map_or(0, |r| r.len()) + data.len();
        if len > max {
            return Err(BodyError::TooLarge);
        }
        match &mut rest {
            None if first.is_empty() => {
                if !room(data.len()) {
                    return Err(BodyError::Busy);
                }
                first = data;
            }
            Some(r) => {
                // What the buffer holds once it has grown (the room is asked before it grows).
                if !room(r.capacity().max(len)) {
                    return Err(BodyError::Busy);
                }
                r.extend_from_slice(&data);
            }
            None => {
                // The whole body's room at once when its length is announced: growing by doubling would hold
                // up to twice what the body is.
                let announced = usize::try_from(body.size_hint().lower()).unwrap_or(max).min(max);
                let capacity = len.max(announced);
                if !room(capacity) {
                    return Err(BodyError::Busy);
                }
                let mut r = bytes::BytesMut::with_capacity(capacity);
                r.extend_from_slice(&std::mem::take(&mut first));
                r.extend_from_slice(&data);
                rest = Some(r);
            }
        }
    }
    Ok(rest.map_or(first, bytes::BytesMut::freeze))
}

/// A TLS acceptor from PEM files (certificate chain, private key), on rustls with ring.
pub fn tls_acceptor(
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .with_context(|| format!("cannot read certificate '{}'", cert_pem.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("'{}' is not a PEM certificate chain", cert_pem.display()))?;
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .with_context(|| format!("'{}' is not a PEM private key", key_pem.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not make a TLS identity")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when it
/// is first polled: call it before announcing the address, so a signal sent right after the `listening on`
/// line is never lost to the default action.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints the contract's first stdout line, `listening on http://ADDR` (https with TLS), and flushes it.
pub fn announce(addr: SocketAddr) {
    announce_scheme("http", addr)
}

/// [`announce`] with another scheme (`https`).
pub fn announce_scheme(scheme: &str, addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::{Body, Frame, SizeHint};

    use super::*;

    /// A body that yields the given frames, then ends; it announces its length only if asked to.
    struct Frames {
        frames: VecDeque<Result<Frame<Bytes>, &'static str>>,
        announced: Option<u64>,
    }

    impl Frames {
        fn data(chunks: &[&'static [u8]], announce: bool) -> Frames {
            let total = chunks.iter().map(|c| c.len() as u64).sum();
            Frames {
                frames: chunks.iter().map(|c| Ok(Frame::data(Bytes::from_static(c)))).collect(),
                announced: announce.then_some(total),
            }
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = &'static str;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.frames.pop_front())
        }
        fn size_hint(&self) -> SizeHint {
            self.announced.map_or_else(SizeHint::default, SizeHint::with_exact)
        }
    }

    fn read(body: Frames, max: usize) -> Result<Bytes, BodyError> {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(read_body(body, max, &mut |_| true))
    }

    #[test]
    fn large_bodies_in_flight_share_one_count_and_give_it_back() {
        let count = AtomicUsize::new(0);
        let mut a = BodyCharge { count: &count, bytes: 0 };
        let mut b = BodyCharge { count: &count, bytes: 0 };
        assert!(a.add(600, 1000) && b.add(400, 1000));
        assert!(!b.add(1, 1000), "past the limit, nothing more is charged");
        assert_eq!(count.load(Ordering::Relaxed), 1000);
        drop(a);
        assert_eq!(count.load(Ordering::Relaxed), 400);
        // A body that may not grow is refused as busy, not as too large.
        let busy = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(read_body(
            Frames::data(&[b"01234", b"56789"], false),
            100,
            &mut |len| len < 8,
        ));
        assert!(matches!(busy, Err(BodyError::Busy)), "{busy:?}");
    }

    #[test]
    fn a_body_in_one_piece_is_kept_without_a_copy() {
        static BODY: &[u8] = br#"{"MaxResults": 4}"#;
        let got = read(Frames::data(&[BODY], true), 100).unwrap();
        assert_eq!(got.as_ptr(), BODY.as_ptr(), "the chunk itself, not a copy");
        assert_eq!(got, BODY);
    }

    #[test]
    fn a_body_in_pieces_is_joined_in_order_and_trailers_are_skipped() {
        let mut body = Frames::data(&[b"{\"Max", b"", b"Results\"", b": 4}"], false);
        body.frames.push_back(Ok(Frame::trailers(http::HeaderMap::new())));
        assert_eq!(read(body, 100).unwrap(), &br#"{"MaxResults": 4}"#[..]);
        assert_eq!(read(Frames::data(&[], false), 100).unwrap(), Bytes::new());
    }

    #[test]
    fn a_body_over_the_limit_is_refused_whether_announced_or_not() {
        assert!(matches!(read(Frames::data(&[b"0123456789"], true), 9), Err(BodyError::TooLarge)));
        assert!(matches!(read(Frames::data(&[b"01234", b"56789"], false), 9), Err(BodyError::TooLarge)));
        assert_eq!(read(Frames::data(&[b"01234", b"56789"], false), 10).unwrap(), &b"0123456789"[..]);
        // A body of exactly the limit in three pieces is whole, not counted twice in part.
        assert_eq!(read(Frames::data(&[b"0123", b"456", b"789"], false), 10).unwrap(), &b"0123456789"[..]);
    }

    #[test]
    fn a_broken_body_says_why() {
        let mut body = Frames::data(&[b"{"], false);
        body.frames.push_back(Err("connection reset"));
        assert!(matches!(read(body, 100), Err(BodyError::Read(e)) if e == "connection reset"));
    }

    /// Answers 200 `ok`, after `delay`.
    struct Slow(Duration);

    impl Handler for Slow {
        async fn handle(&self, _: Request<Bytes>) -> Response<Bytes> {
            tokio::time::sleep(self.0).await;
            Response::new(Bytes::from_static(b"ok"))
        }
    }

    async fn start(handler: Slow, header_read: Duration, idle: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = ServerConfig { header_read, idle, ..ServerConfig::default() };
        Server::spawn(listener, Arc::new(handler), config).unwrap()
    }

    /// Reads until the server closes the connection (or `within` passes); what was read.
    async fn read_to_close(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut got))
            .await
            .ok()
            .map(|r| r.map(|_| got).unwrap_or_default())
    }

    const REQUEST: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";

    #[tokio::test]
    async fn a_half_sent_request_head_is_closed_after_the_header_read_timeout() {
        use tokio::io::AsyncWriteExt;
        let server = start(Slow(Duration::ZERO), Duration::from_millis(300), Duration::from_secs(30)).await;
        let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        let started = Instant::now();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Ty").await.unwrap();
        let got = read_to_close(&mut s, Duration::from_secs(10)).await;
        assert_eq!(got, Some(Vec::new()), "closed, with nothing answered");
        assert!(started.elapsed() >= Duration::from_millis(300), "not before the timeout: {:?}", started.elapsed());
        // A whole request on a new connection is answered as usual.
        let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        s.write_all(REQUEST).await.unwrap();
        let mut buf = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut s, &mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }

    #[tokio::test]
    async fn an_idle_connection_is_closed_but_a_slow_answer_is_not_cut_off() {
        use tokio::io::AsyncWriteExt;
        // The handler takes twice the idle timeout: a request in flight is not idleness.
        let server = start(Slow(Duration::from_millis(600)), Duration::from_secs(30), Duration::from_millis(300)).await;
        let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        s.write_all(REQUEST).await.unwrap();
        let got = read_to_close(&mut s, Duration::from_secs(10)).await.expect("closed within 10 s");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok"), "answered, then closed when idle: {text}");
        // A connection that never sends anything is closed too.
        let mut quiet = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        assert_eq!(read_to_close(&mut quiet, Duration::from_secs(10)).await, Some(Vec::new()));
    }

    #[tokio::test]
    async fn shutdown_closes_idle_and_half_sent_connections_at_once() {
        use tokio::io::AsyncWriteExt;
        let server = start(Slow(Duration::ZERO), Duration::from_secs(30), Duration::from_secs(30)).await;
        let mut idle = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        idle.write_all(REQUEST).await.unwrap();
        let mut buf = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut idle, &mut buf).await.unwrap();
        let mut half = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        half.write_all(b"POST / HTTP/1.1\r\nHo").await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        // The drain is 10 s; nothing is in flight, so nothing should wait for it.
        server.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(5), "shutdown waited {:?}", started.elapsed());
        assert!(read_to_close(&mut half, Duration::from_secs(5)).await.is_some(), "the half-sent connection is closed");
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_closed_too() {
        use tokio::io::AsyncWriteExt;
        let server = start(Slow(Duration::ZERO), Duration::from_millis(300), Duration::from_secs(30)).await;
        let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"MaxRes").await.unwrap();
        let got = read_to_close(&mut s, Duration::from_secs(10)).await;
        assert_eq!(got, Some(Vec::new()), "closed, with nothing answered");
    }
}
