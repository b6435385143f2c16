//! A campaign: warm-up walks, seeded cases run a window at a time, findings deduplicated by oracle and
//! signature, each shrunk and, with `--out`, saved as a reproducer.
//!
//! Determinism: case `i` is generated from bytes that depend only on the seed and `i`, and the pool of
//! observed values is fixed by the warm-up before any case runs, so the same seed sends the same inputs
//! whatever the concurrency. Results are taken in case order, so the findings (and their shrinking, which
//! runs after the campaign, one finding at a time) are the same too, for a target that answers the same.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use serde_json::{Value, json};

use super::differential::{self, Side};
use super::exec::{self, Endpoint, Trace};
use super::input::{self, Case, Pool};
use super::learn::Learned;
use super::oracles::{Judge, Violation};
use crate::model::oracle::Oracle;
use super::shrink;
use crate::diff::Rules;
use crate::model::{Chain, JobStatus, Page, listing::Walker};
use crate::protocol::Protocol;
use crate::reference::Reference;
use crate::rng::SplitMix64;

/// How long a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// This many cases.
    Runs(u64),
    /// Until this much time has passed (cases already started finish).
    Time(Duration),
}

/// Which protocol cases speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    /// AWS JSON 1.1.
    Json,
    /// Smithy RPC v2 CBOR.
    Cbor,
    /// Alternating, case by case.
    Both,
}

impl ProtocolChoice {
    fn of_case(self, i: u64) -> Protocol {
        match self {
            ProtocolChoice::Json => Protocol::AwsJson11,
            ProtocolChoice::Cbor => Protocol::RpcV2Cbor,
            ProtocolChoice::Both if i.is_multiple_of(2) => Protocol::AwsJson11,
            ProtocolChoice::Both => Protocol::RpcV2Cbor,
        }
    }
}

/// What a campaign compares the target with, besides the oracles.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per campaign
pub enum Expected {
    /// Nothing: a model learned from the target's own warm-up serves reproducers only.
    None,
    /// The model learned from a recording: the `recording` oracle.
    Recording(Arc<Learned>),
    /// Another implementation: the `against` oracle.
    Against(Endpoint, String),
}

/// How a campaign runs.
#[derive(Clone)]
pub struct FuzzConfig {
    /// The implementation under test.
    pub target: Endpoint,
    /// Its URL, for reproducer commands.
    pub target_url: String,
    /// What else judges it.
    pub expected: Expected,
    /// How long.
    pub budget: Budget,
    /// The seed.
    pub seed: u64,
    /// Cases at once.
    pub concurrency: usize,
    /// Which protocol.
    pub protocol: ProtocolChoice,
    /// The oracles.
    pub judge: Judge,
    /// Comparison rules for the differential oracles.
    pub rules: Rules,
    /// Runs of the target each finding's shrinking may take.
    pub shrink_runs: usize,
    /// Stop starting cases once this many distinct findings are in.
    pub stop_after: Option<usize>,
    /// Show progress on stderr.
    pub progress: bool,
}

impl FuzzConfig {
    /// 1,000 runs, seed 0, 4 at once, both protocols, every oracle, 300 shrink runs.
    pub fn new(target: Endpoint, target_url: impl Into<String>) -> FuzzConfig {
        FuzzConfig {
            target,
            target_url: target_url.into(),
            expected: Expected::None,
            budget: Budget::Runs(1000),
            seed: 0,
            concurrency: 4,
            protocol: ProtocolChoice::Both,
            judge: Judge::new(),
            rules: Rules::defaults(),
            shrink_runs: 300,
            stop_after: None,
            progress: false,
        }
    }
}

/// One deduplicated finding.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The oracle and its basis, signature and message (of the shrunk case).
    pub violation: Violation,
    /// How many cases showed it.
    pub occurrences: u64,
    /// The first case that showed it.
    pub case_index: u64,
    /// Its protocol.
    pub protocol: Protocol,
    /// The case as generated.
    pub original: Case,
    /// The case shrunk.
    pub shrunk: Case,
    /// Sizes before and after shrinking ([`Case::size`]).
    pub sizes: (usize, usize),
    /// Runs shrinking took.
    pub shrink_runs: usize,
    /// Wall time from the campaign's start to the first case showing it.
    pub after: Duration,
    /// The shrunk case's exchanges with the target.
    pub actual: Trace,
    /// The same case's answers from the expected side (for the reproducer).
    pub expected: Trace,
    /// The expected side's pages that issued the pool tokens the case uses (the reproducer starts with them).
    pub prelude: Vec<Page>,
}

/// What a campaign did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Cases run.
    pub cases: u64,
    /// Requests sent to the target (warm-up and shrinking included).
    pub requests: u64,
    /// Wall time of the cases (warm-up and shrinking excluded).
    pub elapsed: Duration,
    /// Requests of the cases alone.
    pub case_requests: u64,
    /// Cases per input class.
    pub classes: BTreeMap<&'static str, u64>,
    /// Findings, in order of first occurrence.
    pub findings: Vec<Finding>,
    /// The seed.
    pub seed: u64,
    /// What the warm-up learned of the target, one line each.
    pub learned: Vec<String>,
    /// The oracles that were on.
    pub oracles: Vec<Oracle>,
}

impl Outcome {
    /// Requests a second during the cases.
    pub fn exec_per_sec(&self) -> f64 {
        self.case_requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The bytes case `i` of a seed is generated from.
pub fn case_bytes(seed: u64, i: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let n = 64 + rng.below(448) as usize;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Case `i` of a seed.
pub fn case(seed: u64, i: u64, pool: &Pool) -> Case {
    let bytes = case_bytes(seed, i);
    Case::generate(&mut Unstructured::new(&bytes), pool).expect("generation never fails: it falls back to defaults")
}

/// The warm-up: walks that show the population and the target's behaviour, and issue tokens for later steps.
pub async fn warm_up(endpoint: &Endpoint, protocol: Protocol) -> Vec<Chain> {
    let mut firsts = vec![json!({"MaxResults": 500})];
    firsts.extend(JobStatus::ALL.iter().map(|s| json!({"MaxResults": 500, "Filter": {"JobStatus": s.as_str()}})));
    let mut chains = Vec::new();
    for first in firsts {
        chains.push(walk(endpoint, protocol, first, exec::MAX_PAGES).await);
    }
    chains.extend(token_walks(endpoint, protocol).await);
    // Bounds at exactly a job's instant, and a token no one issued.
    let times: Vec<f64> = chains[0].jobs().filter_map(|(_, j)| j.get("SubmitTime")?.as_f64()).collect();
    if let Some(t) = times.get(times.len() / 2) {
        chains.push(walk(endpoint, protocol, json!({"MaxResults": 500, "Filter": {"SubmitTimeBefore": t}}), 40).await);
        chains.push(walk(endpoint, protocol, json!({"MaxResults": 500, "Filter": {"SubmitTimeAfter": t}}), 40).await);
    }
    chains.push(walk(endpoint, protocol, json!({"NextToken": "snomed-vcr-probe-not-a-token"}), 1).await);
    chains
}

/// The two short walks whose tokens become the pool's: unfiltered and by one status, five jobs a page.
pub async fn token_walks(endpoint: &Endpoint, protocol: Protocol) -> Vec<Chain> {
    let mut out = Vec::new();
    for first in [json!({"MaxResults": 5}), json!({"MaxResults": 5, "Filter": {"JobStatus": "COMPLETED"}})] {
        out.push(walk(endpoint, protocol, first, 4).await);
    }
    out
}

async fn walk(endpoint: &Endpoint, protocol: Protocol, first: Value, max_pages: usize) -> Chain {
    let mut walker = Walker::new(first, max_pages);
    while let Some(request) = walker.next_request() {
        match endpoint.send(protocol, &request).await {
            Ok(a) => walker.take(request, a.status, a.reply),
            Err(_) => break,
        }
    }
    walker.finish()
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

/// The expected side of a campaign, ready to run cases.
struct ExpectedSide {
    endpoint: Endpoint,
    pool: Pool,
    learned: Option<Arc<Learned>>,
    against: bool,
}

/// One case's results.
struct CaseRun {
    index: u64,
    protocol: Protocol,
    case: Case,
    requests: usize,
    violations: Vec<Violation>,
}

/// Runs a case on the target (and the expected side, when it judges) and judges it.
async fn run_case(
    config: &FuzzConfig,
    pool: &Pool,
    expected: Option<&ExpectedSide>,
    case: &Case,
    protocol: Protocol,
) -> (Trace, Option<Trace>, Vec<Violation>) {
    let got = exec::run(&config.target, protocol, case, pool).await;
    let mut violations = config.judge.judge(case, &got);
    let mut theirs = None;
    if let Some(x) = expected.filter(|x| x.against || x.learned.is_some()) {
        let e = exec::run(&x.endpoint, protocol, case, &x.pool).await;
        let side = match &x.learned {
            Some(l) => Side::Recording(l),
            None => Side::Against,
        };
        let oracle = if x.against { Oracle::Against } else { Oracle::Recording };
        if config.judge.enabled.contains(&oracle) {
            violations.extend(differential::compare(&side, &config.rules, &e, &got));
        }
        theirs = Some(e);
    }
    (got, theirs, violations)
}

/// Runs a campaign.
pub async fn run(config: &FuzzConfig) -> anyhow::Result<Outcome> {
    let protocol = config.protocol.of_case(0);
    let warm = warm_up(&config.target, protocol).await;
    let mut warm_requests: u64 = warm.iter().map(|c| c.pages.len() as u64).sum();
    if warm[0].pages.is_empty() {
        anyhow::bail!("{}: the first warm-up request got no answer that could be read", config.target_url);
    }
    let from_target = Learned::from_chains(&warm);
    let target_walks = &warm[8..10];
    let mut pool = from_target.pool();
    pool.tokens = pool_tokens(target_walks);

    // The expected side: the recording's model, the other implementation, or the target's own model.
    let (endpoint, learned, against) = match &config.expected {
        Expected::Recording(l) => {
            (Endpoint::Local(Arc::new(Reference::new(l.config(config.seed)))), Some(l.clone()), false)
        }
        Expected::Against(e, _) => (e.clone(), None, true),
        Expected::None => (Endpoint::Local(Arc::new(Reference::new(from_target.config(config.seed)))), None, false),
    };
    if let Some(l) = &learned {
        // Names and times the recording shows are worth trying on the target too.
        let theirs = l.pool();
        pool.names.extend(theirs.names);
        pool.names.sort();
        pool.names.dedup();
        pool.times.extend(theirs.times);
        pool.times.sort_by(f64::total_cmp);
        pool.times.dedup();
    }
    let expected_walks = token_walks(&endpoint, protocol).await;
    let expected_pool = Pool { tokens: pool_tokens(&expected_walks), ..pool.clone() };
    let expected = ExpectedSide { endpoint, pool: expected_pool, learned, against };

    let config_arc = Arc::new(config.clone());
    let pool_arc = Arc::new(pool.clone());
    let expected_arc = Arc::new(expected);
    let began = Instant::now();
    // Up to `concurrency` cases in flight; results are taken in case order, whichever finishes first.
    let mut running: tokio::task::JoinSet<CaseRun> = tokio::task::JoinSet::new();
    let mut done: BTreeMap<u64, CaseRun> = BTreeMap::new();
    let mut next: u64 = 0;
    let mut taken: u64 = 0;
    let mut cases = 0u64;
    let mut case_requests = 0u64;
    let mut classes: BTreeMap<&'static str, u64> = BTreeMap::new();
    // By (oracle, signature): the first case that showed it (index, violation, case, protocol, when).
    type FirstSeen = (u64, Violation, Case, Protocol, Duration);
    let mut first_seen: BTreeMap<(Oracle, String), FirstSeen> = BTreeMap::new();
    let mut order: Vec<(Oracle, String)> = Vec::new();
    let mut counts: BTreeMap<(Oracle, String), u64> = BTreeMap::new();
    let more = |next: u64, found: usize| {
        config.stop_after.is_none_or(|n| found < n)
            && match config.budget {
                Budget::Runs(n) => next < n,
                Budget::Time(d) => began.elapsed() < d,
            }
    };
    let mut progress = super::report::Progress::new(config.progress);
    loop {
        while running.len() < config.concurrency.max(1) && more(next, order.len()) {
            let (c, p, x) = (config_arc.clone(), pool_arc.clone(), expected_arc.clone());
            let index = next;
            running.spawn(async move {
                let protocol = c.protocol.of_case(index);
                let case = case(c.seed, index, &p);
                let (got, _, violations) = run_case(&c, &p, Some(&x), &case, protocol).await;
                CaseRun { index, protocol, case, requests: got.requests(), violations }
            });
            next += 1;
        }
        let Some(joined) = running.join_next().await else { break };
        let run = joined.map_err(|e| anyhow::anyhow!("a case panicked: {e}"))?;
        done.insert(run.index, run);
        while let Some(run) = done.remove(&taken) {
            taken += 1;
            cases += 1;
            case_requests += run.requests as u64;
            *classes.entry(input::class(&run.case)).or_default() += 1;
            for v in run.violations {
                let key = (v.oracle, v.signature.clone());
                *counts.entry(key.clone()).or_default() += 1;
                if let std::collections::btree_map::Entry::Vacant(slot) = first_seen.entry(key.clone()) {
                    order.push(key);
                    slot.insert((run.index, v, run.case.clone(), run.protocol, began.elapsed()));
                }
            }
        }
        progress.update(cases, case_requests, began.elapsed(), order.len());
    }
    let elapsed = began.elapsed();
    progress.finish();

    // Shrink each finding, in order of first occurrence.
    let mut findings = Vec::new();
    for key in order {
        let (index, violation, original, protocol, after) = first_seen.remove(&key).expect("kept");
        let (shrunk, runs, requests) = shrink::shrink(&original, config.shrink_runs, |c| {
            let (c, p, x, key) = (c.clone(), &pool, &*expected_arc, &key);
            async move {
                let (got, _, vs) = run_case(config, p, Some(x), &c, protocol).await;
                (vs.iter().any(|v| (v.oracle, &v.signature) == (key.0, &key.1)), got.requests())
            }
        })
        .await;
        warm_requests += requests as u64;
        let (actual, theirs, vs) = run_case(config, &pool, Some(&expected_arc), &shrunk, protocol).await;
        let expected_trace = match theirs {
            Some(t) => t,
            None => exec::run(&expected_arc.endpoint, protocol, &shrunk, &expected_arc.pool).await,
        };
        let violation = vs.into_iter().find(|v| (v.oracle, &v.signature) == (key.0, &key.1)).unwrap_or(violation);
        // A pool token in the reproducer needs the walk that issued it, so diff can map it to the target's.
        let uses_pool = expected_trace.sent.iter().any(|s| {
            s.request
                .get("NextToken")
                .and_then(Value::as_str)
                .is_some_and(|t| expected_arc.pool.tokens.iter().any(|(p, _)| p == t))
        });
        let prelude =
            if uses_pool { expected_walks.iter().flat_map(|c| c.pages.clone()).collect() } else { Vec::new() };
        findings.push(Finding {
            prelude,
            violation,
            occurrences: counts[&key],
            case_index: index,
            protocol,
            sizes: (original.size(), shrunk.size()),
            original,
            shrunk,
            shrink_runs: runs,
            after,
            actual,
            expected: expected_trace,
        });
    }
    let mut oracles: Vec<Oracle> = config.judge.enabled.iter().copied().collect();
    oracles.retain(|o| match o {
        Oracle::Recording => matches!(config.expected, Expected::Recording(_)),
        Oracle::Against => matches!(config.expected, Expected::Against(..)),
        _ => true,
    });
    let mut learned_lines = from_target.describe();
    if let Expected::Recording(l) = &config.expected {
        learned_lines = l.describe().into_iter().map(|s| format!("recording: {s}")).collect();
    }
    Ok(Outcome {
        cases,
        requests: warm_requests + case_requests,
        elapsed,
        case_requests,
        classes,
        findings,
        seed: config.seed,
        learned: learned_lines,
        oracles,
    })
}

/// A bare request loop for the benchmark: the same client, window and protocol, each request the empty one.
pub async fn bare_loop(endpoint: &Endpoint, protocol: Protocol, requests: u64, concurrency: usize) -> Duration {
    let began = Instant::now();
    let per = requests / concurrency.max(1) as u64;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let e = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                let _ = e.send(protocol, &json!({"MaxResults": 5})).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    began.elapsed()
}

/// Where a reproducer goes.
pub fn finding_dir(out: &std::path::Path, n: usize, f: &Finding) -> PathBuf {
    out.join(format!("{:02}-{}", n + 1, f.violation.oracle.name()))
}
