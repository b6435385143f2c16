//! Typed comparison of a recorded chain and the target's: replies (status, error code, message), documents
//! under the [`Rules`] (numbers by value, timestamps as instants within a tolerance, absent = null, lists by
//! key, as sets or by position), and jobs aligned by `JobId` within a page ([`View::Strict`]) or across the
//! joined pages of the chain ([`View::Logical`]).

use std::collections::HashMap;

use serde_json::Value;

use super::outcome::{At, Difference, Kind, View};
use super::renaming::{Agreement, Binding, Renaming};
use super::rules::{MessagePolicy, Ordered, Rules};
use crate::doc::{JsonPath, canonical};
use crate::model::{JOBS_MEMBER, ListRequest, Order, Page, Reply};

/// Members whose values are timestamps (epoch seconds), compared as instants.
const TIMESTAMP_MEMBERS: [&str; 3] = ["SubmitTime", "EndTime", "ExpirationTime"];

/// Collects differences under one set of rules, and counts what was compared (for the summary).
pub(crate) struct Comparer<'a> {
    pub rules: &'a Rules,
    pub renaming: &'a mut Renaming,
    /// Where each pair in `renaming.fresh` was bound.
    pub bindings: Vec<Binding>,
    /// Whether the listing's filter has a documented order.
    pub documented_order: bool,
    pub out: Vec<Difference>,
}

impl<'a> Comparer<'a> {
    pub fn new(rules: &'a Rules, renaming: &'a mut Renaming, first_request: Option<&Value>) -> Comparer<'a> {
        let documented_order = first_request
            .and_then(|r| ListRequest::from_document(r).ok())
            .and_then(|r| r.filter)
            .is_some_and(|f| Order::documented(&f).is_some());
        Comparer { rules, renaming, bindings: Vec::new(), documented_order, out: Vec::new() }
    }

    fn push(
        &mut self,
        kind: Kind,
        at: At,
        path: JsonPath,
        recorded: Option<Value>,
        received: Option<Value>,
        message: String,
    ) {
        self.out.push(
            Difference::new(kind, path, message)
                .on_page(at.page)
                .of_interaction(at.interaction)
                .recorded(recorded)
                .received(received),
        );
    }

    /// Compares two replies to the same request: status, then error code and message, or the documents.
    /// `jobs` says whether the output's job list is compared here (strict view) or by the caller (logical).
    pub fn replies(&mut self, rec: &Page, got: &Page, at: At, jobs: bool) {
        if rec.status != got.status {
            self.push(
                Kind::Status,
                at,
                JsonPath::root(),
                Some(rec.status.into()),
                Some(got.status.into()),
                format!("HTTP status {} → {}", rec.status, got.status),
            );
        }
        match (&rec.reply, &got.reply) {
            (Reply::Error(a), Reply::Error(b)) => {
                if a.code != b.code {
                    self.push(
                        Kind::ErrorCode,
                        at,
                        JsonPath::root().key("__type"),
                        Some(a.code.clone().into()),
                        Some(b.code.clone().into()),
                        format!("error {} → {}", a.code, b.code),
                    );
                }
                let same = match self.rules.message_policy() {
                    MessagePolicy::Ignore => true,
                    MessagePolicy::Exact => a.message == b.message,
                    MessagePolicy::Prefix => b.message.starts_with(&a.message),
                };
                if !same {
                    self.push(
                        Kind::Message,
                        at,
                        JsonPath::root().key("message"),
                        Some(a.message.clone().into()),
                        Some(b.message.clone().into()),
                        format!("message ({} policy) differs", self.rules.message_policy().name()),
                    );
                }
            }
            (Reply::Output(a), Reply::Output(b)) => {
                let (Value::Object(am), Value::Object(bm)) = (a, b) else {
                    let (a, b) = (canonical(a), canonical(b));
                    return self.values(Some(&a), Some(&b), &mut JsonPath::root(), at);
                };
                let token = |m: &serde_json::Map<String, Value>| present(m, "NextToken").is_some();
                if jobs && token(am) != token(bm) {
                    let show = |p: bool| if p { "present" } else { "absent" };
                    self.push(
                        Kind::Pagination,
                        at,
                        JsonPath::root().key("NextToken"),
                        present(am, "NextToken").cloned(),
                        present(bm, "NextToken").cloned(),
                        format!("NextToken {} → {}", show(token(am)), show(token(bm))),
                    );
                }
                let keys: std::collections::BTreeSet<&String> = am.keys().chain(bm.keys()).collect();
                for k in keys {
                    if k == "NextToken" || (!jobs && k == JOBS_MEMBER) {
                        continue;
                    }
                    let mut path = JsonPath::root().key(k.as_str());
                    self.values(present(am, k), present(bm, k), &mut path, at);
                }
            }
            // One side an error, the other not: the status said it; name the error too.
            (Reply::Error(e), Reply::Output(_)) | (Reply::Output(_), Reply::Error(e)) => {
                let recorded_error = rec.reply.error().is_some();
                self.push(
                    Kind::ErrorCode,
                    at,
                    JsonPath::root().key("__type"),
                    recorded_error.then(|| e.code.clone().into()),
                    (!recorded_error).then(|| e.code.clone().into()),
                    if recorded_error {
                        format!("the recording has error {}, the target answered with jobs", e.code)
                    } else {
                        format!("the target answered with error {} ({})", e.code, e.message)
                    },
                );
            }
        }
    }

    /// Compares two values at `path` as the canonical form would (`null` members as absent, numbers by
    /// value), without building it.
    pub fn values(&mut self, a: Option<&Value>, b: Option<&Value>, path: &mut JsonPath, at: At) {
        let treatment = self.rules.at(path);
        if treatment.ignore {
            return;
        }
        let (a, b) = (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null()));
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                // Both maps iterate in key order: walk them side by side.
                let (mut xi, mut yi) = (x.iter().peekable(), y.iter().peekable());
                loop {
                    let (k, xv, yv) = match (xi.peek(), yi.peek()) {
                        (None, None) => break,
                        (Some((kx, _)), Some((ky, _))) if kx == ky => {
                            let ((k, xv), (_, yv)) = (xi.next().expect("peeked"), yi.next().expect("peeked"));
                            (k, Some(xv), Some(yv))
                        }
                        (Some((kx, _)), Some((ky, _))) if kx < ky => {
                            let (k, xv) = xi.next().expect("peeked");
                            (k, Some(xv), None)
                        }
                        (Some(_), None) => {
                            let (k, xv) = xi.next().expect("peeked");
                            (k, Some(xv), None)
                        }
                        _ => {
                            let (k, yv) = yi.next().expect("peeked");
                            (k, None, Some(yv))
                        }
                    };
                    if xv.is_none_or(Value::is_null) && yv.is_none_or(Value::is_null) {
                        continue;
                    }
                    path.push(crate::doc::Segment::Key(k.clone()));
                    self.values(xv, yv, path, at);
                    path.pop();
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                if let Some(key) = &treatment.keyed {
                    let ordered = self.ordered(treatment.ordered);
                    let rec: Vec<(Option<usize>, &Value)> = x.iter().map(|v| (at.page, v)).collect();
                    let got: Vec<(Option<usize>, &Value)> = y.iter().map(|v| (at.page, v)).collect();
                    let ties = tie_member(treatment.ordered);
                    self.keyed(&rec, &got, key, ordered.then_some(ties), path, at.interaction, true);
                } else if treatment.set {
                    self.set(x, y, path, at);
                } else {
                    for i in 0..x.len().max(y.len()) {
                        path.push(crate::doc::Segment::Index(i));
                        self.values(x.get(i), y.get(i), path, at);
                        path.pop();
                    }
                }
            }
            (Some(Value::Number(x)), Some(Value::Number(y))) => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                if x == y {
                    return;
                }
                let is_time = matches!(path.segments().last(), Some(crate::doc::Segment::Key(k)) if TIMESTAMP_MEMBERS.contains(&k.as_str()));
                let tolerance =
                    if is_time { self.rules.tolerance_at(path) } else { treatment.tolerance.unwrap_or_default() };
                if (x - y).abs() <= tolerance.as_secs_f64() {
                    return;
                }
                let message =
                    if is_time { instant_message(x, y) } else { format!("{} → {}", fmt_num(x), fmt_num(y)) };
                self.push(Kind::Body, at, path.clone(), a.cloned(), b.cloned(), message);
            }
            (Some(Value::String(x)), Some(Value::String(y))) => match self.renaming.strings(x, y) {
                Agreement::NoPlaceholders if x == y => {}
                Agreement::Agree => {
                    for (recorded, target) in self.renaming.fresh.drain(..) {
                        self.bindings.push(Binding { recorded, target, at, path: path.clone() });
                    }
                }
                Agreement::Broken(why) => {
                    self.push(Kind::Body, at, path.clone(), a.cloned(), b.cloned(), why.into());
                }
                _ => {
                    let message = format!("{} → {}", Value::String(x.clone()), Value::String(y.clone()));
                    self.push(Kind::Body, at, path.clone(), a.cloned(), b.cloned(), message);
                }
            },
            (a, b) if a == b => {}
            (None, None) => {}
            (a, b) => {
                let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_string(), Value::to_string);
                let message = format!("{} → {}", show(a), show(b));
                self.push(Kind::Body, at, path.clone(), a.cloned(), b.cloned(), message);
            }
        }
    }

    fn ordered(&self, rule: Option<Ordered>) -> bool {
        match rule.unwrap_or(Ordered::No) {
            Ordered::Yes => true,
            Ordered::No => false,
            Ordered::Documented => self.documented_order,
        }
    }

    /// Whether the rules put the job list's order in play for this listing.
    pub fn jobs_ordered(&self) -> bool {
        self.ordered(self.rules.at(&JsonPath::root().key(JOBS_MEMBER)).ordered)
    }

    /// A list compared as a multiset of values.
    fn set(&mut self, x: &[Value], y: &[Value], path: &JsonPath, at: At) {
        let key = |v: &Value| canonical(v).to_string();
        let mut counts: HashMap<String, i64> = HashMap::new();
        for v in x {
            *counts.entry(key(v)).or_default() += 1;
        }
        for v in y {
            *counts.entry(key(v)).or_default() -= 1;
        }
        if counts.values().any(|c| *c != 0) {
            let mut missing: Vec<&String> = counts.iter().filter(|(_, c)| **c > 0).map(|(k, _)| k).collect();
            let mut extra: Vec<&String> = counts.iter().filter(|(_, c)| **c < 0).map(|(k, _)| k).collect();
            missing.sort();
            extra.sort();
            let message = format!(
                "as a set: missing {}; extra {}",
                if missing.is_empty() {
                    "none".into()
                } else {
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                },
                if extra.is_empty() {
                    "none".into()
                } else {
                    extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                }
            );
            self.push(
                Kind::Body,
                at,
                path.clone(),
                Some(Value::Array(x.to_vec())),
                Some(Value::Array(y.to_vec())),
                message,
            );
        }
    }

    /// Lists aligned by the member `key`: missing, extra and duplicated items, moved ones (when `ordered`),
    /// and each common item's fields, addressed by identity. Items carry the page they were on.
    /// `membership` says whether missing and extra items are differences (not for a partial recording
    /// without a documented order, whose first jobs are the service's choice).
    #[allow(clippy::too_many_arguments)]
    pub fn keyed(
        &mut self,
        rec: &[(Option<usize>, &Value)],
        got: &[(Option<usize>, &Value)],
        key: &str,
        order: Option<Option<&str>>,
        list: &JsonPath,
        interaction: Option<usize>,
        membership: bool,
    ) {
        fn id<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
            v.get(key).and_then(Value::as_str)
        }
        let mut rec_at: HashMap<&str, usize> = HashMap::with_capacity(rec.len());
        let mut rec_dupes: HashMap<&str, usize> = HashMap::new();
        for (i, (_, v)) in rec.iter().enumerate() {
            if let Some(k) = id(v, key) {
                match rec_at.entry(k) {
                    std::collections::hash_map::Entry::Occupied(e) => *rec_dupes.entry(e.key()).or_default() += 1,
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(i);
                    }
                }
            }
        }
        let mut got_at: HashMap<&str, usize> = HashMap::with_capacity(got.len());
        let mut common: Vec<(usize, usize)> = Vec::new(); // (recorded index, received index), in received order
        // Items without the key are compared with the recorded ones without it, in order.
        let rec_keyless: Vec<&Value> = rec.iter().filter(|(_, r)| id(r, key).is_none()).map(|(_, r)| *r).collect();
        let mut keyless = 0;
        #[allow(clippy::explicit_counter_loop)] // counts only the items without the key
        for (j, (page, v)) in got.iter().enumerate() {
            let Some(k) = id(v, key) else {
                let mut path = list.clone().index(keyless);
                self.values(rec_keyless.get(keyless).copied(), Some(v), &mut path, At { page: *page, interaction });
                keyless += 1;
                continue;
            };
            let item = list.clone().keyed(key, k);
            let at = At { page: *page, interaction };
            if let Some(&first) = got_at.get(k) {
                let recorded_too = rec_dupes.get(k).copied().unwrap_or(0) > 0;
                if !recorded_too {
                    let first_page = got[first].0;
                    self.push(
                        Kind::Duplicate,
                        at,
                        item,
                        None,
                        Some(Value::String(k.to_string())),
                        match (first_page, page) {
                            (Some(a), Some(b)) if a != *b => format!("listed again (first on page {a})"),
                            _ => "listed twice on this page".to_string(),
                        },
                    );
                } else if let Some(n) = rec_dupes.get_mut(k) {
                    *n -= 1;
                }
                continue;
            }
            got_at.insert(k, j);
            match rec_at.get(k) {
                Some(&i) => {
                    common.push((i, j));
                    let mut path = item;
                    self.values(Some(rec[i].1), Some(v), &mut path, at);
                }
                None if membership => self.push(
                    Kind::Extra,
                    at,
                    item,
                    None,
                    Some((*v).clone()),
                    "listed by the target, not in the recording".to_string(),
                ),
                None => {}
            }
        }
        if membership {
            for (i, (page, v)) in rec.iter().enumerate() {
                let Some(k) = id(v, key) else { continue };
                if rec_at.get(&k) == Some(&i) && !got_at.contains_key(&k) {
                    let where_ = page.map_or_else(String::new, |p| format!(" on page {p}"));
                    self.push(
                        Kind::Missing,
                        At { page: None, interaction },
                        list.clone().keyed(key, k),
                        Some((*v).clone()),
                        None,
                        format!("listed by the recording{where_}; the target did not list it"),
                    );
                }
            }
        }
        if let Some(ties) = order {
            // Each common job's place in the recorded order: its index, or, where only the documented order
            // counts, the rank of its `ties` value (jobs submitted at the same instant may come in any order).
            let mut rank = vec![0usize; rec.len()];
            let mut group = 0;
            for i in 0..rec.len() {
                let same = match (ties, i.checked_sub(1)) {
                    (Some(m), Some(p)) => rec[p].1.get(m).is_some() && rec[p].1.get(m) == rec[i].1.get(m),
                    _ => false,
                };
                if !same && i > 0 {
                    group += 1;
                }
                rank[i] = group;
            }
            let seq: Vec<usize> = common.iter().map(|(i, _)| rank[*i]).collect();
            let keep = longest_non_decreasing(&seq);
            let mut positions: Vec<usize> = common.iter().map(|(i, _)| *i).collect();
            positions.sort_unstable();
            for (n, (i, j)) in common.iter().enumerate() {
                if keep[n] {
                    continue;
                }
                let k = id(rec[*i].1, key).unwrap_or_default();
                let rec_pos = positions.binary_search(i).map_or(0, |p| p + 1);
                self.push(
                    Kind::Moved,
                    At { page: got[*j].0, interaction },
                    list.clone().keyed(key, k),
                    Some(rec_pos.into()),
                    Some((n + 1).into()),
                    format!("position {rec_pos} in the recording, {} here (the order is compared here)", n + 1),
                );
            }
        }
    }
}

/// Every job of a chain's pages, with its page (from 1).
fn listed_jobs(pages: &[Page]) -> Vec<(Option<usize>, &Value)> {
    pages.iter().enumerate().flat_map(|(p, page)| page.jobs().iter().map(move |j| (Some(p + 1), j))).collect()
}

/// A member that is there and not null (absent and null are the same to an AWS JSON service).
fn present<'v>(m: &'v serde_json::Map<String, Value>, k: &str) -> Option<&'v Value> {
    m.get(k).filter(|v| !v.is_null())
}

/// Where the order is compared only as documented, ties in this member may come in any order.
fn tie_member(rule: Option<Ordered>) -> Option<&'static str> {
    (rule == Some(Ordered::Documented)).then_some("SubmitTime")
}

/// Which items of `seq` form one longest non-decreasing subsequence (patience sorting, O(n log n)).
fn longest_non_decreasing(seq: &[usize]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new(); // index into seq of the smallest tail of each length
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &x) in seq.iter().enumerate() {
        let len = tails.partition_point(|&t| seq[t] <= x);
        prev[i] = len.checked_sub(1).map(|l| tails[l]);
        if len == tails.len() {
            tails.push(i);
        } else {
            tails[len] = i;
        }
    }
    let mut keep = vec![false; seq.len()];
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        keep[i] = true;
        cur = prev[i];
    }
    keep
}

fn fmt_num(x: f64) -> String {
    serde_json::Number::from_f64(x)
        .map_or_else(|| x.to_string(), |n| crate::doc::canonical::canonical_number(&n).to_string())
}

/// Two instants that differ, with how far apart they are.
fn instant_message(a: f64, b: f64) -> String {
    let fmt = |x: f64| {
        crate::model::Timestamp::from_secs_f64(x).filter(|t| t.secs_f64().abs() < 1e11).map_or_else(
            || format!("{} (not a plausible epoch-seconds time)", fmt_num(x)),
            |t| format!("{} ({})", fmt_num(x), t.to_rfc3339()),
        )
    };
    format!("{} → {}", fmt(a), fmt(b))
}

/// Compares one recorded chain's pages with the target's, in `view`.
pub(crate) fn chains(
    rules: &Rules,
    renaming: &mut Renaming,
    view: View,
    rec: &[Page],
    got: &[Page],
    rec_complete: bool,
) -> Vec<Difference> {
    chains_bound(rules, renaming, view, rec, got, rec_complete).0
}

/// [`chains`], with where each placeholder pairing was first made.
pub(crate) fn chains_bound(
    rules: &Rules,
    renaming: &mut Renaming,
    view: View,
    rec: &[Page],
    got: &[Page],
    rec_complete: bool,
) -> (Vec<Difference>, Vec<Binding>) {
    let mut c = Comparer::new(rules, renaming, rec.first().map(|p| &p.request));
    let at = |i: usize| At { page: Some(i + 1), interaction: rec.get(i).and_then(|p| p.interaction) };
    match view {
        View::Strict => {
            for (i, (r, g)) in rec.iter().zip(got).enumerate() {
                c.replies(r, g, at(i), true);
            }
        }
        View::Logical => {
            for (i, (r, g)) in rec.iter().zip(got).enumerate() {
                // Errors (and statuses) page by page; the jobs as one listing below.
                c.replies(r, g, at(i), false);
            }
            let list = JsonPath::root().key(JOBS_MEMBER);
            let treatment = rules.at(&list);
            if !treatment.ignore {
                let (r, g) = (listed_jobs(rec), listed_jobs(got));
                let ordered = c.jobs_ordered();
                // A partial recording (the client stopped early) says which jobs come first only where the
                // order is documented: elsewhere, jobs are compared where both sides list them.
                let membership = rec_complete || ordered;
                match &treatment.keyed {
                    Some(key) => {
                        let order = ordered.then_some(tie_member(treatment.ordered));
                        c.keyed(&r, &g, key, order, &list, rec.first().and_then(|p| p.interaction), membership)
                    }
                    None => {
                        let a = Value::Array(r.iter().map(|(_, v)| (*v).clone()).collect());
                        let b = Value::Array(g.iter().map(|(_, v)| (*v).clone()).collect());
                        c.values(Some(&a), Some(&b), &mut list.clone(), At { page: None, interaction: None });
                    }
                }
            }
        }
    }
    (c.out, c.bindings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceError;
    use serde_json::json;

    fn page(req: Value, jobs: Value, token: Option<&str>) -> Page {
        let mut out = json!({ JOBS_MEMBER: jobs });
        if let Some(t) = token {
            out["NextToken"] = json!(t);
        }
        Page { request: req, status: 200, reply: Reply::Output(out), interaction: Some(0) }
    }

    fn logical(rules: &Rules, rec: &[Page], got: &[Page], complete: bool) -> Vec<Difference> {
        chains(rules, &mut Renaming::default(), View::Logical, rec, got, complete)
    }

    fn kinds(d: &[Difference]) -> Vec<String> {
        d.iter().map(|d| format!("{} {}", d.kind.name(), d.path)).collect()
    }

    #[test]
    fn logical_view_ignores_page_splits_and_names_jobs_by_identity() {
        let rules = Rules::defaults();
        let a = json!({"JobId": "a", "JobStatus": "COMPLETED", "SubmitTime": 1});
        let b = json!({"JobId": "b", "JobStatus": "COMPLETED", "SubmitTime": 2.0});
        let c = json!({"JobId": "c", "JobStatus": "FAILED", "SubmitTime": 3});
        let rec = vec![page(json!({}), json!([a, b]), Some("t")), page(json!({}), json!([c]), None)];
        let same = vec![page(json!({}), json!([a]), Some("x")), page(json!({}), json!([b, c]), None)];
        assert_eq!(kinds(&logical(&rules, &rec, &same, true)), Vec::<String>::new());
        let strict = chains(&rules, &mut Renaming::default(), View::Strict, &rec, &same, true);
        assert!(
            kinds(&strict).contains(&"missing $.ComprehendMedicalAsyncJobPropertiesList[JobId=b]".to_string()),
            "{strict:?}"
        );
        let c2 = json!({"JobId": "c", "JobStatus": "COMPLETED", "SubmitTime": 3});
        let d = json!({"JobId": "d"});
        let changed = vec![page(json!({}), json!([c2, a, d, a]), None)];
        let diffs = logical(&rules, &rec, &changed, true);
        assert_eq!(
            kinds(&diffs),
            [
                "body $.ComprehendMedicalAsyncJobPropertiesList[JobId=c].JobStatus",
                "extra $.ComprehendMedicalAsyncJobPropertiesList[JobId=d]",
                "duplicate $.ComprehendMedicalAsyncJobPropertiesList[JobId=a]",
                "missing $.ComprehendMedicalAsyncJobPropertiesList[JobId=b]",
            ]
        );
        assert_eq!(diffs[0].message, "\"FAILED\" → \"COMPLETED\"");
    }

    #[test]
    fn order_counts_only_where_documented_or_asked() {
        let rules = Rules::defaults();
        let jobs = |ids: &[&str]| Value::Array(ids.iter().map(|i| json!({"JobId": i})).collect());
        let undocumented = json!({"Filter": {"SubmitTimeAfter": 1, "SubmitTimeBefore": 9}});
        let rec = vec![page(undocumented.clone(), jobs(&["a", "b", "c", "d"]), None)];
        let got = vec![page(undocumented, jobs(&["b", "a", "c", "d"]), None)];
        assert_eq!(logical(&rules, &rec, &got, true), vec![]);
        let documented = json!({"Filter": {"SubmitTimeBefore": 9}});
        let rec = vec![page(documented.clone(), jobs(&["a", "b", "c", "d"]), None)];
        let got = vec![page(documented, jobs(&["b", "c", "d", "a"]), None)];
        let d = logical(&rules, &rec, &got, true);
        assert_eq!(kinds(&d), ["moved $.ComprehendMedicalAsyncJobPropertiesList[JobId=a]"], "one move, not three");
        // Jobs submitted at the same instant: the documentation orders by time only, so ties may swap.
        let timed =
            |ids: &[(&str, u32)]| Value::Array(ids.iter().map(|(i, t)| json!({"JobId": i, "SubmitTime": t})).collect());
        let documented = json!({"Filter": {"SubmitTimeBefore": 9}});
        let rec = vec![page(documented.clone(), timed(&[("a", 1), ("b", 2), ("c", 2), ("d", 3)]), None)];
        let swapped = vec![page(documented.clone(), timed(&[("a", 1), ("c", 2), ("b", 2), ("d", 3)]), None)];
        assert_eq!(logical(&rules, &rec, &swapped, true), vec![], "a tie in SubmitTime may come either way");
        let later = vec![page(documented, timed(&[("a", 1), ("b", 2), ("d", 3), ("c", 2)]), None)];
        assert_eq!(kinds(&logical(&rules, &rec, &later, true)).len(), 1, "but not after a later job");
        assert!(d[0].message.starts_with("position 1 in the recording, 4 here"), "{}", d[0].message);
    }

    #[test]
    fn replies_compare_typed() {
        let rules = Rules::defaults();
        let err = |status, code: &str, msg: &str| Page {
            request: json!({}),
            status,
            reply: Reply::Error(ServiceError::new(status, code, msg)),
            interaction: Some(3),
        };
        let d = logical(&rules, &[err(400, "ValidationException", "a")], &[err(400, "ValidationException", "b")], true);
        assert_eq!(d, vec![], "messages are ignored by default");
        let d =
            logical(&rules, &[err(400, "ValidationException", "a")], &[err(500, "InternalServerException", "a")], true);
        assert_eq!(kinds(&d), ["status $", "error-code $.__type"]);
        assert_eq!(d[0].interaction, Some(3));
        let mut exact = Rules::defaults();
        exact.extend_from_toml("[compare]\nmessage = \"prefix\"").unwrap();
        let d = logical(&exact, &[err(400, "X", "Value '0'")], &[err(400, "X", "Value '0' at 'maxResults'")], true);
        assert_eq!(d, vec![]);
        let d = logical(&exact, &[err(400, "X", "Value '0'")], &[err(400, "X", "value")], true);
        assert_eq!(kinds(&d), ["message $.message"]);
        // Timestamps as instants, numbers by value, absent = null.
        let job = |t: Value| json!([{"JobId": "a", "SubmitTime": t, "EndTime": null}]);
        let rec = vec![page(json!({}), job(json!(1704164645.678)), None)];
        let ms = vec![page(json!({}), job(json!(1704164645678u64)), None)];
        let d = logical(&rules, &rec, &ms, true);
        assert_eq!(kinds(&d), ["body $.ComprehendMedicalAsyncJobPropertiesList[JobId=a].SubmitTime"]);
        assert!(d[0].message.contains("not a plausible epoch-seconds time"), "{}", d[0].message);
        let close = vec![page(json!({}), json!([{"JobId": "a", "SubmitTime": 1704164645.679}]), None)];
        assert_eq!(logical(&rules, &rec, &close, true).len(), 1);
        let mut loose = Rules::defaults();
        loose.extend_from_toml("[compare]\ntolerance = \"2ms\"").unwrap();
        assert_eq!(logical(&loose, &rec, &close, true), vec![]);
    }

    #[test]
    fn token_presence_is_compared_per_page_in_the_strict_view() {
        let rules = Rules::defaults();
        let rec = vec![page(json!({}), json!([]), Some("abc"))];
        let got = vec![page(json!({}), json!([]), Some("something-else"))];
        assert_eq!(
            chains(&rules, &mut Renaming::default(), View::Strict, &rec, &got, true),
            vec![],
            "token values are never compared"
        );
        let none = vec![page(json!({}), json!([]), None)];
        assert_eq!(
            kinds(&chains(&rules, &mut Renaming::default(), View::Strict, &rec, &none, true)),
            ["pagination $.NextToken"]
        );
    }

    #[test]
    fn longest_non_decreasing_keeps_the_most_in_order() {
        assert_eq!(longest_non_decreasing(&[1, 2, 3, 0]), [true, true, true, false]);
        assert_eq!(longest_non_decreasing(&[3, 2, 1, 0]).iter().filter(|k| **k).count(), 1);
        assert_eq!(longest_non_decreasing(&[1, 1, 2, 2]), [true; 4], "equal ranks are in order");
        assert_eq!(longest_non_decreasing(&[]), Vec::<bool>::new());
    }
}
