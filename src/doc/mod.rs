//! JSON documents, the interchange form of every body in the project (a JSON 1.1 body is one, a CBOR body is
//! converted to one): [`JsonPath`]s that name places in them, their [`canonical()`] form, and their differences,
//! as path lists and as rendered diffs ([`diff`]), what one weighs in memory before it is parsed
//! ([`weight`]), and its text scanned without parsing ([`text`]).

pub mod canonical;
pub mod diff;
mod path;
pub mod text;
pub mod weight;

pub use canonical::canonical;
pub use diff::{PathDiff, diff_paths};
pub use path::{JsonPath, Segment};

use serde_json::Value;

/// The JSON type name of a value, for messages (`structure` and `list`, as AWS's messages say).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "structure",
    }
}
