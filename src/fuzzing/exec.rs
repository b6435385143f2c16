//! Running a case: what goes to the implementation, what came back, and the listings it made.
//!
//! [`run`] sends a case's requests to a [`Target`] in order, resolving `NextToken`s from earlier answers, and
//! returns a [`Trace`]: every exchange with the origin of its token ([`TokenOrigin`]), and each step's
//! listing as a [`Chain`] for the oracles. Listings are walked by the crate's one [`Walker`], and each holds
//! the target's answers within the campaign's [`ByteBudget`]: a listing whose answers pass it is cut there
//! (and judged as one that did not run to its end); only an answer bigger than a whole listing's budget is a
//! fault of the target's.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::input::{Case, Change, Pool, RequestInput, Step, TokenInput};
use super::verdict::TokenOrigin;
use crate::client::{Answer, Budgeted, ByteBudget, Deviation, Fault, Holding, Target};
use crate::model::listing::Walker;
use crate::model::{Chain, End, ServiceError};
use crate::protocol::Protocol;

/// What an answer said, without its output document (which the listing's page keeps).
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    /// The HTTP status.
    pub status: u16,
    /// The error, for an error answer.
    pub error: Option<ServiceError>,
    /// What its encoding got wrong.
    pub deviations: Vec<Deviation>,
}

impl Head {
    fn of(a: &Answer) -> Head {
        Head { status: a.status, error: a.reply.error().cloned(), deviations: a.deviations.clone() }
    }
}

/// One exchange of a run.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The step (or listing, for a relation), from 0.
    pub step: usize,
    /// The page of that step's listing, from 0.
    pub page: usize,
    /// The document sent.
    pub request: Value,
    /// Where its token came from.
    pub origin: TokenOrigin,
    /// What came back (the output itself is in the listing's page).
    pub outcome: Result<Head, Fault>,
    /// How long it took.
    pub elapsed: Duration,
}

/// One step's listing: the pages it read, and from which page on the filter or page size changed.
#[derive(Clone, Debug)]
pub struct Listing {
    /// The step.
    pub step: usize,
    /// Its pages (up to the first fault).
    pub chain: Chain,
    /// The page from which a [`Change`] applied (the documented order is judged before it only).
    pub changed_at: Option<usize>,
    /// The page whose request went twice, with the second answer.
    pub repeated: Option<(usize, Answer)>,
}

/// What a trace holds of the campaign's byte budget, given back when the trace is dropped. A clone holds
/// nothing: a trace kept for a finding's reproducer is small and no longer counts against cases in flight.
#[derive(Debug, Default)]
pub struct Held(Vec<Holding>);

impl Clone for Held {
    fn clone(&self) -> Held {
        Held(Vec::new())
    }
}

impl Held {
    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.0.iter().map(Holding::bytes).sum()
    }
}

/// Everything a case did.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The protocol it spoke.
    pub protocol: Protocol,
    /// The operation it called.
    pub operation: crate::model::Operation,
    /// Every exchange, in order.
    pub sent: Vec<Sent>,
    /// Each step's (or relation listing's) listing.
    pub listings: Vec<Listing>,
    /// What its answers hold of the byte budget.
    pub held: Held,
}

impl Trace {
    /// How many requests went out.
    pub fn requests(&self) -> usize {
        self.sent.len()
    }

    /// The origin of the token of a listing's first request.
    pub fn first_origin(&self, listing: &Listing) -> TokenOrigin {
        self.sent.iter().find(|s| s.step == listing.step && s.page == 0).map_or(TokenOrigin::None, |s| s.origin)
    }
}

pub use super::input::MAX_PAGES;

/// Runs a case against a target, holding its answers within `budget`.
pub async fn run(target: &Target, budget: &ByteBudget, protocol: Protocol, case: &Case, pool: &Pool) -> Trace {
    let mut t = Trace {
        protocol,
        operation: target.operation(),
        sent: Vec::new(),
        listings: Vec::new(),
        held: Held::default(),
    };
    match case {
        Case::Sequence(steps) => {
            let mut bundle: Vec<String> = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                let (first, origin) = first_request(step, &bundle, pool);
                let (listing, held) = walk(target, budget, protocol, i, first, step, origin, &mut t.sent).await;
                bundle.extend(listing.chain.tokens().into_iter().map(str::to_string));
                t.listings.push(listing);
                t.held.0.push(held);
            }
        }
        Case::Relation(r) => {
            for (i, first) in r.listings().into_iter().enumerate() {
                let step =
                    Step { request: RequestInput::empty(), follow: (MAX_PAGES - 1) as u8, change: None, repeat: false };
                let (listing, held) =
                    walk(target, budget, protocol, i, first, &step, TokenOrigin::None, &mut t.sent).await;
                t.listings.push(listing);
                t.held.0.push(held);
            }
        }
    }
    t
}

/// The token an [`TokenInput::Issued`] stands for: the case's own tokens first, then the pool's.
pub fn resolve(n: u16, bundle: &[String], pool: &Pool) -> Option<String> {
    let all = bundle.len() + pool.tokens.len();
    if all == 0 {
        return None;
    }
    let i = usize::from(n) % all;
    Some(if i < bundle.len() { bundle[i].clone() } else { pool.tokens[i - bundle.len()].0.clone() })
}

/// A step's first request, and where its token came from: a token the target issued is `Reissued` when sent
/// as issued (or mutated into one it issued), `Mutated` when changed into one nobody issued.
fn first_request(step: &Step, bundle: &[String], pool: &Pool) -> (Value, TokenOrigin) {
    let (token, origin) = match &step.request.token {
        TokenInput::Issued { n, mutation } => match resolve(*n, bundle, pool) {
            Some(t) => {
                let sent = mutation.apply(&t);
                let issued = sent == t || bundle.contains(&sent) || pool.tokens.iter().any(|(p, _)| *p == sent);
                (Some(sent), if issued { TokenOrigin::Reissued } else { TokenOrigin::Mutated })
            }
            None => (None, TokenOrigin::None),
        },
        TokenInput::Literal(_) => (None, TokenOrigin::Literal),
        TokenInput::Absent => (None, TokenOrigin::None),
    };
    (step.request.to_document(token.as_deref()), origin)
}

/// Sends `first`, then follows up to `step.follow` pages by their tokens, applying the step's change from the
/// second page on and sending the second page's request twice when asked.
#[allow(clippy::too_many_arguments)] // one step of a run: where, what, and the log
async fn walk(
    target: &Target,
    budget: &ByteBudget,
    protocol: Protocol,
    i: usize,
    first: Value,
    step: &Step,
    origin: TokenOrigin,
    sent: &mut Vec<Sent>,
) -> (Listing, Holding) {
    let mut walker = Walker::new(first.clone(), usize::from(step.follow) + 1);
    let mut held = budget.hold();
    let (mut changed_at, mut repeated) = (None, None);
    let (mut next, mut next_origin) = (first.clone(), origin);
    loop {
        let p = walker.pages().len();
        let answer = match logged_send(target, &mut held, protocol, (i, p), &next, next_origin, sent).await {
            Ok(a) => a,
            // Longer than the harness holds: cut, and judged as a listing that did not run to its end.
            Err(Fault::TooBig { by: Budgeted::Chain | Budgeted::Run, .. }) => {
                walker.stop(End::Capped);
                break;
            }
            Err(_) => {
                walker.fail();
                break;
            }
        };
        if p == 1
            && step.repeat
            && let Ok(a) = logged_send(target, &mut held, protocol, (i, p), &next, TokenOrigin::Reissued, sent).await
        {
            repeated = Some((p, a));
        }
        walker.take(next, answer.status, answer.reply);
        let Some(token) = walker.token() else { break };
        next = first.clone();
        next_origin = TokenOrigin::Fresh;
        if let Some(change) = &step.change {
            // From the second page on: a token sent with another filter or page size than it was issued for.
            changed_at.get_or_insert(1);
            next_origin = TokenOrigin::Reissued;
            apply(&mut next, change);
        }
        next["NextToken"] = json!(token);
    }
    (Listing { step: i, chain: walker.finish(), changed_at, repeated }, held)
}

/// Sends `request` as page `at.1` of step `at.0` within the room `held` has (charging the answer to it), logs
/// the exchange (timed) in `sent`, and returns the answer.
async fn logged_send(
    target: &Target,
    held: &mut Holding,
    protocol: Protocol,
    at: (usize, usize),
    request: &Value,
    origin: TokenOrigin,
    sent: &mut Vec<Sent>,
) -> Result<Answer, Fault> {
    let began = Instant::now();
    let outcome = target.send(protocol, target.operation(), request, held).await;
    sent.push(Sent {
        step: at.0,
        page: at.1,
        request: request.clone(),
        origin,
        outcome: outcome.as_ref().map(Head::of).map_err(Clone::clone),
        elapsed: began.elapsed(),
    });
    outcome
}

fn apply(doc: &mut Value, change: &Change) {
    let Value::Object(m) = doc else { return };
    match change {
        Change::MaxResults(None) => {
            m.remove("MaxResults");
        }
        Change::MaxResults(Some(v)) => {
            m.insert("MaxResults".into(), v.clone());
        }
        Change::Filter(None) => {
            m.remove("Filter");
        }
        Change::Filter(Some(f)) => {
            m.insert("Filter".into(), f.to_document());
        }
    }
}
