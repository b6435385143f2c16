//! Differences counted by field and kind, biggest first: "JobStatus differs in 37 of 240 jobs", "NextToken
//! presence differs in 3 of 12 chains". Accepted differences are not counted.

use std::collections::{BTreeMap, HashSet};

pub use super::outcome::SummaryLine;
use super::outcome::{Kind, Report};
use crate::doc::Segment;
use crate::model::JOBS_MEMBER;

/// The field a difference concerns, and whether it is a job's.
fn field_of(kind: Kind, path: &crate::doc::JsonPath, oracle: Option<crate::model::oracle::Oracle>) -> (String, bool) {
    let segs = path.segments();
    let in_job = matches!(segs.first(), Some(Segment::Key(k)) if k == JOBS_MEMBER) && segs.len() > 2;
    let last_key = segs.iter().rev().find_map(|s| match s {
        Segment::Key(k) => Some(k.clone()),
        _ => None,
    });
    let field = match kind {
        Kind::Oracle => oracle.map_or("oracle", |o| o.name()).to_string(),
        Kind::Status => "HTTP status".into(),
        Kind::ErrorCode => "error code".into(),
        Kind::Message => "error message".into(),
        Kind::Transport => "transport".into(),
        Kind::Missing | Kind::Extra | Kind::Duplicate | Kind::Moved => "jobs".into(),
        Kind::Pagination => "NextToken".into(),
        Kind::Body | Kind::Protocol => last_key.unwrap_or_else(|| "$".into()),
    };
    (field, in_job)
}

/// The summary of a report.
pub fn summarize(report: &Report) -> Vec<SummaryLine> {
    // (kind, field) → the distinct units that differ, and the unit
    let mut groups: BTreeMap<(Kind, String), (HashSet<String>, &'static str, usize)> = BTreeMap::new();
    let t = report.totals;
    for (c, cassette) in report.cassettes.iter().enumerate() {
        for (k, chain) in cassette.chains.iter().enumerate() {
            for d in chain.differences.iter().filter(|d| !d.accepted) {
                let (field, in_job) = field_of(d.kind, &d.path, d.oracle);
                let chain_id = format!("{c}/{k}");
                let (unit, total, id) = match d.kind {
                    Kind::Body if in_job => ("jobs", t.jobs, format!("{chain_id}/{}", job_of(&d.path))),
                    Kind::Body | Kind::Status | Kind::ErrorCode | Kind::Message | Kind::Transport => {
                        ("interactions", t.interactions, format!("{chain_id}/{:?}/{:?}", d.page, d.interaction))
                    }
                    Kind::Missing | Kind::Extra | Kind::Duplicate | Kind::Moved => {
                        ("jobs", t.jobs, format!("{chain_id}/{}", d.path))
                    }
                    _ => ("chains", t.chains, chain_id),
                };
                let entry = groups.entry((d.kind, field)).or_insert_with(|| (HashSet::new(), unit, total));
                entry.0.insert(id);
            }
        }
    }
    let mut lines: Vec<SummaryLine> = groups
        .into_iter()
        .map(|((kind, field), (ids, unit, total))| {
            let count = ids.len();
            let text = match kind {
                Kind::Missing => format!("{count} recorded jobs missing from the target's listings"),
                Kind::Extra => format!("{count} jobs listed by the target that the recording does not have"),
                Kind::Duplicate => format!("{count} jobs listed twice in a chain"),
                Kind::Moved => format!("{count} jobs out of the recorded (documented) order"),
                Kind::Pagination => format!("NextToken presence differs in {count} of {total} chains"),
                Kind::Oracle => format!("oracle {field} broken in {count} of {total} chains"),
                Kind::Transport => format!("no answer for {count} of {total} interactions"),
                Kind::Protocol => format!("JSON and CBOR answers differ at {field} in {count} of {total} chains"),
                _ => format!("{field} differs in {count} of {total} {unit}"),
            };
            SummaryLine { kind, field, count, total, unit, text }
        })
        .collect();
    lines.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)).then(a.field.cmp(&b.field)));
    lines
}

fn job_of(path: &crate::doc::JsonPath) -> String {
    match path.segments().get(1) {
        Some(Segment::Keyed { value, .. }) => value.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}
