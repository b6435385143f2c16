//! Answering from recordings: a recorded response re-encoded in the caller's protocol.
//!
//! A cassette stores bodies as documents, so an interaction recorded over JSON 1.1 answers a CBOR caller and
//! the reverse; errors are rebuilt in the caller's protocol from their code and message.

use bytes::Bytes;
use http::{HeaderValue, Response};

use crate::cassette::RecordedResponse;
use crate::model::{self, ServiceError};
use crate::protocol::RequestId;
use crate::protocol::{self, Protocol};

/// The code and message of a recorded error body, read the way the SDKs read them.
pub fn recorded_error(resp: &RecordedResponse) -> ServiceError {
    protocol::error_from_document(resp.status, &resp.body)
}

/// Encodes a recorded response for a caller speaking `protocol`.
pub fn respond(protocol: Protocol, recorded: &RecordedResponse, request_id: &RequestId) -> Response<Bytes> {
    let mut resp = if (200..300).contains(&recorded.status) {
        let body = protocol::encode_document(protocol, &recorded.body, &model::RESPONSE_SHAPE);
        let mut r = protocol::output_response_bytes(protocol, body, request_id);
        *r.status_mut() = http::StatusCode::from_u16(recorded.status).unwrap_or(http::StatusCode::OK);
        r
    } else {
        protocol::error_response(protocol, &recorded_error(recorded), request_id)
    };
    if let Some(v) = recorded.headers.get("x-amzn-errortype").and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(protocol::ERROR_TYPE_HEADER, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn recorded_json_answers_cbor_and_back() {
        let ok = RecordedResponse {
            status: 200,
            headers: BTreeMap::new(),
            body: json!({"ComprehendMedicalAsyncJobPropertiesList": [{"JobId": "a", "SubmitTime": 1700000000.5}]}),
            encoding: None,
        };
        for p in Protocol::ALL {
            let r = respond(p, &ok, &crate::protocol::request_id());
            assert_eq!(protocol::parse_reply(p, 200, r.body()).unwrap(), protocol::Reply::Output(ok.body.clone()));
        }
        let err = RecordedResponse {
            status: 400,
            headers: BTreeMap::new(),
            body: json!({"__type": "com.amazonaws.comprehendmedical#ValidationException", "Message": "bad"}),
            encoding: None,
        };
        let r = respond(Protocol::AwsJson11, &err, &crate::protocol::request_id());
        assert_eq!(r.status(), 400);
        assert_eq!(
            protocol::parse_reply(Protocol::AwsJson11, 400, r.body()).unwrap(),
            protocol::Reply::Error(ServiceError::validation("bad"))
        );
    }
}
