//! The recording proxy: clients point their `endpoint_url` at it; it forwards to the upstream (re-signing with
//! SigV4 for the upstream host, or, with `--no-resign`, forwarding an HTTP-proxy client's bytes untouched),
//! returns the upstream's answer unchanged, and records each exchange, redacted, to a journal before the answer
//! goes back. When the session ends the journal is folded into the cassette.
//!
//! | file | holds |
//! |---|---|
//! | this one | record modes, [`Recorder`]: opening a session, the proxy's steps, finishing |
//! | `upstream` | forwarding: headers, `Host` and signature, relaying the answer, 502s |
//! | `capture` | what of an exchange is recorded, redacted, and how it reaches the journal |
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
//! `snomed-vcr review`. A session that finds the journal of an unfinished one (a crash, or a fold deferred at
//! shutdown) resumes it, so restarting costs nothing whatever it holds; see [`crate::cassette::journal`].

mod capture;
mod upstream;

pub use crate::cassette::store::Saved;
pub use crate::client::Endpoint;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};

use crate::cassette::CassetteError;
use crate::cassette::journal::{Journal, JournalHeader, journal_path};
use crate::cassette::redact::{self, Redactor};
use crate::cassette::{self, store};
use crate::client::{Client, ClientConfig};
use crate::matching;
use crate::model::{self, ServiceError};
use crate::playback::{Missing, Playback, PlaybackConfig};
use crate::protocol::{self, Protocol, Routed};
use crate::server::Handler;
use crate::sigv4::Keys;
use capture::{Capture, Captured};

/// A VCR record mode.
///
/// ```
/// use snomed_vcr::RecordMode;
/// assert_eq!(RecordMode::NewEpisodes.name(), "new_episodes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RecordMode {
    /// Record while the cassette does not exist; afterwards answer from it.
    Once,
    /// Answer what is recorded; record what is new.
    NewEpisodes,
    /// Forward and record everything.
    All,
    /// Never forward; answer from the cassette.
    None,
}

impl RecordMode {
    /// The mode's name on the command line and in journals.
    pub fn name(self) -> &'static str {
        match self {
            RecordMode::Once => "once",
            RecordMode::NewEpisodes => "new_episodes",
            RecordMode::All => "all",
            RecordMode::None => "none",
        }
    }
}

/// Everything `record` is told. [`RecordConfig::new`] gives `record`'s defaults; set what differs.
///
/// ```
/// use std::time::Duration;
/// use snomed_vcr::{Endpoint, RecordConfig, RecordMode};
///
/// let config = RecordConfig {
///     mode: RecordMode::NewEpisodes,
///     upstream_timeout: Duration::from_secs(5),
///     ..RecordConfig::new(Endpoint::parse("http://127.0.0.1:4566", "us-east-1").unwrap(), "cassettes/x.json".into())
/// };
/// assert_eq!(config.region, "us-east-1");
/// ```
#[derive(Clone, Debug)]
pub struct RecordConfig {
    /// Where requests are forwarded.
    pub upstream: Endpoint,
    /// The region requests are re-signed for.
    pub region: String,
    /// The cassette file.
    pub cassette: PathBuf,
    /// The record mode.
    pub mode: RecordMode,
    /// Re-sign with these; `None` is `--no-resign`.
    pub resign: Option<Keys>,
    /// Extra redaction rules.
    pub redact: Vec<redact::RedactRule>,
    /// Also record the 502s answered when the upstream cannot be reached.
    pub record_errors: bool,
    /// How long to wait for the upstream's response, and again for its body.
    pub upstream_timeout: Duration,
    /// Extra CA certificates (PEM) for an https upstream.
    pub upstream_ca_file: Option<PathBuf>,
    /// The largest upstream response body.
    pub max_body: usize,
    /// Leave out `recorded_at` and `elapsed_ms`, so re-recordings are byte-identical.
    pub reproducible: bool,
    /// Keep real account ids instead of placeholders (`--keep accounts`); the cassette says so (`kept`).
    pub keep_accounts: bool,
}

/// How long the proxy waits for the upstream by default (`--upstream-timeout`).
pub const UPSTREAM_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

impl RecordConfig {
    /// Records what `upstream` answers into `cassette`, with `record`'s defaults: mode `once`, the region of
    /// the upstream's AWS host (else [`crate::client::DEFAULT_REGION`]), no re-signing (set `resign`, as
    /// `record` does from the AWS credential chain, unless the proxy is the client's HTTP proxy), no extra redaction, 30 s for the upstream, 8 MiB bodies, timestamps
    /// kept.
    ///
    /// ```
    /// use snomed_vcr::{Endpoint, RecordConfig, RecordMode};
    ///
    /// let mut config = RecordConfig::new(Endpoint::parse("aws", "eu-west-1").unwrap(), "cassettes/mine.json".into());
    /// assert_eq!((config.region.as_str(), config.mode), ("eu-west-1", RecordMode::Once));
    /// config.mode = RecordMode::All;
    /// config.reproducible = true;
    /// ```
    pub fn new(upstream: Endpoint, cassette: PathBuf) -> RecordConfig {
        let region = upstream.aws_region().unwrap_or(crate::client::DEFAULT_REGION).to_string();
        RecordConfig {
            upstream,
            region,
            cassette,
            mode: RecordMode::Once,
            resign: None,
            redact: Vec::new(),
            record_errors: false,
            upstream_timeout: UPSTREAM_TIMEOUT_DEFAULT,
            upstream_ca_file: None,
            max_body: crate::server::MAX_BODY_DEFAULT,
            reproducible: false,
            keep_accounts: false,
        }
    }
}

/// Why a recording session did not open.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A mode that only answers from the cassette, and no cassette.
    #[error(
        "record mode '{}' needs an existing cassette, and '{}' does not exist (use --mode once to record it)",
        mode.name(),
        cassette.display()
    )]
    NoCassette {
        /// The mode.
        mode: RecordMode,
        /// The cassette that does not exist.
        cassette: PathBuf,
    },
    /// The cassette, or the journal an earlier session left, could not be read or started.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// The client of the upstream could not be made (its CA file).
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

/// The recording proxy.
/// It is a [`crate::server::Handler`]: serve it, point a client at it, and every exchange is written to the
/// cassette (redacted) when it [finishes](Recorder::finish).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let reference = std::sync::Arc::new(snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(12, 7)));
/// # let reference = snomed_vcr::Server::spawn(listener, reference, snomed_vcr::ServerConfig::default()).unwrap();
/// use std::sync::Arc;
/// use snomed_vcr::{Cassette, Client, Endpoint, Protocol, RecordConfig, Recorder, Server, ServerConfig};
///
/// let cassette = std::env::temp_dir().join(format!("snomed-vcr-doc-{}.json", std::process::id()));
/// let mut config = RecordConfig::new(Endpoint::parse(&reference.uri(), "us-east-1").unwrap(), cassette.clone());
/// // The proxy signs what it forwards with its own credentials (never written to the cassette).
/// config.resign = Some(snomed_vcr::sigv4::Credentials::new("AKIDEXAMPLE", "proxy-secret").into());
/// let recorder = Arc::new(Recorder::open(config).await.unwrap());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let proxy = Server::spawn(listener, recorder.clone(), ServerConfig::default()).unwrap();
/// Client::new(&proxy.uri()).unwrap().call(Protocol::AwsJson11, &serde_json::json!({"MaxResults": 5})).await.unwrap();
/// proxy.shutdown().await;
/// recorder.finish().unwrap();
/// assert_eq!(Cassette::load(&cassette).unwrap().interactions.len(), 1);
/// # std::fs::remove_file(&cassette).ok();
/// # });
/// ```
pub struct Recorder {
    config: RecordConfig,
    client: Client,
    /// The session's one redactor: what is recorded and what is matched against the cassette share its
    /// placeholders.
    redactor: Arc<Redactor>,
    journal: Option<Journal>,
    /// The existing cassette, answering what it holds (modes other than `all`).
    playback: Option<Playback>,
}

impl Recorder {
    /// Opens a recording session: resumes the journal an unfinished session left, or starts one; loads the
    /// cassette for playback in the modes that answer from it.
    pub async fn open(config: RecordConfig) -> Result<Recorder, RecordError> {
        let jpath = journal_path(&config.cassette);
        let leftover = jpath.exists();
        let existing = config.cassette.exists();
        let records = match config.mode {
            RecordMode::All | RecordMode::NewEpisodes => true,
            RecordMode::Once => !existing,
            RecordMode::None => false,
        };
        if !records && !existing {
            return Err(RecordError::NoCassette { mode: config.mode, cassette: config.cassette.clone() });
        }
        let mut redactor = Redactor::new(config.redact.clone());
        if config.keep_accounts {
            redactor = redactor.keeping_accounts();
        }
        let redactor = Arc::new(redactor);
        let playback = match (existing, config.mode) {
            (true, mode) if mode != RecordMode::All => {
                Some(Playback::new(PlaybackConfig::new(vec![config.cassette.clone()]), redactor.clone())?)
            }
            _ => None,
        };
        let journal = if records {
            let match_rules = if existing {
                cassette::read_header(&config.cassette).map_err(CassetteError::from)?.match_rules
            } else {
                matching::DEFAULT_RULES.iter().map(|s| s.to_string()).collect()
            };
            let header = JournalHeader {
                journal: 1,
                mode: config.mode.name().into(),
                upstream: config.upstream.url(),
                region: config.region.clone(),
                match_rules,
                kept: if config.keep_accounts { vec![cassette::KEEP_ACCOUNTS.to_string()] } else { Vec::new() },
            };
            if leftover {
                let journal = Journal::resume(&jpath, &header)?;
                tracing::warn!(journal = %jpath.display(), "resuming an unfinished recording");
                eprintln!(
                    "recovered an unfinished recording from {}: this session resumes it, and its interactions are \
                     folded into {} with this session's",
                    jpath.display(),
                    config.cassette.display()
                );
                Some(journal)
            } else {
                Some(Journal::create(&jpath, &header)?)
            }
        } else {
            if leftover {
                eprintln!(
                    "an unfinished recording is in {}; this session records nothing and leaves it there \
                     (`{} record --recover --cassette {}` folds it in)",
                    jpath.display(),
                    crate::program::program(),
                    crate::program::quote(&config.cassette.display().to_string())
                );
            }
            None
        };
        let client = Client::with_config(ClientConfig {
            endpoint: config.upstream.clone(),
            ca_file: config.upstream_ca_file.clone(),
            signing: config.resign.clone().map(|c| (c, config.region.clone())),
            timeout: config.upstream_timeout,
            max_body: config.max_body,
        })?;
        Ok(Recorder { config, client, redactor, journal, playback })
    }

    /// Finishes the recording: the journal is folded into the cassette (or `NAME.json.new`).
    pub fn finish(&self) -> Result<Saved, CassetteError> {
        self.finish_by(None)
    }

    /// [`Recorder::finish`], giving up on the fold at `deadline`: the journal, synced and whole, is then left
    /// for `record --recover` or the next session ([`Saved::Deferred`]).
    pub fn finish_by(&self, deadline: Option<Instant>) -> Result<Saved, CassetteError> {
        match &self.journal {
            None => Ok(Saved::Nothing),
            Some(j) => {
                j.seal()?;
                store::fold(&self.config.cassette, deadline)
            }
        }
    }

    /// How many interactions this session recorded so far.
    pub fn recorded(&self) -> u64 {
        self.journal.as_ref().map_or(0, Journal::appended)
    }

    fn refuse(&self, protocol: Protocol, status: u16, code: &str, message: String) -> Response<Bytes> {
        protocol::error_response(protocol, &ServiceError::new(status, code, message), &protocol::request_id())
    }

    /// Step 1: whether the request may be forwarded at all (this proxy is not an open relay), and which call
    /// of the operation it is (`None` for anything else, which is forwarded but neither played back nor
    /// recorded). `Err` is the refusal to answer with.
    fn admit(&self, parts: &http::request::Parts) -> Result<(Protocol, Option<Routed>), Box<Response<Bytes>>> {
        let up = &self.config.upstream;
        let detected = protocol::route(&parts.method, parts.uri.path(), &parts.headers);
        let guess = detected.as_ref().map_or_else(|r| r.protocol, protocol::Route::protocol);
        if parts.method == http::Method::CONNECT {
            return Err(Box::new(self.refuse(guess, 403, "AccessDeniedException", format!(
                "snomed-vcr record does not tunnel (CONNECT {}): point the client's endpoint_url at the proxy, or use --no-resign with an http:// endpoint", parts.uri))));
        }
        match parts.uri.authority() {
            Some(a) if a.host() != up.host => {
                return Err(Box::new(self.refuse(guess, 403, "AccessDeniedException", format!(
                    "snomed-vcr record forwards only to {}; refusing a request for {} (this proxy is not an open relay)", up.host, a.host()))));
            }
            None if self.config.resign.is_none() => {
                return Err(Box::new(self.refuse(guess, 403, "AccessDeniedException", format!(
                    "with --no-resign the proxy must be the client's HTTP proxy (absolute-form requests for http://{}/); a request signed for another host cannot be forwarded unchanged", up.host))));
            }
            _ => {}
        }
        Ok((guess, detected.ok().and_then(protocol::Route::routed)))
    }

    /// Step 2: the answer the cassette already holds, in the modes that play back; `None` to forward.
    fn play_back(&self, call: &Routed, body: &Bytes) -> Option<Response<Bytes>> {
        let playback = self.playback.as_ref()?;
        match playback.find(call.protocol, call.operation, body) {
            Ok(found) => Some(found.response(call.protocol, &protocol::request_id())),
            Err(Missing::Unmatched(guide)) if self.config.mode != RecordMode::NewEpisodes => {
                Some(self.refuse(call.protocol, 400, "UnmatchedRequestException", guide.in_record().message()))
            }
            // new_episodes records it; an undecodable body is forwarded as it is.
            Err(_) => None,
        }
    }

    /// Step 3b: the upstream could not be reached: answer the 502, recording it only with `--record-errors`.
    async fn answer_failure(
        &self,
        guess: Protocol,
        call: Option<&Routed>,
        parts: &http::request::Parts,
        body: &[u8],
        err: ServiceError,
        elapsed: Duration,
    ) -> Response<Bytes> {
        tracing::warn!(code = %err.code, message = %err.message, "upstream failure");
        let resp = protocol::error_response(guess, &err, &protocol::request_id());
        if self.config.record_errors
            && let (Some(call), Some(capture)) = (call, self.capture())
        {
            let x = Captured {
                protocol: call.protocol,
                operation: call.operation,
                parts,
                body,
                status: resp.status().as_u16(),
                headers: resp.headers(),
                answer: resp.body(),
                elapsed,
            };
            if let Err(e) = capture.record(&x).await {
                tracing::error!(error = %format!("{e:#}"), "could not journal an interaction");
            }
        }
        resp
    }

    fn capture(&self) -> Option<Capture<'_>> {
        let journal = self.journal.as_ref()?;
        Some(Capture { journal, redactor: &self.redactor, reproducible: self.config.reproducible })
    }

    async fn proxy(&self, req: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = req.into_parts();
        let (guess, call) = match self.admit(&parts) {
            Ok(admitted) => admitted,
            Err(refusal) => return *refusal,
        };
        if let Some(call) = &call
            && let Some(answer) = self.play_back(call, &body)
        {
            return answer;
        }
        let started = Instant::now();
        let forwarded = upstream::forward(&self.client, &parts, body.clone()).await;
        let elapsed = started.elapsed();
        let answer = match forwarded {
            Ok(answer) => answer,
            Err(err) => return self.answer_failure(guess, call.as_ref(), &parts, &body, err, elapsed).await,
        };
        // Step 4: journal the exchange; nothing is answered before its recording is safe.
        let recorded = match (&call, self.capture()) {
            (Some(call), Some(capture)) => {
                let x = Captured {
                    protocol: call.protocol,
                    operation: call.operation,
                    parts: &parts,
                    body: &body,
                    status: answer.status,
                    headers: &answer.headers,
                    answer: &answer.body,
                    elapsed,
                };
                match capture.record(&x).await {
                    Ok(recorded) => recorded,
                    Err(e) => {
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
            _ => false,
        };
        if !recorded {
            tracing::warn!(path = %parts.uri.path(), "forwarded a request that is not a decodable call of a list operation ({}); not recorded", model::Operation::names());
        }
        // Step 5: the upstream's answer, unchanged.
        upstream::relay(answer)
    }
}

impl Handler for Recorder {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.proxy(req).await
    }
}
