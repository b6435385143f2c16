//! The two wire protocols the service speaks: AWS JSON 1.1 (boto3, AWS CLI v1, JavaScript SDK v3) and
//! Smithy RPC v2 CBOR (the Rust SDK, AWS CLI v2).
//!
//! Server side: [`detect`] finds protocol and operation from an HTTP request, [`decode_request`] turns its body
//! into a document and a typed request, [`output_response`] and [`error_response`] encode answers.
//! Client side (diff, fuzz, demo): [`encode_request`], [`request_headers`] and [`parse_reply`].
//!
//! Everything passes through a JSON-equivalent document (`serde_json::Value`); see [`cbor`] for the mapping.

pub mod cbor;
mod request_id;

pub use crate::model::Reply;
pub use request_id::{RequestId, request_id};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::model::{self, ListRequest, ServiceError, Shape};

/// AWS JSON 1.1's `Content-Type`.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The older AWS JSON media type, accepted on requests as AWS JSON services accept it.
const JSON_1_0_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// RPC v2 CBOR's `Content-Type`.
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";
/// The header naming the Smithy protocol of an RPC v2 message.
pub const SMITHY_PROTOCOL_HEADER: &str = "smithy-protocol";
/// Its value for RPC v2 CBOR.
pub const SMITHY_PROTOCOL_CBOR: &str = "rpc-v2-cbor";
/// The header that routes a JSON 1.1 request (`ComprehendMedical_20181030.<operation>`).
pub const TARGET_HEADER: &str = "x-amz-target";
/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";
/// The response header naming an error's type (the SDKs read `__type` instead).
pub const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// A wire protocol.
///
/// ```
/// use snomed_vcr::Protocol;
///
/// assert_eq!(Protocol::ALL, [Protocol::AwsJson11, Protocol::RpcV2Cbor]);
/// assert_eq!(Protocol::RpcV2Cbor.name(), "rpcv2Cbor");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Protocol {
    /// AWS JSON 1.1 (`POST /` routed by `X-Amz-Target`).
    #[serde(rename = "awsJson1_1")]
    AwsJson11,
    /// Smithy RPC v2 CBOR (`POST /service/…/operation/…`).
    #[serde(rename = "rpcv2Cbor")]
    RpcV2Cbor,
}

impl Protocol {
    /// Both protocols.
    pub const ALL: [Protocol; 2] = [Protocol::AwsJson11, Protocol::RpcV2Cbor];

    /// The Smithy protocol name (`awsJson1_1`, `rpcv2Cbor`), as stored in cassettes.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::AwsJson11 => "awsJson1_1",
            Protocol::RpcV2Cbor => "rpcv2Cbor",
        }
    }
    /// The `Content-Type` of its bodies.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::AwsJson11 => JSON_CONTENT_TYPE,
            Protocol::RpcV2Cbor => CBOR_CONTENT_TYPE,
        }
    }
    /// The request path for an operation, under an endpoint path prefix (`""` for none).
    pub fn path(self, prefix: &str, operation: &str) -> String {
        let prefix = prefix.trim_end_matches('/');
        match self {
            Protocol::AwsJson11 => format!("{prefix}/"),
            Protocol::RpcV2Cbor => format!("{prefix}/service/{}/operation/{operation}", model::SERVICE),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Protocol and operation of a request; the operation is borrowed from its path or `X-Amz-Target` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The protocol the request speaks.
    pub protocol: Protocol,
    /// The operation it calls.
    pub operation: &'a str,
}

impl Call<'_> {
    /// The call as one of the list family's, if its operation is one of them.
    pub fn routed(&self) -> Option<Routed> {
        Some(Routed { protocol: self.protocol, operation: model::Operation::parse(self.operation)? })
    }
}

/// A call of one of the list family's operations: what record, replay and the reference answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Routed {
    /// The protocol the request speaks.
    pub protocol: Protocol,
    /// The operation it calls.
    pub operation: model::Operation,
}

/// Why a request could not be routed: the protocol to answer in, and the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The protocol to answer in.
    pub protocol: Protocol,
    /// The error to answer with.
    pub error: ServiceError,
}

/// Header names and values used on every request, checked at compile time instead of on each use.
static TARGET: HeaderName = HeaderName::from_static(TARGET_HEADER);
static REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
static SMITHY_PROTOCOL: HeaderName = HeaderName::from_static(SMITHY_PROTOCOL_HEADER);
static JSON_CONTENT_TYPE_VALUE: HeaderValue = HeaderValue::from_static(JSON_CONTENT_TYPE);
static CBOR_CONTENT_TYPE_VALUE: HeaderValue = HeaderValue::from_static(CBOR_CONTENT_TYPE);
static SMITHY_PROTOCOL_CBOR_VALUE: HeaderValue = HeaderValue::from_static(SMITHY_PROTOCOL_CBOR);

/// The media type of a request's `Content-Type`, without parameters. The SDKs send the bare media type, which
/// is answered without splitting.
fn media_type(headers: &HeaderMap) -> Option<&str> {
    media_type_of(headers.get(header::CONTENT_TYPE)?)
}

fn media_type_of(v: &HeaderValue) -> Option<&str> {
    for known in [JSON_CONTENT_TYPE, CBOR_CONTENT_TYPE] {
        if v.as_bytes() == known.as_bytes() {
            return Some(known);
        }
    }
    let v = v.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim())
}

/// The answer to a call of an operation this crate does not serve (one outside the list family, or a made-up
/// name): `UnknownOperationException`, 404 in RPC v2 and 400 in JSON 1.1, the statuses the two protocols'
/// routers give an operation they do not know. `who` begins the message (`"the reference service serves"`).
/// The one rule for replay and the reference.
pub fn unknown_operation(protocol: Protocol, operation: &str, who: &str) -> ServiceError {
    let status = match protocol {
        Protocol::RpcV2Cbor => 404,
        Protocol::AwsJson11 => 400,
    };
    ServiceError::new(
        status,
        "UnknownOperationException",
        format!("{who} {} only, not '{operation}'", model::Operation::names()),
    )
}

/// Finds protocol and operation: an RPC v2 path (`…/service/<service>/operation/<operation>`) means CBOR,
/// anything else is JSON 1.1 routed by `X-Amz-Target`.
///
/// Errors (AWS does not document these for this service; the choices follow Smithy's server conventions):
/// unknown service or operation is `UnknownOperationException` (404 in RPC v2, 400 in JSON 1.1, as AWS JSON
/// services answer); a missing or wrong `Content-Type` is 415 `UnsupportedMediaTypeException`.
pub fn detect<'a>(method: &Method, path: &'a str, headers: &'a HeaderMap) -> Result<Call<'a>, Rejection> {
    route(method, path, headers).map(Route::call)
}

/// What a request calls, once [`route`] has read it: an operation of the list family, or another one (named,
/// and not served here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// An operation of the family.
    Family(Routed),
    /// An operation outside it.
    Other(Call<'a>),
}

impl<'a> Route<'a> {
    /// The protocol the request speaks.
    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Route::Family(r) => r.protocol,
            Route::Other(c) => c.protocol,
        }
    }

    /// The call as [`detect`] gives it: the operation by name.
    fn call(self) -> Call<'a> {
        match self {
            Route::Family(r) => Call { protocol: r.protocol, operation: r.operation.name() },
            Route::Other(c) => c,
        }
    }

    /// The call, if it is one of the family's.
    pub(crate) fn routed(self) -> Option<Routed> {
        match self {
            Route::Family(r) => Some(r),
            Route::Other(_) => None,
        }
    }
}

/// [`detect`] and [`Call::routed`] at once, for the servers: a request made as an SDK makes it has its
/// operation looked up once.
pub(crate) fn route<'a>(method: &Method, path: &'a str, headers: &'a HeaderMap) -> Result<Route<'a>, Rejection> {
    if let Some(routed) = sdk_json_call(method, path, headers) {
        return Ok(Route::Family(routed));
    }
    let call = detect_in_full(method, path, headers)?;
    Ok(call.routed().map_or(Route::Other(call), Route::Family))
}

/// The call of a request made the way every SDK makes a JSON 1.1 call of the family: a POST to `/` whose
/// `Content-Type` is exactly a JSON 1.1 (or 1.0) media type and whose `X-Amz-Target` names one of the
/// family's operations. `None` for any other request, which [`detect_in_full`] then routes or explains (it
/// routes these the same way). Apart from it so that the common request skips the checks only an error
/// needs: the RPC v2 path search, the target's character check, and the error branches' stack frame.
#[inline]
fn sdk_json_call(method: &Method, path: &str, headers: &HeaderMap) -> Option<Routed> {
    if path != "/" || *method != Method::POST {
        return None;
    }
    let (target, content_type) = json_headers(headers);
    let content_type = content_type?.as_bytes();
    if content_type != JSON_CONTENT_TYPE.as_bytes() && content_type != JSON_1_0_CONTENT_TYPE.as_bytes() {
        return None;
    }
    let operation = target?.as_bytes().strip_prefix(model::SERVICE.as_bytes())?.strip_prefix(b".")?;
    Some(Routed { protocol: Protocol::AwsJson11, operation: model::Operation::parse_bytes(operation)? })
}

/// A JSON 1.1 request's `X-Amz-Target` and `Content-Type`, the first value of each as `HeaderMap::get`
/// gives it, found in one pass over the few headers a request has instead of a hashed lookup of each.
fn json_headers(headers: &HeaderMap) -> (Option<&HeaderValue>, Option<&HeaderValue>) {
    let (mut target, mut content_type) = (None, None);
    for (name, value) in headers {
        if *name == header::CONTENT_TYPE {
            content_type = content_type.or(Some(value));
        } else if *name == TARGET {
            target = target.or(Some(value));
        }
        if target.is_some() && content_type.is_some() {
            break;
        }
    }
    (target, content_type)
}

/// [`detect`] for every request, with the reason when one cannot be routed.
#[inline(never)]
fn detect_in_full<'a>(method: &Method, path: &'a str, headers: &'a HeaderMap) -> Result<Call<'a>, Rejection> {
    static SERVICE_SEGMENT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("/service/"));
    if let Some(idx) = SERVICE_SEGMENT.find(path.as_bytes()) {
        let reject = |status, code: &str, msg: String| Err(rejection(Protocol::RpcV2Cbor, status, code, msg));
        let rest = &path[idx + "/service/".len()..];
        let Some((service, operation)) = rest.split_once("/operation/") else {
            return reject(404, "UnknownOperationException", format!("'{path}' is not an RPC v2 operation path"));
        };
        if service != model::SERVICE {
            return reject(
                404,
                "UnknownOperationException",
                format!("Unknown service '{service}', expected '{}'", model::SERVICE),
            );
        }
        if operation.is_empty() || operation.contains('/') {
            return reject(404, "UnknownOperationException", format!("'{path}' is not an RPC v2 operation path"));
        }
        if method != Method::POST {
            return reject(
                404,
                "UnknownOperationException",
                format!("{method} is not supported: RPC v2 operations take POST"),
            );
        }
        if media_type(headers) != Some(CBOR_CONTENT_TYPE) {
            return reject(
                415,
                "UnsupportedMediaTypeException",
                format!("Content-Type must be {CBOR_CONTENT_TYPE}, got {}", shown(headers.get(header::CONTENT_TYPE))),
            );
        }
        return Ok(Call { protocol: Protocol::RpcV2Cbor, operation });
    }
    let reject = |status, code: &str, msg: String| Err(rejection(Protocol::AwsJson11, status, code, msg));
    let (target, content_type) = json_headers(headers);
    let Some(target) = target else {
        return reject(
            400,
            "UnknownOperationException",
            format!(
                "No X-Amz-Target header and '{path}' is not an RPC v2 path (/service/{}/operation/<operation>)",
                model::SERVICE
            ),
        );
    };
    let target = target.to_str().unwrap_or("");
    let Some(operation) = target.strip_prefix(model::SERVICE).and_then(|t| t.strip_prefix('.')) else {
        return reject(400, "UnknownOperationException", format!("Unknown X-Amz-Target '{target}'"));
    };
    if method != Method::POST {
        return reject(
            400,
            "UnknownOperationException",
            format!("{method} is not supported: AWS JSON operations take POST"),
        );
    }
    match content_type.and_then(media_type_of) {
        Some(JSON_CONTENT_TYPE | JSON_1_0_CONTENT_TYPE) => {}
        _ => {
            return reject(
                415,
                "UnsupportedMediaTypeException",
                format!("Content-Type must be {JSON_CONTENT_TYPE}, got {}", shown(content_type)),
            );
        }
    }
    Ok(Call { protocol: Protocol::AwsJson11, operation })
}

/// A request [`detect`] refuses. Cold, so that the code of every refusal (each formats its message) is laid
/// out away from the path of a request that is routed.
#[cold]
fn rejection(protocol: Protocol, status: u16, code: &str, message: String) -> Rejection {
    Rejection { protocol, error: ServiceError::new(status, code, message) }
}

fn shown(v: Option<&HeaderValue>) -> String {
    match v {
        None => "none".into(),
        Some(v) => format!("'{}'", String::from_utf8_lossy(v.as_bytes())),
    }
}

/// A body that is not a document of its protocol: why, in the words of a `SerializationException`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Undecodable(String);

impl From<Undecodable> for String {
    fn from(e: Undecodable) -> String {
        e.0
    }
}

/// A body as a document. An empty body is the empty structure `{}`.
pub fn decode_document(protocol: Protocol, body: &[u8]) -> Result<Value, Undecodable> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match protocol {
        Protocol::AwsJson11 => {
            serde_json::from_slice(body).map_err(|e| Undecodable(format!("Body is not valid JSON: {e}")))
        }
        Protocol::RpcV2Cbor => {
            cbor::to_document(body).map(|(v, _)| v).map_err(|e| Undecodable(format!("Body is not valid CBOR: {e}")))
        }
    }
}

/// Decodes a request body: the document as received, and the typed (not yet validated) request.
/// An undecodable body or a member of the wrong type is a 400 `SerializationException`.
pub fn decode_request(protocol: Protocol, body: &[u8]) -> Result<(Value, ListRequest), ServiceError> {
    let doc = decode_document(protocol, body).map_err(ServiceError::serialization)?;
    let request = ListRequest::from_document(&doc)?;
    Ok((doc, request))
}

/// Encodes a document in a protocol; `shape` tells CBOR which numbers are timestamps.
pub fn encode_document(protocol: Protocol, doc: &Value, shape: &Shape) -> Bytes {
    match protocol {
        Protocol::AwsJson11 => Bytes::from(serde_json::to_vec(doc).expect("documents serialize")),
        Protocol::RpcV2Cbor => Bytes::from(cbor::from_document(doc, shape)),
    }
}

/// The error body: JSON 1.1 `{"__type": "Code", "message": …}`; RPC v2 `{"__type": "<namespace>#Code", "Message": …}`.
pub fn error_document(protocol: Protocol, error: &ServiceError) -> Value {
    match protocol {
        Protocol::AwsJson11 => json!({"__type": error.code, "message": error.message}),
        Protocol::RpcV2Cbor => {
            json!({"__type": format!("{}#{}", model::NAMESPACE, error.code), "Message": error.message})
        }
    }
}

/// How many headers a new response header map is made to hold: what hyper's own first insert makes. hyper
/// clears each response's map once it is written and parses the connection's next request into it, so a
/// server that answers in the request's own map ([`output_response_in`]) allocates no map and grows none:
/// the map goes round and round, with room for what that connection's client sends.
const RESPONSE_HEADERS_CAPACITY: usize = 6;

/// A response in `headers` (cleared first; its room is kept) with the protocol's headers and the request id.
fn base_response(
    mut headers: HeaderMap,
    protocol: Protocol,
    status: StatusCode,
    request_id: &RequestId,
    body: Bytes,
) -> Response<Bytes> {
    headers.clear();
    headers.reserve(RESPONSE_HEADERS_CAPACITY);
    let content_type = match protocol {
        Protocol::AwsJson11 => &JSON_CONTENT_TYPE_VALUE,
        Protocol::RpcV2Cbor => &CBOR_CONTENT_TYPE_VALUE,
    };
    headers.insert(header::CONTENT_TYPE, content_type.clone());
    if protocol == Protocol::RpcV2Cbor {
        headers.insert(SMITHY_PROTOCOL.clone(), SMITHY_PROTOCOL_CBOR_VALUE.clone());
    }
    headers.insert(REQUEST_ID.clone(), request_id.header_value());
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    std::mem::swap(resp.headers_mut(), &mut headers);
    // `headers` is now `Response::new`'s map, which holds no allocation (`HeaderMap::new` makes none; a
    // test keeps that true): forgotten instead of dropped, which saves a call on every answer.
    std::mem::forget(headers);
    resp
}

/// A 200 response carrying an output document.
pub fn output_response(protocol: Protocol, doc: &Value, request_id: &RequestId) -> Response<Bytes> {
    output_response_bytes(protocol, encode_document(protocol, doc, &model::RESPONSE_SHAPE), request_id)
}

/// A 200 response from an already encoded body (the replay server pre-encodes).
pub fn output_response_bytes(protocol: Protocol, body: Bytes, request_id: &RequestId) -> Response<Bytes> {
    output_response_in(HeaderMap::new(), protocol, body, request_id)
}

/// [`output_response_bytes`] with its headers in `headers`, cleared first: the request's own map, whose room
/// hyper then parses the connection's next request into.
pub(crate) fn output_response_in(
    headers: HeaderMap,
    protocol: Protocol,
    body: Bytes,
    request_id: &RequestId,
) -> Response<Bytes> {
    base_response(headers, protocol, StatusCode::OK, request_id, body)
}

/// An error response with the error's status, AWS-shaped body, and `x-amzn-ErrorType`.
#[cold]
pub fn error_response(protocol: Protocol, error: &ServiceError, request_id: &RequestId) -> Response<Bytes> {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = encode_document(protocol, &error_document(protocol, error), &model::ERROR_SHAPE);
    let mut resp = base_response(HeaderMap::new(), protocol, status, request_id, body);
    if let Ok(v) = HeaderValue::from_str(&error.code) {
        resp.headers_mut().insert(http::HeaderName::from_static(ERROR_TYPE_HEADER), v);
    }
    resp
}

// ---------------------------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------------------------

/// Encodes a request document as a client of that protocol would.
pub fn encode_request(protocol: Protocol, doc: &Value) -> Bytes {
    encode_document(protocol, doc, &model::REQUEST_SHAPE)
}

/// The protocol headers a client sends (besides Host, Content-Length and signing headers).
pub fn request_headers(protocol: Protocol, operation: &str) -> Vec<(&'static str, String)> {
    match protocol {
        Protocol::AwsJson11 => vec![
            ("content-type", JSON_CONTENT_TYPE.to_string()),
            (TARGET_HEADER, format!("{}.{operation}", model::SERVICE)),
        ],
        Protocol::RpcV2Cbor => vec![
            ("content-type", CBOR_CONTENT_TYPE.to_string()),
            ("accept", CBOR_CONTENT_TYPE.to_string()),
            (SMITHY_PROTOCOL_HEADER, SMITHY_PROTOCOL_CBOR.to_string()),
        ],
    }
}

/// The error code as the SDKs read it from `__type`: what follows `#`, up to `:`.
pub fn error_code(type_field: &str) -> &str {
    let after_hash = type_field.rsplit_once('#').map_or(type_field, |(_, c)| c);
    after_hash.split(':').next().unwrap_or(after_hash)
}

/// An error document read the way the SDKs read it: the code from `__type` (see [`error_code`]), the message from
/// `message`, `Message` or `errorMessage`. A body that is a bare string is taken as the message.
pub fn error_from_document(status: u16, doc: &Value) -> ServiceError {
    let code = doc.get("__type").and_then(Value::as_str).map(error_code).unwrap_or("");
    let code = if code.is_empty() { format!("Http{status}") } else { code.to_string() };
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .or_else(|| doc.as_str())
        .unwrap_or("")
        .to_string();
    ServiceError { status, code, message }
}

/// An error whose body named no code (`Http{status}`) takes it from the `x-amzn-ErrorType` header, which
/// services also send (normalized the same way: `ValidationException:http://…` is `ValidationException`). The
/// SDKs read only the body; a judge of errors reads both.
pub fn with_header_code(mut error: ServiceError, header: Option<&str>) -> ServiceError {
    if let Some(h) = header.map(error_code).filter(|c| !c.is_empty())
        && error.code == format!("Http{}", error.status)
    {
        error.code = h.to_string();
    }
    error
}

/// An error answer as every judge reads it: [`error_from_document`], with the code from the
/// `x-amzn-ErrorType` header when the body names none ([`with_header_code`]).
pub fn error_of(status: u16, doc: &Value, error_type_header: Option<&str>) -> ServiceError {
    with_header_code(error_from_document(status, doc), error_type_header)
}

/// Parses a response the way the SDKs do. `Err` means the body could not be read at all.
pub fn parse_reply(protocol: Protocol, status: u16, body: &[u8]) -> Result<Reply, Undecodable> {
    match parse_reply_within(protocol, status, body, usize::MAX, None) {
        Ok(d) => Ok(d.reply),
        Err(ReplyError::Unreadable(e)) => Err(Undecodable(e)),
        Err(ReplyError::TooHeavy { weight, .. }) => {
            Err(Undecodable(format!("a document of some {weight} bytes in memory is more than can be held")))
        }
    }
}

/// A response read within a memory limit: [`parse_reply_within`].
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The output or error, read as the SDKs read it.
    pub reply: Reply,
    /// The estimated memory the document takes (`doc::weight`).
    pub weight: usize,
    /// For CBOR, how many timestamp members of the output were not tag-1 timestamps, as the protocol
    /// requires (the SDKs refuse such an answer).
    pub untagged_timestamps: usize,
}

/// Why a response could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The body is not a document of the protocol (for an error status, not an error document).
    Unreadable(String),
    /// Parsed, it would take more memory than allowed (its estimated weight is at least this).
    TooHeavy {
        /// The estimated weight, or the least it could be.
        weight: usize,
    },
}

/// [`parse_reply`], refusing, before it is built, a document whose estimated memory passes `max_weight`.
/// `weighed`: a JSON body's weight (`doc::weight::json`), when the caller has it already.
pub fn parse_reply_within(
    protocol: Protocol,
    status: u16,
    body: &[u8],
    max_weight: usize,
    weighed: Option<usize>,
) -> Result<Decoded, ReplyError> {
    let error_status = !(200..300).contains(&status);
    let unreadable = |e: String| {
        ReplyError::Unreadable(if error_status {
            format!("HTTP {status} with an unreadable error body: {e}")
        } else {
            e
        })
    };
    let (doc, weight, untagged) = if body.is_empty() {
        (json!({}), 0, 0)
    } else {
        match protocol {
            Protocol::AwsJson11 => {
                let weight = weighed.unwrap_or_else(|| crate::doc::weight::json(body));
                if weight > max_weight {
                    return Err(ReplyError::TooHeavy { weight });
                }
                let doc =
                    serde_json::from_slice(body).map_err(|e| unreadable(format!("Body is not valid JSON: {e}")))?;
                (doc, weight, 0)
            }
            Protocol::RpcV2Cbor => {
                let max_items = max_weight.saturating_sub(body.len()) / crate::doc::weight::PER_VALUE;
                let (doc, notes) = cbor::to_document_within(body, max_items).map_err(|e| {
                    if e.message.starts_with(cbor::TOO_MANY_ITEMS) {
                        ReplyError::TooHeavy { weight: crate::doc::weight::items(body.len(), max_items + 1) }
                    } else {
                        unreadable(format!("Body is not valid CBOR: {e}"))
                    }
                })?;
                let untagged = notes.timestamp_members.saturating_sub(notes.timestamps);
                (doc, crate::doc::weight::items(body.len(), notes.items), untagged)
            }
        }
    };
    if weight > max_weight {
        return Err(ReplyError::TooHeavy { weight });
    }
    if error_status {
        return Ok(Decoded { reply: Reply::Error(error_from_document(status, &doc)), weight, untagged_timestamps: 0 });
    }
    Ok(Decoded { reply: Reply::Output(doc), weight, untagged_timestamps: untagged })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }
    const TARGET: &str = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs";
    const CBOR_PATH: &str = "/service/ComprehendMedical_20181030/operation/ListSNOMEDCTInferenceJobs";

    #[test]
    fn detect_reads_the_first_of_a_repeated_header_as_a_lookup_would() {
        let mut h = HeaderMap::new();
        h.append(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        h.append(header::CONTENT_TYPE, HeaderValue::from_static(CBOR_CONTENT_TYPE));
        h.append(super::TARGET.clone(), HeaderValue::from_static(TARGET));
        h.append(super::TARGET.clone(), HeaderValue::from_static("Other.Op"));
        let call = detect(&Method::POST, "/", &h).map_err(|r| r.error).unwrap();
        assert_eq!((call.protocol, call.operation), (Protocol::AwsJson11, "ListSNOMEDCTInferenceJobs"));
    }

    #[test]
    fn detects_both_protocols() {
        let json_headers = headers(&[("x-amz-target", TARGET), ("content-type", JSON_CONTENT_TYPE)]);
        let json = detect(&Method::POST, "/", &json_headers);
        assert_eq!(json, Ok(Call { protocol: Protocol::AwsJson11, operation: model::OPERATION }));
        let cbor_headers = headers(&[("content-type", "application/cbor")]);
        let cbor = detect(&Method::POST, CBOR_PATH, &cbor_headers);
        assert_eq!(cbor, Ok(Call { protocol: Protocol::RpcV2Cbor, operation: model::OPERATION }));
        // An endpoint URL with a path puts it before /service/….
        let prefixed = format!("/prefix{CBOR_PATH}");
        assert!(detect(&Method::POST, &prefixed, &cbor_headers).is_ok());
        // Media type parameters and spacing do not matter.
        for content_type in ["application/x-amz-json-1.1; charset=utf-8", " application/x-amz-json-1.1 "] {
            let h = headers(&[("x-amz-target", TARGET), ("content-type", content_type)]);
            assert!(detect(&Method::POST, "/", &h).is_ok(), "{content_type}");
        }
        // Sibling operations are routed; serving them is the caller's decision.
        let sibling_headers = headers(&[
            ("x-amz-target", "ComprehendMedical_20181030.ListRxNormInferenceJobs"),
            ("content-type", JSON_CONTENT_TYPE),
        ]);
        let sibling = detect(&Method::POST, "/", &sibling_headers);
        assert_eq!(sibling.unwrap().operation, "ListRxNormInferenceJobs");
    }

    #[test]
    fn the_sdk_shortcut_routes_only_what_the_full_detection_routes_the_same_way() {
        let targets = [
            TARGET,
            "ComprehendMedical_20181030.ListRxNormInferenceJobs",
            "ComprehendMedical_20181030.ListSNOMEDCTInferenceJob",
            "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobsX",
            "ComprehendMedical_20181030ListSNOMEDCTInferenceJobs",
            "ComprehendMedical_20181031.ListSNOMEDCTInferenceJobs",
            "ComprehendMedical_20181030.DetectEntitiesV2",
            "ComprehendMedical_20181030.",
            "",
        ];
        let content_types = [JSON_CONTENT_TYPE, JSON_1_0_CONTENT_TYPE, "application/json", CBOR_CONTENT_TYPE];
        let mut shortcuts = 0;
        for method in [Method::POST, Method::GET] {
            for path in ["/", "/x", CBOR_PATH] {
                for target in targets.iter().map(Some).chain([None]) {
                    for content_type in content_types.iter().map(Some).chain([None]) {
                        let mut h = HeaderMap::new();
                        h.insert(header::HOST, HeaderValue::from_static("localhost"));
                        if let Some(t) = target {
                            h.insert(super::TARGET.clone(), HeaderValue::from_static(t));
                        }
                        if let Some(c) = content_type {
                            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(c));
                        }
                        let full = detect_in_full(&method, path, &h);
                        let case = format!("{method} {path} {target:?} {content_type:?}");
                        if let Some(routed) = sdk_json_call(&method, path, &h) {
                            shortcuts += 1;
                            assert_eq!(full.as_ref().ok().and_then(Call::routed), Some(routed), "{case}");
                        }
                        assert_eq!(detect(&method, path, &h), full, "{case}");
                        let routed = full.map(|c| c.routed().map_or(Route::Other(c), Route::Family));
                        assert_eq!(route(&method, path, &h), routed, "{case}");
                    }
                }
            }
        }
        // POST to / with either JSON media type and either of the two known operations.
        assert_eq!(shortcuts, 4);
    }

    #[test]
    fn routing_errors_are_aws_shaped_in_the_callers_protocol() {
        let cases: Vec<(Method, &str, HeaderMap, Protocol, u16, &str)> = vec![
            (
                Method::POST,
                "/",
                headers(&[("content-type", JSON_CONTENT_TYPE)]),
                Protocol::AwsJson11,
                400,
                "UnknownOperationException",
            ),
            (
                Method::POST,
                "/",
                headers(&[("x-amz-target", "Other_2020.ListThings"), ("content-type", JSON_CONTENT_TYPE)]),
                Protocol::AwsJson11,
                400,
                "UnknownOperationException",
            ),
            (
                Method::POST,
                "/",
                headers(&[("x-amz-target", TARGET), ("content-type", "text/plain")]),
                Protocol::AwsJson11,
                415,
                "UnsupportedMediaTypeException",
            ),
            (
                Method::GET,
                "/",
                headers(&[("x-amz-target", TARGET), ("content-type", JSON_CONTENT_TYPE)]),
                Protocol::AwsJson11,
                400,
                "UnknownOperationException",
            ),
            (
                Method::POST,
                CBOR_PATH,
                headers(&[("content-type", JSON_CONTENT_TYPE)]),
                Protocol::RpcV2Cbor,
                415,
                "UnsupportedMediaTypeException",
            ),
            (Method::POST, CBOR_PATH, headers(&[]), Protocol::RpcV2Cbor, 415, "UnsupportedMediaTypeException"),
            (
                Method::POST,
                "/service/Other/operation/X",
                headers(&[("content-type", "application/cbor")]),
                Protocol::RpcV2Cbor,
                404,
                "UnknownOperationException",
            ),
            (
                Method::POST,
                "/service/ComprehendMedical_20181030/ops",
                headers(&[("content-type", "application/cbor")]),
                Protocol::RpcV2Cbor,
                404,
                "UnknownOperationException",
            ),
            (
                Method::PUT,
                CBOR_PATH,
                headers(&[("content-type", "application/cbor")]),
                Protocol::RpcV2Cbor,
                404,
                "UnknownOperationException",
            ),
        ];
        for (method, path, h, protocol, status, code) in cases {
            let r = detect(&method, path, &h).expect_err("rejected");
            assert_eq!(
                (r.protocol, r.error.status, r.error.code.as_str()),
                (protocol, status, code),
                "{method} {path}: {}",
                r.error.message
            );
            assert!(!r.error.message.is_empty());
        }
    }

    #[test]
    fn undecodable_bodies_are_serialization_exceptions() {
        for (p, body) in [
            (Protocol::AwsJson11, &b"{\"MaxResults\": "[..]),
            (Protocol::AwsJson11, b"\xff\xfe"),
            (Protocol::RpcV2Cbor, b"\xa1\x61"),
            (Protocol::RpcV2Cbor, b"{}"),
        ] {
            let e = decode_request(p, body).expect_err("undecodable");
            assert_eq!((e.status, e.code.as_str()), (400, "SerializationException"), "{p}: {}", e.message);
        }
        let e = decode_request(
            Protocol::RpcV2Cbor,
            &cbor::from_document(&json!({"MaxResults": "5"}), &model::REQUEST_SHAPE),
        )
        .unwrap_err();
        assert_eq!(e.code, "SerializationException");
        assert_eq!(decode_request(Protocol::AwsJson11, b"").unwrap().1, ListRequest::default());
    }

    #[test]
    fn errors_round_trip_through_both_protocols_as_sdks_read_them() {
        let err = ServiceError::validation("1 validation error detected: x");
        for p in Protocol::ALL {
            let resp = error_response(p, &err, &RequestId::fixed());
            assert_eq!(resp.status(), 400);
            assert_eq!(resp.headers()[REQUEST_ID_HEADER], &*RequestId::fixed());
            assert_eq!(resp.headers()[header::CONTENT_TYPE], p.content_type());
            assert_eq!(parse_reply(p, 400, resp.body()).unwrap(), Reply::Error(err.clone()));
        }
        let cbor = error_response(Protocol::RpcV2Cbor, &err, &RequestId::fixed());
        assert_eq!(cbor.headers()[SMITHY_PROTOCOL_HEADER], "rpc-v2-cbor");
        assert_eq!(
            cbor::to_document(cbor.body()).unwrap().0["__type"],
            "com.amazonaws.comprehendmedical#ValidationException"
        );
    }

    #[test]
    fn an_answer_made_in_a_requests_header_map_carries_none_of_the_requests_headers() {
        for p in Protocol::ALL {
            let mut request = HeaderMap::new();
            request.insert(header::HOST, HeaderValue::from_static("localhost"));
            request.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            request.insert(
                "x-amz-target",
                HeaderValue::from_static("ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"),
            );
            request.insert(REQUEST_ID.clone(), HeaderValue::from_static("the-callers-id"));
            let resp = output_response_in(request, p, Bytes::from_static(b"{}"), &RequestId::fixed());
            let fresh = output_response_bytes(p, Bytes::from_static(b"{}"), &RequestId::fixed());
            assert_eq!(resp.headers(), fresh.headers(), "{p}");
            assert_eq!(resp.headers()[REQUEST_ID_HEADER], &*RequestId::fixed());
        }
    }

    #[test]
    fn a_new_responses_header_map_holds_no_allocation() {
        // `base_response` forgets the map `Response::new` made instead of dropping it: that leaks nothing
        // only while the map has no room of its own.
        assert_eq!(Response::new(()).headers().capacity(), 0);
    }

    #[test]
    fn error_codes_are_read_like_botocore() {
        assert_eq!(error_code("com.amazonaws.comprehendmedical#TooManyRequestsException"), "TooManyRequestsException");
        assert_eq!(error_code("ValidationException:http://internal.amazon.com/coral/x"), "ValidationException");
        assert_eq!(error_code("Plain"), "Plain");
        let r = parse_reply(Protocol::AwsJson11, 502, b"<html>").unwrap_err();
        assert!(r.to_string().contains("HTTP 502"), "{r}");
        assert_eq!(
            parse_reply(Protocol::AwsJson11, 503, b"{}").unwrap(),
            Reply::Error(ServiceError::new(503, "Http503", ""))
        );
    }

    #[test]
    fn outputs_round_trip_in_both_protocols() {
        let doc = json!({"ComprehendMedicalAsyncJobPropertiesList": [{"JobId": "j", "SubmitTime": 1700000000.5}], "NextToken": "n"});
        for p in Protocol::ALL {
            let resp = output_response(p, &doc, &RequestId::fixed());
            assert_eq!(parse_reply(p, 200, resp.body()).unwrap(), Reply::Output(doc.clone()));
        }
    }
}
