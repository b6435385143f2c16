//! Reading a cassette one interaction at a time, never holding them all: replay loads a 100,000-interaction
//! cassette in the memory its index keeps ([`stream()`], bodies left as text in the file), and folding a journal
//! into a cassette of any size runs in a fixed footprint ([`read_each`], from a buffered reader).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::window::{Stop, Window, one};
use super::{
    Encoding, Header, Interaction, LoadError, RecordedRequest, RecordedResponse, check_head, check_interaction,
    interaction_field,
};
use crate::model;

/// An interaction as [`stream()`] hands it over: the response body is left as its text in the file, so a
/// consumer can keep it compact, re-encode it, or read it back from the file later.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields of [`Interaction`], documented there
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
#[allow(missing_docs)] // the fields of [`RecordedResponse`], documented there
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

/// An interaction that can check itself at its position.
trait Checked {
    fn check_at(&self, i: usize) -> Result<(), LoadError>;
}

impl Checked for StreamedInteraction<'_> {
    fn check_at(&self, i: usize) -> Result<(), LoadError> {
        self.check(i)
    }
}

impl Checked for Interaction {
    fn check_at(&self, i: usize) -> Result<(), LoadError> {
        check_interaction(i, self)
    }
}

impl StreamedInteraction<'_> {
    /// The checks of `Cassette::check` for one interaction, checking the response body's types on its text.
    pub fn check(&self, i: usize) -> Result<(), LoadError> {
        check_head(i, self.seq, &self.request, self.response.status)?;
        let body = self.response.body.get();
        if self.response.encoding.is_some_and(|e| e.format.is_verbatim()) {
            let doc: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            return super::check_verbatim(i, self.response.encoding, &doc);
        }
        let checked = if (200..300).contains(&self.response.status) {
            model::check_types_text(body, &model::RESPONSE_SHAPE).map_err(|e| match e {
                model::types::TextCheckError::Type(t) => super::response_mismatch(&t),
                other => other.to_string(),
            })
        } else {
            // Error bodies are parsed into documents when loaded; JSON text can still hold a number no
            // document can (1e400).
            serde_json::from_str::<Value>(body).map(drop).map_err(|e| format!("not a JSON document: {e}"))
        };
        checked.map_err(|e| LoadError::at_field(interaction_field(i, "response.body"), e))
    }
}

const FIELDS: &[&str] =
    &["format", "version", "recorded_with", "operation", "upstream", "region", "match_rules", "kept", "interactions"];

/// The header fields as they are met.
#[derive(Default)]
struct HeaderFields {
    format: Option<String>,
    version: Option<u32>,
    recorded_with: Option<String>,
    operation: Option<String>,
    upstream: Option<String>,
    region: Option<String>,
    match_rules: Option<Vec<String>>,
    kept: Option<Vec<String>>,
}

impl HeaderFields {
    /// Reads the value of header field `key`; `false` if `key` is not one.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "format" => self.format = Some(map.next_value()?),
            "version" => self.version = Some(map.next_value()?),
            "recorded_with" => self.recorded_with = Some(map.next_value()?),
            "operation" => self.operation = Some(map.next_value()?),
            "upstream" => self.upstream = Some(map.next_value()?),
            "region" => self.region = Some(map.next_value()?),
            "match_rules" => self.match_rules = Some(map.next_value()?),
            "kept" => self.kept = Some(map.next_value()?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads header field `key` from its value's JSON text; `false` if `key` is not one.
    fn set(&mut self, key: &str, value: &[u8]) -> Result<bool, serde_json::Error> {
        /// A map whose next value is one JSON text.
        struct One<'de>(&'de [u8]);
        impl<'de> MapAccess<'de> for One<'de> {
            type Error = serde_json::Error;
            fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, Self::Error> {
                Ok(None)
            }
            fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
                let mut de = serde_json::Deserializer::from_slice(self.0);
                let value = seed.deserialize(&mut de)?;
                de.end()?;
                Ok(value)
            }
        }
        self.read(key, &mut One(value))
    }

    fn complete(&self) -> bool {
        self.format.is_some()
            && self.version.is_some()
            && self.recorded_with.is_some()
            && self.operation.is_some()
            && self.upstream.is_some()
            && self.region.is_some()
            && self.match_rules.is_some()
    }

    fn finish<E: de::Error>(self) -> Result<Header, E> {
        Ok(Header {
            format: self.format.ok_or_else(|| E::missing_field("format"))?,
            version: self.version.ok_or_else(|| E::missing_field("version"))?,
            recorded_with: self.recorded_with.ok_or_else(|| E::missing_field("recorded_with"))?,
            operation: self.operation.ok_or_else(|| E::missing_field("operation"))?,
            upstream: self.upstream.ok_or_else(|| E::missing_field("upstream"))?,
            region: self.region.ok_or_else(|| E::missing_field("region"))?,
            match_rules: self.match_rules.ok_or_else(|| E::missing_field("match_rules"))?,
            kept: self.kept.unwrap_or_default(),
        })
    }
}

/// The cassette object, its interactions handed over as [`Items`] does.
struct Top<'f, T, F>(Items<'f, T, F>);

impl<'de, T, F> Visitor<'de> for Top<'_, T, F>
where
    T: Deserialize<'de> + Checked,
    F: FnMut(usize, T) -> Result<(), LoadError>,
{
    type Value = Header;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a snomed-vcr cassette object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Header, A::Error> {
        let mut header = HeaderFields::default();
        let mut interactions = false;
        while let Some(key) = map.next_key::<String>()? {
            if header.read(&key, &mut map)? {
                continue;
            }
            match key.as_str() {
                "interactions" if interactions => return Err(de::Error::duplicate_field("interactions")),
                "interactions" => {
                    let Items { each, failed, item } = &mut self.0;
                    map.next_value_seed(Items { each: &mut **each, failed, item: *item })?;
                    interactions = true;
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        if !interactions {
            return Err(de::Error::missing_field("interactions"));
        }
        header.finish()
    }
}

/// The interactions, handed one by one (checked) to `each`; a check's or `each`'s error is kept in `failed`
/// (serde would add a position to it that the field already says).
struct Items<'f, T, F> {
    each: &'f mut F,
    failed: &'f mut Option<LoadError>,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<'de, T, F> DeserializeSeed<'de> for Items<'_, T, F>
where
    T: Deserialize<'de> + Checked,
    F: FnMut(usize, T) -> Result<(), LoadError>,
{
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T, F> Visitor<'de> for Items<'_, T, F>
where
    T: Deserialize<'de> + Checked,
    F: FnMut(usize, T) -> Result<(), LoadError>,
{
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of interactions")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let mut i = 0;
        while let Some(it) = seq.next_element::<T>()? {
            if let Err(e) = it.check_at(i).and_then(|()| (self.each)(i, it)) {
                *self.failed = Some(e);
                return Err(de::Error::custom("stopped at a bad interaction"));
            }
            i += 1;
        }
        Ok(())
    }
}

/// Runs the visitor over a deserializer; the error is the kept one, or serde's with its line and column.
fn read_cassette<'de, R, T, F>(
    de: &mut serde_json::Deserializer<R>,
    path: &Path,
    mut each: F,
) -> Result<Header, LoadError>
where
    R: serde_json::de::Read<'de>,
    T: Deserialize<'de> + Checked,
    F: FnMut(usize, T) -> Result<(), LoadError>,
{
    let mut failed = None;
    let top = Top(Items { each: &mut each, failed: &mut failed, item: std::marker::PhantomData });
    let header = serde::Deserializer::deserialize_map(&mut *de, top).and_then(|h| de.end().map(|()| h));
    let header = match (header, failed) {
        (_, Some(e)) => return Err(e.in_file(path)),
        (Err(e), None) => return Err(LoadError::from_json(&e).in_file(path)),
        (Ok(h), None) => h,
    };
    header.check().map_err(|e| e.in_file(path))?;
    Ok(header)
}

/// Reads a cassette one interaction at a time, handing each (checked) to `each` with the byte offset of its
/// response body in the file, and never holding them all: the file is read through a window (see
/// `cassette/window.rs`). Returns the header and the file, still open, for reading bodies back by offset. Errors
/// name the file and the line and column, or the field.
pub fn stream(
    path: &Path,
    mut each: impl for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> Result<(), LoadError>,
) -> Result<(Header, std::fs::File), LoadError> {
    let cannot =
        |e: std::io::Error| LoadError::of_file(path, format!("cannot read cassette '{}': {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let header = match scan(Window::new(&file), &mut each) {
        Ok(header) => header,
        Err(Stop::Stopped(e)) => return Err(e.in_file(path)),
        Err(Stop::Io(e)) => return Err(cannot(e)),
        Err(Stop::Syntax) => return Err(explain(path)),
    };
    header.check().map_err(|e| e.in_file(path))?;
    Ok((header, file))
}

/// The cassette object through a window: the header fields, and each interaction parsed, checked and handed to
/// `each` with its response body's offset.
fn scan<R: std::io::Read>(
    mut w: Window<R>,
    each: &mut impl for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> Result<(), LoadError>,
) -> Result<Header, Stop<LoadError>> {
    let mut header = HeaderFields::default();
    let mut interactions = false;
    w.expect(b'{')?;
    if w.peek()? == Some(b'}') {
        return Err(Stop::Syntax);
    }
    loop {
        let key: String = w.read(|text, _| one(text))?;
        w.expect(b':')?;
        if key == "interactions" && !interactions {
            interactions = true;
            items(&mut w, each)?;
        } else {
            let known = w.read(|text, _| {
                let (value, used) = one::<&serde_json::value::RawValue>(text)?;
                Ok((header.set(&key, value.get().as_bytes()), used))
            })?;
            if !known.map_err(|_| Stop::Syntax)? {
                return Err(Stop::Syntax);
            }
        }
        match w.peek()? {
            Some(b',') => w.expect(b',')?,
            Some(b'}') => break,
            _ => return Err(Stop::Syntax),
        }
    }
    w.expect(b'}')?;
    if !interactions || w.peek()?.is_some() {
        return Err(Stop::Syntax);
    }
    header.finish::<serde_json::Error>().map_err(|_| Stop::Syntax)
}

/// The interactions array, each one parsed from its own bytes.
fn items<R: std::io::Read>(
    w: &mut Window<R>,
    each: &mut impl for<'a> FnMut(usize, StreamedInteraction<'a>, u64) -> Result<(), LoadError>,
) -> Result<(), Stop<LoadError>> {
    w.expect(b'[')?;
    if w.peek()? == Some(b']') {
        return w.expect(b']');
    }
    for i in 0.. {
        w.read(|text, at| {
            let (it, used) = one::<StreamedInteraction<'_>>(text)?;
            let offset = at + (it.response.body.get().as_ptr() as usize - text.as_ptr() as usize) as u64;
            Ok((it.check(i).and_then(|()| each(i, it, offset)), used))
        })?
        .map_err(Stop::Stopped)?;
        match w.peek()? {
            Some(b',') => w.expect(b',')?,
            _ => break,
        }
    }
    w.expect(b']')
}

/// The error of a cassette the window's scan stopped at: the file read and parsed whole, which names the line
/// and column (or the field) of the first thing wrong. Only a file that is not a cassette pays for it.
fn explain(path: &Path) -> LoadError {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| LoadError::of_file(path, format!("cannot read cassette '{}': {e}", path.display()));
    let mut bytes = Vec::new();
    if let Err(e) = std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        return cannot(e);
    }
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    match read_cassette(&mut de, path, |_, _: StreamedInteraction<'_>| Ok(())) {
        Err(e) => e,
        // The scan and serde disagree on a well-formed cassette: say so rather than load it half-read.
        Ok(_) => LoadError::of_file(path, "the cassette could not be read one interaction at a time"),
    }
}

/// Reads a cassette one parsed interaction at a time from a buffered reader, in memory independent of the
/// file's size (folding a journal into a cassette of gigabytes). Returns the header, checked.
pub fn read_each(
    path: &Path,
    each: impl FnMut(usize, Interaction) -> Result<(), LoadError>,
) -> Result<Header, LoadError> {
    let file = std::fs::File::open(path)
        .map_err(|e| LoadError::of_file(path, format!("cannot read cassette '{}': {e}", path.display())))?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    read_cassette(&mut de, path, each)
}

/// A cassette's header, read without keeping its interactions: from the first bytes when the header fields
/// come first (as in every canonical cassette), else by a pass that skips the interactions unbuilt.
pub fn read_header(path: &Path) -> Result<Header, LoadError> {
    struct Only<'a>(&'a mut Option<Header>);
    impl<'de> Visitor<'de> for Only<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a snomed-vcr cassette object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut header = HeaderFields::default();
            while let Some(key) = map.next_key::<String>()? {
                if header.read(&key, &mut map)? {
                    continue;
                }
                if key == "interactions" && header.complete() {
                    *self.0 = Some(header.finish()?);
                    // Stop here: the rest is interactions.
                    return Err(de::Error::custom(STOPPED));
                }
                map.next_value::<IgnoredAny>()?;
            }
            *self.0 = Some(header.finish()?);
            Ok(())
        }
    }
    const STOPPED: &str = "snomed-vcr: header read";
    let file = std::fs::File::open(path)
        .map_err(|e| LoadError::of_file(path, format!("cannot read cassette '{}': {e}", path.display())))?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 << 10, file));
    let mut found = None;
    match serde::Deserializer::deserialize_map(&mut de, Only(&mut found)) {
        Err(e) if !e.to_string().starts_with(STOPPED) => return Err(LoadError::from_json(&e).in_file(path)),
        _ => {}
    }
    let header = found.ok_or_else(|| LoadError::of_file(path, "no cassette header"))?;
    header.check().map_err(|e| e.in_file(path))?;
    Ok(header)
}

/// The `match_rules` of a cassette when they come before its interactions (as in every canonical cassette),
/// read from the first bytes of the file only; `None` when they come later, or the file does not start as a
/// cassette does. Lets a loader build match keys while the interactions stream past.
pub fn peek_match_rules(path: &Path) -> Option<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Cassette;

    #[test]
    fn streamed_parsed_and_whole_loads_agree() {
        let dir = crate::scratch::dir("stream").unwrap();
        let path = dir.join("c.json");
        let mut c = crate::cassette::tests::sample();
        let mut second = c.interactions[0].clone();
        second.seq = 1;
        c.interactions.push(second);
        c.save(&path).unwrap();
        let mut parsed = Vec::new();
        let header = read_each(&path, |_, it| {
            parsed.push(it);
            Ok(())
        })
        .unwrap();
        assert_eq!((header, &parsed), (c.header(), &c.interactions));
        let mut offsets = Vec::new();
        stream(&path, |_, _, offset| {
            offsets.push(offset);
            Ok(())
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(offsets.iter().all(|o| text[*o as usize..].starts_with('{')), "{offsets:?}");
        assert_eq!(read_header(&path).unwrap(), c.header());
        // A header written after the interactions is still found.
        let mut doc: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        let region = doc.remove("region").unwrap();
        doc.insert("region".into(), region);
        let late = dir.join("late.json");
        std::fs::write(&late, serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(read_header(&late).unwrap(), c.header());
        assert_eq!(stream(&late, |_, _, _| Ok(())).unwrap().0, c.header(), "streamed with the header last");
        // Text that is not a cassette: the error is serde's on the whole text, line and column.
        for (what, broken) in [
            ("a missing comma", text.replacen("    },\n", "    }\n", 1)),
            ("a stray character", text.replacen("\"status\"", "x\"status\"", 1)),
            ("a cut-off file", text[..text.len() - 20].to_string()),
            ("trailing text", format!("{text}{{}}")),
            ("an unknown field", text.replacen("\"region\"", "\"regio\"", 1)),
        ] {
            let bad = dir.join("broken.json");
            std::fs::write(&bad, &broken).unwrap();
            let want = serde_json::from_str::<Cassette>(&broken).unwrap_err();
            let e = stream(&bad, |_, _, _| Ok(())).unwrap_err();
            assert_eq!(e.line(), Some(want.line()), "{what}: {e} (serde: {want})");
            assert_eq!(
                e.location(),
                &crate::cassette::Location::Text { line: want.line(), column: want.column() },
                "{what}"
            );
        }
        // A bad field stops the read, naming the file and the field.
        let bad = dir.join("bad.json");
        std::fs::write(&bad, text.replacen("\"seq\": 1", "\"seq\": 7", 1)).unwrap();
        let e = read_each(&bad, |_, _| Ok(())).unwrap_err();
        assert_eq!(e.field().map(ToString::to_string), Some("$.interactions[1].seq".into()), "{e}");
        assert!(e.to_string().starts_with(&format!("{}: field 'interactions[1].seq'", bad.display())), "{e}");
        assert_eq!(Cassette::load(&bad).unwrap_err().field(), e.field());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
