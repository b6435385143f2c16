//! `x-amzn-RequestId`: a fresh id for every response, shaped like AWS's (a UUID v4).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::hex::hex;
use crate::rng::SplitMix64;

/// A request id shaped like AWS's (`x-amzn-RequestId`, a UUID v4), kept on the stack: one is made for every
/// response, so it costs no allocation until it becomes a header value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId([u8; 36]);

impl std::ops::Deref for RequestId {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits and dashes are UTF-8")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl RequestId {
    /// One id, always the same, for tests that compare whole responses.
    #[cfg(test)]
    pub(crate) fn fixed() -> RequestId {
        RequestId(*b"00000000-0000-4000-8000-000000000000")
    }

    /// The id as a header value, without checking its bytes again: hex digits and dashes are always valid.
    /// Its bytes are cut from a block this thread shares among 256 ids, so a response costs no allocation of
    /// its own for it (a count on the block instead). An allocation of its own measured no better: 29 fewer
    /// instructions and 26 more mispredicted branches a request in callgrind, and replay's throughput the
    /// same within the noise (BENCHMARKS.md, "a fourth time").
    pub fn header_value(&self) -> http::HeaderValue {
        thread_local! {
            static BLOCK: std::cell::RefCell<bytes::BytesMut> = std::cell::RefCell::new(bytes::BytesMut::new());
        }
        let bytes = BLOCK.with_borrow_mut(|block| {
            if block.capacity() < self.0.len() {
                *block = bytes::BytesMut::with_capacity(self.0.len() * 256);
            }
            block.extend_from_slice(&self.0);
            block.split().freeze()
        });
        // SAFETY (of the value, not memory): `from_maybe_shared_unchecked` is only unsafe in that an invalid
        // value would be sent as it is; these 36 bytes are hex digits and dashes by construction.
        unsafe { http::HeaderValue::from_maybe_shared_unchecked(bytes) }
    }
}

/// A fresh request id, unique per process and cheap to make.
///
/// The first 24 characters (`xxxxxxxx-xxxx-4xxx-yxxx-`, version 4 and variant bits set) are drawn once per
/// process; the last 12 are a random 48-bit start plus a count of the ids made. Unique per process for 2^48
/// responses, unlike any other process's with odds of one in 2^64, and about 90 instructions a response.
/// Each thread takes its counts from the process's in runs of `ID_RUN` (1,024), so that making an id costs no
/// atomic operation (one a run).
pub fn request_id() -> RequestId {
    struct Base {
        prefix: [u8; 24],
        start: u64,
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static BASE: std::sync::OnceLock<Base> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let mut r = SplitMix64::new((nanos as u64) ^ u64::from(std::process::id()).rotate_left(32));
        // UUID v4: version nibble 4, variant bits 10.
        let a = r.next_u64() & !0xf000 | 0x4000;
        let b = (r.next_u64() & !0xc000 | 0x8000) as u16;
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        let digits: [u8; 20] = hex(&bytes);
        let mut prefix = [b'-'; 24];
        prefix[..8].copy_from_slice(&digits[..8]);
        prefix[9..13].copy_from_slice(&digits[8..12]);
        prefix[14..18].copy_from_slice(&digits[12..16]);
        prefix[19..23].copy_from_slice(&digits[16..20]);
        Base { prefix, start: r.next_u64() }
    });
    thread_local! {
        /// This thread's next count and the end of its run.
        static RUN: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    let count = RUN.with(|run| {
        let (mut next, mut end) = run.get();
        if next == end {
            next = COUNTER.fetch_add(ID_RUN, Ordering::Relaxed);
            end = next + ID_RUN;
        }
        run.set((next + 1, end));
        next
    });
    let n = base.start.wrapping_add(count);
    let mut out = [0u8; 36];
    out[..24].copy_from_slice(&base.prefix);
    let low: [u8; 6] = n.to_be_bytes()[2..].try_into().expect("six bytes");
    out[24..].copy_from_slice(&hex::<6, 12>(&low));
    RequestId(out)
}

/// How many counts a thread takes at once for its request ids.
const ID_RUN: u64 = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4', "{a}");
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{a}");
        assert_eq!(a.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{a}");
    }

    #[test]
    fn ids_made_on_many_threads_are_all_distinct() {
        // Each thread runs past the end of its first run of counts, so runs are taken and interleaved.
        let per_thread = 3 * ID_RUN as usize;
        let ids: Vec<Vec<RequestId>> = std::thread::scope(|s| {
            let threads: Vec<_> =
                (0..4).map(|_| s.spawn(move || (0..per_thread).map(|_| request_id()).collect())).collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let all: std::collections::HashSet<&str> = ids.iter().flatten().map(|id| &**id).collect();
        assert_eq!(all.len(), 4 * per_thread);
    }
}
