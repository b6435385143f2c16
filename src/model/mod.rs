//! The Comprehend Medical list operations this crate serves (ListSNOMEDCTInferenceJobs and its four siblings,
//! one shape for all), transport-free.
//!
//! | file | holds |
//! |---|---|
//! | `operation` | [`Operation`]: the family's one table of names (wire, boto3, AWS CLI, Rust SDK) |
//! | [`shapes`] | static descriptions of the input, output and error shapes, which codecs and type checks walk |
//! | [`types`] | type checks of documents (a string where an integer belongs is a `SerializationException`) |
//! | `input` | the request types and validation of every input constraint, with AWS's messages |
//! | `output` | the response types and the model's output constraints |
//! | `timestamp` | epoch-second instants kept at the sender's precision |
//! | `error` | errors as they travel on the wire, and a [`Reply`] (an output or an error) |
//! | [`listing`] | a listing as a client sees it: [`Page`]s and the [`Chain`] of pages a first request leads to |
//! | [`oracle`] | the listing's invariants as judges of any implementation's answers, each with its basis |
//!
//! Documents (`serde_json::Value`) are the interchange form: a JSON 1.1 body is one already, a CBOR body is
//! converted to one by [`crate::protocol::cbor`]. Nothing here knows a socket, a file or the reference
//! service: what the documentation leaves open is kept apart ([`Order::documented`], [`oracle::FilterSemantics`]).

mod error;
mod input;
pub mod listing;
mod operation;
pub mod oracle;
mod output;
pub mod shapes;
mod timestamp;
pub mod types;

pub use error::{Reply, ServiceError};
pub use input::{Filter, JobStatus, ListRequest, Order, job_name_valid};
pub use listing::{Chain, End, Page, Start};
pub use operation::Operation;
pub use output::{
    JobProperties, ListResponse, PLAUSIBLE_FROM, PLAUSIBLE_UNTIL, S3Location, ShapeViolation, check_job,
    check_job_plausibility, check_response, check_response_each,
};
pub use shapes::{ERROR_SHAPE, JOB_SHAPE, REQUEST_SHAPE, RESPONSE_SHAPE, Shape};
pub use timestamp::Timestamp;
pub use types::{check_types, check_types_text};

pub use crate::doc::json_type;

/// The default operation's name (`ListSNOMEDCTInferenceJobs`), as it appears in `X-Amz-Target` and in the RPC v2
/// path: the one a cassette or a call that names none is of. The family is [`Operation::ALL`].
pub const OPERATION: &str = "ListSNOMEDCTInferenceJobs";
/// The service's target prefix (`X-Amz-Target: ComprehendMedical_20181030.<operation>`) and RPC v2 service name.
pub const SERVICE: &str = "ComprehendMedical_20181030";
/// The Smithy namespace used in fully qualified error type names.
pub const NAMESPACE: &str = "com.amazonaws.comprehendmedical";
/// SigV4 signing name.
pub const SIGNING_NAME: &str = "comprehendmedical";
/// The member of the output that holds the page's jobs.
pub const JOBS_MEMBER: &str = "ComprehendMedicalAsyncJobPropertiesList";
/// The page size when `MaxResults` is absent (documented in the model).
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// The least `MaxResults` the model allows.
pub const MAX_RESULTS_MIN: i64 = 1;
/// The most `MaxResults` the model allows.
pub const MAX_RESULTS_MAX: i64 = 500;
/// The shortest `JobName` the model allows, in Unicode scalar values.
pub const JOB_NAME_MIN: usize = 1;
/// The longest `JobName` the model allows, in Unicode scalar values.
pub const JOB_NAME_MAX: usize = 256;
/// The `JobName` pattern, as written in the model.
pub const JOB_NAME_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$";
/// `DataAccessRoleArn` pattern (unanchored in the model: the value must contain a match).
pub const ROLE_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+";
