//! The replay server: answers from cassettes, offline and deterministically, in either wire protocol.
//!
//! What answers a request is `playback`; this is the server's face around it: injected faults and
//! latency ([`faults`]), `--watch` ([`watch`]), the end-of-session [`Tally`], and [`ReplayServer`] for Rust
//! tests. A request that matches nothing gets a non-retryable 400 `UnmatchedRequestException` whose message is
//! the playback's guide; the framed guide goes to stderr.
//!
//! In Rust tests, start one in-process (the shape of wiremock's `MockServer`):
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use serde_json::json;
//! use snomed_vcr::{Client, Protocol, Reply, ReplayServer};
//!
//! // Arrange: a server answering from a recorded boto3 walk.
//! let cassette = concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json");
//! let server = ReplayServer::start(cassette).await.unwrap();
//!
//! // Act: ask for the first page, over CBOR although it was recorded over JSON 1.1.
//! let client = Client::new(&server.uri()).unwrap();
//! let reply = client.call(Protocol::RpcV2Cbor, &json!({"MaxResults": 37})).await.unwrap().reply;
//!
//! // Assert: the recorded page comes back, NextToken included.
//! let Reply::Output(page) = reply else { panic!("{reply:?}") };
//! assert_eq!(page["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap().len(), 37);
//! assert!(page["NextToken"].is_string());
//! # });
//! ```

pub mod faults;
pub mod restore;
pub mod watch;

pub use crate::playback::{Miss, PlaybackConfig, RESIDENT_ANSWERS_DEFAULT, Repeat, Tally};
pub use faults::{Faults, Latency};
pub use restore::Restore;
pub use watch::spawn_watcher;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

use crate::cassette::CassetteError;
use crate::cassette::redact::{self, Redactor};
use crate::fuzzing::Learned;
use crate::model::ServiceError;
use crate::playback::{Found, Missing, Playback};
use crate::protocol::{self, Protocol, RequestId, Route};
use crate::reference::Reference;
use crate::server::{Handler, Server, ServerConfig};

/// How a replay server is set up.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use snomed_vcr::{ReplayConfig, ReplayServer};
/// use snomed_vcr::replay::Latency;
///
/// let mut config = ReplayConfig::new(vec![concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes").into()]);
/// config.latency = Latency::Fixed(Duration::from_millis(5));
/// let server = ReplayServer::start_with(config).await.unwrap();
/// assert!(server.uri().starts_with("http://127.0.0.1:"));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// What it answers from.
    pub playback: PlaybackConfig,
    /// Simulated latency.
    pub latency: Latency,
    /// Injected faults.
    pub faults: Faults,
    /// The seed of the fault stream.
    pub seed: u64,
    /// Extra redaction rules for incoming requests (the ones the cassette was recorded with).
    pub redact: Vec<redact::RedactRule>,
    /// Reload cassettes that change on disk.
    pub watch: bool,
    /// Answer what no recording matches from the service the cassettes show (`--simulate`), marked with
    /// [`SIMULATED_HEADER`] and counted in [`Tally::simulated`].
    pub simulate: bool,
    /// Print each unmatched request's guide, framed, on stderr (the message of its error carries it too).
    pub guides_to_stderr: bool,
    /// Answer the live service's values in place of the recording's placeholders (`--restore`).
    pub restore: Restore,
}

/// The response header that marks an answer `--simulate` made up: no recording holds it.
pub const SIMULATED_HEADER: &str = "x-snomed-vcr-simulated";

impl ReplayConfig {
    /// Plain playback of `cassettes`: no latency, no faults, no watching.
    pub fn new(cassettes: Vec<PathBuf>) -> ReplayConfig {
        ReplayConfig {
            playback: PlaybackConfig::new(cassettes),
            latency: Latency::None,
            faults: Faults::default(),
            seed: 0,
            redact: Vec::new(),
            watch: false,
            simulate: false,
            guides_to_stderr: true,
            restore: Restore::default(),
        }
    }
}

/// The replay handler: a playback with faults and latency around it.
pub struct Replayer {
    config: ReplayConfig,
    playback: Arc<Playback>,
    requests: AtomicU64,
    /// With `--simulate`: the reference serving what the cassettes show, and how many answers it made.
    simulator: Option<Reference>,
    simulated: AtomicU64,
}

impl Replayer {
    /// Loads the cassettes.
    pub fn new(config: ReplayConfig) -> Result<Replayer, CassetteError> {
        let redactor = Arc::new(Redactor::new(config.redact.clone()));
        let playback = Arc::new(Playback::new(config.playback.clone(), redactor)?);
        let simulator = match config.simulate {
            true => {
                Learned::family_config(&Learned::family(&config.playback.cassettes)?, config.seed).map(Reference::new)
            }
            false => None,
        };
        Ok(Replayer { config, playback, requests: AtomicU64::new(0), simulator, simulated: AtomicU64::new(0) })
    }

    /// What answers the requests.
    pub fn playback(&self) -> Arc<Playback> {
        self.playback.clone()
    }

    /// [`Replayer::report`]'s first line, from counts alone (the live status line asks it every second).
    pub fn summary(&self) -> String {
        let (served, unmatched, unplayed) = self.playback.counts();
        crate::playback::summary(served, unmatched, self.simulated.load(Ordering::Relaxed), unplayed)
    }

    /// What was served, missed and never played so far.
    pub fn report(&self) -> Tally {
        Tally { simulated: self.simulated.load(Ordering::Relaxed), ..self.playback.report() }
    }

    /// What to answer a request with, decided without waiting: every answer but a delayed or a simulated
    /// one is whole here. Apart from the waiting ([`Handler::handle`]) so that a request's future holds only
    /// an answer: hyper moves each request's future into place whole, and with the decision's locals and
    /// the rare waits in it, the future was 1.6 KB.
    ///
    /// Only a recorded answer given as it is stays in this function; every other way out is a function
    /// of its own, marked cold, so the replayed request's path is a short run of code. That mattered more
    /// than its instructions: in callgrind's cache simulation a replayed request missed the instruction
    /// cache 590 times where the minimal hyper server's missed 307, about 440 times after, and about 260
    /// since half-closed connections are served and the operation is looked up once (BENCHMARKS.md, "a
    /// fourth time").
    fn decide(&self, mut req: Request<Bytes>) -> Answer<'_> {
        let request_id = protocol::request_id();
        let route = match protocol::route(req.method(), req.uri().path(), req.headers()) {
            Ok(r) => r,
            Err(r) => return refused(r.protocol, &r.error, &request_id),
        };
        let p = route.protocol();
        // The count numbers the fault stream; without faults nothing reads it.
        if self.config.faults != Faults::default()
            && let Some(fault) = self.fault()
        {
            return refused(p, &fault, &request_id);
        }
        let routed = match route {
            Route::Family(routed) => routed,
            Route::Other(call) => {
                let e = protocol::unknown_operation(p, call.operation, "snomed-vcr replay serves");
                return refused(p, &e, &request_id);
            }
        };
        let plain = self.config.latency == Latency::None && self.config.restore.is_empty();
        let answered = match plain {
            true => {
                // The answer is made in the request's header map (its room is reused), unless `--simulate`
                // may need the request whole.
                let headers = match self.simulator {
                    None => std::mem::take(req.headers_mut()),
                    Some(_) => http::HeaderMap::new(),
                };
                self.playback.answer(p, routed.operation, req.body(), &request_id, headers).map(Answer::now)
            }
            false => {
                self.playback.find(p, routed.operation, req.body()).map(|found| self.adjusted(&found, p, &request_id))
            }
        };
        answered.unwrap_or_else(|missing| self.missed(missing, p, &request_id, req))
    }

    /// The next fault of the stream, if this request draws one.
    #[cold]
    fn fault(&self) -> Option<ServiceError> {
        self.config.faults.draw(self.config.seed, self.requests.fetch_add(1, Ordering::Relaxed))
    }

    /// A recorded answer with `--restore`'s values in it, after `--latency`'s wait.
    #[cold]
    fn adjusted(&self, found: &Found, p: Protocol, request_id: &RequestId) -> Answer<'_> {
        let delay = match self.config.latency {
            Latency::None => Duration::ZERO,
            Latency::Recorded => found.elapsed(),
            Latency::Fixed(d) => d,
        };
        let mut response = found.response(p, request_id);
        if !self.config.restore.is_empty() {
            let (parts, body) = response.into_parts();
            response = Response::from_parts(parts, self.config.restore.apply(&body));
        }
        match delay.is_zero() {
            true => Answer::now(response),
            false => Answer::Later(Box::pin(async move {
                tokio::time::sleep(delay).await;
                response
            })),
        }
    }

    /// The answer when no recording answers: `--simulate`'s, or an error with the guide.
    #[cold]
    fn missed(&self, missing: Missing, p: Protocol, request_id: &RequestId, req: Request<Bytes>) -> Answer<'_> {
        match missing {
            Missing::Undecodable(e) => refused(p, &ServiceError::serialization(e), request_id),
            Missing::Unmatched(_) if let Some(simulator) = &self.simulator => {
                self.simulated.fetch_add(1, Ordering::Relaxed);
                Answer::Later(Box::pin(async move {
                    let mut resp = simulator.handle(req).await;
                    resp.headers_mut().insert(SIMULATED_HEADER, http::HeaderValue::from_static("true"));
                    resp
                }))
            }
            Missing::Unmatched(guide) => {
                if self.config.guides_to_stderr {
                    eprintln!("{}", guide.framed());
                }
                let e = ServiceError::new(400, "UnmatchedRequestException", guide.message());
                refused(p, &e, request_id)
            }
        }
    }
}

/// An error answer.
#[cold]
fn refused(p: Protocol, error: &ServiceError, request_id: &RequestId) -> Answer<'static> {
    Answer::now(protocol::error_response(p, error, request_id))
}

/// What [`Replayer::decide`] decided, and the future that gives it: an answer now, or one to wait for (a
/// latency, or `--simulate`'s reference), boxed so that the common answer's future stays the size of a
/// response. A future of its own rather than an `async` block around it, which would move the response once
/// more on its way out.
enum Answer<'a> {
    /// Taken when polled.
    Now(Option<Response<Bytes>>),
    Later(std::pin::Pin<Box<dyn Future<Output = Response<Bytes>> + Send + 'a>>),
}

impl Answer<'_> {
    fn now(response: Response<Bytes>) -> Answer<'static> {
        Answer::Now(Some(response))
    }
}

impl Future for Answer<'_> {
    type Output = Response<Bytes>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Response<Bytes>> {
        match self.get_mut() {
            Answer::Now(response) => {
                std::task::Poll::Ready(response.take().expect("an answer is polled once it is ready"))
            }
            Answer::Later(wait) => wait.as_mut().poll(cx),
        }
    }
}

impl Handler for Replayer {
    fn handle(&self, req: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send {
        self.decide(req)
    }
}

/// Why an in-process replay server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The cassettes did not load.
    #[error(transparent)]
    Cassettes(#[from] CassetteError),
    /// No loopback port could be bound, or served.
    #[error("cannot listen on a loopback port: {0}")]
    Listen(std::io::Error),
}

/// A replay server running in-process, for Rust tests. Stops when dropped.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use snomed_vcr::{Client, Protocol, ReplayServer};
///
/// let cassette = concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json");
/// let server = ReplayServer::start(cassette).await.unwrap();
/// let walk = Client::new(&server.uri()).unwrap().walk(Protocol::AwsJson11, &serde_json::json!({"MaxResults": 37}), 10).await.unwrap();
/// assert!(walk.is_complete() && walk.job_ids().len() > 37);
/// let tally = server.shutdown().await;
/// assert_eq!(tally.unmatched, 0);
/// # });
/// ```
#[must_use = "the server stops when dropped"]
pub struct ReplayServer {
    server: Option<Server>,
    replayer: Arc<Replayer>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl ReplayServer {
    /// Serves one cassette (or a directory of them) on a free loopback port.
    pub async fn start(cassette: impl AsRef<Path>) -> Result<ReplayServer, StartError> {
        ReplayServer::start_with(ReplayConfig::new(vec![cassette.as_ref().to_path_buf()])).await
    }

    /// Serves with a full configuration.
    pub async fn start_with(config: ReplayConfig) -> Result<ReplayServer, StartError> {
        let watch = config.watch;
        let replayer = Arc::new(Replayer::new(config)?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(StartError::Listen)?;
        let server = Server::spawn(listener, replayer.clone(), ServerConfig::default()).map_err(StartError::Listen)?;
        let watcher = watch.then(|| spawn_watcher(replayer.clone(), Duration::from_millis(200)));
        Ok(ReplayServer { server: Some(server), replayer, watcher })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.as_ref().map(Server::uri).unwrap_or_default()
    }

    /// What was served, missed and never played so far.
    pub fn report(&self) -> Tally {
        self.replayer.report()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(mut self) -> Tally {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        self.replayer.report()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}
