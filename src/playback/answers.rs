//! Where recorded answers live while replay serves them.
//!
//! The JSON 1.1 answer to a 2xx is the recorded body made compact: whitespace outside strings dropped, every
//! other byte as recorded (numbers included). It is kept in memory while the library's answers fit in a
//! budget (`--resident-answers-mb`, 16 MiB by default: some 7,000 pages of 2.4 KB); past the budget an answer stays in
//! the cassette file, which the library keeps open, and is read back and made compact when served. A
//! 100,000-interaction cassette thus serves in a bounded footprint, and small cassettes answer from memory.
//!
//! A read-back answer is checked against the checksum taken at load, so a cassette edited in place after
//! loading answers with an error that says so instead of with the wrong bytes. (Editors and `record` replace
//! files by renaming, which leaves the open file as it was; `--watch` then loads the new one.)

/// Appends `raw` (valid JSON) to `out` without the whitespace outside strings. Strings are found with a
/// vectorized search and copied whole.
pub fn minify(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'"' {
            // Copy through the closing quote: the next '"' not escaped by an odd run of backslashes.
            let end = crate::doc::weight::string_end(raw, i + 1).min(raw.len());
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

/// A fast 64-bit checksum (not cryptographic): eight bytes a step, multiply and rotate.
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^ (h >> 32)
}

/// Reads an answer left in the cassette file back, checking it is what was loaded.
pub(super) fn read_back(file: &std::fs::File, offset: u64, len: usize, sum: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, offset).map_err(|e| format!("reading {len} bytes at offset {offset} failed: {e}"))?;
    if checksum(&buf) != sum {
        return Err(format!("the {len} bytes at offset {offset} are not the answer loaded from there"));
    }
    Ok(buf)
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

    #[test]
    fn checksum_sees_every_byte() {
        let base = b"{\"NextToken\":\"token-000001\",\"x\":1}".to_vec();
        let sum = checksum(&base);
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 1;
            assert_ne!(checksum(&changed), sum, "byte {i}");
        }
        assert_ne!(checksum(&base[..base.len() - 1]), sum);
    }
}
