//! The cassette file format: what a recording holds, loading it with precise errors, and saving it
//! canonically and atomically.
//!
//! | file | holds |
//! |---|---|
//! | this one | the format's types, loading and checking a whole cassette, canonical text |
//! | `error` | [`LoadError`]: file, line and column, or field |
//! | `stream` | reading a cassette one interaction at a time, bodies left as text ([`stream()`]) |
//! | `chains` | [`Cassette::chains`]: the pagination chains a recording holds |
//! | [`store`] | where recordings go: atomic writes, `NAME.json.new` and journal paths, folding a journal in |
//! | [`journal`] | the journal a recording is written to as it happens: its line format, writer and reader |
//! | [`redact`] | what never reaches a file, and placeholders for account and key ids |
//! | [`lint`] | checking cassettes for secrets |
//!
//! A cassette is one JSON file: a versioned header and a list of interactions. Bodies are stored as
//! JSON-equivalent documents whatever the wire protocol (a CBOR body's encoding is noted beside it), so every
//! cassette reads well in a code review and one recording can answer both protocols. The JSON Schema is
//! `cassettes/schema.json`.
//!
//! Canonical output: two-space pretty JSON, keys in a fixed order (struct order for the format's own fields,
//! sorted for documents and headers), numbers as received, one trailing newline. The same interactions always
//! give the same bytes.

mod chains;
pub mod error;
pub mod journal;
pub mod lint;
pub mod redact;
pub mod store;
mod stream;
mod window;

pub use chains::link as link_chains;
pub use error::{CassetteError, LoadError, Location};
pub use store::{Saved, pending_path, write_atomically};
pub use stream::{StreamedInteraction, StreamedResponse, peek_match_rules, read_each, read_header, stream};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use error::Doing;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::doc::JsonPath;
use crate::model;
use crate::protocol::Protocol;

/// The `format` field of every cassette.
pub const FORMAT: &str = "snomed-vcr/cassette";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// A whole cassette.
///
/// ```
/// use snomed_vcr::Cassette;
///
/// let cassette = Cassette::load(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json").as_ref()).unwrap();
/// assert!(!cassette.interactions.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`VERSION`].
    pub version: u32,
    /// `snomed-vcr <version>`.
    pub recorded_with: String,
    /// Always `ListSNOMEDCTInferenceJobs`: the operation of every interaction whose request names no other
    /// (each interaction of a sibling operation says which in `request.operation`).
    pub operation: String,
    /// The upstream base URL the traffic went to.
    pub upstream: String,
    /// The region requests were signed for.
    pub region: String,
    /// The matchers replay uses for this cassette (see the `matching` module).
    pub match_rules: Vec<String>,
    /// What the recording kept that redaction replaces by default: `["accounts"]` after `record --keep
    /// accounts`. Absent (empty) in every other cassette, so older cassettes read and re-record unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// The recorded exchanges, in recording order.
    pub interactions: Vec<Interaction>,
}

/// One request and the response it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// Position in recording order, from 0, without gaps.
    pub seq: u64,
    /// When the response arrived (RFC 3339, UTC). Absent in reproducible recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Milliseconds from forwarding the request to the whole response. Absent in reproducible recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// What the client sent.
    pub request: RecordedRequest,
    /// What came back.
    pub response: RecordedResponse,
}

/// A request as stored: redacted, with its body as a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// `POST`.
    pub method: String,
    /// The request path (`/`, or `/service/…/operation/…`).
    pub path: String,
    /// The wire protocol it spoke.
    pub protocol: Protocol,
    /// The operation it called; absent for `ListSNOMEDCTInferenceJobs` (the cassette header's `operation`), so
    /// cassettes of that operation alone read and re-record as they always did. Agrees with the path (RPC v2)
    /// and the `x-amz-target` header (JSON 1.1) where those name one.
    #[serde(default, skip_serializing_if = "is_default_operation")]
    pub operation: model::Operation,
    /// Kept headers, lower-case names (see `redact`).
    pub headers: BTreeMap<String, String>,
    /// The input document, redacted.
    pub body: Value,
    /// How a CBOR body was encoded, where the document does not show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

fn is_default_operation(op: &model::Operation) -> bool {
    *op == model::Operation::default()
}

/// A response as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// Kept headers, lower-case names (see `redact`).
    pub headers: BTreeMap<String, String>,
    /// The output or error document, redacted (a body that is no document is kept as a string).
    pub body: Value,
    /// How a CBOR body was encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

/// How a body is kept, where the document does not show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// `cbor`, `text` or `base64`.
    pub format: EncodingFormat,
    /// The body used indefinite-length items (as the Rust SDK's requests do).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub indefinite_lengths: bool,
}

/// The format of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// CBOR (RPC v2), stored as its JSON-equivalent document.
    Cbor,
    /// A response that is not the protocol's (an HTML page, JSON that is no output): its UTF-8 text,
    /// verbatim, as a string. Replay serves it unchanged.
    Text,
    /// A response that is not the protocol's and not UTF-8: its bytes in base64, as a string.
    Base64,
}

impl EncodingFormat {
    /// Whether the body is kept verbatim rather than as a document of the protocol.
    pub fn is_verbatim(self) -> bool {
        matches!(self, EncodingFormat::Text | EncodingFormat::Base64)
    }
}

impl RecordedResponse {
    /// Whether the body is kept verbatim: an answer that is not the protocol's, which replay serves
    /// unchanged and which is no page of a listing.
    pub fn is_verbatim(&self) -> bool {
        self.encoding.is_some_and(|e| e.format.is_verbatim())
    }

    /// A verbatim body's bytes.
    pub fn verbatim_bytes(&self) -> Option<Vec<u8>> {
        verbatim_bytes(self.encoding, &self.body)
    }
}

/// The bytes of a verbatim body (`text` or `base64`), if `encoding` says it is one and it decodes.
pub fn verbatim_bytes(encoding: Option<Encoding>, body: &Value) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = body.as_str()?;
    match encoding?.format {
        EncodingFormat::Text => Some(text.as_bytes().to_vec()),
        EncodingFormat::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
        EncodingFormat::Cbor => None,
    }
}

/// A response body as a cassette keeps one that is not a document of the protocol: UTF-8 as text, anything
/// else in base64.
pub fn verbatim(body: &[u8]) -> (Value, Encoding) {
    use base64::Engine;
    match std::str::from_utf8(body) {
        Ok(text) => {
            (Value::String(text.to_string()), Encoding { format: EncodingFormat::Text, indefinite_lengths: false })
        }
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            Encoding { format: EncodingFormat::Base64, indefinite_lengths: false },
        ),
    }
}

impl Cassette {
    /// An empty cassette for an upstream.
    pub fn new(upstream: &str, region: &str) -> Cassette {
        Cassette {
            format: FORMAT.to_string(),
            version: VERSION,
            recorded_with: format!("snomed-vcr {}", env!("CARGO_PKG_VERSION")),
            operation: model::OPERATION.to_string(),
            upstream: upstream.to_string(),
            region: region.to_string(),
            match_rules: crate::matching::DEFAULT_RULES.iter().map(|s| s.to_string()).collect(),
            kept: Vec::new(),
            interactions: Vec::new(),
        }
    }

    /// Loads and checks a cassette. Errors name the file, and the line and column or the field.
    pub fn load(path: &Path) -> Result<Cassette, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::of_file(path, format!("cannot read cassette '{}': {e}", path.display())))?;
        Cassette::parse(&text).map_err(|e| e.in_file(path))
    }

    /// [`Cassette::load`] on text; the error has the line and column, or the field.
    pub fn parse(text: &str) -> Result<Cassette, LoadError> {
        let c: Cassette = serde_json::from_str(text).map_err(|e| {
            let e = LoadError::from_json(&e);
            let (line, column) = (
                e.line().unwrap_or(0),
                match e.location() {
                    Location::Text { column, .. } => *column,
                    _ => 0,
                },
            );
            LoadError::at_text(
                line,
                column,
                format!("{} (expected a snomed-vcr cassette, see cassettes/schema.json)", e.message()),
            )
        })?;
        c.check()?;
        Ok(c)
    }

    /// Checks what the types cannot: format and version, the operation, sequence numbers, statuses, and
    /// that bodies are documents of the model's shapes.
    pub fn check(&self) -> Result<(), LoadError> {
        self.header().check()?;
        for (i, it) in self.interactions.iter().enumerate() {
            check_interaction(i, it)?;
        }
        Ok(())
    }

    /// The header fields, without the interactions.
    pub fn header(&self) -> Header {
        Header {
            format: self.format.clone(),
            version: self.version,
            recorded_with: self.recorded_with.clone(),
            operation: self.operation.clone(),
            upstream: self.upstream.clone(),
            region: self.region.clone(),
            match_rules: self.match_rules.clone(),
            kept: self.kept.clone(),
        }
    }

    /// The canonical text of the cassette.
    pub fn to_canonical(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).expect("cassettes serialize");
        out.push('\n');
        out
    }

    /// Writes the cassette atomically: a temporary file beside it, fsync, rename, fsync of the directory.
    pub fn save(&self, path: &Path) -> Result<(), CassetteError> {
        write_atomically(path, self.to_canonical().as_bytes())
    }
}

/// A cassette's header: everything but the interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the fields of [`Cassette`], documented there
pub struct Header {
    pub format: String,
    pub version: u32,
    pub recorded_with: String,
    pub operation: String,
    pub upstream: String,
    pub region: String,
    pub match_rules: Vec<String>,
    pub kept: Vec<String>,
}

/// What `kept` may name: account ids (`record --keep accounts`).
pub const KEEP_ACCOUNTS: &str = "accounts";

impl Header {
    /// Whether the recording kept real account ids (`record --keep accounts`).
    pub fn keeps_accounts(&self) -> bool {
        self.kept.iter().any(|k| k == KEEP_ACCOUNTS)
    }

    /// Format, version, operation and matcher names.
    pub fn check(&self) -> Result<(), LoadError> {
        let field = |name: &str, message: String| Err(LoadError::at_field(JsonPath::root().key(name), message));
        if self.format != FORMAT {
            return field("format", format!("expected \"{FORMAT}\", found \"{}\"", self.format));
        }
        if self.version != VERSION {
            return field("version", format!("this build reads version {VERSION}, found {}", self.version));
        }
        if self.operation != model::OPERATION {
            return field(
                "operation",
                format!(
                    "expected \"{}\" (the operation of interactions that name none; the others name theirs in \
                     request.operation), found \"{}\"",
                    model::OPERATION,
                    self.operation
                ),
            );
        }
        for what in &self.kept {
            if what != KEEP_ACCOUNTS {
                return field("kept", format!("unknown '{what}' (expected \"{KEEP_ACCOUNTS}\")"));
            }
        }
        for rule in &self.match_rules {
            if let Err(e) = crate::matching::Matcher::parse(rule) {
                return field("match_rules", e.to_string());
            }
        }
        Ok(())
    }
}

/// `interactions[i]`, and below it.
pub(crate) fn interaction_field(i: usize, rest: &str) -> JsonPath {
    rest.split('.').filter(|s| !s.is_empty()).fold(JsonPath::root().key("interactions").index(i), JsonPath::key)
}

/// Checks one interaction at position `i`: sequence number, status, body shapes.
pub fn check_interaction(i: usize, it: &Interaction) -> Result<(), LoadError> {
    check_head(i, it.seq, &it.request, it.response.status)?;
    if it.response.is_verbatim() {
        return check_verbatim(i, it.response.encoding, &it.response.body);
    }
    if (200..300).contains(&it.response.status) {
        model::check_types(&it.response.body, &model::RESPONSE_SHAPE)
            .map_err(|e| LoadError::at_field(interaction_field(i, "response.body"), response_mismatch(&e)))?;
    }
    Ok(())
}

/// A response body of the wrong type, in words that say it is the response's output document.
pub(crate) fn response_mismatch(e: &model::types::TypeMismatch) -> String {
    if e.path.is_root() {
        format!("expected the output document (a {}), found {}", e.expected, e.found)
    } else {
        format!("the output document: expected {} at '{}', found {}", e.expected, e.path.member_path(), e.found)
    }
}

/// A verbatim body: a string that decodes as its encoding says.
pub(crate) fn check_verbatim(i: usize, encoding: Option<Encoding>, body: &Value) -> Result<(), LoadError> {
    match verbatim_bytes(encoding, body) {
        Some(_) => Ok(()),
        None => Err(LoadError::at_field(
            interaction_field(i, "response.body"),
            format!(
                "the response is kept verbatim (encoding {:?}), so its body must be a string of that encoding, found {}",
                encoding.map(|e| e.format),
                model::json_type(body)
            ),
        )),
    }
}

/// The checks of [`check_interaction`] that do not need the response body.
fn check_head(i: usize, seq: u64, request: &RecordedRequest, status: u16) -> Result<(), LoadError> {
    let bad = |rest: &str, message: String| Err(LoadError::at_field(interaction_field(i, rest), message));
    if seq != i as u64 {
        return bad("seq", format!("expected {i} (sequence numbers count from 0 without gaps), found {seq}"));
    }
    if !(100..=599).contains(&status) {
        return bad("response.status", format!("{status} is not an HTTP status"));
    }
    if !request.body.is_object() {
        let found = model::json_type(&request.body);
        return bad("request.body", format!("expected an object (the input document), found {found}"));
    }
    let op = request.operation.name();
    if let Some((_, named)) = request.path.split_once("/operation/")
        && named != op
    {
        return bad("request.operation", format!("{op}, but the request's path calls {named}"));
    }
    if let Some(target) = request.headers.get(crate::protocol::TARGET_HEADER)
        && target.rsplit_once('.').is_some_and(|(_, named)| named != op)
    {
        return bad("request.operation", format!("{op}, but the request's x-amz-target is {target}"));
    }
    Ok(())
}

/// The files in `dir` that `keep` accepts, sorted by name.
pub fn list_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, CassetteError> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .doing(|| format!("cannot list '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file() && keep(f))
        .collect();
    found.sort();
    Ok(found)
}

/// Expands cassette arguments: files as given, directories to every `*.json` inside (sorted).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CassetteError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(list_dir(p, |f| {
                f.extension().is_some_and(|x| x == "json") && f.file_name().is_some_and(|n| n != "schema.json")
            })?);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(CassetteError::invalid(format!(
                "'{}' does not exist (expected a cassette file or a directory of them)",
                p.display()
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Cassette {
        let mut c = Cassette::new("http://127.0.0.1:1", "us-east-1");
        c.interactions.push(Interaction {
            seq: 0,
            recorded_at: None,
            elapsed_ms: None,
            request: RecordedRequest {
                operation: model::Operation::SnomedCt,
                method: "POST".into(),
                path: "/".into(),
                protocol: Protocol::AwsJson11,
                headers: BTreeMap::from([("content-type".into(), "application/x-amz-json-1.1".into())]),
                body: json!({"MaxResults": 2, "Filter": {"SubmitTimeBefore": 1704164645.678}}),
                encoding: None,
            },
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: json!({"ComprehendMedicalAsyncJobPropertiesList": [], "NextToken": "t"}),
                encoding: None,
            },
        });
        c
    }

    #[test]
    fn canonical_text_round_trips_byte_for_byte() {
        let c = sample();
        let text = c.to_canonical();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        assert!(text.contains("1704164645.678"), "numbers as received");
        let back = Cassette::parse(&text).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.to_canonical(), text);
    }

    #[test]
    fn load_errors_name_line_or_field() {
        let text = sample().to_canonical();
        let broken = text.replacen("\"seq\": 0", "\"seq\": 0,,", 1);
        let e = Cassette::parse(&broken).unwrap_err().to_string();
        let line = broken.lines().position(|l| l.contains(",,")).unwrap() + 1;
        assert!(e.starts_with(&format!("{line}:")), "{e}");

        let e = Cassette::parse(&text.replacen("\"seq\": 0", "\"seq\": 3", 1)).unwrap_err().to_string();
        assert!(e.contains("interactions[0].seq"), "{e}");
        let e = Cassette::parse(&text.replacen("\"version\": 1", "\"version\": 9", 1)).unwrap_err().to_string();
        assert!(e.contains("'version'"), "{e}");
        let e = Cassette::parse(&text.replacen("\"status\": 200", "\"status\": 2000", 1)).unwrap_err().to_string();
        assert!(e.contains("response.status"), "{e}");
        let e = Cassette::parse(&text.replacen("\"NextToken\": \"t\"", "\"NextToken\": 5", 1)).unwrap_err().to_string();
        assert!(e.contains("interactions[0].response.body") && e.contains("NextToken"), "{e}");
        let e = Cassette::parse(&text.replacen("\"region\"", "\"regoin\"", 1)).unwrap_err().to_string();
        assert!(e.contains("regoin"), "{e}");
    }

    #[test]
    fn atomic_save_replaces_and_leaves_no_temp_files() {
        let dir = crate::scratch::dir("cassette").unwrap();
        let path = dir.join("a.json");
        sample().save(&path).unwrap();
        let mut c = sample();
        c.region = "eu-west-1".into();
        c.save(&path).unwrap();
        assert_eq!(Cassette::load(&path).unwrap().region, "eu-west-1");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
