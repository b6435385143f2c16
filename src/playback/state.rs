//! The play state: how far each group of identical requests has been played, which interactions were, the
//! misses, and the memo of request bytes already matched. One [`State`] per library; a reload starts it over.
//!
//! Sized by what it must remember, whatever the requests: four bytes a group and a bit an interaction for
//! the positions, the first [`MISSES_KEPT`] misses (and a count of all), and a memo of at most [`MEMO_BYTES`].

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::library::Library;
use super::{Miss, Repeat};
use crate::model::Operation;
use crate::protocol::Protocol;

/// How many misses a session keeps for its report (with their guides); past them it counts.
pub const MISSES_KEPT: usize = 100;

/// The bytes the memo of matched requests may hold, its bookkeeping counted: some 25,000 requests of SDK size.
pub const MEMO_BYTES: usize = 4 << 20;

/// What a memo entry costs besides its bytes: the map's slot and the allocation's header.
const MEMO_OVERHEAD: usize = 64;

pub(super) struct State {
    pub(super) library: Arc<Library>,
    /// Per group: how many of its answers have been played.
    cursors: Vec<u32>,
    /// One bit per interaction: played yet?
    played: Vec<u64>,
    /// The first misses.
    pub(super) misses: Vec<Miss>,
    /// Every miss.
    pub(super) unmatched: u64,
    /// Every answer played (counted here, under the lock taken anyway, rather than in an atomic of its own).
    pub(super) served: u64,
    /// Request bytes already matched, one map per protocol (`Protocol as usize`), to their group: a repeated
    /// request (SDKs send identical bytes for identical requests) skips parsing, redaction and key building.
    /// Looked up by the bytes themselves, so a lookup clones nothing. Filled only on matches, with copies (a
    /// request's bytes may share a buffer far larger than they are), up to [`MEMO_BYTES`]; then it starts
    /// over, so it follows the requests that repeat now. Rebuilt with the state on reload.
    seen: [HashMap<Bytes, u32, FxBuildHasher>; Protocol::ALL.len() * Operation::ALL.len()],
    seen_bytes: usize,
}

/// The memo of requests in `protocol` calling `operation`.
fn memo(protocol: Protocol, operation: Operation) -> usize {
    protocol as usize * Operation::ALL.len() + operation as usize
}

/// What playing a group gave: the entry to answer with, or, past the recorded answers under
/// `Repeat::Error`, how many there were and the first of them.
pub(super) enum Played {
    Entry(usize),
    Exhausted { answers: usize, first: usize },
}

impl State {
    /// Fresh play positions over a library; misses carry over a reload.
    pub(super) fn new(library: Arc<Library>, misses: Vec<Miss>, unmatched: u64, served: u64) -> State {
        State {
            served,
            cursors: vec![0; library.groups()],
            played: vec![0; library.len().div_ceil(64)],
            misses,
            unmatched,
            seen: Default::default(),
            seen_bytes: 0,
            library,
        }
    }

    /// The group whose request had exactly these bytes before, if one did.
    pub(super) fn seen(&self, protocol: Protocol, operation: Operation, raw: &[u8]) -> Option<usize> {
        self.seen[memo(protocol, operation)].get(raw).map(|g| *g as usize)
    }

    /// Remembers that these bytes matched `group`.
    pub(super) fn remember(&mut self, protocol: Protocol, operation: Operation, raw: &[u8], group: usize) {
        let cost = raw.len() + MEMO_OVERHEAD;
        if cost > MEMO_BYTES / 16 {
            return;
        }
        if self.seen_bytes + cost > MEMO_BYTES {
            self.seen = Default::default();
            self.seen_bytes = 0;
        }
        if self.seen[memo(protocol, operation)].insert(Bytes::copy_from_slice(raw), group as u32).is_none() {
            self.seen_bytes += cost;
        }
    }

    /// Keeps a miss, while fewer than [`MISSES_KEPT`] are kept, and counts it.
    pub(super) fn missed(&mut self, miss: impl FnOnce() -> Miss) {
        self.unmatched += 1;
        if self.misses.len() < MISSES_KEPT {
            self.misses.push(miss());
        }
    }

    /// How many interactions have been played (a count of the bits, no list built).
    pub(super) fn played_count(&self) -> usize {
        self.played.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether interaction `idx` has been played.
    pub(super) fn was_played(&self, idx: usize) -> bool {
        self.played[idx / 64] & (1 << (idx % 64)) != 0
    }

    /// Plays the next answer of a group, by the repeat policy once its recorded answers are used up.
    pub(super) fn advance(&mut self, group: usize, repeat: Repeat) -> Played {
        let list = self.library.group_members(group);
        let n = &mut self.cursors[group];
        let at = *n as usize;
        let slot = if at < list.len() {
            at
        } else {
            match repeat {
                Repeat::Last => list.len() - 1,
                Repeat::Cycle => at % list.len(),
                Repeat::Error => return Played::Exhausted { answers: list.len(), first: list[0] as usize },
            }
        };
        // Past the first pass the count stays within [len, 2 len), which plays the same slots.
        let next = at + 1;
        *n = (if next >= 2 * list.len() { list.len() } else { next }) as u32;
        let idx = list[slot] as usize;
        self.played[idx / 64] |= 1 << (idx % 64);
        self.served += 1;
        Played::Entry(idx)
    }
}

/// The Fx hash (rustc's), a word at a time, for the replay server's memo of request bytes it has matched:
/// SipHash was 1.5% of a replayed request's instructions. Not keyed, so only for maps that hostile input
/// cannot grow: the memo takes only requests that matched a recording, and is bounded.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("chunks of 8")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ (rest.len() as u64) << 59);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`FxHasher`]s, for `HashMap::with_hasher`.
pub(crate) type FxBuildHasher = std::hash::BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn golden_library() -> Arc<Library> {
        let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cassettes/boto3-walk.json"));
        Arc::new(Library::load(&[path], None, 0).unwrap())
    }

    #[test]
    fn the_memo_and_the_misses_stay_within_their_bounds_whatever_arrives() {
        let mut state = State::new(golden_library(), Vec::new(), 0, 0);
        // A million distinct requests, each a kilobyte-sized slice of one big buffer (as a connection's read
        // buffer may hand them over): the memo holds copies, within its budget, and keeps the latest.
        let buffer = Bytes::from(vec![b'x'; 1 << 20]);
        let request = |i: usize| {
            let mut body = buffer.slice(i % 1000..i % 1000 + 200 + i % 7).to_vec();
            body[..8].copy_from_slice(&(i as u64).to_le_bytes());
            body
        };
        let mut held = 0;
        for i in 0..1_000_000usize {
            state.remember(Protocol::AwsJson11, Operation::default(), &request(i), 0);
            assert!(state.seen_bytes <= MEMO_BYTES, "{i}");
            held = held.max(state.seen.iter().map(HashMap::len).sum::<usize>());
        }
        assert!(held > 10_000, "the memo remembers many: {held}");
        let last = request(999_999);
        assert_eq!(
            state.seen(Protocol::AwsJson11, Operation::default(), &last),
            Some(0),
            "the latest request is remembered"
        );
        assert_eq!(state.seen(Protocol::RpcV2Cbor, Operation::default(), &last), None, "per protocol");
        assert_eq!(state.seen(Protocol::AwsJson11, Operation::RxNorm, &last), None, "per operation");
        // Misses: the first ones kept, every one counted.
        let guide = super::super::Guide::Exhausted { answers: 1, cassette: "c.json".into(), index: 0 };
        let miss = || Miss { protocol: Protocol::AwsJson11, body: serde_json::Value::Null, guide: guide.clone() };
        for _ in 0..10_000 {
            state.missed(miss);
        }
        assert_eq!((state.misses.len(), state.unmatched), (MISSES_KEPT, 10_000));
    }

    #[test]
    fn repeat_policies_play_the_recorded_order_then_last_cycle_or_none() {
        let library = golden_library();
        let g = (0..library.groups()).find(|g| library.group_members(*g).len() == 1).unwrap();
        let only = library.group_members(g)[0] as usize;
        let mut state = State::new(library.clone(), Vec::new(), 0, 0);
        assert!(!state.was_played(only));
        for _ in 0..5 {
            assert!(matches!(state.advance(g, Repeat::Cycle), Played::Entry(i) if i == only));
        }
        assert!(state.was_played(only));
        assert!(matches!(state.advance(g, Repeat::Last), Played::Entry(i) if i == only));
        assert!(matches!(state.advance(g, Repeat::Error), Played::Exhausted { answers: 1, first } if first == only));
    }

    #[test]
    fn fx_hashes_tell_apart_bodies_that_differ_in_a_byte_or_in_length() {
        use std::hash::BuildHasher;
        let h = |b: &[u8]| FxBuildHasher::default().hash_one(b);
        let base = br#"{"MaxResults": 4, "NextToken": "abc"}"#.to_vec();
        let mut seen = std::collections::HashSet::new();
        seen.insert(h(&base));
        for i in 0..base.len() {
            let mut b = base.clone();
            b[i] ^= 1;
            assert!(seen.insert(h(&b)), "byte {i}");
        }
        for n in 0..base.len() {
            assert!(seen.insert(h(&base[..n])), "prefix of {n}");
        }
        // A trailing zero byte is not the same key as its absence.
        assert_ne!(h(b"abc"), h(b"abc\0"));
    }
}
