//! JSON text scanned without parsing it: where a string ends, and the text without its whitespace (replay
//! serves recorded answers compact; diff keeps cassette bodies compact until it compares them).

/// In JSON text whose string opened just before `from`, the index just past its closing quote (or the text's
/// end): found with a vectorized search for the quote, past escapes.
pub fn string_end(text: &[u8], mut from: usize) -> usize {
    loop {
        match memchr::memchr2(b'"', b'\\', text.get(from..).unwrap_or_default()) {
            Some(k) if text[from + k] == b'\\' => from += k + 2,
            Some(k) => return from + k + 1,
            None => return text.len(),
        }
    }
}

/// Appends `raw` (valid JSON) to `out` without the whitespace outside strings. Strings are found with a
/// vectorized search and copied whole.
pub fn minify(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'"' {
            // Copy through the closing quote: the next '"' not escaped by an odd run of backslashes.
            let end = string_end(raw, i + 1).min(raw.len());
            out.extend_from_slice(&raw[i..end]);
            i = end;
        } else {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                out.push(b);
            }
            i += 1;
        }
    }
}

/// [`minify`] of a `str`.
pub fn minify_str(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    minify(text.as_bytes(), &mut out);
    // Whole strings and ASCII punctuation copied from UTF-8 text, only ASCII whitespace left out.
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn minify_drops_only_whitespace_outside_strings() {
        let raw = "{\n  \"a b\": [1, 2.50, -3e2],\n\t\"q\": \"say \\\"hi\\\" \\\\\",\r\n  \"u\": \"\\u00c5 x\" }";
        let mut out = Vec::new();
        minify(raw.as_bytes(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"{"a b":[1,2.50,-3e2],"q":"say \"hi\" \\","u":"\u00c5 x"}"#);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), serde_json::from_str::<Value>(raw).unwrap());
    }

    #[test]
    fn minify_of_canonical_pretty_text_is_serde_compact_text() {
        // Cassettes are written by serde_json's pretty printer; made compact again they are byte for byte what
        // serde_json's compact printer makes of the same document, so resident and read-back answers agree.
        for name in ["boto3-walk.json", "boto3-filters.json", "rust-sdk-cbor.json"] {
            let path = format!("{}/cassettes/{name}", env!("CARGO_MANIFEST_DIR"));
            let cassette: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for it in cassette["interactions"].as_array().unwrap() {
                let body = &it["response"]["body"];
                let mut out = Vec::new();
                minify(serde_json::to_string_pretty(body).unwrap().as_bytes(), &mut out);
                assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(body).unwrap(), "{name}");
            }
        }
    }
}
