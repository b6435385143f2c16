//! Job populations: generated deterministically from a seed, or loaded from a JSON file.
//!
//! A generated population is built to exercise every corner a client meets: every status, names with
//! duplicates and non-ASCII letters, jobs without a name, SubmitTimes with exact ties and fractional seconds
//! (milliseconds and microseconds), optional fields sometimes absent, and realistic ARNs and S3 locations.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use crate::model::{self, JobProperties, JobStatus, S3Location, Timestamp};
use crate::rng::SplitMix64;

/// The default population size of `snomed-vcr reference`.
pub const DEFAULT_JOBS: usize = 240;
/// The default population seed of `snomed-vcr reference`.
pub const DEFAULT_SEED: u64 = 1;

/// Names reused across jobs (duplicates on purpose), including non-ASCII letters and every punctuation mark the
/// JobName pattern allows.
const NAMES: &[&str] = &[
    "discharge-summaries",
    "ed-notes-2024",
    "radiology_batch",
    "oncology.followup",
    "Ångström-study",
    "病歴-抽出",
    "Δ-trial:phase/2",
    "notes@clinic+1",
    "100%-sample",
    "cardiology=weekly",
    "ñandú notes",
    "قسم-الطوارئ",
];

/// Account ids in ARNs: two, so redaction has more than one value to map.
const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];

/// 2024-01-01T00:00:00Z.
const EPOCH_2024: i64 = 1_704_067_200;

/// Generates `n` jobs from `seed`. The same `(n, seed)` gives the same jobs on every machine and version.
pub fn generate(n: usize, seed: u64) -> Vec<JobProperties> {
    let mut rng = SplitMix64::new(seed ^ 0x5E_ED0F_10B5);
    let mut jobs = Vec::with_capacity(n);
    let mut t = EPOCH_2024 as f64;
    for i in 0..n {
        // SubmitTime: mostly increasing, sometimes an exact tie with the previous job, often fractional.
        if i == 0 || !rng.chance(1, 10) {
            let gap = 30 + rng.below(7200) as i64;
            let whole = t.floor() as i64 + gap;
            t = match rng.below(6) {
                0 | 1 => whole as f64 + rng.below(1000) as f64 / 1e3,
                2 => whole as f64 + rng.below(1_000_000) as f64 / 1e6,
                _ => whole as f64,
            };
        }
        let status = if i < JobStatus::ALL.len() {
            JobStatus::ALL[i]
        } else {
            *rng.pick(&[
                JobStatus::Completed,
                JobStatus::Completed,
                JobStatus::Completed,
                JobStatus::Failed,
                JobStatus::PartialSuccess,
                JobStatus::InProgress,
                JobStatus::Submitted,
                JobStatus::Stopped,
                JobStatus::StopRequested,
            ])
        };
        let account = *rng.pick(&ACCOUNTS);
        let job_id = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        let name = (!rng.chance(1, 20)).then(|| rng.pick(NAMES).to_string());
        let submit = Timestamp::from_secs_f64(t).expect("finite");
        let end = status.is_terminal().then(|| {
            let secs =
                t + 60.0 + rng.below(5400) as f64 + if rng.chance(1, 2) { rng.below(1000) as f64 / 1e3 } else { 0.0 };
            Timestamp::from_secs_f64(secs).expect("finite")
        });
        let expiration = end.map(|e| Timestamp::from_secs(e.secs_f64().ceil() as i64 + 90 * 86_400));
        let message = match status {
            JobStatus::Failed => {
                Some(format!("Unable to access s3://cm-input-{account}/notes/. Check the data access role."))
            }
            JobStatus::PartialSuccess => {
                Some(format!("{} of {} documents could not be processed.", 1 + rng.below(9), 10 + rng.below(90)))
            }
            JobStatus::Stopped if rng.chance(1, 2) => {
                Some("The job was stopped by a StopSNOMEDCTInferenceJob request.".into())
            }
            _ => None,
        };
        let folder = name.as_deref().unwrap_or("unnamed").replace(['/', ' '], "-");
        jobs.push(JobProperties {
            job_id: Some(job_id.clone()),
            job_name: name,
            job_status: Some(status.as_str().to_string()),
            message,
            submit_time: Some(submit),
            end_time: end,
            expiration_time: expiration,
            input_data_config: Some(S3Location {
                s3_bucket: format!("cm-input-{account}"),
                s3_key: Some(format!("notes/{folder}/")),
            }),
            output_data_config: Some(S3Location {
                s3_bucket: "cm-output.example-health".into(),
                s3_key: rng.chance(4, 5).then(|| format!("results/{}/", i % 7)),
            }),
            language_code: Some("en".into()),
            data_access_role_arn: Some(format!("arn:aws:iam::{account}:role/ComprehendMedicalS3Access")),
            manifest_file_path: matches!(status, JobStatus::Completed | JobStatus::PartialSuccess)
                .then(|| format!("cm-output.example-health/results/{account}-SCT-{job_id}/Manifest")),
            kms_key: rng.chance(1, 4).then(|| {
                format!(
                    "arn:aws:kms:us-east-1:{account}:key/{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    rng.next_u64() as u32,
                    rng.next_u64() as u16,
                    rng.next_u64() as u16 & 0xfff,
                    rng.next_u64() as u16 & 0xfff,
                    rng.next_u64() & 0xffff_ffff_ffff
                )
            }),
            model_version: (status != JobStatus::Submitted).then(|| rng.pick(&["1.0.0", "1.1.0"]).to_string()),
        });
    }
    jobs
}

/// A jobs file that cannot be served: the file, and where in it and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobsError {
    /// The file, when the jobs came from one.
    pub file: Option<std::path::PathBuf>,
    /// Where (line and column, or job and field) and why.
    pub why: String,
}

impl std::fmt::Display for JobsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(p) => write!(f, "jobs file '{}': {}", p.display(), self.why),
            None => f.write_str(&self.why),
        }
    }
}

impl std::error::Error for JobsError {}

fn invalid(why: String) -> JobsError {
    JobsError { file: None, why }
}

/// The populations of the operations other than the default one.
pub type Siblings = std::collections::BTreeMap<model::Operation, Vec<JobProperties>>;

/// Loads a jobs file for the whole family, checking every job against the model and the reference's needs (a
/// unique `JobId` and a `SubmitTime` on each); errors name the file, line, member and field. The file is an
/// array (`ListSNOMEDCTInferenceJobs`'s jobs, the others generated), or an object whose members are operation
/// names, each an array of that operation's jobs (an operation not named is generated).
pub fn load_family(path: &Path) -> Result<(Option<Vec<JobProperties>>, Siblings), JobsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| JobsError { file: Some(path.into()), why: format!("cannot read it: {e}") })?;
    let in_file = |e: JobsError| JobsError { file: Some(path.into()), ..e };
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| in_file(invalid(format!("line {}, column {}: {e}", e.line(), e.column()))))?;
    let Value::Object(members) = doc else { return Ok((Some(parse(&text).map_err(in_file)?), Default::default())) };
    let (mut default, mut others) = (None, std::collections::BTreeMap::new());
    for (name, jobs) in members {
        let Some(op) = model::Operation::parse(&name) else {
            return Err(in_file(invalid(format!(
                "member '{name}': expected an operation name ({})",
                model::Operation::names()
            ))));
        };
        let jobs = parse_items(jobs).map_err(|e| in_file(invalid(format!("member '{name}': {}", e.why))))?;
        if op == model::Operation::default() {
            default = Some(jobs);
        } else {
            others.insert(op, jobs);
        }
    }
    Ok((default, others))
}

/// One JSON array of job properties, as text, checked as [`load_family`] checks each.
pub fn parse(text: &str) -> Result<Vec<JobProperties>, JobsError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("line {}, column {}: {e}", e.line(), e.column())))?;
    parse_items(doc)
}

/// The jobs of one JSON array of job properties.
fn parse_items(doc: Value) -> Result<Vec<JobProperties>, JobsError> {
    let Value::Array(items) = doc else {
        return Err(invalid(format!("expected a JSON array of job properties, found a {}", model::json_type(&doc))));
    };
    let mut jobs = Vec::with_capacity(items.len());
    let mut ids = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("job [{i}]");
        if !item.is_object() {
            return Err(invalid(format!(
                "{at}: expected an object of job properties, found a {}",
                model::json_type(item)
            )));
        }
        model::check_types(item, &model::JOB_SHAPE).map_err(|e| invalid(format!("{at}: {e}")))?;
        let job: JobProperties = serde_json::from_value(item.clone()).map_err(|e| invalid(format!("{at}: {e}")))?;
        let root = crate::doc::JsonPath::root();
        let mut problems = model::check_job(&job, &root);
        problems.extend(model::check_job_plausibility(&job, &root));
        if let Some(v) = problems.first() {
            return Err(invalid(format!("{at}: field '{}': {}", v.path.member_path(), v.problem)));
        }
        let Some(id) = &job.job_id else {
            return Err(invalid(format!("{at}: field 'JobId' is required by the reference service")));
        };
        if job.submit_time.is_none() {
            return Err(invalid(format!("{at}: field 'SubmitTime' is required by the reference service")));
        }
        if !ids.insert(id.clone()) {
            return Err(invalid(format!("{at}: field 'JobId': '{id}' appears more than once")));
        }
        jobs.push(job);
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_population_covers_the_corners() {
        let jobs = generate(DEFAULT_JOBS, DEFAULT_SEED);
        assert_eq!(jobs.len(), 240);
        assert_eq!(jobs, generate(DEFAULT_JOBS, DEFAULT_SEED), "deterministic");
        assert_ne!(jobs, generate(DEFAULT_JOBS, 2), "seed matters");
        for s in JobStatus::ALL {
            assert!(jobs.iter().any(|j| j.job_status.as_deref() == Some(s.as_str())), "{s:?} missing");
        }
        let names: Vec<_> = jobs.iter().filter_map(|j| j.job_name.as_deref()).collect();
        assert!(names.len() < jobs.len(), "some jobs have no name");
        assert!(names.iter().any(|n| !n.is_ascii()), "non-ASCII names");
        let times: Vec<f64> = jobs.iter().map(|j| j.submit_time.unwrap().secs_f64()).collect();
        assert!(times.windows(2).any(|w| w[0] == w[1]), "exact ties");
        assert!(times.iter().any(|t| t.fract() != 0.0), "fractional seconds");
        assert!(times.iter().any(|t| (t * 1e3).fract().abs() > 1e-6), "sub-millisecond precision");
        assert!(jobs.iter().any(|j| j.kms_key.is_some()) && jobs.iter().any(|j| j.kms_key.is_none()));
        for (i, j) in jobs.iter().enumerate() {
            let at = crate::doc::JsonPath::root().index(i);
            assert_eq!(model::check_job(j, &at), vec![], "generated jobs satisfy the model");
            assert_eq!(model::check_job_plausibility(j, &at), vec![], "and have plausible histories");
        }
        let ids: HashSet<_> = jobs.iter().map(|j| j.job_id.clone()).collect();
        assert_eq!(ids.len(), jobs.len());
    }

    #[test]
    fn jobs_file_round_trips_and_errors_name_the_field() {
        let jobs = generate(5, 9);
        let text = serde_json::to_string_pretty(&jobs).unwrap();
        assert_eq!(parse(&text).unwrap(), jobs);

        let e = parse("[{\"JobId\": \"a\",\n \"SubmitTime\": }]").unwrap_err().to_string();
        assert!(e.starts_with("line 2, column"), "{e}");
        let e = parse(r#"{"JobId": "a"}"#).unwrap_err().to_string();
        assert!(e.contains("expected a JSON array"), "{e}");
        let e = parse(r#"[{"JobId": "a", "SubmitTime": 1700000000}, {"JobId": "b", "SubmitTime": "x"}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("job [1]") && e.contains("SubmitTime"), "{e}");
        let e = parse(r#"[{"JobId": "a", "SubmitTime": 1700000000, "JobStatus": "DONE"}]"#).unwrap_err().to_string();
        assert!(e.contains("field 'JobStatus'"), "{e}");
        let e = parse(r#"[{"JobId": "a", "SubmitTime": 1700000000}, {"JobId": "a", "SubmitTime": 1700000001}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("appears more than once"), "{e}");
        let e = parse(r#"[{"SubmitTime": 1700000000}]"#).unwrap_err().to_string();
        assert!(e.contains("'JobId' is required"), "{e}");
    }
}
