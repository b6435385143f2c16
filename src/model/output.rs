//! The response: its types, and the model's output constraints as checks that name the place and the fault.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::{job_name_regex, validate_job_name};
use super::{
    JOB_NAME_PATTERN, JOBS_MEMBER, JobStatus, ROLE_ARN_PATTERN, Timestamp, check_types, shapes::RESPONSE_SHAPE,
};
use crate::doc::JsonPath;

/// `InputDataConfig` / `OutputDataConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Location {
    /// The bucket (required by the model).
    pub s3_bucket: String,
    /// The key prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
}

/// `ComprehendMedicalAsyncJobProperties`. Every member is optional in the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)] // the model's members, named as it names them
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
    /// The page's jobs.
    #[serde(rename = "ComprehendMedicalAsyncJobPropertiesList", skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<JobProperties>>,
    /// Where the next page starts, when there may be one.
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl ListResponse {
    /// The response as an output document.
    pub fn to_document(&self) -> Value {
        serde_json::to_value(self).expect("response serializes")
    }
}

/// One way a response's content breaks the model: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeViolation {
    /// Where.
    pub path: JsonPath,
    /// What is wrong there.
    pub problem: String,
}

impl fmt::Display for ShapeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The earliest plausible timestamp of a job: 2010-01-01T00:00:00Z (the service launched in 2018).
pub const PLAUSIBLE_FROM: f64 = 1_262_304_000.0;
/// The latest plausible timestamp of a job: 2100-01-01T00:00:00Z.
pub const PLAUSIBLE_UNTIL: f64 = 4_102_444_800.0;

/// A violation at member `field` (a path such as `InputDataConfig.S3Bucket`) under `at`.
fn violation_at(at: &JsonPath, field: &str, problem: String) -> ShapeViolation {
    let path = field.split('.').fold(at.clone(), JsonPath::key);
    ShapeViolation { path, problem }
}

/// Checks one job's properties against the model's output constraints: lengths, patterns, enums and the
/// ARN pattern. `at` is where the job is; each violation's path starts there.
pub fn check_job(job: &JobProperties, at: &JsonPath) -> Vec<ShapeViolation> {
    let mut out = Vec::new();
    let mut bad = |field: &str, problem: String| out.push(violation_at(at, field, problem));
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
    out
}

/// What the model does not say but a job's history implies, for files of jobs a person wrote (`reference
/// --jobs`): timestamps between [`PLAUSIBLE_FROM`] and [`PLAUSIBLE_UNTIL`], and an `EndTime` not before the
/// `SubmitTime`. Not an oracle: no documentation backs it.
pub fn check_job_plausibility(job: &JobProperties, at: &JsonPath) -> Vec<ShapeViolation> {
    let mut out = Vec::new();
    let mut bad = |field: &str, problem: String| out.push(violation_at(at, field, problem));
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

/// Checks a whole response document: types first, then every job, one at a time (a page is never copied
/// whole into typed form).
pub fn check_response(doc: &Value) -> Vec<ShapeViolation> {
    check_response_each(doc, |_, _| {})
}

/// [`check_response`], handing each job, typed, to `each` with its index.
pub fn check_response_each(doc: &Value, mut each: impl FnMut(usize, &JobProperties)) -> Vec<ShapeViolation> {
    if let Err(e) = check_types(doc, &RESPONSE_SHAPE) {
        return vec![ShapeViolation { path: JsonPath::root(), problem: e.to_string() }];
    }
    let mut out = Vec::new();
    if let Some(t) = doc.get("NextToken").and_then(Value::as_str)
        && t.is_empty()
    {
        out.push(ShapeViolation {
            path: JsonPath::root().key("NextToken"),
            problem: "empty (the model's minimum length is 1)".into(),
        });
    }
    let jobs = doc.get(JOBS_MEMBER).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for (i, job) in jobs.iter().enumerate() {
        let at = JsonPath::root().key(JOBS_MEMBER).index(i);
        match JobProperties::deserialize(job) {
            Ok(j) => {
                out.extend(check_job(&j, &at));
                each(i, &j);
            }
            Err(e) => out.push(ShapeViolation { path: at, problem: e.to_string() }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(check_job(&good_job(), &JsonPath::root()), vec![]);
        assert_eq!(check_job_plausibility(&good_job(), &JsonPath::root()), vec![]);
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
        ];
        for (job, path) in cases {
            let v = check_job(&job, &JsonPath::root());
            assert_eq!(v.len(), 1, "{path}: {v:?}");
            assert_eq!(v[0].path, path);
        }
        // Implausible histories are checked apart: the model says nothing of them.
        let implausible: Vec<(JobProperties, &str)> = vec![
            (JobProperties { submit_time: Some(Timestamp::from_secs(5)), ..good_job() }, "$.SubmitTime"),
            (JobProperties { end_time: Some(Timestamp::from_secs(1_699_999_999)), ..good_job() }, "$.EndTime"),
        ];
        for (job, path) in implausible {
            assert_eq!(check_job(&job, &JsonPath::root()), vec![], "{path}: not a model constraint");
            let v = check_job_plausibility(&job, &JsonPath::root());
            assert_eq!(v.len(), 1, "{path}: {v:?}");
            assert_eq!(v[0].path, path);
        }
    }

    #[test]
    fn response_type_errors_are_reported() {
        let v = check_response(&json!({"ComprehendMedicalAsyncJobPropertiesList": [{"SubmitTime": "yesterday"}]}));
        assert_eq!(v.len(), 1);
        assert!(v[0].problem.contains("ComprehendMedicalAsyncJobPropertiesList[0].SubmitTime"), "{v:?}");
        let v = check_response(&json!({"ComprehendMedicalAsyncJobPropertiesList": [{"JobStatus": "DONE"}]}));
        assert_eq!(v[0].path, "$.ComprehendMedicalAsyncJobPropertiesList[0].JobStatus");
    }
}
