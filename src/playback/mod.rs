//! Answering a request from cassettes: what `replay` serves and what `record` plays back before it forwards.
//!
//! | file | holds |
//! |---|---|
//! | this one | [`Playback`]: find the next recorded answer for a request ([`Found`]) or say why none ([`Missing`]) |
//! | [`library`] | the loaded cassettes, each interaction an [`Entry`] indexed by its match key |
//! | [`answers`] | where answers live: in memory up to a budget, else read back from the cassette file |
//! | [`encode`] | a recorded response re-encoded in the caller's protocol |
//! | `state` | recorded order per request key, the `--repeat` policy, the memo of requests already matched |
//! | [`guide`] | the [`Guide`] for a request nothing answers |
//!
//! Requests are matched on their redacted, canonical input documents (see [`crate::matching`]), each cassette
//! by its own matchers; identical requests recorded several times are answered in recorded order, then by the
//! [`Repeat`] policy. The session's [`Redactor`] is shared with whoever records in the same session, so both
//! see the same placeholders.

pub mod answers;
pub mod encode;
pub mod guide;
pub mod library;
mod state;

pub use guide::{GUIDE_MAX_BODY, Guide};
pub use library::{FileStamp, Library};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use serde_json::Value;

use crate::cassette::CassetteError;
use crate::cassette::redact::Redactor;
use crate::matching::Matcher;
use crate::model::Operation;
use crate::protocol::RequestId;
use crate::protocol::{self, Protocol};
use crate::reporting::count;
use state::{Played, State};

/// What happens when a request's recorded answers have all been played.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Repeat {
    /// Answer with the last recorded answer again (default).
    Last,
    /// Start again from the first.
    Cycle,
    /// Answer UnmatchedRequestException.
    Error,
}

/// The default [`PlaybackConfig::resident_answers`]: 16 MiB (some 7,000 pages of 2.4 KB).
pub const RESIDENT_ANSWERS_DEFAULT: usize = 16 << 20;

/// What a playback answers from, and how.
#[derive(Clone, Debug)]
pub struct PlaybackConfig {
    /// Cassette files or directories.
    pub cassettes: Vec<PathBuf>,
    /// Overrides every cassette's own `match_rules`.
    pub match_on: Option<Vec<Matcher>>,
    /// Past the recorded answers of a request.
    pub repeat: Repeat,
    /// Bytes of JSON answers held in memory; answers past it are read back from the cassette file when
    /// served (see `answers.rs`).
    pub resident_answers: usize,
}

impl PlaybackConfig {
    /// Each cassette's own matchers, `--repeat last`, the default memory budget.
    pub fn new(cassettes: Vec<PathBuf>) -> PlaybackConfig {
        PlaybackConfig { cassettes, match_on: None, repeat: Repeat::Last, resident_answers: RESIDENT_ANSWERS_DEFAULT }
    }
}

/// A request nothing answered, kept for `--strict`.
#[derive(Clone, Debug)]
pub struct Miss {
    /// The protocol it spoke.
    pub protocol: Protocol,
    /// Its input document, redacted.
    pub body: Value,
    /// Why nothing answered it.
    pub guide: Guide,
}

/// What a playback session saw: for `--strict` and tests.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Requests answered from a recording.
    pub served: u64,
    /// Requests no recording answered.
    pub unmatched: u64,
    /// Of those, how many `--simulate` answered from the service the cassettes show.
    pub simulated: u64,
    /// The first 100 of them (`MISSES_KEPT`), with their guides.
    pub misses: Vec<Miss>,
    /// `(cassette path, interaction index)` of interactions never played.
    pub unplayed: Vec<(PathBuf, usize)>,
}

impl Tally {
    /// One line: what was answered, missed, simulated and never played.
    pub fn summary(&self) -> String {
        summary(self.served, self.unmatched, self.simulated, self.unplayed.len())
    }

    /// Nothing missed and everything played.
    pub fn is_clean(&self) -> bool {
        self.unmatched == 0 && self.unplayed.is_empty()
    }
}

/// [`Tally::summary`]'s line from the counts alone.
pub fn summary(served: u64, unmatched: u64, simulated: u64, unplayed: usize) -> String {
    format!(
        "{} answered from recordings, {unmatched} unmatched{}, {} never played",
        count(served, "request", "requests"),
        if simulated > 0 { format!(" ({simulated} answered by --simulate)") } else { String::new() },
        count(unplayed as u64, "interaction", "interactions"),
    )
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for (i, m) in self.misses.iter().enumerate() {
            writeln!(f, "unmatched #{}: {} {}", i + 1, m.protocol, m.body)?;
        }
        if self.unmatched > self.misses.len() as u64 {
            writeln!(f, "(and {} more unmatched, not kept)", self.unmatched - self.misses.len() as u64)?;
        }
        for (p, i) in &self.unplayed {
            writeln!(f, "never played: {} interaction {i}", p.display())?;
        }
        Ok(())
    }
}

/// Why [`Playback::find`] found nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Missing {
    /// The body is not a document of the protocol.
    Undecodable(String),
    /// Nothing recorded answers it: the guide explains what is closest and how to fix it.
    Unmatched(Box<Guide>),
}

/// A recorded answer found for a request.
pub struct Found {
    library: Arc<Library>,
    idx: usize,
}

impl Found {
    /// The latency recorded with it.
    pub fn elapsed(&self) -> Duration {
        self.library.elapsed(self.idx)
    }

    /// The answer, encoded for a caller speaking `p`.
    pub fn response(&self, p: Protocol, request_id: &RequestId) -> Response<Bytes> {
        self.library.response(self.idx, p, request_id)
    }
}

/// Answers requests from cassettes.
pub struct Playback {
    config: PlaybackConfig,
    redactor: Arc<Redactor>,
    play: Mutex<State>,
}

impl Playback {
    /// Loads the cassettes. `redactor` redacts incoming requests as the recording was redacted: the
    /// session's one redactor.
    pub fn new(config: PlaybackConfig, redactor: Arc<Redactor>) -> Result<Playback, CassetteError> {
        let library = Arc::new(Library::load(&config.cassettes, config.match_on.as_deref(), config.resident_answers)?);
        Ok(Playback { play: Mutex::new(State::new(library, Vec::new(), 0, 0)), config, redactor })
    }

    /// What it answers from.
    pub fn config(&self) -> &PlaybackConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.play.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The library in use.
    pub fn library(&self) -> Arc<Library> {
        self.lock().library.clone()
    }

    /// Swaps in a freshly loaded library (live reload); play positions start over, misses are kept.
    pub fn reload(&self) -> Result<(), CassetteError> {
        let c = &self.config;
        let library = Arc::new(Library::load(&c.cassettes, c.match_on.as_deref(), c.resident_answers)?);
        let mut play = self.lock();
        let misses = std::mem::take(&mut play.misses);
        *play = State::new(library, misses, play.unmatched, play.served);
        Ok(())
    }

    /// Served, unmatched, and never played so far, as counts: cheap enough to ask every second of a long
    /// session ([`Playback::report`] lists every unplayed interaction).
    pub fn counts(&self) -> (u64, u64, usize) {
        let play = self.lock();
        (play.served, play.unmatched, play.library.len() - play.played_count())
    }

    /// What was served, missed, and never played so far.
    pub fn report(&self) -> Tally {
        let play = self.lock();
        let unplayed = (0..play.library.len())
            .filter(|i| !play.was_played(*i))
            .map(|i| {
                let (path, index) = play.library.place(i);
                (path.to_path_buf(), index)
            })
            .collect();
        Tally { served: play.served, unmatched: play.unmatched, simulated: 0, misses: play.misses.clone(), unplayed }
    }

    /// Finds the next recorded answer for a request body in a protocol, moving play positions on.
    pub fn find(&self, p: Protocol, operation: Operation, body: &Bytes) -> Result<Found, Missing> {
        match self.pick_seen(p, operation, body) {
            Some(found) => Ok(found),
            None => self.find_decoded(p, operation, body),
        }
    }

    /// The next recorded answer for a request, as [`Playback::find`] finds it, encoded for `p`, its headers in
    /// `headers` (the request's own map, cleared: see [`protocol::output_response_in`]). A body seen before
    /// whose answer is held in memory is answered under the play state's lock, from the library the state
    /// holds, so that no count of the library is taken and given back.
    pub fn answer(
        &self,
        p: Protocol,
        operation: Operation,
        body: &Bytes,
        request_id: &RequestId,
        headers: http::HeaderMap,
    ) -> Result<Response<Bytes>, Missing> {
        let found = {
            let mut play = self.lock();
            match self.next_seen(&mut play, p, operation, body) {
                Some(idx) if play.library.holds(idx) => {
                    return Ok(play.library.response_in(headers, idx, p, request_id));
                }
                Some(idx) => Some(Found { library: play.library.clone(), idx }),
                None => None,
            }
        };
        match found {
            Some(found) => Ok(found.response(p, request_id)),
            None => self.find_decoded(p, operation, body).map(|found| found.response(p, request_id)),
        }
    }

    /// [`Playback::find`] for a body not seen before (or whose answers ran out): decoded, redacted and
    /// matched. Cold, so that the path of a body seen before stays short.
    #[cold]
    fn find_decoded(&self, p: Protocol, operation: Operation, body: &Bytes) -> Result<Found, Missing> {
        let mut input = protocol::decode_document(p, body).map_err(|e| Missing::Undecodable(e.into()))?;
        self.redactor.document(&mut input);
        self.pick(p, operation, body, &input).map_err(Missing::Unmatched)
    }

    /// The entry for a request whose exact bytes matched before, if they did and it has one left to play
    /// (else [`Playback::pick`] explains, from the decoded request).
    fn pick_seen(&self, protocol: Protocol, operation: Operation, raw: &[u8]) -> Option<Found> {
        let mut play = self.lock();
        let idx = self.next_seen(&mut play, protocol, operation, raw)?;
        Some(Found { library: play.library.clone(), idx })
    }

    /// The interaction to play next for request bytes that matched before, moving its group's play position
    /// on; none when the bytes did not match before or their group has no answer left to play.
    fn next_seen(&self, play: &mut State, protocol: Protocol, operation: Operation, raw: &[u8]) -> Option<usize> {
        let group = play.seen(protocol, operation, raw)?;
        match play.advance(group, self.config.repeat) {
            Played::Entry(idx) => Some(idx),
            Played::Exhausted { .. } => None,
        }
    }

    /// Picks the entry that answers this request, or explains why none does. The explanation reads every
    /// recorded request, so it is written without the lock: other requests go on being answered meanwhile.
    fn pick(&self, protocol: Protocol, operation: Operation, raw: &Bytes, input: &Value) -> Result<Found, Box<Guide>> {
        let library = {
            let mut play = self.lock();
            let library = play.library.clone();
            if let Some(group) = library.group(protocol, operation, input) {
                play.remember(protocol, operation, raw, group);
                return self.play_group(&mut play, group, protocol, input);
            }
            library
        };
        let bytes = raw.len();
        let oversized = bytes > GUIDE_MAX_BODY;
        let guide = match oversized {
            true => Guide::Oversized { protocol, operation, bytes },
            false => Guide::unmatched(&library, protocol, operation, input, Some(&self.config.cassettes)),
        };
        self.lock().missed(|| Miss {
            protocol,
            body: match oversized {
                true => Value::String(format!("(a {bytes}-byte body, not kept)")),
                false => input.clone(),
            },
            guide: guide.clone(),
        });
        Err(Box::new(guide))
    }

    fn play_group(
        &self,
        play: &mut State,
        group: usize,
        protocol: Protocol,
        input: &Value,
    ) -> Result<Found, Box<Guide>> {
        match play.advance(group, self.config.repeat) {
            Played::Entry(idx) => Ok(Found { library: play.library.clone(), idx }),
            Played::Exhausted { answers, first } => {
                let (cassette, index) = play.library.place(first);
                let guide = Guide::Exhausted { answers, cassette: cassette.to_path_buf(), index };
                play.missed(|| Miss { protocol, body: input.clone(), guide: guide.clone() });
                Err(Box::new(guide))
            }
        }
    }
}
