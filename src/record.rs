//! The recording proxy: clients point their `endpoint_url` at it; it forwards to the upstream (re-signing with
//! SigV4 for the upstream host, or, with `--no-resign`, forwarding an HTTP-proxy client's bytes untouched),
//! returns the upstream's answer unchanged, and records each exchange, redacted, to a journal before the answer
//! goes back. On shutdown the journal becomes the cassette.
//!
//! Record modes, as VCR has them:
//!
//! | mode | an interaction is recorded … | when a request matches a recording |
//! |---|---|---|
//! | `once` (default) | only while the cassette does not exist yet | answered from the cassette |
//! | `new_episodes` | when it matches no recording | answered from the cassette |
//! | `all` | always | forwarded and recorded again |
//! | `none` | never: nothing is forwarded | answered from the cassette |
//!
//! A re-recording never overwrites a cassette that differs from it: it goes to `NAME.json.new`, for
//! `snomed-vcr review`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::cassette::journal::{self, Journal, JournalHeader};
use crate::cassette::redact::{self, Redactor};
use crate::cassette::{self, Cassette, Encoding, EncodingFormat, Interaction, RecordedRequest, RecordedResponse};
use crate::matching;
use crate::model::{self, ServiceError};
use crate::protocol::{self, Protocol};
use crate::replay::{Missing, ReplayConfig, Replayer};
use crate::server::Handler;
use crate::sigv4::{self, Credentials};
use crate::util;

/// A VCR record mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Mode {
    /// Record while the cassette does not exist; afterwards answer from it.
    Once,
    /// Answer what is recorded; record what is new.
    NewEpisodes,
    /// Forward and record everything.
    All,
    /// Never forward; answer from the cassette.
    None,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Once => "once",
            Mode::NewEpisodes => "new_episodes",
            Mode::All => "all",
            Mode::None => "none",
        }
    }
    fn parse(s: &str) -> Option<Mode> {
        [Mode::Once, Mode::NewEpisodes, Mode::All, Mode::None].into_iter().find(|m| m.name() == s)
    }
}

/// The upstream a proxy forwards to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// `https://host[:port]` (no trailing slash).
    pub origin: String,
    pub host: String,
    pub authority: String,
    pub https: bool,
    /// Path prefix of the upstream URL (`""` for none).
    pub path_prefix: String,
}

impl Upstream {
    /// Parses `--upstream`: a URL, or `aws` with a region for the regional endpoint.
    pub fn parse(s: &str, region: &str) -> anyhow::Result<Upstream> {
        let url = if s == "aws" { format!("https://comprehendmedical.{region}.amazonaws.com") } else { s.to_string() };
        let uri: Uri = url
            .parse()
            .map_err(|_| anyhow::anyhow!("--upstream '{s}' is not a URL (expected https://HOST[:PORT] or 'aws')"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("--upstream '{s}': expected an http:// or https:// URL, or 'aws'"),
        };
        let authority = uri.authority().with_context(|| format!("--upstream '{s}' has no host"))?;
        Ok(Upstream {
            origin: format!("{}://{authority}", if https { "https" } else { "http" }),
            host: authority.host().to_string(),
            authority: authority.to_string(),
            https,
            path_prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The region an AWS endpoint host names, if it is one.
    pub fn aws_region(&self) -> Option<&str> {
        let rest = self.host.strip_prefix("comprehendmedical.")?;
        rest.strip_suffix(".amazonaws.com")
    }
}

/// Everything `record` is told.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    pub upstream: Upstream,
    pub region: String,
    pub cassette: PathBuf,
    pub mode: Mode,
    /// Re-sign with these; `None` is `--no-resign`.
    pub resign: Option<Credentials>,
    pub redact: Vec<redact::Rule>,
    pub record_errors: bool,
    pub upstream_timeout: Duration,
    pub upstream_ca_file: Option<PathBuf>,
    pub max_body: usize,
    /// Leave out `recorded_at` and `elapsed_ms`, so re-recordings are byte-identical.
    pub reproducible: bool,
}

type UpstreamClient = HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the upstream HTTP client: rustls on ring, system roots plus an optional PEM file of CAs.
pub fn upstream_client(ca_file: Option<&Path>) -> anyhow::Result<UpstreamClient> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(system_roots = added, "loaded system CA roots");
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read --upstream-ca-file '{}'", path.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("--upstream-ca-file '{}' is not a PEM file of certificates", path.display()))?;
        if certs.is_empty() {
            bail!(
                "--upstream-ca-file '{}' holds no certificates (expected PEM 'BEGIN CERTIFICATE' blocks)",
                path.display()
            );
        }
        for c in certs {
            roots
                .add(c)
                .with_context(|| format!("--upstream-ca-file '{}': a certificate is not a valid CA", path.display()))?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(HyperClient::builder(TokioExecutor::new()).build(https))
}

/// An interaction as the journal writes it on the hot path, but for `seq` (the journal adds it) and the
/// response body (JSON text, added verbatim after redaction). It reads back as an [`Interaction`].
#[derive(serde::Serialize)]
struct JournalHead<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<u64>,
    request: &'a RecordedRequest,
    response: ResponseHead<'a>,
}

#[derive(serde::Serialize)]
struct ResponseHead<'a> {
    status: u16,
    headers: &'a std::collections::BTreeMap<String, String>,
}

/// One forwarded exchange, as [`Recorder::record`] takes it: the client's request and the upstream's answer.
struct Exchange<'a> {
    protocol: Protocol,
    parts: &'a http::request::Parts,
    body: &'a [u8],
    status: u16,
    rheaders: &'a HeaderMap,
    rbody: &'a [u8],
    elapsed: Duration,
}

/// The recording proxy.
pub struct Recorder {
    config: RecordConfig,
    client: UpstreamClient,
    redactor: Redactor,
    journal: Option<Journal>,
    /// The existing cassette, answering what it holds (modes other than `all`).
    playback: Option<Replayer>,
}

/// What happened to the cassette when a recording finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new cassette was written.
    Written { path: PathBuf, interactions: usize },
    /// The recording equals the cassette: nothing written.
    Unchanged { path: PathBuf },
    /// The recording differs from a reviewed cassette: written beside it for review.
    Pending { path: PathBuf, interactions: usize },
    /// Nothing was recorded.
    Nothing,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Written { path, interactions } => {
                write!(f, "wrote {} ({interactions} interactions)", path.display())
            }
            Outcome::Unchanged { path } => write!(f, "{} is unchanged", path.display()),
            Outcome::Pending { path, interactions } => write!(
                f,
                "the recording differs from the reviewed cassette: wrote {} ({interactions} interactions); run `snomed-vcr review {}`",
                path.display(),
                path.display().to_string().trim_end_matches(".new")
            ),
            Outcome::Nothing => write!(f, "nothing recorded"),
        }
    }
}

/// Folds a journal into its cassette (or `NAME.json.new` beside a reviewed one) and removes the journal.
pub fn recover(cassette_path: &Path) -> anyhow::Result<Outcome> {
    let jpath = journal::journal_path(cassette_path);
    let (header, recorded) = journal::read(&jpath)?;
    let mode =
        Mode::parse(&header.mode).with_context(|| format!("{}:1: unknown mode '{}'", jpath.display(), header.mode))?;
    let existing = if cassette_path.exists() { Some(Cassette::load(cassette_path)?) } else { None };
    let outcome = if recorded.is_empty() {
        Outcome::Nothing
    } else {
        let mut new = match &existing {
            Some(c) => {
                let mut c = c.clone();
                if mode == Mode::All {
                    c.interactions.clear();
                }
                c
            }
            None => {
                let mut c = Cassette::new(&header.upstream, &header.region);
                c.match_rules = header.match_rules.clone();
                c
            }
        };
        new.interactions.extend(recorded);
        for (i, it) in new.interactions.iter_mut().enumerate() {
            it.seq = i as u64;
        }
        let interactions = new.interactions.len();
        match &existing {
            None => {
                new.save(cassette_path)?;
                Outcome::Written { path: cassette_path.to_path_buf(), interactions }
            }
            Some(old) if old.to_canonical() == new.to_canonical() => {
                Outcome::Unchanged { path: cassette_path.to_path_buf() }
            }
            Some(_) => {
                let pending = cassette::pending_path(cassette_path);
                new.save(&pending)?;
                Outcome::Pending { path: pending, interactions }
            }
        }
    };
    std::fs::remove_file(&jpath).with_context(|| format!("cannot remove journal '{}'", jpath.display()))?;
    Ok(outcome)
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

fn gateway_error(message: String) -> ServiceError {
    ServiceError::new(502, "BadGatewayException", message)
}

/// The whole chain of an error, `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
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

impl Recorder {
    /// Opens a recording: recovers a journal left by a crash, loads the cassette, starts a journal.
    pub async fn open(config: RecordConfig) -> anyhow::Result<Recorder> {
        let jpath = journal::journal_path(&config.cassette);
        if jpath.exists() {
            let outcome = recover(&config.cassette)?;
            tracing::warn!(journal = %jpath.display(), %outcome, "recovered an unfinished recording");
            eprintln!("recovered an unfinished recording from {}: {outcome}", jpath.display());
        }
        let existing = if config.cassette.exists() { Some(Cassette::load(&config.cassette)?) } else { None };
        let playback = match (&existing, config.mode) {
            (Some(_), mode) if mode != Mode::All => Some(Replayer::new(ReplayConfig {
                redact: config.redact.clone(),
                ..ReplayConfig::new(vec![config.cassette.clone()])
            })?),
            _ => None,
        };
        let records = match config.mode {
            Mode::All | Mode::NewEpisodes => true,
            Mode::Once => existing.is_none(),
            Mode::None => false,
        };
        if !records && existing.is_none() {
            bail!(
                "record mode '{}' needs an existing cassette, and '{}' does not exist (use --mode once to record it)",
                config.mode.name(),
                config.cassette.display()
            );
        }
        let journal = if records {
            let header = JournalHeader {
                journal: 1,
                mode: config.mode.name().into(),
                upstream: config.upstream.origin.clone() + &config.upstream.path_prefix,
                region: config.region.clone(),
                match_rules: existing.as_ref().map_or_else(
                    || matching::DEFAULT_RULES.iter().map(|s| s.to_string()).collect(),
                    |c| c.match_rules.clone(),
                ),
            };
            Some(Journal::create(&jpath, &header)?)
        } else {
            None
        };
        Ok(Recorder {
            client: upstream_client(config.upstream_ca_file.as_deref())?,
            redactor: Redactor::new(config.redact.clone()),
            journal,
            playback,
            config,
        })
    }

    /// Finishes the recording: the journal becomes the cassette (or `NAME.json.new`).
    pub fn finish(&self) -> anyhow::Result<Outcome> {
        match &self.journal {
            None => Ok(Outcome::Nothing),
            Some(j) => {
                j.sync()?;
                recover(&self.config.cassette)
            }
        }
    }

    /// How many interactions this session recorded so far.
    pub fn recorded(&self) -> u64 {
        self.journal.as_ref().map_or(0, Journal::appended)
    }

    fn refuse(&self, protocol: Protocol, status: u16, code: &str, message: String) -> Response<Bytes> {
        protocol::error_response(protocol, &ServiceError::new(status, code, message), &util::request_id())
    }

    /// Forwards a request upstream; returns the upstream response (status, headers, body) or why it failed.
    async fn forward(
        &self,
        parts: &http::request::Parts,
        body: Bytes,
    ) -> Result<(u16, HeaderMap, Bytes), ServiceError> {
        let up = &self.config.upstream;
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = format!("{}{}{}", up.origin, up.path_prefix, path);
        let mut req = Request::post(&uri)
            .body(body)
            .map_err(|e| gateway_error(format!("cannot build the upstream request: {e}")))?;
        *req.method_mut() = parts.method.clone();
        for (name, value) in &parts.headers {
            // Without the client's Accept-Encoding the upstream answers uncompressed, which every client
            // takes, and the answer is recorded as the document it is rather than as compressed bytes. Only
            // when re-signing: a client's own signature may cover the header (botocore signs it).
            let compression = name == http::header::ACCEPT_ENCODING && self.config.resign.is_some();
            if !is_hop_by_hop(name.as_str()) && !compression {
                req.headers_mut().append(name.clone(), value.clone());
            }
        }
        match &self.config.resign {
            Some(creds) => {
                let host = HeaderValue::from_str(&up.authority).map_err(|e| gateway_error(e.to_string()))?;
                req.headers_mut().insert(http::header::HOST, host);
                sigv4::sign_request(&mut req, creds, &self.config.region, SystemTime::now())
                    .map_err(|e| gateway_error(format!("cannot sign for the upstream: {e}")))?;
            }
            None => {
                // Forwarded untouched: the client signed for the upstream host.
                if let Some(h) = parts.headers.get(http::header::HOST) {
                    req.headers_mut().insert(http::header::HOST, h.clone());
                }
            }
        }
        let timeout = self.config.upstream_timeout;
        let resp = match tokio::time::timeout(timeout, self.client.request(req.map(Full::new))).await {
            Err(_) => {
                return Err(gateway_error(format!(
                    "upstream {} sent no response within {timeout:?} (--upstream-timeout)",
                    up.origin
                )));
            }
            Ok(Err(e)) => return Err(gateway_error(format!("cannot reach upstream {}: {}", up.origin, chain(&e)))),
            Ok(Ok(r)) => r,
        };
        let (rparts, rbody) = resp.into_parts();
        let collected = tokio::time::timeout(timeout, Limited::new(rbody, self.config.max_body).collect()).await;
        let bytes = match collected {
            Err(_) => {
                return Err(gateway_error(format!(
                    "upstream {} did not finish its response within {timeout:?}",
                    up.origin
                )));
            }
            Ok(Err(e)) => return Err(gateway_error(format!("reading the response of upstream {}: {e}", up.origin))),
            Ok(Ok(b)) => b.to_bytes(),
        };
        Ok((rparts.status.as_u16(), rparts.headers, bytes))
    }

    fn response_document(headers: &HeaderMap, body: &[u8]) -> (Value, Option<Encoding>) {
        let cbor =
            headers.get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/cbor"));
        let protocol = if cbor { Protocol::RpcV2Cbor } else { Protocol::AwsJson11 };
        match protocol::decode_document(protocol, body) {
            Ok(doc) => (doc, cbor.then_some(Encoding { format: EncodingFormat::Cbor, indefinite_lengths: false })),
            // A body that is neither (a load balancer's HTML page, say) is kept as text.
            Err(_) => (Value::String(String::from_utf8_lossy(body).into_owned()), None),
        }
    }

    /// Redacts an exchange and queues it on the journal; its sequence number, or `None` when there is no
    /// journal or the request body is not a document of its protocol (forwarded, not recorded).
    fn record(&self, x: &Exchange<'_>) -> anyhow::Result<Option<u64>> {
        let Exchange { protocol, parts, body, status, rheaders, rbody, elapsed } = *x;
        let Some(journal) = &self.journal else { return Ok(None) };
        // A body that is not a document of its protocol cannot be stored as one: forwarded, not recorded.
        let (mut req_doc, encoding) = match protocol {
            Protocol::AwsJson11 => match protocol::decode_document(protocol, body) {
                Ok(doc) => (doc, None),
                Err(_) => return Ok(None),
            },
            Protocol::RpcV2Cbor => {
                let (doc, notes) = if body.is_empty() {
                    (serde_json::json!({}), Default::default())
                } else {
                    match protocol::cbor::to_document(body) {
                        Ok(decoded) => decoded,
                        Err(_) => return Ok(None),
                    }
                };
                (doc, Some(Encoding { format: EncodingFormat::Cbor, indefinite_lengths: notes.indefinite_lengths }))
            }
        };
        self.redactor.document(&mut req_doc);
        let request = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            protocol,
            headers: self.redactor.headers(&parts.headers, &redact::KEPT_REQUEST_HEADERS),
            body: req_doc,
            encoding,
        };
        let recorded_at = (!self.config.reproducible).then(|| util::rfc3339(util::now_secs()));
        let elapsed_ms = (!self.config.reproducible).then_some(elapsed.as_millis() as u64);
        let resp_headers = self.redactor.headers(rheaders, &redact::KEPT_RESPONSE_HEADERS);

        // The hot path: a JSON response is checked, redacted and journaled as text, without building a
        // document; `finish` parses it once into the canonical cassette.
        let is_cbor =
            rheaders.get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/cbor"));
        if !is_cbor {
            let head = JournalHead {
                recorded_at: recorded_at.clone(),
                elapsed_ms,
                request: &request,
                response: ResponseHead { status, headers: &resp_headers },
            };
            if let Some(line) = self.journal_line(&head, rbody) {
                return Ok(Some(journal.append_object(&line)?));
            }
        }
        let (mut resp_doc, resp_encoding) = Self::response_document(rheaders, rbody);
        self.redactor.document(&mut resp_doc);
        let mut interaction = Interaction {
            seq: 0,
            recorded_at,
            elapsed_ms,
            request,
            response: RecordedResponse { status, headers: resp_headers, body: resp_doc, encoding: resp_encoding },
        };
        let seq = journal.append_with(|seq| {
            interaction.seq = seq;
            &interaction
        })?;
        Ok(Some(seq))
    }

    /// The journal line of an exchange whose response body is JSON text: the head, then the text redacted in
    /// place. `None` when the text is not JSON (or JSON-path rules need the document): the caller then takes
    /// the document path. JSON that no document holds (`1e400`, a lone surrogate escape) passes this check;
    /// [`journal::read`] keeps such a body as text.
    fn journal_line(&self, head: &JournalHead<'_>, rbody: &[u8]) -> Option<Vec<u8>> {
        let is_json = |text: &[u8]| {
            std::str::from_utf8(text).is_ok_and(|t| serde_json::from_str::<&serde_json::value::RawValue>(t).is_ok())
        };
        let body: &[u8] = if rbody.is_empty() { b"{}" } else { rbody };
        // A pretty-printed answer: once it is known to be JSON, its line breaks are whitespace (strings hold no
        // raw ones), and become spaces, as a journal entry is one line. Checked first, so that a raw line
        // break inside a string is refused rather than mended.
        let breaks = memchr::memchr2(b'\n', b'\r', body).is_some();
        if breaks && !is_json(body) {
            return None;
        }
        let json_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        let first = body.iter().position(|c| !json_space(c))?;
        let last = body.iter().rposition(|c| !json_space(c))?;
        let mut line = Vec::with_capacity(last + 1 - first + 1024);
        serde_json::to_writer(&mut line, head).ok()?;
        // The head ends with its response object, `{"status":…,"headers":{…}}`: reopen it for the body.
        if !line.ends_with(b"}}") {
            return None;
        }
        line.truncate(line.len() - 2);
        line.extend_from_slice(b",\"body\":");
        let at = line.len();
        line.extend_from_slice(&body[first..=last]);
        let text = &mut line[at..];
        if breaks {
            text.iter_mut().filter(|c| matches!(**c, b'\n' | b'\r')).for_each(|c| *c = b' ');
        }
        self.redactor.json_text_in_place(text)?;
        // Checked as journaled, once (redaction writes digits and hex over digits and hex).
        if !is_json(text) {
            return None;
        }
        line.extend_from_slice(b"}}");
        Some(line)
    }

    /// Records an interaction (see [`Recorder::record`]) and waits until the journal has written it: nothing is
    /// answered before its recording is safe. Whether it was recorded.
    async fn record_and_wait(&self, x: Exchange<'_>) -> anyhow::Result<bool> {
        let Some(seq) = self.record(&x)? else {
            return Ok(false);
        };
        self.journal.as_ref().expect("recorded, so journaling").written(seq).await?;
        Ok(true)
    }

    async fn proxy(&self, req: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = req.into_parts();
        let up = &self.config.upstream;
        let detected = protocol::detect(&parts.method, parts.uri.path(), &parts.headers);
        let guess = detected.as_ref().map_or_else(|r| r.protocol, |c| c.protocol);

        // Not an open relay: absolute-form requests only for the upstream host; CONNECT never.
        if parts.method == http::Method::CONNECT {
            return self.refuse(guess, 403, "AccessDeniedException", format!(
                "snomed-vcr record does not tunnel (CONNECT {}): point the client's endpoint_url at the proxy, or use --no-resign with an http:// endpoint", parts.uri));
        }
        match parts.uri.authority() {
            Some(a) if a.host() != up.host => {
                return self.refuse(guess, 403, "AccessDeniedException", format!(
                    "snomed-vcr record forwards only to {}; refusing a request for {} (this proxy is not an open relay)", up.host, a.host()));
            }
            None if self.config.resign.is_none() => {
                return self.refuse(guess, 403, "AccessDeniedException", format!(
                    "with --no-resign the proxy must be the client's HTTP proxy (absolute-form requests for http://{}/); a request signed for another host cannot be forwarded unchanged", up.host));
            }
            _ => {}
        }

        // Only calls of the operation are recorded (and played back); `record` decides about the body.
        let call = detected.ok().filter(|c| c.operation == model::OPERATION);

        // Playback of what the cassette already holds.
        if let (Some(playback), Some(call)) = (&self.playback, &call) {
            match playback.find(call.protocol, &body) {
                Ok(found) => return found.response(call.protocol, &util::request_id()),
                Err(Missing::Unmatched(guide)) if self.config.mode != Mode::NewEpisodes => {
                    return self.refuse(call.protocol, 400, "UnmatchedRequestException", guide);
                }
                Err(_) => {} // new_episodes records it; an undecodable body is forwarded as it is
            }
        }

        let started = Instant::now();
        let forwarded = self.forward(&parts, body.clone()).await;
        let elapsed = started.elapsed();
        let (status, rheaders, rbody) = match forwarded {
            Ok(r) => r,
            Err(err) => {
                tracing::warn!(code = %err.code, message = %err.message, "upstream failure");
                let resp = protocol::error_response(guess, &err, &util::request_id());
                if self.config.record_errors
                    && let Some(call) = &call
                    && let Err(e) = self
                        .record_and_wait(Exchange {
                            protocol: call.protocol,
                            parts: &parts,
                            body: &body,
                            status: resp.status().as_u16(),
                            rheaders: resp.headers(),
                            rbody: resp.body(),
                            elapsed,
                        })
                        .await
                {
                    tracing::error!(error = %format!("{e:#}"), "could not journal an interaction");
                }
                return resp;
            }
        };
        let recorded = match &call {
            Some(call) => {
                let exchange = Exchange {
                    protocol: call.protocol,
                    parts: &parts,
                    body: &body,
                    status,
                    rheaders: &rheaders,
                    rbody: &rbody,
                    elapsed,
                };
                match self.record_and_wait(exchange).await {
                    Ok(recorded) => recorded,
                    Err(e) => {
                        // Never answer a request whose recording was lost.
                        tracing::error!(error = %format!("{e:#}"), "could not journal an interaction");
                        return self.refuse(
                            call.protocol,
                            500,
                            "InternalServerException",
                            format!("snomed-vcr could not record this interaction: {e:#}"),
                        );
                    }
                }
            }
            None => false,
        };
        if !recorded {
            tracing::warn!(path = %parts.uri.path(), "forwarded a request that is not a decodable {} call; not recorded", model::OPERATION);
        }
        let mut resp = Response::new(rbody);
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
        for (name, value) in &rheaders {
            if !is_hop_by_hop(name.as_str()) {
                resp.headers_mut().append(name.clone(), value.clone());
            }
        }
        resp
    }
}

impl Handler for Recorder {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.proxy(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        let aws = Upstream::parse("aws", "eu-west-2").unwrap();
        assert_eq!(aws.origin, "https://comprehendmedical.eu-west-2.amazonaws.com");
        assert_eq!(aws.aws_region(), Some("eu-west-2"));
        let local = Upstream::parse("http://127.0.0.1:8080/prefix/", "us-east-1").unwrap();
        assert_eq!(
            (local.origin.as_str(), local.path_prefix.as_str(), local.https),
            ("http://127.0.0.1:8080", "/prefix", false)
        );
        assert!(Upstream::parse("ftp://x", "r").unwrap_err().to_string().contains("http:// or https://"));
        assert!(Upstream::parse("not a url", "r").is_err());
    }
}
