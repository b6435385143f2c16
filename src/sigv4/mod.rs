//! SigV4 with AWS's own implementation (`aws-sigv4`): signing requests we send, and verifying requests we
//! receive (`reference --require-sigv4`).
//!
//! Verification recomputes the signature over exactly the headers the client listed in `SignedHeaders`, at the
//! client's `X-Amz-Date`, with the credential scope's region, and compares. The errors are AWS's: 403
//! `MissingAuthenticationTokenException`, `IncompleteSignatureException`, `UnrecognizedClientException`
//! (unknown access key) and `InvalidSignatureException` (mismatch or expired).
//!
//! | file | owns |
//! |---|---|
//! | `credentials.rs` | the key pair, and the keys to sign with (fixed, or the AWS default chain's) |
//! | `sign.rs` | signing what we send |
//! | `verify.rs` | verifying what we receive |

mod credentials;
mod sign;
mod verify;

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as aws_sign};
use aws_sigv4::sign::v4;

use crate::model;

pub use credentials::{CredentialSource, Credentials, Current, Keys, NoCredentials};
pub(crate) use sign::both_signatures;
pub use sign::sign_request;
pub use verify::{AuthHeader, MAX_SKEW, parse_authorization, verify};

/// A request that cannot be signed (a header value SigV4 cannot carry, a bad signing parameter): what
/// aws-sigv4 or `http` said.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignError(String);

impl SignError {
    fn new(e: impl std::fmt::Display) -> SignError {
        SignError(e.to_string())
    }
}

/// What SigV4 signs of a request: its method, path and query, the headers to sign, and the body.
struct Signable<'a> {
    method: &'a str,
    uri: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

/// Computes the signature of a request over its `headers` (name, value pairs, all of which are signed).
fn signature(
    req: &Signable<'_>,
    creds: &Credentials,
    region: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<(Vec<(String, String)>, String), SignError> {
    let Signable { method, uri, headers, body } = *req;
    let identity = creds.identity();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(model::SIGNING_NAME)
        .time(time)
        .settings(settings)
        .build()
        .map_err(SignError::new)?
        .into();
    let signable = SignableRequest::new(method, uri, headers.iter().copied(), SignableBody::Bytes(body))
        .map_err(SignError::new)?;
    let (instructions, sig) = aws_sign(signable, &params).map_err(SignError::new)?.into_parts();
    let (hdrs, _) = instructions.into_parts();
    let hdrs = hdrs.into_iter().map(|h| (h.name().to_string(), h.value().to_string())).collect();
    Ok((hdrs, sig))
}

/// Headers never signed: they change on the way (proxies, retries) or are hop-by-hop.
fn is_unsigned(name: &str) -> bool {
    matches!(
        name,
        "user-agent"
            | "x-amzn-trace-id"
            | "authorization"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "accept-encoding"
    ) || name.starts_with("amz-sdk-")
}
