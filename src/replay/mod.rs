//! The replay server: answers from cassettes, offline and deterministically, in either wire protocol.
//!
//! Requests are matched on their redacted, canonical input documents (see [`crate::matching`]); identical
//! requests recorded several times are answered in recorded order, then by the `--repeat` policy. JSON 1.1
//! answers are made compact at load and CBOR ones on first use, so the request path is a lookup and a
//! reference-count bump; past a memory budget, answers are read back from the cassette file (see [`answers`]).
//! A request that matches nothing gets a non-retryable 400 `UnmatchedRequestException` whose message names the
//! closest interaction and the JSON paths that differ (see [`guide`]).
//!
//! In Rust tests, start one in-process (the shape of wiremock's `MockServer`):
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use serde_json::json;
//! use snomed_vcr::client::Client;
//! use snomed_vcr::protocol::{Protocol, Reply};
//! use snomed_vcr::replay::ReplayServer;
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

pub mod answers;
mod encode;
pub mod guide;

use answers::Body;

pub use encode::{recorded_error, respond};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use serde_json::Value;

use crate::cassette;
use crate::cassette::redact::{self, Redactor};
use crate::matching::{self, Rule};
use crate::model::{self, ServiceError};
use crate::protocol::{self, Protocol};
use crate::server::{Handler, Server, ServerConfig};
use crate::util::{self, SplitMix64};

/// What happens when a request's recorded answers have all been played.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Repeat {
    /// Answer with the last recorded answer again (default).
    Last,
    /// Start again from the first.
    Cycle,
    /// Answer UnmatchedRequestException.
    Error,
}

/// Simulated latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    None,
    /// Each interaction's recorded `elapsed_ms`.
    Recorded,
    Fixed(Duration),
}

impl Latency {
    pub fn parse(s: &str) -> Result<Latency, String> {
        match s {
            "none" => Ok(Latency::None),
            "recorded" => Ok(Latency::Recorded),
            ms => ms
                .parse::<u64>()
                .map(|ms| Latency::Fixed(Duration::from_millis(ms)))
                .map_err(|_| format!("'{s}' is not a latency (expected recorded, none, or milliseconds such as 25)")),
        }
    }
}

/// Injected faults: probabilities of a 429 and a 500, drawn from a seeded stream by request number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    pub throttle: f64,
    pub internal: f64,
}

impl Faults {
    /// Parses `throttle=0.05,internal=0.01`.
    pub fn parse(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("'{part}' is not NAME=PROBABILITY"))?;
            let p: f64 =
                v.parse().map_err(|_| format!("'{v}' is not a probability (expected a number from 0 to 1)"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("'{v}' is not a probability (expected a number from 0 to 1)"));
            }
            match k {
                "throttle" => f.throttle = p,
                "internal" => f.internal = p,
                other => return Err(format!("unknown fault '{other}' (expected throttle or internal)")),
            }
        }
        if f.throttle + f.internal > 1.0 {
            return Err("the fault probabilities add up to more than 1".into());
        }
        Ok(f)
    }

    /// The fault for the `n`th request (from 0) under `seed`, if any.
    pub fn draw(&self, seed: u64, n: u64) -> Option<ServiceError> {
        let u = (SplitMix64::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64() >> 11) as f64
            / (1u64 << 53) as f64;
        if u < self.throttle {
            Some(ServiceError::too_many_requests("Rate exceeded (injected by snomed-vcr replay)"))
        } else if u < self.throttle + self.internal {
            Some(ServiceError::internal("Internal server error (injected by snomed-vcr replay)"))
        } else {
            None
        }
    }
}

/// How a replay server is set up.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Cassette files or directories.
    pub cassettes: Vec<PathBuf>,
    /// Overrides every cassette's own `match_rules`.
    pub match_on: Option<Vec<Rule>>,
    pub repeat: Repeat,
    pub latency: Latency,
    pub faults: Faults,
    pub seed: u64,
    /// Extra redaction rules for incoming requests (the ones the cassette was recorded with).
    pub redact: Vec<redact::Rule>,
    /// Reload cassettes that change on disk.
    pub watch: bool,
    /// Bytes of JSON answers held in memory; answers past it are read back from the cassette file when
    /// served (see [`answers`]).
    pub resident_answers: usize,
}

/// The default [`ReplayConfig::resident_answers`]: 16 MiB (some 7,000 pages of 2.4 KB).
pub const RESIDENT_ANSWERS_DEFAULT: usize = 16 << 20;

impl ReplayConfig {
    pub fn new(cassettes: Vec<PathBuf>) -> ReplayConfig {
        ReplayConfig {
            cassettes,
            match_on: None,
            repeat: Repeat::Last,
            latency: Latency::None,
            faults: Faults::default(),
            seed: 0,
            redact: Vec::new(),
            watch: false,
            resident_answers: RESIDENT_ANSWERS_DEFAULT,
        }
    }
}

/// One recorded interaction, ready to answer.
#[derive(Debug)]
pub struct Entry {
    pub cassette: usize,
    pub index: usize,
    /// The recorded input document as compact JSON: parsed again only to explain a miss.
    pub body: Box<str>,
    pub protocol: Protocol,
    elapsed: Duration,
    /// The answer for JSON 1.1 callers, made at load.
    json: Answer,
    /// The body for RPC v2 CBOR callers (status and error type are `json`'s), made from `json` the first time
    /// a CBOR caller needs it; kept only when `json` is resident.
    cbor: std::sync::OnceLock<Bytes>,
}

/// An answer: status, body, and `x-amzn-ErrorType` for errors.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Body,
    error_type: Option<HeaderValue>,
}

impl Answer {
    fn of(resp: Response<Bytes>) -> Answer {
        let error_type = resp.headers().get(protocol::ERROR_TYPE_HEADER).cloned();
        Answer { status: resp.status(), body: Body::Resident(resp.body().clone()), error_type }
    }

    /// The JSON 1.1 answer to a recorded response whose body is at `offset` in its cassette file: a 2xx body
    /// made compact and held while `budget` (bytes) lasts, else left in the file; an error rebuilt in the
    /// protocol's shape and held. `compact` is scratch space.
    fn load(resp: &cassette::StreamedResponse<'_>, offset: u64, budget: &mut usize, compact: &mut Vec<u8>) -> Answer {
        if !(200..300).contains(&resp.status) {
            return Answer::of(respond(Protocol::AwsJson11, &resp.to_recorded(), ""));
        }
        let raw = resp.body.get().as_bytes();
        let body = if raw.len() <= *budget {
            compact.clear();
            answers::minify(raw, compact);
            *budget -= compact.len();
            Body::Resident(Bytes::copy_from_slice(compact))
        } else {
            Body::InFile { offset, len: raw.len(), sum: answers::checksum(raw) }
        };
        let error_type = resp.headers.get("x-amzn-errortype").and_then(|v| HeaderValue::from_str(v).ok());
        Answer { status: StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK), body, error_type }
    }

    /// The CBOR body with the same content as this JSON 1.1 answer, whose body text is `json`.
    fn to_cbor(&self, json: &[u8]) -> Bytes {
        let recorded = crate::cassette::RecordedResponse {
            status: self.status.as_u16(),
            headers: self
                .error_type
                .iter()
                .filter_map(|v| Some(("x-amzn-errortype".to_string(), v.to_str().ok()?.to_string())))
                .collect(),
            body: serde_json::from_slice(json).unwrap_or(Value::Null),
            encoding: None,
        };
        respond(Protocol::RpcV2Cbor, &recorded, "").into_body()
    }

    fn response(&self, p: Protocol, body: Bytes, request_id: &str) -> Response<Bytes> {
        let mut resp = protocol::output_response_bytes(p, body, request_id);
        *resp.status_mut() = self.status;
        if let Some(v) = &self.error_type {
            resp.headers_mut().insert(protocol::ERROR_TYPE_HEADER, v.clone());
        }
        resp
    }
}

/// The loaded cassettes and their index.
#[derive(Debug)]
pub struct Library {
    pub paths: Vec<PathBuf>,
    /// The cassette files, open, for answers read back from them.
    files: Vec<std::fs::File>,
    pub entries: Vec<Entry>,
    /// The distinct matcher sets in use, each with its key → group.
    by_rules: Vec<(Vec<Rule>, HashMap<String, usize>)>,
    /// Groups of entries answering the same request, in recorded order.
    groups: Vec<Vec<usize>>,
    /// The cassettes' file stamps, taken before reading them: `--watch` reloads when they change, so an
    /// edit made while the files were being read is not missed.
    stamps: Vec<Option<FileStamp>>,
}

impl Library {
    /// Loads cassettes (files or directories) with the given matcher override, holding up to `resident` bytes
    /// of JSON answers in memory.
    pub fn load(paths: &[PathBuf], match_on: Option<&[Rule]>, resident: usize) -> anyhow::Result<Library> {
        let given = paths;
        let paths = cassette::expand_paths(given)?;
        if paths.is_empty() {
            anyhow::bail!("no cassettes found in {given:?} (expected *.json files)");
        }
        let stamps = paths.iter().map(|p| FileStamp::of(p)).collect();
        let mut entries = Vec::new();
        let mut files = Vec::new();
        let mut by_rules: Vec<(Vec<Rule>, HashMap<String, usize>)> = Vec::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut budget = resident;
        let mut compact = Vec::new();
        for (ci, path) in paths.iter().enumerate() {
            // Interactions become compact entries as they stream past, and their match keys are built then
            // too when the matchers are known before the interactions (always, in canonical cassettes).
            let first = entries.len();
            let early_rules = match match_on {
                Some(r) => Some(r.to_vec()),
                None => cassette::peek_match_rules(path).and_then(|names| matching::parse_rules(&names).ok()),
            };
            let mut keys = Vec::new();
            let (header, file) = cassette::stream(path, |index, it, offset| {
                let json = Answer::load(&it.response, offset, &mut budget, &mut compact);
                if let Some(rules) = &early_rules {
                    keys.push(matching::request_key(rules, it.request.protocol, model::OPERATION, &it.request.body));
                }
                entries.push(Entry {
                    cassette: ci,
                    index,
                    json,
                    cbor: std::sync::OnceLock::new(),
                    body: it.request.body.to_string().into_boxed_str(),
                    protocol: it.request.protocol,
                    elapsed: Duration::from_millis(it.elapsed_ms.unwrap_or(0)),
                });
                Ok(())
            })?;
            files.push(file);
            let rules = match match_on {
                Some(r) => r.to_vec(),
                None => matching::parse_rules(&header.match_rules)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            };
            if early_rules.as_ref() != Some(&rules) {
                keys = entries[first..]
                    .iter()
                    .map(|e| {
                        let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
                        matching::request_key(&rules, e.protocol, model::OPERATION, &body)
                    })
                    .collect();
            }
            let slot = match by_rules.iter().position(|(r, _)| *r == rules) {
                Some(i) => i,
                None => {
                    by_rules.push((rules.clone(), HashMap::new()));
                    by_rules.len() - 1
                }
            };
            let index = &mut by_rules[slot].1;
            index.reserve(keys.len());
            for (n, key) in (first..).zip(keys) {
                let group = *index.entry(key).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[group].push(n);
            }
        }
        Ok(Library { paths, files, entries, by_rules, groups, stamps })
    }

    /// How many JSON answers are held in memory, and how many are read back from cassette files.
    pub fn residency(&self) -> (usize, usize) {
        let resident = self.entries.iter().filter(|e| matches!(e.json.body, Body::Resident(_))).count();
        (resident, self.entries.len() - resident)
    }

    /// Entry `idx`'s answer, encoded for a caller speaking `p`.
    fn response(&self, idx: usize, p: Protocol, request_id: &str) -> Response<Bytes> {
        let e = &self.entries[idx];
        let body = match (&e.json.body, p) {
            (Body::Resident(json), Protocol::AwsJson11) => json.clone(),
            (Body::Resident(json), Protocol::RpcV2Cbor) => e.cbor.get_or_init(|| e.json.to_cbor(json)).clone(),
            (&Body::InFile { offset, len, sum }, _) => {
                let raw = match answers::read_back(&self.files[e.cassette], offset, len, sum) {
                    Ok(raw) => raw,
                    Err(why) => {
                        let message = format!(
                            "snomed-vcr cannot answer from '{}' interaction {}: {why}. The cassette changed on \
                             disk since it was loaded; restart replay, or run it with --watch.",
                            self.paths[e.cassette].display(),
                            e.index
                        );
                        eprintln!("replay: {message}");
                        return protocol::error_response(p, &ServiceError::internal(message), request_id);
                    }
                };
                match p {
                    Protocol::AwsJson11 => {
                        let mut compact = Vec::with_capacity(raw.len());
                        answers::minify(&raw, &mut compact);
                        Bytes::from(compact)
                    }
                    Protocol::RpcV2Cbor => e.json.to_cbor(&raw),
                }
            }
        };
        e.json.response(p, body, request_id)
    }

    /// The group of recorded answers for a request (see `groups`).
    fn group(&self, protocol: Protocol, input: &Value) -> Option<usize> {
        self.by_rules.iter().find_map(|(rules, index)| {
            index.get(&matching::request_key(rules, protocol, model::OPERATION, input)).copied()
        })
    }

    fn rules(&self) -> Vec<Rule> {
        self.by_rules.first().map(|(r, _)| r.clone()).unwrap_or_default()
    }
}

/// A request nothing answered, kept for `--strict`.
#[derive(Clone, Debug)]
pub struct Miss {
    pub protocol: Protocol,
    pub body: Value,
    pub guide: String,
}

/// What a replay session saw: for `--strict` and tests.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub served: u64,
    pub misses: Vec<Miss>,
    /// `(cassette path, interaction index)` of interactions never played.
    pub unplayed: Vec<(PathBuf, usize)>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.misses.is_empty() && self.unplayed.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} requests answered, {} unmatched, {} interactions never played",
            self.served,
            self.misses.len(),
            self.unplayed.len()
        )?;
        for (i, m) in self.misses.iter().enumerate() {
            writeln!(f, "unmatched #{}: {} {}", i + 1, m.protocol, m.body)?;
        }
        for (p, i) in &self.unplayed {
            writeln!(f, "never played: {} interaction {i}", p.display())?;
        }
        Ok(())
    }
}

struct State {
    library: Arc<Library>,
    /// Per group: how many of its answers have been played.
    cursors: Vec<usize>,
    played: Vec<bool>,
    misses: Vec<Miss>,
    /// Request bytes already matched, one map per protocol (`Protocol as usize`), to their group: a repeated
    /// request (SDKs send identical bytes for identical requests) skips parsing, redaction and key building.
    /// Looked up by the bytes themselves, so a lookup clones nothing. Filled only on matches, and bounded;
    /// rebuilt with the state on reload.
    seen: [HashMap<Bytes, usize, util::FxBuildHasher>; Protocol::ALL.len()],
}

impl State {
    /// Fresh play positions over a library; misses carry over a reload.
    fn new(library: Arc<Library>, misses: Vec<Miss>) -> State {
        State {
            cursors: vec![0; library.groups.len()],
            played: vec![false; library.entries.len()],
            misses,
            seen: Default::default(),
            library,
        }
    }
}

/// The replay handler.
pub struct Replayer {
    config: ReplayConfig,
    redactor: Redactor,
    play: Mutex<State>,
    requests: AtomicU64,
    served: AtomicU64,
}

impl Replayer {
    pub fn new(config: ReplayConfig) -> anyhow::Result<Replayer> {
        let library = Arc::new(Library::load(&config.cassettes, config.match_on.as_deref(), config.resident_answers)?);
        Ok(Replayer {
            redactor: Redactor::new(config.redact.clone()),
            play: Mutex::new(State::new(library, Vec::new())),
            requests: AtomicU64::new(0),
            served: AtomicU64::new(0),
            config,
        })
    }

    pub fn library(&self) -> Arc<Library> {
        self.play.lock().unwrap_or_else(|e| e.into_inner()).library.clone()
    }

    /// Swaps in a freshly loaded library (live reload); play positions start over.
    pub fn reload(&self) -> anyhow::Result<()> {
        let library = Arc::new(Library::load(
            &self.config.cassettes,
            self.config.match_on.as_deref(),
            self.config.resident_answers,
        )?);
        let mut play = self.play.lock().unwrap_or_else(|e| e.into_inner());
        let misses = std::mem::take(&mut play.misses);
        *play = State::new(library, misses);
        Ok(())
    }

    /// What was served, missed, and never played so far.
    pub fn report(&self) -> Report {
        let play = self.play.lock().unwrap_or_else(|e| e.into_inner());
        let unplayed = play
            .played
            .iter()
            .enumerate()
            .filter(|(_, p)| !**p)
            .map(|(i, _)| {
                let e = &play.library.entries[i];
                (play.library.paths[e.cassette].clone(), e.index)
            })
            .collect();
        Report { served: self.served.load(Ordering::Relaxed), misses: play.misses.clone(), unplayed }
    }

    /// The entry for a request whose exact bytes matched before, if they did.
    fn pick_seen(&self, protocol: Protocol, raw: &Bytes) -> Option<Result<(Arc<Library>, usize), String>> {
        let mut play = self.play.lock().unwrap_or_else(|e| e.into_inner());
        let group = *play.seen[protocol as usize].get(&raw[..])?;
        Some(
            self.advance(&mut play, group, protocol, || {
                protocol::decode_document(protocol, raw).unwrap_or(Value::Null)
            }),
        )
    }

    /// Picks the entry that answers this request, or explains why none does.
    fn pick(&self, protocol: Protocol, raw: &Bytes, input: &Value) -> Result<(Arc<Library>, usize), String> {
        let mut play = self.play.lock().unwrap_or_else(|e| e.into_inner());
        let library = play.library.clone();
        let Some(group) = library.group(protocol, input) else {
            let guide = guide::explain(&library, protocol, input, &library.rules());
            play.misses.push(Miss { protocol, body: input.clone(), guide: guide.clone() });
            return Err(guide);
        };
        let memo_len: usize = play.seen.iter().map(HashMap::len).sum();
        if memo_len < 4 * library.entries.len() + 1024 {
            play.seen[protocol as usize].insert(raw.clone(), group);
        }
        self.advance(&mut play, group, protocol, || input.clone())
    }

    /// Plays the next answer of a group, by the repeat policy once its recorded answers are used up.
    fn advance(
        &self,
        play: &mut State,
        group: usize,
        protocol: Protocol,
        input: impl FnOnce() -> Value,
    ) -> Result<(Arc<Library>, usize), String> {
        let library = play.library.clone();
        let list = &library.groups[group];
        let n = &mut play.cursors[group];
        let slot = if *n < list.len() {
            *n
        } else {
            match self.config.repeat {
                Repeat::Last => list.len() - 1,
                Repeat::Cycle => *n % list.len(),
                Repeat::Error => {
                    let e = &library.entries[list[0]];
                    let guide = format!(
                        "All {} recorded answers to this request ({} interaction {}) have been played, and --repeat is 'error'. \
                         Use --repeat last or cycle, or record the request again.",
                        list.len(),
                        library.paths[e.cassette].display(),
                        e.index
                    );
                    play.misses.push(Miss { protocol, body: input(), guide: guide.clone() });
                    return Err(guide);
                }
            }
        };
        *n += 1;
        let idx = list[slot];
        play.played[idx] = true;
        Ok((library, idx))
    }

    async fn answer(&self, req: Request<Bytes>) -> Response<Bytes> {
        let request_id = util::request_id();
        let (parts, body) = req.into_parts();
        let call = match protocol::detect(&parts.method, parts.uri.path(), &parts.headers) {
            Ok(c) => c,
            Err(r) => return protocol::error_response(r.protocol, &r.error, &request_id),
        };
        let p = call.protocol;
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        if self.config.faults != Faults::default()
            && let Some(fault) = self.config.faults.draw(self.config.seed, n)
        {
            return protocol::error_response(p, &fault, &request_id);
        }
        if call.operation != model::OPERATION {
            let e = ServiceError::new(
                400,
                "UnknownOperationException",
                format!("the cassettes hold {} only, not '{}'", model::OPERATION, call.operation),
            );
            return protocol::error_response(p, &e, &request_id);
        }
        match self.find(p, &body) {
            Ok(found) => {
                let delay = match self.config.latency {
                    Latency::None => Duration::ZERO,
                    Latency::Recorded => found.elapsed(),
                    Latency::Fixed(d) => d,
                };
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                found.response(p, &request_id)
            }
            Err(Missing::Undecodable(e)) => protocol::error_response(p, &ServiceError::serialization(e), &request_id),
            Err(Missing::Unmatched(guide)) => {
                eprintln!("{}", guide::frame(&guide));
                let e = ServiceError::new(400, "UnmatchedRequestException", guide);
                protocol::error_response(p, &e, &request_id)
            }
        }
    }

    /// Finds the next recorded answer for a request body in a protocol, moving play positions on: what the
    /// replay server answers with, and what `record` plays back before it forwards anything.
    pub fn find(&self, p: Protocol, body: &Bytes) -> Result<Found, Missing> {
        let picked = match self.pick_seen(p, body) {
            Some(picked) => picked,
            None => {
                let mut input = protocol::decode_document(p, body).map_err(Missing::Undecodable)?;
                self.redactor.document(&mut input);
                self.pick(p, body, &input)
            }
        };
        let (library, idx) = picked.map_err(Missing::Unmatched)?;
        self.served.fetch_add(1, Ordering::Relaxed);
        Ok(Found { library, idx })
    }
}

/// A recorded answer found for a request.
pub struct Found {
    library: Arc<Library>,
    idx: usize,
}

impl Found {
    /// The latency recorded with it.
    pub fn elapsed(&self) -> Duration {
        self.library.entries[self.idx].elapsed
    }

    /// The answer, encoded for a caller speaking `p`.
    pub fn response(&self, p: Protocol, request_id: &str) -> Response<Bytes> {
        self.library.response(self.idx, p, request_id)
    }
}

/// Why [`Replayer::find`] found nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The body is not a document of the protocol.
    Undecodable(String),
    /// Nothing recorded matches: the guide explains what is closest and how to fix it.
    Unmatched(String),
}

impl Handler for Replayer {
    async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        self.answer(req).await
    }
}

/// What the watcher compares to see that a cassette changed: modification time, length and, on Unix, the
/// inode. The time alone misses a save that lands in the same clock tick of the file system as the version
/// loaded (its timestamps are coarser than their nanosecond field suggests), which a quick edit does; a save by
/// renaming (editors, `record`, `Cassette::save`) always brings a new inode.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp { modified: m.modified().ok(), len: m.len(), inode })
    }
}

/// Polls the cassettes' file stamps and reloads on change; a broken edit keeps the last good version.
pub fn spawn_watcher(replayer: Arc<Replayer>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let stamp = |r: &Replayer| -> Vec<Option<FileStamp>> {
            cassette::expand_paths(&r.config.cassettes).unwrap_or_default().iter().map(|p| FileStamp::of(p)).collect()
        };
        let mut last = replayer.library().stamps.clone();
        loop {
            tokio::time::sleep(every).await;
            let now = stamp(&replayer);
            if now == last {
                continue;
            }
            last = now;
            match replayer.reload() {
                Ok(()) => tracing::info!(entries = replayer.library().entries.len(), "cassettes reloaded"),
                Err(e) => {
                    tracing::error!("{e:#}; keeping the last good version");
                    eprintln!("snomed-vcr replay: {e:#}; keeping the last good version");
                }
            }
        }
    })
}

/// A replay server running in-process, for Rust tests. Stops when dropped.
pub struct ReplayServer {
    server: Option<Server>,
    replayer: Arc<Replayer>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl ReplayServer {
    /// Serves one cassette (or a directory of them) on a free loopback port.
    pub async fn start(cassette: impl AsRef<Path>) -> anyhow::Result<ReplayServer> {
        ReplayServer::start_with(ReplayConfig::new(vec![cassette.as_ref().to_path_buf()])).await
    }

    /// Serves with a full configuration.
    pub async fn start_with(config: ReplayConfig) -> anyhow::Result<ReplayServer> {
        let watch = config.watch;
        let replayer = Arc::new(Replayer::new(config)?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding a loopback port")?;
        let server = Server::spawn(listener, replayer.clone(), ServerConfig::default())?;
        let watcher = watch.then(|| spawn_watcher(replayer.clone(), Duration::from_millis(200)));
        Ok(ReplayServer { server: Some(server), replayer, watcher })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.as_ref().map(Server::uri).unwrap_or_default()
    }

    /// What was served, missed and never played so far.
    pub fn report(&self) -> Report {
        self.replayer.report()
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn shutdown(mut self) -> Report {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn golden(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes")).join(name)
    }

    #[test]
    fn a_save_in_the_same_clock_tick_with_the_same_length_is_still_a_change() {
        let dir = util::scratch_dir("replay-stamp").unwrap();
        let (path, next) = (dir.join("c.json"), dir.join(".c.json.tmp"));
        std::fs::write(&path, "{\"JobId\": \"aaaa\"}").unwrap();
        let before = FileStamp::of(&path).unwrap();
        // What a quick save by renaming can leave: same length, and the file system's clock has not ticked.
        let f = std::fs::File::create(&next).unwrap();
        std::io::Write::write_all(&mut &f, b"{\"JobId\": \"bbbb\"}").unwrap();
        f.set_modified(before.modified.unwrap()).unwrap();
        drop(f);
        std::fs::rename(&next, &path).unwrap();
        let after = FileStamp::of(&path).unwrap();
        assert_eq!((after.modified, after.len), (before.modified, before.len));
        assert_ne!(after, before, "the new inode tells the save apart");
        assert_eq!(FileStamp::of(&path), Some(after), "an unchanged file has an unchanged stamp");
        assert_eq!(FileStamp::of(&dir.join("gone.json")), None);
    }

    #[tokio::test]
    async fn an_edit_between_loading_and_watching_is_picked_up() {
        let dir = util::scratch_dir("replay-watch-race").unwrap();
        let path = dir.join("c.json");
        std::fs::copy(golden("boto3-walk.json"), &path).unwrap();
        let replayer = Arc::new(Replayer::new(ReplayConfig::new(vec![path.clone()])).unwrap());
        let loaded = replayer.library().entries.len();
        // The edit lands after the load and before the watcher's first look.
        let mut c = cassette::Cassette::load(&path).unwrap();
        c.interactions.truncate(1);
        c.save(&path).unwrap();
        let watcher = spawn_watcher(replayer.clone(), Duration::from_millis(20));
        let mut now = loaded;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            now = replayer.library().entries.len();
            if now != loaded {
                break;
            }
        }
        watcher.abort();
        assert_eq!((loaded > 1, now), (true, 1), "the watcher reloaded the edited cassette");
    }

    #[test]
    fn answers_read_back_from_the_file_are_the_answers_held_in_memory() {
        let paths: Vec<PathBuf> =
            ["boto3-walk.json", "boto3-errors.json", "rust-sdk-cbor.json"].into_iter().map(golden).collect();
        let held = Library::load(&paths, None, RESIDENT_ANSWERS_DEFAULT).unwrap();
        let read_back = Library::load(&paths, None, 0).unwrap();
        assert_eq!(held.residency().1, 0);
        let ok = held.entries.iter().filter(|e| e.json.status.is_success()).count();
        assert!(ok > 5);
        assert_eq!(read_back.residency(), (held.entries.len() - ok, ok), "only 2xx answers leave memory");
        for idx in 0..held.entries.len() {
            for p in Protocol::ALL {
                let (a, b) = (held.response(idx, p, "rid"), read_back.response(idx, p, "rid"));
                assert_eq!((a.status(), a.headers(), a.body()), (b.status(), b.headers(), b.body()), "{idx} {p:?}");
            }
        }
        // A budget between the two keeps some answers and reads the rest back.
        let total: usize = held
            .entries
            .iter()
            .filter_map(|e| match &e.json.body {
                Body::Resident(b) if e.json.status.is_success() => Some(b.len()),
                _ => None,
            })
            .sum();
        let (kept, in_file) = Library::load(&paths, None, total / 2).unwrap().residency();
        assert!(in_file > 0 && in_file < ok && kept + in_file == held.entries.len(), "{kept} {in_file}");
    }

    #[test]
    fn match_keys_do_not_depend_on_where_the_matchers_are_written() {
        // Canonical cassettes name their matchers before the interactions, and keys are built while they
        // stream past; a hand-edited cassette naming them after gets the same keys, built afterwards.
        let dir = util::scratch_dir("matchers-last").unwrap();
        let mut doc: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(golden("boto3-filters.json")).unwrap()).unwrap();
        assert_eq!(
            cassette::peek_match_rules(&golden("boto3-filters.json")),
            Some(vec!["operation".into(), "body".into()])
        );
        let rules = doc.remove("match_rules").unwrap();
        doc.insert("match_rules".into(), rules);
        let last = dir.join("last.json");
        std::fs::write(&last, serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(cassette::peek_match_rules(&last), None);
        let (a, b) = (
            Library::load(&[golden("boto3-filters.json")], None, 0).unwrap(),
            Library::load(&[last], None, 0).unwrap(),
        );
        assert!(a.by_rules[0].1.len() > 3);
        assert_eq!(a.by_rules, b.by_rules);
        assert_eq!(a.groups, b.groups);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_recorded_number_no_document_can_hold_is_a_load_error_naming_it() {
        // 1e400 is valid JSON text but no f64: a 2xx answer fails its type check, an error body its parse.
        let dir = util::scratch_dir("huge-number").unwrap();
        let text = std::fs::read_to_string(golden("boto3-errors.json")).unwrap();
        for (status, needle) in [("400", "\"__type\""), ("200", "\"__type\"")] {
            let mut doc: Value = serde_json::from_str(&text).unwrap();
            let it = &mut doc["interactions"][0];
            it["response"]["status"] = serde_json::from_str(status).unwrap();
            it["response"]["body"] = serde_json::json!({"NextToken": "t", "__type": "X"});
            let huge = serde_json::to_string_pretty(&doc).unwrap().replacen(needle, "\"Big\": 1e400, \"__type\"", 1);
            let path = dir.join(format!("huge-{status}.json"));
            std::fs::write(&path, huge).unwrap();
            let err = format!("{:#}", Library::load(std::slice::from_ref(&path), None, 0).unwrap_err());
            assert!(err.contains("huge-") && err.contains("interactions[0]"), "{status}: {err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_empty_directory_is_named_in_the_error() {
        let dir = util::scratch_dir("no-cassettes").unwrap();
        let err = Library::load(std::slice::from_ref(&dir), None, 0).unwrap_err().to_string();
        assert!(err.contains("no cassettes found") && err.contains("no-cassettes"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_cassette_changed_in_place_after_loading_answers_an_error_that_says_so() {
        let dir = util::scratch_dir("changed-in-place").unwrap();
        let path = dir.join("walk.json");
        let text = std::fs::read_to_string(golden("boto3-walk.json")).unwrap();
        std::fs::write(&path, &text).unwrap();
        let lib = Library::load(std::slice::from_ref(&path), None, 0).unwrap();
        assert_eq!(lib.response(0, Protocol::AwsJson11, "rid").status(), 200);
        // Same length, same inode, one job id changed: what an in-place editor save might do.
        let changed = text.replacen("\"JobId\": \"", "\"JobId\": \"X", 1).replacen("\n", "", 1);
        assert_eq!(changed.len(), text.len());
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(changed.as_bytes()).unwrap();
        for p in Protocol::ALL {
            let resp = lib.response(0, p, "rid");
            assert_eq!(resp.status(), 500, "{p:?}");
            let Ok(protocol::Reply::Error(e)) = protocol::parse_reply(p, 500, resp.body()) else { panic!() };
            assert_eq!(e.code, "InternalServerException");
            assert!(e.message.contains("walk.json' interaction 0") && e.message.contains("changed on disk"), "{e:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn faults_are_deterministic_by_seed_and_near_their_rates() {
        let f = Faults::parse("throttle=0.05,internal=0.01").unwrap();
        let draw = |seed| (0..20_000).map(|n| f.draw(seed, n).map(|e| e.status)).collect::<Vec<_>>();
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let throttled = a.iter().filter(|s| **s == Some(429)).count() as f64 / 20_000.0;
        let internal = a.iter().filter(|s| **s == Some(500)).count() as f64 / 20_000.0;
        assert!((0.04..0.06).contains(&throttled), "{throttled}");
        assert!((0.005..0.015).contains(&internal), "{internal}");
        for bad in ["throttle", "throttle=2", "slow=0.1", "throttle=0.7,internal=0.5"] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Latency::parse("25"), Ok(Latency::Fixed(Duration::from_millis(25))));
        assert!(Latency::parse("fast").unwrap_err().contains("milliseconds"));
    }
}
