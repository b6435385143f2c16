//! Where recordings go on disk: the cassette `NAME.json`, its journal `NAME.json.journal` while a recording
//! runs, and `NAME.json.new` for a re-recording that differs from a reviewed cassette; files written
//! atomically ([`AtomicFile`]), and the [`fold`] that turns a journal into a cassette.
//!
//! Folding streams: it reads the journal line by line and the existing cassette interaction by interaction,
//! and writes the canonical cassette as it goes, so its memory does not grow with the recording (a
//! 300,000-interaction session folds in the same footprint as a 10-interaction one). It can be given a
//! deadline: a session that must exit soon (SIGTERM) folds if it can and otherwise leaves the journal, which
//! is durable, for `record --recover` or the next `record` ([`Saved::Deferred`]).

use crate::cassette::error::{CassetteError, Doing};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod transcode;

use super::journal::{self, Line};
use super::stream::{read_each, read_header};
use super::{Cassette, Header, Interaction};

/// `NAME.json.new`, where re-recordings of `NAME.json` go for review.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

/// `NAME.json.journal`, where a recording of `NAME.json` is written as it happens.
pub fn journal_path(cassette: &Path) -> PathBuf {
    let mut s = cassette.as_os_str().to_owned();
    s.push(".journal");
    PathBuf::from(s)
}

/// Removes the temporary files a killed process left beside `dest` (`.NAME.tmp-PID`, PID no longer
/// running): what [`AtomicFile`] removes itself unless the process dies first. The paths removed.
pub fn remove_stale_temporaries(dest: &Path) -> Vec<PathBuf> {
    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Vec::new() };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = file.strip_prefix(&prefix).and_then(|p| p.parse::<i32>().ok()) else { continue };
        // kill(pid, 0) fails with ESRCH when no such process runs: the file's writer is gone.
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let alive = pid == std::process::id() as i32
            || unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
        if !alive && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// A file written beside its destination and renamed onto it once complete and synced: a crash leaves the
/// old file or the new one, never a torn one. Dropped without [`AtomicFile::commit`], it removes itself.
pub struct AtomicFile {
    tmp: PathBuf,
    dir: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// A temporary file in the directory of `dest` (created if needed).
    pub fn create(dest: &Path) -> Result<AtomicFile, CassetteError> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        std::fs::create_dir_all(&dir).doing(|| format!("cannot create directory '{}'", dir.display()))?;
        let name = dest
            .file_name()
            .ok_or_else(|| CassetteError::invalid(format!("'{}' is not a file path", dest.display())))?;
        let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
        let file = File::create(&tmp).doing(|| format!("cannot write '{}'", dest.display()))?;
        Ok(AtomicFile { tmp, dir, file: Some(BufWriter::with_capacity(1 << 20, file)) })
    }

    /// The buffered file to write to.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.file.as_mut().expect("open until committed")
    }

    /// Whether what was written is byte for byte the file at `other`.
    pub fn same_as(&mut self, other: &Path) -> Result<bool, CassetteError> {
        use std::io::Read;
        self.writer().flush().doing(|| format!("cannot write '{}'", self.tmp.display()))?;
        let open = |p: &Path| File::open(p).doing(|| format!("cannot read '{}'", p.display()));
        let (a, b) = (open(&self.tmp)?, open(other)?);
        let same = || -> std::io::Result<bool> {
            if a.metadata()?.len() != b.metadata()?.len() {
                return Ok(false);
            }
            let (mut a, mut b) =
                (std::io::BufReader::with_capacity(1 << 20, &a), std::io::BufReader::with_capacity(1 << 20, &b));
            let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
            loop {
                let n = a.read(&mut x)?;
                if n == 0 {
                    return Ok(true);
                }
                b.read_exact(&mut y[..n])?;
                if x[..n] != y[..n] {
                    return Ok(false);
                }
            }
        };
        same().doing(|| format!("cannot compare '{}' with '{}'", self.tmp.display(), other.display()))
    }

    /// Flushes, syncs, and renames the file onto `dest` (in the same directory), then syncs the directory.
    pub fn commit(mut self, dest: &Path) -> Result<(), CassetteError> {
        let file = self.file.take().expect("open until committed");
        let done = (|| -> std::io::Result<()> {
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&self.tmp, dest)?;
            sync_dir(&self.dir);
            Ok(())
        })();
        done.doing(|| format!("cannot write '{}'", dest.display()))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CassetteError> {
    let mut f = AtomicFile::create(path)?;
    f.writer().write_all(bytes).doing(|| format!("cannot write '{}'", path.display()))?;
    f.commit(path)
}

/// Writes a cassette's canonical text (exactly `Cassette::to_canonical`'s bytes) one interaction at a time.
pub struct CanonicalWriter<W: Write> {
    out: W,
    count: usize,
    scratch: Vec<u8>,
    item: Vec<u8>,
}

/// How an interaction printed at its depth with `seq` 0 begins.
const SEQ_ZERO: &[u8] = b"{\n      \"seq\": 0,";

/// Appends `it` to `out` as the cassette's pretty printer writes it inside the interactions list: every line
/// after the first indented four more spaces. `scratch` is reused.
pub(super) fn print_item(it: &Interaction, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    scratch.clear();
    serde_json::to_writer_pretty(&mut *scratch, it).expect("interactions serialize");
    // The pretty printer writes no raw line breaks inside strings, so every one starts a nested line.
    let mut rest = &scratch[..];
    while let Some(i) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.extend_from_slice(b"    ");
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

impl<W: Write> CanonicalWriter<W> {
    /// Writes the header, up to the opening of the interactions.
    pub fn start(mut out: W, header: &Header) -> std::io::Result<CanonicalWriter<W>> {
        let empty = Cassette {
            format: header.format.clone(),
            version: header.version,
            recorded_with: header.recorded_with.clone(),
            operation: header.operation.clone(),
            upstream: header.upstream.clone(),
            region: header.region.clone(),
            match_rules: header.match_rules.clone(),
            kept: header.kept.clone(),
            interactions: Vec::new(),
        };
        let text = serde_json::to_string_pretty(&empty).expect("cassettes serialize");
        let prefix = text.strip_suffix("[]\n}").expect("the interactions are the last field");
        out.write_all(prefix.as_bytes())?;
        out.write_all(b"[")?;
        Ok(CanonicalWriter { out, count: 0, scratch: Vec::with_capacity(8 << 10), item: Vec::with_capacity(8 << 10) })
    }

    /// Writes one interaction, as the cassette's pretty printer would at its depth. Its `seq` should be
    /// [`CanonicalWriter::count`].
    pub fn push(&mut self, it: &Interaction) -> std::io::Result<()> {
        let mut text = std::mem::take(&mut self.item);
        text.clear();
        print_item(it, &mut self.scratch, &mut text);
        self.write_item(&text)?;
        self.item = text;
        Ok(())
    }

    /// Writes one interaction printed by [`print_item`] with `seq` 0, numbering it [`CanonicalWriter::count`].
    pub(super) fn push_printed(&mut self, text: &[u8]) -> std::io::Result<()> {
        let rest = text.strip_prefix(SEQ_ZERO).expect("printed with seq 0, its first member");
        self.separate()?;
        write!(self.out, "{{\n      \"seq\": {},", self.count)?;
        self.out.write_all(rest)?;
        self.count += 1;
        Ok(())
    }

    fn separate(&mut self) -> std::io::Result<()> {
        self.out.write_all(if self.count == 0 { b"\n    " } else { b",\n    " })
    }

    fn write_item(&mut self, text: &[u8]) -> std::io::Result<()> {
        self.separate()?;
        self.out.write_all(text)?;
        self.count += 1;
        Ok(())
    }

    /// How many interactions were written.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Closes the list and the cassette.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(if self.count == 0 { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
        Ok(self.out)
    }
}

/// What happened to the cassette when a recording finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// A new cassette was written.
    Written {
        /// The cassette.
        path: PathBuf,
        /// How many interactions it holds.
        interactions: usize,
    },
    /// The recording equals the cassette: nothing written.
    Unchanged {
        /// The cassette.
        path: PathBuf,
    },
    /// The recording differs from a reviewed cassette: written beside it for review.
    Pending {
        /// `NAME.json.new`.
        path: PathBuf,
        /// How many interactions it holds.
        interactions: usize,
    },
    /// Nothing was recorded.
    Nothing,
    /// Folding would outlast the time allowed: the recording stays in its journal, safe, to be folded by
    /// `record --recover` or resumed by the next `record`.
    Deferred {
        /// The journal.
        journal: PathBuf,
        /// The cassette it belongs to.
        cassette: PathBuf,
    },
}

impl std::fmt::Display for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Saved::Written { path, interactions } => {
                write!(
                    f,
                    "wrote {} ({})",
                    path.display(),
                    crate::reporting::count(*interactions as u64, "interaction", "interactions")
                )
            }
            Saved::Unchanged { path } => write!(f, "{} is unchanged", path.display()),
            Saved::Pending { path, interactions } => write!(
                f,
                "the recording differs from the reviewed cassette: wrote {} ({}); run `{} review {}`",
                path.display(),
                crate::reporting::count(*interactions as u64, "interaction", "interactions"),
                crate::program::program(),
                crate::program::quote(path.display().to_string().trim_end_matches(".new"))
            ),
            Saved::Nothing => write!(f, "nothing recorded"),
            Saved::Deferred { journal, cassette } => write!(
                f,
                "the recording is safe in {}, but folding it into {} takes longer than shutting down may: run \
                 `{} record --recover --cassette {}` (the next `record` of it resumes the journal)",
                journal.display(),
                cassette.display(),
                crate::program::program(),
                crate::program::quote(&cassette.display().to_string())
            ),
        }
    }
}

/// How often the deadline is looked at while the cassette's own interactions are copied.
const DEADLINE_EVERY: usize = 256;

/// Folds the journal of `cassette` in and removes it: a new cassette if there was none; else, for a journal
/// in mode `all`, the recording alone (unchanged if it is byte for byte the cassette), for other modes the
/// cassette's interactions followed by the journal's; a result that differs from an existing cassette goes
/// to `NAME.json.new`. The journal's first header decides (resumed sessions share its mode). With a
/// `deadline`, a fold not done by then stops, leaves the journal as it was, and says [`Saved::Deferred`].
pub fn fold(cassette: &Path, deadline: Option<Instant>) -> Result<Saved, CassetteError> {
    let jpath = journal_path(cassette);
    for stale in remove_stale_temporaries(cassette) {
        tracing::info!(file = %stale.display(), "removed a temporary file a killed fold left");
    }
    let mut reader = journal::Reader::open(&jpath)?;
    let Some(Line::Session(first)) = reader.next_entry()? else {
        return Err(CassetteError::invalid(format!("{}:1: not a journal header", jpath.display())));
    };
    let after_header = reader.offset().doing(|| format!("cannot read journal '{}'", jpath.display()))?;
    drop(reader);
    let replaces = match first.mode.as_str() {
        "all" => true,
        "once" | "new_episodes" | "none" => false,
        other => {
            return Err(CassetteError::invalid(format!(
                "{}:1: unknown mode '{other}' (expected once, new_episodes, all or none)",
                jpath.display()
            )));
        }
    };
    let existing = cassette.exists();
    let mut header = if existing {
        read_header(cassette)?
    } else {
        let mut c = Cassette::new(&first.upstream, &first.region);
        c.match_rules = first.match_rules.clone();
        c.header()
    };
    // A session that kept what redaction replaces marks the cassette, for lint to say so.
    for what in &first.kept {
        if !header.kept.contains(what) {
            header.kept.push(what.clone());
        }
    }
    let late = || deadline.is_some_and(|d| Instant::now() >= d);
    let deferred = || Saved::Deferred { journal: jpath.clone(), cassette: cassette.to_path_buf() };

    let mut out = AtomicFile::create(cassette)?;
    let mut w = CanonicalWriter::start(out.writer(), &header)
        .doing(|| format!("cannot write the fold of '{}'", jpath.display()))?;
    if existing && !replaces {
        let mut over = false;
        let copied = read_each(cassette, |i, mut it| {
            if i % DEADLINE_EVERY == 0 && late() {
                over = true;
                return Err(super::LoadError::of_file(cassette, "out of time"));
            }
            it.seq = i as u64;
            w.push(&it).map_err(|e| super::LoadError::of_file(cassette, format!("cannot write the fold: {e}")))
        });
        match copied {
            Err(_) if over => return Ok(deferred()),
            copied => copied?,
        };
    }
    let kept = w.count();
    let recorded = match transcode::journal_into(&jpath, after_header, &mut w, late)? {
        transcode::Transcoded::Late => return Ok(deferred()),
        transcode::Transcoded::Done(n) => n,
    };
    let interactions = kept + recorded;
    w.finish().doing(|| format!("cannot write the fold of '{}'", jpath.display()))?;
    let outcome = if recorded == 0 {
        Saved::Nothing
    } else if !existing {
        out.commit(cassette)?;
        Saved::Written { path: cassette.to_path_buf(), interactions }
    } else if replaces && out.same_as(cassette)? {
        Saved::Unchanged { path: cassette.to_path_buf() }
    } else {
        let pending = pending_path(cassette);
        out.commit(&pending)?;
        Saved::Pending { path: pending, interactions }
    };
    std::fs::remove_file(&jpath).doing(|| format!("cannot remove journal '{}'", jpath.display()))?;
    if let Some(dir) = jpath.parent() {
        sync_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_killed_writers_temporary_files_are_removed_and_a_live_ones_kept() {
        let dir = crate::scratch::dir("stale-tmp").unwrap();
        let dest = dir.join("c.json");
        // A PID above the kernel's limit (4194304) runs nowhere.
        let dead = dir.join(".c.json.tmp-4194999");
        let mine = dir.join(format!(".c.json.tmp-{}", std::process::id()));
        let other = dir.join(".d.json.tmp-4194999");
        for f in [&dead, &mine, &other] {
            std::fs::write(f, b"partial").unwrap();
        }
        assert_eq!(remove_stale_temporaries(&dest), vec![dead.clone()]);
        assert!(!dead.exists() && mine.exists() && other.exists());
    }

    use super::*;
    use crate::cassette::journal::{Journal, JournalHeader};

    fn header(mode: &str) -> JournalHeader {
        JournalHeader {
            journal: 1,
            mode: mode.into(),
            upstream: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            match_rules: vec!["operation".into(), "body".into()],
            kept: vec![],
        }
    }

    /// Records `n` interactions (MaxResults 1..=n) to the journal of `cassette` in `mode`.
    fn journal(cassette: &Path, mode: &str, sizes: &[u64]) {
        let j = Journal::create(&journal_path(cassette), &header(mode)).unwrap();
        for n in sizes {
            let mut it = crate::cassette::tests::sample().interactions.remove(0);
            it.request.body["MaxResults"] = (*n).into();
            j.append(it).unwrap();
        }
    }

    #[test]
    fn the_streamed_canonical_text_is_the_whole_cassettes() {
        for name in ["boto3-walk.json", "boto3-errors.json", "rust-sdk-cbor.json"] {
            let c = Cassette::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes").join(name)).unwrap();
            let mut w = CanonicalWriter::start(Vec::new(), &c.header()).unwrap();
            for it in &c.interactions {
                w.push(it).unwrap();
            }
            assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), c.to_canonical(), "{name}");
        }
        let mut empty = crate::cassette::tests::sample();
        empty.interactions.clear();
        let w = CanonicalWriter::start(Vec::new(), &empty.header()).unwrap();
        assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), empty.to_canonical());
    }

    #[test]
    fn folding_writes_adds_replaces_or_leaves_alone_as_the_mode_says() {
        let dir = crate::scratch::dir("fold").unwrap();
        let c = dir.join("c.json");
        let sizes = |path: &Path| -> Vec<u64> {
            Cassette::load(path)
                .unwrap()
                .interactions
                .iter()
                .map(|i| i.request.body["MaxResults"].as_u64().unwrap())
                .collect()
        };
        journal(&c, "once", &[1, 2]);
        assert_eq!(fold(&c, None).unwrap(), Saved::Written { path: c.clone(), interactions: 2 });
        assert!(!journal_path(&c).exists());
        assert_eq!(sizes(&c), [1, 2]);
        // new_episodes adds, beside the reviewed cassette.
        journal(&c, "new_episodes", &[3]);
        assert_eq!(fold(&c, None).unwrap(), Saved::Pending { path: pending_path(&c), interactions: 3 });
        assert_eq!(sizes(&pending_path(&c)), [1, 2, 3]);
        // all replaces: the same recording is unchanged, a shorter or different one is pending.
        journal(&c, "all", &[1, 2]);
        assert_eq!(fold(&c, None).unwrap(), Saved::Unchanged { path: c.clone() });
        journal(&c, "all", &[1]);
        assert_eq!(fold(&c, None).unwrap(), Saved::Pending { path: pending_path(&c), interactions: 1 });
        assert_eq!(sizes(&pending_path(&c)), [1]);
        journal(&c, "all", &[1, 2, 4]);
        assert!(matches!(fold(&c, None).unwrap(), Saved::Pending { interactions: 3, .. }));
        // An empty journal records nothing and goes away.
        journal(&c, "all", &[]);
        assert_eq!(fold(&c, None).unwrap(), Saved::Nothing);
        assert!(!journal_path(&c).exists());
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "no temporary file is left: {names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fold_past_its_deadline_leaves_the_journal_whole() {
        let dir = crate::scratch::dir("fold-deadline").unwrap();
        let c = dir.join("c.json");
        let many: Vec<u64> = (1..=600).collect();
        journal(&c, "once", &many);
        let before = std::fs::read(journal_path(&c)).unwrap();
        let outcome = fold(&c, Some(Instant::now())).unwrap();
        assert_eq!(outcome, Saved::Deferred { journal: journal_path(&c), cassette: c.clone() });
        assert!(outcome.to_string().contains("record --recover --cassette"), "{outcome}");
        assert_eq!(std::fs::read(journal_path(&c)).unwrap(), before, "the journal is untouched");
        assert!(!c.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left");
        assert_eq!(fold(&c, None).unwrap(), Saved::Written { path: c.clone(), interactions: 600 });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resumed_sessions_fold_as_one_recording() {
        let dir = crate::scratch::dir("fold-resumed").unwrap();
        let c = dir.join("c.json");
        journal(&c, "once", &[1, 2]);
        // A crash mid-line, then a second session.
        std::fs::OpenOptions::new()
            .append(true)
            .open(journal_path(&c))
            .unwrap()
            .write_all(b"{\"seq\":2,\"req")
            .unwrap();
        let j = Journal::resume(&journal_path(&c), &header("once")).unwrap();
        let mut it = crate::cassette::tests::sample().interactions.remove(0);
        it.request.body["MaxResults"] = 9.into();
        j.append(it).unwrap();
        drop(j);
        let refused = Journal::resume(&journal_path(&c), &header("all")).err().expect("another mode is refused");
        assert!(refused.to_string().contains("mode 'once'"), "{refused}");
        assert_eq!(fold(&c, None).unwrap(), Saved::Written { path: c.clone(), interactions: 3 });
        let c = Cassette::load(&c).unwrap();
        assert_eq!(c.interactions.iter().map(|i| i.seq).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(c.interactions[2].request.body["MaxResults"], 9);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_journal_of_many_batches_folds_to_the_same_bytes_as_a_whole_cassette() {
        let dir = crate::scratch::dir("fold-batches").unwrap();
        let c = dir.join("c.json");
        let jpath = journal_path(&c);
        // Enough lines for several batches on every worker, a resumed session in the middle, a torn tail.
        let sizes: Vec<u64> = (1..=2500).collect();
        journal(&c, "once", &sizes[..1200]);
        let j = Journal::resume(&jpath, &header("once")).unwrap();
        for n in &sizes[1200..] {
            let mut it = crate::cassette::tests::sample().interactions.remove(0);
            it.request.body["MaxResults"] = (*n).into();
            it.request.path = format!("/{}", "p".repeat(2500 + *n as usize % 1000));
            j.append(it).unwrap();
        }
        drop(j);
        assert!(std::fs::metadata(&jpath).unwrap().len() > 3 * transcode::BATCH_BYTES as u64);
        std::fs::OpenOptions::new().append(true).open(&jpath).unwrap().write_all(b"{\"seq\":9,\"requ").unwrap();
        let (first, interactions) = journal::read(&jpath).unwrap();
        let mut want = Cassette::new(&first.upstream, &first.region);
        want.match_rules = first.match_rules;
        want.interactions = interactions;
        assert_eq!(fold(&c, None).unwrap(), Saved::Written { path: c.clone(), interactions: 2500 });
        assert_eq!(std::fs::read_to_string(&c).unwrap(), want.to_canonical());
        // A line that is not an interaction stops the fold, naming it, and leaves the journal.
        let bad = dir.join("bad.json");
        journal(&bad, "once", &sizes[..2000]);
        let text = std::fs::read_to_string(journal_path(&bad)).unwrap();
        let broken: Vec<&str> =
            text.lines().enumerate().map(|(i, l)| if i == 1500 { "{\"seq\": [oops" } else { l }).collect();
        std::fs::write(journal_path(&bad), broken.join("\n") + "\n").unwrap();
        let e = fold(&bad, None).unwrap_err().to_string();
        assert!(e.contains("bad.json.journal:1501:"), "{e}");
        assert!(journal_path(&bad).exists() && !bad.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
