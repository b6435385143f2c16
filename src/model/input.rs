//! The request: its types, validation of every input constraint of the model with the messages AWS uses, and
//! what the documentation says about the order of a listing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    DEFAULT_MAX_RESULTS, JOB_NAME_MAX, JOB_NAME_MIN, JOB_NAME_PATTERN, MAX_RESULTS_MAX, MAX_RESULTS_MIN, ServiceError,
    Timestamp, check_types, json_type, shapes::REQUEST_SHAPE,
};

/// `JobStatus`, in model order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // the model's own enum values, named as it names them
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
    /// Every status, in model order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Submitted,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::PartialSuccess,
        JobStatus::Failed,
        JobStatus::StopRequested,
        JobStatus::Stopped,
    ];
    /// The wire value (`IN_PROGRESS`).
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
    /// The status with this exact wire value.
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
    /// Jobs with this name (how names match is not documented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Jobs in this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    /// Jobs submitted before this instant, listed oldest first (documented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_time_before: Option<Timestamp>,
    /// Jobs submitted after this instant, listed newest first (documented).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_time_after: Option<Timestamp>,
}

/// `ListSNOMEDCTInferenceJobsRequest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    /// Which jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// Where the previous page left off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// The page size (1 to 500; 100 when absent).
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
        check_types(doc, &REQUEST_SHAPE).map_err(|e| ServiceError::serialization(e.to_string()))?;
        ListRequest::deserialize(doc).map_err(|e| ServiceError::serialization(e.to_string()))
    }

    /// The request as an input document.
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

pub(super) fn job_name_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(JOB_NAME_PATTERN).expect("model pattern compiles"))
}

/// Whether a `JobName` value meets the model's length and pattern.
pub fn job_name_valid(name: &str) -> bool {
    validate_job_name(name, "").is_empty()
}

/// Length (in Unicode scalar values, as Smithy's `length` trait counts) and pattern of a `JobName`-shaped value.
pub(super) fn validate_job_name(name: &str, member: &str) -> Vec<String> {
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

/// The order of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Ascending,
    /// Newest first.
    Descending,
}

impl Order {
    /// The other way round.
    pub fn reversed(self) -> Order {
        match self {
            Order::Ascending => Order::Descending,
            Order::Descending => Order::Ascending,
        }
    }

    /// The order the API reference documents for a filter: ascending ("oldest to newest") with
    /// `SubmitTimeBefore` alone, descending ("newest to oldest") with `SubmitTimeAfter` alone. `None` where it
    /// documents nothing, or two orders at once: with neither time filter, and with both. A judge of another
    /// implementation may assert only what this returns; what the reference service does in the other cases
    /// is its own choice (`reference::Order::for_filter`).
    pub fn documented(filter: &Filter) -> Option<Order> {
        match (filter.submit_time_before.is_some(), filter.submit_time_after.is_some()) {
            (true, false) => Some(Order::Ascending),
            (false, true) => Some(Order::Descending),
            _ => None,
        }
    }
}

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

    #[test]
    fn only_a_single_time_bound_has_a_documented_order() {
        let t = Some(Timestamp::from_secs(1_700_000_000));
        let f = |b, a| Filter { submit_time_before: b, submit_time_after: a, ..Filter::default() };
        assert_eq!(Order::documented(&f(t, None)), Some(Order::Ascending));
        assert_eq!(Order::documented(&f(None, t)), Some(Order::Descending));
        assert_eq!(Order::documented(&f(t, t)), None, "both: the documentation names two orders");
        assert_eq!(Order::documented(&f(None, None)), None, "neither: undocumented");
    }
}
