//! The fuzzer's judges: each oracle ([`Oracle`], the vocabulary `diff` shares) with a stable name, the basis
//! of its expectation, and a switch (`--oracle`/`--skip-oracle`). None assumes what its basis does not say:
//! the documentation leaves bound inclusivity, name matching, the order with both or neither time bound,
//! token format, page fill and lifetime, and message wording to the service, so no oracle here judges them
//! unless a recording showed them.
//!
//! | oracle | asserts | basis |
//! |---|---|---|
//! | `validation` | invalid input (the model's constraints) → 4xx `ValidationException` in AWS shape (its code in the body's `__type`); valid → 200; recomputed from the input sent | model |
//! | `output-shape` | types, lengths, patterns, enums of every output, CBOR timestamps as tag 1; no job ends before it was submitted | model (the times: documentation) |
//! | `filter` | every listed job satisfies the filter (bounds and names only as learned) | documentation (recording) |
//! | `documented-order` | `SubmitTimeBefore` alone oldest first, `SubmitTimeAfter` alone newest first, across pages | documentation |
//! | `page-size` | at most `MaxResults` (or 100) jobs a page | model |
//! | `pagination` | a listing terminates, lists each job once, and accepts the token it just issued | documentation |
//! | `token-safety` | a token the listing was not just given never yields a 5xx, nor jobs outside the filter; the same token twice gives the same page | documentation |
//! | `robustness` | no 5xx, no answer slower than `--timeout`, no dropped connection, no 1xx or 3xx, always the protocol, no answer bigger than a whole listing's byte budget | model |
//! | `narrower-subset` | adding a filter member lists a subset | metamorphic |
//! | `intersection` | filters on separate members together list the intersection | metamorphic |
//! | `page-size-invariance` | a listing's jobs do not depend on `MaxResults` | metamorphic |
//! | `status-partition` | the seven `JobStatus` filters partition the listing without one | metamorphic |
//! | `recording` | the answers of the model learned from `--cassette` ([`super::differential`] says which it speaks for) | recording |
//! | `against` | the answers of the `--against` implementation, compared as `diff` compares | other-implementation |
//!
//! The relations, `recording`, `against`, `pagination` and the same-token check hold only while the
//! population stays the same: their findings are re-checked before they are reported
//! ([`Oracle::needs_stable_population`], `campaign`). A listing cut where its answers passed the byte budget
//! is the harness's limit: judged as one that did not run to its end, never as a fault.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::exec::{Listing, Trace};
use super::input::{Case, Relation};
use super::verdict::{self, Allowed, TokenOrigin};
use crate::client::{Budgeted, Deviation, Fault};
use crate::doc::{JsonPath, Segment};
use crate::model::oracle::{self as model_oracle, Basis, FilterSemantics, Oracle};
use crate::model::{End, ListRequest, Page, Reply};

/// One broken expectation in one run of a case.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseViolation {
    /// Which oracle.
    pub oracle: Oracle,
    /// Its basis: the oracle's own, or `recording` when a learned behaviour was judged.
    pub basis: Basis,
    /// What makes two violations the same bug: the oracle's own summary, with identities and values out.
    pub signature: String,
    /// The step (or relation listing), from 0.
    pub step: Option<usize>,
    /// The page of that step, from 0.
    pub page: Option<usize>,
    /// What is wrong, with the values involved.
    pub message: String,
}

/// How the oracles judge.
#[derive(Clone, Debug)]
pub struct Judge {
    /// The oracles switched on.
    pub enabled: BTreeSet<Oracle>,
    /// Filter behaviours assumed: the documented ones, or learned from a recording.
    pub semantics: FilterSemantics,
    /// The slowest acceptable answer.
    pub timeout: Duration,
}

impl Judge {
    /// Every oracle on, documented semantics, a 5 s timeout.
    pub fn new() -> Judge {
        Judge {
            enabled: Oracle::ALL.into_iter().collect(),
            semantics: FilterSemantics::DOCUMENTED,
            timeout: Duration::from_secs(5),
        }
    }

    /// The violations in one run of a case.
    pub fn judge(&self, case: &Case, trace: &Trace) -> Vec<CaseViolation> {
        let mut out = Vec::new();
        self.exchanges(trace, &mut out);
        for listing in &trace.listings {
            self.listing(listing, trace, &mut out);
        }
        if let Case::Relation(r) = case {
            relation(r, &trace.listings, &mut out);
        }
        out.retain(|v| self.enabled.contains(&v.oracle));
        out
    }

    fn exchanges(&self, trace: &Trace, out: &mut Vec<CaseViolation>) {
        for s in &trace.sent {
            let mut bad = |oracle: Oracle, signature: String, message: String| {
                out.push(CaseViolation {
                    oracle,
                    basis: oracle.basis(),
                    signature,
                    step: Some(s.step),
                    page: Some(s.page),
                    message,
                })
            };
            if s.elapsed > self.timeout {
                bad(
                    Oracle::Robustness,
                    "slow answer".into(),
                    format!("answered in {:?}, over the {:?} timeout", s.elapsed, self.timeout),
                );
            }
            let answer = match &s.outcome {
                Ok(a) => a,
                // A listing cut where its answers passed the byte budget is the harness's limit, not a fault
                // of the target: only an answer bigger than a whole listing's budget is judged.
                Err(Fault::TooBig { by: Budgeted::Chain | Budgeted::Run, .. }) => continue,
                Err(f) => {
                    bad(Oracle::Robustness, f.name().into(), f.to_string());
                    continue;
                }
            };
            for d in &answer.deviations {
                let (oracle, sig) = match d {
                    Deviation::CodeNotInBody => (Oracle::Validation, "error without __type"),
                    Deviation::UntaggedTimestamps(_) => (Oracle::OutputShape, "CBOR timestamp without tag 1"),
                };
                bad(oracle, sig.into(), d.to_string());
            }
            let token = s.request.get("NextToken").is_some();
            let code = answer.error.as_ref().map(|e| e.code.clone()).unwrap_or_default();
            if answer.status >= 500 {
                let (oracle, what) = if token && s.origin != TokenOrigin::Fresh {
                    (Oracle::TokenSafety, "a token it did not just issue")
                } else {
                    (Oracle::Robustness, "a request")
                };
                bad(
                    oracle,
                    format!("{} for {what}", answer.status),
                    format!("{what} got HTTP {} {code}: a client's input is never a server fault", answer.status),
                );
                continue;
            }
            if answer.status == 429 {
                continue; // throttling is modeled and may answer anything
            }
            let refused = (400..500).contains(&answer.status);
            match verdict::judge(&s.request, s.origin) {
                Allowed::Accept if refused && s.origin == TokenOrigin::Fresh => bad(
                    Oracle::Pagination,
                    "refuses the token it just issued".into(),
                    format!("the NextToken the previous page returned was refused: HTTP {} {code}", answer.status),
                ),
                Allowed::Accept if refused => bad(
                    Oracle::Validation,
                    "refuses a valid request".into(),
                    format!("a request within every constraint of the model got HTTP {} {code}", answer.status),
                ),
                Allowed::Reject { why, .. } if (200..300).contains(&answer.status) => bad(
                    Oracle::Validation,
                    format!("accepts an invalid {}", member_of(&why)),
                    format!("HTTP {} for an invalid request; the model says: {why}", answer.status),
                ),
                Allowed::Reject { modeled: Some(want), why } if refused && !code.is_empty() && code != want => bad(
                    Oracle::Validation,
                    format!("{code} for {want}"),
                    format!("answered {code}, but the model's error for this is {want} ({why})"),
                ),
                _ => {}
            }
        }
    }

    fn listing(&self, listing: &Listing, trace: &Trace, out: &mut Vec<CaseViolation>) {
        let chain = &listing.chain;
        let until = listing.changed_at.unwrap_or(chain.pages.len()).min(chain.pages.len());
        let mut found = model_oracle::check_pages(&chain.pages[..until], &chain.end, &self.semantics);
        for (p, page) in chain.pages.iter().enumerate().skip(until) {
            let (Some(output), Ok(request)) = (page.output(), ListRequest::from_document(&page.request)) else {
                continue;
            };
            found.extend(
                model_oracle::check_page(&request, output, &self.semantics)
                    .into_iter()
                    .map(|v| model_oracle::Violation { page: Some(p), ..v }),
            );
        }
        for v in found {
            let page = v.page.unwrap_or(0);
            let origin = trace.sent.iter().find(|s| s.step == listing.step && s.page == page).map(|s| s.origin);
            let oracle = match v.oracle {
                Oracle::Filter if origin.is_some_and(|o| o != TokenOrigin::Fresh && o != TokenOrigin::None) => {
                    Oracle::TokenSafety
                }
                o => o,
            };
            let basis = if v.basis == Basis::Recording { Basis::Recording } else { oracle.basis() };
            out.push(CaseViolation {
                oracle,
                basis,
                signature: general(&v.path),
                step: Some(listing.step),
                page: v.page,
                message: format!("{}: {}", v.path, v.message),
            });
        }
        if let Some((p, again)) = &listing.repeated
            && let Some(first) = chain.pages.get(*p)
            && let (Reply::Output(_), Reply::Output(_)) = (&first.reply, &again.reply)
        {
            let ids = |page: &Page| page.jobs().iter().map(job_id).collect::<Vec<_>>();
            let second = Page::new(first.request.clone(), again.status, again.reply.clone());
            if ids(first) != ids(&second) {
                out.push(CaseViolation {
                    oracle: Oracle::TokenSafety,
                    basis: Basis::Documentation,
                    signature: "same token, another page".into(),
                    step: Some(listing.step),
                    page: Some(*p),
                    message: format!(
                        "the same NextToken sent twice listed {:?} and then {:?}",
                        ids(first),
                        ids(&second)
                    ),
                });
            }
        }
    }
}

impl Default for Judge {
    fn default() -> Self {
        Judge::new()
    }
}

fn job_id(job: &Value) -> String {
    job.get("JobId").and_then(Value::as_str).unwrap_or("?").to_string()
}

/// The member a validation message names (`at 'maxResults'`).
fn member_of(why: &str) -> String {
    why.split("at '").nth(1).and_then(|r| r.split('\'').next()).unwrap_or("input").to_string()
}

/// A path with identities and indices replaced by `[*]`: the same fault on another job is the same bug.
pub fn general(path: &JsonPath) -> String {
    let segs: Vec<Segment> = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Index(_) | Segment::Keyed { .. } => Segment::Any,
            other => other.clone(),
        })
        .collect();
    JsonPath::from_segments(segs).to_string()
}

/// The JobIds of a complete listing, or `None` when it did not run to its end.
fn complete_ids(listing: Option<&Listing>) -> Option<Vec<String>> {
    let l = listing?;
    (l.chain.end == End::Complete).then(|| l.chain.jobs().map(|(_, j)| job_id(j)).collect())
}

fn relation(r: &Relation, listings: &[Listing], out: &mut Vec<CaseViolation>) {
    let oracle = r.oracle();
    let ids: Option<Vec<Vec<String>>> = (0..r.listings().len()).map(|i| complete_ids(listings.get(i))).collect();
    let Some(ids) = ids else { return };
    let sets: Vec<HashSet<&str>> = ids.iter().map(|v| v.iter().map(String::as_str).collect()).collect();
    let mut bad = |signature: &str, step: usize, message: String| {
        out.push(CaseViolation {
            oracle,
            basis: Basis::Metamorphic,
            signature: signature.into(),
            step: Some(step),
            page: None,
            message,
        })
    };
    let some = |s: &mut Vec<&str>| {
        s.sort_unstable();
        let n = s.len();
        let shown: Vec<&str> = s.iter().take(3).copied().collect();
        format!("{n} job(s), such as {}", shown.join(", "))
    };
    match r {
        Relation::Narrower { .. } => {
            let mut extra: Vec<&str> = sets[1].difference(&sets[0]).copied().collect();
            if !extra.is_empty() {
                bad(
                    "narrower lists more",
                    1,
                    format!("the narrower filter lists {} the wider does not", some(&mut extra)),
                );
            }
        }
        Relation::Intersection { .. } => {
            let want: HashSet<&str> = sets[0].intersection(&sets[1]).copied().collect();
            let mut missing: Vec<&str> = want.difference(&sets[2]).copied().collect();
            let mut extra: Vec<&str> = sets[2].difference(&want).copied().collect();
            if !missing.is_empty() {
                bad(
                    "intersection loses jobs",
                    2,
                    format!("both filters list {} the combined filter does not", some(&mut missing)),
                );
            }
            if !extra.is_empty() {
                bad(
                    "intersection lists more",
                    2,
                    format!("the combined filter lists {} not listed by both", some(&mut extra)),
                );
            }
        }
        Relation::PageSizes { sizes, .. } => {
            let name = |s: &Option<i64>| s.map_or("the default".to_string(), |n| n.to_string());
            for (a, b) in [(0, 1), (1, 0)] {
                let mut lost: Vec<&str> = sets[a].difference(&sets[b]).copied().collect();
                if !lost.is_empty() {
                    bad(
                        "jobs depend on MaxResults",
                        b,
                        format!(
                            "MaxResults {} lists {} that MaxResults {} does not",
                            name(&sizes[a]),
                            some(&mut lost),
                            name(&sizes[b])
                        ),
                    );
                    break;
                }
            }
        }
        Relation::Partition { .. } => {
            let whole = &listings[0].chain;
            let mut missing = Vec::new();
            let mut twice = Vec::new();
            for (_, job) in whole.jobs() {
                if job.get("JobStatus").and_then(Value::as_str).is_none() {
                    continue; // no status: no JobStatus filter can list it
                }
                let id = job.get("JobId").and_then(Value::as_str).unwrap_or("?");
                match sets[1..].iter().filter(|s| s.contains(id)).count() {
                    0 => missing.push(id),
                    1 => {}
                    _ => twice.push(id),
                }
            }
            let mut extra: Vec<&str> =
                sets[1..].iter().flatten().filter(|id| !sets[0].contains(*id)).copied().collect();
            extra.dedup();
            if !missing.is_empty() {
                bad(
                    "a job in no status part",
                    0,
                    format!("the listing has {} that no JobStatus filter lists", some(&mut missing)),
                );
            }
            if !twice.is_empty() {
                bad("a job in two status parts", 0, format!("{} listed under two JobStatus filters", some(&mut twice)));
            }
            if !extra.is_empty() {
                bad(
                    "a status part lists more",
                    0,
                    format!("JobStatus filters list {} the whole listing does not", some(&mut extra)),
                );
            }
        }
    }
}
