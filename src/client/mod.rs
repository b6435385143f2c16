//! The one client of the operation, for `record`'s upstream, the demo, diff and fuzz: http or https (system
//! roots plus an extra CA file, rustls on `ring`), optional SigV4 signing, a timeout on every exchange, either
//! protocol, and replies parsed the way the SDKs parse them. [`Client::walk`] follows a listing's
//! `NextToken`s; [`Client::forward`] sends a request as given, for the recording proxy.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use serde_json::json;
//! use snomed_vcr::{Client, Protocol};
//!
//! let client = Client::new("http://127.0.0.1:4566")?;
//! let chain = client.walk(Protocol::AwsJson11, &json!({"MaxResults": 50}), 100).await?;
//! println!("{} jobs in {} pages", chain.job_ids().len(), chain.pages.len());
//! # Ok(()) }
//! ```

mod budget;
mod endpoint;
mod target;

pub use budget::{ByteBudget, Holding};
pub use endpoint::Endpoint;
pub use target::{Answer, Budgeted, Deviation, Fault, Target, local_request};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::model::{Chain, Operation, Reply, listing::Walker};
use crate::protocol::{self, Protocol};
use crate::sigv4::{self, Keys};

/// The region a client signs for when none is said.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How a client is set up.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Extra CA certificates (PEM) to trust for an https endpoint, besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// Sign every request with these credentials for this region.
    pub signing: Option<(Keys, String)>,
    /// How long to wait for a response's headers, and again for its body.
    pub timeout: Duration,
    /// The largest response body read.
    pub max_body: usize,
}

impl ClientConfig {
    /// No signing, no extra CA, 30 s, 8 MiB.
    pub fn new(endpoint: Endpoint) -> ClientConfig {
        ClientConfig { endpoint, ca_file: None, signing: None, timeout: Duration::from_secs(30), max_body: 8 << 20 }
    }
}

/// One request and what came back.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The response body, as received.
    pub body: Bytes,
    /// The body read the way the SDKs read it.
    pub reply: Reply,
}

/// Why a request got no (whole) response, each cause named once.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// The request could not be built or signed.
    Request(String),
    /// No connection: refused, no route, no such host (the whole chain of causes).
    Unreachable(String),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// The connection closed or broke before the response was whole.
    Closed(String),
    /// No response headers within the timeout.
    NoResponse(Duration),
    /// The body did not arrive whole within the timeout.
    SlowBody(Duration),
    /// The body is larger than the limit (bytes).
    TooLarge(usize),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Request(e) => write!(f, "the request could not be sent: {e}"),
            SendError::Unreachable(e) => write!(f, "cannot connect: {e}"),
            SendError::Tls(e) => write!(f, "the TLS handshake failed: {e}"),
            SendError::Closed(e) => write!(f, "the connection closed before the answer was whole: {e}"),
            SendError::NoResponse(t) | SendError::SlowBody(t) => write!(f, "no whole answer within {t:?}"),
            SendError::TooLarge(n) => write!(f, "the answer is larger than {n} bytes"),
        }
    }
}

impl std::error::Error for SendError {}

/// Whether an error, or one of its causes, is a TLS error.
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Why a call got no answer it could read: nothing whole came back, or what came back is not the protocol.
#[derive(Debug)]
pub enum CallError {
    /// Nothing (whole) came back.
    Send(SendError),
    /// An answer came back that the protocol cannot read.
    NotProtocol {
        /// The protocol the answer should have been in.
        protocol: Protocol,
        /// Its HTTP status.
        status: u16,
        /// Why it cannot be read.
        error: String,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Send(e) => e.fmt(f),
            CallError::NotProtocol { protocol, status, error } => {
                write!(f, "the HTTP {status} answer is not {}: {error}", protocol.name())
            }
        }
    }
}

impl std::error::Error for CallError {}

/// A call that failed, with where it went: `URL/PATH: why`.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {error}")]
pub struct CallFailed {
    /// The endpoint and the operation's path.
    pub url: String,
    /// Why.
    pub error: CallError,
}

/// A client that cannot be made: the endpoint does not parse, or the TLS setup (the CA file) fails.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is no URL this client can use.
    #[error(transparent)]
    Endpoint(#[from] crate::options::ParseError),
    /// The CA file, or rustls, refused (what, and why).
    #[error("{0}")]
    Tls(String),
}

type Connector = HttpsConnector<HttpConnector>;

/// A client bound to one endpoint. Cloning is cheap and shares connections.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let reference = std::sync::Arc::new(snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(12, 7)));
/// # let reference = snomed_vcr::Server::spawn(listener, reference, snomed_vcr::ServerConfig::default()).unwrap();
/// use snomed_vcr::{Client, Protocol, Reply};
///
/// let client = Client::new(&reference.uri()).unwrap();
/// let reply = client.call(Protocol::RpcV2Cbor, &serde_json::json!({"MaxResults": 501})).await.unwrap().reply;
/// assert!(matches!(reply, Reply::Error(e) if e.code == "ValidationException"));
/// # });
/// ```
#[derive(Clone)]
pub struct Client {
    http: HyperClient<Connector, Full<Bytes>>,
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("endpoint", &self.config.endpoint.url()).finish_non_exhaustive()
    }
}

/// The system's CA roots, read once per process.
fn system_roots() -> &'static [rustls_pki_types::CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<rustls_pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let native = rustls_native_certs::load_native_certs();
        tracing::debug!(system_roots = native.certs.len(), "loaded system CA roots");
        native.certs
    })
}

/// rustls on ring, trusting the system roots and the CAs in `ca_file` (only read for https endpoints).
fn tls_config(https: bool, ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, ClientError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if https {
        roots.add_parsable_certificates(system_roots().iter().cloned());
        if let Some(path) = ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| ClientError::Tls(format!("cannot read CA file '{}': {e}", path.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    ClientError::Tls(format!("CA file '{}' is not a PEM file of certificates: {e}", path.display()))
                })?;
            if certs.is_empty() {
                return Err(ClientError::Tls(format!(
                    "CA file '{}' holds no certificates (expected PEM 'BEGIN CERTIFICATE' blocks)",
                    path.display()
                )));
            }
            for c in certs {
                roots.add(c).map_err(|e| {
                    ClientError::Tls(format!("CA file '{}': a certificate is not a valid CA: {e}", path.display()))
                })?;
            }
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The whole chain of an error, `a: b: c`, each cause once.
fn chain_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

impl Client {
    /// A client for an endpoint URL (`http://HOST:PORT[/prefix]`, `https://…`, or `aws` in us-east-1), with
    /// the defaults of [`ClientConfig::new`].
    pub fn new(endpoint: &str) -> Result<Client, ClientError> {
        let endpoint = Endpoint::parse(endpoint, DEFAULT_REGION)?;
        Client::with_config(ClientConfig::new(endpoint))
    }

    /// A client with a full configuration. Fails on a CA file that does not hold certificates.
    pub fn with_config(config: ClientConfig) -> Result<Client, ClientError> {
        let tls = tls_config(config.endpoint.https, config.ca_file.as_deref())?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client { http: HyperClient::builder(TokioExecutor::new()).build(https), config: Arc::new(config) })
    }

    /// The same client, signing every request with SigV4 for `region`.
    #[must_use]
    pub fn with_signing(self, keys: impl Into<Keys>, region: impl Into<String>) -> Client {
        let mut config = (*self.config).clone();
        config.signing = Some((keys.into(), region.into()));
        Client { http: self.http, config: Arc::new(config) }
    }

    /// Whether it signs what it sends.
    pub fn signs(&self) -> bool {
        self.config.signing.is_some()
    }

    /// Where requests go.
    pub fn endpoint(&self) -> &Endpoint {
        &self.config.endpoint
    }

    /// How long it waits for a response's headers, and again for its body.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Sends one ListSNOMEDCTInferenceJobs request.
    pub async fn call(&self, protocol: Protocol, input: &Value) -> Result<Exchange, CallFailed> {
        self.call_operation(protocol, Operation::default(), input).await
    }

    /// Sends one request of a list operation.
    pub async fn call_operation(
        &self,
        protocol: Protocol,
        operation: Operation,
        input: &Value,
    ) -> Result<Exchange, CallFailed> {
        self.send(protocol, operation.name(), protocol::encode_request(protocol, input)).await
    }

    /// Sends a raw body to an operation, in a protocol's framing, and reads the reply as the SDKs do.
    pub async fn send(&self, protocol: Protocol, operation: &str, body: Bytes) -> Result<Exchange, CallFailed> {
        self.exchange(protocol, operation, body).await.map_err(|error| CallFailed {
            url: format!("{}{}", self.config.endpoint.url(), protocol.path("", operation)),
            error,
        })
    }

    /// [`Client::send`], with the reason a call failed kept apart: no whole answer, or one that is not the
    /// protocol.
    pub async fn exchange(&self, protocol: Protocol, operation: &str, body: Bytes) -> Result<Exchange, CallError> {
        let path = protocol.path("", operation);
        let mut builder = Request::post(&path);
        for (k, v) in protocol::request_headers(protocol, operation) {
            builder = builder.header(k, v);
        }
        let req = builder.body(body).map_err(|e| CallError::Send(SendError::Request(e.to_string())))?;
        let resp = self.forward(req).await.map_err(CallError::Send)?;
        let status = resp.status().as_u16();
        let (parts, body) = resp.into_parts();
        let reply = protocol::parse_reply(protocol, status, &body).map_err(|error| CallError::NotProtocol {
            protocol,
            status,
            error: error.into(),
        })?;
        Ok(Exchange { status, headers: parts.headers, body, reply })
    }

    /// Walks a listing from `first` (its `Filter` and `MaxResults` kept on every page) until an answer has
    /// no `NextToken`, is an error, returns a token it returned before, or `max_pages` pages are read.
    pub async fn walk(&self, protocol: Protocol, first: &Value, max_pages: usize) -> Result<Chain, CallFailed> {
        self.walk_operation(protocol, Operation::default(), first, max_pages).await
    }

    /// [`Client::walk`] over a list operation.
    pub async fn walk_operation(
        &self,
        protocol: Protocol,
        operation: Operation,
        first: &Value,
        max_pages: usize,
    ) -> Result<Chain, CallFailed> {
        let mut walker = Walker::new(first.clone(), max_pages);
        while let Some(request) = walker.next_request() {
            let ex = self.call_operation(protocol, operation, &request).await?;
            walker.take(request, ex.status, ex.reply);
        }
        Ok(Chain { operation, ..walker.finish() })
    }

    /// Sends `req` to the endpoint: its path and query go below the endpoint's prefix, and with signing set
    /// the `Host` becomes the endpoint's and the request is signed; its other headers go as they are. The
    /// response's body is read whole (up to the size limit) within the timeout.
    pub async fn forward(&self, req: Request<Bytes>) -> Result<Response<Bytes>, SendError> {
        self.forward_phases(req, self.config.max_body).await
    }

    /// [`Client::forward`], reading at most `max_body` bytes of the response body, with one timeout for the
    /// whole exchange (headers and body) instead of one for each.
    pub async fn forward_within(&self, req: Request<Bytes>, max_body: usize) -> Result<Response<Bytes>, SendError> {
        let timeout = self.config.timeout;
        let exchange = async {
            let resp = self.request(req).await?;
            let (parts, body) = resp.into_parts();
            Ok(Response::from_parts(parts, read_body(body, max_body).await?))
        };
        tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(SendError::NoResponse(timeout)))
    }

    async fn forward_phases(&self, req: Request<Bytes>, max_body: usize) -> Result<Response<Bytes>, SendError> {
        let c = &*self.config;
        let resp = match tokio::time::timeout(c.timeout, self.request(req)).await {
            Err(_) => return Err(SendError::NoResponse(c.timeout)),
            Ok(r) => r?,
        };
        let (parts, body) = resp.into_parts();
        let bytes = match tokio::time::timeout(c.timeout, read_body(body, max_body)).await {
            Err(_) => return Err(SendError::SlowBody(c.timeout)),
            Ok(r) => r?,
        };
        Ok(Response::from_parts(parts, bytes))
    }

    /// Sends `req` below the endpoint (signed when the client signs) and waits for the response's head.
    async fn request(&self, req: Request<Bytes>) -> Result<Response<hyper::body::Incoming>, SendError> {
        let c = &*self.config;
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = format!("{}{}{path}", c.endpoint.origin, c.endpoint.path_prefix);
        parts.uri = uri.parse().map_err(|e| SendError::Request(format!("{e}")))?;
        let mut req = Request::from_parts(parts, body);
        if let Some((keys, region)) = &c.signing {
            let creds = keys.current().await.map_err(|e| SendError::Request(format!("cannot sign: {e}")))?;
            let host =
                http::HeaderValue::from_str(&c.endpoint.authority).map_err(|e| SendError::Request(e.to_string()))?;
            req.headers_mut().insert(http::header::HOST, host);
            sigv4::sign_request(&mut req, &creds, region, SystemTime::now())
                .map_err(|e| SendError::Request(format!("cannot sign: {e}")))?;
        }
        match self.http.request(req.map(Full::new)).await {
            Err(e) if is_tls(&e) => Err(SendError::Tls(chain_of(&e))),
            Err(e) if e.is_connect() => Err(SendError::Unreachable(chain_of(&e))),
            Err(e) => Err(SendError::Closed(chain_of(&e))),
            Ok(r) => Ok(r),
        }
    }
}

/// A response body of at most `max` bytes, read into one buffer of its announced length (a body in one
/// piece is kept as it came; one in several is not gathered first and copied after).
async fn read_body(mut body: hyper::body::Incoming, max: usize) -> Result<Bytes, SendError> {
    use hyper::body::Body;
    let announced = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    if announced > max {
        return Err(SendError::TooLarge(max));
    }
    let mut first: Option<Bytes> = None;
    let mut rest: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| SendError::Closed(chain_of(&e)))?;
        let Ok(data) = frame.into_data() else { continue };
        let len = first.as_ref().map_or(0, Bytes::len) + rest.as_ref().map_or(0, |r| r.len()) + data.len();
        if len > max {
            return Err(SendError::TooLarge(max));
        }
        match (&mut rest, first.take()) {
            (Some(r), _) => r.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(f)) => {
                let mut r = bytes::BytesMut::with_capacity(len.max(announced.min(max)));
                r.extend_from_slice(&f);
                r.extend_from_slice(&data);
                rest = Some(r);
            }
        }
    }
    Ok(rest.map_or_else(|| first.unwrap_or_default(), bytes::BytesMut::freeze))
}
