//! The [`Library`]: the loaded cassettes, each interaction an [`Recorded`] ready to answer in either protocol,
//! indexed by match key. Identical requests recorded several times form a group, in recorded order.
//!
//! Sized by what it must remember: an entry is a few dozen bytes (its request's compact JSON in one shared
//! arena, its answer held or left in the cassette file), a match key is 128 bits, and the groups are two
//! arrays. A 1,000,000-interaction cassette is held in some 160 MB. JSON 1.1 answers are made compact at load
//! and CBOR ones on first use, so answering a held answer is a lookup and a reference-count bump; past a memory
//! budget, answers are read back from the cassette file (see [`super::answers`]).

use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::answers;
use super::encode::respond;
use crate::cassette::CassetteError;
use crate::cassette::{self, LoadError};
use crate::matching::{self, Matcher};
use crate::model::{Operation, ServiceError};
use crate::protocol::RequestId;
use crate::protocol::{self, Protocol};

/// One recorded interaction, ready to answer.
#[derive(Debug)]
pub struct Recorded {
    /// Which cassette of the library (an index into [`Library::paths`]).
    pub cassette: u32,
    /// Its position in that cassette.
    pub index: u32,
    /// The protocol it was recorded over.
    pub protocol: Protocol,
    /// The operation it called.
    pub operation: Operation,
    /// How long the upstream took, as recorded, in milliseconds.
    elapsed_ms: u32,
    /// Its input document as compact JSON, at `start` in the library's request arena, `len` bytes: parsed
    /// again only to explain a miss.
    request: (usize, u32),
    answer: Stored,
}

/// Where an entry's answer is.
#[derive(Debug)]
enum Stored {
    /// A 2xx whose recorded JSON text is in the cassette file.
    InFile(InFile),
    /// Held in memory: an index into [`Library::held`].
    Held(u32),
}

/// Where in its cassette file an answer's recorded JSON text is: at `offset`, `len` bytes, with its checksum
/// and status.
#[derive(Clone, Copy, Debug)]
struct InFile {
    offset: u64,
    len: u32,
    sum: u64,
    status: u16,
}

/// An answer held in memory: status, the JSON 1.1 body, and `x-amzn-ErrorType` for errors.
#[derive(Debug)]
struct Held {
    status: StatusCode,
    body: Bytes,
    error_type: Option<HeaderValue>,
    /// For an answer that was not the protocol's (kept verbatim): its content type. It is served as recorded,
    /// whatever the caller speaks.
    verbatim: Option<HeaderValue>,
    /// The body for RPC v2 CBOR callers, made from `body` the first time one needs it.
    cbor: OnceLock<Bytes>,
}

impl Held {
    fn of(resp: Response<Bytes>) -> Held {
        let error_type = resp.headers().get(protocol::ERROR_TYPE_HEADER).cloned();
        Held { status: resp.status(), body: resp.body().clone(), error_type, verbatim: None, cbor: OnceLock::new() }
    }
}

/// The CBOR body with the same content as a JSON 1.1 answer whose body text is `json`.
fn cbor_body(status: StatusCode, error_type: Option<&HeaderValue>, json: &[u8]) -> Bytes {
    let recorded = cassette::RecordedResponse {
        status: status.as_u16(),
        headers: error_type
            .iter()
            .filter_map(|v| Some(("x-amzn-errortype".to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: serde_json::from_slice(json).unwrap_or(Value::Null),
        encoding: None,
    };
    respond(Protocol::RpcV2Cbor, &recorded, &crate::protocol::request_id()).into_body()
}

/// A request's match key: the canonical text [`matching::request_key`] builds, hashed to 128 bits with two
/// SipHash keys drawn when the process starts. Two different requests share a key with a chance of about
/// n²/2¹²⁹ for n recorded ones (10⁻²⁶ for a million), and nobody can aim for it without the keys; in exchange a
/// million keys take 24 bytes each instead of the text's hundred and more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key(u64, u64);

impl Key {
    fn of(text: &str) -> Key {
        static SEEDS: OnceLock<(RandomState, RandomState)> = OnceLock::new();
        let (a, b) = SEEDS.get_or_init(|| (RandomState::new(), RandomState::new()));
        Key(a.hash_one(text), b.hash_one(text))
    }

    fn of_request(rules: &[Matcher], protocol: Protocol, operation: Operation, input: &Value) -> Key {
        Key::of(&matching::request_key(rules, protocol, operation.name(), input))
    }
}

/// The keys of one matcher set, sorted: the group of the key at position `i` is `first + i`. Sixteen bytes a
/// key, found by interpolation (the keys are uniform hashes: two or three probes for a million of them).
#[derive(Debug, Default, PartialEq)]
pub(super) struct KeyIndex {
    keys: Vec<Key>,
    first: u32,
}

impl KeyIndex {
    fn get(&self, key: &Key) -> Option<u32> {
        let keys = &self.keys;
        let (mut lo, mut hi) = (0usize, keys.len());
        // Interpolate while the range is wide, then halve: a few probes in all, whatever the keys.
        for _ in 0..4 {
            if hi - lo <= 16 {
                break;
            }
            let (a, b) = (keys[lo].0, keys[hi - 1].0);
            if key.0 < a || key.0 > b {
                return None;
            }
            let span = (b - a).max(1);
            let at = lo + ((u128::from(key.0 - a) * (hi - lo - 1) as u128) / u128::from(span)) as usize;
            match keys[at].cmp(key) {
                std::cmp::Ordering::Equal => return Some(self.first + at as u32),
                std::cmp::Ordering::Less => lo = at + 1,
                std::cmp::Ordering::Greater => hi = at,
            }
        }
        let at = lo + keys[lo..hi].binary_search(key).ok()?;
        Some(self.first + at as u32)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

/// The loaded cassettes and their index.
#[derive(Debug)]
pub struct Library {
    /// The cassette files, in the order given (directories expanded).
    pub paths: Vec<PathBuf>,
    /// The cassette files, open, for answers read back from them.
    files: Vec<std::fs::File>,
    /// Every interaction, cassette after cassette.
    entries: Vec<Recorded>,
    /// How many of them call each operation (`Operation as usize`).
    calls: [usize; Operation::ALL.len()],
    /// The entries' request documents, compact JSON one after another.
    requests: String,
    /// The answers held in memory.
    held: Vec<Held>,
    /// The distinct matcher sets in use, each with its key → group.
    pub(super) by_rules: Vec<(Vec<Matcher>, KeyIndex)>,
    /// Per cassette, which of `by_rules` it is matched by.
    rules_of: Vec<usize>,
    /// Per cassette, the upstream and region it was recorded from.
    origins: Vec<(String, String)>,
    /// The entries of group `g`, in recorded order, are `members[starts[g]..starts[g + 1]]`.
    starts: Vec<u32>,
    members: Vec<u32>,
    /// The cassettes' file stamps, taken before reading them: `--watch` reloads when they change, so an
    /// edit made while the files were being read is not missed.
    stamps: Vec<Option<FileStamp>>,
}

/// What loading one interaction's answer needs: the budget of bytes still to hold, and scratch space.
struct Holding<'a> {
    budget: usize,
    compact: Vec<u8>,
    held: &'a mut Vec<Held>,
}

impl Holding<'_> {
    fn hold(&mut self, held: Held) -> Stored {
        self.held.push(held);
        Stored::Held((self.held.len() - 1) as u32)
    }

    /// Where the answer to a recorded response whose body is at `offset` in its cassette file goes: a plain
    /// 2xx body made compact and held while the budget lasts, else left in the file; an error rebuilt in the
    /// protocol's shape and held; an answer kept verbatim held as recorded.
    fn store(&mut self, resp: &cassette::StreamedResponse<'_>, offset: u64) -> Stored {
        let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
        if resp.encoding.is_some_and(|e| e.format.is_verbatim()) {
            let doc: Value = serde_json::from_str(resp.body.get()).unwrap_or(Value::Null);
            let bytes = cassette::verbatim_bytes(resp.encoding, &doc).unwrap_or_default();
            let content_type = resp.headers.get("content-type").and_then(|v| HeaderValue::from_str(v).ok());
            let verbatim = Some(content_type.unwrap_or(HeaderValue::from_static("application/octet-stream")));
            let body = Bytes::from(bytes);
            return self.hold(Held { status, body, error_type: None, verbatim, cbor: OnceLock::new() });
        }
        if !(200..300).contains(&resp.status) {
            return self.hold(Held::of(respond(
                Protocol::AwsJson11,
                &resp.to_recorded(),
                &crate::protocol::request_id(),
            )));
        }
        let raw = resp.body.get().as_bytes();
        let error_type = resp.headers.get("x-amzn-errortype").and_then(|v| HeaderValue::from_str(v).ok());
        match u32::try_from(raw.len()) {
            Ok(len) if raw.len() > self.budget && error_type.is_none() => {
                Stored::InFile(InFile { offset, len, sum: answers::checksum(raw), status: resp.status })
            }
            _ => {
                self.compact.clear();
                crate::doc::text::minify(raw, &mut self.compact);
                self.budget = self.budget.saturating_sub(self.compact.len());
                let body = Bytes::copy_from_slice(&self.compact);
                self.hold(Held { status, body, error_type, verbatim: None, cbor: OnceLock::new() })
            }
        }
    }
}

impl Library {
    /// Loads cassettes (files or directories) with the given matcher override, holding up to `resident` bytes
    /// of JSON answers in memory.
    pub fn load(paths: &[PathBuf], match_on: Option<&[Matcher]>, resident: usize) -> Result<Library, CassetteError> {
        let given = paths;
        let paths = cassette::expand_paths(given)?;
        if paths.is_empty() {
            return Err(CassetteError::invalid(format!("no cassettes found in {given:?} (expected *.json files)")));
        }
        let stamps = paths.iter().map(|p| FileStamp::of(p)).collect();
        let mut entries = Vec::new();
        let mut requests = String::new();
        let mut held = Vec::new();
        let mut files = Vec::new();
        let mut by_rules: Vec<(Vec<Matcher>, KeyIndex)> = Vec::new();
        let mut rules_of = Vec::new();
        let mut origins = Vec::new();
        // Per matcher set, each entry's key beside the entry.
        let mut keyed: Vec<Vec<(Key, u32)>> = Vec::new();
        let mut holding = Holding { budget: resident, compact: Vec::new(), held: &mut held };
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
                let answer = holding.store(&it.response, offset);
                if let Some(rules) = &early_rules {
                    keys.push(Key::of_request(rules, it.request.protocol, it.request.operation, &it.request.body));
                }
                let start = requests.len();
                requests.push_str(&it.request.body.to_string());
                entries.push(Recorded {
                    cassette: ci as u32,
                    index: index as u32,
                    protocol: it.request.protocol,
                    operation: it.request.operation,
                    elapsed_ms: u32::try_from(it.elapsed_ms.unwrap_or(0)).unwrap_or(u32::MAX),
                    request: (start, (requests.len() - start) as u32),
                    answer,
                });
                Ok(())
            })?;
            files.push(file);
            origins.push((header.upstream.clone(), header.region.clone()));
            let rules = match match_on {
                Some(r) => r.to_vec(),
                None => matching::parse_rules(&header.match_rules).map_err(|e| {
                    LoadError::at_field(crate::doc::JsonPath::root().key("match_rules"), e.to_string()).in_file(path)
                })?,
            };
            if early_rules.as_ref() != Some(&rules) {
                keys = entries[first..]
                    .iter()
                    .map(|e| {
                        let body: Value = serde_json::from_str(request_text(&requests, e)).unwrap_or(Value::Null);
                        Key::of_request(&rules, e.protocol, e.operation, &body)
                    })
                    .collect();
            }
            let slot = match by_rules.iter().position(|(r, _)| *r == rules) {
                Some(i) => i,
                None => {
                    by_rules.push((rules.clone(), KeyIndex::default()));
                    keyed.push(Vec::new());
                    by_rules.len() - 1
                }
            };
            rules_of.push(slot);
            keyed[slot].extend(keys.into_iter().zip(first as u32..));
        }
        // Groups: per matcher set, the distinct keys in order; each group's entries side by side, in recorded
        // order.
        let mut starts = vec![0u32];
        let mut members = Vec::with_capacity(entries.len());
        for ((_, index), mut pairs) in by_rules.iter_mut().zip(keyed) {
            pairs.sort_unstable();
            index.first = (starts.len() - 1) as u32;
            for (n, (key, entry)) in pairs.iter().enumerate() {
                if n > 0 && pairs[n - 1].0 != *key {
                    starts.push(members.len() as u32);
                }
                if n == 0 || pairs[n - 1].0 != *key {
                    index.keys.push(*key);
                }
                members.push(*entry);
            }
            if !pairs.is_empty() {
                starts.push(members.len() as u32);
            }
            index.keys.shrink_to_fit();
        }
        entries.shrink_to_fit();
        requests.shrink_to_fit();
        held.shrink_to_fit();
        let mut calls = [0; Operation::ALL.len()];
        for e in &entries {
            calls[e.operation as usize] += 1;
        }
        Ok(Library {
            paths,
            files,
            entries,
            calls,
            requests,
            held,
            by_rules,
            rules_of,
            origins,
            starts,
            members,
            stamps,
        })
    }

    /// How many interactions call `operation`.
    pub fn calls_of(&self, operation: Operation) -> usize {
        self.calls[operation as usize]
    }

    /// How many interactions it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every interaction, cassette after cassette.
    pub fn entries(&self) -> &[Recorded] {
        &self.entries
    }

    /// The recorded input document of `entry`, as compact JSON.
    pub fn request_text(&self, entry: &Recorded) -> &str {
        request_text(&self.requests, entry)
    }

    /// The latency recorded with entry `idx`.
    pub fn elapsed(&self, idx: usize) -> Duration {
        Duration::from_millis(self.entries[idx].elapsed_ms.into())
    }

    /// `(cassette path, position there)` of entry `idx`.
    pub fn place(&self, idx: usize) -> (&Path, usize) {
        let e = &self.entries[idx];
        (&self.paths[e.cassette as usize], e.index as usize)
    }

    /// How many groups of identical requests it holds.
    pub(super) fn groups(&self) -> usize {
        self.starts.len() - 1
    }

    /// The entries of group `g`, in recorded order.
    pub(super) fn group_members(&self, g: usize) -> &[u32] {
        &self.members[self.starts[g] as usize..self.starts[g + 1] as usize]
    }

    /// How many JSON answers are held in memory, and how many are read back from cassette files.
    pub fn residency(&self) -> (usize, usize) {
        let resident = self.entries.iter().filter(|e| matches!(e.answer, Stored::Held(_))).count();
        (resident, self.entries.len() - resident)
    }

    /// Whether interaction `idx`'s answer is held in memory (else it is read back from its cassette file).
    pub(super) fn holds(&self, idx: usize) -> bool {
        matches!(self.entries[idx].answer, Stored::Held(_))
    }

    /// Recorded `idx`'s answer, encoded for a caller speaking `p`.
    pub fn response(&self, idx: usize, p: Protocol, request_id: &RequestId) -> Response<Bytes> {
        self.response_in(HeaderMap::new(), idx, p, request_id)
    }

    /// [`Library::response`] with its headers in `headers`, cleared first (see [`protocol::output_response_in`]).
    pub fn response_in(&self, headers: HeaderMap, idx: usize, p: Protocol, request_id: &RequestId) -> Response<Bytes> {
        let e = &self.entries[idx];
        let (status, body, error_type) = match e.answer {
            Stored::Held(h) => {
                let h = &self.held[h as usize];
                if let Some(content_type) = &h.verbatim {
                    let mut headers = headers;
                    headers.clear();
                    headers.insert(http::header::CONTENT_TYPE, content_type.clone());
                    let mut resp = Response::new(h.body.clone());
                    *resp.status_mut() = h.status;
                    *resp.headers_mut() = headers;
                    return resp;
                }
                let body = match p {
                    Protocol::AwsJson11 => h.body.clone(),
                    Protocol::RpcV2Cbor => {
                        h.cbor.get_or_init(|| cbor_body(h.status, h.error_type.as_ref(), &h.body)).clone()
                    }
                };
                (h.status, body, h.error_type.as_ref())
            }
            Stored::InFile(place) => match self.read_answer(e, place, p) {
                Ok((status, body)) => (status, body, None),
                Err(error) => return protocol::error_response(p, &error, request_id),
            },
        };
        let mut resp = protocol::output_response_in(headers, p, body, request_id);
        *resp.status_mut() = status;
        if let Some(v) = error_type {
            resp.headers_mut().insert(protocol::ERROR_TYPE_HEADER, v.clone());
        }
        resp
    }

    /// The status and body of an answer kept in its cassette file (past the resident budget), read back and
    /// checked; the error to answer when the file changed since it was loaded. Apart from
    /// [`Library::response_in`] so that an answer held in memory runs through a short function.
    #[inline(never)]
    fn read_answer(&self, e: &Recorded, place: InFile, p: Protocol) -> Result<(StatusCode, Bytes), ServiceError> {
        let InFile { offset, len, sum, status } = place;
        let raw = match answers::read_back(&self.files[e.cassette as usize], offset, len as usize, sum) {
            Ok(raw) => raw,
            Err(why) => {
                let message = format!(
                    "snomed-vcr cannot answer from '{}' interaction {}: {why}. The cassette changed on disk since \
                     it was loaded; restart replay, or run it with --watch.",
                    self.paths[e.cassette as usize].display(),
                    e.index
                );
                eprintln!("replay: {message}");
                return Err(ServiceError::internal(message));
            }
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let body = match p {
            Protocol::AwsJson11 => {
                let mut compact = Vec::with_capacity(raw.len());
                crate::doc::text::minify(&raw, &mut compact);
                Bytes::from(compact)
            }
            Protocol::RpcV2Cbor => cbor_body(status, None, &raw),
        };
        Ok((status, body))
    }

    /// The group of recorded answers for a request (see `groups`).
    pub(super) fn group(&self, protocol: Protocol, operation: Operation, input: &Value) -> Option<usize> {
        self.by_rules.iter().find_map(|(rules, index)| {
            index.get(&Key::of_request(rules, protocol, operation, input)).map(|g| g as usize)
        })
    }

    /// Whether any interaction has a recorded duration (`--reproducible` recordings have none).
    pub fn has_timings(&self) -> bool {
        self.entries.iter().any(|e| e.elapsed_ms > 0)
    }

    /// The upstream and region cassette `cassette` (an index into [`Library::paths`]) was recorded from.
    pub fn origin_of(&self, cassette: usize) -> (&str, &str) {
        let (upstream, region) = &self.origins[cassette];
        (upstream, region)
    }

    /// The matchers cassette `cassette` (an index into [`Library::paths`]) is matched by.
    pub fn rules_of(&self, cassette: usize) -> &[Matcher] {
        &self.by_rules[self.rules_of[cassette]].0
    }

    /// The cassettes' file stamps, taken before they were read.
    pub fn stamps(&self) -> &[Option<FileStamp>] {
        &self.stamps
    }
}

fn request_text<'a>(requests: &'a str, e: &Recorded) -> &'a str {
    &requests[e.request.0..e.request.0 + e.request.1 as usize]
}

/// What the watcher compares to see that a cassette changed: modification time, length and, on Unix, the
/// inode. The time alone misses a save that lands in the same clock tick of the file system as the version
/// loaded (its timestamps are coarser than their nanosecond field suggests), which a quick edit does; a save by
/// renaming (editors, `record`, `Cassette::save`) always brings a new inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    /// The stamp of the file at `path` now, if it exists.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp { modified: m.modified().ok(), len: m.len(), inode })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::RESIDENT_ANSWERS_DEFAULT;
    use std::io::Write;

    fn golden(name: &str) -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes")).join(name)
    }

    #[test]
    fn a_save_in_the_same_clock_tick_with_the_same_length_is_still_a_change() {
        let dir = crate::scratch::dir("replay-stamp").unwrap();
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

    #[test]
    fn answers_read_back_from_the_file_are_the_answers_held_in_memory() {
        let paths: Vec<PathBuf> =
            ["boto3-walk.json", "boto3-errors.json", "rust-sdk-cbor.json"].into_iter().map(golden).collect();
        let held = Library::load(&paths, None, RESIDENT_ANSWERS_DEFAULT).unwrap();
        let read_back = Library::load(&paths, None, 0).unwrap();
        assert_eq!(held.residency().1, 0);
        let ok = (0..held.len())
            .filter(|i| held.response(*i, Protocol::AwsJson11, &crate::protocol::request_id()).status().is_success())
            .count();
        assert!(ok > 5);
        assert_eq!(read_back.residency(), (held.len() - ok, ok), "only 2xx answers leave memory");
        for idx in 0..held.len() {
            for p in Protocol::ALL {
                let (a, b) =
                    (held.response(idx, p, &RequestId::fixed()), read_back.response(idx, p, &RequestId::fixed()));
                assert_eq!((a.status(), a.headers(), a.body()), (b.status(), b.headers(), b.body()), "{idx} {p:?}");
            }
        }
        // A budget between the two keeps some answers and reads the rest back.
        let total: usize = (0..held.len())
            .map(|i| held.response(i, Protocol::AwsJson11, &RequestId::fixed()))
            .filter(|r| r.status().is_success())
            .map(|r| r.body().len())
            .sum();
        let (kept, in_file) = Library::load(&paths, None, total / 2).unwrap().residency();
        assert!(in_file > 0 && in_file < ok && kept + in_file == held.len(), "{kept} {in_file}");
    }

    #[test]
    fn every_key_is_found_at_its_group_and_no_other_key_is() {
        for n in [0usize, 1, 2, 17, 1000, 100_000] {
            let mut keys: Vec<Key> = (0..n).map(|i| Key::of(&format!("k{i}"))).collect();
            keys.sort_unstable();
            let index = KeyIndex { keys: keys.clone(), first: 7 };
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(index.get(k), Some(7 + i as u32), "{n}: key {i}");
            }
            for i in 0..1000 {
                let other = Key::of(&format!("other{i}"));
                assert_eq!(index.get(&other), None, "{n}");
                // Same first word, other second word: still not found.
                assert_eq!(keys.first().and_then(|k| index.get(&Key(k.0, k.1 ^ 1))), None);
            }
        }
        // The extremes of the hash space.
        let index = KeyIndex { keys: vec![Key(0, 0), Key(0, 5), Key(u64::MAX, 0), Key(u64::MAX, u64::MAX)], first: 0 };
        assert_eq!(index.get(&Key(u64::MAX, u64::MAX)), Some(3));
        assert_eq!(index.get(&Key(0, 5)), Some(1));
        assert_eq!(index.get(&Key(1, 0)), None);
    }

    #[test]
    fn match_keys_do_not_depend_on_where_the_matchers_are_written() {
        // Canonical cassettes name their matchers before the interactions, and keys are built while they
        // stream past; a hand-edited cassette naming them after gets the same keys, built afterwards.
        let dir = crate::scratch::dir("matchers-last").unwrap();
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
        assert!(a.by_rules[0].1.keys.len() > 3);
        assert_eq!(a.by_rules, b.by_rules);
        assert_eq!((&a.starts, &a.members), (&b.starts, &b.members));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_recorded_number_no_document_can_hold_is_a_load_error_naming_it() {
        // 1e400 is valid JSON text but no f64: a 2xx answer fails its type check, an error body its parse.
        let dir = crate::scratch::dir("huge-number").unwrap();
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
        let dir = crate::scratch::dir("no-cassettes").unwrap();
        let err = Library::load(std::slice::from_ref(&dir), None, 0).unwrap_err().to_string();
        assert!(err.contains("no cassettes found") && err.contains("no-cassettes"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_cassette_changed_in_place_after_loading_answers_an_error_that_says_so() {
        let dir = crate::scratch::dir("changed-in-place").unwrap();
        let path = dir.join("walk.json");
        let text = std::fs::read_to_string(golden("boto3-walk.json")).unwrap();
        std::fs::write(&path, &text).unwrap();
        let lib = Library::load(std::slice::from_ref(&path), None, 0).unwrap();
        assert_eq!(lib.response(0, Protocol::AwsJson11, &RequestId::fixed()).status(), 200);
        // Same length, same inode, one job id changed: what an in-place editor save might do.
        let changed = text.replacen("\"JobId\": \"", "\"JobId\": \"X", 1).replacen("\n", "", 1);
        assert_eq!(changed.len(), text.len());
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(changed.as_bytes()).unwrap();
        for p in Protocol::ALL {
            let resp = lib.response(0, p, &RequestId::fixed());
            assert_eq!(resp.status(), 500, "{p:?}");
            let Ok(protocol::Reply::Error(e)) = protocol::parse_reply(p, 500, resp.body()) else { panic!() };
            assert_eq!(e.code, "InternalServerException");
            assert!(e.message.contains("walk.json' interaction 0") && e.message.contains("changed on disk"), "{e:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
