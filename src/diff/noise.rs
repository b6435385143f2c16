//! Noise learning (`diff --learn-noise RUNS`): the paths whose values vary between runs of the same
//! cassette against the same target (or between two recordings of the same traffic) are noise, and become
//! `ignore` rules, each with the values seen as its evidence.
//!
//! Some variation is never noise, and is refused with the reason: a whole list or a whole job (jobs that come
//! and go), the status (an HTTP status or a `JobStatus`: the answer itself), an identity field (`JobId`: a
//! different job), pagination, and transport failures. Ignoring any of them would hide every real difference
//! there.

use super::DiffError;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use super::outcome::{Difference, Kind};
use crate::doc::{JsonPath, Segment};
use crate::model::JOBS_MEMBER;

/// A path that varied, and what was seen there.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The pattern (`[*]` for every job).
    pub path: JsonPath,
    /// Values seen, in order of first sight.
    pub evidence: Vec<String>,
    /// How many places varied.
    pub places: usize,
}

/// A variation that is not noise.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// Where.
    pub path: JsonPath,
    /// Why it cannot be ignored.
    pub why: String,
}

/// What a noise run learned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Noise {
    /// Paths to ignore.
    pub noise: Vec<Candidate>,
    /// Variations refused.
    pub refused: Vec<Refusal>,
    /// How many comparisons the variations come from.
    pub comparisons: usize,
}

fn general(path: &JsonPath) -> JsonPath {
    JsonPath::from_segments(
        path.segments()
            .iter()
            .map(|s| if matches!(s, Segment::Keyed { .. } | Segment::Index(_)) { Segment::Any } else { s.clone() })
            .collect(),
    )
}

fn refusal(d: &Difference, path: &JsonPath, identity: &str) -> Option<String> {
    let segs = path.segments();
    let last_key = match segs.last() {
        Some(Segment::Key(k)) => Some(k.as_str()),
        _ => None,
    };
    let in_jobs = matches!(segs.first(), Some(Segment::Key(k)) if k == JOBS_MEMBER);
    Some(match d.kind {
        Kind::Status | Kind::ErrorCode => "the status varies between runs: that is the answer itself, not noise".into(),
        Kind::Missing | Kind::Extra | Kind::Duplicate => {
            "whole jobs come and go between runs: ignoring a whole job would hide every difference in it".into()
        }
        Kind::Moved => "the order of a whole list varies: ignoring it would hide every misordered page".into(),
        Kind::Pagination => "pagination varies between runs: that is a bug to fix, not noise".into(),
        Kind::Transport => format!("a run got no answer ({}): fix the target, then learn again", d.message),
        Kind::Oracle | Kind::Protocol => "an oracle or protocol finding is never noise".into(),
        Kind::Body if in_jobs && segs.len() <= 2 => {
            "a whole job varies: ignoring it would hide every difference in it".into()
        }
        Kind::Body if segs.len() <= 1 && last_key == Some(JOBS_MEMBER) => {
            "the whole list varies: ignoring it would hide every difference in it".into()
        }
        Kind::Body if last_key == Some(identity) => {
            format!("{identity} is the identity of a job: one that varies is a different job, not noise")
        }
        Kind::Body if last_key == Some("JobStatus") => {
            "JobStatus is the status of a job: one that varies is the answer itself, not noise".into()
        }
        Kind::Body if path.is_root() => "the whole answer varies".into(),
        Kind::Body | Kind::Message => return None,
    })
}

/// Sorts the differences found between runs into noise and refusals.
pub fn classify<'a>(differences: impl IntoIterator<Item = &'a Difference>, comparisons: usize) -> Noise {
    let mut noise: BTreeMap<JsonPath, Candidate> = BTreeMap::new();
    let mut refused: BTreeMap<JsonPath, Refusal> = BTreeMap::new();
    for d in differences {
        let path = general(&d.path);
        if let Some(why) = refusal(d, &path, "JobId") {
            refused.entry(path.clone()).or_insert(Refusal { path, why });
            continue;
        }
        let c = noise.entry(path.clone()).or_insert(Candidate { path, evidence: Vec::new(), places: 0 });
        c.places += 1;
        for v in [&d.recorded, &d.received].into_iter().flatten() {
            let mut s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if s.chars().count() > 60 {
                s = s.chars().take(57).collect::<String>() + "...";
            }
            if c.evidence.len() < 6 && !c.evidence.contains(&s) {
                c.evidence.push(s);
            }
        }
    }
    Noise { noise: noise.into_values().collect(), refused: refused.into_values().collect(), comparisons }
}

impl Noise {
    /// The learned rules as TOML `[[rule]]` tables.
    pub fn to_toml(&self, how: &str) -> String {
        let mut out = String::new();
        for c in &self.noise {
            out.push_str(&super::rules::rule_toml(&super::rules::PathRule {
                path: c.path.clone(),
                treatment: super::rules::Treatment { ignore: true, ..Default::default() },
                why: Some(format!("learned by --learn-noise: varied in {} place(s) {how}", c.places)),
                evidence: c.evidence.clone(),
            }));
        }
        out
    }

    /// Appends the learned rules to a rules file (creating it), and says what was learned and refused.
    pub fn write(&self, path: &Path, how: &str) -> Result<String, DiffError> {
        let mut text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from("# snomed-vcr diff rules\n"),
            Err(e) => return Err(DiffError::File(format!("--rules: cannot read '{}': {e}", path.display()))),
        };
        // Keep what is there; add only paths not already ignored.
        let mut existing = super::rules::Rules::defaults();
        existing.extend_from_toml(&text).map_err(|e| e.in_file(path))?;
        let fresh = Noise {
            noise: self
                .noise
                .iter()
                .filter(|c| !existing.rules.iter().any(|r| r.treatment.ignore && r.path == c.path))
                .cloned()
                .collect(),
            ..Noise::default()
        };
        text.push_str(&fresh.to_toml(how));
        std::fs::write(path, text)
            .map_err(|e| DiffError::File(format!("--rules: cannot write '{}': {e}", path.display())))?;
        let mut said = String::new();
        for c in &self.noise {
            let _ = writeln!(said, "noise: {} (seen: {})", c.path, c.evidence.join(", "));
        }
        for r in &self.refused {
            let _ = writeln!(said, "refused: {}: {}", r.path, r.why);
        }
        let _ = writeln!(
            said,
            "{} noise path(s) written to {} ({} new), {} refused, from {} comparison(s)",
            self.noise.len(),
            path.display(),
            fresh.noise.len(),
            self.refused.len(),
            self.comparisons
        );
        Ok(said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(kind: Kind, path: &str, a: serde_json::Value, b: serde_json::Value) -> Difference {
        Difference::new(kind, JsonPath::parse(path).unwrap(), String::new()).on_page(1).recorded(a).received(b)
    }

    #[test]
    fn varying_fields_are_noise_and_over_broad_ones_are_refused() {
        let l = "$.ComprehendMedicalAsyncJobPropertiesList";
        let diffs = [
            d(Kind::Body, &format!("{l}[JobId=a].ModelVersion"), json!("1"), json!("2")),
            d(Kind::Body, &format!("{l}[JobId=b].ModelVersion"), json!("1"), json!("3")),
            d(Kind::Body, &format!("{l}[JobId=b].JobId"), json!("b"), json!("c")),
            d(Kind::Body, &format!("{l}[JobId=b].JobStatus"), json!("FAILED"), json!("COMPLETED")),
            d(Kind::Missing, &format!("{l}[JobId=x]"), json!({}), json!(null)),
            d(Kind::Status, "$", json!(200), json!(500)),
        ];
        let learned = classify(&diffs, 2);
        assert_eq!(learned.noise.len(), 1);
        assert_eq!(learned.noise[0].path.to_string(), format!("{l}[*].ModelVersion"));
        assert_eq!(learned.noise[0].evidence, ["1", "2", "3"]);
        let refused: Vec<String> = learned.refused.iter().map(|r| format!("{}: {}", r.path, r.why)).collect();
        assert_eq!(refused.len(), 4, "{refused:#?}");
        assert!(refused.iter().any(|r| r.contains("[*].JobId: JobId is the identity")), "{refused:#?}");
        assert!(refused.iter().any(|r| r.starts_with(&format!("{l}[*]: whole jobs come and go"))), "{refused:#?}");
        assert!(refused.iter().any(|r| r.starts_with("$: the status varies")), "{refused:#?}");
        let toml = learned.to_toml("in 2 runs");
        let mut rules = crate::diff::Rules::defaults();
        rules.extend_from_toml(&toml).unwrap();
        assert!(rules.ignored(&JsonPath::parse(&format!("{l}[JobId=zz].ModelVersion")).unwrap()));
    }
}
