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

/// Why an answer left in the cassette file could not be read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadBackError {
    /// The read failed.
    #[error("reading {len} bytes at offset {offset} failed: {source}")]
    Io {
        /// Where.
        offset: u64,
        /// How many bytes.
        len: usize,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes there are no longer the answer loaded from there.
    #[error("the {len} bytes at offset {offset} are not the answer loaded from there")]
    Changed {
        /// Where.
        offset: u64,
        /// How many bytes.
        len: usize,
    },
}

/// Reads an answer left in the cassette file back, checking it is what was loaded.
pub(super) fn read_back(file: &std::fs::File, offset: u64, len: usize, sum: u64) -> Result<Vec<u8>, ReadBackError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; len];
    file.read_exact_at(&mut buf, offset).map_err(|source| ReadBackError::Io { offset, len, source })?;
    if checksum(&buf) != sum {
        return Err(ReadBackError::Changed { offset, len });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

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
