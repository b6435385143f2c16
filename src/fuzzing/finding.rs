//! What a campaign finds and reports: a [`Finding`] (deduplicated, re-checked, shrunk) and the [`Outcome`] of
//! the whole run. At the bottom of `fuzzing`: the campaign makes these, the report and the reproducers read
//! them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::exec::Trace;
use super::input::Case;
use super::oracles::CaseViolation;
use crate::model::Page;
use crate::model::oracle::Oracle;
use crate::protocol::Protocol;

/// Whether a finding held when it was checked again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stability {
    /// Its oracle does not depend on the population, or it reproduced on a population that did not move.
    Stable,
    /// It did not reproduce, or the population moved: not reported as a bug (why).
    Unstable(String),
}

/// One deduplicated finding.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The oracle and its basis, signature and message (of the shrunk case).
    pub violation: CaseViolation,
    /// How many times it was seen (a case may show it more than once).
    pub occurrences: u64,
    /// How many cases showed it.
    pub cases: u64,
    /// The first case that showed it; `None` for the warm-up.
    pub case_index: Option<u64>,
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
    /// What the re-check said.
    pub stability: Stability,
    /// The shrunk case's exchanges with the target.
    pub actual: Trace,
    /// The same case's answers from the expected side (for the reproducer).
    pub expected: Trace,
    /// The expected side's pages that issued the pool tokens the case uses (the reproducer starts with them).
    pub prelude: Vec<Page>,
}

/// What a campaign did.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use snomed_vcr::{FuzzConfig, FuzzOutcome, Reference, ReferenceConfig, Target};
/// use snomed_vcr::fuzzing::Budget;
///
/// let mut config = FuzzConfig::new(Target::local("reference", Arc::new(Reference::new(ReferenceConfig::generated(20, 1)))));
/// config.budget = Budget::Runs(50);
/// let outcome: FuzzOutcome = config.run().await.unwrap();
/// assert_eq!((outcome.cases, outcome.findings.len()), (50, 0));
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Cases run.
    pub cases: u64,
    /// Requests sent to the target (warm-up, re-checks and shrinking included).
    pub requests: u64,
    /// Wall time of the cases (warm-up and shrinking excluded).
    pub elapsed: Duration,
    /// Requests of the cases alone.
    pub case_requests: u64,
    /// Cases per input class.
    pub classes: BTreeMap<&'static str, u64>,
    /// Findings, in order of first occurrence.
    pub findings: Vec<Finding>,
    /// Findings that did not survive their re-check: reported apart, not failures.
    pub unstable: Vec<Finding>,
    /// The seed.
    pub seed: u64,
    /// What the warm-up learned of the target (or the recording showed), one line each.
    pub learned: Vec<String>,
    /// The oracles that were on.
    pub oracles: Vec<Oracle>,
    /// Wall time of re-checks and shrinking, and the most a `--seconds` budget allowed them.
    pub shrinking: (Duration, Option<Duration>),
    /// Listings cut where their answers passed the byte budget (not findings: the harness's limit).
    pub cut: u64,
    /// Whether the `--seconds` deadline stopped work under way.
    pub out_of_time: bool,
}

impl Outcome {
    /// One outcome of two campaigns run one after the other (over two operations): counts added, findings
    /// and what was learned in order, `learned` lines of `other` under its `operation`.
    pub fn merge(mut self, other: Outcome, operation: crate::model::Operation) -> Outcome {
        self.cases += other.cases;
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.case_requests += other.case_requests;
        for (class, n) in other.classes {
            *self.classes.entry(class).or_default() += n;
        }
        self.findings.extend(other.findings);
        self.unstable.extend(other.unstable);
        self.learned.extend(other.learned.into_iter().map(|l| format!("{operation}: {l}")));
        self.shrinking.0 += other.shrinking.0;
        self.shrinking.1 = match (self.shrinking.1, other.shrinking.1) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.cut += other.cut;
        self.out_of_time |= other.out_of_time;
        self
    }

    /// Requests a second during the cases.
    pub fn exec_per_sec(&self) -> f64 {
        self.case_requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}
