//! The cassette file format: what a recording holds, loading it with precise errors, and saving it
//! canonically and atomically.
//!
//! A cassette is one JSON file: a versioned header and a list of interactions. Bodies are stored as
//! JSON-equivalent documents whatever the wire protocol (a CBOR body's encoding is noted beside it), so every
//! cassette reads well in a code review and one recording can answer both protocols. The JSON Schema is
//! `cassettes/schema.json`.
//!
//! Canonical output: two-space pretty JSON, keys in a fixed order (struct order for the format's own fields,
//! sorted for documents and headers), numbers as received, one trailing newline. The same interactions always
//! give the same bytes.

pub mod journal;
pub mod lint;
pub mod redact;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model;
use crate::protocol::Protocol;

/// The `format` field of every cassette.
pub const FORMAT: &str = "snomed-vcr/cassette";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// A whole cassette.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    pub format: String,
    pub version: u32,
    /// `snomed-vcr <version>`.
    pub recorded_with: String,
    pub operation: String,
    /// The upstream base URL the traffic went to.
    pub upstream: String,
    pub region: String,
    /// The matchers replay uses for this cassette (see the `matching` module).
    pub match_rules: Vec<String>,
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
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

/// A request as stored: redacted, with its body as a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub protocol: Protocol,
    /// Kept headers, lower-case names (see `redact`).
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// How a CBOR body was encoded, where the document does not show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

/// A response as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

/// Notes on a CBOR body's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// `cbor`.
    pub format: EncodingFormat,
    /// The body used indefinite-length items (as the Rust SDK's requests do).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub indefinite_lengths: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    Cbor,
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
            interactions: Vec::new(),
        }
    }

    /// Loads and checks a cassette. Errors name the file, and the line and column or the field.
    pub fn load(path: &Path) -> anyhow::Result<Cassette> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read cassette '{}'", path.display()))?;
        Cassette::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e:#}", path.display()))
    }

    /// [`Cassette::load`] on text; errors start with `LINE:COLUMN:` or name the field.
    pub fn parse(text: &str) -> anyhow::Result<Cassette> {
        let c: Cassette = serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: {e} (expected a snomed-vcr cassette, see cassettes/schema.json)",
                e.line(),
                e.column()
            )
        })?;
        c.check()?;
        Ok(c)
    }

    /// Checks what the types cannot: format and version, the operation, sequence numbers, statuses, and
    /// that bodies are documents of the model's shapes.
    pub fn check(&self) -> anyhow::Result<()> {
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
        }
    }

    /// The canonical text of the cassette.
    pub fn to_canonical(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).expect("cassettes serialize");
        out.push('\n');
        out
    }

    /// Writes the cassette atomically: a temporary file beside it, fsync, rename, fsync of the directory.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_atomically(path, self.to_canonical().as_bytes())
    }
}

/// A cassette's header: everything but the interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub recorded_with: String,
    pub operation: String,
    pub upstream: String,
    pub region: String,
    pub match_rules: Vec<String>,
}

impl Header {
    /// Format, version, operation and matcher names.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.format != FORMAT {
            bail!(" field 'format': expected \"{FORMAT}\", found \"{}\"", self.format);
        }
        if self.version != VERSION {
            bail!(" field 'version': this build reads version {VERSION}, found {}", self.version);
        }
        if self.operation != model::OPERATION {
            bail!(" field 'operation': expected \"{}\", found \"{}\"", model::OPERATION, self.operation);
        }
        for rule in &self.match_rules {
            crate::matching::Rule::parse(rule).map_err(|e| anyhow::anyhow!(" field 'match_rules': {e}"))?;
        }
        Ok(())
    }
}

/// Checks one interaction at position `i`: sequence number, status, body shapes.
pub fn check_interaction(i: usize, it: &Interaction) -> anyhow::Result<()> {
    check_head(i, it.seq, &it.request, it.response.status)?;
    if (200..300).contains(&it.response.status) {
        model::check_types(&it.response.body, &model::RESPONSE_SHAPE)
            .map_err(|e| anyhow::anyhow!(" field 'interactions[{i}].response.body': {e}"))?;
    }
    Ok(())
}

/// The checks of [`check_interaction`] that do not need the response body.
fn check_head(i: usize, seq: u64, request: &RecordedRequest, status: u16) -> anyhow::Result<()> {
    let at = format!(" field 'interactions[{i}]");
    if seq != i as u64 {
        bail!("{at}.seq': expected {i} (sequence numbers count from 0 without gaps), found {seq}");
    }
    if !(100..=599).contains(&status) {
        bail!("{at}.response.status': {status} is not an HTTP status");
    }
    if !request.body.is_object() {
        bail!("{at}.request.body': expected an object (the input document), found {}", model::json_type(&request.body));
    }
    Ok(())
}

/// An interaction as [`stream`] hands it over: the response body is left as its text in the file, so a
/// consumer can keep it compact, re-encode it, or read it back from the file later.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamedInteraction<'a> {
    pub seq: u64,
    #[serde(default)]
    pub recorded_at: Option<String>,
    #[serde(default)]
    pub elapsed_ms: Option<u64>,
    pub request: RecordedRequest,
    #[serde(borrow)]
    pub response: StreamedResponse<'a>,
}

/// A [`RecordedResponse`] whose body is still text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamedResponse<'a> {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    #[serde(borrow)]
    pub body: &'a serde_json::value::RawValue,
    #[serde(default)]
    pub encoding: Option<Encoding>,
}

impl StreamedResponse<'_> {
    /// The response with its body parsed (which [`StreamedInteraction::check`] has made sure it can be).
    pub fn to_recorded(&self) -> RecordedResponse {
        RecordedResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: serde_json::from_str(self.body.get()).expect("checked when it was read"),
            encoding: self.encoding,
        }
    }
}

impl StreamedInteraction<'_> {
    /// [`check_interaction`], checking the response body's types on its text.
    pub fn check(&self, i: usize) -> anyhow::Result<()> {
        check_head(i, self.seq, &self.request, self.response.status)?;
        let body = self.response.body.get();
        let checked = if (200..300).contains(&self.response.status) {
            model::check_types_text(body, &model::RESPONSE_SHAPE)
        } else {
            // Error bodies are parsed into documents when loaded; JSON text can still hold a number no
            // document can (1e400).
            serde_json::from_str::<Value>(body).map(drop).map_err(|e| format!("not a JSON document: {e}"))
        };
        checked.map_err(|e| anyhow::anyhow!(" field 'interactions[{i}].response.body': {e}"))
    }
}

/// The `match_rules` of a cassette when they come before its interactions (as in every canonical cassette),
/// read from the first bytes of the file only; `None` when they come later, or the file does not start as a
/// cassette does. Lets a loader build match keys while the interactions stream past.
pub fn peek_match_rules(path: &Path) -> Option<Vec<String>> {
    use serde::de::{self, IgnoredAny, MapAccess, Visitor};
    struct Peek<'a>(&'a mut Option<Vec<String>>);
    impl<'de> Visitor<'de> for Peek<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a snomed-vcr cassette object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "match_rules" => {
                        *self.0 = Some(map.next_value()?);
                        break;
                    }
                    "interactions" => break,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Err(de::Error::custom("stopped before the interactions"))
        }
    }
    let file = std::fs::File::open(path).ok()?;
    let mut found = None;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(4096, file));
    let _ = serde::Deserializer::deserialize_map(&mut de, Peek(&mut found));
    found
}

/// Reads a cassette one interaction at a time, handing each (checked) to `each` with the byte offset of its
/// response body in the file, and never holding them all: a 100,000-interaction cassette loads in the memory
/// its consumer keeps. Returns the header and the file, still open, for reading bodies back by offset. Errors
/// name the file and the line and column, or the field.
pub fn stream(
    path: &Path,
    mut each: impl for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> anyhow::Result<()>,
) -> anyhow::Result<(Header, std::fs::File)> {
    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
    use std::io::Read;
    struct Top<'a, F> {
        each: &'a mut F,
        base: usize,
    }
    struct Items<'a, F> {
        each: &'a mut F,
        base: usize,
    }
    const FIELDS: &[&str] =
        &["format", "version", "recorded_with", "operation", "upstream", "region", "match_rules", "interactions"];

    impl<'de, F: for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> anyhow::Result<()>> Visitor<'de> for Top<'_, F> {
        type Value = Header;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a snomed-vcr cassette object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
            let (mut format, mut version, mut recorded_with, mut operation) = (None, None, None, None);
            let (mut upstream, mut region, mut match_rules, mut interactions) = (None, None, None, false);
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "format" => format = Some(map.next_value()?),
                    "version" => version = Some(map.next_value()?),
                    "recorded_with" => recorded_with = Some(map.next_value()?),
                    "operation" => operation = Some(map.next_value()?),
                    "upstream" => upstream = Some(map.next_value()?),
                    "region" => region = Some(map.next_value()?),
                    "match_rules" => match_rules = Some(map.next_value()?),
                    "interactions" if interactions => return Err(de::Error::duplicate_field("interactions")),
                    "interactions" => {
                        map.next_value_seed(Items { each: &mut *self.each, base: self.base })?;
                        interactions = true;
                    }
                    other => return Err(de::Error::unknown_field(other, FIELDS)),
                }
            }
            if !interactions {
                return Err(de::Error::missing_field("interactions"));
            }
            Ok(Header {
                format: format.ok_or_else(|| de::Error::missing_field("format"))?,
                version: version.ok_or_else(|| de::Error::missing_field("version"))?,
                recorded_with: recorded_with.ok_or_else(|| de::Error::missing_field("recorded_with"))?,
                operation: operation.ok_or_else(|| de::Error::missing_field("operation"))?,
                upstream: upstream.ok_or_else(|| de::Error::missing_field("upstream"))?,
                region: region.ok_or_else(|| de::Error::missing_field("region"))?,
                match_rules: match_rules.ok_or_else(|| de::Error::missing_field("match_rules"))?,
            })
        }
    }
    impl<'de, F: for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> anyhow::Result<()>> DeserializeSeed<'de>
        for Items<'_, F>
    {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, F: for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> anyhow::Result<()>> Visitor<'de> for Items<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of interactions")
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
            let mut i = 0;
            while let Some(it) = seq.next_element::<StreamedInteraction<'de>>()? {
                let offset = (it.response.body.get().as_ptr() as usize - self.base) as u64;
                it.check(i)
                    .and_then(|()| (self.each)(i, it, offset))
                    .map_err(|e| de::Error::custom(format!("{e:#}")))?;
                i += 1;
            }
            Ok(())
        }
    }

    let cannot = || format!("cannot read cassette '{}'", path.display());
    let mut file = std::fs::File::open(path).with_context(cannot)?;
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut bytes = Vec::with_capacity(size + 1);
    advise_huge_pages(&mut bytes);
    file.read_to_end(&mut bytes).with_context(cannot)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let top = Top { each: &mut each, base: bytes.as_ptr() as usize };
    let header = serde::Deserializer::deserialize_map(&mut de, top)
        .and_then(|h| de.end().map(|()| h))
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
    header.check().map_err(|e| anyhow::anyhow!("{}:{e:#}", path.display()))?;
    Ok((header, file))
}

/// Asks the kernel to back a large, empty buffer with transparent huge pages: reading a 150 MB cassette then
/// takes a few hundred page faults instead of tens of thousands (measured: 0.21 s to 0.13 s). Only advice;
/// without it, or on a kernel that ignores it, nothing changes but the time.
fn advise_huge_pages(buf: &mut Vec<u8>) {
    const HUGE: usize = 2 << 20;
    let (start, len) = (buf.as_mut_ptr() as usize, buf.capacity());
    let aligned = start.next_multiple_of(HUGE);
    if len < 4 * HUGE || aligned >= start + len {
        return;
    }
    let span = (start + len - aligned) / HUGE * HUGE;
    // SAFETY: madvise only advises about pages of memory this buffer owns (the aligned span lies inside its
    // allocation); MADV_HUGEPAGE changes no contents, and its result is not needed.
    unsafe {
        libc::madvise(aligned as *mut libc::c_void, span, libc::MADV_HUGEPAGE);
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one, never a torn one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory '{}'", dir.display()))?;
    let name = path.file_name().with_context(|| format!("'{}' is not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write '{}'", path.display()))
}

/// The files in `dir` that `keep` accepts, sorted by name.
pub fn list_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list '{}'", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.is_file() && keep(f))
        .collect();
    found.sort();
    Ok(found)
}

/// Expands cassette arguments: files as given, directories to every `*.json` inside (sorted).
pub fn expand_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(list_dir(p, |f| {
                f.extension().is_some_and(|x| x == "json") && f.file_name().is_some_and(|n| n != "schema.json")
            })?);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("'{}' does not exist (expected a cassette file or a directory of them)", p.display());
        }
    }
    Ok(out)
}

/// `NAME.json.new`, where re-recordings of `NAME.json` go for review.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
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
        let dir = crate::util::scratch_dir("cassette").unwrap();
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
