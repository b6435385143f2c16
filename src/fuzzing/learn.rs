//! What a recording (or the campaign's first walks of a target) shows of a service: its population, and the
//! behaviours the documentation leaves open, each only where the traffic holds evidence for it.
//!
//! | behaviour | learned from |
//! |---|---|
//! | population | every job in every answer, by `JobId`; complete when an unfiltered listing ran to its end |
//! | bound inclusivity | a complete listing bounded at exactly some job's `SubmitTime`: listed or not |
//! | `JobName` matching | a complete listing by name, against jobs whose names differ by case or extension |
//! | order without time bounds | a complete listing with neither bound, oldest or newest first throughout |
//! | token errors | the answer to a token no answer issued (4xx only: a 5xx is never learned as right) |
//!
//! [`Learned::config`] serves what was learned (`snomed-vcr reference --from-cassette`); where nothing was
//! learned it takes the reference's own choice, and [`Learned::known`] says which were learned.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Value, json};

use super::input::Pool;
use crate::model::oracle::{Basis, Bounds, FilterSemantics, NameMatch};
use crate::model::{Chain, End, JobProperties, ListRequest, Order, Start, Timestamp};
use crate::reference::choices::{Choices, NameRule};
use crate::reference::{ReferenceConfig, token::TokenKey};

/// The behaviours learned, each `None` when the traffic did not show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// Whether `SubmitTimeBefore` includes its instant.
    pub before_inclusive: Option<bool>,
    /// Whether `SubmitTimeAfter` includes its instant.
    pub after_inclusive: Option<bool>,
    /// How names match.
    pub job_name: Option<NameRule>,
    /// The order with neither time bound.
    pub unfiltered_order: Option<Order>,
    /// The answer to a token the service did not issue.
    pub token_error: Option<(u16, String)>,
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

fn filter_of(chain: &Chain) -> Option<crate::model::Filter> {
    let req = ListRequest::from_document(chain.first_request()?).ok()?;
    req.validate().ok()?;
    Some(req.filter.unwrap_or_default())
}

fn secs(job: &JobProperties) -> Option<f64> {
    job.submit_time.map(Timestamp::secs_f64)
}

impl Learned {
    /// Learns from cassette files, or directories of them: one service's recordings, taken together (an
    /// unfiltered walk in one shows the population another's bounds are judged against).
    pub fn from_cassettes(paths: &[PathBuf]) -> anyhow::Result<Learned> {
        let mut chains = Vec::new();
        for path in crate::cassette::expand_paths(paths)? {
            let cassette = crate::cassette::Cassette::load(&path)
                .with_context(|| format!("cannot learn from '{}'", path.display()))?;
            chains.extend(cassette.into_chains());
        }
        Ok(Learned::from_chains(&chains))
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
            let Some(filter) = filter_of(chain) else { continue };
            let listed: HashSet<&str> = chain.job_ids().into_iter().collect();
            let only = |name: bool, status: bool, before: bool, after: bool| {
                filter.job_name.is_some() == name
                    && filter.job_status.is_some() == status
                    && filter.submit_time_before.is_some() == before
                    && filter.submit_time_after.is_some() == after
            };
            if only(false, false, false, false) {
                complete = true;
            }
            let at = |t: Timestamp| jobs.iter().filter(move |j| j.submit_time == Some(t));
            if let Some(b) = filter.submit_time_before
                && only(false, false, true, false)
                && let Some(j) = at(b).next()
            {
                known.before_inclusive = Some(listed.contains(j.job_id.as_deref().unwrap_or("")));
            }
            if let Some(a) = filter.submit_time_after
                && only(false, false, false, true)
                && let Some(j) = at(a).next()
            {
                known.after_inclusive = Some(listed.contains(j.job_id.as_deref().unwrap_or("")));
            }
            if let Some(name) = &filter.job_name
                && only(true, false, false, false)
            {
                known.job_name = learn_name(name, &jobs, &listed).or(known.job_name);
            }
            if filter.submit_time_before.is_none() && filter.submit_time_after.is_none() {
                let times: Vec<f64> = chain.jobs().filter_map(|(_, j)| j.get("SubmitTime")?.as_f64()).collect();
                let distinct = times.windows(2).any(|w| w[0] != w[1]);
                if distinct && times.windows(2).all(|w| w[0] >= w[1]) {
                    known.unfiltered_order = Some(Order::Descending);
                } else if distinct && times.windows(2).all(|w| w[0] <= w[1]) {
                    known.unfiltered_order = Some(Order::Ascending);
                }
            }
        }
        let issued: HashSet<&str> = tokens.iter().map(|(t, _)| t.as_str()).collect();
        for chain in chains.iter().filter(|c| c.start == Start::ForeignToken) {
            let Some(first) = chain.pages.first() else { continue };
            let foreign = first.sent_token().is_some_and(|t| !issued.contains(t) && !t.is_empty());
            if let (true, Some(e)) = (foreign, first.reply.error())
                && (400..500).contains(&e.status)
                && e.status != 429
                && ListRequest::from_document(&first.request).is_ok_and(|r| r.validate().is_ok())
            {
                known.token_error = Some((e.status, e.code.clone()));
            }
        }
        Learned { jobs, complete, known, tokens }
    }

    /// The filter semantics an oracle may assume: learned ones with basis `recording`, else documented.
    pub fn semantics(&self) -> FilterSemantics {
        let bounds = match (self.known.before_inclusive, self.known.after_inclusive) {
            (Some(false), Some(false)) => Bounds::Strict,
            (Some(true), Some(true)) => Bounds::Inclusive,
            _ => Bounds::Either,
        };
        let job_name =
            if self.known.job_name == Some(NameRule::Exact) { NameMatch::Exact } else { NameMatch::Unchecked };
        if bounds == Bounds::Either && job_name == NameMatch::Unchecked {
            return FilterSemantics::DOCUMENTED;
        }
        FilterSemantics { bounds, job_name, basis: Basis::Recording }
    }

    /// A reference configuration serving this: the learned behaviours, the reference's own choices elsewhere.
    pub fn config(&self, seed: u64) -> ReferenceConfig {
        let k = &self.known;
        let r = Choices::REFERENCE;
        let choices = Choices {
            unfiltered_order: k.unfiltered_order.unwrap_or(r.unfiltered_order),
            before_inclusive: k.before_inclusive.unwrap_or(r.before_inclusive),
            after_inclusive: k.after_inclusive.unwrap_or(r.after_inclusive),
            job_name: k.job_name.unwrap_or(r.job_name),
            token_error: k.token_error.clone(),
            ..r
        };
        ReferenceConfig {
            jobs: self.jobs.clone(),
            token_key: TokenKey::from_seed(seed),
            require_sigv4: None,
            throttle_every: None,
            defect: None,
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

    /// One line per behaviour: what was learned, or that it was not.
    pub fn describe(&self) -> Vec<String> {
        let k = &self.known;
        let yn =
            |b: Option<bool>| b.map_or("not shown".to_string(), |b| if b { "inclusive" } else { "exclusive" }.into());
        vec![
            format!(
                "population: {} job(s){}",
                self.jobs.len(),
                if self.complete { ", complete" } else { ", partial (no unfiltered listing ran to its end)" }
            ),
            format!("SubmitTimeBefore bound: {}", yn(k.before_inclusive)),
            format!("SubmitTimeAfter bound: {}", yn(k.after_inclusive)),
            format!("JobName matching: {}", k.job_name.map_or("not shown", NameRule::name)),
            format!(
                "order without time bounds: {}",
                match k.unfiltered_order {
                    Some(Order::Ascending) => "oldest first",
                    Some(Order::Descending) => "newest first",
                    None => "not shown",
                }
            ),
            format!(
                "answer to a token it did not issue: {}",
                k.token_error.as_ref().map_or("not shown".to_string(), |(s, c)| format!("{s} {c}"))
            ),
        ]
    }
}

/// How names match, from a complete listing by `name`: evidence only from jobs that would tell the rules
/// apart.
fn learn_name(name: &str, jobs: &[JobProperties], listed: &HashSet<&str>) -> Option<NameRule> {
    let mut rules = vec![NameRule::Exact, NameRule::Prefix, NameRule::IgnoreCase];
    let mut decisive = false;
    for j in jobs {
        let (Some(id), Some(n)) = (j.job_id.as_deref(), j.job_name.as_deref()) else { continue };
        let shown = listed.contains(id);
        let before = rules.len();
        rules.retain(|r| r.matches(name, n) == shown);
        let verdicts: HashSet<bool> =
            [NameRule::Exact, NameRule::Prefix, NameRule::IgnoreCase].iter().map(|r| r.matches(name, n)).collect();
        decisive |= verdicts.len() > 1 || rules.len() < before;
    }
    (decisive && rules.len() == 1).then(|| rules[0])
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
        assert_eq!(l.known.before_inclusive, Some(true));
        assert_eq!(l.known.after_inclusive, None, "no listing bounded after");
        assert_eq!(l.known.job_name, Some(NameRule::Prefix), "{prefix}");
        assert_eq!(l.known.unfiltered_order, Some(Order::Ascending));
        assert_eq!(l.known.token_error, Some((400, "ValidationException".into())));
        // Half-known bounds are not assumed: the oracle keeps the documented semantics for them.
        assert_eq!(l.semantics().bounds, Bounds::Either);
        // What was learned is what the learned model serves.
        let served = Reference::new(l.config(1));
        let back = walk(&served, json!({"MaxResults": 50, "Filter": {"SubmitTimeBefore": tie}}));
        assert_eq!(back.job_ids(), chains[1].job_ids());
        // Nothing to learn from nothing.
        assert_eq!(Learned::from_chains(&[]).known, Known::default());
    }
}
