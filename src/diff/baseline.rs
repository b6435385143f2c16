//! Accepted differences that ratchet (`--baseline FILE`): a difference the baseline lists is reported as
//! accepted, not as a failure; an entry that no longer occurs is reported (and fails the run) until
//! `--baseline-update` drops it, so the baseline only ever shrinks toward nothing.
//!
//! An entry names the cassette (file name), the chain, the protocol, the kind, the path and both values:
//! the same place differing in another way is a new difference.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::DiffError;
pub use super::outcome::Accepted;
use super::outcome::{Report, Verdict};

/// The `format` of a baseline file.
pub const FORMAT: &str = "snomed-vcr/diff-baseline";

impl Accepted {
    fn key(&self) -> String {
        let v = |v: &Option<Value>| v.as_ref().map(|v| crate::doc::canonical(v).to_string()).unwrap_or_default();
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.cassette,
            self.chain,
            self.protocol,
            self.kind,
            self.path,
            v(&self.recorded),
            v(&self.received)
        )
    }
}

/// Whether a baseline may accept a difference: every kind but `transport`.
pub fn acceptable(d: &super::outcome::Difference) -> bool {
    d.kind != super::outcome::Kind::Transport
}

fn entry(
    c: &super::outcome::CassetteReport,
    ch: &super::outcome::ChainReport,
    d: &super::outcome::Difference,
) -> Accepted {
    entry_of(&c.name(), ch.chain, ch.protocol, d)
}

fn entry_of(
    cassette: &str,
    chain: usize,
    protocol: crate::protocol::Protocol,
    d: &super::outcome::Difference,
) -> Accepted {
    Accepted {
        cassette: cassette.to_string(),
        chain,
        protocol: protocol.name().to_string(),
        kind: d.kind.name().to_string(),
        path: d.path.to_string(),
        recorded: d.recorded.clone(),
        received: d.received.clone(),
    }
}

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The accepted differences.
    pub accepted: Vec<Accepted>,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, DiffError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DiffError::File(format!(
                "--baseline: cannot read '{}': {e} (create it with --baseline-update)",
                path.display()
            ))
        })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            DiffError::File(format!(
                "--baseline: {}: line {}, column {}: {e} (expected a baseline written by --baseline-update)",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if b.format != FORMAT {
            return Err(DiffError::File(format!(
                "--baseline: {}: format is '{}', expected '{FORMAT}'",
                path.display(),
                b.format
            )));
        }
        Ok(b)
    }

    /// Every difference of `report` a baseline may accept, as a baseline: all but `transport` ones (a
    /// target that did not answer is no behaviour to accept, and the next run against a dead target must
    /// fail).
    pub fn from_report(report: &Report) -> Baseline {
        let mut accepted = Vec::new();
        for c in &report.cassettes {
            for ch in &c.chains {
                accepted.extend(ch.differences.iter().filter(|d| acceptable(d)).map(|d| entry(c, ch, d)));
            }
        }
        Baseline { format: FORMAT.into(), version: 1, accepted }
    }

    /// Writes it, pretty, atomically.
    pub fn save(&self, path: &Path) -> Result<(), DiffError> {
        let mut text = serde_json::to_string_pretty(self).expect("a baseline serializes");
        text.push('\n');
        let tmp = path.with_extension("tmp");
        let cannot =
            |p: &Path, e: std::io::Error| DiffError::File(format!("--baseline: cannot write '{}': {e}", p.display()));
        std::fs::write(&tmp, text).map_err(|e| cannot(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| cannot(path, e))?;
        Ok(())
    }

    /// Marks the differences of `report` the baseline lists as accepted (and chains whose differences all are
    /// as [`Verdict::Accepted`]); returns the entries that matched nothing.
    pub fn apply(&self, report: &mut Report) -> Vec<Accepted> {
        let mut left: HashMap<String, (usize, &Accepted)> = HashMap::new();
        for e in &self.accepted {
            left.entry(e.key()).or_insert((0, e)).0 += 1;
        }
        for c in &mut report.cassettes {
            let name = c.name();
            for ch in &mut c.chains {
                let keys: Vec<Option<String>> = ch
                    .differences
                    .iter()
                    .map(|d| acceptable(d).then(|| entry_of(&name, ch.chain, ch.protocol, d).key()))
                    .collect();
                for (d, key) in ch.differences.iter_mut().zip(keys) {
                    if let Some((n, _)) = key.and_then(|k| left.get_mut(&k)).filter(|(n, _)| *n > 0) {
                        *n -= 1;
                        d.accepted = true;
                    }
                }
                if !ch.differences.is_empty() && ch.differences.iter().all(|d| d.accepted) {
                    ch.verdict = Verdict::Accepted;
                }
            }
        }
        let mut stale: Vec<Accepted> = Vec::new();
        for e in &self.accepted {
            if let Some((n, _)) = left.get_mut(&e.key()).filter(|(n, _)| *n > 0) {
                *n -= 1;
                stale.push(e.clone());
            }
        }
        stale
    }
}
