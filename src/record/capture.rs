//! What of a forwarded exchange is recorded, and how it reaches the journal: the request as its input
//! document, the response as the upstream sent it, both redacted, headers filtered to the keep-lists.
//!
//! On the hot path a JSON answer is redacted and journaled as text, without building a document (see
//! `journal::line_with_json_body`); a CBOR answer, or one that JSON-path redaction rules must see as a
//! document, goes through the document path.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use crate::cassette::CassetteError;
use crate::cassette::journal::{self, Journal, LineHead, ResponseHead};
use crate::cassette::redact::{self, Redactor};
use crate::cassette::{Encoding, EncodingFormat, Interaction, RecordedRequest, RecordedResponse};
use crate::protocol::{self, Protocol};

/// One forwarded exchange: the client's request and the answer it got.
pub(super) struct Captured<'a> {
    pub protocol: Protocol,
    pub operation: crate::model::Operation,
    pub parts: &'a http::request::Parts,
    pub body: &'a [u8],
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub answer: &'a [u8],
    pub elapsed: Duration,
}

/// How an exchange is recorded.
pub(super) struct Capture<'a> {
    pub journal: &'a Journal,
    pub redactor: &'a Redactor,
    /// Leave out `recorded_at` and `elapsed_ms`.
    pub reproducible: bool,
}

fn is_cbor(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/cbor"))
}

/// The request as its input document, with how a CBOR body was encoded; `None` when the body is not a
/// document of its protocol (it is forwarded, not recorded).
fn request_document(protocol: Protocol, body: &[u8]) -> Option<(Value, Option<Encoding>)> {
    match protocol {
        Protocol::AwsJson11 => protocol::decode_document(protocol, body).ok().map(|d| (d, None)),
        Protocol::RpcV2Cbor => {
            let (doc, notes) = if body.is_empty() {
                (serde_json::json!({}), Default::default())
            } else {
                protocol::cbor::to_document(body).ok()?
            };
            Some((doc, Some(Encoding { format: EncodingFormat::Cbor, indefinite_lengths: notes.indefinite_lengths })))
        }
    }
}

/// The response as a document; one that is not the protocol's (a load balancer's HTML page, a 2xx whose
/// body is no output document) is kept verbatim, so that the cassette loads and replay serves it unchanged.
fn response_document(status: u16, headers: &HeaderMap, body: &[u8]) -> (Value, Option<Encoding>) {
    let cbor = is_cbor(headers);
    let protocol = if cbor { Protocol::RpcV2Cbor } else { Protocol::AwsJson11 };
    match protocol::decode_document(protocol, body) {
        Ok(doc)
            if !(200..300).contains(&status)
                || crate::model::check_types(&doc, &crate::model::RESPONSE_SHAPE).is_ok() =>
        {
            (doc, cbor.then_some(Encoding { format: EncodingFormat::Cbor, indefinite_lengths: false }))
        }
        _ => {
            let (doc, encoding) = crate::cassette::verbatim(body);
            (doc, Some(encoding))
        }
    }
}

impl Capture<'_> {
    /// Redacts an exchange and queues it on the journal: its sequence number, or `None` when the request body
    /// is not a document of its protocol. Wait for `Journal::written` before answering.
    pub fn queue(&self, x: &Captured<'_>) -> Result<Option<u64>, CassetteError> {
        let Some((mut body, encoding)) = request_document(x.protocol, x.body) else { return Ok(None) };
        self.redactor.document(&mut body);
        let request = RecordedRequest {
            method: x.parts.method.to_string(),
            path: x.parts.uri.path().to_string(),
            protocol: x.protocol,
            operation: x.operation,
            headers: self.redactor.headers(&x.parts.headers, &redact::KEPT_REQUEST_HEADERS),
            body,
            encoding,
        };
        let recorded_at = (!self.reproducible).then(|| crate::time::rfc3339(crate::time::now_secs()));
        let elapsed_ms = (!self.reproducible).then_some(x.elapsed.as_millis() as u64);
        let headers = self.redactor.headers(x.headers, &redact::KEPT_RESPONSE_HEADERS);
        if !is_cbor(x.headers) {
            let head = LineHead {
                recorded_at: recorded_at.clone(),
                elapsed_ms,
                request: &request,
                response: ResponseHead { status: x.status, headers: &headers },
            };
            let line = journal::line_with_json_body(&head, x.answer, |text| self.redactor.json_text_in_place(text));
            if let Some(line) = line {
                return Ok(Some(self.journal.append_object(&line)?));
            }
        }
        let (mut body, encoding) = response_document(x.status, x.headers, x.answer);
        self.redactor.document(&mut body);
        let mut interaction = Interaction {
            seq: 0,
            recorded_at,
            elapsed_ms,
            request,
            response: RecordedResponse { status: x.status, headers, body, encoding },
        };
        let seq = self.journal.append_with(|seq| {
            interaction.seq = seq;
            &interaction
        })?;
        Ok(Some(seq))
    }

    /// Records an exchange and waits until the journal has written it: nothing is answered before its
    /// recording is safe. Whether it was recorded.
    pub async fn record(&self, x: &Captured<'_>) -> Result<bool, CassetteError> {
        let Some(seq) = self.queue(x)? else { return Ok(false) };
        self.journal.written(seq).await?;
        Ok(true)
    }
}
