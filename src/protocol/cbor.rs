//! CBOR ↔ JSON-equivalent documents, for Smithy RPC v2 CBOR bodies.
//!
//! A CBOR body becomes a `serde_json::Value` with tag-1 timestamps as plain epoch-seconds numbers, so a cassette
//! stays readable and one recording can answer both protocols. The way back needs the shape (which members are
//! timestamps), so [`from_document`] takes one.
//!
//! What round-trips exactly: every value, and for numbers whether they were integers or floats (a float64
//! `1700000000.0` comes back as the JSON number `1700000000.0`, an integer as `1700000000`). What is not kept:
//! definite vs indefinite lengths and float widths (noted in [`CborNotes`] for the cassette), which Smithy
//! decoders treat alike.

use minicbor::data::{IanaTag, Tag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::{Map, Number, Value};

use crate::model::Shape;

/// Deepest nesting accepted; a body nested deeper is rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// What a CBOR body used that a document does not show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CborNotes {
    /// An indefinite-length map, array or string appeared (the Rust SDK sends `bf … ff` maps).
    pub indefinite_lengths: bool,
    /// How many data items were decoded (the document's values; tags and breaks are not counted).
    pub items: usize,
    /// How many tag-1 timestamps were decoded.
    pub timestamps: usize,
    /// How many numbers were decoded as members named as the model's timestamps are (`SubmitTime`,
    /// `EndTime`, `ExpirationTime`), tagged or not.
    pub timestamp_members: usize,
}

/// Why a body is not a CBOR document of this protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct CborError {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes from the body's start.
    pub offset: usize,
}

/// Decodes one CBOR data item (and nothing after it) into a document.
pub fn to_document(bytes: &[u8]) -> Result<(Value, CborNotes), CborError> {
    to_document_within(bytes, usize::MAX)
}

/// [`to_document`], refusing a body of more than `max_items` data items before it has built them all (a
/// byte of CBOR can be a whole value: the item count, not the length, bounds the document's memory).
pub fn to_document_within(bytes: &[u8], max_items: usize) -> Result<(Value, CborNotes), CborError> {
    let mut d = Decoder::new(bytes);
    let mut notes = CborNotes::default();
    let v = item(&mut d, &mut notes, 0, max_items)?;
    if d.position() != bytes.len() {
        return Err(CborError {
            message: format!("{} trailing bytes after the body", bytes.len() - d.position()),
            offset: d.position(),
        });
    }
    Ok((v, notes))
}

fn err(d: &Decoder<'_>, message: impl Into<String>) -> CborError {
    CborError { message: message.into(), offset: d.position() }
}

/// Runs a decoder call and turns its error into a [`CborError`] at the decoder's position.
macro_rules! wrap {
    ($d:ident, $call:expr) => {{
        let r = $call;
        r.map_err(|e| err($d, e.to_string()))
    }};
}

/// The prefix of the error [`to_document_within`] gives for a body of too many items.
pub const TOO_MANY_ITEMS: &str = "more data items than";

fn item(d: &mut Decoder<'_>, notes: &mut CborNotes, depth: usize, max: usize) -> Result<Value, CborError> {
    if depth > MAX_DEPTH {
        return Err(err(d, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    notes.items += 1;
    if notes.items > max {
        return Err(err(d, format!("{TOO_MANY_ITEMS} {max}")));
    }
    let ty = wrap!(d, d.datatype())?;
    Ok(match ty {
        Type::Bool => Value::Bool(wrap!(d, d.bool())?),
        Type::Null | Type::Undefined => {
            d.skip().map_err(|e| err(d, e.to_string()))?;
            Value::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(wrap!(d, d.u64())?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Value::from(wrap!(d, d.i64())?),
        Type::Int => return Err(err(d, "integer outside the 64-bit range")),
        Type::F16 | Type::F32 | Type::F64 => {
            let f = wrap!(d, d.f64())?;
            Value::Number(Number::from_f64(f).ok_or_else(|| err(d, format!("non-finite number {f}")))?)
        }
        Type::String => Value::String(wrap!(d, d.str())?.to_owned()),
        Type::StringIndef => {
            notes.indefinite_lengths = true;
            let start = d.position();
            let parts: Result<Vec<&str>, _> = match d.str_iter() {
                Ok(iter) => iter.collect(),
                Err(e) => Err(e),
            };
            Value::String(parts.map_err(|e| CborError { message: e.to_string(), offset: start })?.concat())
        }
        Type::Array | Type::ArrayIndef => {
            let len = wrap!(d, d.array())?;
            let mut items = Vec::with_capacity(len.unwrap_or(0).min(1024) as usize);
            match len {
                Some(n) => {
                    for _ in 0..n {
                        items.push(item(d, notes, depth + 1, max)?);
                    }
                }
                None => {
                    notes.indefinite_lengths = true;
                    while wrap!(d, d.datatype())? != Type::Break {
                        items.push(item(d, notes, depth + 1, max)?);
                    }
                    d.skip().map_err(|e| err(d, e.to_string()))?;
                }
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = wrap!(d, d.map())?;
            let mut map = Map::new();
            let mut entry = |d: &mut Decoder<'_>, notes: &mut CborNotes| -> Result<(), CborError> {
                let key = match wrap!(d, d.datatype())? {
                    Type::String => wrap!(d, d.str())?.to_owned(),
                    Type::StringIndef => item(d, notes, depth + 1, max)?.as_str().unwrap_or_default().to_owned(),
                    other => return Err(err(d, format!("map key is {other}, expected a text string"))),
                };
                let value = item(d, notes, depth + 1, max)?;
                if value.is_number() && matches!(key.as_str(), "SubmitTime" | "EndTime" | "ExpirationTime") {
                    notes.timestamp_members += 1;
                }
                if map.insert(key.clone(), value).is_some() {
                    return Err(err(d, format!("duplicate map key '{key}'")));
                }
                Ok(())
            };
            match len {
                Some(n) => {
                    for _ in 0..n {
                        entry(d, notes)?;
                    }
                }
                None => {
                    notes.indefinite_lengths = true;
                    while wrap!(d, d.datatype())? != Type::Break {
                        entry(d, notes)?;
                    }
                    d.skip().map_err(|e| err(d, e.to_string()))?;
                }
            }
            Value::Object(map)
        }
        Type::Tag => {
            let tag = wrap!(d, d.tag())?;
            notes.items -= 1; // the tagged number is the value
            notes.timestamps += 1;
            if tag != Tag::from(IanaTag::Timestamp) {
                return Err(err(d, format!("unsupported tag {} (only tag 1, epoch-seconds timestamps)", tag.as_u64())));
            }
            match wrap!(d, d.datatype())? {
                Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 => {
                    item(d, notes, depth + 1, max)?
                }
                Type::F16 | Type::F32 | Type::F64 => item(d, notes, depth + 1, max)?,
                other => return Err(err(d, format!("tag 1 over {other}, expected a number"))),
            }
        }
        Type::Bytes | Type::BytesIndef => return Err(err(d, "byte strings are not used by this operation")),
        Type::Break => return Err(err(d, "unexpected break")),
        other => return Err(err(d, format!("unsupported CBOR item {other}"))),
    })
}

/// Encodes a document as CBOR (definite lengths), writing numbers at timestamp members of `shape` as tag 1.
/// Integers stay integers and floats stay float64, so `to_document(from_document(d))` gives back `d`.
pub fn from_document(doc: &Value, shape: &Shape) -> Vec<u8> {
    let mut e = Encoder::new(Vec::with_capacity(256));
    write(&mut e, doc, Some(shape));
    e.into_writer()
}

fn write(e: &mut Encoder<Vec<u8>>, v: &Value, shape: Option<&Shape>) {
    // Writing to a Vec cannot fail.
    let _ = write_inner(e, v, shape);
}

fn write_inner(
    e: &mut Encoder<Vec<u8>>,
    v: &Value,
    shape: Option<&Shape>,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    match v {
        Value::Null => {
            e.null()?;
        }
        Value::Bool(b) => {
            e.bool(*b)?;
        }
        Value::Number(n) => {
            if matches!(shape, Some(Shape::Timestamp)) {
                e.tag(IanaTag::Timestamp)?;
            }
            if let Some(u) = n.as_u64() {
                e.u64(u)?;
            } else if let Some(i) = n.as_i64() {
                e.i64(i)?;
            } else {
                e.f64(n.as_f64().unwrap_or(f64::NAN))?;
            }
        }
        Value::String(s) => {
            e.str(s)?;
        }
        Value::Array(items) => {
            let item_shape = match shape {
                Some(Shape::List(s)) => Some(*s),
                _ => None,
            };
            e.array(items.len() as u64)?;
            for i in items {
                write_inner(e, i, item_shape)?;
            }
        }
        Value::Object(map) => {
            e.map(map.len() as u64)?;
            for (k, child) in map {
                e.str(k)?;
                write_inner(e, child, shape.and_then(|s| s.member(k)))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{REQUEST_SHAPE, RESPONSE_SHAPE};
    use serde_json::json;

    /// The Rust SDK's request for `Filter {JobStatus: COMPLETED, SubmitTimeBefore: 1700000000}`, MaxResults 5:
    /// an indefinite-length map, tag 1 over a float64 for a whole second.
    fn sdk_style_request() -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("Filter").unwrap().begin_map().unwrap();
        e.str("JobStatus").unwrap().str("COMPLETED").unwrap();
        e.str("SubmitTimeBefore").unwrap().tag(IanaTag::Timestamp).unwrap().f64(1_700_000_000.0).unwrap();
        e.end().unwrap();
        e.str("MaxResults").unwrap().u32(5).unwrap();
        e.end().unwrap();
        e.into_writer()
    }

    #[test]
    fn sdk_request_decodes_to_the_json_equivalent_document() {
        let (doc, notes) = to_document(&sdk_style_request()).unwrap();
        assert!(notes.indefinite_lengths);
        assert_eq!(
            doc,
            json!({"Filter": {"JobStatus": "COMPLETED", "SubmitTimeBefore": 1700000000.0}, "MaxResults": 5})
        );
        // A float timestamp stays a float in the document: the sender's encoding is not lost.
        assert_eq!(
            doc.to_string(),
            r#"{"Filter":{"JobStatus":"COMPLETED","SubmitTimeBefore":1700000000.0},"MaxResults":5}"#
        );
    }

    #[test]
    fn document_round_trips_through_cbor() {
        let docs = [
            json!({"Filter": {"JobName": "病歴 ✓", "SubmitTimeAfter": 1672531200, "SubmitTimeBefore": 1704164645.678}, "NextToken": "t", "MaxResults": 500}),
            json!({}),
            json!({"MaxResults": -5, "Extra": [1, 2.5, null, true, {"x": "y"}]}),
        ];
        for doc in docs {
            let bytes = from_document(&doc, &REQUEST_SHAPE);
            let (back, notes) = to_document(&bytes).unwrap();
            assert_eq!(back, doc);
            assert!(!notes.indefinite_lengths);
        }
        let resp = json!({"ComprehendMedicalAsyncJobPropertiesList": [{"JobId": "a", "SubmitTime": 1700000000.25, "EndTime": 1700000100}], "NextToken": "n"});
        let bytes = from_document(&resp, &RESPONSE_SHAPE);
        assert_eq!(to_document(&bytes).unwrap().0, resp);
    }

    #[test]
    fn timestamps_are_tagged_only_where_the_shape_says() {
        let bytes = from_document(&json!({"Filter": {"SubmitTimeAfter": 1}, "MaxResults": 1}), &REQUEST_SHAPE);
        let mut d = Decoder::new(&bytes);
        d.map().unwrap();
        assert_eq!(d.str().unwrap(), "Filter");
        d.map().unwrap();
        assert_eq!(d.str().unwrap(), "SubmitTimeAfter");
        assert_eq!(d.tag().unwrap(), Tag::from(IanaTag::Timestamp));
        assert_eq!(d.u64().unwrap(), 1);
        assert_eq!(d.str().unwrap(), "MaxResults");
        assert_eq!(d.datatype().unwrap(), Type::U8, "MaxResults must not be tagged");
    }

    #[test]
    fn cbor_round_trips_through_document() {
        let original = sdk_style_request();
        let (doc, _) = to_document(&original).unwrap();
        let reencoded = from_document(&doc, &REQUEST_SHAPE);
        // Different bytes (definite lengths) but the same data model, tag and float64 included.
        assert_ne!(reencoded, original);
        assert_eq!(to_document(&reencoded).unwrap().0, doc);
        let mut d = Decoder::new(&reencoded);
        d.map().unwrap();
        d.str().unwrap();
        d.map().unwrap();
        d.str().unwrap();
        d.str().unwrap();
        d.str().unwrap();
        d.tag().unwrap();
        assert_eq!(d.datatype().unwrap(), Type::F64);
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let deep = [vec![0x81u8; 100], vec![0x00]].concat();
        for (bytes, needle) in [
            (vec![], "end of input"),
            (vec![0xbf, 0x61], "end of input"),
            (vec![0xa1, 0x01, 0x02], "map key is"),
            (vec![0xa0, 0x00], "trailing bytes"),
            (vec![0xc2, 0x41, 0x00], "unsupported tag 2"),
            (vec![0xc1, 0x61, 0x61], "tag 1 over"),
            (vec![0x41, 0x00], "byte strings"),
            (vec![0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], "non-finite"),
            (vec![0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02], "duplicate map key 'a'"),
            (deep, "nested deeper"),
        ] {
            let e = to_document(&bytes).expect_err("malformed");
            assert!(e.message.contains(needle), "{bytes:02x?}: {e}");
        }
    }
}
