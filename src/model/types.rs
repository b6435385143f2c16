//! Type checks of documents against [`Shape`]s: a member of the wrong JSON type is what AWS answers with a
//! `SerializationException`, and a recorded answer of the wrong types is a broken cassette. Unmodeled members
//! are ignored (AWS ignores unknown input members) and `null` counts as absent.

use std::fmt;

use serde_json::Value;

use super::Shape;
use crate::doc::{JsonPath, Segment, json_type};

/// A value of the wrong type: where, what the shape wanted, and what was found. Its `Display` is the message
/// a `SerializationException` carries (`Expected integer at 'MaxResults' but found string`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeMismatch {
    /// Where, from the document's root.
    pub path: JsonPath,
    /// The kind of value the shape wanted (`integer`, `timestamp (epoch seconds)`, …).
    pub expected: &'static str,
    /// What was there instead (`string`, `number 5.5`, …).
    pub found: String,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_root() {
            write!(f, "Expected {} at the request body but found {}", self.expected, self.found)
        } else {
            write!(f, "Expected {} at '{}' but found {}", self.expected, self.path.member_path(), self.found)
        }
    }
}

impl std::error::Error for TypeMismatch {}

/// Where a check is, as the shapes' own (static) member names and list indices: a path is only built
/// ([`JsonPath`]) when a mismatch is found, so checking costs no allocation per member.
#[derive(Clone, Copy)]
enum Step {
    Key(&'static str),
    Index(usize),
}

fn path_of(steps: &[Step]) -> JsonPath {
    let mut p = JsonPath::root();
    for s in steps {
        p.push(match *s {
            Step::Key(k) => Segment::Key(k.to_string()),
            Step::Index(i) => Segment::Index(i),
        });
    }
    p
}

fn mismatch(shape: &Shape, steps: &[Step], found: String) -> TypeMismatch {
    TypeMismatch { path: path_of(steps), expected: shape.kind(), found }
}

/// Checks that a document has the JSON types its shape requires. The error names the member path and both
/// types, the way a `SerializationException` message should.
pub fn check_types(doc: &Value, shape: &Shape) -> Result<(), TypeMismatch> {
    fn walk(v: &Value, shape: &Shape, path: &mut Vec<Step>) -> Result<(), TypeMismatch> {
        if v.is_null() {
            return Ok(());
        }
        let ok = match (shape, v) {
            (Shape::Structure(_), Value::Object(map)) => {
                for (k, child) in map {
                    if let Some((name, s)) = shape.member_entry(k) {
                        path.push(Step::Key(name));
                        walk(child, s, path)?;
                        path.pop();
                    }
                }
                true
            }
            (Shape::List(item), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(child, item, path)?;
                    path.pop();
                }
                true
            }
            (Shape::String, Value::String(_)) => true,
            (Shape::Integer | Shape::Timestamp, Value::Number(n)) => number_fits(shape, n),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let found = match v {
            Value::Number(n) => found_number(shape, n),
            other => json_type(other).to_string(),
        };
        Err(mismatch(shape, path, found))
    }
    walk(doc, shape, &mut Vec::new())
}

fn found_number(shape: &Shape, n: &serde_json::Number) -> String {
    if matches!(shape, Shape::Integer) && n.as_i64().is_some() {
        format!("integer {n}, outside the 32-bit range")
    } else {
        format!("number {n}")
    }
}

fn number_fits(shape: &Shape, n: &serde_json::Number) -> bool {
    match shape {
        Shape::Integer => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        Shape::Timestamp => n.as_f64().is_some_and(f64::is_finite),
        _ => false,
    }
}

/// [`check_types`] on JSON text, without building the document: the same verdict and the same message, at a
/// fraction of the cost. Replay checks every recorded answer this way at load. Malformed JSON is an error too.
pub fn check_types_text(text: &str, shape: &Shape) -> Result<(), TextCheckError> {
    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    /// Checks one value against `shape`; the first mismatch's message goes to `err` (serde's own error
    /// would add a position the message must not carry).
    struct Check<'a> {
        shape: &'a Shape,
        path: &'a mut Vec<Step>,
        err: &'a mut Option<TypeMismatch>,
    }
    impl Check<'_> {
        fn fail<E: de::Error>(self, found: &str) -> Result<(), E> {
            *self.err = Some(mismatch(self.shape, self.path, found.to_string()));
            Err(E::custom("type mismatch"))
        }
        fn number<E: de::Error>(self, n: serde_json::Number) -> Result<(), E> {
            if number_fits(self.shape, &n) {
                return Ok(());
            }
            let found = found_number(self.shape, &n);
            self.fail(&found)
        }
    }
    impl<'de> DeserializeSeed<'de> for Check<'_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    /// Any value that a document can hold, checked without being kept: unlike `IgnoredAny`, which skips
    /// numbers unread, it refuses one no `Value` can hold (1e400), as parsing into a document would.
    struct Anything;
    impl<'de> DeserializeSeed<'de> for Anything {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Anything {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Anything)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_key_seed(Anything)?.is_some() {
                map.next_value_seed(Anything)?;
            }
            Ok(())
        }
    }
    /// A map key, borrowed from the text when it has no escapes.
    struct Key<'de>(std::borrow::Cow<'de, str>);
    impl<'de> de::Deserialize<'de> for Key<'de> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a member name")
                }
                fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(s.into()))
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                    Ok(Key(s.to_string().into()))
                }
            }
            d.deserialize_str(V)
        }
    }
    impl<'de> Visitor<'de> for Check<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {}", self.shape.kind())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(()) // null counts as absent
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.fail("boolean")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
            self.number(n.into())
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
            self.number(n.into())
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
            match serde_json::Number::from_f64(n) {
                Some(n) => self.number(n),
                None => self.fail("number"),
            }
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            if matches!(self.shape, Shape::String) { Ok(()) } else { self.fail("string") }
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let Shape::List(item) = self.shape else { return self.fail("list") };
            let mut i = 0;
            loop {
                self.path.push(Step::Index(i));
                let more = seq.next_element_seed(Check { shape: item, path: &mut *self.path, err: &mut *self.err })?;
                self.path.pop();
                if more.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            if !matches!(self.shape, Shape::Structure(_)) {
                return self.fail("structure");
            }
            while let Some(Key(k)) = map.next_key::<Key>()? {
                match self.shape.member_entry(&k) {
                    Some((name, s)) => {
                        self.path.push(Step::Key(name));
                        map.next_value_seed(Check { shape: s, path: &mut *self.path, err: &mut *self.err })?;
                        self.path.pop();
                    }
                    None => map.next_value_seed(Anything)?,
                }
            }
            Ok(())
        }
    }

    let (mut path, mut err) = (Vec::new(), None);
    let mut de = serde_json::Deserializer::from_str(text);
    let checked = Check { shape, path: &mut path, err: &mut err }.deserialize(&mut de).and_then(|()| de.end());
    match (checked, err) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(m)) => Err(TextCheckError::Type(m)),
        (Err(e), None) => Err(TextCheckError::Malformed(e.to_string())),
    }
}

/// Why [`check_types_text`] refused a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextCheckError {
    /// The text is JSON, with a value of the wrong type.
    Type(TypeMismatch),
    /// The text is not JSON a document can hold (`1e400` included).
    Malformed(String),
}

impl fmt::Display for TextCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextCheckError::Type(m) => m.fmt(f),
            TextCheckError::Malformed(e) => write!(f, "malformed JSON: {e}"),
        }
    }
}

impl std::error::Error for TextCheckError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{REQUEST_SHAPE, RESPONSE_SHAPE};
    use serde_json::json;

    #[test]
    fn checking_text_agrees_with_checking_documents() {
        let list = "ComprehendMedicalAsyncJobPropertiesList";
        let docs = [
            json!({list: [{"JobId": "a", "SubmitTime": 1700000000.5, "InputDataConfig": {"S3Bucket": "b"}}]}),
            json!({list: [], "NextToken": "t", "Unmodeled": [1, {"x": true}]}),
            json!({list: [{"JobId": null, "SubmitTime": null}], "NextToken": null}),
            json!({list: [{"SubmitTime": "yesterday"}]}),
            json!({list: [{"JobId": 7}]}),
            json!({list: [{}, {"InputDataConfig": {"S3Key": false}}]}),
            json!({list: {"JobId": "a"}}),
            json!({list: [[1]]}),
            json!({"NextToken": 1.5}),
            json!({"NextToken": -3}),
            json!([1]),
            json!("text"),
        ];
        for doc in &docs {
            let text = serde_json::to_string_pretty(doc).unwrap();
            let (by_text, by_doc) = (check_types_text(&text, &RESPONSE_SHAPE), check_types(doc, &RESPONSE_SHAPE));
            assert_eq!(by_text.map_err(|e| e.to_string()), by_doc.map_err(|e| e.to_string()), "{doc}");
        }
        for (doc, want) in [
            (json!({"MaxResults": 5.5}), "Expected integer at 'MaxResults' but found number 5.5"),
            (
                json!({"MaxResults": 4294967296u64}),
                "Expected integer at 'MaxResults' but found integer 4294967296, outside the 32-bit range",
            ),
            (
                json!({"MaxResults": 18446744073709551615u64}),
                "Expected integer at 'MaxResults' but found number 18446744073709551615",
            ),
            (
                json!({"Filter": {"SubmitTimeBefore": "x"}}),
                "Expected timestamp (epoch seconds) at 'Filter.SubmitTimeBefore' but found string",
            ),
        ] {
            assert_eq!(check_types(&doc, &REQUEST_SHAPE).unwrap_err().to_string(), want);
            assert_eq!(check_types_text(&doc.to_string(), &REQUEST_SHAPE).unwrap_err().to_string(), want);
        }
        // Text no document can hold is refused as parsing it would be, in unmodeled members too.
        for text in [r#"{"NextToken": "t", "Big": 1e400}"#, r#"{"Unmodeled": [{"x": -1e999}]}"#] {
            assert!(serde_json::from_str::<Value>(text).is_err());
            assert!(
                check_types_text(text, &RESPONSE_SHAPE).unwrap_err().to_string().starts_with("malformed JSON"),
                "{text}"
            );
        }
        // Escaped member names are still recognized, and malformed text is refused.
        assert!(
            check_types_text(r#"{"Next\u0054oken": 1}"#, &RESPONSE_SHAPE)
                .unwrap_err()
                .to_string()
                .contains("'NextToken'")
        );
        assert!(
            check_types_text(r#"{"NextToken": "a""#, &RESPONSE_SHAPE)
                .unwrap_err()
                .to_string()
                .starts_with("malformed JSON")
        );
    }

    #[test]
    fn mismatches_carry_their_path() {
        let doc = json!({"ComprehendMedicalAsyncJobPropertiesList": [{}, {"SubmitTime": "x"}]});
        let e = check_types(&doc, &RESPONSE_SHAPE).unwrap_err();
        assert_eq!(e.path, "$.ComprehendMedicalAsyncJobPropertiesList[1].SubmitTime");
        assert_eq!((e.expected, e.found.as_str()), ("timestamp (epoch seconds)", "string"));
    }
}
