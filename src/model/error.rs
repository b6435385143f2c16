//! Errors as they travel on the wire, and a [`Reply`]: what a response said, an output or an error.

use std::fmt;

use serde_json::Value;

/// An error as it travels on the wire: HTTP status, error code (`__type` without namespace) and message.
/// Covers the four modeled errors and the protocol-level ones every AWS service can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The error code, without namespace or suffix (`ValidationException`).
    pub code: String,
    /// The message.
    pub message: String,
}

impl ServiceError {
    /// An error with any status and code.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError { status, code: code.into(), message: message.into() }
    }
    /// 400 `ValidationException`: an input breaks a constraint of the model.
    pub fn validation(message: impl Into<String>) -> ServiceError {
        ServiceError::new(400, "ValidationException", message)
    }
    /// 400 `InvalidRequestException`.
    pub fn invalid_request(message: impl Into<String>) -> ServiceError {
        ServiceError::new(400, "InvalidRequestException", message)
    }
    /// 429 `TooManyRequestsException`.
    pub fn too_many_requests(message: impl Into<String>) -> ServiceError {
        ServiceError::new(429, "TooManyRequestsException", message)
    }
    /// 500 `InternalServerException`.
    pub fn internal(message: impl Into<String>) -> ServiceError {
        ServiceError::new(500, "InternalServerException", message)
    }
    /// 400 `SerializationException`: a body that does not decode, or a member of the wrong type.
    pub fn serialization(message: impl Into<String>) -> ServiceError {
        ServiceError::new(400, "SerializationException", message)
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ServiceError {}

/// What a response said: an output document, or an error.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// # let reference = std::sync::Arc::new(snomed_vcr::Reference::new(snomed_vcr::ReferenceConfig::generated(12, 7)));
/// # let reference = snomed_vcr::Server::spawn(listener, reference, snomed_vcr::ServerConfig::default()).unwrap();
/// use snomed_vcr::{Client, Protocol, Reply};
///
/// let ex = Client::new(&reference.uri()).unwrap().call(Protocol::AwsJson11, &serde_json::json!({"MaxResults": 3})).await.unwrap();
/// match ex.reply {
///     Reply::Output(doc) => assert_eq!(doc["ComprehendMedicalAsyncJobPropertiesList"].as_array().unwrap().len(), 3),
///     Reply::Error(e) => panic!("{e}"),
/// }
/// # });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A 2xx answer's output document.
    Output(Value),
    /// An error answer, read the way the SDKs read it.
    Error(ServiceError),
}

impl Reply {
    /// The output document, if this is one.
    pub fn output(&self) -> Option<&Value> {
        match self {
            Reply::Output(v) => Some(v),
            Reply::Error(_) => None,
        }
    }

    /// The error, if this is one.
    pub fn error(&self) -> Option<&ServiceError> {
        match self {
            Reply::Error(e) => Some(e),
            Reply::Output(_) => None,
        }
    }
}
