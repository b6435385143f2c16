//! The model's oracles on the target's answers ([`crate::model::oracle`]), outranked by the recording: a
//! violation the recorded chain shows too (same oracle, same place) is the service's own behaviour, not the
//! target's bug, and is not reported.

use std::collections::HashSet;

use serde_json::Value;

use super::outcome::{Difference, Kind};
use crate::doc::{JsonPath, Segment};
use crate::model::oracle::{FilterSemantics, Oracle, Violation, check_chain};
use crate::model::{Chain, JOBS_MEMBER, Page};

/// A violation's path with list items named by identity (`[JobId=…]`) instead of by index where the page
/// says which job that is.
fn by_identity(path: &JsonPath, page: Option<&Page>) -> JsonPath {
    let segs = path.segments();
    match (segs.first(), segs.get(1), page) {
        (Some(Segment::Key(k)), Some(Segment::Index(i)), Some(page)) if k == JOBS_MEMBER => {
            match page.jobs().get(*i).and_then(|j| j.get("JobId")).and_then(Value::as_str) {
                Some(id) => {
                    let mut named = vec![segs[0].clone(), Segment::Keyed { key: "JobId".into(), value: id.into() }];
                    named.extend(segs[2..].iter().cloned());
                    JsonPath::from_segments(named)
                }
                None => path.clone(),
            }
        }
        _ => path.clone(),
    }
}

fn place(v: &Violation, chain: &Chain) -> (Oracle, JsonPath) {
    (v.oracle, by_identity(&v.path, v.page.and_then(|p| chain.pages.get(p))))
}

/// The oracles' findings on `target` that `recorded` does not show, as differences of kind `oracle`.
/// `already` holds differences found by comparison: a duplicate job or a token loop reported there is not
/// reported again by its oracle.
pub(crate) fn judge(recorded: &Chain, target: &Chain, already: &[Difference]) -> Vec<Difference> {
    let semantics = FilterSemantics::DOCUMENTED;
    let found = check_chain(target, &semantics);
    if found.is_empty() {
        return Vec::new();
    }
    let shown: HashSet<(Oracle, JsonPath)> =
        check_chain(recorded, &semantics).iter().map(|v| place(v, recorded)).collect();
    let covered: HashSet<(Kind, &JsonPath)> = already.iter().map(|d| (d.kind, &d.path)).collect();
    let mut out = Vec::new();
    for v in found {
        let (oracle, path) = place(&v, target);
        if shown.contains(&(oracle, path.clone())) {
            continue;
        }
        // `pagination` names a token loop at `$.NextToken` and a job listed twice at the job.
        let token = JsonPath::root().key("NextToken");
        let dup = match oracle {
            Oracle::Pagination if path == token => covered.contains(&(Kind::Pagination, &token)),
            Oracle::Pagination => covered.contains(&(Kind::Duplicate, &path)),
            _ => false,
        };
        if dup {
            continue;
        }
        let page = v.page.map(|p| p + 1);
        let interaction = v.page.and_then(|p| target.pages.get(p)).and_then(|p| p.interaction);
        let output = target.pages.get(v.page.unwrap_or(0)).and_then(Page::output).unwrap_or(&Value::Null);
        let received = path.get(output).filter(|v| !v.is_array()).cloned();
        let mut d = Difference::new(Kind::Oracle, path, v.message.clone())
            .on_page(page)
            .of_interaction(interaction)
            .received(received);
        d.oracle = Some(oracle);
        d.basis = Some(v.basis);
        out.push(d);
    }
    out
}
