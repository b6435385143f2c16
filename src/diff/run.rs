//! Running a recorded chain against a target: the recorded requests in order, each follow-up carrying the
//! target's own `NextToken`, until the target's listing ends, errs, repeats a token, runs past its cap, or the
//! recording stops (the walker's one rule for how a walk ends: [`Walker`]). Whatever goes wrong on the wire
//! is kept as the run's [`Failure`], naming the cause ([`Fault`]); an answer past the chain's or the run's
//! byte budget is such a failure too.

use serde_json::Value;

use super::outcome::{Difference, Kind};
use crate::client::{Deviation, Fault, Holding, Target};
use crate::model::listing::Walker;
use crate::model::{Chain, End, Page};
use crate::protocol::Protocol;

/// Where and why the target gave no (readable) answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The page (from 1) whose request failed.
    pub page: usize,
    /// The recorded interaction it replays, if it replays one.
    pub interaction: Option<usize>,
    /// The cause.
    pub fault: Fault,
}

/// What an answer's encoding got wrong, as the `oracle` difference reports show.
pub fn deviation_difference(page: usize, interaction: Option<usize>, d: &Deviation) -> Difference {
    use crate::model::oracle::Oracle;
    let (oracle, path) = match d {
        Deviation::CodeNotInBody => (Oracle::Validation, crate::doc::JsonPath::root().key("__type")),
        Deviation::UntaggedTimestamps(_) => (Oracle::OutputShape, crate::doc::JsonPath::root()),
    };
    let mut diff = Difference::new(Kind::Oracle, path, d.to_string()).on_page(page).of_interaction(interaction);
    diff.oracle = Some(oracle);
    diff.basis = Some(oracle.basis());
    diff
}

impl Failure {
    /// The failure as the `transport` difference reports show.
    pub fn difference(&self) -> Difference {
        Difference::new(Kind::Transport, crate::doc::JsonPath::root(), self.fault.to_string())
            .on_page(self.page)
            .of_interaction(self.interaction)
    }
}

/// What the target answered to one recorded chain, in one protocol.
#[derive(Debug)]
pub struct TargetRun {
    /// The protocol the requests went in.
    pub protocol: Protocol,
    /// The target's pages (each request as sent, with the target's tokens).
    pub pages: Vec<Page>,
    /// How the target's listing ended.
    pub end: End,
    /// The request that got no answer, if one did not.
    pub failure: Option<Failure>,
    /// What the answers' encoding got wrong, by page (from 1).
    pub deviations: Vec<(usize, Deviation)>,
    /// What the pages hold of the run's byte budget, given back when the run is dropped.
    pub held: Option<Holding>,
}

impl TargetRun {
    /// A run made of pages that were not sent (the other recording's, for `diff A.json B.json`).
    pub fn recorded(protocol: Protocol, chain: Chain) -> TargetRun {
        TargetRun { protocol, pages: chain.pages, end: chain.end, failure: None, deviations: Vec::new(), held: None }
    }

    /// Whether the run was cut because other chains in flight held the run's byte budget (it may run again
    /// alone).
    pub fn crowded_out(&self) -> bool {
        matches!(&self.failure, Some(Failure { fault: Fault::TooBig { by: crate::client::Budgeted::Run, .. }, .. }))
    }

    /// The tokens of the recorded chain paired with the target's at the same page: what a later request that
    /// reuses a recorded token should send instead.
    pub fn token_pairs<'a>(&'a self, recorded: &'a Chain) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        recorded.pages.iter().zip(&self.pages).filter_map(|(r, t)| Some((r.next_token()?, t.next_token()?)))
    }
}

fn with_token(request: &Value, token: Option<&str>) -> Value {
    let mut req = request.clone();
    if let Value::Object(m) = &mut req {
        match token {
            Some(t) => {
                m.insert("NextToken".into(), Value::String(t.to_string()));
            }
            None => {
                m.remove("NextToken");
            }
        }
    }
    req
}

/// Runs `recorded` against `target` in `protocol`, holding its answers in `held`. The first request goes
/// as recorded, with its token replaced by `first_token` when given (a reused token mapped to the target's
/// own); follow-ups carry the target's token. Past the recording's last page, a target that keeps returning
/// tokens is followed (only if the recorded listing was complete) until `max_pages`.
pub async fn run_chain(
    target: &Target,
    mut held: Holding,
    recorded: &Chain,
    protocol: Protocol,
    first_token: Option<&str>,
    max_pages: usize,
) -> TargetRun {
    let Some(first) = recorded.pages.first() else {
        return TargetRun::recorded(
            protocol,
            Chain { start: recorded.start, operation: recorded.operation, pages: Vec::new(), end: End::Complete },
        );
    };
    let first = match first_token {
        Some(t) => with_token(&first.request, Some(t)),
        None => first.request.clone(),
    };
    let last = &recorded.pages[recorded.pages.len() - 1];
    let mut walker = Walker::new(first.clone(), max_pages);
    let (mut failure, mut deviations) = (None, Vec::new());
    loop {
        let i = walker.pages().len();
        let request = match (i, walker.token()) {
            (0, _) => first.clone(),
            (_, Some(token)) => with_token(&recorded.pages.get(i).unwrap_or(last).request, Some(token)),
            (_, None) => break,
        };
        let interaction = recorded.pages.get(i).and_then(|p| p.interaction);
        match target.send(protocol, recorded.operation, &request, &mut held).await {
            Ok(a) => {
                deviations.extend(a.deviations.into_iter().map(|d| (i + 1, d)));
                walker.take_page(Page { request, status: a.status, reply: a.reply, interaction });
            }
            Err(fault) => {
                failure = Some(Failure { page: i + 1, interaction, fault });
                walker.fail();
                break;
            }
        }
        // The recording stopped here with a token still to follow (or with an error): so does the run.
        if i + 1 >= recorded.pages.len() && !recorded.is_complete() {
            walker.stop(End::Unfollowed);
        }
    }
    let chain = walker.finish();
    TargetRun { protocol, pages: chain.pages, end: chain.end, failure, deviations, held: Some(held) }
}
