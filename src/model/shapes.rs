//! Compile-time descriptions of the operation's shapes: enough for codecs (which numbers are CBOR tag-1
//! timestamps) and for type checks (a string where an integer belongs is a `SerializationException`).
//! Constraints live with the types they constrain ([`crate::model::ListRequest::validate`],
//! [`crate::model::check_job`]), where their messages are built.

/// A shape, as far as codecs and type checks need it.
#[derive(Debug)]
pub enum Shape {
    /// Named members, each with its shape; unmodeled members are ignored.
    Structure(&'static [(&'static str, &'static Shape)]),
    /// Items of one shape.
    List(&'static Shape),
    /// A string.
    String,
    /// A 32-bit integer.
    Integer,
    /// Epoch seconds (a JSON number; CBOR tag 1).
    Timestamp,
}

impl Shape {
    /// The shape of a member of a structure, if the member is modeled.
    pub fn member(&self, name: &str) -> Option<&'static Shape> {
        self.member_entry(name).map(|(_, s)| s)
    }

    /// The modeled member's own name (static) and shape.
    pub(crate) fn member_entry(&self, name: &str) -> Option<(&'static str, &'static Shape)> {
        match self {
            Shape::Structure(members) => members.iter().find(|(n, _)| *n == name).copied(),
            _ => None,
        }
    }

    /// The kind of value, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Shape::Structure(_) => "structure",
            Shape::List(_) => "list",
            Shape::String => "string",
            Shape::Integer => "integer",
            Shape::Timestamp => "timestamp (epoch seconds)",
        }
    }
}

static FILTER_SHAPE: Shape = Shape::Structure(&[
    ("JobName", &Shape::String),
    ("JobStatus", &Shape::String),
    ("SubmitTimeBefore", &Shape::Timestamp),
    ("SubmitTimeAfter", &Shape::Timestamp),
]);

static S3_LOCATION_SHAPE: Shape = Shape::Structure(&[("S3Bucket", &Shape::String), ("S3Key", &Shape::String)]);

/// `ComprehendMedicalAsyncJobProperties`.
pub static JOB_SHAPE: Shape = Shape::Structure(&[
    ("JobId", &Shape::String),
    ("JobName", &Shape::String),
    ("JobStatus", &Shape::String),
    ("Message", &Shape::String),
    ("SubmitTime", &Shape::Timestamp),
    ("EndTime", &Shape::Timestamp),
    ("ExpirationTime", &Shape::Timestamp),
    ("InputDataConfig", &S3_LOCATION_SHAPE),
    ("OutputDataConfig", &S3_LOCATION_SHAPE),
    ("LanguageCode", &Shape::String),
    ("DataAccessRoleArn", &Shape::String),
    ("ManifestFilePath", &Shape::String),
    ("KMSKey", &Shape::String),
    ("ModelVersion", &Shape::String),
]);

/// `ListSNOMEDCTInferenceJobsRequest`.
pub static REQUEST_SHAPE: Shape =
    Shape::Structure(&[("Filter", &FILTER_SHAPE), ("NextToken", &Shape::String), ("MaxResults", &Shape::Integer)]);

/// `ListSNOMEDCTInferenceJobsResponse`.
pub static RESPONSE_SHAPE: Shape = Shape::Structure(&[
    ("ComprehendMedicalAsyncJobPropertiesList", &Shape::List(&JOB_SHAPE)),
    ("NextToken", &Shape::String),
]);

/// Every modeled error has one member, `Message`.
pub static ERROR_SHAPE: Shape = Shape::Structure(&[("Message", &Shape::String), ("message", &Shape::String)]);
