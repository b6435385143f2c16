//! How much memory a document takes once parsed, estimated from its text before parsing it: what lets diff
//! and fuzz hold a hostile target's answers to a byte budget. A parsed JSON value costs far more than its
//! text when the text is dense (`[0,0,0,…]` is 2 bytes a value in text and 32 in a `serde_json::Value`),
//! so the estimate charges every value, not only every byte.

use super::text::string_end;

/// Bytes charged for each value of a document, beside its text: a `serde_json::Value` is 32 bytes, and a
/// member of an object adds its key's allocation.
pub const PER_VALUE: usize = 64;
/// Bytes charged for each object besides its members: the node of its map (some 640 bytes for up to 11
/// members, allocated whole).
pub const PER_OBJECT: usize = 576;

/// The estimated in-memory size of the JSON document `text`: its length, plus [`PER_VALUE`] for each value
/// and [`PER_OBJECT`] for each object, counted by the structural characters outside strings (`,` `:` `[`
/// `{`), without parsing it. Measured against a page of the reference's jobs it errs high, never low.
pub fn json(text: &[u8]) -> usize {
    let (mut values, mut objects, mut i) = (1usize, 0usize, 0);
    while i < text.len() {
        match text[i] {
            b'"' => {
                i = string_end(text, i + 1);
                continue;
            }
            b'{' => {
                values += 1;
                objects += 1;
            }
            b',' | b':' | b'[' => values += 1,
            _ => {}
        }
        i += 1;
    }
    estimate(text.len(), values, objects)
}

fn estimate(len: usize, values: usize, objects: usize) -> usize {
    len.saturating_add(values.saturating_mul(PER_VALUE)).saturating_add(objects.saturating_mul(PER_OBJECT))
}

/// The estimated in-memory size of a document of `items` values decoded from `len` bytes (CBOR, which
/// counts its items as it decodes).
pub fn items(len: usize, items: usize) -> usize {
    len.saturating_add(items.saturating_mul(PER_VALUE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_text_weighs_more_than_its_bytes_and_strings_hide_their_commas() {
        let dense = format!("[{}0]", "0,".repeat(1000));
        assert!(json(dense.as_bytes()) > 1000 * PER_VALUE, "{}", json(dense.as_bytes()));
        let prose = format!("{{\"a\":\"{}\"}}", "x, [y] {z}: ".repeat(100));
        assert!(json(prose.as_bytes()) < prose.len() + 4 * PER_VALUE + PER_OBJECT, "commas in a string are not values");
        let escaped = r#"["a\",b", 1]"#;
        assert_eq!(json(escaped.as_bytes()), escaped.len() + 3 * PER_VALUE);
        assert_eq!(json(b"{}"), 2 + 2 * PER_VALUE + PER_OBJECT);
    }
}
