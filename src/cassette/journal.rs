//! The recording journal: an append-only JSON Lines file beside the cassette (`NAME.json.journal`).
//!
//! The first line is a header saying how to finish the recording (mode, upstream, region, rules); each later
//! line is one complete, already redacted interaction, handed to the kernel before its response goes back to
//! the client. A crash, `kill -9` included, loses nothing that was answered. A restarted `record` resumes the
//! journal ([`Journal::resume`]: a further header line marks the new session, and its interactions follow),
//! so a restart costs nothing whatever the journal holds; the journal is folded into the cassette when a
//! session finishes within its shutdown budget, or by `record --recover` (see [`super::store::fold`]). A torn
//! last line (a crash mid-write, whose response was never sent) is dropped with a warning.
//!
//! Writes are group commits: appending queues the line, a writer thread writes everything queued with one
//! `write`, and each caller waits ([`Journal::written`]) until its own line is out. Under concurrent traffic
//! one system call carries many interactions; a lone request pays one thread hand-off.
//!
//! The line format, its writer and its reader are all here: [`LineHead`] and [`line_with_json_body`] build
//! the proxy's lines, [`Reader`] reads them back.

use crate::cassette::error::{CassetteError, Doing};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use serde::{Deserialize, Serialize};

use super::{Interaction, RecordedRequest};

pub use super::store::journal_path;

/// The journal's first line, and the first line of each resumed session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// The journal format version, 1.
    pub journal: u32,
    /// The record mode (`once`, `new_episodes`, `all`, `none`).
    pub mode: String,
    /// The upstream URL.
    pub upstream: String,
    /// The signing region.
    pub region: String,
    /// The matchers a new cassette gets.
    pub match_rules: Vec<String>,
    /// What this session keeps that redaction replaces by default (`["accounts"]`), for the cassette's header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

/// An open journal. Sequence numbers are assigned in append order, and lines are written in that order.
pub struct Journal {
    path: PathBuf,
    file: Arc<File>,
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// What appenders and the writer thread share.
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer when lines are queued (or the journal closes).
    queued: Condvar,
    /// Wakes blocking waiters when lines are written.
    written_cv: Condvar,
    /// Wakes async waiters when lines are written.
    written: tokio::sync::Notify,
    /// Set when the journal is created inside a tokio runtime (as `record` does).
    relay: Option<Arc<Relay>>,
}

/// Carries the writer thread's news to the async waiters through one task on their runtime: the thread wakes
/// that task once per batch, and the task wakes the waiters from inside the runtime. Waking each waiting task
/// from the writer thread instead costs the runtime one system call per task (measured with strace: about one
/// extra `write` per proxied request on the single-threaded runtime).
struct Relay {
    wake: tokio::sync::Notify,
    stop: std::sync::atomic::AtomicBool,
}

struct State {
    /// Lines queued and not yet taken by the writer.
    pending: Vec<u8>,
    /// The next sequence number: how many interactions were appended.
    next_seq: u64,
    /// How many interactions have been written.
    written: u64,
    /// The first write error; every later append and wait fails with it.
    failed: Option<String>,
    closing: bool,
}

impl State {
    /// Whether interaction `seq` is written; the write error if writing failed.
    fn has_written(&self, seq: u64) -> Result<bool, CassetteError> {
        if self.written > seq {
            return Ok(true);
        }
        match &self.failed {
            Some(e) => Err(CassetteError::invalid(e.to_string())),
            None => Ok(false),
        }
    }
}

impl Journal {
    /// Creates a journal (failing if one exists: it must be resumed or folded).
    pub fn create(path: &Path, header: &JournalHeader) -> Result<Journal, CassetteError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).doing(|| format!("cannot create directory '{}'", dir.display()))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .doing(|| format!("cannot create journal '{}'", path.display()))?;
        Journal::start(path, file, header)
    }

    /// Resumes the journal an unfinished session left: a torn last line (never answered) is cut off, and a
    /// header line for this session goes after what is there. Nothing is read but the first line and the
    /// tail, so resuming costs the same for a journal of any size. A session in another mode than the
    /// journal's first is refused: the fold would not know which one to follow.
    pub fn resume(path: &Path, header: &JournalHeader) -> Result<Journal, CassetteError> {
        let first = read_first_header(path)?;
        if first.mode != header.mode {
            return Err(CassetteError::invalid(format!(
                "{}: an unfinished recording in mode '{}' is in this journal, and this session's mode is '{}': \
                 resume it with --mode {}, or fold it into the cassette first with `{} record --recover --cassette {}`",
                path.display(),
                first.mode,
                header.mode,
                first.mode,
                crate::program::program(),
                crate::program::quote(path.display().to_string().trim_end_matches(".journal"))
            )));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .doing(|| format!("cannot open journal '{}'", path.display()))?;
        let complete = complete_len(&mut file).doing(|| format!("cannot read journal '{}'", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(complete);
        if complete < len {
            tracing::warn!(journal = %path.display(), bytes = len - complete, "dropping a torn last line (its response was never sent)");
            file.set_len(complete).doing(|| format!("cannot cut journal '{}'", path.display()))?;
        }
        drop(file);
        let file =
            OpenOptions::new().append(true).open(path).doing(|| format!("cannot open journal '{}'", path.display()))?;
        Journal::start(path, file, header)
    }

    /// Writes `header` as a line, syncs, and starts the writer.
    fn start(path: &Path, mut file: File, header: &JournalHeader) -> Result<Journal, CassetteError> {
        let mut line = serde_json::to_vec(header).expect("headers serialize");
        line.push(b'\n');
        file.write_all(&line).doing(|| format!("cannot write journal '{}'", path.display()))?;
        file.sync_all().doing(|| format!("cannot sync journal '{}'", path.display()))?;
        let file = Arc::new(file);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let relay = runtime.as_ref().map(|_| {
            Arc::new(Relay { wake: tokio::sync::Notify::new(), stop: std::sync::atomic::AtomicBool::new(false) })
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State { pending: Vec::new(), next_seq: 0, written: 0, failed: None, closing: false }),
            queued: Condvar::new(),
            written_cv: Condvar::new(),
            written: tokio::sync::Notify::new(),
            relay: relay.clone(),
        });
        if let (Some(runtime), Some(relay)) = (runtime, relay) {
            let shared = Arc::downgrade(&shared);
            runtime.spawn(async move {
                loop {
                    relay.wake.notified().await;
                    match shared.upgrade() {
                        Some(shared) if !relay.stop.load(std::sync::atomic::Ordering::Acquire) => {
                            shared.written.notify_waiters()
                        }
                        _ => break,
                    }
                }
            });
        }
        let writer = {
            let (file, shared, path) = (file.clone(), shared.clone(), path.to_path_buf());
            std::thread::Builder::new()
                .name("journal-writer".into())
                .spawn(move || write_loop(&file, &shared, &path))
                .doing(|| "cannot start the journal writer thread".into())?
        };
        Ok(Journal { path: path.to_path_buf(), file, shared, writer: Some(writer) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one interaction, numbering it, and waits until it is written (for callers outside async
    /// code). Returns it as written.
    pub fn append(&self, mut interaction: Interaction) -> Result<Interaction, CassetteError> {
        let seq = self.append_with(|seq| {
            interaction.seq = seq;
            &interaction
        })?;
        self.written_blocking(seq)?;
        Ok(interaction)
    }

    /// Queues the entry `build` makes from its sequence number; anything that serializes as an interaction
    /// will do (the proxy writes responses as raw JSON text). Returns the sequence number: wait for
    /// [`Journal::written`] before answering the request it records.
    pub fn append_with<T: Serialize>(&self, build: impl FnOnce(u64) -> T) -> Result<u64, CassetteError> {
        self.queue(|seq, pending| {
            serde_json::to_writer(pending, &build(seq))
                .map_err(|e| CassetteError::invalid(format!("serializing an interaction: {e}")))
        })
    }

    /// Queues an interaction already serialized as one JSON object without its `seq` member, which this adds
    /// first (`{"seq":N,` then the rest of `object`). The object must be one line of compact JSON holding at
    /// least one member. Returns the sequence number, as [`Journal::append_with`] does.
    pub fn append_object(&self, object: &[u8]) -> Result<u64, CassetteError> {
        let members = match object {
            [b'{', members @ .., b'}'] if !members.is_empty() && memchr::memchr(b'\n', object).is_none() => members,
            _ => {
                return Err(CassetteError::invalid(
                    "a journal line must be a one-line JSON object with members".to_string(),
                ));
            }
        };
        self.queue(|seq, pending| {
            write!(pending, "{{\"seq\":{seq},").expect("writing to memory");
            pending.extend_from_slice(members);
            pending.push(b'}');
            Ok(())
        })
    }

    /// Numbers the next line, lets `write` put it on the queue (without its newline), and wakes the writer if
    /// the queue was empty. A line whose writing fails is taken off again, so no partial line is ever written.
    fn queue(&self, write: impl FnOnce(u64, &mut Vec<u8>) -> Result<(), CassetteError>) -> Result<u64, CassetteError> {
        let mut state = self.lock();
        if let Some(e) = &state.failed {
            return Err(CassetteError::invalid(e.to_string()));
        }
        let seq = state.next_seq;
        let start = state.pending.len();
        if let Err(e) = write(seq, &mut state.pending) {
            state.pending.truncate(start);
            return Err(e);
        }
        state.pending.push(b'\n');
        state.next_seq += 1;
        drop(state);
        if start == 0 {
            self.shared.queued.notify_one();
        }
        Ok(seq)
    }

    /// Waits until interaction `seq` is written.
    pub async fn written(&self, seq: u64) -> Result<(), CassetteError> {
        loop {
            let notified = self.shared.written.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().has_written(seq)? {
                return Ok(());
            }
            notified.await;
        }
    }

    /// [`Journal::written`], blocking the thread.
    pub fn written_blocking(&self, seq: u64) -> Result<(), CassetteError> {
        let mut state = self.lock();
        while !state.has_written(seq)? {
            state = self.shared.written_cv.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        Ok(())
    }

    /// How many interactions were appended.
    pub fn appended(&self) -> u64 {
        self.lock().next_seq
    }

    /// [`Journal::sync`], and refuses every later append: what the journal holds is final, to be folded.
    pub fn seal(&self) -> Result<(), CassetteError> {
        self.sync()?;
        self.lock().failed.get_or_insert_with(|| format!("the recording to '{}' has finished", self.path.display()));
        Ok(())
    }

    /// Waits for everything appended to be written, then flushes to disk.
    pub fn sync(&self) -> Result<(), CassetteError> {
        let last = self.appended();
        if last > 0 {
            self.written_blocking(last - 1)?;
        }
        self.file.sync_all().doing(|| format!("cannot sync journal '{}'", self.path.display()))
    }
}

impl Drop for Journal {
    /// Writes what is queued, then stops the writer.
    fn drop(&mut self) {
        self.lock().closing = true;
        self.shared.queued.notify_one();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        if let Some(relay) = &self.shared.relay {
            relay.stop.store(true, std::sync::atomic::Ordering::Release);
            relay.wake.notify_one();
        }
    }
}

/// The writer thread: takes everything queued, writes it with one call, and tells the waiters.
fn write_loop(file: &File, shared: &Shared, path: &Path) {
    let mut batch = Vec::new();
    let mut cache = CacheTrim::default();
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.pending.is_empty() && !state.closing {
                state = shared.queued.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
        // Let the thread that woke us go on (on a busy core, it queues more lines meanwhile): one write then
        // carries them all.
        std::thread::yield_now();
        let target = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.pending.is_empty() {
                return;
            }
            std::mem::swap(&mut batch, &mut state.pending);
            state.next_seq
        };
        let result = (&*file).write_all(&batch);
        if result.is_ok() {
            cache.wrote(file, batch.len() as u64);
        }
        batch.clear();
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(()) => state.written = target,
                Err(e) => {
                    state.failed.get_or_insert_with(|| format!("cannot append to journal '{}': {e}", path.display()));
                }
            }
        }
        shared.written_cv.notify_all();
        match &shared.relay {
            Some(relay) => relay.wake.notify_one(),
            None => shared.written.notify_waiters(),
        }
    }
}

/// Keeps a long recording from filling the page cache with journal pages that nothing reads again: every
/// [`CacheTrim::STEP`] bytes, the writer asks the kernel to start writing the newest step to disk and to drop
/// the step before it, written by then. A proxy that has journaled gigabytes otherwise holds them all as
/// cache, and on this project's virtual machines every new page of cache then costs more: the proxy's CPU per
/// request rose from about 41 to 55 µs with 6 GB of memory taken, and fell back when it was freed. Durability
/// is unchanged: only pages already written to disk are dropped, and `kill -9` loses nothing either way.
#[derive(Default)]
struct CacheTrim {
    /// Bytes written so far.
    written: u64,
    /// Where the next step starts.
    next: u64,
}

impl CacheTrim {
    const STEP: u64 = 8 << 20;

    /// Counts `len` more bytes written. Once a whole step has piled up since the last one, the range to start
    /// writing back, `start..end`; everything before `start` was started a step ago and can be dropped.
    fn step(&mut self, len: u64) -> Option<(u64, u64)> {
        self.written += len;
        if self.written < self.next + Self::STEP {
            return None;
        }
        let range = (self.next, self.written);
        self.next = self.written;
        Some(range)
    }

    #[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
    fn wrote(&mut self, file: &File, len: u64) {
        let Some((start, end)) = self.step(len) else { return };
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = file.as_raw_fd();
            // SAFETY: both calls take a file descriptor this journal owns and byte ranges; neither touches
            // memory of ours. Failures are harmless (the cache is simply kept) and ignored.
            unsafe {
                libc::sync_file_range(fd, start as i64, (end - start) as i64, libc::SYNC_FILE_RANGE_WRITE);
                libc::posix_fadvise(fd, 0, start as i64, libc::POSIX_FADV_DONTNEED);
            }
        }
    }
}

/// The length of a file's complete lines: up to and including its last newline. Reads the tail only.
fn complete_len(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut block = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &block[..n]) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// A journal's first line, its header.
pub fn read_first_header(path: &Path) -> Result<JournalHeader, CassetteError> {
    let file = File::open(path).doing(|| format!("cannot read journal '{}'", path.display()))?;
    let mut first = Vec::new();
    std::io::BufReader::new(file)
        .read_until(b'\n', &mut first)
        .doing(|| format!("cannot read journal '{}'", path.display()))?;
    if !first.ends_with(b"\n") {
        return Err(CassetteError::invalid(format!("{}:1: empty journal (expected a header line)", path.display())));
    }
    serde_json::from_slice(&first)
        .map_err(|e| CassetteError::invalid(format!("{}:1: not a journal header: {e}", path.display())))
}

/// One line of a journal, as [`Reader`] hands it over.
#[derive(Debug)]
pub enum Line {
    /// A session's header (the first line, and one for each resumed session).
    Session(JournalHeader),
    /// A recorded interaction, its `seq` as the session wrote it.
    Interaction(Interaction),
}

/// Reads a journal line by line in a fixed amount of memory, whatever its size. A torn last line (no
/// newline: the writer died in the middle of it, before its response was sent) is dropped with a warning.
pub struct Reader {
    path: PathBuf,
    lines: std::io::BufReader<File>,
    line: Vec<u8>,
    number: usize,
}

impl Reader {
    /// Where the next line starts, in bytes from the file's start.
    pub fn offset(&mut self) -> std::io::Result<u64> {
        std::io::Seek::stream_position(&mut self.lines)
    }

    /// Opens a journal.
    pub fn open(path: &Path) -> Result<Reader, CassetteError> {
        let file = File::open(path).doing(|| format!("cannot read journal '{}'", path.display()))?;
        Ok(Reader {
            path: path.to_path_buf(),
            lines: std::io::BufReader::with_capacity(1 << 20, file),
            line: Vec::new(),
            number: 0,
        })
    }

    /// The next entry; `None` at the end.
    pub fn next_entry(&mut self) -> Result<Option<Line>, CassetteError> {
        self.line.clear();
        let n = self
            .lines
            .read_until(b'\n', &mut self.line)
            .doing(|| format!("cannot read journal '{}'", self.path.display()))?;
        if n == 0 {
            if self.number == 0 {
                return Err(CassetteError::invalid(format!(
                    "{}:1: empty journal (expected a header line)",
                    self.path.display()
                )));
            }
            return Ok(None);
        }
        self.number += 1;
        if !self.line.ends_with(b"\n") {
            tracing::warn!(journal = %self.path.display(), bytes = self.line.len(), "dropping a torn last line (its response was never sent)");
            if self.number == 1 {
                return Err(CassetteError::invalid(format!(
                    "{}:1: empty journal (expected a header line)",
                    self.path.display()
                )));
            }
            return Ok(None);
        }
        let line = &self.line[..self.line.len() - 1];
        if self.number == 1 || line.starts_with(b"{\"journal\":") {
            let header = serde_json::from_slice(line).map_err(|e| {
                CassetteError::invalid(format!("{}:{}: not a journal header: {e}", self.path.display(), self.number))
            })?;
            return Ok(Some(Line::Session(header)));
        }
        let it = parse_line(line)
            .map_err(|e| CassetteError::invalid(format!("{}:{}: {e}", self.path.display(), self.number)))?;
        Ok(Some(Line::Interaction(it)))
    }
}

/// One interaction line (without its newline). A response that is not the protocol's (JSON no document holds,
/// or a 2xx whose body is no output document, journaled as its text on the proxy's fast path) is kept
/// verbatim, as its text, so that the cassette loads and replay serves it as it came.
pub(crate) fn parse_line(line: &[u8]) -> Result<Interaction, serde_json::Error> {
    let verbatim = |e| std::str::from_utf8(line).ok().and_then(with_body_as_text).ok_or(e);
    match serde_json::from_slice::<Interaction>(line) {
        Ok(it)
            if (200..300).contains(&it.response.status)
                && !it.response.is_verbatim()
                && crate::model::check_types(&it.response.body, &crate::model::RESPONSE_SHAPE).is_err() =>
        {
            verbatim(serde::de::Error::custom("not an output document"))
        }
        Ok(it) => Ok(it),
        Err(e) => verbatim(e),
    }
}

/// Reads a whole journal: its first header and every complete interaction of every session, renumbered in
/// order. (Folding streams with [`Reader`] instead; this is for tests and small journals.)
pub fn read(path: &Path) -> Result<(JournalHeader, Vec<Interaction>), CassetteError> {
    let mut reader = Reader::open(path)?;
    let mut header = None;
    let mut interactions = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Line::Session(h) => {
                header.get_or_insert(h);
            }
            Line::Interaction(mut it) => {
                it.seq = interactions.len() as u64;
                interactions.push(it);
            }
        }
    }
    Ok((header.expect("the first entry is a header"), interactions))
}

/// What a line written by the proxy holds besides its `seq` (the journal adds it) and its response body
/// (JSON text, added after redaction): it reads back as an [`Interaction`].
#[derive(Serialize)]
pub struct LineHead<'a> {
    /// When the response arrived (absent in reproducible recordings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// How long the upstream took (absent in reproducible recordings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The request, redacted.
    pub request: &'a RecordedRequest,
    /// The response's status and kept headers.
    pub response: ResponseHead<'a>,
}

/// A response's status and kept headers.
#[derive(Serialize)]
pub struct ResponseHead<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The kept, redacted headers.
    pub headers: &'a BTreeMap<String, String>,
}

/// The line for an interaction whose response body is JSON text: `head`, then the text, redacted in place by
/// `redact` (which must keep it the same valid JSON, as placeholders of the same length do), for
/// [`Journal::append_object`]. `None` when the text is not JSON, or `redact` cannot work on text: the caller
/// then journals the interaction as a document. JSON that no document holds (`1e400`, a lone surrogate
/// escape) passes; [`Reader`] keeps such a body as text.
pub fn line_with_json_body(
    head: &LineHead<'_>,
    body: &[u8],
    redact: impl FnOnce(&mut [u8]) -> Option<()>,
) -> Option<Vec<u8>> {
    let is_json = |text: &[u8]| {
        std::str::from_utf8(text).is_ok_and(|t| serde_json::from_str::<&serde_json::value::RawValue>(t).is_ok())
    };
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    // A pretty-printed answer: once it is known to be JSON, its line breaks are whitespace (strings hold no
    // raw ones), and become spaces, as a journal entry is one line. Checked first, so that a raw line break
    // inside a string is refused rather than mended.
    let breaks = memchr::memchr2(b'\n', b'\r', body).is_some();
    if breaks && !is_json(body) {
        return None;
    }
    let json_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let first = body.iter().position(|c| !json_space(c))?;
    let last = body.iter().rposition(|c| !json_space(c))?;
    let mut line = Vec::with_capacity(last + 1 - first + 1024);
    serde_json::to_writer(&mut line, head).ok()?;
    // The head ends with its response object, `{"status":…,"headers":{…}}`: reopen it for the body.
    if !line.ends_with(b"}}") {
        return None;
    }
    line.truncate(line.len() - 2);
    line.extend_from_slice(b",\"body\":");
    let at = line.len();
    line.extend_from_slice(&body[first..=last]);
    let text = &mut line[at..];
    if breaks {
        text.iter_mut().filter(|c| matches!(**c, b'\n' | b'\r')).for_each(|c| *c = b' ');
    }
    redact(text)?;
    // Checked as journaled, once (redaction writes digits and hex over digits and hex).
    if !is_json(text) {
        return None;
    }
    line.extend_from_slice(b"}}");
    Some(line)
}

/// A line whose response body is not the protocol's (JSON no document holds, `1e400` or a lone surrogate
/// escape; a 2xx that is no output document): the proxy journals an answer's JSON text as it came, so here
/// the body is kept verbatim as that text, as a body that is not JSON at all is. Nothing the journal holds is
/// lost.
fn with_body_as_text(line: &str) -> Option<Interaction> {
    use super::{Encoding, RecordedResponse};
    use serde_json::value::RawValue;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line<'a> {
        seq: u64,
        #[serde(default)]
        recorded_at: Option<String>,
        #[serde(default)]
        elapsed_ms: Option<u64>,
        request: RecordedRequest,
        #[serde(borrow)]
        response: Response<'a>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Response<'a> {
        status: u16,
        headers: std::collections::BTreeMap<String, String>,
        #[serde(borrow)]
        body: &'a RawValue,
        // A CBOR body that decoded is a document; what is kept here verbatim is the journaled text.
        #[serde(default, rename = "encoding")]
        _encoding: Option<Encoding>,
    }
    let Line { seq, recorded_at, elapsed_ms, request, response } = serde_json::from_str(line).ok()?;
    tracing::warn!(seq, "a recorded answer is not the protocol's; kept verbatim");
    let body = serde_json::Value::String(response.body.get().to_string());
    let encoding = Some(Encoding { format: super::EncodingFormat::Text, indefinite_lengths: false });
    let response = RecordedResponse { status: response.status, headers: response.headers, body, encoding };
    Some(Interaction { seq, recorded_at, elapsed_ms, request, response })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_header() -> JournalHeader {
        JournalHeader {
            journal: 1,
            mode: "all".into(),
            upstream: "u".into(),
            region: "r".into(),
            match_rules: vec![],
            kept: vec![],
        }
    }

    /// A fresh journal in a scratch directory named `name`, and an interaction to append to it.
    fn fresh(name: &str) -> (PathBuf, PathBuf, Journal, Interaction) {
        let dir = crate::scratch::dir(name).unwrap();
        let path = dir.join("c.json.journal");
        let j = Journal::create(&path, &test_header()).unwrap();
        (dir, path, j, crate::cassette::tests::sample().interactions.remove(0))
    }

    #[test]
    fn appends_number_in_order_and_torn_lines_are_dropped() {
        let dir = crate::scratch::dir("journal").unwrap();
        let path = dir.join("not-yet-made").join("c.json.journal"); // the directory is created
        let header = test_header();
        let j = Journal::create(&path, &header).unwrap();
        assert!(Journal::create(&path, &header).is_err(), "an existing journal is never clobbered");
        let it = crate::cassette::tests::sample().interactions.remove(0);
        for _ in 0..3 {
            j.append(it.clone()).unwrap();
        }
        assert_eq!(j.appended(), 3);
        drop(j);
        // A crash in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\": 3, \"requ").unwrap();
        let (h, its) = read(&path).unwrap();
        assert_eq!(h, header);
        assert_eq!(its.iter().map(|i| i.seq).collect::<Vec<_>>(), [0, 1, 2]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn serialized_objects_get_their_sequence_number_and_read_back_as_interactions() {
        let (dir, path, j, mut it) = fresh("journal-objects");
        let mut object = serde_json::to_value(&it).unwrap();
        object.as_object_mut().unwrap().remove("seq");
        let object = serde_json::to_vec(&object).unwrap();
        assert_eq!(j.append_object(&object).unwrap(), 0);
        assert_eq!(j.append_object(&object).unwrap(), 1);
        for bad in [&b"{}"[..], b"[1]", b"{\"a\":\n1}", b""] {
            let e = j.append_object(bad).unwrap_err().to_string();
            assert!(e.contains("one-line JSON object"), "{e}");
        }
        j.sync().unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().nth(2).unwrap().starts_with("{\"seq\":1,"), "{text}");
        let (_, its) = read(&path).unwrap();
        it.seq = 1;
        assert_eq!(its.len(), 2);
        assert_eq!(its[1], it);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_cache_trim_starts_writeback_step_by_step_over_every_byte_written() {
        let mut trim = CacheTrim::default();
        let (mut written, mut ranges) = (0u64, Vec::new());
        // Batches of uneven sizes, as the writer's are, one larger than a step.
        for len in (0..4000u64).map(|k| 1 + k * 7919 % 12_000).chain([CacheTrim::STEP + 3, 10]) {
            written += len;
            ranges.extend(trim.step(len));
        }
        assert!(ranges.len() >= 3, "{ranges:?}");
        assert_eq!(ranges[0].0, 0, "from the first byte");
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "each step starts where the last ended: {ranges:?}");
        }
        assert!(ranges.iter().all(|(a, b)| b - a >= CacheTrim::STEP), "{ranges:?}");
        let covered = ranges.last().unwrap().1;
        assert!(covered <= written && written - covered < CacheTrim::STEP, "{covered} of {written}");
    }

    #[test]
    fn a_journal_past_several_cache_steps_reads_back_whole() {
        let (dir, path, j, mut it) = fresh("journal-long");
        let n = 3 * CacheTrim::STEP / (64 << 10) + 5;
        for k in 0..n {
            it.request.path = format!("/{k}/{}", "x".repeat(64 << 10));
            j.append(it.clone()).unwrap();
        }
        j.sync().unwrap();
        drop(j);
        assert!(std::fs::metadata(&path).unwrap().len() > 3 * CacheTrim::STEP);
        let (_, its) = read(&path).unwrap();
        assert_eq!(its.len() as u64, n);
        assert!(its.iter().enumerate().all(|(k, i)| i.request.path.starts_with(&format!("/{k}/"))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_appends_are_written_in_sequence_before_their_waiters_return() {
        // Created outside a runtime, the writer thread wakes the waiters itself; created inside one (as
        // `record` does), through the relay task.
        group_commit("journal-group-direct", tokio::runtime::Builder::new_multi_thread().worker_threads(2), false);
        group_commit("journal-group-relay", &mut tokio::runtime::Builder::new_current_thread(), true);
    }

    fn group_commit(name: &str, builder: &mut tokio::runtime::Builder, create_inside: bool) {
        let dir = crate::scratch::dir(name).unwrap();
        let path = dir.join("c.json.journal");
        let header = test_header();
        let rt = builder.enable_all().build().unwrap();
        let j = Arc::new(if create_inside {
            rt.block_on(async { Journal::create(&path, &header) }).unwrap()
        } else {
            Journal::create(&path, &header).unwrap()
        });
        assert_eq!(j.shared.relay.is_some(), create_inside);
        let sample = crate::cassette::tests::sample().interactions.remove(0);
        let seqs = rt.block_on(async {
            let tasks: Vec<_> = (0..64)
                .map(|t| {
                    let (j, mut it) = (j.clone(), sample.clone());
                    tokio::spawn(async move {
                        let mut mine = Vec::new();
                        for k in 0..25 {
                            it.request.path = format!("/{t}/{k}");
                            let seq = j
                                .append_with(|seq| {
                                    it.seq = seq;
                                    &it
                                })
                                .unwrap();
                            let wait = tokio::time::timeout(std::time::Duration::from_secs(20), j.written(seq));
                            wait.await.expect("written within 20 s").unwrap();
                            // Written means in the file now, whoever wrote it.
                            let text = std::fs::read_to_string(&j.path).unwrap();
                            assert!(text.contains(&format!("\"path\":\"/{t}/{k}\"")), "{t}/{k}");
                            mine.push(seq);
                        }
                        mine
                    })
                })
                .collect();
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            all
        });
        assert_eq!(j.appended(), 1600);
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(sorted, (0..1600).collect::<Vec<_>>());
        drop(j);
        let (_, its) = read(&path).unwrap();
        assert_eq!(its.len(), 1600);
        // Lines are in sequence order: each task's paths appear in the order it appended them.
        for t in 0..64 {
            let ks: Vec<usize> =
                its.iter().filter_map(|i| i.request.path.strip_prefix(&format!("/{t}/"))?.parse().ok()).collect();
            assert_eq!(ks, (0..25).collect::<Vec<_>>());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
