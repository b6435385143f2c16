//! Running a case: what goes to the implementation, what came back, and the listings it made.
//!
//! An [`Endpoint`] is an implementation over HTTP (any URL, through the crate's [`Client`]) or the reference
//! in-process (for cargo-fuzz and for a model learned from a recording). [`run`] sends a case's requests in
//! order, resolving `NextToken`s from earlier answers, and returns a [`Trace`]: every exchange, and each
//! step's listing as a [`Chain`] for the oracles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use super::input::{Case, Change, Pool, RequestInput, Step, TokenInput};
use super::verdict::TokenOrigin;
use crate::client::{CallError, Client, SendError};
use crate::model::{self, Chain, End, Page, Reply, Start};
use crate::protocol::{self, Protocol};
use crate::reference::Reference;
use crate::server::Handler;

/// An implementation under test.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // a few per campaign, cloned into tasks
pub enum Endpoint {
    /// Over HTTP(S).
    Http(Client),
    /// In-process (no network): the reference, or a model learned from a recording.
    Local(Arc<Reference>),
}

/// An answer that could be read.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The output or error, read as the SDKs read it.
    pub reply: Reply,
}

/// No answer that could be read.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Nothing within the timeout.
    Timeout(Duration),
    /// The connection failed or closed before the answer was whole.
    Dropped(String),
    /// An answer that is not the protocol.
    NotProtocol(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Timeout(t) => write!(f, "no answer within {t:?}"),
            Fault::Dropped(e) => write!(f, "the connection failed or closed mid-answer: {e}"),
            Fault::NotProtocol(e) => write!(f, "{e}"),
        }
    }
}

impl Endpoint {
    /// Sends one request document.
    pub async fn send(&self, protocol: Protocol, doc: &Value) -> Result<Answer, Fault> {
        let body = protocol::encode_request(protocol, doc);
        match self {
            Endpoint::Http(client) => match client.exchange(protocol, model::OPERATION, body).await {
                Ok(ex) => Ok(Answer { status: ex.status, reply: ex.reply }),
                Err(CallError::Send(SendError::NoResponse(t) | SendError::SlowBody(t))) => Err(Fault::Timeout(t)),
                Err(CallError::Send(e)) => Err(Fault::Dropped(e.to_string())),
                Err(e @ CallError::NotProtocol { .. }) => Err(Fault::NotProtocol(e.to_string())),
            },
            Endpoint::Local(reference) => {
                let resp = reference.handle(local_request(protocol, body)).await;
                let status = resp.status().as_u16();
                protocol::parse_reply(protocol, status, resp.body()).map(|reply| Answer { status, reply }).map_err(
                    |e| Fault::NotProtocol(format!("the HTTP {status} answer is not {}: {e}", protocol.name())),
                )
            }
        }
    }
}

/// The request a client of `protocol` sends, for an in-process handler.
pub fn local_request(protocol: Protocol, body: Bytes) -> http::Request<Bytes> {
    let mut b = http::Request::post(protocol.path("", model::OPERATION)).header("host", "localhost");
    for (k, v) in protocol::request_headers(protocol, model::OPERATION) {
        b = b.header(k, v);
    }
    b.body(body).expect("a well-formed request")
}

/// What an answer said, without its output document (which the listing's page keeps).
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    /// The HTTP status.
    pub status: u16,
    /// The error, for an error answer.
    pub error: Option<crate::model::ServiceError>,
}

impl Head {
    fn of(a: &Answer) -> Head {
        Head { status: a.status, error: a.reply.error().cloned() }
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

/// Everything a case did.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The protocol it spoke.
    pub protocol: Protocol,
    /// Every exchange, in order.
    pub sent: Vec<Sent>,
    /// Each step's (or relation listing's) listing.
    pub listings: Vec<Listing>,
}

impl Trace {
    /// How many requests went out.
    pub fn requests(&self) -> usize {
        self.sent.len()
    }
}

/// The most pages followed in one listing (a relation's walks; a sequence step follows at most 50).
pub const MAX_PAGES: usize = 120;

/// Runs a case against an endpoint.
pub async fn run(endpoint: &Endpoint, protocol: Protocol, case: &Case, pool: &Pool) -> Trace {
    let mut t = Trace { protocol, sent: Vec::new(), listings: Vec::new() };
    match case {
        Case::Sequence(steps) => {
            let mut bundle: Vec<String> = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                let listing = run_step(endpoint, protocol, i, step, &bundle, pool, &mut t.sent).await;
                bundle.extend(listing.chain.tokens().into_iter().map(str::to_string));
                t.listings.push(listing);
            }
        }
        Case::Relation(r) => {
            for (i, first) in r.listings().into_iter().enumerate() {
                let step =
                    Step { request: RequestInput::empty(), follow: (MAX_PAGES - 1) as u8, change: None, repeat: false };
                let listing = walk(endpoint, protocol, i, first, &step, TokenOrigin::NoneOrLiteral, &mut t.sent).await;
                t.listings.push(listing);
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

async fn run_step(
    endpoint: &Endpoint,
    protocol: Protocol,
    i: usize,
    step: &Step,
    bundle: &[String],
    pool: &Pool,
    sent: &mut Vec<Sent>,
) -> Listing {
    let (token, origin) = match &step.request.token {
        TokenInput::Issued { n, mutation } => match resolve(*n, bundle, pool) {
            Some(t) => (Some(mutation.apply(&t)), TokenOrigin::Other),
            None => (None, TokenOrigin::NoneOrLiteral),
        },
        _ => (None, TokenOrigin::NoneOrLiteral),
    };
    let first = step.request.to_document(token.as_deref());
    walk(endpoint, protocol, i, first, step, origin, sent).await
}

/// Sends `first`, then follows up to `step.follow` pages by their tokens, applying the step's change from the
/// second page on and sending the second page's request twice when asked.
async fn walk(
    endpoint: &Endpoint,
    protocol: Protocol,
    i: usize,
    first: Value,
    step: &Step,
    origin: TokenOrigin,
    sent: &mut Vec<Sent>,
) -> Listing {
    let mut pages: Vec<Page> = Vec::new();
    let mut changed_at = None;
    let mut repeated = None;
    let mut next = first.clone();
    let mut next_origin = origin;
    let start = if first.get("NextToken").is_some() { Start::ForeignToken } else { Start::Fresh };
    let mut end = None;
    let mut seen = std::collections::HashSet::new();
    for p in 0..=usize::from(step.follow) {
        let outcome = logged_send(endpoint, protocol, (i, p), &next, next_origin, sent).await;
        let Ok(answer) = outcome else {
            end = Some(End::Error);
            break;
        };
        if p == 1
            && step.repeat
            && let Ok(a) = logged_send(endpoint, protocol, (i, p), &next, TokenOrigin::Other, sent).await
        {
            repeated = Some((p, a));
        }
        let token = match &answer.reply {
            Reply::Error(_) => None,
            Reply::Output(out) => out.get("NextToken").and_then(Value::as_str).map(str::to_string),
        };
        pages.push(Page::new(next.clone(), answer.status, answer.reply));
        let Some(token) = token else {
            end =
                Some(if pages.last().is_some_and(|p| p.reply.error().is_some()) { End::Error } else { End::Complete });
            break;
        };
        if !seen.insert(token.clone()) {
            end = Some(End::Loop { token });
            break;
        }
        next = first.clone();
        next_origin = TokenOrigin::Fresh;
        if p == 0
            && let Some(change) = &step.change
        {
            changed_at = Some(1);
            next_origin = TokenOrigin::Other;
            apply(&mut next, change);
        } else if let Some(c) = changed_at.and(step.change.as_ref()) {
            apply(&mut next, c);
        }
        next["NextToken"] = json!(token);
    }
    let chain = Chain { start, pages, end: end.unwrap_or(End::Capped) };
    Listing { step: i, chain, changed_at, repeated }
}

/// Sends `request` as page `at.1` of step `at.0`, logs the exchange (timed) in `sent`, and returns the answer.
async fn logged_send(
    endpoint: &Endpoint,
    protocol: Protocol,
    at: (usize, usize),
    request: &Value,
    origin: TokenOrigin,
    sent: &mut Vec<Sent>,
) -> Result<Answer, Fault> {
    let began = Instant::now();
    let outcome = endpoint.send(protocol, request).await;
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
