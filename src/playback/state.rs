//! The play state: how far each group of identical requests has been played, which interactions were, the
//! misses, and the memo of request bytes already matched. One [`State`] per library; a reload starts it over.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::library::Library;
use super::{Miss, Repeat};
use crate::protocol::Protocol;

pub(super) struct State {
    pub(super) library: Arc<Library>,
    /// Per group: how many of its answers have been played.
    cursors: Vec<usize>,
    pub(super) played: Vec<bool>,
    pub(super) misses: Vec<Miss>,
    /// Request bytes already matched, one map per protocol (`Protocol as usize`), to their group: a repeated
    /// request (SDKs send identical bytes for identical requests) skips parsing, redaction and key building.
    /// Looked up by the bytes themselves, so a lookup clones nothing. Filled only on matches, and bounded;
    /// rebuilt with the state on reload.
    seen: [HashMap<Bytes, usize, FxBuildHasher>; Protocol::ALL.len()],
}

/// What playing a group gave: the entry to answer with, or, past the recorded answers under
/// `Repeat::Error`, how many there were and the first of them.
pub(super) enum Played {
    Entry(usize),
    Exhausted { answers: usize, first: usize },
}

impl State {
    /// Fresh play positions over a library; misses carry over a reload.
    pub(super) fn new(library: Arc<Library>, misses: Vec<Miss>) -> State {
        State {
            cursors: vec![0; library.groups.len()],
            played: vec![false; library.entries.len()],
            misses,
            seen: Default::default(),
            library,
        }
    }

    /// The group whose request had exactly these bytes before, if one did.
    pub(super) fn seen(&self, protocol: Protocol, raw: &[u8]) -> Option<usize> {
        self.seen[protocol as usize].get(raw).copied()
    }

    /// Remembers that these bytes matched `group`, while the memo is under its bound.
    pub(super) fn remember(&mut self, protocol: Protocol, raw: &Bytes, group: usize) {
        let memo_len: usize = self.seen.iter().map(HashMap::len).sum();
        if memo_len < 4 * self.library.entries.len() + 1024 {
            self.seen[protocol as usize].insert(raw.clone(), group);
        }
    }

    /// Plays the next answer of a group, by the repeat policy once its recorded answers are used up.
    pub(super) fn advance(&mut self, group: usize, repeat: Repeat) -> Played {
        let list = &self.library.groups[group];
        let n = &mut self.cursors[group];
        let slot = if *n < list.len() {
            *n
        } else {
            match repeat {
                Repeat::Last => list.len() - 1,
                Repeat::Cycle => *n % list.len(),
                Repeat::Error => return Played::Exhausted { answers: list.len(), first: list[0] },
            }
        };
        *n += 1;
        let idx = list[slot];
        self.played[idx] = true;
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
