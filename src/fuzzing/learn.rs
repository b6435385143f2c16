//! What a recording (or the campaign's first walks of a target) shows of a service: its population, and the
//! behaviours the documentation leaves open, each learned from all the evidence together.
//!
//! Each open choice is a set of candidate rules ([`Consistent`]); every listing of the traffic that can tell
//! rules apart keeps only those it is consistent with. A choice is judged by its set: a prefix-matching
//! target is caught by a recording that rules prefix matching out, even if it does not decide between exact
//! and case-insensitive matching. Evidence that contradicts itself (a live account, say) leaves no rule, and
//! then nothing is judged.
//!
//! | behaviour | candidates | evidence |
//! |---|---|---|
//! | population | | every job in every answer, by `JobId`; complete when an unfiltered listing ran to its end |
//! | bound inclusivity, each side | inclusive, exclusive | a complete listing bounded at exactly some job's `SubmitTime`, that job certainly passing the rest of the filter: listed or not |
//! | `JobName` matching | exact, prefix, ignore-case | a complete listing by name: which jobs (certainly passing the rest of the filter) it lists and which it does not |
//! | order with neither time bound, and with both | oldest first, newest first | a complete listing of distinct `SubmitTime`s going one way or the other |
//! | the answer to a foreign token | each 4xx seen; accepted | a token no answer issued, in an otherwise valid request (a 5xx is never learned as right) |
//!
//! [`Learned::config`] serves what was learned (`snomed-vcr reference --from-cassette`); where nothing was
//! decided it takes the reference's own choice, and [`Learned::known`] says which were learned.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::input::Pool;
use crate::model::oracle::{Basis, Bounds, FilterSemantics, NameMatch, NameRule, NameRules};
use crate::model::{Chain, End, Filter, JobProperties, JobStatus, ListRequest, Operation, Order, Start, Timestamp};
use crate::reference::choices::Choices;
use crate::reference::{ReferenceConfig, token::TokenKey};

/// The candidate rules for one open choice that every listing seen is consistent with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consistent<T> {
    /// The rules left.
    pub left: Vec<T>,
    /// How many listings could tell some of the candidates apart.
    pub evidence: usize,
    all: usize,
}

impl<T: Copy + PartialEq> Consistent<T> {
    fn of(candidates: &[T]) -> Consistent<T> {
        Consistent { left: candidates.to_vec(), evidence: 0, all: candidates.len() }
    }

    /// Keeps the rules for which `consistent` holds, when the listing tells some apart (not all the same).
    fn keep(&mut self, consistent: impl Fn(T) -> bool, candidates: &[T]) {
        let verdicts: Vec<bool> = candidates.iter().map(|c| consistent(*c)).collect();
        if verdicts.iter().all(|v| *v == verdicts[0]) && verdicts[0] {
            return; // no listing tells them apart
        }
        self.evidence += 1;
        self.left.retain(|r| consistent(*r));
    }

    /// The one rule left, when the evidence decided it.
    pub fn decided(&self) -> Option<T> {
        match self.left[..] {
            [one] if self.evidence > 0 => Some(one),
            _ => None,
        }
    }

    /// Whether some candidate was ruled out and some is left: the set says something.
    pub fn narrowed(&self) -> bool {
        !self.left.is_empty() && self.left.len() < self.all
    }

    /// Whether the evidence contradicted itself: no rule is left.
    pub fn inconsistent(&self) -> bool {
        self.left.is_empty()
    }
}

/// How a service answered tokens it did not issue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForeignTokens {
    /// The refusals seen (status, code).
    pub refused: BTreeSet<(u16, String)>,
    /// Whether one was accepted.
    pub accepted: bool,
}

impl ForeignTokens {
    /// The answer the service gives, when the evidence shows one and only refusals: judged by it.
    pub fn refusal(&self) -> Option<&(u16, String)> {
        (!self.accepted).then(|| self.refused.iter().next()).flatten()
    }
}

/// The behaviours learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    /// Whether `SubmitTimeBefore` includes its instant.
    pub before_inclusive: Consistent<bool>,
    /// Whether `SubmitTimeAfter` includes its instant.
    pub after_inclusive: Consistent<bool>,
    /// How names match.
    pub job_name: Consistent<NameRule>,
    /// The order with neither time bound.
    pub unfiltered_order: Consistent<Order>,
    /// The order with both time bounds.
    pub both_bounds_order: Consistent<Order>,
    /// The answers to tokens the service did not issue.
    pub foreign_tokens: ForeignTokens,
}

const BOOLS: [bool; 2] = [false, true];
const ORDERS: [Order; 2] = [Order::Ascending, Order::Descending];

impl Default for Known {
    fn default() -> Known {
        Known {
            before_inclusive: Consistent::of(&BOOLS),
            after_inclusive: Consistent::of(&BOOLS),
            job_name: Consistent::of(&NameRule::ALL),
            unfiltered_order: Consistent::of(&ORDERS),
            both_bounds_order: Consistent::of(&ORDERS),
            foreign_tokens: ForeignTokens::default(),
        }
    }
}

/// A service as its traffic showed it.
#[derive(Clone, Debug, Default)]
pub struct Learned {
    /// Every job seen, by `JobId`, as last seen.
    pub jobs: Vec<JobProperties>,
    /// Whether an unfiltered listing ran to its end (so the population is all of it).
    pub complete: bool,
    /// What was learned.
    pub known: Known,
    /// Tokens the answers issued, with the filter document they were issued for.
    pub tokens: Vec<(String, Value)>,
}

fn filter_of(chain: &Chain) -> Option<Filter> {
    let req = ListRequest::from_document(chain.first_request()?).ok()?;
    req.validate().ok()?;
    Some(req.filter.unwrap_or_default())
}

fn secs(job: &JobProperties) -> Option<f64> {
    job.submit_time.map(Timestamp::secs_f64)
}

/// Whether a job certainly passes the members of `f` other than `skip` ("name", "before", "after"),
/// whatever the service chose where the documentation is silent (a name equal to the filter's matches by
/// every rule; a time strictly inside a bound passes it either way).
fn certainly_passes(f: &Filter, job: &JobProperties, skip: &str) -> bool {
    let t = job.submit_time;
    let status = f.job_status.as_deref().and_then(JobStatus::parse);
    status.is_none_or(|s| job.job_status.as_deref() == Some(s.as_str()))
        && (skip == "name" || f.job_name.as_ref().is_none_or(|n| job.job_name.as_ref() == Some(n)))
        && (skip == "before" || f.submit_time_before.is_none_or(|b| t.is_some_and(|t| t < b)))
        && (skip == "after" || f.submit_time_after.is_none_or(|a| t.is_some_and(|t| t > a)))
}

/// Keeps the orders a complete listing's times are consistent with.
fn learn_order(order: &mut Consistent<Order>, chain: &Chain) {
    let times: Vec<f64> = chain.jobs().filter_map(|(_, j)| j.get("SubmitTime")?.as_f64()).collect();
    let up = times.windows(2).any(|w| w[1] > w[0]);
    let down = times.windows(2).any(|w| w[1] < w[0]);
    order.keep(
        |o| match o {
            Order::Ascending => !down,
            Order::Descending => !up,
        },
        &ORDERS,
    );
}

impl Learned {
    /// Learns from cassette files, or directories of them: one service's recordings, taken together (an
    /// unfiltered walk in one shows the population another's bounds are judged against), of
    /// ListSNOMEDCTInferenceJobs alone ([`Learned::family`] learns each operation).
    pub fn from_cassettes(paths: &[PathBuf]) -> Result<Learned, crate::cassette::CassetteError> {
        Ok(Learned::family(paths)?.remove(&Operation::default()).unwrap_or_else(|| Learned::from_chains(&[])))
    }

    /// Learns each operation the cassettes call apart (an operation they never call is absent).
    pub fn family(paths: &[PathBuf]) -> Result<BTreeMap<Operation, Learned>, crate::cassette::CassetteError> {
        let mut chains: BTreeMap<Operation, Vec<Chain>> = BTreeMap::new();
        for path in crate::cassette::expand_paths(paths)? {
            for chain in crate::cassette::Cassette::load(&path)?.into_chains() {
                chains.entry(chain.operation).or_default().push(chain);
            }
        }
        Ok(chains.into_iter().map(|(op, c)| (op, Learned::from_chains(&c))).collect())
    }

    /// The reference a family of recordings implies: each operation's population as learned (an operation
    /// the recordings never call lists no job), its choices those learned from the default operation's
    /// listings, or else the first operation's recorded. `None` when the recordings call none.
    pub fn family_config(family: &BTreeMap<Operation, Learned>, seed: u64) -> Option<ReferenceConfig> {
        let (&lead, learned) = family.get_key_value(&Operation::default()).or_else(|| family.iter().next())?;
        let mut config = learned.config_as(lead, seed);
        for op in Operation::ALL {
            if op != Operation::default() {
                config.others.insert(op, family.get(&op).map(|l| l.jobs.clone()).unwrap_or_default());
            }
        }
        if lead != Operation::default() {
            config.jobs = family.get(&Operation::default()).map(|l| l.jobs.clone()).unwrap_or_default();
        }
        Some(config)
    }

    /// [`Learned::config`], serving the learned population as `operation`'s (the others' as generated).
    pub fn config_as(&self, operation: Operation, seed: u64) -> ReferenceConfig {
        let mut config = self.config(seed);
        if operation != Operation::default() {
            let jobs = std::mem::take(&mut config.jobs);
            config.others.insert(operation, jobs);
        }
        config
    }

    /// Learns from listings.
    pub fn from_chains(chains: &[Chain]) -> Learned {
        let mut by_id: BTreeMap<String, JobProperties> = BTreeMap::new();
        let mut tokens = Vec::new();
        for chain in chains {
            for page in &chain.pages {
                for job in page.jobs() {
                    if let Ok(j) = serde_json::from_value::<JobProperties>(job.clone())
                        && let Some(id) = j.job_id.clone()
                    {
                        by_id.insert(id, j);
                    }
                }
                if let Some(t) = page.next_token() {
                    tokens.push((t.to_string(), page.request.get("Filter").cloned().unwrap_or(json!({}))));
                }
            }
        }
        let jobs: Vec<JobProperties> = by_id.into_values().collect();
        let mut known = Known::default();
        let mut complete = false;
        for chain in chains.iter().filter(|c| c.end == End::Complete && c.start == Start::Fresh) {
            let Some(f) = filter_of(chain) else { continue };
            let listed: HashSet<&str> = chain.job_ids().into_iter().collect();
            let shown = |j: &JobProperties| listed.contains(j.job_id.as_deref().unwrap_or(""));
            if f == Filter::default() {
                complete = true;
            }
            for (bound, side, k) in [
                (f.submit_time_before, "before", &mut known.before_inclusive),
                (f.submit_time_after, "after", &mut known.after_inclusive),
            ] {
                let Some(b) = bound else { continue };
                for j in jobs.iter().filter(|j| j.submit_time == Some(b) && certainly_passes(&f, j, side)) {
                    let listed = shown(j);
                    k.keep(|inclusive| inclusive == listed, &BOOLS);
                }
            }
            if let Some(name) = &f.job_name {
                for j in jobs.iter().filter(|j| certainly_passes(&f, j, "name")) {
                    let listed = shown(j);
                    let n = j.job_name.as_deref();
                    known.job_name.keep(|r| n.is_some_and(|n| r.matches(name, n)) == listed, &NameRule::ALL);
                }
            }
            match (f.submit_time_before.is_some(), f.submit_time_after.is_some()) {
                (false, false) => learn_order(&mut known.unfiltered_order, chain),
                (true, true) => learn_order(&mut known.both_bounds_order, chain),
                _ => {}
            }
        }
        let issued: HashSet<&str> = tokens.iter().map(|(t, _)| t.as_str()).collect();
        for chain in chains.iter().filter(|c| c.start == Start::ForeignToken) {
            let Some(first) = chain.pages.first() else { continue };
            let foreign = first.sent_token().is_some_and(|t| !issued.contains(t) && !t.is_empty());
            let valid = ListRequest::from_document(&first.request).is_ok_and(|r| r.validate().is_ok());
            if !(foreign && valid) {
                continue;
            }
            match first.reply.error() {
                Some(e) if (400..500).contains(&e.status) && e.status != 429 => {
                    known.foreign_tokens.refused.insert((e.status, e.code.clone()));
                }
                None if (200..300).contains(&first.status) => known.foreign_tokens.accepted = true,
                _ => {}
            }
        }
        Learned { jobs, complete, known, tokens }
    }

    /// The filter semantics an oracle may assume: what the recording decided or narrowed, with basis
    /// `recording`; the documented ones where it showed nothing.
    pub fn semantics(&self) -> FilterSemantics {
        let bound = |c: &Consistent<bool>| match c.decided() {
            Some(false) => Bounds::Strict,
            Some(true) => Bounds::Inclusive,
            None => Bounds::Either,
        };
        let k = &self.known;
        let job_name = if k.job_name.narrowed() {
            NameMatch::AnyOf(NameRules::of(&k.job_name.left))
        } else {
            NameMatch::Unchecked
        };
        let semantics = FilterSemantics {
            before: bound(&k.before_inclusive),
            after: bound(&k.after_inclusive),
            job_name,
            basis: Basis::Recording,
        };
        if (semantics.before, semantics.after, semantics.job_name)
            == (Bounds::Either, Bounds::Either, NameMatch::Unchecked)
        {
            return FilterSemantics::DOCUMENTED;
        }
        semantics
    }

    /// A reference configuration serving this: the learned behaviours, the reference's own choices elsewhere.
    pub fn config(&self, seed: u64) -> ReferenceConfig {
        let k = &self.known;
        let r = Choices::REFERENCE;
        // A set that says something serves one of its rules: the reference's own if it is in it.
        let name = if k.job_name.left.contains(&r.job_name) {
            r.job_name
        } else {
            k.job_name.left.first().copied().unwrap_or(r.job_name)
        };
        let choices = Choices {
            unfiltered_order: k.unfiltered_order.decided().unwrap_or(r.unfiltered_order),
            both_bounds_order: k.both_bounds_order.decided().unwrap_or(r.both_bounds_order),
            before_inclusive: k.before_inclusive.decided().unwrap_or(r.before_inclusive),
            after_inclusive: k.after_inclusive.decided().unwrap_or(r.after_inclusive),
            job_name: name,
            token_error: k.foreign_tokens.refusal().cloned(),
            ..r
        };
        ReferenceConfig {
            jobs: self.jobs.clone(),
            others: Default::default(),
            token_key: TokenKey::from_seed(seed),
            require_sigv4: None,
            throttle_every: None,
            defect: None,
            defect_in: None,
            choices,
            latency: None,
            churn: None,
        }
    }

    /// Observed values for generation: names, times, tokens.
    pub fn pool(&self) -> Pool {
        let mut names: Vec<String> = self.jobs.iter().filter_map(|j| j.job_name.clone()).collect();
        names.sort();
        names.dedup();
        let mut times: Vec<f64> = self.jobs.iter().filter_map(secs).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let mut tokens = self.tokens.clone();
        tokens.truncate(64);
        Pool { names, times, tokens }
    }

    /// One line per behaviour: the rules left, or that nothing was shown.
    pub fn describe(&self) -> Vec<String> {
        let k = &self.known;
        fn set<T: Copy + PartialEq>(c: &Consistent<T>, name: impl Fn(T) -> &'static str, all: &[T]) -> String {
            if c.inconsistent() {
                return "inconsistent (the traffic contradicts itself: a live service?), not judged".into();
            }
            if c.evidence == 0 {
                return "not shown".into();
            }
            let left: Vec<&str> = c.left.iter().map(|r| name(*r)).collect();
            let out: Vec<&str> = all.iter().filter(|r| !c.left.contains(r)).map(|r| name(*r)).collect();
            match out.is_empty() {
                true => format!("{} (not told apart)", left.join(" or ")),
                false => format!("{} ({} ruled out)", left.join(" or "), out.join(", ")),
            }
        }
        let incl = |b: bool| if b { "inclusive" } else { "exclusive" };
        let order = |o: Order| match o {
            Order::Ascending => "oldest first",
            Order::Descending => "newest first",
        };
        let ft = &k.foreign_tokens;
        let tokens = match (ft.refused.is_empty(), ft.accepted) {
            (true, false) => "not shown".to_string(),
            (_, true) => "accepted at least once: not judged".to_string(),
            (false, false) => ft.refused.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" or "),
        };
        vec![
            format!(
                "population: {} job(s){}",
                self.jobs.len(),
                if self.complete { ", complete" } else { ", partial (no unfiltered listing ran to its end)" }
            ),
            format!("SubmitTimeBefore bound: {}", set(&k.before_inclusive, incl, &BOOLS)),
            format!("SubmitTimeAfter bound: {}", set(&k.after_inclusive, incl, &BOOLS)),
            format!("JobName matching: {}", set(&k.job_name, NameRule::name, &NameRule::ALL)),
            format!("order without time bounds: {}", set(&k.unfiltered_order, order, &ORDERS)),
            format!("order with both time bounds: {}", set(&k.both_bounds_order, order, &ORDERS)),
            format!("answer to a token it did not issue: {tokens}"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Page, Reply, ServiceError, listing::walk_with};
    use crate::reference::Reference;

    /// Walks `first` on a reference with `choices`, in-process.
    fn walk(r: &Reference, first: Value) -> Chain {
        walk_with(first, 100, |doc| {
            let req = ListRequest::from_document(doc).unwrap();
            match r.list(&req) {
                Ok(out) => (200, Reply::Output(out.to_document())),
                Err(e) => (e.status, Reply::Error(e)),
            }
        })
    }

    #[test]
    fn behaviours_are_learned_only_from_evidence() {
        let choices = Choices { before_inclusive: true, job_name: NameRule::Prefix, ..Choices::variant() };
        let r = Reference::new(ReferenceConfig { choices, ..ReferenceConfig::default() });
        let tie = r.jobs()[100].submit_time.unwrap().secs_f64();
        let name = r.jobs().iter().find_map(|j| j.job_name.clone()).unwrap();
        let prefix: String = name.chars().take(3).collect();
        let mut chains = vec![
            walk(&r, json!({"MaxResults": 500})),
            walk(&r, json!({"MaxResults": 50, "Filter": {"SubmitTimeBefore": tie}})),
            walk(&r, json!({"MaxResults": 50, "Filter": {"JobName": prefix}})),
        ];
        let bad = ServiceError::new(400, "ValidationException", "bad token");
        chains.push(Chain::of_pages(
            Start::ForeignToken,
            vec![Page::new(json!({"NextToken": "made-up"}), 400, Reply::Error(bad))],
        ));
        let l = Learned::from_chains(&chains);
        assert!(l.complete && l.jobs.len() == r.jobs().len());
        assert_eq!(l.known.before_inclusive.decided(), Some(true));
        assert_eq!(l.known.after_inclusive.evidence, 0, "no listing bounded after");
        assert_eq!(l.known.job_name.decided(), Some(NameRule::Prefix), "{prefix}");
        assert_eq!(l.known.unfiltered_order.decided(), Some(Order::Ascending));
        assert_eq!(l.known.foreign_tokens.refusal(), Some(&(400, "ValidationException".into())));
        // Half-known bounds are not assumed: the oracle keeps the documented semantics for the other side.
        assert_eq!((l.semantics().before, l.semantics().after), (Bounds::Inclusive, Bounds::Either));
        // What was learned is what the learned model serves.
        let served = Reference::new(l.config(1));
        let back = walk(&served, json!({"MaxResults": 50, "Filter": {"SubmitTimeBefore": tie}}));
        assert_eq!(back.job_ids(), chains[1].job_ids());
        // Nothing to learn from nothing.
        assert_eq!(Learned::from_chains(&[]).known, Known::default());
    }

    #[test]
    fn evidence_from_every_listing_is_combined_into_the_rules_left() {
        // An exact-matching service, listed by a name that is a prefix of other jobs' names: exact, not
        // prefix; exact and ignore-case are not told apart (no job's name differs from it by case only).
        let exact = Reference::new(ReferenceConfig::default());
        let long = exact.jobs().iter().filter_map(|j| j.job_name.clone()).find(|n| n.starts_with("ed-notes")).unwrap();
        let short: String = long.chars().take(long.chars().count() - 5).collect();
        let mut jobs = exact.jobs().to_vec();
        jobs[0].job_name = Some(short.clone());
        let service = Reference::new(ReferenceConfig { jobs, ..ReferenceConfig::default() });
        let l = Learned::from_chains(&[
            walk(&service, json!({"MaxResults": 500})),
            walk(&service, json!({"Filter": {"JobName": short}})),
        ]);
        assert_eq!(l.known.job_name.left, [NameRule::Exact, NameRule::IgnoreCase]);
        assert_eq!(l.known.job_name.decided(), None);
        assert!(
            l.describe().iter().any(|d| d == "JobName matching: exact or ignore-case (prefix ruled out)"),
            "{:?}",
            l.describe()
        );
        // So a prefix-matching target's listing breaks the filter oracle, on the recording's basis.
        let semantics = l.semantics();
        let prefixed = walk(
            &Reference::new(ReferenceConfig {
                choices: Choices { job_name: NameRule::Prefix, ..Choices::REFERENCE },
                ..ReferenceConfig::default()
            }),
            json!({"Filter": {"JobName": "ed-notes"}}),
        );
        let found = crate::model::oracle::check_chain(&prefixed, &semantics);
        assert!(
            found.iter().any(|v| v.basis == Basis::Recording && v.path.to_string().ends_with(".JobName")),
            "{found:?}"
        );
        // Evidence that contradicts itself leaves nothing to judge by.
        let mut c = Consistent::of(&BOOLS);
        c.keep(|b| b, &BOOLS);
        c.keep(|b| !b, &BOOLS);
        assert!(c.inconsistent() && c.decided().is_none() && !c.narrowed());
    }
}
