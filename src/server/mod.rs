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
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the serve loop, the [`Server`] handle, the runtime |
//! | `body.rs` | reading a request body within its limits, and the bytes of large bodies in flight |
//! | `watchdog.rs` | each connection's two timeouts |
//! | `tls.rs` | the TLS acceptor |

mod body;
mod drain;
mod tls;
mod watchdog;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::model::ServiceError;
use crate::protocol;
use body::{Requests, Shared, answer};
use drain::{Live, StopSignal, Stoppable};
use watchdog::{Activity, Watchdog, Watched};

pub use tls::{TlsError, tls_acceptor};

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
///
/// ```
/// use std::time::Duration;
/// use snomed_vcr::ServerConfig;
///
/// let config = ServerConfig { idle: Duration::from_secs(5), ..ServerConfig::default() };
/// assert_eq!(config.max_body, 8 * 1024 * 1024);
/// ```
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

/// The largest request body a server takes by default, and the largest body `record` records (`--max-body`).
pub const MAX_BODY_DEFAULT: usize = 8 * 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: MAX_BODY_DEFAULT,
            max_bodies_in_flight: 64 * 1024 * 1024,
            drain: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// A running server. Dropping it without [`Server::shutdown`] stops accepting at once.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use snomed_vcr::{Reference, ReferenceConfig, Server, ServerConfig};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let server = Server::spawn(listener, Arc::new(Reference::new(ReferenceConfig::generated(5, 1))), ServerConfig::default()).unwrap();
/// assert!(server.uri().starts_with("http://127.0.0.1:"));
/// server.shutdown().await;
/// # });
/// ```
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
pub async fn bind(addr: &str) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|error| BindError { addr: addr.to_string(), error })
}

/// An address that cannot be listened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on '{addr}': {error} (expected a free HOST:PORT such as 127.0.0.1:0)")]
pub struct BindError {
    /// The address given.
    pub addr: String,
    /// Why.
    pub error: std::io::Error,
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
    //
    // Half-closed connections are served: a client that shuts its sending side after its request still gets
    // the answer (from replay, record and the reference alike). Without it hyper tries a read while every
    // request is answered, to see whether the client left; that read made room for itself first, and with
    // the request still holding the read buffer it took a fresh 8 KiB one every request (BENCHMARKS.md,
    // "Replay beside the minimal hyper server, a fourth time"). A client that leaves is seen when the answer
    // is written, and the idle and header timeouts are the watchdog's, not hyper's.
    builder.http1().writev(false).half_close(true);
    let live = Arc::new(Live::default());
    let shared = Arc::new(Shared::new(handler, config.max_bodies_in_flight));
    let config = Arc::new(config);
    let watchdog = Arc::new(Watchdog::new(config.clone()));
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
                    live: live.clone(),
                    watchdog: watchdog.clone(),
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
    watchdog.stop();
    tokio::select! {
        () = live.closed() => tracing::debug!("all connections drained"),
        () = tokio::time::sleep(config.drain) => tracing::warn!(drain = ?config.drain, "connections still open after the drain time; closing"),
    }
}

/// One accepted connection, with what serving it needs.
struct Connection<H> {
    shared: Arc<Shared<H>>,
    config: Arc<ServerConfig>,
    builder: auto::Builder<TokioExecutor>,
    live: Arc<Live>,
    watchdog: Arc<Watchdog>,
    peer: SocketAddr,
}

impl<H: Handler> Connection<H> {
    /// Serves the connection (a task) until it ends, its watchdog (another) closes it, or shutdown finds it
    /// idle.
    fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Connection { shared, config, builder, live, watchdog, peer } = self;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched::new(stream, activity.clone()));
        let requests = Arc::new(Requests { shared, activity: activity.clone(), max_body: config.max_body });
        let service = service_fn(move |req: Request<Incoming>| answer(requests.clone(), req));
        let signal = Arc::new(StopSignal::default());
        let conn = Stoppable::new(builder.serve_connection(io, service).into_owned(), signal.clone());
        let open = live.open();
        let serving = tokio::spawn(async move {
            let _open = open;
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
        watchdog.watch(activity, serving.abort_handle(), signal, peer);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

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
    async fn a_client_that_shuts_its_sending_side_after_its_request_still_gets_the_answer() {
        use tokio::io::AsyncWriteExt;
        // The answer takes a while, so that the client's end of sending is there to be seen before it.
        let server = start(Slow(Duration::from_millis(200)), Duration::from_secs(30), Duration::from_secs(30)).await;
        let mut s = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
        s.write_all(REQUEST).await.unwrap();
        s.shutdown().await.unwrap();
        let got = read_to_close(&mut s, Duration::from_secs(10)).await.expect("closed within 10 s");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok"), "answered, then closed: {text}");
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
