//! The recording journal: an append-only JSON Lines file beside the cassette (`NAME.json.journal`).
//!
//! The first line is a header saying how to finish the recording (mode, upstream, region, rules); each later
//! line is one complete, already redacted interaction, written with a single `write` before its response goes
//! back to the client. A crash, `kill -9` included, loses nothing that was answered: the next `record` (or
//! `record --recover`) folds the journal into the cassette. A torn last line (a crash mid-write, whose
//! response was never sent) is dropped with a warning.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::Interaction;

/// The journal's first line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub journal: u32,
    pub mode: String,
    pub upstream: String,
    pub region: String,
    pub match_rules: Vec<String>,
}

/// `NAME.json.journal`.
pub fn journal_path(cassette: &Path) -> PathBuf {
    let mut s = cassette.as_os_str().to_owned();
    s.push(".journal");
    PathBuf::from(s)
}

/// An open journal. Appends are serialized; sequence numbers are assigned in append order.
pub struct Journal {
    path: PathBuf,
    inner: Mutex<(File, u64)>,
}

impl Journal {
    /// Creates a journal (failing if one exists: it must be recovered first).
    pub fn create(path: &Path, header: &JournalHeader) -> anyhow::Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory '{}'", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create journal '{}'", path.display()))?;
        let mut line = serde_json::to_vec(header).expect("headers serialize");
        line.push(b'\n');
        file.write_all(&line).with_context(|| format!("cannot write journal '{}'", path.display()))?;
        file.sync_all().with_context(|| format!("cannot sync journal '{}'", path.display()))?;
        Ok(Journal { path: path.to_path_buf(), inner: Mutex::new((file, 0)) })
    }

    /// Appends one interaction, numbering it. Returns it as written.
    pub fn append(&self, mut interaction: Interaction) -> anyhow::Result<Interaction> {
        self.append_with(|seq| {
            interaction.seq = seq;
            &interaction
        })?;
        Ok(interaction)
    }

    /// Appends the entry `build` makes from its sequence number; anything that serializes as an interaction
    /// will do (the proxy writes responses as raw JSON text). Returns the sequence number.
    pub fn append_with<T: Serialize>(&self, build: impl FnOnce(u64) -> T) -> anyhow::Result<u64> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seq = guard.1;
        let mut line = serde_json::to_vec(&build(seq)).context("serializing an interaction")?;
        line.push(b'\n');
        guard.0.write_all(&line).with_context(|| format!("cannot append to journal '{}'", self.path.display()))?;
        guard.1 += 1;
        Ok(seq)
    }

    /// How many interactions were appended.
    pub fn appended(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Flushes to disk.
    pub fn sync(&self) -> anyhow::Result<()> {
        let guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.sync_all().with_context(|| format!("cannot sync journal '{}'", self.path.display()))
    }
}

/// Reads a journal: its header and every complete interaction, renumbered in order.
pub fn read(path: &Path) -> anyhow::Result<(JournalHeader, Vec<Interaction>)> {
    let text = std::fs::read(path).with_context(|| format!("cannot read journal '{}'", path.display()))?;
    let complete = match text.iter().rposition(|b| *b == b'\n') {
        Some(i) => &text[..=i],
        None => &text[..0],
    };
    if complete.len() < text.len() {
        tracing::warn!(journal = %path.display(), bytes = text.len() - complete.len(), "dropping a torn last line (its response was never sent)");
    }
    let complete =
        std::str::from_utf8(complete).with_context(|| format!("journal '{}' is not UTF-8", path.display()))?;
    let mut lines = complete.lines().enumerate();
    let Some((_, first)) = lines.next() else {
        bail!("{}:1: empty journal (expected a header line)", path.display());
    };
    let header: JournalHeader =
        serde_json::from_str(first).map_err(|e| anyhow::anyhow!("{}:1: not a journal header: {e}", path.display()))?;
    let mut interactions = Vec::new();
    for (i, line) in lines {
        let mut it: Interaction =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        it.seq = interactions.len() as u64;
        interactions.push(it);
    }
    Ok((header, interactions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_number_in_order_and_torn_lines_are_dropped() {
        let dir = crate::util::scratch_dir("journal").unwrap();
        let path = dir.join("not-yet-made").join("c.json.journal"); // the directory is created
        let header = JournalHeader {
            journal: 1,
            mode: "all".into(),
            upstream: "u".into(),
            region: "r".into(),
            match_rules: vec![],
        };
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
}
