//! boto3 (JSON 1.1) against a running `snomed-vcr reference`: the expectations are computed here from the same
//! generated population, so a wrong filter, order, page or error on the wire fails the test.

use serde_json::{Value, json};
use snomed_vcr::model::{Filter, JobStatus};
use snomed_vcr::reference::{Order, matches, population};

use crate::util::{Proc, python, run_python};

fn population_newest_first() -> Vec<String> {
    let mut jobs = population::generate(population::DEFAULT_JOBS, population::DEFAULT_SEED);
    jobs.sort_by(|a, b| {
        a.submit_time.unwrap().total_cmp(&b.submit_time.unwrap()).then_with(|| a.job_id.cmp(&b.job_id))
    });
    jobs.into_iter().rev().map(|j| j.job_id.unwrap()).collect()
}

fn walk(py: &std::path::Path, url: &str, max: u32, filter: Option<&Value>) -> Vec<Vec<Value>> {
    let max = max.to_string();
    let filter = filter.map(Value::to_string);
    let mut args = vec!["walk", "--endpoint", url, "--max", &max];
    if let Some(f) = &filter {
        args.extend(["--filter", f]);
    }
    let out: Value = serde_json::from_str(&run_python(py, "boto3_client.py", &args)).expect("walk prints JSON");
    serde_json::from_value(out["pages"].clone()).unwrap()
}

fn ids(pages: &[Vec<Value>]) -> Vec<String> {
    pages.iter().flatten().map(|j| j["JobId"].as_str().unwrap().to_string()).collect()
}

fn call(py: &std::path::Path, url: &str, input: Value, extra: &[&str]) -> Value {
    let input = input.to_string();
    let mut args = vec!["call", "--endpoint", url, "--input", &input];
    args.extend(extra);
    serde_json::from_str(&run_python(py, "boto3_client.py", &args)).expect("call prints JSON")
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn full_walk_with_max_results_37_partitions_the_population() {
    let py = python();
    let server = Proc::start(&["reference"]);
    let pages = walk(&py, &server.url, 37, None);
    let want = population_newest_first();
    assert_eq!(pages.len(), want.len().div_ceil(37));
    assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == 37), "every page but the last is full");
    assert_eq!(ids(&pages), want, "every job exactly once, newest first");
    // boto3 parsed every timestamp; a job's EndTime is never before its SubmitTime.
    for job in pages.iter().flatten() {
        let submit = job["SubmitTime"].as_f64().expect("SubmitTime parsed by botocore");
        if let Some(end) = job.get("EndTime").and_then(Value::as_f64) {
            assert!(end >= submit, "{job}");
        }
    }
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn each_filter_kind_returns_what_the_model_says() {
    let py = python();
    let server = Proc::start(&["reference"]);
    let mut jobs = population::generate(population::DEFAULT_JOBS, population::DEFAULT_SEED);
    jobs.sort_by(|a, b| {
        a.submit_time.unwrap().total_cmp(&b.submit_time.unwrap()).then_with(|| a.job_id.cmp(&b.job_id))
    });
    // A fractional SubmitTime, so boto3's microsecond serialization is exercised at an exact bound.
    let frac = jobs.iter().map(|j| j.submit_time.unwrap()).find(|t| t.secs_f64().fract() != 0.0).unwrap();
    let filters = [
        json!({"JobStatus": "COMPLETED"}),
        json!({"JobStatus": "STOP_REQUESTED"}),
        json!({"JobName": "Ångström-study"}),
        json!({"SubmitTimeBefore": frac.secs_f64()}),
        json!({"SubmitTimeAfter": frac.secs_f64()}),
        json!({"SubmitTimeAfter": jobs[40].submit_time.unwrap().secs_f64(), "SubmitTimeBefore": jobs[200].submit_time.unwrap().secs_f64(), "JobStatus": "COMPLETED"}),
    ];
    for f in filters {
        let got = ids(&walk(&py, &server.url, 11, Some(&f)));
        let filter: Filter = serde_json::from_value(f.clone()).unwrap();
        let status = filter.job_status.as_deref().and_then(JobStatus::parse);
        let mut want: Vec<String> =
            jobs.iter().filter(|j| matches(&filter, status, j)).map(|j| j.job_id.clone().unwrap()).collect();
        if Order::for_filter(&filter) == Order::Descending {
            want.reverse();
        }
        assert!(!want.is_empty(), "{f}: the filter should match something");
        assert_eq!(got, want, "{f}");
    }
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn invalid_inputs_surface_as_botocore_client_errors() {
    let py = python();
    let server = Proc::start(&["reference"]);
    let r = call(&py, &server.url, json!({"MaxResults": 501}), &[]);
    assert_eq!(r["ok"], false);
    assert_eq!(r["code"], "ValidationException");
    assert_eq!(r["status"], 400);
    assert_eq!(
        r["message"],
        "1 validation error detected: Value '501' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 500"
    );
    assert_eq!(r["retry_attempts"], 0, "validation errors are not retried");
    assert_eq!(r["request_id"].as_str().unwrap().len(), 36, "x-amzn-RequestId reaches botocore");

    let r = call(&py, &server.url, json!({"Filter": {"JobStatus": "BOGUS"}}), &[]);
    assert_eq!((r["code"].as_str(), r["status"].as_u64()), (Some("ValidationException"), Some(400)));
    assert!(r["message"].as_str().unwrap().contains("'filter.jobStatus'"));

    let r = call(&py, &server.url, json!({"MaxResults": "5"}), &["--no-validate"]);
    assert_eq!(r["code"], "SerializationException", "{r}");
    let r = call(&py, &server.url, json!({"MaxResults": 0, "Filter": {"JobName": "!!$"}}), &["--no-validate"]);
    assert!(r["message"].as_str().unwrap().starts_with("2 validation errors detected"), "{r}");
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn tampered_and_cross_filter_tokens_are_invalid_request_exceptions() {
    let py = python();
    let server = Proc::start(&["reference"]);
    let first = call(&py, &server.url, json!({"MaxResults": 5}), &[]);
    let token = first["next_token"].as_str().expect("a first page of 5 has a NextToken").to_string();
    let ok = call(&py, &server.url, json!({"MaxResults": 5, "NextToken": token}), &[]);
    assert_eq!(ok["ok"], true);

    let mut tampered: Vec<char> = token.chars().collect();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let r = call(&py, &server.url, json!({"MaxResults": 5, "NextToken": tampered}), &[]);
    assert_eq!((r["code"].as_str(), r["status"].as_u64()), (Some("InvalidRequestException"), Some(400)), "{r}");

    let r =
        call(&py, &server.url, json!({"MaxResults": 5, "NextToken": token, "Filter": {"JobStatus": "FAILED"}}), &[]);
    assert_eq!(r["code"], "InvalidRequestException", "{r}");

    // A token from a server keyed differently is foreign.
    let other = Proc::start(&["reference", "--token-secret", "another"]);
    let r = call(&py, &other.url, json!({"MaxResults": 5, "NextToken": token}), &[]);
    assert_eq!(r["code"], "InvalidRequestException", "{r}");
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn require_sigv4_accepts_the_right_key_and_refuses_others() {
    let py = python();
    let server = Proc::start(&["reference", "--require-sigv4", "AKIDREFERENCE:reference-secret"]);
    let right = ["--access-key", "AKIDREFERENCE", "--secret-key", "reference-secret"];
    let r = call(&py, &server.url, json!({"MaxResults": 3}), &right);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["jobs"].as_array().unwrap().len(), 3);

    let r =
        call(&py, &server.url, json!({"MaxResults": 3}), &["--access-key", "AKIDREFERENCE", "--secret-key", "wrong"]);
    assert_eq!((r["code"].as_str(), r["status"].as_u64()), (Some("InvalidSignatureException"), Some(403)), "{r}");
    let r = call(
        &py,
        &server.url,
        json!({"MaxResults": 3}),
        &["--access-key", "AKIDSOMEONEELSE", "--secret-key", "reference-secret"],
    );
    assert_eq!((r["code"].as_str(), r["status"].as_u64()), (Some("UnrecognizedClientException"), Some(403)), "{r}");
}

#[cfg_attr(
    no_boto3,
    ignore = "needs Python with boto3 at target/venv (or SNOMED_VCR_PYTHON): `bash .ci/run` installs it"
)]
#[test]
fn throttling_is_retried_by_boto3_standard_mode() {
    let py = python();
    // Every second request is throttled. Call 1 is request 1 (served); call 2 is requests 2 (429) and 3.
    let server = Proc::start(&["reference", "--throttle-every", "2"]);
    let first = call(&py, &server.url, json!({"MaxResults": 1}), &[]);
    assert_eq!((first["ok"].as_bool(), first["retry_attempts"].as_u64()), (Some(true), Some(0)), "{first}");
    let second = call(&py, &server.url, json!({"MaxResults": 1}), &[]);
    assert_eq!(
        (second["ok"].as_bool(), second["retry_attempts"].as_u64()),
        (Some(true), Some(1)),
        "429 retried once: {second}"
    );
    // Without retries the 429 surfaces as TooManyRequestsException.
    // Call 3 is request 4: throttled, and with one attempt in all it is not retried.
    let r = call(&py, &server.url, json!({"MaxResults": 1}), &["--max-attempts", "1"]);
    assert_eq!((r["code"].as_str(), r["status"].as_u64()), (Some("TooManyRequestsException"), Some(429)), "{r}");
}
