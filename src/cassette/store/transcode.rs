//! Journal lines to canonical cassette text, on every core: the heavy half of a fold.
//!
//! Each journal line must be parsed (the proxy journals the upstream's answer as the text it sent) and
//! pretty-printed canonically. The main thread cuts the journal into batches of whole lines and hands them
//! round to the workers; each worker parses and prints its batch on its own, numbering every interaction 0,
//! and the main thread writes the printed batches back in order, putting each interaction's real sequence
//! number in as it goes. Only buffers cross threads, and they go back to the thread that made them: a first
//! version that handed parsed documents from one thread to another ran slower on two cores than one did on
//! one (glibc's allocator contends when memory is freed away from where it was allocated, and every node
//! crossed between the cores' caches).

use crate::cassette::error::{CassetteError, Doing};
use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use super::CanonicalWriter;
use crate::cassette::Interaction;
use crate::cassette::journal::{JournalHeader, parse_line};

/// About this many bytes of journal lines go to a worker at a time.
pub(super) const BATCH_BYTES: usize = 1 << 20;

/// Whole journal lines, and the line number of the first.
struct Batch {
    lines: Vec<u8>,
    first_line: usize,
}

/// A batch printed: the interactions' text one after the other, each numbered 0, and where each starts.
struct Printed {
    text: Vec<u8>,
    starts: Vec<usize>,
    /// The batch's buffer, going back to be filled again.
    lines: Vec<u8>,
}

/// How a transcode ended.
pub(super) enum Transcoded {
    /// Every line was written; this many interactions.
    Done(usize),
    /// `late` said so before the end.
    Late,
}

/// Parses and prints one batch (on a worker).
fn print(path: &Path, batch: &Batch, out: &mut Printed, scratch: &mut Vec<u8>) -> Result<(), CassetteError> {
    out.text.clear();
    out.starts.clear();
    for (k, line) in batch.lines.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let number = batch.first_line + k;
        if line.starts_with(b"{\"journal\":") {
            // A resumed session's header: it must be one, and says nothing the fold needs.
            serde_json::from_slice::<JournalHeader>(line).map_err(|e| {
                CassetteError::invalid(format!("{}:{number}: not a journal header: {e}", path.display()))
            })?;
            continue;
        }
        let mut it: Interaction =
            parse_line(line).map_err(|e| CassetteError::invalid(format!("{}:{number}: {e}", path.display())))?;
        it.seq = 0;
        out.starts.push(out.text.len());
        super::print_item(&it, scratch, &mut out.text);
    }
    Ok(())
}

/// Reads `path` from byte `from` (just past its first line, which is line 1) to its last complete line, and
/// writes every interaction to `w`, numbered on from `w.count()`. `late` is asked between batches.
pub(super) fn journal_into<W: Write>(
    path: &Path,
    from: u64,
    w: &mut CanonicalWriter<W>,
    late: impl Fn() -> bool,
) -> Result<Transcoded, CassetteError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let mut file = std::io::BufReader::with_capacity(
        1 << 20,
        File::open(path).doing(|| format!("cannot read journal '{}'", path.display()))?,
    );
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from))
        .doing(|| format!("cannot read journal '{}'", path.display()))?;
    std::thread::scope(|scope| {
        // Per worker: batches in, printed batches out, printed buffers back.
        let mut to: Vec<SyncSender<Batch>> = Vec::new();
        let mut from_workers: Vec<Receiver<Result<Printed, CassetteError>>> = Vec::new();
        let mut back: Vec<std::sync::mpsc::Sender<Printed>> = Vec::new();
        for _ in 0..workers {
            let (batch_tx, batch_rx) = sync_channel::<Batch>(2);
            let (done_tx, done_rx) = sync_channel::<Result<Printed, CassetteError>>(2);
            let (back_tx, back_rx) = channel::<Printed>();
            let path: PathBuf = path.to_path_buf();
            scope.spawn(move || {
                let mut scratch = Vec::with_capacity(16 << 10);
                while let Ok(batch) = batch_rx.recv() {
                    let mut out = back_rx.try_recv().unwrap_or_else(|_| Printed {
                        text: Vec::with_capacity(3 * BATCH_BYTES),
                        starts: Vec::new(),
                        lines: Vec::new(),
                    });
                    let printed = print(&path, &batch, &mut out, &mut scratch).map(|()| {
                        out.lines = batch.lines;
                        out
                    });
                    if done_tx.send(printed).is_err() {
                        break;
                    }
                }
            });
            to.push(batch_tx);
            from_workers.push(done_rx);
            back.push(back_tx);
        }
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let mut line = 2;
        let mut sent = 0usize;
        let mut written = 0usize;
        let mut recorded = 0usize;
        let mut eof = false;
        // Keeps every worker one batch ahead of the writer, and writes batches in the order they were cut.
        loop {
            while !eof && sent < written + 2 * workers {
                let mut lines = spare.pop().unwrap_or_default();
                lines.clear();
                let first_line = line;
                while lines.len() < BATCH_BYTES {
                    let start = lines.len();
                    let n = file
                        .read_until(b'\n', &mut lines)
                        .doing(|| format!("cannot read journal '{}'", path.display()))?;
                    if n == 0 {
                        eof = true;
                        break;
                    }
                    if !lines.ends_with(b"\n") {
                        tracing::warn!(journal = %path.display(), bytes = n, "dropping a torn last line (its response was never sent)");
                        lines.truncate(start);
                        eof = true;
                        break;
                    }
                    line += 1;
                }
                if lines.is_empty() {
                    spare.push(lines);
                    break;
                }
                to[sent % workers]
                    .send(Batch { lines, first_line })
                    .map_err(|_| CassetteError::invalid("a fold worker stopped".to_string()))?;
                sent += 1;
            }
            if written == sent {
                return Ok(Transcoded::Done(recorded));
            }
            if late() {
                return Ok(Transcoded::Late);
            }
            let k = written % workers;
            let mut printed =
                from_workers[k].recv().map_err(|_| CassetteError::invalid("a fold worker stopped".to_string()))??;
            for (i, start) in printed.starts.iter().enumerate() {
                let end = printed.starts.get(i + 1).copied().unwrap_or(printed.text.len());
                w.push_printed(&printed.text[*start..end])
                    .doing(|| format!("cannot write the fold of '{}'", path.display()))?;
            }
            recorded += printed.starts.len();
            written += 1;
            spare.push(std::mem::take(&mut printed.lines));
            let _ = back[k].send(printed);
        }
    })
}
