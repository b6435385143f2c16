//! The listing's invariants, as judges of any implementation's answers.
//!
//! Each check returns named [`Violation`]s, each with the place it concerns (a page and a `JsonPath` in
//! it, jobs named by identity: `$.ComprehendMedicalAsyncJobPropertiesList[JobId=…].SubmitTime`) and the
//! [`Basis`] of its expectation. A judge that takes one implementation's undocumented choices as truth cries
//! wolf at every other correct one, so what the documentation leaves open is a parameter here, never a
//! default: inclusive or exclusive time bounds and how `JobName` matches ([`FilterSemantics`], documented =
//! not judged), and the order with both or neither time filter ([`Order::documented`] gives none).
//!
//! | oracle | asserts | basis |
//! |---|---|---|
//! | `output-shape` | types, lengths, patterns and enums of the output; no job ends before it was submitted | model (the times: documentation) |
//! | `page-size` | at most `MaxResults` jobs a page, 100 without it | model |
//! | `filter` | every job satisfies the filter: exact `JobStatus`, time bounds (at the bound only if known) | documentation (bounds and names: recording, when learned) |
//! | `documented-order` | `SubmitTimeBefore` alone: oldest first; `SubmitTimeAfter` alone: newest first, across pages | documentation |
//! | `pagination` | each `JobId` at most once in a chain; no `NextToken` comes back twice | documentation |
//! | `status-partition` | listings that partition another hold its jobs, each exactly once | metamorphic |

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::{Chain, End, Filter, JOBS_MEMBER, JobStatus, ListRequest, Order, Page, Timestamp, check_response_each};
use crate::doc::JsonPath;

/// Where an oracle's expectation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    /// The service model (shapes, constraints, documented defaults).
    Model,
    /// The API reference's prose.
    Documentation,
    /// What a recording of the service under study showed.
    Recording,
    /// A relation between the answers to related inputs.
    Metamorphic,
    /// Another implementation's answers to the same inputs (`fuzz --against`).
    OtherImplementation,
}

impl Basis {
    /// `model`, `documentation`, `recording`, `metamorphic` or `other-implementation`.
    pub fn name(self) -> &'static str {
        match self {
            Basis::Model => "model",
            Basis::Documentation => "documentation",
            Basis::Recording => "recording",
            Basis::Metamorphic => "metamorphic",
            Basis::OtherImplementation => "other-implementation",
        }
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Basis {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Every oracle of the project, by stable name: `diff` and `fuzz` name the same bug the same way, and
/// reports, baselines, `--oracle` and `--skip-oracle` use these names. This module checks the ones a
/// listing shows by itself (`output-shape`, `page-size`, `filter`, `documented-order`, `pagination`,
/// `status-partition`); `fuzz` adds the ones that need a request's verdict, a relation between listings, or
/// an expected side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Oracle {
    /// Invalid input refused with the modeled error, valid input accepted.
    Validation,
    /// Types, lengths, patterns and enums of the output, in the protocol's own encoding.
    OutputShape,
    /// At most `MaxResults` (or 100) jobs a page.
    PageSize,
    /// Every listed job satisfies the filter.
    Filter,
    /// The documented order, within and across pages.
    DocumentedOrder,
    /// A listing terminates (no token comes back twice), lists each job once, and accepts its own tokens.
    Pagination,
    /// Foreign, tampered and reused tokens are harmless; the same token twice gives the same page.
    TokenSafety,
    /// No 5xx, no answer slower than the timeout, no dropped connection, no redirect, always the protocol.
    Robustness,
    /// A narrower filter lists a subset.
    NarrowerSubset,
    /// Filters on separate members together list the intersection.
    Intersection,
    /// A listing's jobs do not depend on `MaxResults`.
    PageSizeInvariance,
    /// The `JobStatus` filters partition the listing without one.
    StatusPartition,
    /// The answers of the model learned from a recording.
    Recording,
    /// The answers of another implementation.
    Against,
}

impl Oracle {
    /// Every oracle.
    pub const ALL: [Oracle; 14] = [
        Oracle::Validation,
        Oracle::OutputShape,
        Oracle::PageSize,
        Oracle::Filter,
        Oracle::DocumentedOrder,
        Oracle::Pagination,
        Oracle::TokenSafety,
        Oracle::Robustness,
        Oracle::NarrowerSubset,
        Oracle::Intersection,
        Oracle::PageSizeInvariance,
        Oracle::StatusPartition,
        Oracle::Recording,
        Oracle::Against,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Validation => "validation",
            Oracle::OutputShape => "output-shape",
            Oracle::PageSize => "page-size",
            Oracle::Filter => "filter",
            Oracle::DocumentedOrder => "documented-order",
            Oracle::Pagination => "pagination",
            Oracle::TokenSafety => "token-safety",
            Oracle::Robustness => "robustness",
            Oracle::NarrowerSubset => "narrower-subset",
            Oracle::Intersection => "intersection",
            Oracle::PageSizeInvariance => "page-size-invariance",
            Oracle::StatusPartition => "status-partition",
            Oracle::Recording => "recording",
            Oracle::Against => "against",
        }
    }

    /// The basis of its expectation when nothing was learned (a learned filter semantics or token answer
    /// makes a violation's basis `recording`).
    pub fn basis(self) -> Basis {
        match self {
            Oracle::Validation | Oracle::OutputShape | Oracle::PageSize | Oracle::Robustness => Basis::Model,
            Oracle::Filter | Oracle::DocumentedOrder | Oracle::Pagination | Oracle::TokenSafety => Basis::Documentation,
            Oracle::NarrowerSubset | Oracle::Intersection | Oracle::PageSizeInvariance | Oracle::StatusPartition => {
                Basis::Metamorphic
            }
            Oracle::Recording => Basis::Recording,
            Oracle::Against => Basis::OtherImplementation,
        }
    }

    /// Whether what it asserts depends on the population staying the same while a case runs (a relation
    /// between listings, a comparison with a recording or another implementation, the same token giving
    /// the same page): a finding of such an oracle is re-checked before it is reported.
    pub fn needs_stable_population(self) -> bool {
        matches!(
            self,
            Oracle::NarrowerSubset
                | Oracle::Intersection
                | Oracle::PageSizeInvariance
                | Oracle::StatusPartition
                | Oracle::Recording
                | Oracle::Against
                | Oracle::TokenSafety
                | Oracle::Pagination
        )
    }
}

impl fmt::Display for Oracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Oracle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One broken invariant: which oracle, on what basis, where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The oracle.
    pub oracle: Oracle,
    /// The basis of the expectation that failed.
    pub basis: Basis,
    /// The page (from 0) of a chain, when the check was of a chain.
    pub page: Option<usize>,
    /// Where in the page's document (or the request, for a chain-wide fault such as a loop).
    pub path: JsonPath,
    /// What is wrong, with the values involved.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): ", self.oracle, self.basis)?;
        if let Some(p) = self.page {
            write!(f, "page {}: ", p + 1)?;
        }
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Whether a time bound includes the instant itself: the documentation does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bounds {
    /// A job at exactly the bound is excluded.
    Strict,
    /// A job at exactly the bound is included.
    Inclusive,
    /// Unknown: a job at exactly the bound may be either way; only a job beyond it is a violation.
    Either,
}

/// A way `Filter.JobName` may match a job's name (the documentation says only "filters on the name").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameRule {
    /// Equal, case-sensitive.
    Exact,
    /// The job's name starts with the filter's.
    Prefix,
    /// Equal ignoring case.
    IgnoreCase,
}

impl NameRule {
    /// Every rule a judge considers.
    pub const ALL: [NameRule; 3] = [NameRule::Exact, NameRule::Prefix, NameRule::IgnoreCase];

    /// Whether a job named `name` passes a filter on `filter`.
    pub fn matches(self, filter: &str, name: &str) -> bool {
        match self {
            NameRule::Exact => name == filter,
            NameRule::Prefix => name.starts_with(filter),
            NameRule::IgnoreCase => name.to_lowercase() == filter.to_lowercase(),
        }
    }

    /// `exact`, `prefix` or `ignore-case`.
    pub fn name(self) -> &'static str {
        match self {
            NameRule::Exact => "exact",
            NameRule::Prefix => "prefix",
            NameRule::IgnoreCase => "ignore-case",
        }
    }
}

/// How `Filter.JobName` matches, as a judge may assume it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// By one of these rules (a set, as a recording rules others out): a listed job whose name matches by
    /// none of them is a violation.
    AnyOf(NameRules),
    /// Unknown: names are not judged.
    Unchecked,
}

impl NameMatch {
    /// Exactly, case-sensitive.
    pub const EXACT: NameMatch = NameMatch::AnyOf(NameRules::of(&[NameRule::Exact]));
}

/// A set of [`NameRule`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NameRules(u8);

impl NameRules {
    /// The set of `rules`.
    pub const fn of(rules: &[NameRule]) -> NameRules {
        let mut bits = 0;
        let mut i = 0;
        while i < rules.len() {
            bits |= 1 << rules[i] as u8;
            i += 1;
        }
        NameRules(bits)
    }

    /// Whether `rule` is in the set.
    pub fn contains(self, rule: NameRule) -> bool {
        self.0 & (1 << rule as u8) != 0
    }

    /// The rules in the set, in [`NameRule::ALL`] order.
    pub fn rules(self) -> impl Iterator<Item = NameRule> {
        NameRule::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Whether a job named `name` passes a filter on `filter` by some rule of the set.
    pub fn matches(self, filter: &str, name: &str) -> bool {
        self.rules().any(|r| r.matches(filter, name))
    }

    /// `exact or ignore-case`.
    pub fn describe(self) -> String {
        self.rules().map(NameRule::name).collect::<Vec<_>>().join(" or ")
    }
}

/// The filter behaviours the documentation leaves open, as a judge should assume them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterSemantics {
    /// Whether `SubmitTimeBefore` includes its instant.
    pub before: Bounds,
    /// Whether `SubmitTimeAfter` includes its instant.
    pub after: Bounds,
    /// Job names.
    pub job_name: NameMatch,
    /// Where these come from: [`Basis::Documentation`] for [`FilterSemantics::DOCUMENTED`], [`Basis::Recording`]
    /// when learned from a cassette.
    pub basis: Basis,
}

impl FilterSemantics {
    /// Only what the documentation says: a bound's own instant may go either way, names are not judged.
    pub const DOCUMENTED: FilterSemantics = FilterSemantics {
        before: Bounds::Either,
        after: Bounds::Either,
        job_name: NameMatch::Unchecked,
        basis: Basis::Documentation,
    };
}

impl Default for FilterSemantics {
    fn default() -> Self {
        FilterSemantics::DOCUMENTED
    }
}

/// Where job `i` of a page is: by its `JobId` when it has one, else by position.
pub fn job_path(job: &Value, i: usize) -> JsonPath {
    let list = JsonPath::root().key(JOBS_MEMBER);
    match job.get("JobId").and_then(Value::as_str) {
        Some(id) => list.keyed("JobId", id),
        None => list.index(i),
    }
}

fn submit_time(job: &Value) -> Option<Timestamp> {
    job.get("SubmitTime").and_then(Value::as_f64).and_then(Timestamp::from_secs_f64)
}

/// The most violations of one check a page reports: a hostile page of thousands of wrong jobs says no more
/// than its first ones, which name the fault.
pub const PER_PAGE: usize = 25;
/// Checks one page's output against the request that asked for it: shape, page size, and the filter. (Order
/// is a property of a chain: see [`check_chain`].)
pub fn check_page(request: &ListRequest, output: &Value, semantics: &FilterSemantics) -> Vec<Violation> {
    // Data that contradicts itself, seen on each job as it is checked: a job cannot end before it was
    // submitted.
    let mut contradictions = Vec::new();
    let shapes = check_response_each(output, |i, job| {
        if let (Some(s), Some(e)) = (job.submit_time, job.end_time)
            && e < s
            && contradictions.len() < PER_PAGE
        {
            let at = match &job.job_id {
                Some(id) => JsonPath::root().key(JOBS_MEMBER).keyed("JobId", id),
                None => JsonPath::root().key(JOBS_MEMBER).index(i),
            };
            contradictions.push(Violation {
                oracle: Oracle::OutputShape,
                basis: Basis::Documentation,
                page: None,
                path: at.key("EndTime"),
                message: format!("{e} is before the job's SubmitTime {s}: a job ends after it is submitted"),
            });
        }
    });
    let mut out: Vec<Violation> = shapes
        .into_iter()
        .take(PER_PAGE)
        .map(|v| Violation {
            oracle: Oracle::OutputShape,
            basis: Basis::Model,
            page: None,
            path: v.path,
            message: v.problem,
        })
        .collect();
    out.append(&mut contradictions);
    let jobs = output.get(JOBS_MEMBER).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let limit = request.page_size();
    if jobs.len() > limit {
        let why = match request.max_results {
            Some(n) => format!("MaxResults is {n}"),
            None => "the default page size is 100".to_string(),
        };
        out.push(Violation {
            oracle: Oracle::PageSize,
            basis: Basis::Model,
            page: None,
            path: JsonPath::root().key(JOBS_MEMBER),
            message: format!("{} jobs on one page, but {why}", jobs.len()),
        });
    }
    if let Some(filter) = &request.filter {
        let mut found = 0;
        for (i, job) in jobs.iter().enumerate() {
            let v = check_filter(filter, job, i, semantics);
            found += v.len();
            out.extend(v);
            if found >= PER_PAGE {
                break;
            }
        }
    }
    out
}

/// The ways `job` (the `i`th of its page) fails `filter`.
fn check_filter(filter: &Filter, job: &Value, i: usize, semantics: &FilterSemantics) -> Vec<Violation> {
    let mut out = Vec::new();
    let at = job_path(job, i);
    let mut bad = |member: &str, basis: Basis, message: String| {
        out.push(Violation { oracle: Oracle::Filter, basis, page: None, path: at.clone().key(member), message })
    };
    if let Some(status) = filter.job_status.as_deref().filter(|s| JobStatus::parse(s).is_some()) {
        match job.get("JobStatus").and_then(Value::as_str) {
            Some(s) if s == status => {}
            Some(s) => bad("JobStatus", Basis::Documentation, format!("\"{s}\", but the filter asks for \"{status}\"")),
            None => bad("JobStatus", Basis::Documentation, format!("absent, but the filter asks for \"{status}\"")),
        }
    }
    if let (Some(name), NameMatch::AnyOf(rules)) = (&filter.job_name, semantics.job_name) {
        match job.get("JobName").and_then(Value::as_str) {
            Some(n) if rules.matches(name, n) => {}
            Some(n) => bad(
                "JobName",
                semantics.basis,
                format!("\"{n}\", but the filter asks for \"{name}\" ({})", rules.describe()),
            ),
            None => bad("JobName", semantics.basis, format!("absent, but the filter asks for \"{name}\"")),
        }
    }
    // A job without a SubmitTime cannot be placed against a bound; nothing documented says it must be left out.
    if let Some(t) = submit_time(job) {
        let bounds = [
            (filter.submit_time_before, "SubmitTimeBefore", true, semantics.before),
            (filter.submit_time_after, "SubmitTimeAfter", false, semantics.after),
        ];
        for (bound, member, before, inclusivity) in bounds {
            let Some(b) = bound else { continue };
            let beyond = if before { t > b } else { t < b };
            let at_bound = t == b;
            if beyond {
                let side = if before { "after" } else { "before" };
                bad("SubmitTime", Basis::Documentation, format!("{t} is {side} {member} {b}"));
            } else if at_bound && inclusivity == Bounds::Strict {
                bad("SubmitTime", semantics.basis, format!("{t} is {member} itself, and the bound is exclusive"));
            }
        }
    }
    out
}

/// Checks a whole chain: every page ([`check_page`], against the request that page answered), the documented
/// order across pages, each `JobId` once, and that no token came back twice.
pub fn check_chain(chain: &Chain, semantics: &FilterSemantics) -> Vec<Violation> {
    check_pages(&chain.pages, &chain.end, semantics)
}

/// [`check_chain`] for the first pages of a chain (`pages`), which ended as `end` says.
pub fn check_pages(pages: &[Page], end: &End, semantics: &FilterSemantics) -> Vec<Violation> {
    let mut out = Vec::new();
    for (p, page) in pages.iter().enumerate() {
        let (Some(output), Ok(request)) = (page.output(), ListRequest::from_document(&page.request)) else { continue };
        out.extend(check_page(&request, output, semantics).into_iter().map(|v| Violation { page: Some(p), ..v }));
    }
    out.extend(check_order(pages));
    out.extend(check_unique(pages));
    if let (End::Loop { token }, false) = (end, pages.is_empty()) {
        let first = pages.iter().position(|p| p.next_token() == Some(token)).unwrap_or(0);
        out.push(Violation {
            oracle: Oracle::Pagination,
            basis: Basis::Documentation,
            page: Some(pages.len() - 1),
            path: JsonPath::root().key("NextToken"),
            message: format!(
                "\"{token}\" was already returned on page {}: following it would never end the listing",
                first + 1
            ),
        });
    }
    out
}

/// The documented order across a chain's pages, judged against its first request's filter.
fn check_order(pages: &[Page]) -> Vec<Violation> {
    let filter = pages
        .first()
        .and_then(|p| ListRequest::from_document(&p.request).ok())
        .and_then(|r| r.filter)
        .unwrap_or_default();
    let Some(order) = Order::documented(&filter) else { return Vec::new() };
    let mut out = Vec::new();
    let mut last: Option<(Timestamp, usize, &str)> = None;
    for (p, page) in pages.iter().enumerate() {
        let on_page = out.len();
        for (i, job) in page.jobs().iter().enumerate() {
            let Some(t) = submit_time(job) else { continue };
            if let Some((prev, prev_page, prev_id)) = &last {
                let wrong = match order {
                    Order::Ascending => t < *prev,
                    Order::Descending => t > *prev,
                };
                if wrong && out.len() - on_page < PER_PAGE {
                    let (rule, want) = match order {
                        Order::Ascending => ("SubmitTimeBefore lists oldest first", "earlier than"),
                        Order::Descending => ("SubmitTimeAfter lists newest first", "later than"),
                    };
                    out.push(Violation {
                        oracle: Oracle::DocumentedOrder,
                        basis: Basis::Documentation,
                        page: Some(p),
                        path: job_path(job, i).key("SubmitTime"),
                        message: format!(
                            "{t} is {want} {prev} of {prev_id} before it (page {}): {rule}",
                            prev_page + 1
                        ),
                    });
                }
            }
            let id = job.get("JobId").and_then(Value::as_str).unwrap_or("the job");
            last = Some((t, p, id));
        }
    }
    out
}

/// Each `JobId` at most once in a chain.
fn check_unique(pages: &[Page]) -> Vec<Violation> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (p, page) in pages.iter().enumerate() {
        let on_page = out.len();
        for (i, job) in page.jobs().iter().enumerate() {
            let Some(id) = job.get("JobId").and_then(Value::as_str) else { continue };
            if let Some(first) = seen.insert(id, p)
                && out.len() - on_page < PER_PAGE
            {
                out.push(Violation {
                    oracle: Oracle::Pagination,
                    basis: Basis::Documentation,
                    page: Some(p),
                    path: job_path(job, i),
                    message: format!("JobId \"{id}\" was already listed on page {} of this chain", first + 1),
                });
            }
        }
    }
    out
}

/// Listings that should partition another (`parts`: one chain per `JobStatus`, say, against the unfiltered
/// `whole`) hold each of its jobs exactly once, and nothing else. Only complete chains can be judged.
pub fn check_partition(whole: &Chain, parts: &[Chain]) -> Vec<Violation> {
    if !whole.is_complete() || parts.iter().any(|c| !c.is_complete()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (k, part) in parts.iter().enumerate() {
        for id in part.job_ids() {
            if let Some(other) = owner.insert(id, k) {
                out.push(Violation {
                    oracle: Oracle::StatusPartition,
                    basis: Basis::Metamorphic,
                    page: None,
                    path: JsonPath::root().key(JOBS_MEMBER).keyed("JobId", id),
                    message: format!("listed by part {} and by part {}, which should not overlap", other + 1, k + 1),
                });
            }
        }
    }
    let all: Vec<&str> = whole.job_ids();
    for id in &all {
        if !owner.contains_key(id) {
            out.push(Violation {
                oracle: Oracle::StatusPartition,
                basis: Basis::Metamorphic,
                page: None,
                path: JsonPath::root().key(JOBS_MEMBER).keyed("JobId", *id),
                message: "in the whole listing, but in none of its parts".into(),
            });
        }
    }
    let whole_ids: std::collections::HashSet<&str> = all.into_iter().collect();
    let mut extra: Vec<&str> = owner.keys().copied().filter(|id| !whole_ids.contains(id)).collect();
    extra.sort_unstable();
    for id in extra {
        out.push(Violation {
            oracle: Oracle::StatusPartition,
            basis: Basis::Metamorphic,
            page: None,
            path: JsonPath::root().key(JOBS_MEMBER).keyed("JobId", id),
            message: format!("in part {}, but not in the whole listing", owner[id] + 1),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Page, Reply, Start};
    use serde_json::json;

    fn job(id: &str, status: &str, t: f64) -> Value {
        json!({"JobId": id, "JobStatus": status, "SubmitTime": t, "JobName": format!("name-{id}")})
    }

    fn page(request: Value, jobs: Vec<Value>, token: Option<&str>) -> Page {
        let mut out = json!({ JOBS_MEMBER: jobs });
        if let Some(t) = token {
            out["NextToken"] = json!(t);
        }
        Page::new(request, 200, Reply::Output(out))
    }

    fn names(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|v| v.oracle.name()).collect()
    }

    #[test]
    fn a_correct_chain_has_no_violations_under_either_documented_order() {
        for (filter, times) in [
            (json!({"SubmitTimeBefore": 100}), [10.0, 20.0, 20.0, 30.0]),
            (json!({"SubmitTimeAfter": 5}), [30.0, 20.0, 20.0, 10.0]),
            (json!({}), [20.0, 10.0, 30.0, 5.0]), // no documented order: any order is correct
            (json!({"SubmitTimeBefore": 100, "SubmitTimeAfter": 1}), [30.0, 10.0, 20.0, 5.0]),
        ] {
            let first = json!({"MaxResults": 2, "Filter": filter});
            let mut second = first.clone();
            second["NextToken"] = json!("t");
            let chain = Chain::of_pages(
                Start::Fresh,
                vec![
                    page(first, vec![job("a", "COMPLETED", times[0]), job("b", "FAILED", times[1])], Some("t")),
                    page(second, vec![job("c", "COMPLETED", times[2]), job("d", "COMPLETED", times[3])], None),
                ],
            );
            assert_eq!(check_chain(&chain, &FilterSemantics::DOCUMENTED), vec![], "{filter}");
        }
    }

    #[test]
    fn each_planted_fault_is_named_with_its_place() {
        let req = |v: Value| ListRequest::from_document(&v).unwrap();
        let sem = FilterSemantics::DOCUMENTED;
        // Page size, against MaxResults and the default.
        let three = json!({ JOBS_MEMBER: [job("a", "FAILED", 1.0), job("b", "FAILED", 2.0), job("c", "FAILED", 3.0)] });
        let v = check_page(&req(json!({"MaxResults": 2})), &three, &sem);
        assert_eq!(names(&v), ["page-size"]);
        assert!(v[0].message.contains("3 jobs on one page, but MaxResults is 2"), "{}", v[0]);
        assert_eq!(check_page(&req(json!({})), &three, &sem), vec![]);
        // The filter: a wrong status, a job beyond a bound.
        let v = check_page(&req(json!({"Filter": {"JobStatus": "COMPLETED"}})), &three, &sem);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].path, "$.ComprehendMedicalAsyncJobPropertiesList[JobId=b].JobStatus");
        assert_eq!(v[1].basis, Basis::Documentation);
        let v = check_page(&req(json!({"Filter": {"SubmitTimeAfter": 2}})), &three, &sem);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("1 is before SubmitTimeAfter 2"), "{}", v[0]);
        // Output shape.
        let v = check_page(&req(json!({})), &json!({ JOBS_MEMBER: [{"JobStatus": "DONE"}] }), &sem);
        assert_eq!(
            (names(&v), v[0].path.to_string()),
            (vec!["output-shape"], "$.ComprehendMedicalAsyncJobPropertiesList[0].JobStatus".to_string())
        );
    }

    #[test]
    fn undocumented_choices_are_judged_only_when_known() {
        let req = ListRequest::from_document(&json!({"Filter": {"SubmitTimeBefore": 2, "JobName": "x"}})).unwrap();
        let at_bound = json!({ JOBS_MEMBER: [job("a", "FAILED", 2.0)] });
        assert_eq!(
            check_page(&req, &at_bound, &FilterSemantics::DOCUMENTED),
            vec![],
            "either way is documented-correct"
        );
        let learned = FilterSemantics {
            before: Bounds::Strict,
            after: Bounds::Strict,
            job_name: NameMatch::EXACT,
            basis: Basis::Recording,
        };
        let v = check_page(&req, &at_bound, &learned);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().all(|v| v.basis == Basis::Recording && v.oracle == Oracle::Filter), "{v:?}");
        let inclusive = FilterSemantics { before: Bounds::Inclusive, ..learned };
        assert_eq!(check_page(&req, &at_bound, &inclusive).len(), 1, "only the name");
    }

    #[test]
    fn order_duplicates_and_loops_are_found_across_pages() {
        let first = json!({"Filter": {"SubmitTimeBefore": 100}});
        let mut next = first.clone();
        next["NextToken"] = json!("t1");
        let chain = Chain::of_pages(
            Start::Fresh,
            vec![
                page(first, vec![job("a", "FAILED", 10.0), job("b", "FAILED", 20.0)], Some("t1")),
                page(next.clone(), vec![job("c", "FAILED", 15.0), job("a", "FAILED", 30.0)], Some("t1")),
            ],
        );
        let v = check_chain(&chain, &FilterSemantics::DOCUMENTED);
        assert_eq!(names(&v), ["documented-order", "pagination", "pagination"], "{v:#?}");
        assert_eq!(
            (v[0].page, v[0].path.to_string()),
            (Some(1), "$.ComprehendMedicalAsyncJobPropertiesList[JobId=c].SubmitTime".into())
        );
        assert!(v[0].message.contains("15 is earlier than 20 of b before it (page 1)"), "{}", v[0]);
        assert!(v[1].message.contains("\"a\" was already listed on page 1"), "{}", v[1]);
        assert!(v[2].to_string().starts_with("pagination (documentation): page 2: $.NextToken"), "{}", v[2]);
    }

    #[test]
    fn partitions_miss_nothing_and_overlap_nowhere() {
        let chain = |ids: &[&str]| {
            let jobs = ids.iter().map(|id| job(id, "FAILED", 1.0)).collect();
            Chain::of_pages(Start::Fresh, vec![page(json!({}), jobs, None)])
        };
        let whole = chain(&["a", "b", "c"]);
        assert_eq!(check_partition(&whole, &[chain(&["a"]), chain(&["b", "c"])]), vec![]);
        let v = check_partition(&whole, &[chain(&["a", "b"]), chain(&["b", "x"])]);
        let messages: Vec<String> = v.iter().map(|v| format!("{}: {}", v.path, v.message)).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].contains("[JobId=b]: listed by part 1 and by part 2"));
        assert!(messages[1].contains("[JobId=c]: in the whole listing, but in none"));
        assert!(messages[2].contains("[JobId=x]: in part 2, but not in the whole"));
    }
}
