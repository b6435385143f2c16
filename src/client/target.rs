//! [`Target`]: the implementation under test, as `diff` and `fuzz` reach it.
//!
//! One seam for both commands: a URL (through [`Client`]) or a service in-process (the reference, or a model
//! learned from a recording). [`Target::send`] sends one request document and reads the answer once:
//!
//! - within one timeout for the whole exchange, headers and body;
//! - within a byte budget: the body's length, and the estimated memory of its document
//!   ([`crate::doc::weight`]), checked before the document is built;
//! - the reply read the way the SDKs read it, with the error code from the body's `__type`, or else from the
//!   `x-amzn-ErrorType` header (which the SDKs do not read: that is noted as a [`Deviation`]);
//! - what the protocol's own encoding got wrong ([`Deviation`]), for the oracles to judge.
//!
//! Whatever else went wrong is a [`Fault`]: nothing whole came back (the client's [`SendError`] names the
//! cause once: unreachable, TLS, out of time, closed mid-answer), too big for the byte budget, not a final
//! answer (1xx, 3xx), or not the protocol.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use serde_json::Value;

use super::{Client, Holding, SendError};
use crate::model::{Operation, Reply};
use crate::protocol::{self, Protocol, ReplyError};
use crate::server::Handler;

/// An implementation under test: over HTTP(S), or in-process. Cloning is cheap.
///
/// ```
/// use std::sync::Arc;
/// use snomed_vcr::{Reference, ReferenceConfig, Target};
///
/// let in_process = Target::local("reference", Arc::new(Reference::new(ReferenceConfig::generated(5, 1))));
/// assert_eq!(in_process.name(), "reference");
/// ```
#[derive(Clone)]
pub struct Target {
    via: Via,
    name: String,
    timeout: Duration,
    /// The operation fuzz sends its cases to ([`Target::with_operation`]); diff names each chain's own.
    operation: Operation,
}

#[derive(Clone)]
enum Via {
    Http(Box<Client>),
    Local(Arc<dyn Local>),
}

/// A [`Handler`] behind a pointer: the in-process side of a target.
trait Local: Send + Sync {
    fn call(&self, req: Request<Bytes>) -> Pin<Box<dyn Future<Output = Response<Bytes>> + Send + '_>>;
}

impl<H: Handler> Local for H {
    fn call(&self, req: Request<Bytes>) -> Pin<Box<dyn Future<Output = Response<Bytes>> + Send + '_>> {
        Box::pin(self.handle(req))
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// An answer that could be read.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status (2xx, 4xx or 5xx).
    pub status: u16,
    /// The output or error, read as the SDKs read it (the error code from the header when the body has none).
    pub reply: Reply,
    /// The estimated memory its document takes.
    pub weight: usize,
    /// What the protocol's own encoding got wrong.
    pub deviations: Vec<Deviation>,
}

/// Something an answer's encoding got wrong that the SDKs would trip on, though the answer could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deviation {
    /// An error whose body has no `__type`: the code came from the `x-amzn-ErrorType` header (or nowhere),
    /// and the SDKs read only the body.
    CodeNotInBody,
    /// CBOR timestamp members that are not tag-1 timestamps (this many).
    UntaggedTimestamps(usize),
}

impl std::fmt::Display for Deviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deviation::CodeNotInBody => f.write_str(
                "the error body has no `__type`, where the SDKs read the code (not the x-amzn-ErrorType header)",
            ),
            Deviation::UntaggedTimestamps(n) => {
                write!(f, "{n} timestamp member(s) not CBOR tag-1 timestamps, as RPC v2 CBOR requires")
            }
        }
    }
}

/// Which byte budget refused an answer ([`Fault::TooBig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budgeted {
    /// The answer alone is bigger than a whole chain's budget: the target's page is too big.
    Answer,
    /// The chain's answers together passed its budget: a listing longer than the harness follows.
    Chain,
    /// Other chains in flight held the run's budget: the harness's limit at that moment, no fault of the
    /// target's (the chain may run again alone).
    Run,
}

/// No answer that could be read, by cause.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Nothing whole came back: not sent, unreachable, TLS, closed mid-answer, or out of time
    /// ([`SendError`] names which).
    Send(SendError),
    /// The answer is larger than the byte budget allows (its body, or its document's estimated memory).
    TooBig {
        /// The bytes that were left, which it passed.
        limit: usize,
        /// Which budget refused it.
        by: Budgeted,
    },
    /// An informational (1xx) or redirect (3xx) status instead of an answer.
    NotFinal {
        /// The status.
        status: u16,
        /// Where a redirect pointed.
        location: Option<String>,
    },
    /// An answer the protocol cannot read (for an error status, not an error document).
    NotProtocol {
        /// Its HTTP status.
        status: u16,
        /// Why it cannot be read.
        why: String,
    },
}

impl Fault {
    /// A short stable name for the cause: what reports and finding signatures group by.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Send(SendError::Request(_)) => "request not sent",
            Fault::Send(SendError::Unreachable(_)) => "unreachable",
            Fault::Send(SendError::Tls(_)) => "TLS failure",
            Fault::Send(SendError::NoResponse(_) | SendError::SlowBody(_)) => "no answer in time",
            Fault::Send(SendError::Closed(_)) => "connection closed mid-answer",
            Fault::Send(SendError::TooLarge(_)) | Fault::TooBig { by: Budgeted::Answer, .. } => {
                "answer over the byte budget"
            }
            Fault::TooBig { by: Budgeted::Chain, .. } => "listing over the byte budget",
            Fault::TooBig { by: Budgeted::Run, .. } => "run over the byte budget",
            Fault::NotFinal { status, .. } if *status < 200 => "informational status instead of an answer",
            Fault::NotFinal { .. } => "redirect instead of an answer",
            Fault::NotProtocol { .. } => "answer not in the protocol",
        }
    }

    /// Whether the target was reached at all (a connection was made and something came back, or time ran out
    /// waiting): false for an unreachable address, a failed TLS handshake, or a request that was never sent.
    pub fn reached(&self) -> bool {
        !matches!(self, Fault::Send(SendError::Request(_) | SendError::Unreachable(_) | SendError::Tls(_)))
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Send(e @ SendError::Tls(_)) => write!(f, "{e} (for a private CA, pass --ca-file)"),
            Fault::Send(e @ (SendError::NoResponse(_) | SendError::SlowBody(_))) => write!(f, "{e} (--timeout)"),
            Fault::Send(e) => e.fmt(f),
            Fault::TooBig { limit, by: Budgeted::Answer } => {
                write!(
                    f,
                    "the answer alone is larger than a listing's whole byte budget, {limit} bytes (--max-chain-bytes)"
                )
            }
            Fault::TooBig { limit, by: Budgeted::Chain } => write!(
                f,
                "the listing's answers passed its byte budget: {limit} bytes were left for this one (--max-chain-bytes)"
            ),
            Fault::TooBig { limit, by: Budgeted::Run } => write!(
                f,
                "the listings in flight held the run's byte budget: {limit} bytes were left for this answer (--max-run-bytes)"
            ),
            Fault::NotFinal { status, location: Some(l) } => {
                write!(f, "HTTP {status} (a redirect to {l}) instead of an answer of the protocol")
            }
            Fault::NotFinal { status, location: None } => {
                write!(f, "HTTP {status} instead of an answer of the protocol")
            }
            Fault::NotProtocol { status, why } => write!(f, "the HTTP {status} answer is not the protocol's: {why}"),
        }
    }
}

impl std::error::Error for Fault {}

impl From<SendError> for Fault {
    fn from(e: SendError) -> Fault {
        match e {
            // Read without a holding (a plain client): the answer alone was too big.
            SendError::TooLarge(limit) => Fault::TooBig { limit, by: Budgeted::Answer },
            e => Fault::Send(e),
        }
    }
}

/// The request a client of `protocol` sends to `operation`, for an in-process handler.
pub fn local_request(protocol: Protocol, operation: Operation, body: Bytes) -> Request<Bytes> {
    let mut b = Request::post(protocol.path("", operation.name())).header("host", "localhost");
    for (k, v) in protocol::request_headers(protocol, operation.name()) {
        b = b.header(k, v);
    }
    b.body(body).expect("a well-formed request")
}

impl Target {
    /// A target over HTTP(S), through `client`; its timeout bounds each whole exchange.
    pub fn http(client: Client) -> Target {
        let (name, timeout) = (client.endpoint().url(), client.timeout());
        Target { via: Via::Http(Box::new(client)), name, timeout, operation: Operation::default() }
    }

    /// A service in-process, named `name` in reports; 30 s per exchange.
    pub fn local<H: Handler>(name: impl Into<String>, handler: Arc<H>) -> Target {
        Target {
            via: Via::Local(handler),
            name: name.into(),
            timeout: Duration::from_secs(30),
            operation: Operation::default(),
        }
    }

    /// The same in-process target with another timeout for each exchange (an HTTP target's is its client's).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Target {
        self.timeout = timeout;
        self
    }

    /// The same target, for a campaign of `operation`'s requests ([`Target::operation`]).
    #[must_use]
    pub fn with_operation(mut self, operation: Operation) -> Target {
        self.operation = operation;
        self
    }

    /// The operation a fuzz campaign sends to (`ListSNOMEDCTInferenceJobs` unless set).
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The URL of an HTTP target, or the name of an in-process one.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long one exchange may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The HTTP client, for an HTTP target.
    pub fn client(&self) -> Option<&Client> {
        match &self.via {
            Via::Http(c) => Some(c),
            Via::Local(_) => None,
        }
    }

    /// Sends one request document of a list operation in `protocol` and reads the answer within the room
    /// `held` has (its body, and its document's estimated memory), which the answer is charged to.
    pub async fn send(
        &self,
        protocol: Protocol,
        operation: Operation,
        doc: &Value,
        held: &mut Holding,
    ) -> Result<Answer, Fault> {
        let budget = held.room();
        let body = protocol::encode_request(protocol, doc);
        let resp = match &self.via {
            Via::Http(client) => {
                let mut req = Request::post(protocol.path("", operation.name()));
                for (k, v) in protocol::request_headers(protocol, operation.name()) {
                    req = req.header(k, v);
                }
                let req = req.body(body).map_err(|e| Fault::Send(SendError::Request(e.to_string())))?;
                // The client's one timeout bounds the whole exchange.
                match client.forward_within(req, budget).await {
                    Err(SendError::TooLarge(_)) => return Err(held.refusal(budget)),
                    r => r?,
                }
            }
            Via::Local(handler) => {
                let resp = tokio::time::timeout(self.timeout, handler.call(local_request(protocol, operation, body)))
                    .await
                    .map_err(|_| Fault::Send(SendError::NoResponse(self.timeout)))?;
                if resp.body().len() > budget {
                    return Err(held.refusal(budget));
                }
                resp
            }
        };
        read(protocol, &resp, held)
    }
}

/// Reads a whole response as an answer of `protocol`, charging its weight to `held` before its document is
/// built (for JSON, weighed from its text; for CBOR, decoded with no more items than the room allows).
fn read(protocol: Protocol, resp: &Response<Bytes>, held: &mut Holding) -> Result<Answer, Fault> {
    let status = resp.status().as_u16();
    if !(200..600).contains(&status) || (300..400).contains(&status) {
        let location = resp.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        return Err(Fault::NotFinal { status, location });
    }
    let room = held.room();
    let weighed = match protocol {
        Protocol::AwsJson11 => Some(crate::doc::weight::json(resp.body())),
        Protocol::RpcV2Cbor => None,
    };
    if let Some(w) = weighed {
        held.take(w)?;
    }
    let decoded = protocol::parse_reply_within(protocol, status, resp.body(), room, weighed).map_err(|e| match e {
        ReplyError::TooHeavy { .. } => held.refusal(room),
        ReplyError::Unreadable(why) => Fault::NotProtocol { status, why },
    })?;
    if weighed.is_none() {
        held.take(decoded.weight)?;
    }
    let mut deviations = Vec::new();
    if decoded.untagged_timestamps > 0 {
        deviations.push(Deviation::UntaggedTimestamps(decoded.untagged_timestamps));
    }
    let reply = match decoded.reply {
        Reply::Error(e) => {
            let from_body = e.code != format!("Http{}", e.status);
            if !from_body {
                deviations.push(Deviation::CodeNotInBody);
            }
            let header = resp.headers().get(protocol::ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok());
            Reply::Error(protocol::with_header_code(e, header))
        }
        output => output,
    };
    Ok(Answer { status, reply, weight: decoded.weight, deviations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A handler that answers every request with one fixed response.
    struct Fixed(u16, Vec<(&'static str, &'static str)>, &'static [u8]);

    impl Handler for Fixed {
        async fn handle(&self, _: Request<Bytes>) -> Response<Bytes> {
            let mut b = Response::builder().status(self.0);
            for (k, v) in &self.1 {
                b = b.header(*k, *v);
            }
            b.body(Bytes::from_static(self.2)).unwrap()
        }
    }

    async fn send(h: Fixed, budget: usize) -> Result<Answer, Fault> {
        let mut held = crate::client::ByteBudget::new(budget, budget).hold();
        Target::local("fixed", Arc::new(h)).send(Protocol::AwsJson11, Operation::default(), &json!({}), &mut held).await
    }

    #[tokio::test]
    async fn each_cause_is_named_once() {
        let redirect = send(Fixed(302, vec![("location", "http://elsewhere/")], b""), 1 << 20).await.unwrap_err();
        assert_eq!(redirect, Fault::NotFinal { status: 302, location: Some("http://elsewhere/".into()) });
        assert_eq!(redirect.name(), "redirect instead of an answer");
        let html = send(Fixed(200, vec![], b"<html>hi</html>"), 1 << 20).await.unwrap_err();
        assert!(matches!(html, Fault::NotProtocol { status: 200, .. }), "{html:?}");
        let dense = format!("[{}0]", "0,".repeat(10_000));
        let big = Fixed(200, vec![], Box::leak(dense.into_bytes().into_boxed_slice()));
        let refused = send(big, 100_000).await.unwrap_err();
        assert_eq!(refused, Fault::TooBig { limit: 100_000, by: Budgeted::Answer }, "weighed, not parsed");
        assert!(Fault::Send(SendError::Unreachable("refused".into())).to_string().contains("cannot connect"));
        let timeout = Fault::Send(SendError::NoResponse(Duration::from_secs(1)));
        assert!(!Fault::Send(SendError::Tls("x".into())).reached() && timeout.reached());
        assert_eq!(timeout.to_string(), "no whole answer within 1s (--timeout)");
    }

    #[tokio::test]
    async fn the_error_code_comes_from_the_body_or_else_the_header() {
        let body = send(Fixed(400, vec![], br#"{"__type":"a#ValidationException","message":"m"}"#), 1 << 20).await;
        let body = body.unwrap();
        assert_eq!((body.reply.error().unwrap().code.as_str(), body.deviations.len()), ("ValidationException", 0));
        let header = Fixed(400, vec![("x-amzn-ErrorType", "InvalidRequestException:http://x")], br#"{"message":"m"}"#);
        let header = send(header, 1 << 20).await.unwrap();
        assert_eq!(header.reply.error().unwrap().code, "InvalidRequestException");
        assert_eq!(header.deviations, [Deviation::CodeNotInBody]);
    }
}
