//! Lower-case hex on the stack: SigV4 digests and signatures, and request ids, are written this way on every
//! request, so it allocates nothing.

/// Lower-case hex digits, by value.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `N` bytes in lower-case hex, on the stack (`H` = 2 × `N`).
pub(crate) fn hex<const N: usize, const H: usize>(bytes: &[u8; N]) -> [u8; H] {
    const { assert!(H == 2 * N) };
    let mut out = [0u8; H];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// A 32-byte digest (SigV4's hashes and signatures) in lower-case hex.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    hex(bytes)
}
