//! The canonical form of a document, in which two documents the service cannot tell apart are equal: keys
//! sorted (serde_json's map is ordered), numbers by value (`1700000000.0` is `1700000000`), `null` members
//! dropped (absent and null mean the same to an AWS JSON service).

use serde_json::{Map, Number, Value};

/// The canonical form of `v`.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Number(n) => canonical_number(n),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), canonical(v))).collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// A number by value: whole values as integers.
pub fn canonical_number(n: &Number) -> Value {
    if n.is_i64() || n.is_u64() {
        return Value::Number(n.clone());
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 9.0e15 { Value::from(f as i64) } else { Value::Number(n.clone()) }
}

/// Appends `canonical(v)` as compact JSON to `out`, without building it (matching does this for every
/// replayed request).
pub fn write_canonical(out: &mut String, v: &Value) {
    use std::fmt::Write;
    match v {
        Value::Number(n) => {
            let _ = write!(out, "{}", canonical_number(n));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is ordered by key, so this is already the canonical order.
            out.push('{');
            let mut first = true;
            for (k, child) in map.iter().filter(|(_, c)| !c.is_null()) {
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{}:", Value::String(k.clone()));
                write_canonical(out, child);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_written_canonical_form_is_the_canonical_document() {
        for doc in [
            json!({"MaxResults": 5.0, "Filter": {"SubmitTimeBefore": 1700000000.25, "JobName": "é\"x", "JobStatus": null}}),
            json!({"NextToken": "t", "Extra": [1, 2.0, null, {"b": true, "a": "s"}]}),
            json!({}),
        ] {
            let mut written = String::new();
            write_canonical(&mut written, &doc);
            assert_eq!(written, canonical(&doc).to_string(), "{doc}");
        }
        assert_eq!(canonical(&json!({"a": 1.0, "b": null})), json!({"a": 1}));
    }
}
