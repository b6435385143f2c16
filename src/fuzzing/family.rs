//! Fuzzing the list family: which operations a target answers, a campaign for each sharing one budget, and
//! one [`Outcome`] of them all (each finding naming its operation).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::campaign::{Budget, Expected, FuzzConfig, FuzzError, within};
use super::finding::Outcome;
use super::learn::Learned;
use super::oracles::Judge;
use crate::client::{ByteBudget, Target};
use crate::model::{Operation, Reply};
use crate::protocol::Protocol;

/// Which list operations to fuzz.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operations {
    /// Every one the target answers (found by asking each once).
    All,
    /// This one.
    One(Operation),
}

impl Operations {
    /// `all`, or an operation in any of its spellings (`ListRxNormInferenceJobs`, `list-rx-norm-inference-jobs`,
    /// `rxnorm`, …).
    pub fn parse(s: &str) -> Result<Operations, String> {
        match s {
            "all" => Ok(Operations::All),
            name => Operation::parse_loose(name).map(Operations::One).ok_or_else(|| {
                format!("'{name}' is not a list operation (expected all or one of {})", Operation::names())
            }),
        }
    }
}

/// A fuzz run over the list family: campaigns made from one configuration, one per operation.
#[derive(Clone)]
pub struct FamilyFuzz {
    /// What every operation's campaign is made from (its expected side set per operation when there are
    /// recordings).
    pub config: FuzzConfig,
    /// Which operations.
    pub operations: Operations,
    /// What the recordings (`--cassette`) show of each operation they call.
    pub recordings: Option<BTreeMap<Operation, Arc<Learned>>>,
}

impl FamilyFuzz {
    /// Asks which operations the target answers (for [`Operations::All`]), then runs a campaign for each, one
    /// after another, sharing the runs or the seconds (`--seconds` bounds the whole run, the question
    /// included). With recordings, each operation is held to what they show of it; one they never call is
    /// judged without a recording (by the model and the target's own behaviour) rather than against nothing.
    pub async fn run(&self) -> Result<Outcome, FuzzError> {
        let deadline = match self.config.budget {
            Budget::Time(d) => Some(Instant::now() + d),
            Budget::Runs(_) => None,
        };
        let target = &self.config.target;
        let operations = match self.operations {
            Operations::One(op) => vec![op],
            Operations::All => {
                let answered = answered_operations(target, self.config.protocol.of_case(0), deadline).await;
                if answered.is_empty() {
                    return Err(FuzzError::NoOperation { who: target.name().to_string() });
                }
                answered
            }
        };
        let mut shared = self.config.clone();
        if let Some(d) = deadline {
            shared.budget = Budget::Time(d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
        }
        let several = operations.len() > 1;
        let mut outcome: Option<Outcome> = None;
        for (i, &operation) in operations.iter().enumerate() {
            let mut campaign = shared.for_operation(operation, i, operations.len());
            if let Some(recordings) = &self.recordings {
                (campaign.expected, campaign.judge.semantics) = match recordings.get(&operation) {
                    Some(l) => (Expected::Recording(l.clone()), l.semantics()),
                    None => (Expected::None, Judge::new().semantics),
                };
            }
            let this = campaign.run().await?;
            outcome = Some(match outcome {
                Some(so_far) => so_far.merge(this, operation),
                None if several => {
                    Outcome { learned: this.learned.iter().map(|l| format!("{operation}: {l}")).collect(), ..this }
                }
                None => this,
            });
        }
        Ok(outcome.expect("at least one operation"))
    }
}

impl FuzzConfig {
    /// The campaign over `operation`, the `part`th of `parts` sharing this one's budget: the target and an
    /// `--against` implementation called as that operation, the runs or seconds divided (each part at least
    /// one run), the same seed.
    pub fn for_operation(&self, operation: Operation, part: usize, parts: usize) -> FuzzConfig {
        let mut c = self.clone();
        c.target = c.target.with_operation(operation);
        if let Expected::Against(t) = &c.expected {
            c.expected = Expected::Against(t.clone().with_operation(operation));
        }
        let parts_u64 = parts.max(1) as u64;
        c.budget = match self.budget {
            Budget::Runs(n) => Budget::Runs((n / parts_u64 + u64::from((part as u64) < n % parts_u64)).max(1)),
            Budget::Time(d) => Budget::Time(d / parts.max(1) as u32),
        };
        c
    }
}

/// The list operations `target` answers: those whose one request (`{"MaxResults": 1}` in `protocol`) gets any
/// answer but `UnknownOperationException` (a fault counts as answered: the campaign will report it). The five
/// are asked at once, so a target that never answers costs one timeout, not five; with a deadline, what has
/// not answered by then counts as answered.
pub async fn answered_operations(target: &Target, protocol: Protocol, deadline: Option<Instant>) -> Vec<Operation> {
    let mut asking = tokio::task::JoinSet::new();
    for op in Operation::ALL {
        let target = target.clone();
        asking.spawn(async move {
            let mut held = ByteBudget::default().hold();
            let unknown = matches!(
                target.send(protocol, op, &json!({"MaxResults": 1}), &mut held).await,
                Ok(a) if matches!(&a.reply, Reply::Error(e) if e.code == "UnknownOperationException")
            );
            (op, unknown)
        });
    }
    let mut unknown = Vec::new();
    let all = async {
        while let Some(joined) = asking.join_next().await {
            if let Ok((op, true)) = joined {
                unknown.push(op);
            }
        }
    };
    let _ = within(deadline, all).await;
    Operation::ALL.into_iter().filter(|op| !unknown.contains(op)).collect()
}
