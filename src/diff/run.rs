//! Running a recorded chain against a target: the recorded requests in order, each follow-up carrying the
//! target's own `NextToken`, until the target's listing ends, errs, repeats a token, runs past its cap, or the
//! recording stops. Whatever goes wrong on the wire is kept as the run's [`Failure`], naming the cause.

use serde_json::Value;

use super::outcome::{Difference, Kind};
use crate::client::{CallError, Client, SendError};
use crate::model::{Chain, End, Page};
use crate::protocol::Protocol;

/// Where and why the target gave no (readable) answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The page (from 1) whose request failed.
    pub page: usize,
    /// The recorded interaction it replays, if it replays one.
    pub interaction: Option<usize>,
    /// The cause: refused, timed out, closed mid-answer, not the protocol.
    pub cause: String,
}

impl Failure {
    /// The failure as the `transport` difference reports show.
    pub fn difference(&self) -> Difference {
        Difference::new(
            Kind::Transport,
            Some(self.page),
            self.interaction,
            crate::doc::JsonPath::root(),
            None,
            None,
            self.cause.clone(),
        )
    }
}

/// What the target answered to one recorded chain, in one protocol.
#[derive(Clone, Debug)]
pub struct TargetRun {
    /// The protocol the requests went in.
    pub protocol: Protocol,
    /// The target's pages (each request as sent, with the target's tokens).
    pub pages: Vec<Page>,
    /// How the target's listing ended.
    pub end: End,
    /// The request that got no answer, if one did not.
    pub failure: Option<Failure>,
}

impl TargetRun {
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

/// A transport failure in words that name the cause.
fn cause(e: &CallError) -> String {
    match e {
        CallError::Send(SendError::Connect(why)) if why.contains("closed before message completed") => {
            format!("the connection closed before an answer: {why}")
        }
        CallError::Send(SendError::Connect(why)) => format!("the connection failed: {why}"),
        CallError::Send(SendError::NoResponse(t)) => format!("no response within {t:?}: the target hangs"),
        CallError::Send(SendError::SlowBody(t)) => format!("the answer did not finish within {t:?}"),
        CallError::Send(SendError::Body(why)) => format!("the connection closed mid-answer: {why}"),
        CallError::Send(SendError::Request(why)) => format!("the request could not be sent: {why}"),
        e @ CallError::NotProtocol { .. } => e.to_string(),
    }
}

/// Runs `recorded` against `client` in `protocol`. The first request goes as recorded, with its token replaced
/// by `first_token` when given (a reused token mapped to the target's own); follow-ups carry the target's
/// token. Past the recording's last page, a target that keeps returning tokens is followed (only if the
/// recorded listing was complete) until `max_pages`.
pub async fn run_chain(
    client: &Client,
    recorded: &Chain,
    protocol: Protocol,
    first_token: Option<&str>,
    max_pages: usize,
) -> TargetRun {
    let mut pages: Vec<Page> = Vec::new();
    let mut end = End::Complete;
    let mut failure = None;
    loop {
        let i = pages.len();
        let request = match (recorded.pages.get(i), pages.last()) {
            (Some(first), None) => match first_token {
                Some(t) => with_token(&first.request, Some(t)),
                None => first.request.clone(),
            },
            (Some(rec), Some(prev)) => with_token(&rec.request, prev.next_token()),
            (None, Some(prev)) => {
                let last = &recorded.pages[recorded.pages.len() - 1];
                with_token(&last.request, prev.next_token())
            }
            (None, None) => break,
        };
        if i >= max_pages {
            end = End::Capped;
            break;
        }
        let interaction = recorded.pages.get(i).and_then(|p| p.interaction);
        let body = crate::protocol::encode_request(protocol, &request);
        match client.exchange(protocol, crate::model::OPERATION, body).await {
            Ok(ex) => {
                let reply = match ex.reply {
                    crate::model::Reply::Error(e) => {
                        let header = ex.headers.get(crate::protocol::ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok());
                        crate::model::Reply::Error(crate::protocol::with_header_code(e, header))
                    }
                    output => output,
                };
                pages.push(Page { request, status: ex.status, reply, interaction });
            }
            Err(e) => {
                failure = Some(Failure { page: i + 1, interaction, cause: cause(&e) });
                end = End::Error;
                break;
            }
        }
        let last = &pages[i];
        if last.reply.error().is_some() {
            end = End::Error;
            break;
        }
        let Some(token) = last.next_token() else {
            end = End::Complete;
            break;
        };
        if pages[..i].iter().any(|p| p.next_token() == Some(token)) {
            end = End::Loop { token: token.to_string() };
            break;
        }
        // The recording stopped here with a token still to follow (or with an error): so does the run.
        if i + 1 >= recorded.pages.len() && !recorded.is_complete() {
            end = End::Unfollowed;
            break;
        }
    }
    TargetRun { protocol, pages, end, failure }
}
