//! A live population (`reference --churn MS`): what a real account does while a campaign lists it. Every
//! `MS` milliseconds a new job is submitted (newer than every other), and jobs move on through their statuses
//! (SUBMITTED → IN_PROGRESS → COMPLETED, STOP_REQUESTED → STOPPED), each at its own time.
//!
//! The population at any instant is a pure function of the time since the service started, so every request
//! sees one consistent population, and the reference's keyset tokens (the last job's `(SubmitTime, JobId)`)
//! list nothing twice however it changes: a job submitted during a listing is newer than its cursor.

use std::time::{Duration, Instant, SystemTime};

use crate::model::{JobProperties, JobStatus, S3Location, Timestamp};
use crate::rng::SplitMix64;

/// The most jobs a churning service submits (after that it only moves the ones it has).
const MAX_NEW: u64 = 10_000;

/// Names the new jobs take, in turn.
const NAMES: &[&str] = &["live-intake", "nightly-batch", "病歴-抽出", "ed-notes-2024"];

/// A population that moves on.
#[derive(Debug)]
pub struct Churn {
    every: Duration,
    started: Instant,
    /// Epoch seconds of the start: after every job of the initial population.
    wall: f64,
    seed: u64,
}

impl Churn {
    /// A new job every `every`, starting now, after every job of `initial`.
    pub fn new(every: Duration, initial: &[JobProperties], seed: u64) -> Churn {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let last = initial.iter().filter_map(|j| j.submit_time).map(Timestamp::secs_f64).fold(0.0, f64::max);
        let wall = (now.max(last + 1.0) * 1000.0).round() / 1000.0;
        Churn { every: every.max(Duration::from_millis(1)), started: Instant::now(), wall, seed }
    }

    /// The population now: `initial` (ascending by `(SubmitTime, JobId)`) moved on, then the jobs submitted
    /// since the start, oldest first: ascending as a whole.
    pub fn now(&self, initial: &[JobProperties]) -> Vec<JobProperties> {
        self.at(initial, self.started.elapsed())
    }

    fn ticks(&self, d: Duration) -> u64 {
        (d.as_nanos() / self.every.as_nanos()) as u64
    }

    fn at(&self, initial: &[JobProperties], elapsed: Duration) -> Vec<JobProperties> {
        let tick = self.ticks(elapsed);
        let mut out: Vec<JobProperties> = initial.iter().map(|j| self.moved(j, tick)).collect();
        for i in 0..tick.min(MAX_NEW) {
            out.push(self.submitted(i, tick));
        }
        out
    }

    /// When (in ticks from the start) an initial job takes its next step: its own time, from its id.
    fn step_of(&self, job: &JobProperties) -> u64 {
        let id = job.job_id.as_deref().unwrap_or("");
        let mut h = SplitMix64::new(
            self.seed
                ^ id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)),
        );
        1 + h.below(20)
    }

    fn moved(&self, job: &JobProperties, tick: u64) -> JobProperties {
        let status = job.job_status.as_deref().and_then(JobStatus::parse);
        let step = self.step_of(job);
        let (to, at) = match status {
            Some(JobStatus::Submitted) if tick >= step + 10 => (JobStatus::Completed, step + 10),
            Some(JobStatus::Submitted) if tick >= step => (JobStatus::InProgress, step),
            Some(JobStatus::InProgress) if tick >= step => (JobStatus::Completed, step),
            Some(JobStatus::StopRequested) if tick >= step => (JobStatus::Stopped, step),
            _ => return job.clone(),
        };
        let mut j = job.clone();
        j.job_status = Some(to.as_str().into());
        if to.is_terminal() {
            j.end_time = Some(self.instant(at));
        }
        j
    }

    /// New job `i` (submitted at tick `i + 1`) as it is at `tick`.
    fn submitted(&self, i: u64, tick: u64) -> JobProperties {
        let age = tick - (i + 1);
        let status = match age {
            0..3 => JobStatus::Submitted,
            3..10 => JobStatus::InProgress,
            _ => JobStatus::Completed,
        };
        let mut rng = SplitMix64::new(self.seed ^ 0xC4A2_0000 ^ i);
        JobProperties {
            job_id: Some(format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())),
            job_name: Some(NAMES[(i % NAMES.len() as u64) as usize].into()),
            job_status: Some(status.as_str().into()),
            submit_time: Some(self.instant(i + 1)),
            end_time: status.is_terminal().then(|| self.instant(i + 11)),
            input_data_config: Some(S3Location { s3_bucket: "cm-input-live".into(), s3_key: Some("notes/".into()) }),
            output_data_config: Some(S3Location { s3_bucket: "cm-output-live".into(), s3_key: None }),
            language_code: Some("en".into()),
            ..JobProperties::default()
        }
    }

    /// The instant of a tick, in whole milliseconds.
    fn instant(&self, tick: u64) -> Timestamp {
        let secs = self.wall + (tick as f64 * self.every.as_secs_f64() * 1000.0).round() / 1000.0;
        Timestamp::from_secs_f64(secs).expect("a finite instant")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::population;

    #[test]
    fn the_population_grows_and_moves_on_and_stays_in_order() {
        let initial = population::generate(50, 3);
        let churn = Churn::new(Duration::from_millis(100), &initial, 3);
        let early = churn.at(&initial, Duration::from_millis(50));
        assert_eq!(early.len(), initial.len(), "no tick yet");
        let later = churn.at(&initial, Duration::from_secs(3));
        assert_eq!(later.len(), initial.len() + 30);
        let key = |j: &JobProperties| (j.submit_time.unwrap().secs_f64(), j.job_id.clone().unwrap());
        let mut sorted = initial.clone();
        sorted.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
        let moved = churn.at(&sorted, Duration::from_secs(3));
        assert!(moved.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "ascending as a whole");
        let status = |js: &[JobProperties], s: &str| js.iter().filter(|j| j.job_status.as_deref() == Some(s)).count();
        assert!(status(&later, "SUBMITTED") < status(&initial, "SUBMITTED") + 30, "jobs moved on");
        assert!(later[initial.len()..].iter().any(|j| j.job_status.as_deref() == Some("COMPLETED")));
        assert_eq!(churn.at(&initial, Duration::from_secs(3)), later, "a function of time");
    }
}
