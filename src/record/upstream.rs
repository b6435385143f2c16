//! Forwarding to the upstream: which of the client's headers go on, the `Host` and the signature, what comes
//! back to the client, and what a failure to reach the upstream is answered with (502
//! `BadGatewayException`, naming the cause).

use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::client::{Client, SendError};
use crate::model::ServiceError;

/// The upstream's answer.
pub(super) struct UpstreamAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Headers that belong to one connection, or that the client library sets for each request itself.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// A 502 `BadGatewayException`.
pub(super) fn gateway_error(message: String) -> ServiceError {
    ServiceError::new(502, "BadGatewayException", message)
}

/// The request to send upstream: the client's method, path, query and headers, less the hop-by-hop ones.
/// When re-signing (`resign`), `Accept-Encoding` is dropped too: the upstream then answers uncompressed,
/// which every client takes, and the answer is recorded as the document it is rather than as compressed
/// bytes (a client's own signature may cover the header, so it stays when forwarding untouched). Without
/// re-signing the client's `Host` is kept: its signature covers it.
fn upstream_request(parts: &http::request::Parts, body: Bytes, resign: bool) -> Result<Request<Bytes>, ServiceError> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = Request::builder()
        .method(parts.method.clone())
        .uri(path)
        .body(body)
        .map_err(|e| gateway_error(format!("cannot build the upstream request: {e}")))?;
    for (name, value) in &parts.headers {
        let compression = name == http::header::ACCEPT_ENCODING && resign;
        if !is_hop_by_hop(name.as_str()) && !compression {
            req.headers_mut().append(name.clone(), value.clone());
        }
    }
    if !resign && let Some(h) = parts.headers.get(http::header::HOST) {
        req.headers_mut().insert(http::header::HOST, h.clone());
    }
    Ok(req)
}

/// Forwards a request through `client` (which re-signs it when it has credentials); the upstream's answer,
/// or the 502 that says why there is none.
pub(super) async fn forward(
    client: &Client,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<UpstreamAnswer, ServiceError> {
    let resign = client.signs();
    let req = upstream_request(parts, body, resign)?;
    let origin = &client.endpoint().origin;
    match client.forward(req).await {
        Ok(resp) => {
            let (rparts, body) = resp.into_parts();
            Ok(UpstreamAnswer { status: rparts.status.as_u16(), headers: rparts.headers, body })
        }
        Err(e) => Err(gateway_error(match e {
            SendError::Request(e) => format!("cannot forward to upstream {origin}: {e}"),
            SendError::Unreachable(e) => format!("cannot reach upstream {origin}: {e}"),
            SendError::NoResponse(t) => format!("upstream {origin} sent no response within {t:?} (--upstream-timeout)"),
            SendError::SlowBody(t) => format!("upstream {origin} did not finish its response within {t:?}"),
            e @ (SendError::Tls(_) | SendError::Closed(_) | SendError::TooLarge(_)) => {
                format!("upstream {origin}: {e}")
            }
        })),
    }
}

/// The upstream's answer as it goes back to the client: unchanged, less the hop-by-hop headers.
pub(super) fn relay(answer: UpstreamAnswer) -> Response<Bytes> {
    let mut resp = Response::new(answer.body);
    *resp.status_mut() = http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in &answer.headers {
        if !is_hop_by_hop(name.as_str()) {
            resp.headers_mut().append(name.clone(), value.clone());
        }
    }
    resp
}
