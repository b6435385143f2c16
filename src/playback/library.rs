//! The [`Library`]: the loaded cassettes, each interaction an [`Entry`] ready to answer in either protocol,
//! indexed by match key. Identical requests recorded several times form a group, in recorded order.
//!
//! JSON 1.1 answers are made compact at load and CBOR ones on first use, so answering is a lookup and a
//! reference-count bump; past a memory budget, answers are read back from the cassette file (see
//! [`super::answers`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use super::answers::{self, Body};
use super::encode::respond;
use crate::cassette::{self, LoadError};
use crate::matching::{self, Rule};
use crate::model::{self, ServiceError};
use crate::protocol::{self, Protocol};

/// One recorded interaction, ready to answer.
#[derive(Debug)]
pub struct Entry {
    /// Which cassette of the library (an index into [`Library::paths`]).
    pub cassette: usize,
    /// Its position in that cassette.
    pub index: usize,
    /// The recorded input document as compact JSON: parsed again only to explain a miss.
    pub body: Box<str>,
    /// The protocol it was recorded over.
    pub protocol: Protocol,
    /// How long the upstream took, as recorded.
    pub elapsed: Duration,
    /// The answer for JSON 1.1 callers, made at load.
    json: Answer,
    /// The body for RPC v2 CBOR callers (status and error type are `json`'s), made from `json` the first time
    /// a CBOR caller needs it; kept only when `json` is resident.
    cbor: OnceLock<Bytes>,
}

/// An answer: status, body, and `x-amzn-ErrorType` for errors.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Body,
    error_type: Option<HeaderValue>,
    /// For an answer that was not the protocol's (kept verbatim): its content type. It is served as recorded,
    /// whatever the caller speaks.
    verbatim: Option<HeaderValue>,
}

impl Answer {
    fn of(resp: Response<Bytes>) -> Answer {
        let error_type = resp.headers().get(protocol::ERROR_TYPE_HEADER).cloned();
        Answer { status: resp.status(), body: Body::Resident(resp.body().clone()), error_type, verbatim: None }
    }

    /// The JSON 1.1 answer to a recorded response whose body is at `offset` in its cassette file: a 2xx body
    /// made compact and held while `budget` (bytes) lasts, else left in the file; an error rebuilt in the
    /// protocol's shape and held. `compact` is scratch space.
    fn load(resp: &cassette::StreamedResponse<'_>, offset: u64, budget: &mut usize, compact: &mut Vec<u8>) -> Answer {
        let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
        if resp.encoding.is_some_and(|e| e.format.is_verbatim()) {
            let doc: Value = serde_json::from_str(resp.body.get()).unwrap_or(Value::Null);
            let bytes = cassette::verbatim_bytes(resp.encoding, &doc).unwrap_or_default();
            let content_type = resp.headers.get("content-type").and_then(|v| HeaderValue::from_str(v).ok());
            let verbatim = Some(content_type.unwrap_or(HeaderValue::from_static("application/octet-stream")));
            return Answer { status, body: Body::Resident(Bytes::from(bytes)), error_type: None, verbatim };
        }
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
        Answer { status, body, error_type, verbatim: None }
    }

    /// The CBOR body with the same content as this JSON 1.1 answer, whose body text is `json`.
    fn to_cbor(&self, json: &[u8]) -> Bytes {
        let recorded = cassette::RecordedResponse {
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
    /// The cassette files, in the order given (directories expanded).
    pub paths: Vec<PathBuf>,
    /// The cassette files, open, for answers read back from them.
    files: Vec<std::fs::File>,
    /// Every interaction, cassette after cassette.
    pub entries: Vec<Entry>,
    /// The distinct matcher sets in use, each with its key → group.
    pub(super) by_rules: Vec<(Vec<Rule>, HashMap<String, usize>)>,
    /// Per cassette, which of `by_rules` it is matched by.
    rules_of: Vec<usize>,
    /// Groups of entries answering the same request, in recorded order.
    pub(super) groups: Vec<Vec<usize>>,
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
        let mut rules_of = Vec::new();
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
                    cbor: OnceLock::new(),
                    body: it.request.body.to_string().into_boxed_str(),
                    protocol: it.request.protocol,
                    elapsed: Duration::from_millis(it.elapsed_ms.unwrap_or(0)),
                });
                Ok(())
            })?;
            files.push(file);
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
            rules_of.push(slot);
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
        Ok(Library { paths, files, entries, by_rules, rules_of, groups, stamps })
    }

    /// How many JSON answers are held in memory, and how many are read back from cassette files.
    pub fn residency(&self) -> (usize, usize) {
        let resident = self.entries.iter().filter(|e| matches!(e.json.body, Body::Resident(_))).count();
        (resident, self.entries.len() - resident)
    }

    /// Entry `idx`'s answer, encoded for a caller speaking `p`.
    pub fn response(&self, idx: usize, p: Protocol, request_id: &str) -> Response<Bytes> {
        let e = &self.entries[idx];
        if let (Some(content_type), Body::Resident(body)) = (&e.json.verbatim, &e.json.body) {
            let mut resp = Response::new(body.clone());
            *resp.status_mut() = e.json.status;
            resp.headers_mut().insert(http::header::CONTENT_TYPE, content_type.clone());
            return resp;
        }
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
    pub(super) fn group(&self, protocol: Protocol, input: &Value) -> Option<usize> {
        self.by_rules.iter().find_map(|(rules, index)| {
            index.get(&matching::request_key(rules, protocol, model::OPERATION, input)).copied()
        })
    }

    /// The matchers cassette `cassette` (an index into [`Library::paths`]) is matched by.
    pub fn rules_of(&self, cassette: usize) -> &[Rule] {
        &self.by_rules[self.rules_of[cassette]].0
    }

    /// The cassettes' file stamps, taken before they were read.
    pub fn stamps(&self) -> &[Option<FileStamp>] {
        &self.stamps
    }
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
        let dir = crate::testing::scratch_dir("replay-stamp").unwrap();
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
        let dir = crate::testing::scratch_dir("matchers-last").unwrap();
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
        let dir = crate::testing::scratch_dir("huge-number").unwrap();
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
        let dir = crate::testing::scratch_dir("no-cassettes").unwrap();
        let err = Library::load(std::slice::from_ref(&dir), None, 0).unwrap_err().to_string();
        assert!(err.contains("no cassettes found") && err.contains("no-cassettes"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_cassette_changed_in_place_after_loading_answers_an_error_that_says_so() {
        let dir = crate::testing::scratch_dir("changed-in-place").unwrap();
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
}
