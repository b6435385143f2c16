//! The one operation this crate serves: ListSNOMEDCTInferenceJobs.
//!
//! Types for its input, output and errors; validation of every input constraint of the service model with the
//! messages AWS uses; a static description of the shapes (which members are timestamps, integers, lists) that
//! the protocol codecs and type checks walk; and output-shape checks that oracles reuse to judge a response.
//!
//! Everything here is transport-free. Documents (`serde_json::Value`) are the interchange form: a JSON 1.1 body
//! is one already, a CBOR body is converted to one by [`crate::protocol::cbor`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The operation name as it appears in `X-Amz-Target` and in the RPC v2 path.
pub const OPERATION: &str = "ListSNOMEDCTInferenceJobs";
/// The service's target prefix (`X-Amz-Target: ComprehendMedical_20181030.<operation>`) and RPC v2 service name.
pub const SERVICE: &str = "ComprehendMedical_20181030";
/// The Smithy namespace used in fully qualified error type names.
pub const NAMESPACE: &str = "com.amazonaws.comprehendmedical";
/// SigV4 signing name.
pub const SIGNING_NAME: &str = "comprehendmedical";
/// The page size when `MaxResults` is absent (documented in the model).
pub const DEFAULT_MAX_RESULTS: usize = 100;
/// `MaxResults` bounds.
pub const MAX_RESULTS_MIN: i64 = 1;
pub const MAX_RESULTS_MAX: i64 = 500;
/// `JobName` length bounds and pattern, as written in the model.
pub const JOB_NAME_MIN: usize = 1;
pub const JOB_NAME_MAX: usize = 256;
pub const JOB_NAME_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$";
/// `DataAccessRoleArn` pattern (unanchored in the model: the value must contain a match).
pub const ROLE_ARN_PATTERN: &str = r"arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+";

// ---------------------------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------------------------

/// A compile-time description of a shape: enough for codecs (which numbers are CBOR tag-1 timestamps) and for
/// type checks (a string where an integer belongs is a `SerializationException`). Constraints live in
/// [`ListRequest::validate`] and [`check_job`], where their messages are built.
#[derive(Debug)]
pub enum Shape {
    Structure(&'static [(&'static str, &'static Shape)]),
    List(&'static Shape),
    String,
    Integer,
    Timestamp,
}

impl Shape {
    /// The shape of a member of a structure, if the member is modeled.
    pub fn member(&self, name: &str) -> Option<&'static Shape> {
        match self {
            Shape::Structure(members) => members.iter().find(|(n, _)| *n == name).map(|(_, s)| *s),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
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

/// Checks that a document has the JSON types its shape requires. Unmodeled members are ignored (AWS ignores
/// unknown input members) and `null` counts as absent. The error names the member path and both types, the
/// way a `SerializationException` message should.
pub fn check_types(doc: &Value, shape: &Shape) -> Result<(), String> {
    fn walk(v: &Value, shape: &Shape, path: &mut String) -> Result<(), String> {
        if v.is_null() {
            return Ok(());
        }
        let ok = match (shape, v) {
            (Shape::Structure(_), Value::Object(map)) => {
                for (k, child) in map {
                    if let Some(s) = shape.member(k) {
                        let len = path.len();
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                        walk(child, s, path)?;
                        path.truncate(len);
                    }
                }
                true
            }
            (Shape::List(item), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(child, item, path)?;
                    path.truncate(len);
                }
                true
            }
            (Shape::String, Value::String(_)) => true,
            (Shape::Integer | Shape::Timestamp, Value::Number(n)) => number_fits(shape, n),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let found = match v {
            Value::Number(n) => found_number(shape, n),
            other => json_type(other).to_string(),
        };
        Err(mismatch(shape, path, &found))
    }
    walk(doc, shape, &mut String::new())
}

fn mismatch(shape: &Shape, path: &str, found: &str) -> String {
    let at = if path.is_empty() { "the request body".to_string() } else { format!("'{path}'") };
    format!("Expected {} at {at} but found {found}", shape.kind())
}

fn found_number(shape: &Shape, n: &serde_json::Number) -> String {
    if matches!(shape, Shape::Integer) && n.as_i64().is_some() {
        format!("integer {n}, outside the 32-bit range")
    } else {
        format!("number {n}")
    }
}

fn number_fits(shape: &Shape, n: &serde_json::Number) -> bool {
    match shape {
        Shape::Integer => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        Shape::Timestamp => n.as_f64().is_some_and(f64::is_finite),
        _ => false,
    }
}

/// [`check_types`] on JSON text, without building the document: the same verdict and the same message, at a
/// fraction of the cost. Replay checks every recorded answer this way at load. Malformed JSON is an error too.
pub fn check_types_text(text: &str, shape: &Shape) -> Result<(), String> {
    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    /// Checks one value against `shape`; the first mismatch's message goes to `err` (serde's own error
    /// would add a position the message must not carry).
    struct Check<'a> {
        shape: &'a Shape,
        path: &'a mut String,
        err: &'a mut Option<String>,
    }
    impl Check<'_> {
        fn fail<E: de::Error>(self, found: &str) -> Result<(), E> {
            *self.err = Some(mismatch(self.shape, self.path, found));
            Err(E::custom("type mismatch"))
        }
        fn number<E: de::Error>(self, n: serde_json::Number) -> Result<(), E> {
            if number_fits(self.shape, &n) {
                return Ok(());
            }
            let found = found_number(self.shape, &n);
            self.fail(&found)
        }
    }
    impl<'de> DeserializeSeed<'de> for Check<'_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    /// Any value that a document can hold, checked without being kept: unlike `IgnoredAny`, which skips
    /// numbers unread, it refuses one no `Value` can hold (1e400), as parsing into a document would.
    struct Anything;
    impl<'de> DeserializeSeed<'de> for Anything {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Anything {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Anything)?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_key_seed(Anything)?.is_some() {
                map.next_value_seed(Anything)?;
            }
            Ok(())
        }
    }
    /// A map key, borrowed from the text when it has no escapes.
    struct Key<'de>(std::borrow::Cow<'de, str>);
    impl<'de> de::Deserialize<'de> for Key<'de> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a member name")
                }
                fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(s.into()))
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                    Ok(Key(s.to_string().into()))
                }
            }
            d.deserialize_str(V)
        }
    }
    impl<'de> Visitor<'de> for Check<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {}", self.shape.kind())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(()) // null counts as absent
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.fail("boolean")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
            self.number(n.into())
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
            self.number(n.into())
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
            match serde_json::Number::from_f64(n) {
                Some(n) => self.number(n),
                None => self.fail("number"),
            }
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            if matches!(self.shape, Shape::String) { Ok(()) } else { self.fail("string") }
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let Shape::List(item) = self.shape else { return self.fail("list") };
            let mut i = 0;
            loop {
                let len = self.path.len();
                self.path.push_str(&format!("[{i}]"));
                let more = seq.next_element_seed(Check { shape: item, path: &mut *self.path, err: &mut *self.err })?;
                self.path.truncate(len);
                if more.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            if !matches!(self.shape, Shape::Structure(_)) {
                return self.fail("structure");
            }
            while let Some(Key(k)) = map.next_key::<Key>()? {
                match self.shape.member(&k) {
                    Some(s) => {
                        let len = self.path.len();
                        if len > 0 {
                            self.path.push('.');
                        }
                        self.path.push_str(&k);
                        map.next_value_seed(Check { shape: s, path: &mut *self.path, err: &mut *self.err })?;
                        self.path.truncate(len);
                    }
                    None => map.next_value_seed(Anything)?,
                }
            }
            Ok(())
        }
    }

    let (mut path, mut err) = (String::new(), None);
    let mut de = serde_json::Deserializer::from_str(text);
    let checked = Check { shape, path: &mut path, err: &mut err }.deserialize(&mut de).and_then(|()| de.end());
    match (checked, err) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(msg)) => Err(msg),
        (Err(e), None) => Err(format!("malformed JSON: {e}")),
    }
}

/// The JSON type name of a value, for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "structure",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------------------------

/// An instant as epoch seconds, kept with the precision the sender used: boto3 sends microseconds, the AWS CLI
/// whole seconds, the Rust SDK a float64. Whole values are written back as integers, others as the shortest
/// decimal that reads back to the same `f64` (so `1704164645.678` stays `1704164645.678`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Timestamp(f64);

impl Timestamp {
    /// A finite epoch-seconds value.
    pub fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        secs.is_finite().then_some(Timestamp(secs))
    }
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs as f64)
    }
    pub fn secs_f64(self) -> f64 {
        self.0
    }
    /// A total order (timestamps are finite, so this agrees with `<`).
    pub fn total_cmp(&self, other: &Timestamp) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
    /// The JSON number this timestamp is written as.
    pub fn to_json(self) -> Value {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            Value::from(self.0 as i64)
        } else {
            serde_json::Number::from_f64(self.0).map_or(Value::Null, Value::Number)
        }
    }
    /// ISO 8601 (UTC, milliseconds), for humans.
    pub fn to_rfc3339(self) -> String {
        crate::util::rfc3339(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        Timestamp::from_secs_f64(secs).ok_or_else(|| serde::de::Error::custom("timestamp must be finite"))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------------------------

/// `JobStatus`, in model order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobStatus {
    Submitted,
    InProgress,
    Completed,
    PartialSuccess,
    Failed,
    StopRequested,
    Stopped,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Submitted,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::PartialSuccess,
        JobStatus::Failed,
        JobStatus::StopRequested,
        JobStatus::Stopped,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Submitted => "SUBMITTED",
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Completed => "COMPLETED",
            JobStatus::PartialSuccess => "PARTIAL_SUCCESS",
            JobStatus::Failed => "FAILED",
            JobStatus::StopRequested => "STOP_REQUESTED",
            JobStatus::Stopped => "STOPPED",
        }
    }
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
    /// Whether a job in this status has finished (and so has an `EndTime`).
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::PartialSuccess | JobStatus::Failed | JobStatus::Stopped)
    }
}

/// `ComprehendMedicalAsyncJobFilter`. Strings are kept as sent so validation can quote them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_time_before: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_time_after: Option<Timestamp>,
}

/// `ListSNOMEDCTInferenceJobsRequest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

impl ListRequest {
    /// Decodes an input document: a `SerializationException` for wrong member types, otherwise the request
    /// (not yet validated: see [`ListRequest::validate`]).
    pub fn from_document(doc: &Value) -> Result<ListRequest, ServiceError> {
        if !doc.is_object() {
            return Err(ServiceError::serialization(format!(
                "Expected the request body to be a structure but found {}",
                json_type(doc)
            )));
        }
        check_types(doc, &REQUEST_SHAPE).map_err(ServiceError::serialization)?;
        serde_json::from_value(doc.clone()).map_err(|e| ServiceError::serialization(e.to_string()))
    }

    pub fn to_document(&self) -> Value {
        serde_json::to_value(self).expect("request serializes")
    }

    /// Validates every constraint of the model, collecting all violations into one `ValidationException`
    /// with AWS's wording (`2 validation errors detected: …; …`).
    pub fn validate(&self) -> Result<(), ServiceError> {
        let mut errors: Vec<String> = Vec::new();
        if let Some(filter) = &self.filter {
            if let Some(name) = &filter.job_name {
                errors.extend(validate_job_name(name, "filter.jobName"));
            }
            if let Some(status) = &filter.job_status
                && JobStatus::parse(status).is_none()
            {
                let set: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
                errors.push(violation(
                    status,
                    "filter.jobStatus",
                    &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
                ));
            }
        }
        if let Some(token) = &self.next_token
            && token.is_empty()
        {
            errors.push(violation(token, "nextToken", "Member must have length greater than or equal to 1"));
        }
        if let Some(n) = self.max_results {
            let n = i64::from(n);
            if n < MAX_RESULTS_MIN {
                errors.push(violation(
                    &n.to_string(),
                    "maxResults",
                    &format!("Member must have value greater than or equal to {MAX_RESULTS_MIN}"),
                ));
            } else if n > MAX_RESULTS_MAX {
                errors.push(violation(
                    &n.to_string(),
                    "maxResults",
                    &format!("Member must have value less than or equal to {MAX_RESULTS_MAX}"),
                ));
            }
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(ServiceError::validation(format!("1 validation error detected: {}", errors[0]))),
            n => Err(ServiceError::validation(format!("{n} validation errors detected: {}", errors.join("; ")))),
        }
    }

    /// The page size this request asks for.
    pub fn page_size(&self) -> usize {
        self.max_results.map_or(DEFAULT_MAX_RESULTS, |n| n.clamp(1, MAX_RESULTS_MAX as i32) as usize)
    }
}

fn violation(value: &str, member: &str, constraint: &str) -> String {
    format!("Value '{value}' at '{member}' failed to satisfy constraint: {constraint}")
}

fn job_name_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(JOB_NAME_PATTERN).expect("model pattern compiles"))
}

/// Length (in Unicode scalar values, as Smithy's `length` trait counts) and pattern of a `JobName`-shaped value.
fn validate_job_name(name: &str, member: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let len = name.chars().count();
    if len < JOB_NAME_MIN {
        errors.push(violation(name, member, "Member must have length greater than or equal to 1"));
    }
    if len > JOB_NAME_MAX {
        errors.push(violation(name, member, "Member must have length less than or equal to 256"));
    }
    if !job_name_regex().is_match(name) {
        errors.push(violation(
            name,
            member,
            &format!("Member must satisfy regular expression pattern: {JOB_NAME_PATTERN}"),
        ));
    }
    errors
}

// ---------------------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------------------

/// `InputDataConfig` / `OutputDataConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Location {
    pub s3_bucket: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
}

/// `ComprehendMedicalAsyncJobProperties`. Every member is optional in the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_data_config: Option<S3Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_data_config: Option<S3Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_access_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_file_path: Option<String>,
    #[serde(rename = "KMSKey", skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
}

/// `ListSNOMEDCTInferenceJobsResponse`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListResponse {
    #[serde(rename = "ComprehendMedicalAsyncJobPropertiesList", skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<JobProperties>>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl ListResponse {
    pub fn from_document(doc: &Value) -> Result<ListResponse, String> {
        check_types(doc, &RESPONSE_SHAPE)?;
        serde_json::from_value(doc.clone()).map_err(|e| e.to_string())
    }
    pub fn to_document(&self) -> Value {
        serde_json::to_value(self).expect("response serializes")
    }
}

/// One way a response's content breaks the model: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeViolation {
    pub path: String,
    pub problem: String,
}

impl fmt::Display for ShapeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// Earliest and latest plausible timestamps in a response: the service launched in 2018; nothing it returns
/// is dated before 2010 or after 2100.
pub const PLAUSIBLE_FROM: f64 = 1_262_304_000.0; // 2010-01-01T00:00:00Z
pub const PLAUSIBLE_UNTIL: f64 = 4_102_444_800.0; // 2100-01-01T00:00:00Z

/// Checks one job's properties against the model's output constraints: lengths, patterns, enums, the ARN
/// pattern, plausible and ordered timestamps. `at` prefixes each violation's path.
pub fn check_job(job: &JobProperties, at: &str) -> Vec<ShapeViolation> {
    let mut out = Vec::new();
    let mut bad = |field: &str, problem: String| out.push(ShapeViolation { path: format!("{at}.{field}"), problem });
    let len = |s: &str| s.chars().count();

    if let Some(id) = &job.job_id {
        if !(1..=32).contains(&len(id)) {
            bad("JobId", format!("length {} outside 1..=32", len(id)));
        }
        if !job_name_regex().is_match(id) {
            bad("JobId", format!("'{id}' does not match {JOB_NAME_PATTERN}"));
        }
    }
    if let Some(name) = &job.job_name {
        for e in validate_job_name(name, "JobName") {
            bad("JobName", e);
        }
    }
    if let Some(status) = &job.job_status
        && JobStatus::parse(status).is_none()
    {
        bad("JobStatus", format!("'{status}' is not a JobStatus"));
    }
    if let Some(code) = &job.language_code
        && code != "en"
    {
        bad("LanguageCode", format!("'{code}' is not a LanguageCode (expected 'en')"));
    }
    for (field, loc) in [("InputDataConfig", &job.input_data_config), ("OutputDataConfig", &job.output_data_config)] {
        if let Some(loc) = loc {
            let b = &loc.s3_bucket;
            if !(3..=63).contains(&len(b)) {
                bad(&format!("{field}.S3Bucket"), format!("length {} outside 3..=63", len(b)));
            }
            // The model's `^[0-9a-z\.\-_]*(?!\.)$`: the lookahead at end of input always holds, so this is the set.
            if !b.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || matches!(c, '.' | '-' | '_')) {
                bad(&format!("{field}.S3Bucket"), format!("'{b}' has characters outside [0-9a-z.-_]"));
            }
            if let Some(k) = &loc.s3_key
                && len(k) > 1024
            {
                bad(&format!("{field}.S3Key"), format!("length {} over 1024", len(k)));
            }
        }
    }
    if let Some(arn) = &job.data_access_role_arn {
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = RE.get_or_init(|| regex::Regex::new(ROLE_ARN_PATTERN).expect("model pattern compiles"));
        if !(20..=2048).contains(&len(arn)) {
            bad("DataAccessRoleArn", format!("length {} outside 20..=2048", len(arn)));
        }
        if !re.is_match(arn) {
            bad("DataAccessRoleArn", format!("'{arn}' does not match {ROLE_ARN_PATTERN}"));
        }
    }
    if let Some(p) = &job.manifest_file_path
        && !(1..=4096).contains(&len(p))
    {
        bad("ManifestFilePath", format!("length {} outside 1..=4096", len(p)));
    }
    if let Some(k) = &job.kms_key
        && !(1..=2048).contains(&len(k))
    {
        bad("KMSKey", format!("length {} outside 1..=2048", len(k)));
    }
    for (field, t) in
        [("SubmitTime", job.submit_time), ("EndTime", job.end_time), ("ExpirationTime", job.expiration_time)]
    {
        if let Some(t) = t
            && !(PLAUSIBLE_FROM..=PLAUSIBLE_UNTIL).contains(&t.secs_f64())
        {
            bad(field, format!("{t} ({}) is not a plausible time", t.to_rfc3339()));
        }
    }
    if let (Some(s), Some(e)) = (job.submit_time, job.end_time)
        && e < s
    {
        bad("EndTime", format!("{e} is before SubmitTime {s}"));
    }
    out
}

/// Checks a whole response document: types first, then every job.
pub fn check_response(doc: &Value) -> Vec<ShapeViolation> {
    let resp = match ListResponse::from_document(doc) {
        Ok(r) => r,
        Err(problem) => return vec![ShapeViolation { path: "$".into(), problem }],
    };
    let mut out = Vec::new();
    if let Some(t) = &resp.next_token
        && t.is_empty()
    {
        out.push(ShapeViolation {
            path: "NextToken".into(),
            problem: "empty (the model's minimum length is 1)".into(),
        });
    }
    for (i, job) in resp.jobs.iter().flatten().enumerate() {
        out.extend(check_job(job, &format!("ComprehendMedicalAsyncJobPropertiesList[{i}]")));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/// An error as it travels on the wire: HTTP status, error code (`__type` without namespace) and message.
/// Covers the four modeled errors and the protocol-level ones every AWS service can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ServiceError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError { status, code: code.into(), message: message.into() }
    }
    pub fn validation(message: impl Into<String>) -> ServiceError {
        ServiceError::new(400, "ValidationException", message)
    }
    pub fn invalid_request(message: impl Into<String>) -> ServiceError {
        ServiceError::new(400, "InvalidRequestException", message)
    }
    pub fn too_many_requests(message: impl Into<String>) -> ServiceError {
        ServiceError::new(429, "TooManyRequestsException", message)
    }
    pub fn internal(message: impl Into<String>) -> ServiceError {
        ServiceError::new(500, "InternalServerException", message)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(doc: Value) -> ListRequest {
        ListRequest::from_document(&doc).expect("decodes")
    }
    fn message(doc: Value) -> String {
        let e = req(doc).validate().expect_err("invalid");
        assert_eq!((e.status, e.code.as_str()), (400, "ValidationException"));
        e.message
    }

    #[test]
    fn max_results_bounds() {
        assert!(req(json!({"MaxResults": 1})).validate().is_ok());
        assert!(req(json!({"MaxResults": 500})).validate().is_ok());
        assert_eq!(
            message(json!({"MaxResults": 501})),
            "1 validation error detected: Value '501' at 'maxResults' failed to satisfy constraint: \
             Member must have value less than or equal to 500"
        );
        assert_eq!(
            message(json!({"MaxResults": 0})),
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: \
             Member must have value greater than or equal to 1"
        );
        assert!(message(json!({"MaxResults": -5})).contains("Value '-5' at 'maxResults'"));
    }

    #[test]
    fn job_name_length_bounds_count_characters() {
        let at_limit = "é".repeat(256);
        assert!(req(json!({"Filter": {"JobName": at_limit}})).validate().is_ok());
        let past = "a".repeat(257);
        assert!(
            message(json!({"Filter": {"JobName": past}})).contains("Member must have length less than or equal to 256")
        );
        assert!(req(json!({"Filter": {"JobName": "a"}})).validate().is_ok());
        assert!(
            message(json!({"Filter": {"JobName": ""}})).contains("Member must have length greater than or equal to 1")
        );
    }

    #[test]
    fn job_name_pattern_edges() {
        for ok in ["job-1", "a_b.c:d/e=f+g-h%i@j", "病歴 2024", "Ångström", "x\u{2028}y", "٣٤"] {
            assert!(req(json!({"Filter": {"JobName": ok}})).validate().is_ok(), "{ok:?} should be valid");
        }
        for bad in ["!!$", "tab\there", "a#b", "nul\u{0}", "q?", "e\u{301}"] {
            let m = message(json!({"Filter": {"JobName": bad}}));
            assert!(m.contains("Member must satisfy regular expression pattern"), "{bad:?}: {m}");
        }
    }

    #[test]
    fn job_status_enum() {
        for s in JobStatus::ALL {
            assert!(req(json!({"Filter": {"JobStatus": s.as_str()}})).validate().is_ok());
        }
        assert_eq!(
            message(json!({"Filter": {"JobStatus": "BOGUS"}})),
            "1 validation error detected: Value 'BOGUS' at 'filter.jobStatus' failed to satisfy constraint: \
             Member must satisfy enum value set: [SUBMITTED, IN_PROGRESS, COMPLETED, PARTIAL_SUCCESS, FAILED, \
             STOP_REQUESTED, STOPPED]"
        );
        assert!(message(json!({"Filter": {"JobStatus": "completed"}})).contains("'completed'"));
    }

    #[test]
    fn next_token_min_length() {
        assert!(req(json!({"NextToken": "x"})).validate().is_ok());
        assert!(message(json!({"NextToken": ""})).contains("at 'nextToken'"));
    }

    #[test]
    fn several_violations_are_counted() {
        let m = message(json!({"MaxResults": 501, "Filter": {"JobStatus": "BOGUS", "JobName": "!!$"}}));
        assert!(m.starts_with("3 validation errors detected: Value '!!$' at 'filter.jobName'"), "{m}");
        assert_eq!(m.matches("; Value ").count(), 2, "{m}");
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        for (doc, needle) in [
            (json!({"MaxResults": "5"}), "Expected integer at 'MaxResults' but found string"),
            (json!({"MaxResults": 5.5}), "Expected integer at 'MaxResults' but found number 5.5"),
            (json!({"MaxResults": 4294967296u64}), "outside the 32-bit range"),
            (json!({"Filter": "x"}), "Expected structure at 'Filter'"),
            (json!({"Filter": {"SubmitTimeBefore": "2024-01-01"}}), "at 'Filter.SubmitTimeBefore'"),
            (json!({"NextToken": 7}), "Expected string at 'NextToken'"),
            (json!([1]), "Expected the request body to be a structure"),
        ] {
            let e = ListRequest::from_document(&doc).expect_err("wrong type");
            assert_eq!(e.code, "SerializationException");
            assert!(e.message.contains(needle), "{doc}: {}", e.message);
        }
        // Unknown members are ignored and null is absent, as AWS JSON services do.
        assert_eq!(req(json!({"Bogus": 1, "MaxResults": null})), ListRequest::default());
    }

    #[test]
    fn checking_text_agrees_with_checking_documents() {
        let list = "ComprehendMedicalAsyncJobPropertiesList";
        let docs = [
            json!({list: [{"JobId": "a", "SubmitTime": 1700000000.5, "InputDataConfig": {"S3Bucket": "b"}}]}),
            json!({list: [], "NextToken": "t", "Unmodeled": [1, {"x": true}]}),
            json!({list: [{"JobId": null, "SubmitTime": null}], "NextToken": null}),
            json!({list: [{"SubmitTime": "yesterday"}]}),
            json!({list: [{"JobId": 7}]}),
            json!({list: [{}, {"InputDataConfig": {"S3Key": false}}]}),
            json!({list: {"JobId": "a"}}),
            json!({list: [[1]]}),
            json!({"NextToken": 1.5}),
            json!({"NextToken": -3}),
            json!([1]),
            json!("text"),
        ];
        for doc in &docs {
            let text = serde_json::to_string_pretty(doc).unwrap();
            assert_eq!(check_types_text(&text, &RESPONSE_SHAPE), check_types(doc, &RESPONSE_SHAPE), "{doc}");
        }
        for (doc, want) in [
            (json!({"MaxResults": 5.5}), "Expected integer at 'MaxResults' but found number 5.5"),
            (
                json!({"MaxResults": 4294967296u64}),
                "Expected integer at 'MaxResults' but found integer 4294967296, outside the 32-bit range",
            ),
            (
                json!({"MaxResults": 18446744073709551615u64}),
                "Expected integer at 'MaxResults' but found number 18446744073709551615",
            ),
            (
                json!({"Filter": {"SubmitTimeBefore": "x"}}),
                "Expected timestamp (epoch seconds) at 'Filter.SubmitTimeBefore' but found string",
            ),
        ] {
            assert_eq!(check_types(&doc, &REQUEST_SHAPE).unwrap_err(), want);
            assert_eq!(check_types_text(&doc.to_string(), &REQUEST_SHAPE).unwrap_err(), want);
        }
        // Text no document can hold is refused as parsing it would be, in unmodeled members too.
        for text in [r#"{"NextToken": "t", "Big": 1e400}"#, r#"{"Unmodeled": [{"x": -1e999}]}"#] {
            assert!(serde_json::from_str::<Value>(text).is_err());
            assert!(check_types_text(text, &RESPONSE_SHAPE).unwrap_err().starts_with("malformed JSON"), "{text}");
        }
        // Escaped member names are still recognized, and malformed text is refused.
        assert!(check_types_text(r#"{"Next\u0054oken": 1}"#, &RESPONSE_SHAPE).unwrap_err().contains("'NextToken'"));
        assert!(check_types_text(r#"{"NextToken": "a""#, &RESPONSE_SHAPE).unwrap_err().starts_with("malformed JSON"));
    }

    #[test]
    fn timestamps_keep_sender_precision() {
        let r = req(json!({"Filter": {"SubmitTimeBefore": 1704164645.678, "SubmitTimeAfter": 1672531200}}));
        let back = r.to_document().to_string();
        assert_eq!(back, r#"{"Filter":{"SubmitTimeAfter":1672531200,"SubmitTimeBefore":1704164645.678}}"#);
        let micro = req(json!({"Filter": {"SubmitTimeBefore": 1704164645.123456}}));
        assert!(micro.to_document().to_string().contains("1704164645.123456"));
    }

    #[test]
    fn page_size_defaults_to_100() {
        assert_eq!(ListRequest::default().page_size(), 100);
        assert_eq!(req(json!({"MaxResults": 37})).page_size(), 37);
    }

    fn good_job() -> JobProperties {
        JobProperties {
            job_id: Some("0123456789abcdef0123456789abcdef".into()),
            job_name: Some("batch-1".into()),
            job_status: Some("COMPLETED".into()),
            submit_time: Some(Timestamp::from_secs(1_700_000_000)),
            end_time: Some(Timestamp::from_secs(1_700_000_600)),
            input_data_config: Some(S3Location { s3_bucket: "in-bucket".into(), s3_key: Some("notes/".into()) }),
            data_access_role_arn: Some("arn:aws:iam::111122223333:role/Access".into()),
            language_code: Some("en".into()),
            ..JobProperties::default()
        }
    }

    #[test]
    fn output_checks_accept_a_good_job_and_name_each_fault() {
        assert_eq!(check_job(&good_job(), "$"), vec![]);
        let cases: Vec<(JobProperties, &str)> = vec![
            (JobProperties { job_id: Some("x".repeat(33)), ..good_job() }, "$.JobId"),
            (JobProperties { job_status: Some("DONE".into()), ..good_job() }, "$.JobStatus"),
            (JobProperties { language_code: Some("fr".into()), ..good_job() }, "$.LanguageCode"),
            (
                JobProperties { data_access_role_arn: Some("arn:aws:iam::1234:role/x-padding".into()), ..good_job() },
                "$.DataAccessRoleArn",
            ),
            (
                JobProperties {
                    input_data_config: Some(S3Location { s3_bucket: "UPPER".into(), s3_key: None }),
                    ..good_job()
                },
                "$.InputDataConfig.S3Bucket",
            ),
            (JobProperties { submit_time: Some(Timestamp::from_secs(5)), ..good_job() }, "$.SubmitTime"),
            (JobProperties { end_time: Some(Timestamp::from_secs(1_699_999_999)), ..good_job() }, "$.EndTime"),
        ];
        for (job, path) in cases {
            let v = check_job(&job, "$");
            assert_eq!(v.len(), 1, "{path}: {v:?}");
            assert_eq!(v[0].path, path);
        }
    }

    #[test]
    fn response_type_errors_are_reported() {
        let v = check_response(&json!({"ComprehendMedicalAsyncJobPropertiesList": [{"SubmitTime": "yesterday"}]}));
        assert_eq!(v.len(), 1);
        assert!(v[0].problem.contains("ComprehendMedicalAsyncJobPropertiesList[0].SubmitTime"), "{v:?}");
    }
}
