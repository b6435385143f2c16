//! The warm-up: a one-job probe first, so a target that cannot answer at all stops the campaign after one
//! `--timeout` with the cause; then walks (unfiltered, by each status, at a job's instant, with a token no one
//! issued), each falling back to smaller pages when big ones time out. What they found is a typed [`WarmUp`]:
//! the pool cases are generated from, and the population re-checks fingerprint.

use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use super::exec;
use super::input::Pool;
use super::learn::Learned;
use crate::client::{ByteBudget, Fault, Target};
use crate::model::listing::Walker;
use crate::model::{Chain, JobStatus, Page};
use crate::protocol::Protocol;

/// What the warm-up walked, by purpose.
#[derive(Clone, Debug)]
pub struct WarmUp {
    /// The whole population, unfiltered.
    pub population: Chain,
    /// By each `JobStatus`.
    pub by_status: Vec<Chain>,
    /// Short walks whose tokens become the pool's: unfiltered and by one status, five jobs a page.
    pub token_walks: Vec<Chain>,
    /// Bounded at exactly a job's instant, each side.
    pub bounds: Vec<Chain>,
    /// A token no one issued.
    pub foreign: Chain,
    /// Requests that got no answer on the way (a fallback to smaller pages followed each that timed out).
    pub faults: Vec<(Value, Fault)>,
    /// Requests sent.
    pub requests: u64,
    /// The biggest page size that came back in time.
    pub page_size: i64,
}

impl WarmUp {
    /// Every walk.
    pub fn chains(&self) -> Vec<Chain> {
        let mut out = vec![self.population.clone()];
        out.extend(self.by_status.iter().cloned());
        out.extend(self.token_walks.iter().cloned());
        out.extend(self.bounds.iter().cloned());
        out.push(self.foreign.clone());
        out
    }

    /// Observed values for generation: the population's names and times, the token walks' tokens.
    pub fn pool(&self) -> Pool {
        let mut pool = Learned::from_chains(&self.chains()).pool();
        pool.tokens = pool_tokens(&self.token_walks);
        pool
    }
}

/// Page sizes a warm-up walk tries, biggest first, when big pages do not come back in time.
const FALLBACK_SIZES: [i64; 4] = [500, 100, 20, 5];

/// The warm-up. `Err` when the one-job probe gets no answer that can be read: the target cannot be fuzzed.
pub async fn warm_up(target: &Target, protocol: Protocol, bytes: &ByteBudget) -> Result<WarmUp, Fault> {
    let mut w = Walking { target, protocol, bytes, faults: Vec::new(), requests: 0, size: 0 };
    let probe = json!({"MaxResults": 1});
    let mut held = bytes.hold();
    w.requests += 1;
    target.send(protocol, target.operation(), &probe, &mut held).await?;
    let population = w.walk_down(json!({}), exec::MAX_PAGES).await;
    let mut by_status = Vec::new();
    for s in JobStatus::ALL {
        by_status.push(w.walk_down(json!({"Filter": {"JobStatus": s.as_str()}}), exec::MAX_PAGES).await);
    }
    let token_walks = token_walks(target, protocol, bytes).await;
    w.requests += token_walks.iter().map(|c| c.pages.len() as u64).sum::<u64>();
    // Bounds at exactly a job's instant.
    let times: Vec<f64> = population.jobs().filter_map(|(_, j)| j.get("SubmitTime")?.as_f64()).collect();
    let mut bounds = Vec::new();
    if let Some(t) = times.get(times.len() / 2) {
        for side in ["SubmitTimeBefore", "SubmitTimeAfter"] {
            bounds.push(w.walk_down(json!({"Filter": {side: t}}), 40).await);
        }
    }
    let foreign = w.walk(json!({"NextToken": "snomed-vcr-probe-not-a-token"}), 1).await;
    let page_size = FALLBACK_SIZES[w.size];
    Ok(WarmUp {
        population,
        by_status,
        token_walks,
        bounds,
        foreign,
        faults: w.faults,
        requests: w.requests,
        page_size,
    })
}

/// The warm-up's walks and what went wrong on the way.
struct Walking<'a> {
    target: &'a Target,
    protocol: Protocol,
    bytes: &'a ByteBudget,
    faults: Vec<(Value, Fault)>,
    requests: u64,
    /// The first of [`FALLBACK_SIZES`] to try: the biggest that answered last time.
    size: usize,
}

impl Walking<'_> {
    /// Walks `first` at the biggest page size that answers in time (starting from the one that did last).
    async fn walk_down(&mut self, first: Value, max_pages: usize) -> Chain {
        let mut chain = None;
        for (i, size) in FALLBACK_SIZES.into_iter().enumerate().skip(self.size) {
            let mut doc = first.clone();
            doc["MaxResults"] = json!(size);
            let c = self.walk(doc, max_pages).await;
            // Big pages that did not come back (in time, or at all, or without an error): smaller ones may.
            let failed = c.pages.first().is_none_or(|p| p.reply.error().is_some_and(|e| e.status != 429));
            chain = Some(c);
            if !failed {
                self.size = i;
                break;
            }
        }
        chain.expect("at least one size")
    }

    async fn walk(&mut self, first: Value, max_pages: usize) -> Chain {
        let mut walker = Walker::new(first, max_pages);
        let mut held = self.bytes.hold();
        while let Some(request) = walker.next_request() {
            self.requests += 1;
            match self.target.send(self.protocol, self.target.operation(), &request, &mut held).await {
                Ok(a) => walker.take(request, a.status, a.reply),
                Err(f) => {
                    self.faults.push((request, f));
                    walker.fail();
                }
            }
        }
        walker.finish()
    }
}

/// The two short walks whose tokens become the pool's: unfiltered and by one status, five jobs a page.
pub async fn token_walks(target: &Target, protocol: Protocol, bytes: &ByteBudget) -> Vec<Chain> {
    let mut w = Walking { target, protocol, bytes, faults: Vec::new(), requests: 0, size: 0 };
    let mut out = Vec::new();
    for first in [json!({"MaxResults": 5}), json!({"MaxResults": 5, "Filter": {"JobStatus": "COMPLETED"}})] {
        out.push(w.walk(first, 4).await);
    }
    out
}

/// The pool's tokens from the token walks, in order.
pub fn pool_tokens(walks: &[Chain]) -> Vec<(String, Value)> {
    walks
        .iter()
        .flat_map(|c| c.pages.iter())
        .filter_map(|p: &Page| {
            Some((p.next_token()?.to_string(), p.request.get("Filter").cloned().unwrap_or(json!({}))))
        })
        .collect()
}

/// A fingerprint of the population a target lists now (its jobs' identities, names, statuses and times),
/// in pages of `size`, or `None` when the listing did not run to its end.
pub async fn fingerprint(target: &Target, protocol: Protocol, bytes: &ByteBudget, size: i64) -> Option<u64> {
    let mut w = Walking { target, protocol, bytes, faults: Vec::new(), requests: 0, size: 0 };
    let chain = w.walk(json!({"MaxResults": size}), exec::MAX_PAGES).await;
    chain.is_complete().then(|| population_key(&Learned::from_chains(&[chain])))
}

/// What makes two populations the same for listing: each job's identity, name, status and time.
pub(super) fn population_key(l: &Learned) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for j in &l.jobs {
        (&j.job_id, &j.job_name, &j.job_status, j.submit_time.map(|t| t.secs_f64().to_bits())).hash(&mut h);
    }
    h.finish()
}
