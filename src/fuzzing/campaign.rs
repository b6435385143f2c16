//! A campaign: the warm-up, seeded cases run a window at a time, findings deduplicated by oracle and
//! signature, re-checked, shrunk and, with `--out`, saved as reproducers.
//!
//! The phases, each bounded:
//!
//! 1. [`warm_up`](super::warmup::warm_up): a one-job probe first, so a target that cannot answer at all stops the campaign after one
//!    `--timeout` with the cause; then walks (unfiltered, by each status, at a job's instant, with a token no
//!    one issued), each falling back to smaller pages when big ones time out. Faults on the way are
//!    `robustness` findings, not aborts. An `--against` implementation is warmed up and checked the same way.
//! 2. Cases, a window of `--concurrency` at a time. With `--seconds`, the whole run ends by its deadline:
//!    once a finding is in, cases stop at 80% of it to leave the rest to re-checks and shrinking, and work
//!    still under way at the deadline is dropped.
//! 3. Re-checks: a finding whose oracle depends on the population ([`Oracle::needs_stable_population`]) is
//!    re-run, with the population fingerprinted before and after; one that does not reproduce, or whose
//!    target's population moved, is reported apart as unstable and does not fail the run.
//! 4. Shrinking, then one last run of each shrunk case for its reproducer.
//!
//! Determinism: case `i` is generated from bytes that depend only on the seed and `i`, the pool of observed
//! values is fixed by the warm-up before any case runs, and results are taken in case order, so the same
//! seed sends the same inputs and finds the same findings whatever the concurrency, for a target that answers
//! the same.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::time::timeout_at;

use super::differential::{self, Side};
use super::exec::{self, Trace};
use super::finding::{Finding, Outcome, Stability};
use super::generate::case;
use super::input::{self, Case, Pool, RequestInput, Step};
use super::learn::Learned;
use super::oracles::{CaseViolation, Judge};
use super::shrink;
use super::warmup::{fingerprint, pool_tokens, population_key, token_walks, warm_up};
use crate::client::{Budgeted, ByteBudget, Fault, Target};
use crate::diff::Rules;
use crate::model::oracle::Oracle;
use crate::model::{Chain, Operation};
use crate::protocol::Protocol;
use crate::reference::Reference;

/// How long a campaign runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// This many cases.
    Runs(u64),
    /// This long in all: warm-up, cases, re-checks and shrinking.
    Time(Duration),
}

/// The most bytes of a case's answers kept for a finding's reproducer until shrinking runs it again.
const KEPT_TRACE: usize = 1 << 20;

/// The share of a `--seconds` budget kept for re-checking and shrinking once a finding is in.
pub const SHRINK_SHARE: f64 = 0.2;

/// Which protocol each case speaks. (Diff's [`crate::diff::ProtocolChoice`] is another choice: there `both`
/// sends each chain in both protocols.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseProtocol {
    /// AWS JSON 1.1.
    Json,
    /// Smithy RPC v2 CBOR.
    Cbor,
    /// JSON and CBOR, alternating case by case (`both` is its old name).
    #[value(alias = "both")]
    Alternate,
}

impl CaseProtocol {
    /// The protocol case `i` speaks.
    pub fn of_case(self, i: u64) -> Protocol {
        match self {
            CaseProtocol::Json => Protocol::AwsJson11,
            CaseProtocol::Cbor => Protocol::RpcV2Cbor,
            CaseProtocol::Alternate if i.is_multiple_of(2) => Protocol::AwsJson11,
            CaseProtocol::Alternate => Protocol::RpcV2Cbor,
        }
    }
}

/// What a campaign compares the target with, besides the oracles.
#[derive(Clone)]
pub enum Expected {
    /// Nothing: a model learned from the target's own warm-up serves reproducers only.
    None,
    /// The model learned from a recording: the `recording` oracle.
    Recording(Arc<Learned>),
    /// Another implementation: the `against` oracle.
    Against(Target),
}

/// Why a campaign could not run: the target (or the `--against` implementation) cannot be fuzzed at all.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The warm-up's one-job probe got no answer that can be read.
    #[error("{who}: {} cannot be {}: {fault}", if who.starts_with("--against") { "the other implementation" } else { "the target" }, if who.starts_with("--against") { "used" } else { "fuzzed" })]
    Unusable {
        /// The target's name (`--against NAME` for the other implementation).
        who: String,
        /// What the probe got.
        fault: crate::client::Fault,
    },
    /// The `--seconds` budget ran out before the warm-up was done.
    #[error("{who}: the --seconds budget ran out{}", if who.starts_with("--against") { "" } else { " during the warm-up" })]
    OutOfTime {
        /// The target's name (`--against NAME` for the other implementation).
        who: String,
    },
    /// `--operation all`, and the target answered every list operation `UnknownOperationException`.
    #[error("{who} answers none of the list operations ({}) but with UnknownOperationException", Operation::names())]
    NoOperation {
        /// The target's name.
        who: String,
    },
    /// A case's task panicked (a bug of the harness: please report it).
    #[error("a case panicked: {0}")]
    CasePanicked(String),
}

/// How a campaign runs.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use snomed_vcr::{FuzzConfig, Reference, ReferenceConfig, Target};
/// use snomed_vcr::fuzzing::Budget;
/// use snomed_vcr::reference::Defect;
///
/// let buggy = ReferenceConfig { defect: Some(Defect::PageOverflow), ..ReferenceConfig::generated(30, 7) };
/// let mut config = FuzzConfig::new(Target::local("buggy", Arc::new(Reference::new(buggy))));
/// config.budget = Budget::Runs(200);
/// let outcome = config.run().await.unwrap();
/// assert!(!outcome.findings.is_empty());
/// # });
/// ```
#[derive(Clone)]
pub struct FuzzConfig {
    /// The implementation under test.
    pub target: Target,
    /// What else judges it.
    pub expected: Expected,
    /// How long.
    pub budget: Budget,
    /// The seed.
    pub seed: u64,
    /// Cases at once.
    pub concurrency: usize,
    /// Which protocol.
    pub protocol: CaseProtocol,
    /// The oracles.
    pub judge: Judge,
    /// Comparison rules for the differential oracles.
    pub rules: Rules,
    /// Runs of the target each finding's shrinking may take.
    pub shrink_runs: usize,
    /// Re-runs of a finding whose oracle depends on the population, before it is reported.
    pub rechecks: usize,
    /// Stop starting cases once this many distinct findings are in.
    pub stop_after: Option<usize>,
    /// How much of the target's answers a listing, and all cases in flight, may hold.
    pub bytes: ByteBudget,
    /// Show progress on stderr.
    pub progress: bool,
}

impl FuzzConfig {
    /// Runs the campaign: [`run`].
    pub async fn run(&self) -> Result<Outcome, FuzzError> {
        run(self).await
    }

    /// 1,000 runs, seed 0, 4 at once, both protocols, every oracle, 300 shrink runs, 2 re-checks, the default
    /// byte budgets.
    pub fn new(target: Target) -> FuzzConfig {
        FuzzConfig {
            target,
            expected: Expected::None,
            budget: Budget::Runs(1000),
            seed: 0,
            concurrency: 4,
            protocol: CaseProtocol::Alternate,
            judge: Judge::new(),
            rules: Rules::defaults(),
            shrink_runs: 300,
            rechecks: 2,
            stop_after: None,
            bytes: ByteBudget::default(),
            progress: false,
        }
    }
}

/// The expected side of a campaign, ready to run cases.
struct ExpectedSide {
    target: Target,
    pool: Pool,
    walks: Vec<Chain>,
    learned: Option<Arc<Learned>>,
    /// For a recording: whether the target's population is the recording's.
    population: bool,
    against: bool,
}

/// What one run of a case made.
struct CaseRun {
    got: Trace,
    theirs: Option<Trace>,
    violations: Vec<CaseViolation>,
}

/// What the campaign keeps of a case run in its own task: the requests it sent, its violations, and, when it
/// has some and its traces are small, the traces for a first finding's reproducer (the rest is dropped where
/// it was made, on that task's thread).
struct Taken {
    requests: u64,
    cut: u64,
    violations: Vec<CaseViolation>,
    traces: Option<(Trace, Option<Trace>)>,
}

impl CaseRun {
    fn taken(self) -> Taken {
        let CaseRun { mut got, mut theirs, violations } = self;
        let (requests, cut) = (got.requests() as u64, cut_listings(&got));
        // Kept, the traces no longer count against the cases in flight.
        let small = got.held.bytes() + theirs.as_ref().map_or(0, |t| t.held.bytes()) <= KEPT_TRACE;
        let traces = (small && !violations.is_empty()).then(|| {
            got.held = Default::default();
            if let Some(t) = &mut theirs {
                t.held = Default::default();
            }
            (got, theirs)
        });
        Taken { requests, cut, violations, traces }
    }
}

/// Runs a case on the target (and the expected side, when it judges) and judges it.
async fn run_case(config: &FuzzConfig, pool: &Pool, x: &ExpectedSide, case: &Case, protocol: Protocol) -> CaseRun {
    let got = exec::run(&config.target, &config.bytes, protocol, case, pool).await;
    let mut violations = config.judge.judge(case, &got);
    let mut theirs = None;
    if x.against || x.learned.is_some() {
        let e = exec::run(&x.target, &config.bytes, protocol, case, &x.pool).await;
        let (side, oracle) = match &x.learned {
            Some(l) => (Side::Recording { learned: l, population: x.population }, Oracle::Recording),
            None => (Side::Against, Oracle::Against),
        };
        if config.judge.enabled.contains(&oracle) {
            violations.extend(differential::compare(&side, &config.rules, &e, &got));
        }
        theirs = Some(e);
    }
    CaseRun { got, theirs, violations }
}

/// A finding as first seen, before it is re-checked and shrunk.
struct Seen {
    index: Option<u64>,
    violation: CaseViolation,
    case: Case,
    protocol: Protocol,
    after: Duration,
    run: Option<(Trace, Option<Trace>)>,
}

/// Runs a campaign. `Err` when the target (or the `--against` implementation) cannot be fuzzed at all: the
/// message names it and the cause.
pub async fn run(config: &FuzzConfig) -> Result<Outcome, FuzzError> {
    let began = Instant::now();
    let deadline = match config.budget {
        Budget::Time(d) => Some(began + d),
        Budget::Runs(_) => None,
    };
    let protocol = config.protocol.of_case(0);
    let warm = within(deadline, warm_up(&config.target, protocol, &config.bytes))
        .await
        .ok_or_else(|| FuzzError::OutOfTime { who: config.target.name().to_string() })?
        .map_err(|fault| FuzzError::Unusable { who: config.target.name().to_string(), fault })?;
    let mut requests = warm.requests;
    let from_target = Learned::from_chains(&warm.chains());
    let mut pool = warm.pool();

    // The expected side: the recording's model, the other implementation, or the target's own model.
    let (x_target, learned, against) = match &config.expected {
        Expected::Recording(l) => (local_model(l, config.target.operation(), config.seed), Some(l.clone()), false),
        Expected::Against(t) => {
            let other = within(deadline, warm_up(t, protocol, &config.bytes))
                .await
                .ok_or_else(|| FuzzError::OutOfTime { who: format!("--against {}", t.name()) })?
                .map_err(|fault| FuzzError::Unusable { who: format!("--against {}", t.name()), fault })?;
            requests += other.requests;
            (t.clone(), None, true)
        }
        Expected::None => {
            (local_model(&Arc::new(from_target.clone()), config.target.operation(), config.seed), None, false)
        }
    };
    let population = learned
        .as_ref()
        .is_some_and(|l| l.complete && from_target.complete && population_key(l) == population_key(&from_target));
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
    let x_walks = token_walks(&x_target, protocol, &config.bytes).await;
    let x_pool = Pool { tokens: pool_tokens(&x_walks), ..pool.clone() };
    let expected = ExpectedSide { target: x_target, pool: x_pool, walks: x_walks, learned, population, against };
    let fp_warm = if warm.population.is_complete() { Some(population_key(&from_target)) } else { None };

    let config_arc = Arc::new(config.clone());
    let pool_arc = Arc::new(pool.clone());
    let expected_arc = Arc::new(expected);
    let cases_began = Instant::now();
    let shrink_reserve = match config.budget {
        Budget::Time(d) => Some(d.mul_f64(SHRINK_SHARE)),
        Budget::Runs(_) => None,
    };
    let mut first_seen: BTreeMap<(Oracle, String), Seen> = BTreeMap::new();
    let mut order: Vec<(Oracle, String)> = Vec::new();
    let mut counts: BTreeMap<(Oracle, String), (u64, u64)> = BTreeMap::new();
    let mut cut = 0u64;
    // The warm-up's faults are findings of the robustness oracle, with a one-request case each.
    for (request, fault) in &warm.faults {
        if matches!(fault, Fault::TooBig { by: Budgeted::Chain | Budgeted::Run, .. }) {
            cut += 1;
            continue;
        }
        let violation = CaseViolation {
            oracle: Oracle::Robustness,
            basis: Oracle::Robustness.basis(),
            signature: fault.name().into(),
            step: Some(0),
            page: Some(0),
            message: format!("warm-up: {fault}"),
        };
        let key = (violation.oracle, violation.signature.clone());
        let c = counts.entry(key.clone()).or_default();
        (c.0, c.1) = (c.0 + 1, c.1 + 1);
        if config.judge.enabled.contains(&Oracle::Robustness) && !first_seen.contains_key(&key) {
            let case = Case::Sequence(vec![Step {
                request: RequestInput::from_document(request),
                follow: 0,
                change: None,
                repeat: false,
            }]);
            order.push(key.clone());
            first_seen.insert(key, Seen { index: None, violation, case, protocol, after: began.elapsed(), run: None });
        }
    }

    // Up to `concurrency` cases in flight; results are taken in case order, whichever finishes first.
    let mut running: tokio::task::JoinSet<(u64, Protocol, Case, Taken)> = tokio::task::JoinSet::new();
    let mut done: BTreeMap<u64, (Protocol, Case, Taken)> = BTreeMap::new();
    let (mut next, mut taken, mut cases, mut case_requests) = (0u64, 0u64, 0u64, 0u64);
    let mut classes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut out_of_time = false;
    let case_deadline = |found: bool| -> Option<Instant> {
        deadline.map(|d| if found { d - shrink_reserve.unwrap_or_default() } else { d })
    };
    let mut progress = crate::reporting::Progress::new(config.progress);
    loop {
        let found = !order.is_empty();
        let open = |next: u64| {
            config.stop_after.is_none_or(|n| order.len() < n)
                && match config.budget {
                    Budget::Runs(n) => next < n,
                    Budget::Time(_) => case_deadline(found).is_none_or(|d| Instant::now() < d),
                }
        };
        while running.len() < config.concurrency.max(1) && open(next) {
            let (c, p, x) = (config_arc.clone(), pool_arc.clone(), expected_arc.clone());
            let index = next;
            running.spawn(async move {
                let protocol = c.protocol.of_case(index);
                let case = case(c.seed, index, &p);
                let run = run_case(&c, &p, &x, &case, protocol).await.taken();
                (index, protocol, case, run)
            });
            next += 1;
        }
        let joined = match case_deadline(found) {
            Some(d) => match timeout_at(d.into(), running.join_next()).await {
                Ok(j) => j,
                Err(_) => {
                    out_of_time = !running.is_empty();
                    running.abort_all();
                    break;
                }
            },
            None => running.join_next().await,
        };
        let Some(joined) = joined else { break };
        let (index, protocol, case, run) = joined.map_err(|e| FuzzError::CasePanicked(e.to_string()))?;
        done.insert(index, (protocol, case, run));
        while let Some((protocol, case, run)) = done.remove(&taken) {
            let index = taken;
            taken += 1;
            cases += 1;
            case_requests += run.requests;
            cut += run.cut;
            *classes.entry(input::class(&case)).or_default() += 1;
            let mut in_case = BTreeSet::new();
            let Taken { violations, mut traces, .. } = run;
            for v in violations {
                let key = (v.oracle, v.signature.clone());
                let c = counts.entry(key.clone()).or_default();
                c.0 += 1;
                if in_case.insert(key.clone()) {
                    c.1 += 1;
                }
                if let std::collections::btree_map::Entry::Vacant(slot) = first_seen.entry(key.clone()) {
                    order.push(key);
                    let run = traces.take();
                    let after = began.elapsed();
                    slot.insert(Seen { index: Some(index), violation: v, case: case.clone(), protocol, after, run });
                }
            }
        }
        let (elapsed, findings) = (cases_began.elapsed(), order.len());
        progress.show(false, || {
            let rate = case_requests as f64 / elapsed.as_secs_f64().max(1e-9);
            format!(
                "fuzz: {cases} cases, {case_requests} requests, {rate:.0} exec/s, {findings} finding(s), {:.1} s",
                elapsed.as_secs_f64()
            )
        });
    }
    drop(running);
    let elapsed = cases_began.elapsed();
    progress.finish(false);
    requests += case_requests;

    // Re-check, shrink and run again each finding, in order of first occurrence, by the deadline.
    let shrink_began = Instant::now();
    let (mut findings, mut unstable) = (Vec::new(), Vec::new());
    let total = order.len();
    for (n, key) in order.into_iter().enumerate() {
        let seen = first_seen.remove(&key).expect("kept");
        let (occurrences, in_cases) = counts[&key];
        progress.show(true, || {
            format!(
                "fuzz: re-checking and shrinking finding {} of {total}, {:.1} s",
                n + 1,
                shrink_began.elapsed().as_secs_f64()
            )
        });
        let holds = |c: &Case, protocol: Protocol| {
            let (c, x, key, pool) = (c.clone(), &*expected_arc, &key, &pool);
            async move {
                let run = run_case(config, pool, x, &c, protocol).await;
                let found = run.violations.into_iter().find(|v| (v.oracle, &v.signature) == (key.0, &key.1));
                (found, run.got, run.theirs)
            }
        };
        // The re-check: the same case again, on a population that did not move.
        let mut stability = Stability::Stable;
        if key.0.needs_stable_population() && config.rechecks > 0 && seen.index.is_some() {
            let check = async {
                for _ in 0..config.rechecks {
                    let before = fingerprint(&config.target, seen.protocol, &config.bytes, warm.page_size).await;
                    let (again, got, _) = holds(&seen.case, seen.protocol).await;
                    requests += got.requests() as u64 + 2;
                    let after = fingerprint(&config.target, seen.protocol, &config.bytes, warm.page_size).await;
                    if again.is_none() {
                        return Stability::Unstable("it did not happen again when the case was re-run".into());
                    }
                    if before.is_none() || before != after || before != fp_warm {
                        return Stability::Unstable(
                            "the target's population moved (a live service): a relation between listings holds only for one population".into(),
                        );
                    }
                }
                Stability::Stable
            };
            stability = within(deadline, check)
                .await
                .unwrap_or_else(|| Stability::Unstable("the --seconds budget ran out before it was re-checked".into()));
        }
        let stable = stability == Stability::Stable;
        let budget = if stable && seen.index.is_some() { config.shrink_runs } else { 0 };
        let shrinking = shrink::shrink(&seen.case, budget, |c| {
            let c = c.clone();
            let holds = &holds;
            async move {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return (false, 0, None);
                }
                let (found, got, theirs) = match within(deadline, holds(&c, seen.protocol)).await {
                    Some(r) => r,
                    None => return (false, 0, None),
                };
                let sent = got.requests();
                (found.is_some(), sent, found.map(|v| (v, got, theirs)))
            }
        });
        let ((shrunk, last), runs, sent) = shrinking.await;
        requests += sent as u64;
        let (violation, actual, theirs) = match (last, seen.run) {
            (Some(l), _) => l,
            (None, Some((got, theirs))) => (seen.violation, got, theirs),
            (None, None) => {
                // A warm-up finding, or one whose traces were too big to keep: run it again for the
                // reproducer, if time allows.
                match within(deadline, holds(&shrunk, seen.protocol)).await {
                    Some((found, got, theirs)) => (found.unwrap_or(seen.violation), got, theirs),
                    None => (seen.violation, empty_trace(seen.protocol, config.target.operation()), None),
                }
            }
        };
        let x = &*expected_arc;
        let expected_trace = match theirs {
            Some(t) => t,
            None => within(deadline, exec::run(&x.target, &config.bytes, seen.protocol, &shrunk, &x.pool))
                .await
                .unwrap_or_else(|| empty_trace(seen.protocol, config.target.operation())),
        };
        // Kept for the report, the traces no longer count against the byte budget.
        let (mut actual, mut expected_trace) = (actual, expected_trace);
        (actual.held, expected_trace.held) = Default::default();
        // A pool token in the reproducer needs the walk that issued it, so diff can map it to the target's.
        let uses_pool = expected_trace.sent.iter().any(|s| {
            s.request
                .get("NextToken")
                .and_then(Value::as_str)
                .is_some_and(|t| x.pool.tokens.iter().any(|(p, _)| p == t))
        });
        let prelude = if uses_pool { x.walks.iter().flat_map(|c| c.pages.clone()).collect() } else { Vec::new() };
        let finding = Finding {
            prelude,
            violation,
            occurrences,
            cases: in_cases,
            case_index: seen.index,
            protocol: seen.protocol,
            sizes: (seen.case.size(), shrunk.size()),
            original: seen.case,
            shrunk,
            shrink_runs: runs,
            after: seen.after,
            stability,
            actual,
            expected: expected_trace,
        };
        if stable { findings.push(finding) } else { unstable.push(finding) }
    }
    progress.finish(false);
    out_of_time |= deadline.is_some_and(|d| Instant::now() >= d);
    let mut oracles: Vec<Oracle> = config.judge.enabled.iter().copied().collect();
    oracles.retain(|o| match o {
        Oracle::Recording => matches!(config.expected, Expected::Recording(_)),
        Oracle::Against => matches!(config.expected, Expected::Against(..)),
        _ => true,
    });
    let mut learned_lines = from_target.describe();
    if let Expected::Recording(l) = &config.expected {
        learned_lines = l.describe().into_iter().map(|s| format!("recording: {s}")).collect();
        learned_lines.push(if expected_arc.population {
            "the target lists the recording's population: listings are compared job for job".into()
        } else {
            format!(
                "the target's population ({} job(s){}) is not the recording's: only the behaviours learned are judged",
                from_target.jobs.len(),
                if from_target.complete { "" } else { ", partial" }
            )
        });
    }
    Ok(Outcome {
        cases,
        requests,
        elapsed,
        case_requests,
        classes,
        findings,
        unstable,
        seed: config.seed,
        learned: learned_lines,
        oracles,
        shrinking: (shrink_began.elapsed(), shrink_reserve),
        cut,
        out_of_time,
    })
}

/// Runs `f` to its end, or until `deadline`: `None` when the deadline came first.
pub(super) async fn within<T>(deadline: Option<Instant>, f: impl std::future::Future<Output = T>) -> Option<T> {
    match deadline {
        Some(d) => timeout_at(d.into(), f).await.ok(),
        None => Some(f.await),
    }
}

/// A model of a recording (or of the target's own warm-up), served in-process.
fn local_model(learned: &Arc<Learned>, operation: Operation, seed: u64) -> Target {
    Target::local("the learned model", Arc::new(Reference::new(learned.config_as(operation, seed))))
        .with_operation(operation)
}

fn empty_trace(protocol: Protocol, operation: Operation) -> Trace {
    Trace { protocol, operation, sent: Vec::new(), listings: Vec::new(), held: Default::default() }
}

/// Listings of a run cut where their answers passed the byte budget.
fn cut_listings(trace: &Trace) -> u64 {
    trace
        .sent
        .iter()
        .filter(|s| matches!(s.outcome, Err(Fault::TooBig { by: Budgeted::Chain | Budgeted::Run, .. })))
        .count() as u64
}

/// A bare request loop for the benchmark: the same client, window and protocol, each request the empty one.
pub async fn bare_loop(target: &Target, protocol: Protocol, requests: u64, concurrency: usize) -> Duration {
    let began = Instant::now();
    let per = requests / concurrency.max(1) as u64;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let t = target.clone();
        tasks.push(tokio::spawn(async move {
            let budget = ByteBudget::default();
            for _ in 0..per {
                let _ = t.send(protocol, t.operation(), &json!({"MaxResults": 5}), &mut budget.hold()).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    began.elapsed()
}
